package provider

import (
	"github.com/docker/docker/api/types/swarm"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

// nodeResourceModel is swarm_node as Terraform sees it.
type nodeResourceModel struct {
	ID               types.String      `tfsdk:"id"`
	NodeID           types.String      `tfsdk:"node_id"`
	Hostname         types.String      `tfsdk:"hostname"`
	Labels           map[string]string `tfsdk:"labels"`
	Availability     types.String      `tfsdk:"availability"`
	Role             types.String      `tfsdk:"role"`
	ProgressDeadline kindValue         `tfsdk:"progress_deadline"`
	Timeouts         timeouts.Value    `tfsdk:"timeouts"`
}

// key is how the configuration names the node: its ID, else its hostname; empty while
// neither is known.
func (m nodeResourceModel) key() (key, attr string) {
	switch {
	case known(m.NodeID):
		return m.NodeID.ValueString(), "node_id"
	case known(m.Hostname):
		return m.Hostname.ValueString(), "hostname"
	}
	return "", ""
}

// settings are the settings the resource owns, in the engine's terms. An availability or role
// left out of the configuration (cfg) is not owned, whatever the plan carries over from state.
func (m nodeResourceModel) settings(cfg nodeResourceModel) orchestrator.NodeSettings {
	s := orchestrator.NodeSettings{Labels: m.Labels}
	if known(cfg.Availability) {
		s.Availability = swarm.NodeAvailability(cfg.Availability.ValueString())
	}
	if known(cfg.Role) {
		s.Role = swarm.NodeRole(cfg.Role.ValueString())
	}
	return s
}

// nodeResourceFrom is the one function that turns an observed node into the model. The labels are
// those prior owns, as the node has them now (one gone from the node is left out, so the plan
// shows it again); prior's null or empty map stays as it is. Timeouts and the progress
// deadline are configuration only and come from prior.
func nodeResourceFrom(st *orchestrator.NodeState, prior nodeResourceModel) nodeResourceModel {
	n := st.Node
	m := nodeResourceModel{
		ID:               types.StringValue(n.ID),
		NodeID:           types.StringValue(n.ID),
		Hostname:         types.StringValue(n.Description.Hostname),
		Availability:     types.StringValue(string(n.Spec.Availability)),
		Role:             types.StringValue(string(n.Spec.Role)),
		ProgressDeadline: prior.ProgressDeadline,
		Timeouts:         prior.Timeouts,
	}
	if prior.Labels != nil {
		m.Labels = map[string]string{}
		for k := range prior.Labels {
			if v, ok := n.Spec.Labels[k]; ok {
				m.Labels[k] = v
			}
		}
	}
	return m
}

// importedLabels are the labels an import takes as owned: those the adoption record names when
// the node is adopted (a resource forgotten from state), else every label but the engine's;
// nil when that is none.
func importedLabels(st *orchestrator.NodeState) map[string]string {
	out := st.UserLabels()
	if st.Adoption != nil {
		out = map[string]string{}
		for k := range st.Adoption.Labels {
			if v, ok := st.Node.Spec.Labels[k]; ok {
				out[k] = v
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
