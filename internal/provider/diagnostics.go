package provider

// Every diagnostic the provider makes goes through here: engine errors with what was being done
// and what to try, the engine's field problems at their attribute paths, and the provider's own
// path errors and warnings.

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

// addEngineError turns an engine error into a diagnostic: what was being done, what to try, and
// the original error.
func addEngineError(diags *diag.Diagnostics, summary, doing string, err error) {
	var ce *orchestrator.ConnectError
	var re *orchestrator.RolloutError
	var te *orchestrator.TimeoutError
	var changed *orchestrator.ChangedError
	var exists *orchestrator.ExistsError
	var problems *orchestrator.ProblemsError
	switch {
	case errors.As(err, &exists):
		addExistsError(diags, doing, exists)
	case errors.As(err, &problems):
		for _, p := range problems.Problems {
			detail := doing + ", refused before anything was written: " + p.Detail
			if p.Path == "" {
				diags.AddError(p.Summary, detail)
				continue
			}
			addPathError(diags, attributePath(p.Path), p.Summary, detail)
		}
	case errors.As(err, &changed):
		diags.AddError("Service Changed Since Plan", fmt.Sprintf("%s: service %q changed after the plan was made, in what this configuration manages: %s. "+
			"Applying the plan would undo that change, which no one has reviewed, so nothing was written. Run terraform plan again to see the change (a saved plan must be made again).",
			doing, changed.Service, strings.Join(changed.Fields, ", ")))
	case errors.As(err, &ce):
		diags.AddError(summary, doing+": "+ce.Summary+". "+connectDetail(ce))
	case errors.As(err, &re) && re.Unschedulable:
		diags.AddError(summary, doing+"\n\n"+re.Error()+"\n\nNo node may run these tasks as configured. Relax the service's placement constraints, reservations or max_replicas_per_node, "+
			"or make room: add nodes that satisfy them, or make drained and paused nodes active (`docker node ls` lists the nodes). Then apply again.")
	case errors.As(err, &re):
		diags.AddError(summary, doing+"\n\n"+re.Error()+"\n\nFix the image or its configuration and apply again; `docker service ps --no-trunc "+re.Service+"` shows every attempt.")
	case errors.As(err, &te):
		advice := "Raise the timeout in the timeouts block if the rollout is only slow."
		if errors.Is(err, context.Canceled) {
			advice = "The apply was interrupted. Swarm carries on with the rollout without Terraform; `docker service ps " + te.Service + "` shows where it stands."
		}
		diags.AddError(summary, doing+"\n\n"+te.Error()+"\n\n"+advice)
	default:
		sep := ": "
		if strings.HasSuffix(doing, ".") {
			sep = "\n\n"
		}
		diags.AddError(summary, doing+sep+err.Error())
	}
}

// addExistsError says that the name a create wanted is taken, by which object, and how to take
// that object into state instead: the same words for every kind.
func addExistsError(diags *diag.Diagnostics, doing string, exists *orchestrator.ExistsError) {
	address := "swarm_" + string(exists.Kind) + ".<name>"
	diags.AddError(title(exists.Kind)+" Already Exists", fmt.Sprintf("%s: a %s named %q already exists in the swarm (ID %s, created %s), and Swarm refuses a second one of that name. "+
		"If an earlier apply created it but could not record it (terraform exits at once, without saving, on a second interrupt), or it was made outside Terraform and this configuration should manage it from now on, "+
		"take it into state with an import block\n\n  import {\n    to = %s\n    id = %q\n  }\n\nor `terraform import %s %s` (with this resource's address), then apply again; the plan then shows any difference. "+
		"Otherwise choose another name.",
		doing, exists.Kind, exists.Name, exists.ID, exists.CreatedAt.UTC().Format(time.RFC3339), address, exists.ID, address, exists.ID))
}

// addRemovedDuringApply says that the service vanished while the apply waited for it.
func addRemovedDuringApply(diags *diag.Diagnostics, name string) {
	diags.AddError("Service Removed During Apply", fmt.Sprintf("Service %q was removed by someone else while the apply waited for it to converge. It is gone from state, so the next plan creates it again.", name))
}

// rolloutOutcome tells the user where a failed rollout left the service and what to do next,
// from how the engine says it ended.
func rolloutOutcome(name string, err error) string {
	var re *orchestrator.RolloutError
	if !errors.As(err, &re) {
		return fmt.Sprintf("Service %q was updated but the rollout did not complete. State records what runs now.", name)
	}
	switch re.Ending {
	case orchestrator.EndingPaused:
		return fmt.Sprintf("The rollout of service %q is paused: slots already given the new spec keep it, the others keep the previous spec, and update_state is \"paused\". Fix the cause, then apply again: the next plan shows the paused rollout, and the apply resumes it.", name)
	case orchestrator.EndingRolledBack:
		return fmt.Sprintf("Service %q was rolled back to its previous spec, and update_state is \"rollback_completed\". State records the previous spec, so the next plan proposes the change again.", name)
	case orchestrator.EndingRollbackPaused:
		return fmt.Sprintf("The rollback of service %q failed too and Swarm paused it; update_state is \"rollback_paused\" and its tasks may run a mix of both specs. Fix the cause, then apply again to resume.", name)
	case orchestrator.EndingContinued:
		return fmt.Sprintf("Service %q keeps the new spec (failure_action \"continue\") although some of its tasks do not run. State records the new spec, so the next plan shows no change for it: fix the cause with a new configuration, or use failure_action \"pause\" or \"rollback\".", name)
	case orchestrator.EndingUnplaceable:
		return fmt.Sprintf("The rollout of service %q cannot go on: no node of the swarm can run the new spec's tasks, so Swarm keeps them pending (slots not yet given the new spec keep the previous one). State records the new spec: fix the configuration and apply again.", name)
	case orchestrator.EndingNoProgress:
		return fmt.Sprintf("The rollout of service %q made no progress within progress_deadline. Swarm keeps trying to place its tasks; state records the new spec.", name)
	}
	return fmt.Sprintf("Service %q was updated but the rollout did not complete. State records what runs now.", name)
}

// addConnectError reports a failure to connect to the engine, under the engine's own summary;
// settings the engine refused, at their arguments.
func addConnectError(diags *diag.Diagnostics, err error) {
	var ce *orchestrator.ConnectError
	var cfgErr *orchestrator.ConfigError
	if errors.As(err, &cfgErr) {
		addProblems(diags, cfgErr.Problems, true)
		return
	}
	if errors.As(err, &ce) {
		diags.AddError(ce.Summary, connectDetail(ce))
		return
	}
	diags.AddError("Cannot Connect to Docker Engine", err.Error())
}

// connectDetail is a connection error's advice, then the error it came from.
func connectDetail(ce *orchestrator.ConnectError) string {
	detail := ce.Advice
	if ce.Err != nil {
		detail += "\n\nError: " + ce.Err.Error()
	}
	return detail
}

func addWarnings(diags *diag.Diagnostics, warnings []string) {
	for _, w := range warnings {
		diags.AddWarning("Docker Engine Warning", w)
	}
}

// addPathError reports bad input at an attribute. Terraform can point only at top-level
// expressions, so the detail starts with the full path (e.g. "healthcheck.interval").
func addPathError(diags *diag.Diagnostics, p path.Path, summary, detail string) {
	diags.AddAttributeError(p, summary, "Attribute "+p.String()+": "+detail)
}

func addPathWarning(diags *diag.Diagnostics, p path.Path, summary, detail string) {
	diags.AddAttributeWarning(p, summary, "Attribute "+p.String()+": "+detail)
}

// addProblems reports the engine's field problems, as errors or as warnings, at their
// attributes; a problem without a path concerns the whole resource.
func addProblems(diags *diag.Diagnostics, problems []orchestrator.FieldProblem, asErrors bool) {
	for _, p := range problems {
		switch {
		case p.Path == "" && asErrors:
			diags.AddError(p.Summary, p.Detail)
		case p.Path == "":
			diags.AddWarning(p.Summary, p.Detail)
		case asErrors:
			addPathError(diags, attributePath(p.Path), p.Summary, p.Detail)
		default:
			addPathWarning(diags, attributePath(p.Path), p.Summary, p.Detail)
		}
	}
}

// readsAny says whether a problem's rule read one of the given attributes.
func readsAny(p orchestrator.FieldProblem, attrs map[string]bool) bool {
	for _, r := range p.Reads {
		if attrs[r] {
			return true
		}
	}
	return false
}

var pathStep = regexp.MustCompile(`([a-z_0-9]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]`)

// attributePath reads the engine's path spelling ("metrics[0].target_value",
// `ulimits["nofile"].soft`) as a Terraform attribute path.
func attributePath(s string) path.Path {
	var p path.Path
	for i, m := range pathStep.FindAllStringSubmatch(s, -1) {
		switch {
		case m[1] != "" && i == 0:
			p = path.Root(m[1])
		case m[1] != "":
			p = p.AtName(m[1])
		case m[3] != "":
			key, _ := strconv.Unquote(m[3])
			p = p.AtMapKey(key)
		default:
			n, _ := strconv.Atoi(m[2])
			p = p.AtListIndex(n)
		}
	}
	return p
}
