package orchestrator

import (
	"testing"

	"github.com/docker/docker/api/types/swarm"
)

// An adopted secret or config is one a service of the stack refers to by the CLI's fixed name.
func TestReferredByName(t *testing.T) {
	services := map[string]swarm.Service{
		"app_api": {Spec: swarm.ServiceSpec{TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{
			Secrets: []*swarm.SecretReference{{SecretID: "s1", SecretName: "app_db"}},
			Configs: []*swarm.ConfigReference{{ConfigID: "c1", ConfigName: "app_conf_0123456789"}},
		}}}},
		"app_web": {Spec: swarm.ServiceSpec{}},
	}
	for _, tc := range []struct {
		kind ObjectKind
		name string
		want bool
	}{
		{KindSecret, "app_db", true},
		{KindConfig, "app_db", false}, // a config of that name is another object
		{KindConfig, "app_conf", false},
		{KindConfig, "app_conf_0123456789", true},
		{KindSecret, "other_db", false},
	} {
		if got := referredByName(services, tc.kind, tc.name); got != tc.want {
			t.Errorf("%s %s: %v, want %v", tc.kind, tc.name, got, tc.want)
		}
	}
}
