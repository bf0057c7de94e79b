package orchestrator

import (
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

func TestClassify(t *testing.T) {
	base := func() swarm.ServiceSpec {
		n := uint64(2)
		return swarm.ServiceSpec{
			Annotations:  swarm.Annotations{Name: "web", Labels: map[string]string{"team": "a"}},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "app:v1", Env: []string{"A=1", "B=2"}}},
			Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}},
			EndpointSpec: &swarm.EndpointSpec{Mode: swarm.ResolutionModeVIP},
		}
	}
	tests := []struct {
		name   string
		mutate func(*swarm.ServiceSpec)
		want   ChangeKind
	}{
		{"identical", func(*swarm.ServiceSpec) {}, ChangeNone},
		{"daemon-filled defaults are no change", func(s *swarm.ServiceSpec) {
			s.TaskTemplate.ContainerSpec.Isolation = "default"
			s.TaskTemplate.Runtime = "container"
			s.TaskTemplate.Resources = &swarm.ResourceRequirements{Limits: &swarm.Limit{}, Reservations: &swarm.Resources{}}
			s.TaskTemplate.ContainerSpec.DNSConfig = &swarm.DNSConfig{}
			s.EndpointSpec = nil
		}, ChangeNone},
		{"env order is no change", func(s *swarm.ServiceSpec) { s.TaskTemplate.ContainerSpec.Env = []string{"B=2", "A=1"} }, ChangeNone},
		{"labels are metadata", func(s *swarm.ServiceSpec) { s.Labels["team"] = "b" }, ChangeMetadata},
		{"update config is metadata", func(s *swarm.ServiceSpec) { s.UpdateConfig = &swarm.UpdateConfig{Parallelism: 2} }, ChangeMetadata},
		{"replicas only is a scale", func(s *swarm.ServiceSpec) {
			n := uint64(5)
			s.Mode.Replicated.Replicas = &n
		}, ChangeScale},
		{"image is a rolling update", func(s *swarm.ServiceSpec) { s.TaskTemplate.ContainerSpec.Image = "app:v2" }, ChangeTaskTemplate},
		{"env is a rolling update", func(s *swarm.ServiceSpec) { s.TaskTemplate.ContainerSpec.Env = []string{"A=3", "B=2"} }, ChangeTaskTemplate},
		{"force update is a rolling update", func(s *swarm.ServiceSpec) { s.TaskTemplate.ForceUpdate = 1 }, ChangeTaskTemplate},
		{"published ports roll tasks", func(s *swarm.ServiceSpec) {
			s.EndpointSpec.Ports = []swarm.PortConfig{{TargetPort: 80, PublishedPort: 8080}}
		}, ChangeTaskTemplate},
		{"image and replicas: the rolling update wins", func(s *swarm.ServiceSpec) {
			n := uint64(3)
			s.Mode.Replicated.Replicas = &n
			s.TaskTemplate.ContainerSpec.Image = "app:v2"
		}, ChangeTaskTemplate},
		{"restart delay is a rolling update", func(s *swarm.ServiceSpec) {
			d := 3 * time.Second
			s.TaskTemplate.RestartPolicy = &swarm.RestartPolicy{Delay: &d}
		}, ChangeTaskTemplate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			desired := base()
			tc.mutate(&desired)
			if got := Classify(base(), desired); got != tc.want {
				t.Errorf("Classify = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMergeDesiredKeepsWhatTerraformDoesNotOwn(t *testing.T) {
	three := uint64(3)
	observed := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Labels: map[string]string{"swarmform.scaling-policy": "p1", "team": "old"}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: "app:v1@sha256:aaaa"},
			ForceUpdate:   4,
			Placement:     &swarm.Placement{Platforms: []swarm.Platform{{OS: "linux"}}},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &three}},
	}
	one := uint64(1)
	desired := swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Labels: map[string]string{"team": "new", "swarmform.spoofed": "x"}},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "app:v1"}},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}},
	}
	// The owner label alone (no KeepReplicas) keeps the policy's count.
	got := mergeDesired(desired, observed)
	if got.TaskTemplate.ContainerSpec.Image != "app:v1@sha256:aaaa" {
		t.Errorf("pinned digest dropped: %s", got.TaskTemplate.ContainerSpec.Image)
	}
	if got.TaskTemplate.ForceUpdate != 4 || len(got.TaskTemplate.Placement.Platforms) != 1 {
		t.Errorf("force update or platforms not kept: %+v", got.TaskTemplate)
	}
	if got.Labels["team"] != "new" || got.Labels["swarmform.scaling-policy"] != "p1" || got.Labels["swarmform.spoofed"] != "" {
		t.Errorf("labels: %v", got.Labels)
	}
	if *got.Mode.Replicated.Replicas != 3 {
		t.Errorf("replicas owned elsewhere were overwritten: %d", *got.Mode.Replicated.Replicas)
	}
	if desired.TaskTemplate.ContainerSpec.Image != "app:v1" {
		t.Error("mergeDesired changed its input")
	}

	desired.TaskTemplate.ForceUpdate = 5
	if got := mergeDesired(desired, observed); got.TaskTemplate.ContainerSpec.Image != "app:v1" {
		t.Errorf("a raised force_update must resolve the tag again, got %s", got.TaskTemplate.ContainerSpec.Image)
	}
	desired.TaskTemplate.ForceUpdate = 0
	desired.TaskTemplate.ContainerSpec.Image = "app:v2"
	delete(observed.Labels, ScalingOwnerLabel)
	if got := mergeDesired(desired, observed); got.TaskTemplate.ContainerSpec.Image != "app:v2" || *got.Mode.Replicated.Replicas != 1 {
		t.Errorf("a new image or owned replicas were not taken: %s %d", got.TaskTemplate.ContainerSpec.Image, *got.Mode.Replicated.Replicas)
	}
}

func TestImages(t *testing.T) {
	tests := []struct {
		want, got string
		same      bool
	}{
		{"nginx", "nginx", true},
		{"nginx", "docker.io/library/nginx:latest", true},
		{"nginx:1.27", "nginx:1.27@sha256:abc", true},
		{"127.0.0.1:5000/team/app:v1", "127.0.0.1:5000/team/app:v1@sha256:abc", true},
		{"nginx:1.27@sha256:abc", "nginx:1.27@sha256:def", false},
		{"nginx:1.27", "nginx:1.28@sha256:abc", false},
		{"app:v1", "app:v2", false},
	}
	for _, tc := range tests {
		if got := SameImage(tc.want, tc.got); got != tc.same {
			t.Errorf("SameImage(%q, %q) = %v, want %v", tc.want, tc.got, got, tc.same)
		}
	}
	if got := WithDigest("app:v1@sha256:old", "sha256:new"); got != "app:v1@sha256:new" {
		t.Errorf("WithDigest = %s", got)
	}
}

func TestCredentials(t *testing.T) {
	auths := []RegistryAuth{
		{Address: "https://registry.example.com:5000/", Username: "u1", Password: "p1"},
		// base64("u2:p2") = dTI6cDI=
		{Address: "ghcr.io", ConfigFileContent: `{"auths":{"ghcr.io":{"auth":"dTI6cDI="}}}`},
		{Address: "index.docker.io", ConfigFileContent: `{"auths":{"https://index.docker.io/v1/":{"username":"u3","password":"p3"}}}`},
	}
	tests := []struct{ image, user, pass string }{
		{"registry.example.com:5000/team/app:v1", "u1", "p1"},
		{"ghcr.io/org/app", "u2", "p2"},
		{"nginx", "u3", "p3"},
		{"quay.io/x/y", "", ""},
	}
	for _, tc := range tests {
		user, pass, ok, err := credentials(auths, ImageRegistry(tc.image))
		if err != nil {
			t.Fatalf("%s: %v", tc.image, err)
		}
		if ok != (tc.user != "") || user != tc.user || pass != tc.pass {
			t.Errorf("%s: got %q/%q (%v), want %q/%q", tc.image, user, pass, ok, tc.user, tc.pass)
		}
	}
	if _, _, _, err := credentials([]RegistryAuth{{Address: "x", ConfigFileContent: "{not json"}}, "x"); err == nil {
		t.Error("a broken config.json must be an error")
	}
}

func TestVersionLess(t *testing.T) {
	if !olderAPI("1.40") || olderAPI("1.41") || olderAPI("1.47") || !olderAPI("1.9") || olderAPI("2.0") {
		t.Error("olderAPI compares dotted numbers with " + MinAPIVersion)
	}
}

// What a compose file leaves out and the daemon fills in (the replica count, the endpoint mode
// beside published ports, the failure action and order of update settings given in part) is
// no change: a stack deployed from the file re-plans empty.
func TestClassifyDaemonFilledStackValues(t *testing.T) {
	one := uint64(1)
	ports := []swarm.PortConfig{{TargetPort: 8080, PublishedPort: 8080, PublishMode: swarm.PortConfigPublishModeHost}}
	observed := swarm.ServiceSpec{
		Annotations:    swarm.Annotations{Name: "web"},
		TaskTemplate:   swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "app:v1"}},
		Mode:           swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}},
		EndpointSpec:   &swarm.EndpointSpec{Mode: swarm.ResolutionModeVIP, Ports: ports},
		UpdateConfig:   &swarm.UpdateConfig{Parallelism: 1, FailureAction: swarm.UpdateFailureActionPause, Monitor: 2 * time.Second, Order: swarm.UpdateOrderStopFirst},
		RollbackConfig: &swarm.UpdateConfig{Parallelism: 1, FailureAction: swarm.UpdateFailureActionPause, Order: swarm.UpdateOrderStopFirst},
	}
	desired := swarm.ServiceSpec{
		Annotations:    swarm.Annotations{Name: "web"},
		TaskTemplate:   swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "app:v1"}},
		Mode:           swarm.ServiceMode{Replicated: &swarm.ReplicatedService{}},
		EndpointSpec:   &swarm.EndpointSpec{Ports: ports},
		UpdateConfig:   &swarm.UpdateConfig{Parallelism: 1, Monitor: 2 * time.Second},
		RollbackConfig: &swarm.UpdateConfig{Parallelism: 1},
	}
	if got := Classify(observed, desired); got != ChangeNone {
		t.Errorf("Classify = %s, want %s", got, ChangeNone)
	}
	two := uint64(2)
	observed.Mode.Replicated.Replicas = &two
	if got := Classify(observed, desired); got != ChangeScale {
		t.Errorf("2 replicas running, the file giving none: Classify = %s, want %s", got, ChangeScale)
	}
}
