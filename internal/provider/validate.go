package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

var (
	hostPattern       = regexp.MustCompile(`^(unix|tcp|ssh|npipe)://`)
	apiVersionPattern = regexp.MustCompile(`^1\.\d+$`)
)

var restartPolicyAttrTypes = map[string]attr.Type{
	"condition": types.StringType, "delay": durationType, "max_attempts": wholeType{}, "window": durationType,
}

var updateConfigAttrTypes = map[string]attr.Type{
	"parallelism": wholeType{}, "delay": durationType, "failure_action": types.StringType,
	"monitor": durationType, "max_failure_ratio": types.Float64Type, "order": types.StringType,
}

var waitAttrTypes = map[string]attr.Type{"converge": types.BoolType, "progress_deadline": durationType}

// noPrefix rejects strings (here: label keys) that start with a reserved prefix.
type noPrefix string

// userLabelKeys is the validator of every labels attribute: the engine's own prefix is
// reserved. The engine keeps its labels as they are on every write and leaves them out of
// every read, so a configured one would show as a change on every plan.
var userLabelKeys = mapvalidator.KeysAre(noPrefix(orchestrator.EngineLabelPrefix))

func (p noPrefix) Description(context.Context) string {
	return fmt.Sprintf("must not start with %q", string(p))
}
func (p noPrefix) MarkdownDescription(ctx context.Context) string { return p.Description(ctx) }

func (p noPrefix) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if strings.HasPrefix(req.ConfigValue.ValueString(), string(p)) {
		addPathError(&resp.Diagnostics, req.Path, "Reserved Label",
			fmt.Sprintf("Label %q starts with %q, which is reserved for labels the provider manages itself. Choose another key.", req.ConfigValue.ValueString(), string(p)))
	}
}

// check is a validator that runs one of the engine's checks on a value and reports what it
// says at the attribute's path. It validates strings, each element of a list or set of
// strings, the keys of a map, a list of strings as a whole (whole), and numbers.
type check struct {
	summary string
	text    func(string) error
	whole   func([]string) error
	number  func(float64) error
}

var (
	_ validator.String = check{}
	_ validator.List   = check{}
	_ validator.Set    = check{}
	_ validator.Map    = check{}
	_ validator.Number = check{}
)

func (c check) Description(context.Context) string             { return c.summary }
func (c check) MarkdownDescription(ctx context.Context) string { return c.Description(ctx) }

func (c check) report(diags *diag.Diagnostics, p path.Path, err error) {
	if err != nil {
		addPathError(diags, p, c.summary, strings.TrimSuffix(err.Error(), ".")+".")
	}
}

func (c check) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if c.text != nil && known(req.ConfigValue) {
		c.report(&resp.Diagnostics, req.Path, c.text(req.ConfigValue.ValueString()))
	}
}

func (c check) ValidateList(ctx context.Context, req validator.ListRequest, resp *validator.ListResponse) {
	if !known(req.ConfigValue) {
		return
	}
	var all []string
	for i, el := range req.ConfigValue.Elements() {
		s, ok := el.(types.String)
		if !ok || !known(s) {
			return
		}
		all = append(all, s.ValueString())
		if c.text != nil {
			c.report(&resp.Diagnostics, req.Path.AtListIndex(i), c.text(s.ValueString()))
		}
	}
	if c.whole != nil {
		c.report(&resp.Diagnostics, req.Path, c.whole(all))
	}
}

func (c check) ValidateSet(_ context.Context, req validator.SetRequest, resp *validator.SetResponse) {
	if c.text == nil || !known(req.ConfigValue) {
		return
	}
	for _, el := range req.ConfigValue.Elements() {
		if s, ok := el.(types.String); ok && known(s) {
			c.report(&resp.Diagnostics, req.Path.AtSetValue(s), c.text(s.ValueString()))
		}
	}
}

func (c check) ValidateMap(_ context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if c.text == nil || !known(req.ConfigValue) {
		return
	}
	for k := range req.ConfigValue.Elements() {
		c.report(&resp.Diagnostics, req.Path.AtMapKey(k), c.text(k))
	}
}

func (c check) ValidateNumber(_ context.Context, req validator.NumberRequest, resp *validator.NumberResponse) {
	if c.number != nil && known(req.ConfigValue) {
		f, _ := req.ConfigValue.ValueBigFloat().Float64()
		c.report(&resp.Diagnostics, req.Path, c.number(f))
	}
}

func known(v attr.Value) bool { return !v.IsNull() && !v.IsUnknown() }

// notEmpty rejects an empty string: Swarm reads it as not set, so it would plan again and
// again. Leaving the attribute out says the same thing.
func notEmpty(what string) check {
	return check{summary: "Empty Value", text: func(s string) error {
		if s == "" {
			return fmt.Errorf("%s cannot be empty; leave the attribute out for %s", what, "the image's default")
		}
		return nil
	}}
}

// memorySize checks a memory limit or reservation: a size of at least Swarm's minimum.
func memorySize(s string) error {
	n, err := orchestrator.ParseSize(s)
	if err != nil {
		return err
	}
	return orchestrator.CheckMemory(n)
}

// unknownPaths lists the attributes of a configuration (or plan) whose values are not known
// yet, in the engine's path spelling: "ports", "mounts[0].source", `ulimits["nofile"].soft`.
// Below an unknown value nothing is listed: its own path stands for everything inside it.
func unknownPaths(v tftypes.Value) map[string]bool {
	out := map[string]bool{}
	_ = tftypes.Walk(v, func(p *tftypes.AttributePath, v tftypes.Value) (bool, error) {
		if v.IsKnown() {
			return true, nil
		}
		out[enginePath(p)] = true
		return false, nil
	})
	return out
}

// enginePath spells an attribute path the engine's way (see attributePath for the reverse).
func enginePath(p *tftypes.AttributePath) string {
	var b strings.Builder
	for _, step := range p.Steps() {
		switch s := step.(type) {
		case tftypes.AttributeName:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(s))
		case tftypes.ElementKeyInt:
			fmt.Fprintf(&b, "[%d]", int64(s))
		case tftypes.ElementKeyString:
			fmt.Fprintf(&b, "[%q]", string(s))
		default: // an element of a set: the set stands for it
			return b.String()
		}
	}
	return b.String()
}

// readsUnknown says whether a rule read (or reports at) an attribute not known yet, or one
// inside a value not known yet.
func readsUnknown(p orchestrator.FieldProblem, unknown map[string]bool) bool {
	if len(unknown) == 0 {
		return false
	}
	for _, r := range append([]string{p.Path}, p.Reads...) {
		for i := 0; i <= len(r); i++ {
			if (i == len(r) || r[i] == '.' || r[i] == '[') && unknown[r[:i]] {
				return true
			}
		}
	}
	return false
}
