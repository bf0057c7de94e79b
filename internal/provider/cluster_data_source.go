package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

var (
	_ datasource.DataSource              = &clusterDataSource{}
	_ datasource.DataSourceWithConfigure = &clusterDataSource{}
)

// NewClusterDataSource is the swarm_cluster data source: the swarm the provider is connected
// to, its node counts, manager addresses and join tokens.
func NewClusterDataSource() datasource.DataSource { return &clusterDataSource{} }

type clusterDataSource struct {
	dataSourceBase
}

type clusterModel struct {
	ID               types.String    `tfsdk:"id"`
	CreatedAt        types.String    `tfsdk:"created_at"`
	UpdatedAt        types.String    `tfsdk:"updated_at"`
	NodeCounts       nodeCountsModel `tfsdk:"node_counts"`
	ManagerAddresses []string        `tfsdk:"manager_addresses"`
	LeaderAddress    types.String    `tfsdk:"leader_address"`
	JoinTokens       joinTokensModel `tfsdk:"join_tokens"`
}

type nodeCountsModel struct {
	Total             wholeValue `tfsdk:"total"`
	Managers          wholeValue `tfsdk:"managers"`
	Workers           wholeValue `tfsdk:"workers"`
	Ready             wholeValue `tfsdk:"ready"`
	ReachableManagers wholeValue `tfsdk:"reachable_managers"`
}

type joinTokensModel struct {
	Worker  types.String `tfsdk:"worker"`
	Manager types.String `tfsdk:"manager"`
}

func (d *clusterDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_cluster"
}

func (d *clusterDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	count := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{CustomType: wholeType{}, Computed: true, MarkdownDescription: desc}
	}
	text := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	token := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, Sensitive: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The swarm the provider is connected to: its ID, node counts, manager addresses and join tokens. " +
			"The join tokens are sensitive: Terraform never shows them in plans or output, but it stores them in state, so protect the state as you would the tokens.",
		Attributes: map[string]schema.Attribute{
			"id":         text("Swarm ID."),
			"created_at": text("When the swarm was created (`docker swarm init`), RFC 3339."),
			"updated_at": text("When the swarm's settings last changed, RFC 3339."),
			"node_counts": schema.SingleNestedAttribute{Computed: true, MarkdownDescription: "How many nodes the swarm has.",
				Attributes: map[string]schema.Attribute{
					"total":              count("Every node, whatever its state."),
					"managers":           count("Managers."),
					"workers":            count("Workers."),
					"ready":              count("Nodes whose state is `ready`."),
					"reachable_managers": count("Managers the Raft leader reaches, the leader included. The swarm can make changes while they are more than half of `managers`."),
				}},
			"manager_addresses": schema.ListAttribute{ElementType: types.StringType, Computed: true,
				MarkdownDescription: "Addresses (`host:port`) of the managers, sorted: where `docker swarm join` reaches the swarm."},
			"leader_address": text("Address of the Raft leader."),
			"join_tokens": schema.SingleNestedAttribute{Computed: true, Sensitive: true,
				MarkdownDescription: "The tokens that join a node to the swarm (`docker swarm join --token`). Sensitive.",
				Attributes: map[string]schema.Attribute{
					"worker":  token("Token that joins a node as a worker."),
					"manager": token("Token that joins a node as a manager."),
				}},
		},
	}
}

func (d *clusterDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	if !d.connected(&resp.Diagnostics) {
		return
	}
	c, err := d.engine.Cluster(ctx)
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Read Swarm", "Reading the swarm and its nodes", err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, clusterFrom(c))...)
}

// clusterFrom turns the engine's view of the swarm into the model.
func clusterFrom(c orchestrator.Cluster) clusterModel {
	n := c.Counts
	return clusterModel{
		ID:        types.StringValue(c.ID),
		CreatedAt: types.StringValue(c.CreatedAt.UTC().Format(time.RFC3339)),
		UpdatedAt: types.StringValue(c.UpdatedAt.UTC().Format(time.RFC3339)),
		NodeCounts: nodeCountsModel{Total: intValue(int64(n.Total)), Managers: intValue(int64(n.Managers)), Workers: intValue(int64(n.Workers)),
			Ready: intValue(int64(n.Ready)), ReachableManagers: intValue(int64(n.ReachableManagers))},
		ManagerAddresses: c.ManagerAddresses,
		LeaderAddress:    stringOrNull(c.LeaderAddress),
		JoinTokens:       joinTokensModel{Worker: types.StringValue(c.JoinTokens.Worker), Manager: types.StringValue(c.JoinTokens.Manager)},
	}
}
