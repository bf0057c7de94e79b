package orchestrator

import (
	"reflect"
	"testing"
	"time"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
)

// stackService is a service as `docker stack deploy` or a hand-made `docker service create`
// leaves it: modelled fields plus privileges, a TTY, mount consistency and a bind mount's
// recursion flag, generic resources and platforms, which the configuration does not model.
func stackService() swarm.ServiceSpec {
	one, pids := uint64(1), int64(100)
	return swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: "web", Labels: map[string]string{"com.docker.stack.namespace": "shop", "team": "a"}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image: "app:v1@sha256:aaaa", Env: []string{"A=1"}, TTY: true,
				Secrets:    []*swarm.SecretReference{{SecretID: "s1", SecretName: "db", File: &swarm.SecretReferenceFileTarget{Name: "db", UID: "0", GID: "0", Mode: 0o400}}},
				Configs:    []*swarm.ConfigReference{{ConfigID: "c1", ConfigName: "nginx", File: &swarm.ConfigReferenceFileTarget{Name: "/etc/nginx.conf", UID: "0", GID: "0", Mode: 0o444}}},
				Privileges: &swarm.Privileges{NoNewPrivileges: true},
				Mounts: []mount.Mount{
					{Type: mount.TypeVolume, Source: "data", Target: "/data", Consistency: mount.ConsistencyCached, VolumeOptions: &mount.VolumeOptions{NoCopy: true, Labels: map[string]string{"k": "v"},
						DriverConfig: &mount.Driver{Name: "local", Options: map[string]string{"type": "nfs", "o": "addr=10.0.0.1"}}}},
					{Type: mount.TypeBind, Source: "/etc", Target: "/hostetc", BindOptions: &mount.BindOptions{Propagation: mount.PropagationRSlave, NonRecursive: true}},
				},
			},
			Resources: &swarm.ResourceRequirements{Limits: &swarm.Limit{NanoCPUs: 5e8, Pids: pids},
				Reservations: &swarm.Resources{GenericResources: []swarm.GenericResource{{DiscreteResourceSpec: &swarm.DiscreteGenericResource{Kind: "gpu", Value: 1}}}}},
			Placement: &swarm.Placement{Constraints: []string{"node.role==worker"}, Platforms: []swarm.Platform{{OS: "linux", Architecture: "amd64"}}},
			Networks:  []swarm.NetworkAttachmentConfig{{Target: "n1", Aliases: []string{"web"}}},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}},
	}
}

// What the configuration models of stackService, with env changed.
func modelledService() swarm.ServiceSpec {
	one, pids := uint64(1), int64(100)
	s := stackService()
	return swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: "web", Labels: map[string]string{"com.docker.stack.namespace": "shop", "team": "a"}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: "app:v1", Env: []string{"A=2"},
				Secrets: s.TaskTemplate.ContainerSpec.Secrets, Configs: s.TaskTemplate.ContainerSpec.Configs,
				Mounts: []mount.Mount{
					{Type: mount.TypeVolume, Source: "data", Target: "/data", VolumeOptions: &mount.VolumeOptions{NoCopy: true, Labels: map[string]string{"k": "v"},
						DriverConfig: &mount.Driver{Name: "local", Options: map[string]string{"type": "nfs", "o": "addr=10.0.0.1"}}}},
					{Type: mount.TypeBind, Source: "/etc", Target: "/hostetc", ReadOnly: true, BindOptions: &mount.BindOptions{Propagation: mount.PropagationRSlave}},
				}},
			Resources: &swarm.ResourceRequirements{Limits: &swarm.Limit{NanoCPUs: 5e8, Pids: pids}},
			Placement: &swarm.Placement{Constraints: []string{"node.role==worker"}},
			Networks:  s.TaskTemplate.Networks,
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}},
	}
}

// A write takes what the configuration owns and keeps everything else.
func TestMergeDesiredKeepsUnmodelledFields(t *testing.T) {
	observed := stackService()
	got := mergeDesired(modelledService(), observed)
	cs := got.TaskTemplate.ContainerSpec
	if !reflect.DeepEqual(cs.Env, []string{"A=2"}) || cs.Image != "app:v1@sha256:aaaa" {
		t.Errorf("owned fields not taken: env %v image %s", cs.Env, cs.Image)
	}
	if !reflect.DeepEqual(cs.Secrets, observed.TaskTemplate.ContainerSpec.Secrets) || !reflect.DeepEqual(got.TaskTemplate.Networks, observed.TaskTemplate.Networks) {
		t.Errorf("secrets or networks: %+v %+v", cs.Secrets, got.TaskTemplate.Networks)
	}
	if cs.Privileges == nil || !cs.Privileges.NoNewPrivileges || !cs.TTY {
		t.Errorf("privileges or tty stripped: %+v", cs)
	}
	if got.TaskTemplate.Resources.Limits.Pids != 100 || len(got.TaskTemplate.Resources.Reservations.GenericResources) != 1 {
		t.Errorf("resources: %+v", got.TaskTemplate.Resources)
	}
	if len(got.TaskTemplate.Placement.Platforms) != 1 {
		t.Errorf("platforms stripped: %+v", got.TaskTemplate.Placement)
	}
	vol, bind := cs.Mounts[0], cs.Mounts[1]
	if vol.Consistency != mount.ConsistencyCached || vol.VolumeOptions == nil || vol.VolumeOptions.DriverConfig.Options["type"] != "nfs" {
		t.Errorf("volume mount: %+v %+v", vol, vol.VolumeOptions)
	}
	if bind.BindOptions == nil || bind.BindOptions.Propagation != mount.PropagationRSlave || !bind.BindOptions.NonRecursive || !bind.ReadOnly {
		t.Errorf("bind mount: %+v %+v", bind, bind.BindOptions)
	}
	// A mount the configuration no longer has goes, with its options.
	desired := modelledService()
	desired.TaskTemplate.ContainerSpec.Mounts = desired.TaskTemplate.ContainerSpec.Mounts[1:]
	if m := mergeDesired(desired, observed).TaskTemplate.ContainerSpec.Mounts; len(m) != 1 || m[0].Target != "/hostetc" {
		t.Errorf("mounts after removing one: %+v", m)
	}
	// Nothing the write keeps counts as a change.
	if k := Classify(observed, mergeDesired(withEnv(observed, "A=1"), observed)); k != ChangeNone {
		t.Errorf("a write of the same modelled spec is a %s change", k)
	}
}

// A desired value that equals the observed one spelled another way (Swarm's defaults written
// out where the daemon keeps none, the default bind propagation, init = false, another env
// order) is written as the daemon has it, so the write is no change and restarts no task; a
// real difference in the same field is written.
func TestMergeDesiredKeepsEqualSpellings(t *testing.T) {
	delay, attempts, window, no := 5*time.Second, uint64(0), time.Duration(0), false
	tests := []struct {
		name     string
		observed func(*swarm.ServiceSpec)
		desired  func(*swarm.ServiceSpec)
		want     ChangeKind
	}{
		{"defaults written out", func(*swarm.ServiceSpec) {}, func(s *swarm.ServiceSpec) {
			s.UpdateConfig, s.RollbackConfig = DefaultUpdateConfig(), DefaultUpdateConfig()
			s.TaskTemplate.RestartPolicy = &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny, Delay: &delay, MaxAttempts: &attempts, Window: &window}
		}, ChangeNone},
		{"defaults left out", func(s *swarm.ServiceSpec) {
			s.UpdateConfig = DefaultUpdateConfig()
			s.TaskTemplate.RestartPolicy = &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny, Delay: &delay}
		}, func(*swarm.ServiceSpec) {}, ChangeNone},
		{"init false and rprivate", func(s *swarm.ServiceSpec) {
			s.TaskTemplate.ContainerSpec.Init = &no
			s.TaskTemplate.ContainerSpec.Mounts[1].BindOptions.Propagation = mount.PropagationRPrivate
		}, func(s *swarm.ServiceSpec) { s.TaskTemplate.ContainerSpec.Mounts[1].BindOptions = nil }, ChangeNone},
		{"env order", func(s *swarm.ServiceSpec) { s.TaskTemplate.ContainerSpec.Env = []string{"B=2", "A=1"} },
			func(s *swarm.ServiceSpec) { s.TaskTemplate.ContainerSpec.Env = []string{"A=1", "B=2"} }, ChangeNone},
		{"a real change", func(*swarm.ServiceSpec) {}, func(s *swarm.ServiceSpec) {
			s.UpdateConfig = DefaultUpdateConfig()
			s.UpdateConfig.Parallelism = 2
		}, ChangeMetadata},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			observed := withEnv(stackService(), "A=1")
			observed.TaskTemplate.ContainerSpec.Mounts = append([]mount.Mount(nil), observed.TaskTemplate.ContainerSpec.Mounts...)
			observed.TaskTemplate.ContainerSpec.Mounts[1].BindOptions = &mount.BindOptions{Propagation: mount.PropagationRSlave}
			tc.observed(&observed)
			desired := withEnv(observed)
			desired.TaskTemplate.ContainerSpec.Env = observed.TaskTemplate.ContainerSpec.Env
			desired.TaskTemplate.ContainerSpec.Init = nil
			desired.TaskTemplate.ContainerSpec.Mounts = append([]mount.Mount(nil), observed.TaskTemplate.ContainerSpec.Mounts...)
			desired.UpdateConfig, desired.RollbackConfig, desired.TaskTemplate.RestartPolicy = nil, nil, nil
			tc.desired(&desired)
			merged := mergeDesired(desired, observed)
			if got := Classify(observed, merged); got != tc.want {
				t.Fatalf("Classify = %s, want %s", got, tc.want)
			}
			if tc.want == ChangeNone && !reflect.DeepEqual(merged, observed) {
				t.Errorf("the write respells the service:\n got %+v\nwant %+v", merged, observed)
			}
			if changed := ownedChanges(desired, observed); (len(changed) == 0) != (tc.want == ChangeNone) {
				t.Errorf("ownedChanges = %v", changed)
			}
		})
	}
}

func withEnv(spec swarm.ServiceSpec, env ...string) swarm.ServiceSpec {
	cs := *spec.TaskTemplate.ContainerSpec
	cs.Env = env
	spec.TaskTemplate.ContainerSpec = &cs
	return spec
}

func withImage(spec swarm.ServiceSpec, image string) swarm.ServiceSpec {
	cs := *spec.TaskTemplate.ContainerSpec
	cs.Image = image
	spec.TaskTemplate.ContainerSpec = &cs
	return spec
}

func TestOwnedChanges(t *testing.T) {
	two, three := uint64(2), uint64(3)
	tests := []struct {
		name string
		edit func(*swarm.ServiceSpec)
		want []string
	}{
		{"nothing", func(*swarm.ServiceSpec) {}, nil},
		{"env, label and replicas changed by hand", func(s *swarm.ServiceSpec) {
			s.TaskTemplate.ContainerSpec.Env = append(s.TaskTemplate.ContainerSpec.Env, "X=1")
			s.Labels["owner"] = "ops"
			s.Mode.Replicated.Replicas = &two
		}, []string{"labels", "env", "replicas"}},
		{"replicas moved by a scaling policy", func(s *swarm.ServiceSpec) {
			s.Labels[ScalingOwnerLabel] = "{}"
			s.Mode.Replicated.Replicas = &three
		}, nil},
		{"the engine's own labels", func(s *swarm.ServiceSpec) { s.Labels[ScalingStateLabel] = `{"desired":1}` }, nil},
		{"unmodelled fields", func(s *swarm.ServiceSpec) {
			s.TaskTemplate.ContainerSpec.Privileges = nil
			s.TaskTemplate.ContainerSpec.TTY = false
		}, nil},
		{"networks and secrets", func(s *swarm.ServiceSpec) {
			s.TaskTemplate.Networks = append(s.TaskTemplate.Networks, swarm.NetworkAttachmentConfig{Target: "n2"})
			s.TaskTemplate.ContainerSpec.Secrets = nil
		}, []string{"secrets", "networks"}},
		{"the tag resolved again to another digest", func(s *swarm.ServiceSpec) { s.TaskTemplate.ContainerSpec.Image = "app:v1@sha256:bbbb" }, nil},
		{"another image", func(s *swarm.ServiceSpec) { s.TaskTemplate.ContainerSpec.Image = "app:v2" }, []string{"image"}},
		{"an option of a mount the configuration does not model", func(s *swarm.ServiceSpec) {
			s.TaskTemplate.ContainerSpec.Mounts[0].Consistency = mount.ConsistencyDelegated
		}, nil},
		{"a volume driver option", func(s *swarm.ServiceSpec) {
			s.TaskTemplate.ContainerSpec.Mounts[0].VolumeOptions.DriverConfig.Options["o"] = "addr=10.0.0.2"
		}, []string{"mounts"}},
		{"a mount's source", func(s *swarm.ServiceSpec) { s.TaskTemplate.ContainerSpec.Mounts[0].Source = "other" }, []string{"mounts"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// State keeps the image as configured; the service has it pinned.
			planned := withImage(stackService(), "app:v1")
			live := stackService()
			tc.edit(&live)
			if got := ownedChanges(planned, live); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ownedChanges = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestUnownedFields(t *testing.T) {
	got := UnownedFields(stackService())
	want := []string{
		"TaskTemplate.ContainerSpec.Mounts[/data].Consistency", "TaskTemplate.ContainerSpec.Mounts[/hostetc].BindOptions",
		"TaskTemplate.ContainerSpec.Privileges.NoNewPrivileges", "TaskTemplate.ContainerSpec.TTY", "TaskTemplate.Resources.Reservations.GenericResources",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("UnownedFields =\n %v\nwant\n %v", got, want)
	}
	if got := UnownedFields(modelledService()); len(got) != 0 {
		t.Errorf("a modelled spec has unowned fields %v", got)
	}
}
