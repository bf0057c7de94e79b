package orchestrator

// The autoscaling controller's own service, as the swarm_autoscaler resource deploys it: one
// task on every manager (the one on the Raft leader acts), the Docker socket of its node, a
// volume that is the node's lock, a healthcheck that passes once a round has finished.

import (
	"fmt"
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
	// AutoscalerLockVolume is the volume, on each node, whose file only one controller of the
	// node holds. Every controller service uses the same one, so that two of them (two
	// resources, or the old and new task of an update) never act at once.
	AutoscalerLockVolume = "swarm-autoscaler-lock"
	autoscalerLockDir    = "/var/lock/swarm-autoscaler"
	dockerSocket         = "/var/run/docker.sock"
	managerConstraint    = "node.role==manager"
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
					{Type: mount.TypeBind, Source: dockerSocket, Target: dockerSocket},
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
	s = AutoscalerSettings{Name: spec.Name, Interval: DefaultAutoscalerInterval, LogLevel: DefaultAutoscalerLogLevel, Resources: spec.TaskTemplate.Resources}
	if cs := spec.TaskTemplate.ContainerSpec; cs != nil {
		s.Image = cs.Image
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

func durationPtr(d time.Duration) *time.Duration { return &d }
