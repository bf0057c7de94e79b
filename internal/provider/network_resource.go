package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/network"
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
	_ resource.Resource                = &networkResource{}
	_ resource.ResourceWithConfigure   = &networkResource{}
	_ resource.ResourceWithImportState = &networkResource{}
)

// NewNetworkResource is the swarm_network resource.
func NewNetworkResource() resource.Resource { return &networkResource{} }

type networkResource struct {
	resourceBase
}

// networkDeleteTimeout bounds how long a delete waits for the tasks of removed services to
// leave the network.
const networkDeleteTimeout = 2 * time.Minute

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
	IPAM types.List `tfsdk:"ipam"`
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

func (r *networkResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
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
				MarkdownDescription: "Network driver. Default `overlay`, the driver that spans the swarm's nodes.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()}, Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
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
				MarkdownDescription: "Address pools. Left out, Swarm picks a subnet, which then shows here. Changing them replaces the network.",
				PlanModifiers:       []planmodifier.List{listplanmodifier.UseStateForUnknown(), listplanmodifier.RequiresReplace()},
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"subnet":   schema.StringAttribute{Required: true, MarkdownDescription: "Subnet in CIDR form, e.g. `10.20.0.0/24`."},
					"gateway":  schema.StringAttribute{Optional: true, Computed: true, MarkdownDescription: "Gateway address; Swarm picks one when left out."},
					"ip_range": schema.StringAttribute{Optional: true, MarkdownDescription: "Part of the subnet tasks get addresses from, in CIDR form."},
				}},
			},
		},
	}
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
	var plan networkResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	id, err := r.engine.CreateNetwork(ctx, plan.spec())
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Create Network", fmt.Sprintf("Creating network %q", plan.Name.ValueString()), err)
		return
	}
	tflog.Info(ctx, "network created", map[string]any{"network": plan.Name.ValueString(), "id": id})
	r.readInto(ctx, id, plan, &resp.State, &resp.Diagnostics)
}

func (r *networkResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
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
	var plan networkResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// Delete removes the network once the tasks of services removed in the same apply have left
// it.
func (r *networkResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state networkResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, networkDeleteTimeout)
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
	n, err := r.engine.Network(ctx, req.ID)
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Import Network", "Looking up network "+req.ID, err)
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), n.ID)...)
}

func (r *networkResource) readInto(ctx context.Context, id string, prior networkResourceModel, st stateSetter, diags *diag.Diagnostics) {
	n, err := r.engine.Network(ctx, id)
	if err != nil {
		addEngineError(diags, "Cannot Read Network", "Reading network "+id+" after creating it", err)
		return
	}
	diags.Append(st.Set(ctx, networkFrom(n, prior))...)
}
