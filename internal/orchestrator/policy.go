package orchestrator

// The cluster side of swarm_scaling_policy. A policy lives in two labels on its service: the
// policy as configured (so that import and a fresh machine see the same policy) and the
// policy's state (last decision, when it last scaled, the recommendation history for the
// stabilization windows). Nothing is kept anywhere else: each plan may run on a new machine.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// ScalingStateLabel holds a policy's ScalingState as JSON.
const ScalingStateLabel = EngineLabelPrefix + "scaling-state"

// MaxScalingHistory bounds the recommendations kept in the state label; the oldest go first.
// At one decision a minute it covers more than three hours of stabilization window.
const MaxScalingHistory = 200

// ErrPolicyExists is returned when a second policy tries to attach to a service.
var ErrPolicyExists = errors.New("the service already has a scaling policy")

// ErrNotReplicated is returned for a service in global mode, whose size follows its nodes.
var ErrNotReplicated = errors.New("the service runs in global mode: one task per node, no replica count to scale")

// ScalingState is what a policy remembers between decisions.
type ScalingState struct {
	// Desired is the last replica count the policy decided on.
	Desired  int    `json:"desired"`
	Decision string `json:"decision,omitempty"`
	// ScaledAt is when the policy last changed the service's replica count.
	ScaledAt time.Time `json:"scaled_at,omitzero"`
	// DryRun policies decide but never scale, and leave the replica count to the service.
	DryRun  bool           `json:"dry_run,omitempty"`
	History scalingHistory `json:"history,omitempty"`
}

// scalingHistory is stored compactly, "unix-seconds:replicas" separated by spaces, to keep the
// label small.
type scalingHistory []Recommendation

func (h scalingHistory) MarshalJSON() ([]byte, error) {
	parts := make([]string, len(h))
	for i, r := range h {
		parts[i] = strconv.FormatInt(r.At.Unix(), 10) + ":" + strconv.Itoa(r.Replicas)
	}
	return json.Marshal(strings.Join(parts, " "))
}

func (h *scalingHistory) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	out := scalingHistory{}
	for _, p := range strings.Fields(s) {
		at, n, ok := strings.Cut(p, ":")
		sec, err1 := strconv.ParseInt(at, 10, 64)
		reps, err2 := strconv.Atoi(n)
		if !ok || err1 != nil || err2 != nil {
			return fmt.Errorf("bad history entry %q", p)
		}
		out = append(out, Recommendation{At: time.Unix(sec, 0).UTC(), Replicas: reps})
	}
	*h = out
	return nil
}

// ScalingStateOf decodes the state label of a service; ok is false when there is none.
func ScalingStateOf(spec swarm.ServiceSpec) (st ScalingState, ok bool, err error) {
	raw, ok := spec.Labels[ScalingStateLabel]
	if !ok {
		return st, false, nil
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return st, true, fmt.Errorf("label %s: %w", ScalingStateLabel, err)
	}
	return st, true, nil
}

// ReplicasOwnedElsewhere reports whether a scaling policy owns the service's replica count: one
// is attached and it is not a dry run. A state label that cannot be read counts as owned, so
// the service never resets a count it may not own.
func ReplicasOwnedElsewhere(spec swarm.ServiceSpec) bool {
	if spec.Labels[ScalingOwnerLabel] == "" {
		return false
	}
	st, _, err := ScalingStateOf(spec)
	return err != nil || !st.DryRun
}

// ScalingTarget is what a policy observes of its service.
type ScalingTarget struct {
	Service swarm.Service
	// Replicas is the replica count in the service's spec.
	Replicas int
	// Policy is the policy label as stored; empty when no policy is attached.
	Policy string
	State  ScalingState
	// RolloutInProgress is true while Swarm updates or rolls back the service.
	RolloutInProgress bool
	// PlacementCap is max replicas per node × eligible nodes, 0 when placement sets no cap.
	PlacementCap, EligibleNodes int
}

// ScalingTarget observes a service for a scaling decision, from the shared snapshot, plus the
// node list when the service caps its replicas per node.
func (e *Engine) ScalingTarget(ctx context.Context, idOrName string) (*ScalingTarget, error) {
	st, err := e.Service(ctx, idOrName)
	if err != nil {
		return nil, err
	}
	svc := st.Service
	rep := svc.Spec.Mode.Replicated
	if rep == nil {
		return nil, fmt.Errorf("service %s: %w", svc.Spec.Name, ErrNotReplicated)
	}
	t := &ScalingTarget{Service: svc, Policy: svc.Spec.Labels[ScalingOwnerLabel]}
	if rep.Replicas != nil {
		t.Replicas = int(*rep.Replicas)
	}
	if t.Policy != "" {
		if t.State, _, err = ScalingStateOf(svc.Spec); err != nil {
			return nil, fmt.Errorf("service %s: %w", svc.Spec.Name, err)
		}
	}
	if us := svc.UpdateStatus; us != nil {
		t.RolloutInProgress = us.State == swarm.UpdateStateUpdating || us.State == swarm.UpdateStateRollbackStarted
	}
	if p := svc.Spec.TaskTemplate.Placement; p != nil && p.MaxReplicas > 0 {
		nodes, err := e.cli.NodeList(ctx, swarm.NodeListOptions{})
		if err != nil {
			return nil, e.wrap("list nodes", err)
		}
		t.PlacementCap, t.EligibleNodes = PlacementCapacity(nodes, p)
	}
	return t, nil
}

// PolicyWrite is one change a policy makes to its service.
type PolicyWrite struct {
	// Policy is the policy label's value. Empty detaches the policy: both labels go, and the
	// replica count stays as it is.
	Policy string
	State  ScalingState
	// Replicas, when set, is the replica count to write.
	Replicas *int
	// Claim fails the write with ErrPolicyExists when a policy is already attached (create).
	Claim bool
}

// WritePolicy changes only the policy's labels and, optionally, the replica count, with
// Swarm's version check; the task template is untouched, so no task restarts. It returns
// whether the replica count changed and when the write was made.
func (e *Engine) WritePolicy(ctx context.Context, id string, w PolicyWrite) (WriteResult, error) {
	defer e.Invalidate()
	res := WriteResult{ID: id, Outcome: OutcomeUnchanged, Kind: ChangeNone}
	var stateJSON []byte
	if w.Policy != "" {
		st := w.State
		sort.SliceStable(st.History, func(i, j int) bool { return st.History[i].At.Before(st.History[j].At) })
		if n := len(st.History); n > MaxScalingHistory {
			st.History = st.History[n-MaxScalingHistory:]
		}
		var err error
		if stateJSON, err = json.Marshal(st); err != nil {
			return res, err
		}
	}
	err := e.writeService(ctx, id, swarm.ServiceUpdateOptions{}, &res, func(observed swarm.Service) (swarm.ServiceSpec, bool, error) {
		if w.Claim && observed.Spec.Labels[ScalingOwnerLabel] != "" {
			return swarm.ServiceSpec{}, false, fmt.Errorf("service %s: %w", observed.Spec.Name, ErrPolicyExists)
		}
		desired := observed.Spec
		desired.Labels = map[string]string{}
		for k, v := range observed.Spec.Labels {
			desired.Labels[k] = v
		}
		if w.Policy == "" {
			delete(desired.Labels, ScalingOwnerLabel)
			delete(desired.Labels, ScalingStateLabel)
		} else {
			desired.Labels[ScalingOwnerLabel] = w.Policy
			desired.Labels[ScalingStateLabel] = string(stateJSON)
		}
		if w.Replicas != nil {
			if desired.Mode.Replicated == nil {
				return desired, false, fmt.Errorf("service %s: %w", observed.Spec.Name, ErrNotReplicated)
			}
			n := uint64(*w.Replicas)
			desired.Mode = swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}}
		}
		res.Kind = Classify(observed.Spec, desired)
		return desired, res.Kind != ChangeNone, nil
	})
	return res, err
}

// RecordRecommendation adds rec to a stabilization history and drops what lies outside the
// longest window (keep) at now, as DecideScaling's NewHistory does; used at apply, where the
// recommendation comes from the plan and the history from the cluster as it is now.
func RecordRecommendation(history []Recommendation, rec Recommendation, keep time.Duration, now time.Time) []Recommendation {
	out := make([]Recommendation, 0, len(history)+1)
	for _, h := range history {
		if insideWindow(h.At, now, keep) {
			out = append(out, h)
		}
	}
	return append(out, rec)
}
