package orchestrator

import (
	"testing"
	"time"
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
