package provider

import (
	"encoding/json"
	"math/big"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

// attrEqual compares Terraform values by Equal, so numbers compare by value, not by the
// representation of their big.Float.
var attrEqual = cmp.Comparer(func(a, b attr.Value) bool { return a.Equal(b) })

func number(s string) types.Number { return types.NumberValue(orchestrator.Decimal(s).BigFloat()) }

// Every block of the model set to values that differ from Swarm's defaults. A field added to
// a block without a value here fails TestFixturesAreComplete; a field a conversion drops fails
// the round trips.
var (
	healthcheckFixture = &healthcheckModel{Test: []string{"CMD", "/app", "health"}, Interval: durationValue("2s"),
		Timeout: durationValue("1s"), Retries: intValue(4), StartPeriod: durationValue("3s")}
	resourcesFixture = &resourcesModel{
		Limits:       &resourceAmountModel{CPUs: number("0.5"), Memory: sizeValue("128MiB")},
		Reservations: &resourceAmountModel{CPUs: number("0.25"), Memory: sizeValue("64MiB")},
	}
	restartPolicyFixture = &restartPolicyModel{Condition: types.StringValue("on-failure"), Delay: durationValue("3s"),
		MaxAttempts: intValue(7), Window: durationValue("2m0s")}
	placementFixture = &placementModel{Constraints: []string{"node.labels.zone!=b", "node.role==manager"},
		Preferences: []string{"spread=node.labels.zone"}, MaxReplicasPerNode: intValue(3)}
	mountFixtures = []mountModel{
		{Type: types.StringValue("tmpfs"), Source: types.StringNull(), Target: types.StringValue("/tmp"), ReadOnly: types.BoolValue(false), TmpfsSize: sizeValue("16MiB"),
			TmpfsMode: types.StringValue("1777"), Driver: types.StringNull(), NoCopy: types.BoolValue(false), Propagation: types.StringNull()},
		{Type: types.StringValue("volume"), Source: types.StringValue("data"), Target: types.StringValue("/data"), ReadOnly: types.BoolValue(true), TmpfsSize: nullKind(sizeType),
			TmpfsMode: types.StringNull(), Driver: types.StringValue("local"), DriverOptions: map[string]string{"type": "nfs", "o": "addr=10.0.0.5"},
			VolumeLabels: map[string]string{"team": "data"}, NoCopy: types.BoolValue(true), Propagation: types.StringNull()},
		{Type: types.StringValue("bind"), Source: types.StringValue("/etc"), Target: types.StringValue("/hostetc"), ReadOnly: types.BoolValue(true), TmpfsSize: nullKind(sizeType),
			TmpfsMode: types.StringNull(), Driver: types.StringNull(), NoCopy: types.BoolValue(false), Propagation: types.StringValue("rslave")},
	}
	networkFixture   = networkModel{ID: types.StringValue("backend"), Aliases: []string{"api"}, DriverOptions: map[string]string{"com.docker.network.driver.mtu": "1400"}}
	fileRefFixture   = fileRefModel{ID: types.StringValue("db-password"), FileName: types.StringValue("db"), UID: types.StringValue("101"), GID: types.StringValue("102"), Mode: types.StringValue("0400")}
	portFixture      = portModel{Target: intValue(8080), Published: intValue(18999), Protocol: types.StringValue("udp"), Mode: types.StringValue("host")}
	dnsConfigFixture = &dnsConfigModel{Nameservers: []string{"10.0.0.53"}, Search: []string{"corp.example"}, Options: []string{"ndots:2"}}
	logDriverFixture = &logDriverModel{Name: types.StringValue("json-file"), Options: map[string]string{"max-size": "5m"}}
	updateFixture    = &updateConfigModel{Parallelism: intValue(2), Delay: durationValue("4s"), FailureAction: types.StringValue("rollback"),
		Monitor: durationValue("6s"), MaxFailureRatio: types.Float64Value(0.25), Order: types.StringValue("start-first")}
	ulimitsFixture = map[string]ulimitModel{"nofile": {Soft: intValue(1024), Hard: intValue(2048)}}
)

// TestFixturesAreComplete fails when a block gains a field that the fixtures above leave
// unset, so that the round trips below cover every field.
func TestFixturesAreComplete(t *testing.T) {
	for name, v := range map[string]any{
		"healthcheck": healthcheckFixture, "resources.limits": resourcesFixture.Limits, "restart_policy": restartPolicyFixture,
		"placement": placementFixture, "mounts[1]": mountFixtures[1], "ports[0]": portFixture, "dns_config": dnsConfigFixture,
		"log_driver": logDriverFixture, "rolling_update": updateFixture, "ulimits.nofile": ulimitsFixture["nofile"],
		"networks[0]": networkFixture, "secrets[0]": fileRefFixture,
		"service": fullServiceModel(), "service.taskModel": fullServiceModel().taskModel,
	} {
		rv := reflect.Indirect(reflect.ValueOf(v))
		for i := range rv.NumField() {
			f, name := rv.Field(i), name+"."+rv.Type().Field(i).Name
			switch {
			case rv.Type().Field(i).Anonymous: // checked on its own: "service.taskModel"
			case optionalInFixture[name]:
			case f.IsZero():
				t.Errorf("%s is not set in the fixture", name)
			default:
				if v, ok := f.Interface().(attr.Value); ok && v.IsNull() && !optionalInFixture[name] {
					t.Errorf("%s is null in the fixture", name)
				}
			}
		}
	}
}

// optionalInFixture are fields that are null in a fixture on purpose (a tmpfs mount has no
// source; the volume mount no tmpfs size) or exist only in Terraform.
var optionalInFixture = map[string]bool{"mounts[1].TmpfsSize": true, "mounts[1].TmpfsMode": true, "mounts[1].Propagation": true}

// Each block: model -> Swarm -> model, and Swarm -> model -> Swarm.
func TestBlockRoundTrips(t *testing.T) {
	check := func(t *testing.T, name string, got, want any) {
		t.Helper()
		if diff := cmp.Diff(want, got, attrEqual); diff != "" {
			t.Errorf("%s round trip (-want +got):\n%s", name, diff)
		}
	}
	check(t, "healthcheck", healthcheckFrom(healthcheckFixture.toSwarm()), healthcheckFixture)
	check(t, "resources", resourcesFrom(resourcesFixture.toSwarm(intNull()), nil), resourcesFixture)
	check(t, "pids_limit", pidsLimitFrom(resourcesFixture.toSwarm(intValue(64))), intValue(64))
	check(t, "networks", networksFrom(networksToSwarm([]networkModel{networkFixture}), nil, nil), []networkModel{networkFixture})
	check(t, "secrets", secretsFrom([]*swarm.SecretReference{fileRefFixture.secretToSwarm()}, nil, nil), []fileRefModel{fileRefFixture})
	check(t, "configs", configsFrom([]*swarm.ConfigReference{fileRefFixture.configToSwarm()}, nil, nil), []fileRefModel{fileRefFixture})
	check(t, "restart_policy", restartPolicyFrom(restartPolicyFixture.toSwarm()), restartPolicyFixture)
	check(t, "placement", placementFrom(placementFixture.toSwarm(), nil), placementFixture)
	for i, mt := range mountFixtures {
		check(t, "mounts["+string(rune('0'+i))+"]", mountFrom(mt.toSwarm(), nil), mt)
	}
	check(t, "ports", portFrom(portFixture.toSwarm()), portFixture)
	check(t, "dns_config", dnsConfigFrom(dnsConfigFixture.toSwarm(), nil), dnsConfigFixture)
	check(t, "log_driver", logDriverFrom(logDriverFixture.toSwarm(), nil), logDriverFixture)
	check(t, "rolling_update", updateConfigFrom(updateFixture.toSwarm()), updateFixture)
	check(t, "ulimits", ulimitsFrom(ulimitsToSwarm(ulimitsFixture), nil), ulimitsFixture)
	check(t, "env", envFrom(envToSwarm(map[string]string{"A": "1", "B": "x=y"})), map[string]string{"A": "1", "B": "x=y"})
	check(t, "extra_hosts", hostsFrom(hostsToSwarm(map[string]string{"db": "10.1.2.3", "cache": "10.1.2.4"})), map[string]string{"db": "10.1.2.3", "cache": "10.1.2.4"})

	// Swarm -> model -> Swarm, with every field the model covers set.
	grace, delay, window, attempts := 7*time.Second, 3*time.Second, 2*time.Minute, uint64(7)
	hc := &container.HealthConfig{Test: []string{"CMD-SHELL", "/app health"}, Interval: 2 * time.Second, Timeout: time.Second, StartPeriod: 3 * time.Second, Retries: 4}
	check(t, "healthcheck (swarm)", healthcheckFrom(hc).toSwarm(), hc)
	res := &swarm.ResourceRequirements{Limits: &swarm.Limit{NanoCPUs: 5e8, MemoryBytes: 128 << 20}, Reservations: &swarm.Resources{NanoCPUs: 25e7, MemoryBytes: 64 << 20}}
	check(t, "resources (swarm)", resourcesFrom(res, nil).toSwarm(pidsLimitFrom(res)), res)
	withPids := &swarm.ResourceRequirements{Limits: &swarm.Limit{NanoCPUs: 5e8, Pids: 64}}
	check(t, "resources with pids (swarm)", resourcesFrom(withPids, nil).toSwarm(pidsLimitFrom(withPids)), withPids)
	nets := []swarm.NetworkAttachmentConfig{{Target: "n1", Aliases: []string{"web"}, DriverOpts: map[string]string{"a": "b"}}}
	check(t, "networks (swarm)", networksToSwarm(networksFrom(nets, nil, nil)), nets)
	rp := &swarm.RestartPolicy{Condition: "on-failure", Delay: &delay, MaxAttempts: &attempts, Window: &window}
	check(t, "restart_policy (swarm)", restartPolicyFrom(rp).toSwarm(), rp)
	pl := &swarm.Placement{Constraints: []string{"node.role==manager"}, Preferences: []swarm.PlacementPreference{{Spread: &swarm.SpreadOver{SpreadDescriptor: "node.labels.zone"}}}, MaxReplicas: 3}
	check(t, "placement (swarm)", placementFrom(pl, nil).toSwarm(), pl)
	for _, mo := range []mount.Mount{
		{Type: mount.TypeTmpfs, Target: "/tmp", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 16 << 20}},
		{Type: mount.TypeVolume, Source: "data", Target: "/data", ReadOnly: true},
		{Type: mount.TypeBind, Source: "/etc", Target: "/hostetc"},
		{Type: mount.TypeBind, Source: "/var", Target: "/hostvar", BindOptions: &mount.BindOptions{Propagation: mount.PropagationShared}},
		{Type: mount.TypeTmpfs, Target: "/scratch", TmpfsOptions: &mount.TmpfsOptions{Mode: 0o1777}},
		{Type: mount.TypeVolume, Source: "nfs", Target: "/nfs", VolumeOptions: &mount.VolumeOptions{NoCopy: true, Labels: map[string]string{"k": "v"},
			DriverConfig: &mount.Driver{Name: "local", Options: map[string]string{"type": "nfs"}}}},
	} {
		check(t, "mount "+mo.Target+" (swarm)", mountFrom(mo, nil).toSwarm(), mo)
	}
	port := swarm.PortConfig{TargetPort: 9000, PublishedPort: 19000, Protocol: swarm.PortConfigProtocolSCTP, PublishMode: swarm.PortConfigPublishModeHost}
	check(t, "port (swarm)", portFrom(port).toSwarm(), port)
	dns := &swarm.DNSConfig{Nameservers: []string{"10.0.0.53"}, Search: []string{"corp.example"}, Options: []string{"ndots:2"}}
	check(t, "dns_config (swarm)", dnsConfigFrom(dns, nil).toSwarm(), dns)
	ld := &swarm.Driver{Name: "local", Options: map[string]string{"max-file": "3"}}
	check(t, "log_driver (swarm)", logDriverFrom(ld, nil).toSwarm(), ld)
	uc := &swarm.UpdateConfig{Parallelism: 3, Delay: time.Second, FailureAction: "continue", Monitor: 2 * time.Second, MaxFailureRatio: 0.5, Order: "stop-first"}
	check(t, "update config (swarm)", updateConfigFrom(uc).toSwarm(), uc)
	ul := []*container.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}, {Name: "nproc", Soft: 10, Hard: 20}}
	check(t, "ulimits (swarm)", ulimitsToSwarm(ulimitsFrom(ul, nil)), ul)
	check(t, "stop_grace_period (swarm)", durationPointer(durationFromPointer(&grace)), &grace)
}

func fullServiceModel() serviceModel {
	return serviceModel{
		ID: types.StringValue("svc1"), Name: types.StringValue("web"),
		Mode: types.StringValue("replicated"), Replicas: intValue(3),
		Ports: []portModel{portFixture}, EndpointMode: types.StringValue("dnsrr"),
		taskModel: taskModel{Image: imageValue("app:v1"),
			Command: []string{"/app"}, Args: []string{"serve"}, Env: map[string]string{"A": "1"},
			Labels: map[string]string{"team": "web"}, ContainerLabels: map[string]string{"role": "api"},
			Healthcheck: healthcheckFixture, Resources: resourcesFixture, RestartPolicy: restartPolicyFixture,
			Placement: placementFixture, Mounts: mountFixtures,
			Hostname: types.StringValue("web-{{.Task.Slot}}"), User: types.StringValue("65534:65534"), Groups: []string{"65533"},
			Workdir: types.StringValue("/srv"), ReadOnly: types.BoolValue(true), Init: types.BoolValue(true),
			StopSignal: types.StringValue("SIGINT"), StopGracePeriod: durationValue("7s"),
			CapAdd: []string{"CAP_NET_ADMIN"}, CapDrop: []string{"CAP_MKNOD"}, Sysctls: map[string]string{"net.core.somaxconn": "1024"},
			Ulimits: ulimitsFixture, ExtraHosts: map[string]string{"db.internal": "10.1.2.3"},
			Networks: []networkModel{networkFixture}, Secrets: []fileRefModel{fileRefFixture}, Configs: []fileRefModel{fileRefFixture}, PidsLimit: intValue(200),
			DNSConfig: dnsConfigFixture, LogDriver: logDriverFixture},
		RollingUpdate: updateFixture,
		Rollback: &updateConfigModel{Parallelism: intValue(3), Delay: durationValue("1s"), FailureAction: types.StringValue("continue"),
			Monitor: durationValue("2s"), MaxFailureRatio: types.Float64Value(0.5), Order: types.StringValue("stop-first")},
		Wait:        &waitModel{Converge: types.BoolValue(false), ProgressDeadline: durationValue("2m")},
		ForceUpdate: intValue(2), UpdateState: types.StringValue("completed"),
		Version: intValue(42), RunningReplicas: intValue(3),
		Timeouts: timeouts.Value{Object: types.ObjectValueMust(map[string]attr.Type{"create": types.StringType},
			map[string]attr.Value{"create": types.StringValue("3m")})},
	}
}

// The whole service: model -> spec -> model keeps every attribute.
func TestServiceModelRoundTrip(t *testing.T) {
	m := fullServiceModel()
	svc := swarm.Service{ID: "svc1", Meta: swarm.Meta{Version: swarm.Version{Index: 42}}, Spec: m.toSpec(),
		UpdateStatus: &swarm.UpdateStatus{State: swarm.UpdateStateCompleted}}
	got := serviceFrom(&orchestrator.ServiceState{Service: svc, RunningReplicas: 3}, m)
	if diff := cmp.Diff(m, got, attrEqual, cmp.AllowUnexported(kindValue{}, serviceModel{})); diff != "" {
		t.Errorf("model -> spec -> model (-want +got):\n%s", diff)
	}
}

// A service made by `docker service create` with many flags (testdata/cli-service.json, as
// `docker service inspect` printed it): spec -> model -> spec gives the same spec, less what
// the model does not cover and the engine keeps (runtime, isolation).
func TestCLIServiceRoundTrip(t *testing.T) {
	b, err := os.ReadFile("testdata/cli-service.json")
	if err != nil {
		t.Fatal(err)
	}
	var svc swarm.Service
	if err := json.Unmarshal(b, &svc); err != nil {
		t.Fatal(err)
	}
	m := serviceFrom(&orchestrator.ServiceState{Service: svc}, serviceModel{})
	want, got := orchestrator.NormaliseSpec(svc.Spec), orchestrator.NormaliseSpec(m.toSpec())
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spec -> model -> spec (-docker service create +provider):\n%s", diff)
	}
	// And what a user would write for it plans nothing after import.
	if k := orchestrator.Classify(svc.Spec, m.toSpec()); k != orchestrator.ChangeNone {
		t.Errorf("Classify(cli spec, model spec) = %s, want none", k)
	}
}

// A service made by `docker service create` with few flags (the CLI fills in restart, update
// and rollback settings, init = false, a bind mount's default propagation) reads into a model
// that writes back the same owned fields, and into a state whose attributes the matching
// configuration plans no change for.
func TestCLIServiceAdoptRoundTrip(t *testing.T) {
	b, err := os.ReadFile("testdata/cli-service-adopt.json")
	if err != nil {
		t.Fatal(err)
	}
	var svc swarm.Service
	if err := json.Unmarshal(b, &svc); err != nil {
		t.Fatal(err)
	}
	m := serviceFrom(&orchestrator.ServiceState{Service: svc}, serviceModel{})
	if changed := orchestrator.OwnedChanges(m.toSpec(), svc.Spec); len(changed) > 0 {
		t.Errorf("spec -> model -> spec changes %v", changed)
	}
	if !m.Init.IsNull() {
		t.Errorf("init = false read as %v; want null (false is the default)", m.Init)
	}
	if p := m.Mounts[1].Propagation; !p.IsNull() {
		t.Errorf("the default bind propagation read as %v; want null", p)
	}
}

func TestCPUsNumberIsExact(t *testing.T) {
	for _, s := range []string{"0.1", "0.25", "1", "1.5", "0.001", "12.345"} {
		n := nanoCPUs(number(s))
		if got := cpusNumber(n); got.Cmp(orchestrator.Decimal(s).BigFloat()) != 0 {
			t.Errorf("%s CPUs -> %d nano -> %s", s, n, got.Text('g', -1))
		}
	}
	if nanoCPUs(types.NumberValue(big.NewFloat(0.5))) != 5e8 {
		t.Error("0.5 CPUs is 5e8 nano-CPUs")
	}
}

// Empty blocks and lists that the configuration writes, and Swarm does not keep, read back
// empty (not null), so that they plan no change and the service is not replaced.
func TestEmptyBlocksRoundTrip(t *testing.T) {
	m := fullServiceModel()
	m.Resources = &resourcesModel{Limits: &resourceAmountModel{CPUs: types.NumberNull(), Memory: nullKind(sizeType)}, Reservations: &resourceAmountModel{CPUs: types.NumberNull(), Memory: nullKind(sizeType)}}
	m.Placement = &placementModel{Constraints: []string{}, Preferences: []string{}, MaxReplicasPerNode: intNull()}
	m.DNSConfig = &dnsConfigModel{Nameservers: []string{}, Search: []string{}, Options: []string{}}
	m.Env, m.Mounts, m.Ports = map[string]string{}, []mountModel{}, []portModel{}
	svc := swarm.Service{ID: "svc1", Meta: swarm.Meta{Version: swarm.Version{Index: 42}}, Spec: orchestrator.NormaliseSpec(m.toSpec()),
		UpdateStatus: &swarm.UpdateStatus{State: swarm.UpdateStateCompleted}}
	got := serviceFrom(&orchestrator.ServiceState{Service: svc, RunningReplicas: 3}, m)
	if diff := cmp.Diff(m, got, attrEqual, cmp.AllowUnexported(kindValue{}, wholeValue{}, serviceModel{})); diff != "" {
		t.Errorf("empty blocks (-configured +read back):\n%s", diff)
	}
	m.Resources = &resourcesModel{}
	svc.Spec = orchestrator.NormaliseSpec(m.toSpec())
	if got := serviceFrom(&orchestrator.ServiceState{Service: svc}, m); got.Resources == nil || got.Resources.Limits != nil {
		t.Errorf("resources = {} read back as %+v", got.Resources)
	}
}

// CPUs as written convert to nano-CPUs and read back as the same decimal, for every amount
// Swarm can hold (whole nano-CPUs).
func FuzzCPUsRoundTrip(f *testing.F) {
	for _, n := range []int64{1e6, 5e8, 1e9, 123456789, 1, 9e18} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, nano int64) {
		if nano <= 0 {
			return
		}
		back := nanoCPUs(types.NumberValue(cpusNumber(nano)))
		if back != nano {
			t.Fatalf("%d nano-CPUs spelled %s read back as %d", nano, cpusNumber(nano).Text('g', -1), back)
		}
	})
}

// A read keeps the configured spelling of values that mean the same (after a failed apply and
// on refresh, where Terraform does not), in nested blocks and lists too.
func TestReadKeepsSpellings(t *testing.T) {
	prior := fullServiceModel()
	prior.Healthcheck = &healthcheckModel{Test: []string{"CMD", "/app", "health"}, Interval: durationValue("2000ms"), Timeout: durationValue("1s"),
		Retries: intValue(4), StartPeriod: durationValue("60s")}
	prior.Mounts = []mountModel{{Type: types.StringValue("tmpfs"), Source: types.StringNull(), Target: types.StringValue("/tmp"), ReadOnly: types.BoolValue(false), TmpfsSize: sizeValue("16M")}}
	prior.Resources = &resourcesModel{Limits: &resourceAmountModel{CPUs: number("0.5"), Memory: sizeValue("134217728")}}
	prior.StopGracePeriod = durationValue("0.5m")
	svc := swarm.Service{ID: "svc1", Spec: prior.toSpec()}
	svc.Spec.TaskTemplate.ContainerSpec.Image = "app:v1@sha256:" + strings.Repeat("c", 64)
	got := serviceFrom(&orchestrator.ServiceState{Service: svc}, prior)
	for name, pair := range map[string][2]string{
		"healthcheck.interval":       {got.Healthcheck.Interval.ValueString(), "2000ms"},
		"healthcheck.start_period":   {got.Healthcheck.StartPeriod.ValueString(), "60s"},
		"mounts[0].tmpfs_size":       {got.Mounts[0].TmpfsSize.ValueString(), "16M"},
		"resources.limits.memory":    {got.Resources.Limits.Memory.ValueString(), "134217728"},
		"stop_grace_period":          {got.StopGracePeriod.ValueString(), "0.5m"},
		"rolling_update.monitor":     {got.RollingUpdate.Monitor.ValueString(), "6s"},
		"image (pinned by the read)": {got.Image.ValueString(), "app:v1"},
	} {
		if pair[0] != pair[1] {
			t.Errorf("%s read back as %q, want the configured %q", name, pair[0], pair[1])
		}
	}
	// A different value is read as it is.
	svc.Spec.TaskTemplate.ContainerSpec.Healthcheck.StartPeriod = 90 * time.Second
	if got := serviceFrom(&orchestrator.ServiceState{Service: svc}, prior); got.Healthcheck.StartPeriod.ValueString() != "1m30s" {
		t.Errorf("a changed start_period read back as %q", got.Healthcheck.StartPeriod.ValueString())
	}
}
