package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/network"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

var (
	_ resource.Resource                   = &networkResource{}
	_ resource.ResourceWithConfigure      = &networkResource{}
	_ resource.ResourceWithImportState    = &networkResource{}
	_ resource.ResourceWithIdentity       = &networkResource{}
	_ resource.ResourceWithValidateConfig = &networkResource{}
	_ resource.ResourceWithModifyPlan     = &networkResource{}
)

// NewNetworkResource is the swarm_network resource.
func NewNetworkResource() resource.Resource { return &networkResource{} }

type networkResource struct {
	resourceBase
}

// The default timeouts of a network. A create is one call and the allocator's answer, which
// the engine bounds itself; the rest of its time is for riding out a manager restart. A delete
// waits for the tasks of services removed in the same apply to leave the network.
const (
	networkCreateTimeout = 2 * time.Minute
	networkDeleteTimeout = 2 * time.Minute
)

type networkResourceModel struct {
	ID            types.String      `tfsdk:"id"`
	Name          types.String      `tfsdk:"name"`
	Driver        types.String      `tfsdk:"driver"`
	Attachable    types.Bool        `tfsdk:"attachable"`
	Internal      types.Bool        `tfsdk:"internal"`
	Encrypted     types.Bool        `tfsdk:"encrypted"`
	Labels        map[string]string `tfsdk:"labels"`
	DriverOptions map[string]string `tfsdk:"driver_options"`
	// IPAM is a list (not a slice) because it may be unknown until Swarm picks a subnet.
	IPAM     types.List     `tfsdk:"ipam"`
	Timeouts timeouts.Value `tfsdk:"timeouts"`
}

type ipamModel struct {
	Subnet  types.String `tfsdk:"subnet"`
	Gateway types.String `tfsdk:"gateway"`
	IPRange types.String `tfsdk:"ip_range"`
}

var ipamAttrTypes = map[string]attr.Type{"subnet": types.StringType, "gateway": types.StringType, "ip_range": types.StringType}

func (r *networkResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_network"
}

// IdentitySchema: a network is known by its ID and by its name, which is unique in the swarm
// and cannot change (a new name replaces the network).
func (r *networkResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityByIDAndName("The network's ID. An import block may give the network's name here instead.", "The network's name, unique in the swarm.")
}

func (r *networkResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.Bool{boolplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A swarm-scoped network (overlay by default) that services attach to. Docker cannot change a network once it exists, so every change replaces it; services that use it are updated to the new network in the same apply.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "Network ID.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Required: true, MarkdownDescription: "Network name, unique in the swarm. Changing it replaces the network.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{check{summary: "Invalid Network Name", text: orchestrator.CheckName}}},
			"driver": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("overlay"),
				MarkdownDescription: "Network driver. Default `overlay`, the driver that spans the swarm's nodes. `bridge`, `macvlan` and `ipvlan` make a network each node sets up for itself when a task arrives; " +
					"Swarm keeps no address pools or driver options for those, so they take neither `ipam` nor `driver_options`. `host` and `null` are refused: Swarm cannot attach a task to a network of its own with them " +
					"(a service joins the nodes' own network stack by attaching to the network named `host`).",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}, Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
			"attachable": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false), PlanModifiers: replace,
				MarkdownDescription: "Let standalone containers (`docker run --network`) attach too, as well as services."},
			"internal": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false), PlanModifiers: replace,
				MarkdownDescription: "No route out of the network: its tasks reach each other, nothing else."},
			"encrypted": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false), PlanModifiers: replace,
				MarkdownDescription: "Encrypt traffic between nodes (IPsec; overlay only)."},
			"labels": schema.MapAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: "Labels of the network. Changing them replaces the network. Keys starting with `swarmform.` are reserved.",
				PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplace()}, Validators: []validator.Map{userLabelKeys}},
			"driver_options": schema.MapAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Options of the driver, e.g. `{ \"com.docker.network.driver.mtu\" = \"1400\" }`. Changing them replaces the network.",
				PlanModifiers:       []planmodifier.Map{mapplanmodifier.RequiresReplace()}},
			"ipam": schema.ListNestedAttribute{
				Optional: true, Computed: true,
				MarkdownDescription: "Address pools. Left out, Swarm picks a subnet, which then shows here. Changing them replaces the network. " +
					"Each subnet must be apart from the others and from every other swarm network's (the `ingress` network's included): Swarm accepts a network whose subnet overlaps but never sets it up, so the plan refuses it.",
				PlanModifiers: []planmodifier.List{listplanmodifier.UseStateForUnknown(), listplanmodifier.RequiresReplace()},
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"subnet":   schema.StringAttribute{Required: true, MarkdownDescription: "Subnet in CIDR form, e.g. `10.20.0.0/24`."},
					"gateway":  schema.StringAttribute{Optional: true, Computed: true, MarkdownDescription: "Gateway address; Swarm picks one when left out."},
					"ip_range": schema.StringAttribute{Optional: true, MarkdownDescription: "Part of the subnet tasks get addresses from, in CIDR form."},
				}},
			},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Delete: true,
				CreateDescription: "How long a create may take, e.g. `\"30s\"`. Default `2m`. When Swarm does not set up the network it accepted (it says why only in the manager's log), the create fails after 15 seconds at most and removes the network again.",
				DeleteDescription: "How long a delete may wait for the tasks of services removed in the same apply to leave the network. Default `2m`."}),
		},
	}
}

// ValidateConfig checks the engine's rules for a network on their own (CheckNetwork): driver,
// address pools, settings the driver keeps. Values not known yet are skipped.
func (r *networkResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	addProblems(&resp.Diagnostics, orchestrator.CheckNetwork(configuredNetwork(ctx, req.Config)), true)
}

// replacesKey names the planned private state that carries the ID of the network a
// replacement removes, from Terraform's plan of the replacement to its plan of the create.
const replacesKey = "replaces"

// ModifyPlan checks a network about to be made against the swarm as the engine sees it: a
// subnet another swarm network uses is refused here, at its path, rather than left to a
// create that Swarm would never complete. Terraform plans a replacement twice: with the prior
// state, then the create alone without it; the first records which network goes, so that the
// second does not count its subnets as taken.
func (r *networkResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if r.engine == nil || req.Plan.Raw.IsNull() {
		return // no swarm to ask, or a destroy
	}
	if !req.State.Raw.IsNull() {
		var id types.String
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("id"), &id)...)
		writePrivate(ctx, resp.Private, replacesKey, id.ValueString(), &resp.Diagnostics)
		return
	}
	var replacing string
	readPrivate(ctx, req.Private, replacesKey, &replacing)
	problems, err := r.engine.PlanNetwork(ctx, configuredNetwork(ctx, req.Config), replacing)
	if err != nil {
		// The create checks again, against the swarm as it is then, before it writes.
		tflog.Warn(ctx, "the new network could not be checked against the swarm's at plan time", map[string]any{"error": err.Error()})
	}
	addProblems(&resp.Diagnostics, problems, true)
}

// attributeGetter is a configuration or plan, read one attribute at a time.
type attributeGetter interface {
	GetAttribute(context.Context, path.Path, any) diag.Diagnostics
}

// configuredNetwork is the network as far as the configuration says it yet: values not known
// are empty (an unknown driver counts as overlay, which allows everything), so the engine's
// checks skip them.
func configuredNetwork(ctx context.Context, cfg attributeGetter) orchestrator.NetworkSpec {
	var driver types.String
	var encrypted types.Bool
	var options types.Map
	var ipam types.List
	cfg.GetAttribute(ctx, path.Root("driver"), &driver)
	cfg.GetAttribute(ctx, path.Root("encrypted"), &encrypted)
	cfg.GetAttribute(ctx, path.Root("driver_options"), &options)
	cfg.GetAttribute(ctx, path.Root("ipam"), &ipam)
	s := orchestrator.NetworkSpec{Driver: driver.ValueString(), Encrypted: encrypted.ValueBool()}
	if len(options.Elements()) > 0 {
		s.DriverOptions = map[string]string{}
		for k := range options.Elements() {
			s.DriverOptions[k] = ""
		}
	}
	var pools []ipamModel
	if known(ipam) && !ipam.ElementsAs(ctx, &pools, false).HasError() {
		for _, p := range pools {
			s.IPAM = append(s.IPAM, orchestrator.IPAMConfig{Subnet: p.Subnet.ValueString(), Gateway: p.Gateway.ValueString(), IPRange: p.IPRange.ValueString()})
		}
	}
	return s
}

func (m networkResourceModel) spec() orchestrator.NetworkSpec {
	s := orchestrator.NetworkSpec{Name: m.Name.ValueString(), Driver: m.Driver.ValueString(), Attachable: m.Attachable.ValueBool(),
		Internal: m.Internal.ValueBool(), Encrypted: m.Encrypted.ValueBool(), Labels: m.Labels, DriverOptions: m.DriverOptions}
	var pools []ipamModel
	if known(m.IPAM) {
		_ = m.IPAM.ElementsAs(context.Background(), &pools, false)
	}
	for _, p := range pools {
		s.IPAM = append(s.IPAM, orchestrator.IPAMConfig{Subnet: p.Subnet.ValueString(), Gateway: p.Gateway.ValueString(), IPRange: p.IPRange.ValueString()})
	}
	return s
}

// networkFrom is the one function that turns a network read from Swarm into the model; prior
// decides between null and empty maps.
func networkFrom(n network.Summary, prior networkResourceModel) networkResourceModel {
	s := orchestrator.NetworkSpecOf(n)
	m := networkResourceModel{
		ID: types.StringValue(n.ID), Name: types.StringValue(s.Name), Driver: types.StringValue(s.Driver),
		Attachable: types.BoolValue(s.Attachable), Internal: types.BoolValue(s.Internal), Encrypted: types.BoolValue(s.Encrypted),
		Labels: keepEmptyMap(prior.Labels, s.Labels), DriverOptions: keepEmptyMap(prior.DriverOptions, s.DriverOptions),
		Timeouts: prior.Timeouts,
	}
	pools := []attr.Value{}
	for _, p := range s.IPAM {
		pools = append(pools, types.ObjectValueMust(ipamAttrTypes, map[string]attr.Value{
			"subnet": types.StringValue(p.Subnet), "gateway": stringOrNull(p.Gateway), "ip_range": stringOrNull(p.IPRange)}))
	}
	m.IPAM = types.ListValueMust(types.ObjectType{AttrTypes: ipamAttrTypes}, pools)
	return m
}

func (r *networkResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	defer setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan networkResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Create, networkCreateTimeout, &resp.Diagnostics)
	defer cancel()
	writePrivate(ctx, resp.Private, replacesKey, nil, &resp.Diagnostics) // spent by the plan
	id, err := r.engine.CreateNetwork(ctx, plan.spec())
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Create Network", fmt.Sprintf("Creating network %q", plan.Name.ValueString()), err)
		return
	}
	tflog.Info(ctx, "network created", map[string]any{"network": plan.Name.ValueString(), "id": id})
	r.readInto(ctx, id, plan, &resp.State, &resp.Diagnostics)
}

func (r *networkResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	defer setReadIdentity(ctx, req.State, &resp.State, resp.Identity, &resp.Diagnostics)
	var state networkResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	n, err := r.engine.Network(ctx, state.ID.ValueString())
	if errors.Is(err, orchestrator.ErrNotFound) {
		tflog.Info(ctx, "network is gone, removing it from state", map[string]any{"id": state.ID.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Read Network", "Reading network "+state.ID.ValueString(), err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, networkFrom(n, state))...)
}

// Update has nothing to write: every attribute that can change replaces the network.
func (r *networkResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	defer setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan networkResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
	writePrivate(ctx, resp.Private, replacesKey, nil, &resp.Diagnostics)
}

// Delete removes the network once the tasks of services removed in the same apply have left
// it.
func (r *networkResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state networkResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, state.Timeouts.Delete, networkDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	err := r.engine.DeleteNetwork(ctx, state.ID.ValueString())
	switch {
	case errors.Is(err, orchestrator.ErrInUse):
		resp.Diagnostics.AddError("Network In Use", fmt.Sprintf("Removing network %q: %v. Docker cannot change a network, so replacing one that services use needs the services to move first: "+
			"give the new network another name and set lifecycle { create_before_destroy = true } on it; Terraform then creates it, updates the services to it, and removes the old one.",
			state.Name.ValueString(), err))
	case err != nil:
		addEngineError(&resp.Diagnostics, "Cannot Delete Network", fmt.Sprintf("Removing network %q", state.Name.ValueString()), err)
	}
}

// ImportState takes a network ID or name.
func (r *networkResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !r.connected(&resp.Diagnostics) {
		return
	}
	key := importKey(ctx, req, "id", &resp.Diagnostics)
	n, err := r.engine.Network(ctx, key)
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Import Network", "Looking up network "+key, err)
		return
	}
	if orchestrator.Predefined(n) {
		resp.Diagnostics.AddError("Cannot Import Network", fmt.Sprintf("Network %q is one of the networks every swarm has, which Swarm never removes, so no resource can manage it. "+
			"Services attach to it by name (networks = [{ id = %q }]); data \"swarm_network\" reads it.", n.Name, n.Name))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), n.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), n.Name)...)
	setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
}

func (r *networkResource) readInto(ctx context.Context, id string, prior networkResourceModel, st stateSetter, diags *diag.Diagnostics) {
	n, err := r.engine.Network(ctx, id)
	if err != nil {
		addEngineError(diags, "Cannot Read Network", "Reading network "+id+" after creating it", err)
		return
	}
	diags.Append(st.Set(ctx, networkFrom(n, prior))...)
}
