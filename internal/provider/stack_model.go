package provider

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/docker/docker/api/types/swarm"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

// stackModel is swarm_stack's state.
type stackModel struct {
	ID           types.String   `tfsdk:"id"`
	Name         types.String   `tfsdk:"name"`
	ComposeFiles types.List     `tfsdk:"compose_files"`
	Environment  types.Map      `tfsdk:"environment"`
	ResolveImage types.String   `tfsdk:"resolve_image"`
	Prune        types.Bool     `tfsdk:"prune"`
	Files        types.Map      `tfsdk:"files"`
	Services     types.Map      `tfsdk:"services"`
	Timeouts     timeouts.Value `tfsdk:"timeouts"`
}

// stackServiceAttrTypes are the attributes of each entry of services.
var stackServiceAttrTypes = map[string]attr.Type{
	"id": types.StringType, "name": types.StringType, "image": types.StringType, "replicas": types.Int64Type, "version": types.Int64Type,
}

var stackServiceType = types.ObjectType{AttrTypes: stackServiceAttrTypes}

// stackServiceModel is one entry of services.
type stackServiceModel struct {
	ID       types.String
	Name     types.String
	Image    types.String
	Replicas types.Int64
	Version  types.Int64
}

func (m stackServiceModel) value() types.Object {
	return types.ObjectValueMust(stackServiceAttrTypes, map[string]attr.Value{
		"id": m.ID, "name": m.Name, "image": m.Image, "replicas": m.Replicas, "version": m.Version,
	})
}

// stackServiceFrom is a service of the stack as it runs: the image as the files give it (the
// stack image label, which docker stack deploy sets too), the replica count it runs with.
func stackServiceFrom(svc swarm.Service) stackServiceModel {
	image := svc.Spec.Labels[orchestrator.StackImageLabel]
	if image == "" {
		image = orchestrator.StripDigest(imageOfSpec(svc.Spec))
	}
	return stackServiceModel{
		ID: types.StringValue(svc.ID), Name: types.StringValue(svc.Spec.Name), Image: types.StringValue(image),
		Replicas: stackReplicas(svc.Spec), Version: types.Int64Value(int64(svc.Version.Index)),
	}
}

func imageOfSpec(spec swarm.ServiceSpec) string {
	if cs := spec.TaskTemplate.ContainerSpec; cs != nil {
		return cs.Image
	}
	return ""
}

// stackReplicas is a replicated service's count (Swarm's 1 when the spec gives none); null in
// global mode.
func stackReplicas(spec swarm.ServiceSpec) types.Int64 {
	r := spec.Mode.Replicated
	switch {
	case r == nil:
		return types.Int64Null()
	case r.Replicas == nil:
		return types.Int64Value(1)
	}
	return types.Int64Value(int64(*r.Replicas))
}

// stackServicesFrom is the services map of the stack as it runs: each service labelled as the
// stack's, by its key (its name without the "<stack>_" prefix).
func stackServicesFrom(stack string, live map[string]swarm.Service) types.Map {
	elems := map[string]attr.Value{}
	for name, svc := range live {
		elems[strings.TrimPrefix(name, stack+"_")] = stackServiceFrom(svc).value()
	}
	return types.MapValueMust(stackServiceType, elems)
}

// composeSource is what LoadCompose reads for the configuration: the files and the variables
// the configuration gives (never the process's environment), with the resource's hash key.
func (m stackModel) composeSource(ctx context.Context, key []byte, diags *diag.Diagnostics) (orchestrator.ComposeSource, bool) {
	src := orchestrator.ComposeSource{HashKey: key, Variables: map[string]string{}}
	if !known(m.ComposeFiles) || m.Environment.IsUnknown() {
		return src, false
	}
	values := m.ComposeFiles.Elements()
	for _, v := range m.Environment.Elements() {
		values = append(values, v)
	}
	for _, v := range values {
		if v.IsUnknown() {
			return src, false
		}
	}
	diags.Append(m.ComposeFiles.ElementsAs(ctx, &src.Files, false)...)
	if !m.Environment.IsNull() {
		diags.Append(m.Environment.ElementsAs(ctx, &src.Variables, false)...)
	}
	return src, !diags.HasError()
}

// loadStack loads and converts the configuration's stack and checks every service with the
// engine's service rules: problems are errors at compose_files, with their compose paths.
func loadStack(ctx context.Context, name string, src orchestrator.ComposeSource, diags *diag.Diagnostics) (*orchestrator.Compose, *orchestrator.Stack) {
	c, err := orchestrator.LoadCompose(ctx, src)
	if err == nil {
		var st *orchestrator.Stack
		if st, err = c.Stack(name); err == nil {
			var problems []orchestrator.FieldProblem
			for _, s := range st.Services {
				problems = append(problems, s.ComposeProblems(orchestrator.CheckServiceSpec(s.Spec))...)
			}
			if len(problems) == 0 {
				return c, st
			}
			err = &orchestrator.ComposeError{Problems: problems}
		}
	}
	var ce *orchestrator.ComposeError
	if !errors.As(err, &ce) {
		diags.AddAttributeError(path.Root("compose_files"), "Cannot Load Compose Files", "Loading the stack's compose files: "+err.Error())
		return nil, nil
	}
	addComposeProblems(diags, ce.Problems, true)
	return nil, nil
}

// addComposeProblems reports problems found in the compose files at compose_files, each with
// its compose path (services.api.deploy.resources.limits.memory) in the detail.
func addComposeProblems(diags *diag.Diagnostics, problems []orchestrator.FieldProblem, asErrors bool) {
	for _, p := range problems {
		detail := p.Detail
		if p.Path != "" && !strings.HasPrefix(detail, p.Path) {
			detail = p.Path + ": " + detail
		}
		if asErrors {
			diags.AddAttributeError(path.Root("compose_files"), p.Summary, "In the compose files, "+detail)
		} else {
			diags.AddAttributeWarning(path.Root("compose_files"), p.Summary, "In the compose files, "+detail)
		}
	}
}

// filesValue is the files map: each file read for the stack, by its path relative to the first
// compose file's directory (the same on every machine that has the files), to its keyed hash.
func filesValue(c *orchestrator.Compose) types.Map {
	elems := map[string]attr.Value{}
	for _, f := range c.Files {
		elems[relativeFile(c, f.Path)] = types.StringValue(f.Hash)
	}
	return types.MapValueMust(types.StringType, elems)
}

func relativeFile(c *orchestrator.Compose, p string) string {
	if rel, err := filepath.Rel(c.WorkingDir, p); err == nil {
		return filepath.ToSlash(rel)
	}
	return p
}

// keepAdopted says an adopted secret or config (the CLI's fixed name) may stay while its file
// is unchanged: state records no files yet (the stack was imported and not applied since), or
// the same hash for the file as now.
func keepAdopted(c *orchestrator.Compose, prior types.Map) func(orchestrator.StackObject) bool {
	return func(o orchestrator.StackObject) bool {
		if prior.IsNull() || prior.IsUnknown() {
			return true
		}
		rel := relativeFile(c, o.File)
		for _, f := range c.Files {
			if f.Path == o.File {
				v, ok := prior.Elements()[rel].(types.String)
				return ok && v.ValueString() == f.Hash
			}
		}
		return false
	}
}

// stackHashKeyKey names the private state that holds the stack's hash key: every file hash
// in state is keyed with it, so that state lets no one test guesses of a secret file.
const stackHashKeyKey = "hash_key"

func stackHashKey(ctx context.Context, private privateGetter) []byte {
	var k string
	if readPrivate(ctx, private, stackHashKeyKey, &k) {
		if b, err := hex.DecodeString(k); err == nil && len(b) > 0 {
			return b
		}
	}
	return nil
}

// resolveAlways says the configuration asks for every tag to be resolved on each deploy.
func (m stackModel) planOptions(c *orchestrator.Compose, prior types.Map) orchestrator.StackPlanOptions {
	return orchestrator.StackPlanOptions{KeepAdopted: keepAdopted(c, prior), ResolveAlways: m.ResolveImage.ValueString() == "always"}
}

// rolloutPreview says how a change restarts a service's tasks, from its update settings.
func rolloutPreview(key string, spec swarm.ServiceSpec, live swarm.Service) string {
	u := spec.UpdateConfig
	if u == nil {
		u = orchestrator.DefaultUpdateConfig()
	}
	tasks := "every task"
	if r := live.Spec.Mode.Replicated; r != nil && r.Replicas != nil {
		tasks = fmt.Sprintf("all %d task(s)", *r.Replicas)
	}
	batch := fmt.Sprintf("%d at a time", u.Parallelism)
	if u.Parallelism == 0 {
		batch = "all at once"
	}
	monitor := u.Monitor
	if monitor == 0 {
		monitor = orchestrator.DefaultUpdateConfig().Monitor // Swarm's when the file gives none
	}
	order, action := u.Order, u.FailureAction
	if order == "" {
		order = swarm.UpdateOrderStopFirst
	}
	if action == "" {
		action = swarm.UpdateFailureActionPause
	}
	return fmt.Sprintf("services.%s (%s) restarts %s: %s, %s, each batch monitored for %s; on failure Swarm will %s.", key, live.Spec.Name, tasks, batch, order, monitor, action)
}

// stackImported is what an import of a stack sets before its read: its name, and the
// defaults of the attributes the configuration may leave out.
func stackImported(name string) map[string]attr.Value {
	return map[string]attr.Value{
		"id": types.StringValue(name), "name": types.StringValue(name), "resolve_image": types.StringValue("changed"), "prune": types.BoolValue(true),
	}
}
