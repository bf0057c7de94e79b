package orchestrator

import (
	"reflect"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

func TestNewestInGroup(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	version := func(id, group string, at time.Duration) Object {
		labels := map[string]string{"team": "shop"}
		if group != "" {
			labels[RotationLabel] = group
		}
		return Object{ID: id, Name: group + id, Labels: labels, CreatedAt: t0.Add(at)}
	}
	tests := []struct {
		name   string
		list   []Object
		prefix string
		want   string // ID, "" for none
	}{
		{"none", nil, "db-", ""},
		{"empty prefix matches nothing", []Object{version("a", "", 0)}, "", ""},
		{"one", []Object{version("a", "db-", 0)}, "db-", "a"},
		{"newest wins, in any order", []Object{version("b", "db-", 2*time.Minute), version("a", "db-", 0), version("c", "db-", time.Minute)}, "db-", "b"},
		{"other groups ignored", []Object{version("a", "db-", 0), version("z", "db-replica-", time.Hour)}, "db-", "a"},
		{"fixed-name object with the prefix in its name is not a version", []Object{{ID: "x", Name: "db-x", CreatedAt: t0.Add(time.Hour)}, version("a", "db-", 0)}, "db-", "a"},
		{"same time: greater ID", []Object{version("b", "db-", 0), version("c", "db-", 0), version("a", "db-", 0)}, "db-", "c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := newestInGroup(tt.list, tt.prefix)
			if ok != (tt.want != "") || got.ID != tt.want {
				t.Errorf("newestInGroup = %q, %v; want %q", got.ID, ok, tt.want)
			}
		})
	}
}

// What a write moves a service off is taken from the specs before and after it: the
// collection of superseded versions no longer depends on the service's PreviousSpec, which a
// later write (a controller's scale during the wait) replaces.
func TestMovedOff(t *testing.T) {
	spec := func(secrets, configs []string) swarm.ServiceSpec {
		cs := &swarm.ContainerSpec{}
		for _, id := range secrets {
			cs.Secrets = append(cs.Secrets, &swarm.SecretReference{SecretID: id})
		}
		for _, id := range configs {
			cs.Configs = append(cs.Configs, &swarm.ConfigReference{ConfigID: id})
		}
		return swarm.ServiceSpec{TaskTemplate: swarm.TaskSpec{ContainerSpec: cs}}
	}
	for _, tc := range []struct {
		name          string
		before, after swarm.ServiceSpec
		want          map[ObjectKind][]string
	}{
		{"nothing referred to", swarm.ServiceSpec{}, swarm.ServiceSpec{}, nil},
		{"the same references", spec([]string{"s1"}, []string{"c1"}), spec([]string{"s1"}, []string{"c1"}), nil},
		{"a secret rotated", spec([]string{"s1", "s9"}, nil), spec([]string{"s2", "s9"}, nil), map[ObjectKind][]string{KindSecret: {"s1"}}},
		{"a config rotated, a secret added", spec(nil, []string{"c1"}), spec([]string{"s1"}, []string{"c2"}), map[ObjectKind][]string{KindConfig: {"c1"}}},
		{"one secret mounted twice, both dropped", spec([]string{"s1", "s1"}, nil), spec(nil, nil), map[ObjectKind][]string{KindSecret: {"s1"}}},
		{"everything dropped", spec([]string{"s1"}, []string{"c1"}), swarm.ServiceSpec{}, map[ObjectKind][]string{KindSecret: {"s1"}, KindConfig: {"c1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := movedOff(tc.before, tc.after); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("movedOff = %v, want %v", got, tc.want)
			}
		})
	}
}
