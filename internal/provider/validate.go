package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var (
	hostPattern        = regexp.MustCompile(`^(unix|tcp|ssh|npipe|http|https)://`)
	apiVersionPattern  = regexp.MustCompile(`^1\.\d+$`)
	serviceNamePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$`)
)

var spreadPattern = regexp.MustCompile(`^spread=\S+$`)

var restartPolicyAttrTypes = map[string]attr.Type{
	"condition": types.StringType, "delay": durationType, "max_attempts": types.Int64Type, "window": durationType,
}

var updateConfigAttrTypes = map[string]attr.Type{
	"parallelism": types.Int64Type, "delay": durationType, "failure_action": types.StringType,
	"monitor": durationType, "max_failure_ratio": types.Float64Type, "order": types.StringType,
}

var waitAttrTypes = map[string]attr.Type{"converge": types.BoolType, "progress_deadline": durationType}

// noPrefix rejects strings (here: label keys) that start with a reserved prefix.
type noPrefix string

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
