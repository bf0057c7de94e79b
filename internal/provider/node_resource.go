package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

var (
	_ resource.Resource                   = &nodeResource{}
	_ resource.ResourceWithConfigure      = &nodeResource{}
	_ resource.ResourceWithImportState    = &nodeResource{}
	_ resource.ResourceWithIdentity       = &nodeResource{}
	_ resource.ResourceWithModifyPlan     = &nodeResource{}
	_ resource.ResourceWithValidateConfig = &nodeResource{}
)

// NewNodeResource is the swarm_node resource: it adopts a node of the swarm and owns some of
// its settings. The engine decides what is safe and keeps what the node had before on the node
// (orchestrator.WriteNode, ReleaseNode, PlanNode); this adapter converts and reports.
func NewNodeResource() resource.Resource { return &nodeResource{} }

type nodeResource struct {
	resourceBase
}

const (
	defaultNodeWriteTimeout  = 10 * time.Minute
	defaultNodeDeleteTimeout = 5 * time.Minute
)

func (r *nodeResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_node"
}

// IdentitySchema: a node is known by its ID alone. Its hostname is the machine's, can change
// under the swarm, and need not be unique.
func (r *nodeResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityByID("The node's swarm ID. An import block may give its hostname here instead.")
}

func (r *nodeResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	nodeKey := func(desc string, validators ...validator.String) schema.StringAttribute {
		const replaces = "Naming another node replaces the resource: the node named before is released."
		return schema.StringAttribute{
			Optional: true, Computed: true, MarkdownDescription: desc,
			Validators: append([]validator.String{stringvalidator.LengthAtLeast(1)}, validators...),
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown(),
				stringplanmodifier.RequiresReplaceIf(replaceIfConfigured, replaces, replaces)},
		}
	}
	owned := func(desc string, values ...string) schema.StringAttribute {
		return schema.StringAttribute{
			Optional: true, Computed: true, MarkdownDescription: desc,
			Validators:    []validator.String{stringvalidator.OneOf(values...)},
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		}
	}
	resp.Schema = schema.Schema{
		Version: nodeSchemaVersion,
		MarkdownDescription: "Manages settings of a node that has joined the swarm: its labels, availability and role. " +
			"The node is adopted, never created or removed, and chosen by exactly one of `node_id` and `hostname`. " +
			"Only the settings the configuration gives are managed; what the node had before is recorded on the node itself (label `swarmform.adopted`), " +
			"and destroying the resource puts it back: labels it added go, labels it changed get their earlier values, and an availability it set becomes `active` again. " +
			"Draining a node moves its tasks to other nodes, and the apply waits until they run there.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The node's swarm ID.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"node_id":  nodeKey("The node's swarm ID (`docker node ls` shows it). Set this or `hostname`; naming another node replaces the resource."),
			"hostname": nodeKey("The node's hostname. Set this or `node_id`. Where two nodes report the hostname (a machine that left and joined again is listed twice), the one that is not down is meant."),
			"labels": schema.MapAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Node labels this resource owns, for placement constraints such as `node.labels.zone==a`. Other labels of the node are left alone. " +
					"A label removed from the map, or the resource destroyed, gets back the value it had before the resource set it (or is removed). Keys starting with `swarmform.` are reserved.",
				Validators: []validator.Map{userLabelKeys, mapvalidator.KeysAre(stringvalidator.LengthAtLeast(1))}},
			"availability": owned("`active`, `pause` (no new tasks) or `drain` (no tasks: Swarm moves the node's replicated tasks to other nodes, and the apply waits until they run there, see `progress_deadline`). "+
				"Left out, it is not managed and shows the node's. Destroying the resource makes an availability it set `active` again.", "active", "pause", "drain"),
			"role": owned("`manager` or `worker`. Left out, it is not managed and shows the node's. A demotion is refused at plan time when it would cut the provider off (the manager it talks to), "+
				"leave the swarm without a manager, or cost the swarm its quorum; a node that is down is not promoted. The apply waits until Raft has carried a change out (a promoted node a reachable manager, a demoted one out of the managers). "+
				"Destroying the resource leaves the role as it is.", "manager", "worker"),
			"progress_deadline": schema.StringAttribute{CustomType: durationType, Optional: true,
				MarkdownDescription: fmt.Sprintf("When draining: fail the apply when none of the node's tasks has started on another node for this long, for example because no other node has room (the error gives Swarm's reason). Default `%s`.", strings.TrimSuffix(orchestrator.DefaultDrainDeadline.String(), "0s"))},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

// replaceIfConfigured is a RequiresReplaceIf condition: the attribute is set in the
// configuration (a value the node reports, such as its hostname when node_id names it, may
// change freely).
func replaceIfConfigured(_ context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
	resp.RequiresReplace = !req.ConfigValue.IsNull()
}

// ValidateConfig wants exactly one of node_id and hostname, and names both either way.
func (r *nodeResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var nodeID, hostname types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("node_id"), &nodeID)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("hostname"), &hostname)...)
	if nodeID.IsUnknown() || hostname.IsUnknown() {
		return
	}
	switch {
	case nodeID.IsNull() && hostname.IsNull():
		resp.Diagnostics.AddError("Node Not Named", "swarm_node adopts a node of the swarm and needs to know which: set node_id (its swarm ID, from `docker node ls`) or hostname, one of the two.")
	case !nodeID.IsNull() && !hostname.IsNull():
		for _, p := range []path.Path{path.Root("node_id"), path.Root("hostname")} {
			addPathError(&resp.Diagnostics, p, "Node Named Twice", "node_id and hostname both name the node; set only one of them (node_id where hostnames may repeat, hostname where nodes are rebuilt with new IDs).")
		}
	}
}

func (r *nodeResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	defer setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan, cfg nodeResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Create, defaultNodeWriteTimeout, &resp.Diagnostics)
	defer cancel()
	key, keyAttr := plan.key()
	st, err := r.engine.Node(ctx, key)
	if err != nil {
		addNodeLookupError(&resp.Diagnostics, keyAttr, key, err)
		return
	}
	r.write(ctx, st.Node.ID, plan, cfg, true, keyAttr, &resp.State, &resp.Diagnostics)
}

func (r *nodeResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	defer setReadIdentity(ctx, req.State, &resp.State, resp.Identity, &resp.Diagnostics)
	var state nodeResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	st, err := r.engine.Node(ctx, state.ID.ValueString())
	if errors.Is(err, orchestrator.ErrNotFound) {
		tflog.Info(ctx, "node is gone from the swarm, removing it from state", map[string]any{"id": state.ID.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Read Node", "Reading node "+state.ID.ValueString(), err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, nodeResourceFrom(st, state))...)
}

func (r *nodeResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	defer setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan, cfg, state nodeResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Update, defaultNodeWriteTimeout, &resp.Diagnostics)
	defer cancel()
	_, keyAttr := cfg.key()
	r.write(ctx, state.ID.ValueString(), plan, cfg, false, keyAttr, &resp.State, &resp.Diagnostics)
}

// write is the node's apply step (the engine's ApplyNode): the planned settings, a drain
// followed until the node's tasks have moved, and the node recorded as it is then. A failed
// drain still records the node (its settings were written).
func (r *nodeResource) write(ctx context.Context, id string, plan, cfg nodeResourceModel, claim bool, keyAttr string, st stateSetter, diags *diag.Diagnostics) {
	a, err := r.engine.ApplyNode(ctx, id, plan.settings(cfg), claim, parseDuration(plan.ProgressDeadline))
	var roleErr *orchestrator.NodeRoleError
	switch {
	case errors.As(err, &roleErr):
		addPathError(diags, path.Root("role"), "Unsafe Role Change", roleErr.Error()+". Nothing was written.")
		return
	case errors.Is(err, orchestrator.ErrNodeAdopted):
		addPathError(diags, path.Root(keyAttr), "Node Already Managed", err.Error()+". A node has at most one swarm_node resource: import it, or remove the other one.")
		return
	case !a.Wrote:
		addEngineError(diags, "Cannot Update Node", "Writing the settings of node "+id, err)
		return
	}
	tflog.Info(ctx, "node written", map[string]any{"node": id, "outcome": string(a.Write.Outcome), "draining": a.Write.Draining})
	if a.Node == nil {
		addEngineError(diags, "Cannot Read Node", "Reading node "+id+" after writing it", a.ReadErr)
		return
	}
	diags.Append(st.Set(ctx, nodeResourceFrom(a.Node, plan))...)
	var roleWait *orchestrator.RoleWaitError
	if errors.As(err, &roleWait) {
		addPathError(diags, path.Root("role"), "Role Change Not Carried Out", fmt.Sprintf("Node %s's role is %s in its spec (state records it so), but Swarm has not made it so: %v. "+
			"Swarm keeps trying: a promoted node joins the managers' Raft group once it is reachable and a quorum of the managers agrees, a demoted one leaves it once the others can spare it. "+
			"`docker node ls` shows its manager status.",
			a.Node.Node.Description.Hostname, a.Node.Node.Spec.Role, roleWait.Err))
		return
	}
	if err != nil {
		addEngineError(diags, "Node Drain Did Not Complete", fmt.Sprintf("Node %s is drained (state records it so), but not all of its tasks run elsewhere yet. "+
			"Swarm keeps trying to place them; `docker service ps` shows where they stand. Make room on other nodes (or relax the services' constraints), then apply again.", a.Node.Node.Description.Hostname), err)
	}
}

// Delete releases the node: labels the resource added go, labels it changed get their
// earlier values back, and an availability it set becomes active again.
func (r *nodeResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state nodeResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, state.Timeouts.Delete, defaultNodeDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	if err := r.engine.ReleaseNode(ctx, state.ID.ValueString()); err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Release Node", "Putting back the settings of node "+state.ID.ValueString(), err)
	}
}

// ImportState takes a node ID or hostname. The labels it takes as owned are those the node's
// adoption record names (a resource forgotten from state), else all of the node's labels: the
// next plan shows any that the configuration does not name as removed.
func (r *nodeResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !r.connected(&resp.Diagnostics) {
		return
	}
	key := importKey(ctx, req, "id", &resp.Diagnostics)
	st, err := r.engine.Node(ctx, key)
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Import Node", "Looking up node "+key, err)
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), st.Node.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("labels"), importedLabels(st))...)
	setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
}

// ModifyPlan finds the node the configuration names, so the plan shows it, and has the engine
// look at the change: a node managed already or an unsafe role change fails the plan at its
// attribute, a drain says which tasks it moves.
func (r *nodeResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.engine == nil {
		return
	}
	var plan, cfg nodeResourceModel
	if req.Plan.Get(ctx, &plan).HasError() || req.Config.Get(ctx, &cfg).HasError() {
		return // values not known yet: looked at during apply
	}
	key, keyAttr := cfg.key()
	if key == "" {
		return
	}
	st, err := r.engine.Node(ctx, key)
	if err != nil {
		addNodeLookupError(&resp.Diagnostics, keyAttr, key, err)
		return
	}
	creating := req.State.Raw.IsNull()
	if creating {
		n := st.Node
		plan.ID, plan.NodeID, plan.Hostname = types.StringValue(n.ID), types.StringValue(n.ID), types.StringValue(n.Description.Hostname)
		if cfg.Availability.IsNull() {
			plan.Availability = types.StringValue(string(n.Spec.Availability))
		}
		if cfg.Role.IsNull() {
			plan.Role = types.StringValue(string(n.Spec.Role))
		}
		resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
	}
	problems, warnings, err := r.engine.PlanNode(ctx, st, plan.settings(cfg), creating)
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Plan Node", "Looking at node "+key, err)
		return
	}
	for i := range problems {
		if problems[i].Path == "" {
			problems[i].Path = keyAttr
		}
	}
	addProblems(&resp.Diagnostics, problems, true)
	addProblems(&resp.Diagnostics, warnings, false)
}

// addNodeLookupError reports a node the configuration names that cannot be found.
func addNodeLookupError(diags *diag.Diagnostics, keyAttr, key string, err error) {
	if errors.Is(err, orchestrator.ErrNotFound) {
		addPathError(diags, path.Root(keyAttr), "Node Not Found", fmt.Sprintf("The swarm has no node %q. `docker node ls` on a manager lists them; swarm_node adopts a node that has joined, it does not create one.", key))
		return
	}
	addEngineError(diags, "Cannot Find Node", "Looking up node "+key, err)
}
