package orchestrator

import (
	"reflect"
	"testing"
	"time"

	"github.com/docker/docker/api/types/mount"
)

// The controller's settings survive the trip through its service spec, and the socket of the
// node is mounted where the controller's Docker client looks for it, whatever its path on the
// node.
func TestAutoscalerSpecRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     AutoscalerSettings
		socket string // the mount's source on the node
	}{
		{"defaults", AutoscalerSettings{Name: "ctl", Image: "swarmform/swarm-autoscaler:dev"}, DefaultAutoscalerSocket},
		{"a socket per node, by template", AutoscalerSettings{Name: "ctl", Image: "img", Interval: 2 * time.Second, LogLevel: "debug",
			Networks: []string{"host"}, Constraints: []string{"node.labels.ctl==yes"}, Socket: "/run/swarmform-mn/{{.Node.Hostname}}.sock"},
			"/run/swarmform-mn/{{.Node.Hostname}}.sock"},
		{"a rootless engine's socket", AutoscalerSettings{Name: "ctl", Image: "img", Socket: "/run/user/1000/docker.sock"}, "/run/user/1000/docker.sock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := AutoscalerSpec(tc.in)
			var sockets []mount.Mount
			for _, m := range spec.TaskTemplate.ContainerSpec.Mounts {
				if m.Type == mount.TypeBind {
					sockets = append(sockets, m)
				}
			}
			if len(sockets) != 1 || sockets[0].Source != tc.socket || sockets[0].Target != "/var/run/docker.sock" {
				t.Errorf("bind mounts %+v, want %s on /var/run/docker.sock", sockets, tc.socket)
			}
			got, ok := AutoscalerSettingsOf(spec)
			if !ok {
				t.Fatal("the spec is not read as a controller's")
			}
			want := tc.in
			if want.Interval == 0 {
				want.Interval = DefaultAutoscalerInterval
			}
			if want.LogLevel == "" {
				want.LogLevel = DefaultAutoscalerLogLevel
			}
			want.Socket = tc.socket
			if want.Constraints == nil {
				want.Constraints = []string{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("settings read back\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestCheckAutoscalerSocket(t *testing.T) {
	for p, ok := range map[string]bool{
		"/var/run/docker.sock": true, "/run/swarmform-mn/{{.Node.Hostname}}.sock": true,
		"docker.sock": false, "": false, "unix:///var/run/docker.sock": false,
	} {
		if err := CheckAutoscalerSocket(p); (err == nil) != ok {
			t.Errorf("CheckAutoscalerSocket(%q) = %v, want ok %v", p, err, ok)
		}
	}
}
