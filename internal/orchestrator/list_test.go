package orchestrator

import (
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

func TestListFilterMatch(t *testing.T) {
	stack := map[string]string{StackNamespaceLabel: "shop", "team": "web"}
	plain := map[string]string{"team": "web", "tier": "front"}
	for _, tc := range []struct {
		name   string
		f      ListFilter
		obj    string
		labels map[string]string
		match  bool
		member bool // matchMember: a stack's object without a Stack condition is left out
	}{
		{"no filter selects everything", ListFilter{}, "api", plain, true, true},
		{"no filter, a stack's object", ListFilter{}, "shop_api", stack, true, false},
		{"name prefix", ListFilter{NamePrefix: "ap"}, "api", plain, true, true},
		{"name prefix is not a substring", ListFilter{NamePrefix: "pi"}, "api", plain, false, false},
		{"name prefix longer than the name", ListFilter{NamePrefix: "apis"}, "api", plain, false, false},
		{"every label must match", ListFilter{Labels: map[string]string{"team": "web", "tier": "front"}}, "api", plain, true, true},
		{"one label differs", ListFilter{Labels: map[string]string{"team": "web", "tier": "back"}}, "api", plain, false, false},
		{"a label missing", ListFilter{Labels: map[string]string{"owner": ""}}, "api", plain, false, false},
		{"a label with an empty value", ListFilter{Labels: map[string]string{"owner": ""}}, "api", map[string]string{"owner": ""}, true, true},
		{"nil labels", ListFilter{Labels: map[string]string{"team": "web"}}, "api", nil, false, false},
		{"stack", ListFilter{Stack: "shop"}, "shop_api", stack, true, true},
		{"another stack", ListFilter{Stack: "shop2"}, "shop_api", stack, false, false},
		{"stack, not in one", ListFilter{Stack: "shop"}, "api", plain, false, false},
		{"stack, prefix and labels", ListFilter{Stack: "shop", NamePrefix: "shop_a", Labels: map[string]string{"team": "web"}}, "shop_api", stack, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f.Match(tc.obj, tc.labels); got != tc.match {
				t.Errorf("Match(%q, %v) = %v, want %v", tc.obj, tc.labels, got, tc.match)
			}
			if got := tc.f.matchMember(tc.obj, tc.labels); got != tc.member {
				t.Errorf("matchMember(%q, %v) = %v, want %v", tc.obj, tc.labels, got, tc.member)
			}
		})
	}
}

// The Docker API filters only narrow: every label, the stack label, and the name.
func TestListFilterArgs(t *testing.T) {
	args := ListFilter{NamePrefix: "web", Labels: map[string]string{"b": "2", "a": "1"}, Stack: "shop"}.args()
	if got, want := args.Get("label"), []string{"a=1", "b=2", StackNamespaceLabel + "=shop"}; !slices.Equal(sorted(got), sorted(want)) {
		t.Errorf("label filters %v, want %v", got, want)
	}
	if got := args.Get("name"); !slices.Equal(got, []string{"web"}) {
		t.Errorf("name filters %v, want [web]", got)
	}
	if n := (ListFilter{}).args().Len(); n != 0 {
		t.Errorf("an empty filter sends %d Docker filters, want none", n)
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func TestStackSelected(t *testing.T) {
	svc := func(name string, labels map[string]string) swarm.Service {
		return swarm.Service{Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: name, Labels: labels}}}
	}
	both := map[string]swarm.Service{
		"shop_api": svc("shop_api", map[string]string{StackNamespaceLabel: "shop", "team": "web"}),
		"shop_db":  svc("shop_db", map[string]string{StackNamespaceLabel: "shop", "team": "web", "tier": "data"}),
	}
	for _, tc := range []struct {
		name string
		f    ListFilter
		want bool
	}{
		{"no filter", ListFilter{}, true},
		{"namespace prefix", ListFilter{NamePrefix: "sh"}, true},
		{"another prefix", ListFilter{NamePrefix: "shop_"}, false},
		{"stack", ListFilter{Stack: "shop"}, true},
		{"another stack", ListFilter{Stack: "sho"}, false},
		{"a label every service has", ListFilter{Labels: map[string]string{"team": "web"}}, true},
		{"a label one service lacks", ListFilter{Labels: map[string]string{"tier": "data"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := stackSelected(tc.f, "shop", both); got != tc.want {
				t.Errorf("stackSelected(%+v) = %v, want %v", tc.f, got, tc.want)
			}
		})
	}
}

// Secrets and configs: the filter's selection, the newest version of a rotating group only,
// never the engine's heartbeat, by name.
func TestSelectObjects(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	all := []Object{
		{ID: "3", Name: "db-b", Labels: map[string]string{RotationLabel: "db-", "team": "web"}, CreatedAt: t0.Add(2 * time.Minute)},
		{ID: "1", Name: "db-a", Labels: map[string]string{RotationLabel: "db-", "team": "web"}, CreatedAt: t0},
		{ID: "2", Name: "api-key", Labels: map[string]string{"team": "web"}, CreatedAt: t0},
		{ID: "4", Name: "shop_pw", Labels: map[string]string{StackNamespaceLabel: "shop", "team": "web"}, CreatedAt: t0},
		{ID: "5", Name: HeartbeatConfig, Labels: map[string]string{HeartbeatLabel: "x"}, CreatedAt: t0},
	}
	ids := func(list []Object) []string {
		var out []string
		for _, o := range list {
			out = append(out, o.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    ListFilter
		want []string
	}{
		{"everything", ListFilter{}, []string{"2", "3"}},
		{"by label", ListFilter{Labels: map[string]string{"team": "web"}}, []string{"2", "3"}},
		{"by prefix: the newest version only", ListFilter{NamePrefix: "db-"}, []string{"3"}},
		{"the older version's name", ListFilter{NamePrefix: "db-a"}, nil},
		{"a stack's", ListFilter{Stack: "shop"}, []string{"4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(selectObjects(all, tc.f)); !slices.Equal(got, tc.want) {
				t.Errorf("selected %v, want %v", got, tc.want)
			}
		})
	}
}
