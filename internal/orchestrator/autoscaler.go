package orchestrator

// The autoscaling controller's own service, as the swarm_autoscaler resource deploys it: one
// task on every manager (the one on the Raft leader acts), the Docker socket of its node, a
// volume that is the node's lock, a healthcheck that passes once a round has finished.

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
)

// The controller's defaults and the names its service uses.
const (
	DefaultAutoscalerName     = "swarm-autoscaler"
	DefaultAutoscalerInterval = 5 * time.Second
	DefaultAutoscalerLogLevel = "info"
	// DefaultAutoscalerSocket is where a manager's Docker engine listens, as the controller
	// finds it on its node unless told otherwise.
	DefaultAutoscalerSocket = "/var/run/docker.sock"
	// AutoscalerLockVolume is the volume, on each node, whose file only one controller of the
	// node holds. Every controller service uses the same one, so that two of them (two
	// resources, or the old and new task of an update) never act at once.
	AutoscalerLockVolume = "swarm-autoscaler-lock"
	autoscalerLockDir    = "/var/lock/swarm-autoscaler"
	// dockerSocket is where the controller reaches its node's engine inside its container
	// (the Docker client's default).
	dockerSocket      = "/var/run/docker.sock"
	managerConstraint = "node.role==manager"
)

// AutoscalerSettings are what a configuration says of the controller's service.
type AutoscalerSettings struct {
	Name     string
	Image    string
	Interval time.Duration
	LogLevel string
	// Resources of each task; nil for none.
	Resources *swarm.ResourceRequirements
	// Constraints are placement constraints on top of running on managers.
	Constraints []string
	// Networks are the networks the controller attaches to (IDs or names), to reach a
	// Prometheus it reads metrics from; "host" for the node's own network.
	Networks []string
	// Socket is the path of the Docker engine's socket on each manager, mounted into the
	// controller, which acts through it; empty means DefaultAutoscalerSocket. Swarm expands
	// its templates in it on each node ({{.Node.Hostname}}), for engines whose socket is named
	// after their node.
	Socket string
}

// AutoscalerSpec is the controller's service spec.
func AutoscalerSpec(s AutoscalerSettings) swarm.ServiceSpec {
	interval := s.Interval
	if interval <= 0 {
		interval = DefaultAutoscalerInterval
	}
	level := s.LogLevel
	if level == "" {
		level = DefaultAutoscalerLogLevel
	}
	socket := s.Socket
	if socket == "" {
		socket = DefaultAutoscalerSocket
	}
	constraints := append([]string{managerConstraint}, s.Constraints...)
	var networks []swarm.NetworkAttachmentConfig
	for _, n := range s.Networks {
		networks = append(networks, swarm.NetworkAttachmentConfig{Target: n})
	}
	return swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: s.Name, Labels: map[string]string{AutoscalerLabel: "1"}},
		Mode:        swarm.ServiceMode{Global: &swarm.GlobalService{}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image: s.Image,
				Env: []string{
					"SWARM_AUTOSCALER_INTERVAL=" + interval.String(),
					"SWARM_AUTOSCALER_LOG_LEVEL=" + level,
					"SWARM_AUTOSCALER_LOCK=" + autoscalerLockDir + "/lock",
					"SWARM_AUTOSCALER_HOLDER={{.Task.Name}}",
				},
				Mounts: []mount.Mount{
					{Type: mount.TypeBind, Source: socket, Target: dockerSocket},
					{Type: mount.TypeVolume, Source: AutoscalerLockVolume, Target: autoscalerLockDir},
				},
				Healthcheck: &container.HealthConfig{
					Test: []string{"CMD", "/swarm-autoscaler", "health"},
					// A task counts as running once it is healthy: after its first round.
					Interval: 2 * time.Second, Timeout: 3 * time.Second, Retries: 3, StartPeriod: 3*interval + 10*time.Second,
				},
				StopGracePeriod: durationPtr(10 * time.Second),
			},
			Resources: s.Resources,
			Placement: &swarm.Placement{Constraints: constraints},
			Networks:  networks,
			// Bounded logs: one line per decision, and the engine reads them for errors.
			LogDriver:     &swarm.Driver{Name: "json-file", Options: map[string]string{"max-size": "10m", "max-file": "3"}},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny, Delay: durationPtr(2 * time.Second)},
		},
		UpdateConfig: &swarm.UpdateConfig{Parallelism: 1, Order: swarm.UpdateOrderStartFirst, FailureAction: swarm.UpdateFailureActionRollback,
			Monitor: 5 * time.Second},
		RollbackConfig: &swarm.UpdateConfig{Parallelism: 1, Order: swarm.UpdateOrderStartFirst, FailureAction: swarm.UpdateFailureActionPause,
			Monitor: 5 * time.Second},
	}
}

// AutoscalerSettingsOf reads the settings back from a controller's service; ok is false when
// the service is not one (it lacks AutoscalerLabel).
func AutoscalerSettingsOf(spec swarm.ServiceSpec) (s AutoscalerSettings, ok bool) {
	if spec.Labels[AutoscalerLabel] == "" {
		return s, false
	}
	s = AutoscalerSettings{Name: spec.Name, Interval: DefaultAutoscalerInterval, LogLevel: DefaultAutoscalerLogLevel, Resources: spec.TaskTemplate.Resources,
		Socket: DefaultAutoscalerSocket}
	if cs := spec.TaskTemplate.ContainerSpec; cs != nil {
		s.Image = cs.Image
		for _, m := range cs.Mounts {
			if m.Type == mount.TypeBind && m.Target == dockerSocket {
				s.Socket = m.Source
			}
		}
		for _, kv := range cs.Env {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "SWARM_AUTOSCALER_INTERVAL":
				if d, err := time.ParseDuration(v); err == nil {
					s.Interval = d
				}
			case "SWARM_AUTOSCALER_LOG_LEVEL":
				s.LogLevel = v
			}
		}
	}
	for _, n := range spec.TaskTemplate.Networks {
		s.Networks = append(s.Networks, n.Target)
	}
	if p := spec.TaskTemplate.Placement; p != nil {
		s.Constraints = slices.DeleteFunc(slices.Clone(p.Constraints), func(c string) bool { return c == managerConstraint })
	}
	return s, true
}

// CheckAutoscalerInterval checks the controller's interval: at least a second.
func CheckAutoscalerInterval(d time.Duration) error {
	if d < time.Second {
		return fmt.Errorf("%s is too short; the controller runs a round at most once a second", d)
	}
	return nil
}

// CheckAutoscalerSocket checks the path of the Docker socket on the managers: it must be
// absolute (it may hold Swarm's templates, expanded on each node).
func CheckAutoscalerSocket(p string) error {
	if !path.IsAbs(p) {
		return fmt.Errorf("%q is not an absolute path; give the path of the Docker socket on the managers, such as %s", p, DefaultAutoscalerSocket)
	}
	return nil
}

func durationPtr(d time.Duration) *time.Duration { return &d }
