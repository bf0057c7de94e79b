package provider

import (
	"context"

	"github.com/docker/docker/api/types/swarm"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

var (
	_ datasource.DataSource              = &nodesDataSource{}
	_ datasource.DataSourceWithConfigure = &nodesDataSource{}
)

// NewNodesDataSource is the swarm_nodes data source: the swarm's nodes, optionally filtered.
func NewNodesDataSource() datasource.DataSource { return &nodesDataSource{} }

type nodesDataSource struct {
	dataSourceBase
}

type nodesModel struct {
	Role         types.String      `tfsdk:"role"`
	Availability types.String      `tfsdk:"availability"`
	Labels       map[string]string `tfsdk:"labels"`
	Nodes        []nodeModel       `tfsdk:"nodes"`
}

type nodeModel struct {
	ID            types.String         `tfsdk:"id"`
	Hostname      types.String         `tfsdk:"hostname"`
	Role          types.String         `tfsdk:"role"`
	Availability  types.String         `tfsdk:"availability"`
	State         types.String         `tfsdk:"state"`
	Message       types.String         `tfsdk:"message"`
	Address       types.String         `tfsdk:"address"`
	Labels        map[string]string    `tfsdk:"labels"`
	EngineLabels  map[string]string    `tfsdk:"engine_labels"`
	EngineVersion types.String         `tfsdk:"engine_version"`
	Platform      platformModel        `tfsdk:"platform"`
	Resources     *resourceAmountModel `tfsdk:"resources"`
	ManagerStatus *managerStatusModel  `tfsdk:"manager_status"`
}

type platformModel struct {
	OS           types.String `tfsdk:"os"`
	Architecture types.String `tfsdk:"architecture"`
}

type managerStatusModel struct {
	Leader       types.Bool   `tfsdk:"leader"`
	Reachability types.String `tfsdk:"reachability"`
	Address      types.String `tfsdk:"address"`
}

func (d *nodesDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_nodes"
}

func (d *nodesDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	text := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	stringMap := func(desc string) schema.MapAttribute {
		return schema.MapAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The nodes of the swarm, sorted by host name, optionally only those of a role, an availability or with given labels. " +
			"Resources are spelled as in `swarm_service` (`cpus` a number, `memory` a size), so a node's capacity compares with a service's reservations.",
		Attributes: map[string]schema.Attribute{
			"role": schema.StringAttribute{Optional: true, MarkdownDescription: "Only nodes of this role: `manager` or `worker`.",
				Validators: []validator.String{stringvalidator.OneOf(string(swarm.NodeRoleManager), string(swarm.NodeRoleWorker))}},
			"availability": schema.StringAttribute{Optional: true, MarkdownDescription: "Only nodes with this availability: `active`, `pause` or `drain`.",
				Validators: []validator.String{stringvalidator.OneOf(string(swarm.NodeAvailabilityActive), string(swarm.NodeAvailabilityPause), string(swarm.NodeAvailabilityDrain))}},
			"labels": schema.MapAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Only nodes that have all of these node labels (`docker node update --label-add`, which placement constraints read as `node.labels.*`) with these values."},
			"nodes": schema.ListNestedAttribute{
				Computed: true, MarkdownDescription: "The nodes, sorted by host name, then ID.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id":             text("Node ID."),
					"hostname":       text("Host name the node reports."),
					"role":           text("`manager` or `worker`."),
					"availability":   text("`active`, `pause` (no new tasks) or `drain` (no tasks)."),
					"state":          text("`ready`, `down`, `disconnected` or `unknown`, as the managers see it."),
					"message":        text("Why the node is in its state, where Swarm says; null otherwise."),
					"address":        text("IP address the node is reached at."),
					"labels":         stringMap("Node labels (set on the node through the managers)."),
					"engine_labels":  stringMap("Labels of the node's Docker engine (its daemon configuration)."),
					"engine_version": text("Version of the node's Docker engine."),
					"platform": schema.SingleNestedAttribute{Computed: true, MarkdownDescription: "Operating system and architecture.",
						Attributes: map[string]schema.Attribute{
							"os":           text("Operating system, e.g. `linux`."),
							"architecture": text("Architecture, e.g. `x86_64` or `aarch64`."),
						}},
					"resources": schema.SingleNestedAttribute{Computed: true, MarkdownDescription: "What the node offers to tasks; null where it reports nothing.",
						Attributes: map[string]schema.Attribute{
							"cpus":   schema.NumberAttribute{Computed: true, MarkdownDescription: "CPUs, as `swarm_service`'s `resources.*.cpus`."},
							"memory": schema.StringAttribute{CustomType: sizeType, Computed: true, MarkdownDescription: "Memory as a size, as `swarm_service`'s `resources.*.memory` (e.g. `7810MiB`)."},
						}},
					"manager_status": schema.SingleNestedAttribute{Computed: true, MarkdownDescription: "A manager's place in the Raft cluster; null for a worker.",
						Attributes: map[string]schema.Attribute{
							"leader":       schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether it is the Raft leader."},
							"reachability": text("`reachable`, `unreachable` or `unknown`."),
							"address":      text("Address other nodes join the swarm through (`host:port`)."),
						}},
				}},
			},
		},
	}
}

func (d *nodesDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m nodesModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || !d.connected(&resp.Diagnostics) {
		return
	}
	nodes, err := d.engine.ListNodes(ctx, orchestrator.NodeFilter{
		Role: swarm.NodeRole(m.Role.ValueString()), Availability: swarm.NodeAvailability(m.Availability.ValueString()), Labels: m.Labels})
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Read Nodes", "Listing the swarm's nodes", err)
		return
	}
	m.Nodes = []nodeModel{}
	for _, n := range nodes {
		m.Nodes = append(m.Nodes, nodeFrom(n))
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

// nodeFrom turns an observed node into the model.
func nodeFrom(n swarm.Node) nodeModel {
	m := nodeModel{
		ID:            types.StringValue(n.ID),
		Hostname:      types.StringValue(n.Description.Hostname),
		Role:          types.StringValue(string(n.Spec.Role)),
		Availability:  types.StringValue(string(n.Spec.Availability)),
		State:         types.StringValue(string(n.Status.State)),
		Message:       stringOrNull(n.Status.Message),
		Address:       stringOrNull(n.Status.Addr),
		Labels:        orEmpty(n.Spec.Labels),
		EngineLabels:  orEmpty(n.Description.Engine.Labels),
		EngineVersion: stringOrNull(n.Description.Engine.EngineVersion),
		Platform:      platformModel{OS: stringOrNull(n.Description.Platform.OS), Architecture: stringOrNull(n.Description.Platform.Architecture)},
	}
	if r := n.Description.Resources; r.NanoCPUs != 0 || r.MemoryBytes != 0 {
		m.Resources = amountFrom(r.NanoCPUs, r.MemoryBytes)
	}
	if ms := n.ManagerStatus; ms != nil {
		m.ManagerStatus = &managerStatusModel{Leader: types.BoolValue(ms.Leader), Reachability: types.StringValue(string(ms.Reachability)), Address: stringOrNull(ms.Addr)}
	}
	return m
}

// orEmpty is a map that is empty rather than null when there is nothing in it, so that
// configurations can index and iterate over it.
func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
