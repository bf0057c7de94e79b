package provider

import (
	"reflect"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/swarm"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

func TestStackReplicas(t *testing.T) {
	n := uint64(3)
	for _, tc := range []struct {
		name string
		mode swarm.ServiceMode
		want types.Int64
	}{
		{"given", swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}}, types.Int64Value(3)},
		{"left out: Swarm's 1", swarm.ServiceMode{Replicated: &swarm.ReplicatedService{}}, types.Int64Value(1)},
		{"global", swarm.ServiceMode{Global: &swarm.GlobalService{}}, types.Int64Null()},
	} {
		if got := stackReplicas(swarm.ServiceSpec{Mode: tc.mode}); !got.Equal(tc.want) {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// An adopted secret or config (the CLI's fixed name) stays while its file is unchanged since
// state recorded it, or while state records no files (imported, not applied since).
func TestKeepAdopted(t *testing.T) {
	c := &orchestrator.Compose{WorkingDir: "/w", Files: []orchestrator.StackFile{
		{Kind: orchestrator.FileCompose, Path: "/w/docker-compose.yml", Hash: "c1"},
		{Kind: orchestrator.FileSecret, Path: "/w/secrets/pw.txt", Hash: "s2"},
	}}
	secret := orchestrator.StackObject{Kind: orchestrator.KindSecret, Key: "pw", File: "/w/secrets/pw.txt"}
	files := func(hash string) types.Map {
		return types.MapValueMust(types.StringType, map[string]attr.Value{"docker-compose.yml": types.StringValue("c1"), "secrets/pw.txt": types.StringValue(hash)})
	}
	for _, tc := range []struct {
		name  string
		prior types.Map
		want  bool
	}{
		{"no files in state", types.MapNull(types.StringType), true},
		{"the same hash", files("s2"), true},
		{"another hash: the file changed", files("s1"), false},
		{"not in state", types.MapValueMust(types.StringType, map[string]attr.Value{}), false},
	} {
		if got := keepAdopted(c, tc.prior)(secret); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := filesValue(c).Elements(); len(got) != 2 || got["secrets/pw.txt"] == nil {
		t.Errorf("files are keyed by their path from the first file's directory: %v", got)
	}
}

// After a deploy, a service the plan did not write keeps its planned entry (its version known);
// a written one (version unknown in the plan) and a new one are recorded as they run.
func TestStackServicesAfter(t *testing.T) {
	one := uint64(1)
	svc := func(id, name string, version uint64) swarm.Service {
		s := swarm.Service{ID: id, Spec: swarm.ServiceSpec{
			Annotations: swarm.Annotations{Name: name, Labels: map[string]string{orchestrator.StackImageLabel: "app:v1"}},
			Mode:        swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}},
		}}
		s.Version.Index = version
		return s
	}
	live := map[string]swarm.Service{"s_web": svc("w", "s_web", 20), "s_api": svc("a", "s_api", 21), "s_new": svc("n", "s_new", 22)}
	entry := func(id string, replicas int64, version types.Int64) attr.Value {
		return stackServiceModel{ID: types.StringValue(id), Name: types.StringValue("s_" + id), Image: types.StringValue("app:v1"), Replicas: types.Int64Value(replicas), Version: version}.value()
	}
	planned := types.MapValueMust(stackServiceType, map[string]attr.Value{
		"web": entry("w", 2, types.Int64Value(10)), // not written: as state had it
		"api": entry("a", 1, types.Int64Unknown()), // written
		"old": entry("o", 1, types.Int64Value(5)),  // gone meanwhile
	})
	got := stackServicesAfter("s", live, planned).Elements()
	version := func(key string) types.Int64 {
		o, _ := got[key].(types.Object)
		v, _ := o.Attributes()["version"].(types.Int64)
		return v
	}
	if len(got) != 3 || got["old"] != nil {
		t.Fatalf("services %v: want web, api and new", got)
	}
	for key, want := range map[string]int64{"web": 10, "api": 21, "new": 22} {
		if v := version(key); v.ValueInt64() != want {
			t.Errorf("%s: version %s, want %d", key, v, want)
		}
	}
}

func TestParseStackImportID(t *testing.T) {
	tests := []struct {
		raw     string
		want    stackImportID
		wantErr string
	}{
		{raw: "app", want: stackImportID{Name: "app"}},
		{raw: "app:docker-compose.yml", want: stackImportID{Name: "app", ComposeFiles: []string{"docker-compose.yml"}}},
		{raw: "app:a.yml,prod/b.yml", want: stackImportID{Name: "app", ComposeFiles: []string{"a.yml", "prod/b.yml"}}},
		{raw: `app:C:\stacks\a.yml`, want: stackImportID{Name: "app", ComposeFiles: []string{`C:\stacks\a.yml`}}},
		{raw: `{"name":"app","compose_files":["a.yml"],"environment":{"TAG":"v1"}}`,
			want: stackImportID{Name: "app", ComposeFiles: []string{"a.yml"}, Environment: map[string]string{"TAG": "v1"}}},
		{raw: "", wantErr: "takes its name"},
		{raw: "app:", wantErr: "a compose file name is empty"},
		{raw: "app:a.yml,", wantErr: "a compose file name is empty"},
		{raw: "bad name:a.yml", wantErr: "takes its name"},
		{raw: `{"name":"app","files":["a.yml"]}`, wantErr: `unknown field "files"`},
		{raw: `{"name":"app","environment":{"TAG":"v1"}}`, wantErr: "environment is given without compose_files"},
		{raw: `{"name":`, wantErr: "does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := parseStackImportID(tt.raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
