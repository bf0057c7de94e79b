package provider

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

var (
	_ resource.Resource                   = &stackResource{}
	_ resource.ResourceWithConfigure      = &stackResource{}
	_ resource.ResourceWithImportState    = &stackResource{}
	_ resource.ResourceWithIdentity       = &stackResource{}
	_ resource.ResourceWithValidateConfig = &stackResource{}
	_ resource.ResourceWithModifyPlan     = &stackResource{}
)

// NewStackResource is the swarm_stack resource.
func NewStackResource() resource.Resource { return &stackResource{} }

type stackResource struct {
	resourceBase
}

const (
	stackSchemaVersion       = 0
	defaultStackApplyTimeout = 20 * time.Minute
)

func (r *stackResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_stack"
}

// IdentitySchema: a stack is its name (the com.docker.stack.namespace label); it has no swarm
// ID, and its id attribute repeats the name.
func (r *stackResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityschema.Schema{
		Attributes: map[string]identityschema.Attribute{
			"name": identityschema.StringAttribute{RequiredForImport: true, Description: "The stack's name, as `docker stack ls` lists it."},
		},
	}
}

func (r *stackResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Version: stackSchemaVersion,
		MarkdownDescription: "A stack of services deployed from compose files, as `docker stack deploy` deploys them: the same names, `com.docker.stack.*` labels and specs, so that `docker stack ls|ps|services|rm` work on it. " +
			"Every service is written, pinned and watched the way `swarm_service` does it: an apply waits for each changed service to converge and fails with the failing tasks' exit codes and log tails.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed: true, MarkdownDescription: "The stack's name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required: true, MarkdownDescription: "The stack's namespace: its objects are named `<name>_<key>` and labelled `com.docker.stack.namespace=<name>`. Changing it replaces the stack.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{check{summary: "Invalid Stack Name", text: orchestrator.CheckName}},
			},
			"compose_files": schema.ListAttribute{
				ElementType: types.StringType, Required: true,
				MarkdownDescription: "Compose files, merged in this order as `docker stack deploy -c a.yml -c b.yml` merges them. A relative path starts from Terraform's working directory; relative paths inside the files (`env_file`, the `file` of a secret or config, a bind mount's source) start from the first file's directory, as with the CLI. " +
					"The files, and the files they refer to, are read at plan time; any change to their content plans an update (see `files`).",
				Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))},
			},
			"environment": schema.MapAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Variables the files interpolate (`${VAR}`), and the values of `environment` entries and env-file lines that name a variable without a value. " +
					"These are all the variables the files see: the environment of the process running Terraform is not read, so that a plan is the same on a laptop, in CI and in a Terraform Cloud run (whose environment differs). Pass a variable through on purpose, e.g. `{ TAG = var.tag }`. A `${VAR}` with neither a value here nor a default in the file reads as an empty string, and the plan warns of it.",
			},
			"resolve_image": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString("changed"),
				MarkdownDescription: "When an image tag is pinned to its digest through the registry, as `docker stack deploy --resolve-image` says: `changed` (default: when a service is created or its image changes; a tag that moved later rolls nothing), " +
					"`always` (every plan asks the registry, and a service whose tag now names another digest plans a rolling update onto it), or `never` (the image is written as the files give it; each node resolves the tag itself).",
				Validators: []validator.String{stringvalidator.OneOf("always", "changed", "never")},
			},
			"prune": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Remove the services the files no longer have (default `true`), then the stack's networks, secrets and configs nothing uses any more. With `false` they are left running, and each plan warns of them.",
			},
			"files": schema.MapAttribute{
				ElementType: types.StringType, Computed: true,
				MarkdownDescription: "Every file read for the stack (compose files, env files, secret and config files), by its path relative to the first compose file's directory, to a keyed hash of its content (HMAC-SHA256 with a key kept in the resource's private state: the hash lets no one test guesses of a secret). The content itself is never stored. " +
					"Null after an import until the first apply.",
			},
			"services": schema.MapNestedAttribute{
				Computed: true,
				MarkdownDescription: "The stack's services by their key in the files. A scaling policy targets one with `swarm_stack.app.services[\"api\"].id`. " +
					"In a plan, a service whose spec changes shows its `version` as known after apply; a service the files no longer have leaves the map (it is removed, with `prune`); a new one has its `id` known after apply.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id":       schema.StringAttribute{Computed: true, MarkdownDescription: "Swarm service ID."},
					"name":     schema.StringAttribute{Computed: true, MarkdownDescription: "Service name, `<stack>_<key>`."},
					"image":    schema.StringAttribute{Computed: true, MarkdownDescription: "Image as the files give it (the service runs it pinned to a digest)."},
					"replicas": schema.Int64Attribute{Computed: true, MarkdownDescription: "Replica count (null in global mode). While a `swarm_scaling_policy` owns the service, the count it runs: no deploy changes it."},
					"version":  schema.Int64Attribute{Computed: true, MarkdownDescription: "Swarm's version of the service; known after apply in a plan that writes the service."},
				}},
			},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *stackResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	defer setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan stackModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Create, defaultStackApplyTimeout, &resp.Diagnostics)
	defer cancel()
	name := plan.Name.ValueString()
	r.engine.Invalidate()
	live, err := r.engine.StackServices(ctx, name)
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Create Stack", fmt.Sprintf("Looking for services of stack %q", name), err)
		return
	}
	if len(live) > 0 {
		addStackExistsError(&resp.Diagnostics, name, live)
		return
	}
	key := newHashKey()
	writePrivate(ctx, resp.Private, stackHashKeyKey, hex.EncodeToString(key), &resp.Diagnostics)
	r.deploy(ctx, plan, nil, key, nil, resp.Private, &resp.State, &resp.Diagnostics)
}

func (r *stackResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	defer setReadIdentity(ctx, req.State, &resp.State, resp.Identity, &resp.Diagnostics)
	var state stackModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	name := state.Name.ValueString()
	live, err := r.engine.StackServices(ctx, name)
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Read Stack", fmt.Sprintf("Reading the services of stack %q", name), err)
		return
	}
	if len(live) == 0 {
		tflog.Info(ctx, "stack is gone, removing it from state", map[string]any{"stack": name})
		resp.State.RemoveResource(ctx)
		return
	}
	state.Services = stackServicesFrom(name, live)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *stackResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	defer setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan, state stackModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Update, defaultStackApplyTimeout, &resp.Diagnostics)
	defer cancel()
	key := stackHashKey(ctx, req.Private)
	if key == nil {
		key = newHashKey()
		writePrivate(ctx, resp.Private, stackHashKeyKey, hex.EncodeToString(key), &resp.Diagnostics)
	}
	pending := map[string]unconfirmedWrite{}
	readPrivate(ctx, req.Private, unconfirmedKey, &pending)
	r.deploy(ctx, plan, &state, key, pending, resp.Private, &resp.State, &resp.Diagnostics)
}

// deploy loads the stack, plans it against the swarm as it is now and deploys it, then records
// what runs: the new files only when every service converged, so that after a failure the next
// plan shows the change again. pending are the writes an earlier apply stopped waiting for (in
// private state under unconfirmedKey, by service key): waited for again, and kept there until
// a wait sees them converge.
func (r *stackResource) deploy(ctx context.Context, plan stackModel, prior *stackModel, key []byte, pending map[string]unconfirmedWrite, private privateSetter, st *tfsdk.State, diags *diag.Diagnostics) {
	name := plan.Name.ValueString()
	src, ok := plan.composeSource(ctx, key, diags)
	if !ok {
		return
	}
	c, stack := loadStack(ctx, name, src, diags)
	if c == nil {
		return
	}
	priorFiles := types.MapNull(types.StringType)
	if prior != nil {
		priorFiles = prior.Files
	}
	sp, err := r.engine.PlanStack(ctx, stack, plan.planOptions(c, priorFiles))
	if err != nil {
		addEngineError(diags, "Cannot Deploy Stack", fmt.Sprintf("Reading what stack %q runs now", name), err)
		return
	}
	addWarnings(diags, sp.Warnings)
	opts := orchestrator.StackDeployOptions{Apply: orchestrator.ApplyOptions{Converge: true}, Prune: plan.Prune.ValueBool(), Confirm: map[string]orchestrator.WriteResult{}}
	opts.Apply.Write.KeepTag = plan.ResolveImage.ValueString() == "never"
	for k, w := range pending {
		if w.Format == 1 {
			opts.Confirm[k] = w.result("")
		}
	}
	done, err := r.engine.DeployStack(ctx, stack, sp, opts)
	writePrivate(ctx, private, unconfirmedKey, stillUnconfirmed(pending, done), diags)
	for _, key := range sortedKeys(done.Services) {
		addWarnings(diags, done.Services[key].Write.Warnings)
		addWarnings(diags, done.Services[key].Verdict.Warnings)
	}
	tflog.Info(ctx, "stack deployed", map[string]any{"stack": name, "written": len(done.Services), "pruned": done.Pruned, "failed": sortedKeys(done.Failed)})

	// Record what runs, whatever happened.
	r.engine.Invalidate()
	live, readErr := r.engine.StackServices(context.WithoutCancel(ctx), name)
	if readErr != nil {
		addEngineError(diags, "Cannot Read Stack", fmt.Sprintf("Reading the services of stack %q after deploying it", name), readErr)
		return
	}
	plan.ID = types.StringValue(name)
	plan.Services = stackServicesAfter(name, live, plan.Services)
	plan.Files = filesValue(c)
	if err != nil {
		plan.Files = priorFiles
	}
	if err == nil || len(live) > 0 || prior != nil {
		diags.Append(st.Set(ctx, plan)...)
	}
	if err != nil {
		addStackError(diags, name, done, err)
	}
}

// stillUnconfirmed are the writes whose convergence no apply has seen after a deploy: those
// whose wait it cut short (timed out or interrupted), and those pending before that it did not
// wait for (a failed wait leaves them pending too); nil for none.
func stillUnconfirmed(pending map[string]unconfirmedWrite, done orchestrator.StackDeployed) map[string]unconfirmedWrite {
	out := map[string]unconfirmedWrite{}
	for k, w := range pending {
		if a, waited := done.Services[k]; !waited || !a.Waited {
			out[k] = w
		}
	}
	for k, err := range done.Failed {
		var cut *orchestrator.TimeoutError
		if errors.As(err, &cut) && done.Services[k].Wrote {
			out[k] = unconfirmed(done.Services[k].Awaited)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// addStackExistsError refuses to create a stack whose name runs services already: take it
// into state with an import instead, which writes nothing before the plan shows it.
func addStackExistsError(diags *diag.Diagnostics, name string, live map[string]swarm.Service) {
	names := sortedKeys(live)
	diags.AddAttributeError(path.Root("name"), "Stack Already Exists", fmt.Sprintf("Creating stack %q: the swarm runs services of that stack already (%s), deployed with docker stack deploy or by another configuration. "+
		"To manage it with this configuration, import it first:\n\n  import {\n    to = swarm_stack.<name>\n    id = %q\n  }\n\nor `terraform import swarm_stack.<name> %s`; the plan then shows what the files change. Otherwise choose another name.",
		name, strings.Join(names, ", "), name, name))
}

// stackServicesAfter is the services map after a deploy: each service as it runs, except those
// the plan left as state had them (not written: their version known in the plan), which stay as
// planned until the next refresh.
func stackServicesAfter(stack string, live map[string]swarm.Service, planned types.Map) types.Map {
	elems := stackServicesFrom(stack, live).Elements()
	for key, v := range planned.Elements() {
		o, ok := v.(types.Object)
		if _, running := elems[key]; !ok || !running || !known(o) {
			continue
		}
		if version, ok := o.Attributes()["version"].(types.Int64); ok && known(version) {
			elems[key] = o
		}
	}
	return types.MapValueMust(stackServiceType, elems)
}

// addStackError reports a deploy that failed: for each service that failed, how its rollout
// ended and the engine's error with the tasks' exit codes and log tails.
func addStackError(diags *diag.Diagnostics, stack string, done orchestrator.StackDeployed, err error) {
	if len(done.Failed) == 0 {
		addEngineError(diags, "Cannot Deploy Stack", fmt.Sprintf("Deploying stack %q, before any service was written (or removing what the files no longer have)", stack), err)
		return
	}
	for _, key := range sortedKeys(done.Failed) {
		se := &orchestrator.StackServiceError{}
		if !errors.As(done.Failed[key], &se) {
			continue
		}
		doing := fmt.Sprintf("Deploying stack %q: service %s (services.%s)", stack, se.Name, se.Key)
		if !done.Services[key].Wrote {
			addEngineError(diags, "Cannot Deploy Stack Service", doing+" could not be written. The other services were deployed as planned, and nothing was pruned", se.Err)
			continue
		}
		var cut *orchestrator.TimeoutError
		if errors.As(se.Err, &cut) {
			addEngineError(diags, "Stack Service Did Not Converge", doing+" was written, but the apply stopped waiting for it before it converged. Swarm goes on with its rollout (`docker stack ps "+stack+"` shows where it stands); "+
				"the next plan shows a change of it only where it differs from the files, and nothing was pruned.", se.Err)
			continue
		}
		addEngineError(diags, "Stack Service Did Not Converge", doing+" did not converge (below: how its rollout ended, and why its tasks failed). "+
			"The other services were deployed as planned, and nothing was pruned. State records what runs, so the next plan shows the change again; a paused rollout is resumed by the next apply.", se.Err)
	}
}

func (r *stackResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state stackModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, state.Timeouts.Delete, defaultDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	if err := r.engine.RemoveStack(ctx, state.Name.ValueString()); err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Delete Stack", fmt.Sprintf("Removing stack %q", state.Name.ValueString()), err)
	}
}

// ImportState takes a stack's name, e.g. one `docker stack deploy` made, or the name with the
// files it was deployed from (see parseStackImportID). Read fills in its services. With the
// files, the import records them as an apply would (compose_files, environment and the files'
// keyed hashes), so the first plan with the same configuration is empty; with the name alone,
// compose_files and environment come from the configuration, and the first apply records them
// (it writes nothing to a service whose spec the files do not change).
func (r *stackResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id, err := parseStackImportID(importKey(ctx, req, "name", &resp.Diagnostics))
	if err != nil {
		resp.Diagnostics.AddError("Invalid Import ID", err.Error())
		return
	}
	key := newHashKey()
	values := stackImported(id.Name)
	if len(id.ComposeFiles) > 0 {
		m := stackModel{Environment: types.MapNull(types.StringType)}
		m.ComposeFiles, _ = types.ListValueFrom(ctx, types.StringType, id.ComposeFiles)
		if id.Environment != nil {
			m.Environment, _ = types.MapValueFrom(ctx, types.StringType, id.Environment)
		}
		src, ok := m.composeSource(ctx, key, &resp.Diagnostics)
		if !ok {
			return
		}
		c, err := orchestrator.LoadCompose(ctx, src)
		if err != nil {
			resp.Diagnostics.AddError("Cannot Import Stack", fmt.Sprintf("Reading the compose files named in the import ID of stack %q, to record them as an apply would: %v", id.Name, err))
			return
		}
		values["compose_files"], values["environment"], values["files"] = m.ComposeFiles, m.Environment, filesValue(c)
	}
	for attr, v := range values {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attr), v)...)
	}
	setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	writePrivate(ctx, resp.Private, stackHashKeyKey, hex.EncodeToString(key), &resp.Diagnostics)
}

// stackImportID is what an import ID of swarm_stack names.
type stackImportID struct {
	Name         string            `json:"name"`
	ComposeFiles []string          `json:"compose_files"`
	Environment  map[string]string `json:"environment"`
}

// parseStackImportID reads the three forms of a stack's import ID: its name (`app`); the name
// and its compose files, in order, after a colon (`app:docker-compose.yml,prod.yml`); or a JSON
// object with name, compose_files and environment, for files that interpolate variables (in an
// import block: id = jsonencode({ name = "app", compose_files = [...], environment = {...} })).
func parseStackImportID(raw string) (stackImportID, error) {
	const forms = "Importing a stack takes its name (the com.docker.stack.namespace label, as `docker stack ls` lists it), optionally with its compose files (`app:docker-compose.yml,prod.yml`), " +
		"or a JSON object with name, compose_files and environment (`jsonencode({ name = \"app\", compose_files = [\"docker-compose.yml\"], environment = { TAG = \"v1\" } })`)"
	var id stackImportID
	if strings.HasPrefix(strings.TrimSpace(raw), "{") {
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&id); err != nil {
			return id, fmt.Errorf("%s: the JSON form does not parse: %v", forms, err)
		}
	} else {
		name, files, found := strings.Cut(raw, ":")
		id.Name = name
		if found {
			id.ComposeFiles = strings.Split(files, ",")
		}
	}
	if err := orchestrator.CheckName(id.Name); err != nil {
		return id, fmt.Errorf("%s: %v", forms, err)
	}
	for _, f := range id.ComposeFiles {
		if strings.TrimSpace(f) == "" {
			return id, fmt.Errorf("%s: a compose file name is empty", forms)
		}
	}
	if id.Environment != nil && len(id.ComposeFiles) == 0 {
		return id, fmt.Errorf("%s: environment is given without compose_files", forms)
	}
	return id, nil
}

// ValidateConfig loads and converts the compose files when their names and variables are
// known, and reports every problem at compose_files with its compose path.
func (r *stackResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m stackModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || !known(m.Name) {
		return
	}
	if err := orchestrator.CheckName(m.Name.ValueString()); err != nil {
		return // reported by the attribute's validator
	}
	src, ok := m.composeSource(ctx, nil, &resp.Diagnostics)
	if !ok {
		return
	}
	loadStack(ctx, m.Name.ValueString(), src, &resp.Diagnostics)
}

// ModifyPlan reads the files and the swarm and shows, service by service, what the apply does:
// a changed service's version known after apply (with the rolling update it makes), a new
// service's id known after apply, a service the files no longer have leaving the map.
func (r *stackResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, state stackModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	creating := req.State.Raw.IsNull()
	if !creating {
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	name := plan.Name.ValueString()
	key := stackHashKey(ctx, req.Private)
	afterApply := func() {
		plan.Files, plan.Services = types.MapUnknown(types.StringType), types.MapUnknown(stackServiceType)
		resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
	}
	src, ok := plan.composeSource(ctx, key, &resp.Diagnostics)
	if !ok || !known(plan.Name) {
		afterApply()
		return
	}
	if key == nil {
		src.HashKey = newHashKey() // the apply makes the key: the hashes are known after it
	}
	c, stack := loadStack(ctx, name, src, &resp.Diagnostics)
	if c == nil {
		return
	}
	addComposeProblems(&resp.Diagnostics, stack.Warnings, false)
	if r.engine == nil {
		afterApply()
		return
	}
	priorFiles := types.MapNull(types.StringType)
	if !creating {
		priorFiles = state.Files
	}
	sp, err := r.engine.PlanStack(ctx, stack, plan.planOptions(c, priorFiles))
	if err != nil {
		tflog.Warn(ctx, "the stack could not be compared with the swarm at plan time", map[string]any{"error": err.Error()})
		afterApply()
		return
	}
	addWarnings(&resp.Diagnostics, sp.Warnings)
	if creating {
		if live, err := r.engine.StackServices(ctx, name); err == nil && len(live) > 0 {
			addStackExistsError(&resp.Diagnostics, name, live)
			return
		}
	}
	pending := map[string]unconfirmedWrite{}
	readPrivate(ctx, req.Private, unconfirmedKey, &pending)
	services, changed := map[string]attr.Value{}, false
	var rolling, unconfirmedNames []string
	for i, s := range stack.Services {
		p := sp.Services[i]
		m := stackServiceModel{ID: types.StringUnknown(), Name: types.StringValue(s.Spec.Name), Image: types.StringValue(s.Spec.Labels[orchestrator.StackImageLabel]),
			Replicas: stackReplicas(s.Spec), Version: types.Int64Unknown()}
		if p.Live != nil {
			m.ID = types.StringValue(p.Live.ID)
			if orchestrator.ReplicasOwnedElsewhere(p.Live.Spec) && m.Replicas.IsNull() == stackReplicas(p.Live.Spec).IsNull() {
				m.Replicas = stackReplicas(p.Live.Spec)
			}
			if _, ok := pending[s.Key]; ok && p.Change == orchestrator.ChangeNone {
				// Waited for again by the apply: what it reads back is known after it.
				unconfirmedNames = append(unconfirmedNames, fmt.Sprintf("services.%s (%s)", s.Key, s.Spec.Name))
				changed = true
			} else if p.Change == orchestrator.ChangeNone {
				m.Version = types.Int64Value(int64(p.Live.Version.Index))
				if prior, ok := state.Services.Elements()[s.Key]; ok && !creating {
					// Not written: as state has it (a plan without refresh stays empty when
					// a scaling policy resized the service since).
					services[s.Key] = prior
					continue
				}
			}
			if p.Change == orchestrator.ChangeTaskTemplate {
				rolling = append(rolling, rolloutPreview(s.Key, s.Spec, *p.Live))
			}
		}
		changed = changed || p.Change != orchestrator.ChangeNone
		services[s.Key] = m.value()
	}
	if len(unconfirmedNames) > 0 {
		resp.Diagnostics.AddWarning("Convergence Not Confirmed", fmt.Sprintf("The last apply of stack %q wrote these services but stopped waiting for them (it was interrupted, or ran out of time) before they converged, and no apply has seen them converge since:\n  %s\n"+
			"This apply waits for them as that one would have, writing nothing to them that this plan does not show, and fails with their tasks' errors if they fail.", name, strings.Join(unconfirmedNames, "\n  ")))
	}
	if len(rolling) > 0 {
		resp.Diagnostics.AddWarning("Rolling Update Planned", fmt.Sprintf("This change to stack %q restarts the tasks of %d service(s):\n  %s", name, len(rolling), strings.Join(rolling, "\n  ")))
	}
	if len(sp.Prune) > 0 {
		var names []string
		for _, svc := range sp.Prune {
			names = append(names, svc.Spec.Name)
			if !plan.Prune.ValueBool() {
				services[strings.TrimPrefix(svc.Spec.Name, name+"_")] = stackServiceFrom(svc).value()
			}
		}
		sort.Strings(names)
		if plan.Prune.ValueBool() {
			changed = true
			resp.Diagnostics.AddWarning("Services Removed", fmt.Sprintf("The files of stack %q no longer have these services, and prune is true: the apply removes them, with their tasks: %s.", name, strings.Join(names, ", ")))
		} else {
			resp.Diagnostics.AddWarning("Services Not in the Files", fmt.Sprintf("Stack %q runs services its files no longer have: %s. prune is false, so they keep running.", name, strings.Join(names, ", ")))
		}
	}
	plan.Services = types.MapValueMust(stackServiceType, services)
	switch {
	case key == nil:
		plan.Files = types.MapUnknown(types.StringType)
	case !creating && state.Files.IsNull() && !changed && plan.ComposeFiles.Equal(state.ComposeFiles) && plan.Environment.Equal(state.Environment):
		// State without files and nothing to write: nothing to record either.
		plan.Files = state.Files
	default:
		plan.Files = filesValue(c)
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
}
