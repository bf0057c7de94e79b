package orchestrator

import (
	"strings"
	"testing"

	units "github.com/docker/go-units"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
)

func TestCheckServiceSpec(t *testing.T) {
	port := func(published uint32, protocol swarm.PortConfigProtocol, mode swarm.PortConfigPublishMode) swarm.PortConfig {
		return swarm.PortConfig{TargetPort: 80, PublishedPort: published, Protocol: protocol, PublishMode: mode}
	}
	spec := func(edit func(*swarm.ServiceSpec)) swarm.ServiceSpec {
		s := swarm.ServiceSpec{EndpointSpec: &swarm.EndpointSpec{Mode: swarm.ResolutionModeVIP},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{}}}
		edit(&s)
		return s
	}
	for _, tc := range []struct {
		name string
		spec swarm.ServiceSpec
		want []string // "path: summary", in order
	}{
		{"nothing wrong", spec(func(s *swarm.ServiceSpec) {
			s.EndpointSpec.Ports = []swarm.PortConfig{port(8080, "tcp", "ingress"), port(8080, "udp", "ingress"), port(0, "tcp", "ingress"), port(0, "tcp", "ingress")}
			s.TaskTemplate.ContainerSpec.Mounts = []mount.Mount{{Type: mount.TypeBind, Source: "/srv", Target: "/a"}, {Type: mount.TypeTmpfs, Target: "/b"}}
		}), nil},
		{"dnsrr with an ingress port", spec(func(s *swarm.ServiceSpec) {
			s.EndpointSpec.Mode = swarm.ResolutionModeDNSRR
			s.EndpointSpec.Ports = []swarm.PortConfig{port(8080, "tcp", "host"), port(9090, "tcp", "ingress")}
		}), []string{"ports[1].mode: Ingress Port With DNS Round Robin"}},
		{"a published port twice", spec(func(s *swarm.ServiceSpec) {
			s.EndpointSpec.Ports = []swarm.PortConfig{port(8080, "", "ingress"), port(8081, "tcp", "ingress"), port(8080, "tcp", "host")}
		}), []string{"ports[2].published: Duplicate Published Port"}},
		{"mounts", spec(func(s *swarm.ServiceSpec) {
			s.TaskTemplate.ContainerSpec.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: "v", Target: "/data"}, {Type: mount.TypeBind, Target: "/data"},
				{Type: mount.TypeTmpfs, Source: "x", Target: "/tmp"}}
		}), []string{"mounts[1].target: Duplicate Mount Target", "mounts[1].source: Missing Bind Source", "mounts[2].source: Source On Tmpfs Mount"}},
		{"ulimit", spec(func(s *swarm.ServiceSpec) {
			s.TaskTemplate.ContainerSpec.Ulimits = []*units.Ulimit{{Name: "nofile", Soft: 4096, Hard: 1024}}
		}), []string{`ulimits["nofile"].soft: Invalid Ulimit`}},
		{"reservation above limit", spec(func(s *swarm.ServiceSpec) {
			s.TaskTemplate.Resources = &swarm.ResourceRequirements{Limits: &swarm.Limit{MemoryBytes: 64 << 20}, Reservations: &swarm.Resources{MemoryBytes: 128 << 20}}
		}), []string{"resources.reservations.memory: Reservation Above Limit"}},
		{"a network twice", spec(func(s *swarm.ServiceSpec) {
			s.TaskTemplate.Networks = []swarm.NetworkAttachmentConfig{{Target: "back"}, {Target: "back"}}
		}), []string{"networks[1].id: "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CheckServiceSpec(tc.spec)
			if len(got) != len(tc.want) {
				t.Fatalf("problems %+v, want %v", got, tc.want)
			}
			for i, p := range got {
				if !strings.HasPrefix(p.Path+": "+p.Summary, tc.want[i]) {
					t.Errorf("problem %d is %s: %s, want %s", i, p.Path, p.Summary, tc.want[i])
				}
				if p.Reads[0] != p.Path {
					t.Errorf("problem %d reads %v, which does not start with its path", i, p.Reads)
				}
			}
		})
	}
}
