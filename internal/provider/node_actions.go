package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker/docker/api/types/swarm"
	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var (
	_ action.Action              = &nodeAvailabilityAction{}
	_ action.ActionWithConfigure = &nodeAvailabilityAction{}
)

// NewNodeDrainAction is swarm_node_drain: drains a node and waits until its tasks run
// elsewhere.
func NewNodeDrainAction() action.Action {
	return &nodeAvailabilityAction{availability: swarm.NodeAvailabilityDrain}
}

// NewNodeActivateAction is swarm_node_activate: makes a node active again.
func NewNodeActivateAction() action.Action {
	return &nodeAvailabilityAction{availability: swarm.NodeAvailabilityActive}
}

// nodeAvailabilityAction sets a node's availability, and nothing else.
type nodeAvailabilityAction struct {
	actionBase
	availability swarm.NodeAvailability
}

type nodeActionModel struct {
	NodeID  types.String `tfsdk:"node_id"`
	Timeout kindValue    `tfsdk:"timeout"`
}

func (a *nodeAvailabilityAction) Metadata(_ context.Context, req action.MetadataRequest, resp *action.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_node_" + a.verb()
}

// verb is the action's name: drain or activate.
func (a *nodeAvailabilityAction) verb() string {
	if a.availability == swarm.NodeAvailabilityActive {
		return "activate"
	}
	return "drain"
}

func (a *nodeAvailabilityAction) Schema(_ context.Context, _ action.SchemaRequest, resp *action.SchemaResponse) {
	desc := "Drains a node, as `docker node update --availability drain` does: Swarm stops its tasks and starts them on other nodes. " +
		"The action waits until nothing runs on the node and every replicated service that had a task there runs its full count elsewhere; it fails, naming the tasks that cannot start and why (Swarm's \"no suitable node\", for one), when no moved task has started for two minutes. " +
		"Global services' tasks stop on the node and do not move. Use `swarm_node_activate` to put the node back."
	timeout := "for the node's tasks to run elsewhere"
	if a.availability == swarm.NodeAvailabilityActive {
		desc = "Makes a node active again, as `docker node update --availability active` does, so that Swarm may schedule tasks on it. Swarm does not move running tasks back by itself: new tasks (a rollout, a `swarm_service_restart`) may use the node."
		timeout = "for the write"
	}
	desc += " Only the availability changes: the node is not adopted. A `swarm_node` resource that sets `availability` sees the change as drift and puts its own value back at the next apply."
	resp.Schema = targetSchema(desc, "node_id", "The node: its ID or its host name (e.g. `swarm_node.worker.id`).", timeout)
}

func (a *nodeAvailabilityAction) Invoke(ctx context.Context, req action.InvokeRequest, resp *action.InvokeResponse) {
	node, ctx, cancel, ok := a.begin(ctx, req, resp, &nodeActionModel{})
	if !ok {
		return
	}
	defer cancel()
	progress(resp, "making node %s %s", node, a.availability)
	applied, err := a.engine.SetNodeAvailability(ctx, node, a.availability, 0)
	if err != nil {
		doing := fmt.Sprintf("Making node %q %s", node, a.availability)
		if applied.Wrote {
			doing = fmt.Sprintf("Node %q was drained, but its tasks did not all run elsewhere. The node stays drained; make room (activate or add nodes, relax placement constraints) or run swarm_node_activate to put it back.", node)
		}
		addEngineError(&resp.Diagnostics, "Node "+strings.ToUpper(a.verb()[:1])+a.verb()[1:]+" Failed", doing, err)
		return
	}
	switch {
	case applied.Write.Draining:
		progress(resp, "node %s drained: its tasks of %d service(s) run elsewhere", node, len(applied.Write.Moving))
	default:
		progress(resp, "node %s is %s", node, a.availability)
	}
}
