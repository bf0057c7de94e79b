package provider

// List resources (Terraform 1.14 and newer): `terraform query` lists what the swarm runs, by
// kind, and with -generate-config-out writes a resource block and an import block for each
// result. The engine selects (orchestrator.ListFilter and the List* calls); each result here is
// the object as the resource's own import and read would write it, through the resource's own
// conversion (serviceFrom, jobFrom, networkFrom, objectFrom, nodeResourceFrom,
// stackServicesFrom), from the state an import starts with. Its identity is set from that
// state, as every resource method sets it.

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/list"
	listschema "github.com/hashicorp/terraform-plugin-framework/list/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

var (
	_ list.ListResourceWithConfigure = &listResource{}
)

// listResource is the list resource of one resource type; what differs by kind is in
// listKind.
type listResource struct {
	resourceBase
	listKind
}

// listKind is what one kind's list resource does.
type listKind struct {
	// typeName is the resource type's name after the provider's, e.g. "_service".
	typeName string
	// description is the list resource's MarkdownDescription.
	description string
	// noStack: the kind has no stack (nodes), so the config has no stack filter.
	noStack bool
	// list lists the kind's objects that f selects, each as one result.
	list func(ctx context.Context, e *orchestrator.Engine, f orchestrator.ListFilter) ([]listed, error)
}

// listed is one object found: its display name, and the attributes an import of it sets
// before its read (the import state), and the conversion the read makes from that state.
type listed struct {
	display string
	// imported are the attributes the resource's ImportState sets.
	imported map[string]attr.Value
	// read is the model the resource's read after that import writes, from the import
	// state's model (a pointer to a new model, filled in).
	read func(ctx context.Context, state tfsdk.State) (any, diag.Diagnostics)
	// forConfig nulls, in the result's resource object, what generated configuration must not
	// set (one of two attributes that exclude each other), so that it validates; nil for
	// none.
	forConfig []string
}

// listConfigModel is the list block's config.
type listConfigModel struct {
	NamePrefix types.String      `tfsdk:"name_prefix"`
	Labels     map[string]string `tfsdk:"labels"`
	Stack      types.String      `tfsdk:"stack"`
}

// ListResources are the list resources, one per resource that adopts existing objects.
func (p *swarmProvider) ListResources(context.Context) []func() list.ListResource {
	return []func() list.ListResource{
		newServiceList, newJobList, newStackList, newNetworkList, newSecretList, newConfigList, newNodeList,
	}
}

func (r *listResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + r.typeName
}

func (r *listResource) ListResourceConfigSchema(_ context.Context, _ list.ListResourceSchemaRequest, resp *list.ListResourceSchemaResponse) {
	attrs := map[string]listschema.Attribute{
		"name_prefix": listschema.StringAttribute{Optional: true,
			MarkdownDescription: "List only the objects whose name starts with this."},
		"labels": listschema.MapAttribute{ElementType: types.StringType, Optional: true,
			MarkdownDescription: "List only the objects that carry every one of these labels, each with this value."},
	}
	if !r.noStack {
		attrs["stack"] = listschema.StringAttribute{Optional: true,
			MarkdownDescription: "List only the objects of this stack (label `com.docker.stack.namespace`, as `docker stack deploy` sets it). " +
				"Without it, a stack's objects are left out: `swarm_stack` lists the stack, and adopts them with it.",
			Validators: []validator.String{check{summary: "Invalid Stack Name", text: orchestrator.CheckName}}}
	}
	resp.Schema = listschema.Schema{MarkdownDescription: r.description, Attributes: attrs}
}

// filter is the engine's filter from the list block's config.
func (r *listResource) filter(ctx context.Context, cfg tfsdk.Config, diags *diag.Diagnostics) orchestrator.ListFilter {
	var m listConfigModel
	diags.Append(cfg.GetAttribute(ctx, path.Root("name_prefix"), &m.NamePrefix)...)
	diags.Append(cfg.GetAttribute(ctx, path.Root("labels"), &m.Labels)...)
	if !r.noStack {
		diags.Append(cfg.GetAttribute(ctx, path.Root("stack"), &m.Stack)...)
	}
	return orchestrator.ListFilter{NamePrefix: m.NamePrefix.ValueString(), Labels: m.Labels, Stack: m.Stack.ValueString()}
}

func (r *listResource) List(ctx context.Context, req list.ListRequest, stream *list.ListResultsStream) {
	var diags diag.Diagnostics
	f := r.filter(ctx, req.Config, &diags)
	if diags.HasError() || !r.connected(&diags) {
		stream.Results = list.ListResultsStreamDiagnostics(diags)
		return
	}
	found, err := r.list(ctx, r.engine, f)
	if err != nil {
		addEngineError(&diags, "Cannot List Objects", fmt.Sprintf("Listing the swarm's objects for swarm%s", r.typeName), err)
		stream.Results = list.ListResultsStreamDiagnostics(diags)
		return
	}
	stream.Results = func(push func(list.ListResult) bool) {
		for i, l := range found {
			if req.Limit > 0 && int64(i) >= req.Limit {
				return
			}
			if !push(r.result(ctx, req, l)) {
				return
			}
		}
	}
}

// result is one listed object as a list result: its identity and display name, and with
// IncludeResource its resource object.
func (r *listResource) result(ctx context.Context, req list.ListRequest, l listed) list.ListResult {
	res := req.NewListResult(ctx)
	res.DisplayName = l.display
	state := tfsdk.State{Schema: req.ResourceSchema, Raw: tftypes.NewValue(req.ResourceSchema.Type().TerraformType(ctx), nil)}
	for name, v := range l.imported {
		res.Diagnostics.Append(state.SetAttribute(ctx, path.Root(name), v)...)
	}
	if res.Diagnostics.HasError() {
		return res
	}
	model, d := l.read(ctx, state)
	res.Diagnostics.Append(d...)
	if res.Diagnostics.HasError() {
		return res
	}
	res.Diagnostics.Append(state.Set(ctx, model)...)
	setIdentity(ctx, &state, res.Identity, &res.Diagnostics)
	if !req.IncludeResource || res.Diagnostics.HasError() {
		return res
	}
	for _, name := range l.forConfig {
		res.Diagnostics.Append(state.SetAttribute(ctx, path.Root(name), types.StringNull())...)
	}
	res.Resource.Raw = state.Raw
	return res
}

// fromImport reads the import state into a new model of type T and gives it to read.
func fromImport[T any](read func(prior T) T) func(ctx context.Context, state tfsdk.State) (any, diag.Diagnostics) {
	return func(ctx context.Context, state tfsdk.State) (any, diag.Diagnostics) {
		var prior T
		diags := state.Get(ctx, &prior)
		if diags.HasError() {
			return nil, diags
		}
		return read(prior), diags
	}
}

func byID(id string) map[string]attr.Value { return map[string]attr.Value{"id": types.StringValue(id)} }

func newServiceList() list.ListResource {
	return &listResource{listKind: listKind{
		typeName: "_service",
		description: "Lists the swarm's services (replicated and global; not jobs, which `swarm_job` lists, nor autoscaler controllers), each as `swarm_service` imports it. " +
			"A stack's services are listed only with `stack`: without it, `swarm_stack` lists the stack.",
		list: func(ctx context.Context, e *orchestrator.Engine, f orchestrator.ListFilter) ([]listed, error) {
			found, err := e.ListServices(ctx, f)
			var out []listed
			for _, st := range found {
				out = append(out, listed{display: st.Service.Spec.Name, imported: byID(st.Service.ID),
					read: fromImport(func(prior serviceModel) serviceModel { return serviceFrom(st, prior) })})
			}
			return out, err
		},
	}}
}

func newJobList() list.ListResource {
	return &listResource{listKind: listKind{
		typeName:    "_job",
		description: "Lists the swarm's jobs (services in mode `replicated-job` or `global-job`), each as `swarm_job` imports it. A stack's jobs are listed only with `stack`.",
		list: func(ctx context.Context, e *orchestrator.Engine, f orchestrator.ListFilter) ([]listed, error) {
			found, err := e.ListJobs(ctx, f)
			var out []listed
			for _, st := range found {
				out = append(out, listed{display: st.Service.Spec.Name, imported: byID(st.Service.ID),
					read: fromImport(func(prior jobModel) jobModel { return jobFrom(st, prior) })})
			}
			return out, err
		},
	}}
}

func newStackList() list.ListResource {
	return &listResource{listKind: listKind{
		typeName: "_stack",
		description: "Lists the swarm's stacks (the namespaces `docker stack deploy` labels services with, as `docker stack ls` lists them), each once, as `swarm_stack` imports it. " +
			"`name_prefix` and `stack` apply to the namespace, `labels` to every service of the stack. The compose files are not in the swarm: generated configuration needs `compose_files` filled in, and its import block an ID that names them (`id = \"shop:docker-compose.yml\"`) in place of the identity, which holds the name alone, for a first plan with no change.",
		list: func(ctx context.Context, e *orchestrator.Engine, f orchestrator.ListFilter) ([]listed, error) {
			found, err := e.ListStacks(ctx, f)
			var out []listed
			for _, s := range found {
				out = append(out, listed{display: fmt.Sprintf("%s (%d services)", s.Name, len(s.Services)), imported: stackImported(s.Name),
					read: fromImport(func(prior stackModel) stackModel {
						prior.Services = stackServicesFrom(s.Name, s.Services)
						return prior
					})})
			}
			return out, err
		},
	}}
}

func newNetworkList() list.ListResource {
	return &listResource{listKind: listKind{
		typeName: "_network",
		description: "Lists the swarm's networks (swarm-scoped: overlay networks; never `ingress`, `bridge`, `host`, `none` or `docker_gwbridge`, which no resource can manage), each as `swarm_network` imports it. " +
			"A stack's networks are listed only with `stack`.",
		list: func(ctx context.Context, e *orchestrator.Engine, f orchestrator.ListFilter) ([]listed, error) {
			found, err := e.ListNetworks(ctx, f)
			var out []listed
			for _, n := range found {
				out = append(out, listed{display: n.Name, imported: byID(n.ID),
					read: fromImport(func(prior networkResourceModel) networkResourceModel { return networkFrom(n, prior) })})
			}
			return out, err
		},
	}}
}

// objectList lists secrets or configs as metadata: never a value, nor a hash of one (the
// import's read takes a config's content back, a list result does not).
func objectList(kind orchestrator.ObjectKind, description string, model func(orchestrator.Object) func(ctx context.Context, state tfsdk.State) (any, diag.Diagnostics)) listKind {
	return listKind{
		typeName: "_" + string(kind), description: description,
		list: func(ctx context.Context, e *orchestrator.Engine, f orchestrator.ListFilter) ([]listed, error) {
			found, err := e.ListObjects(ctx, kind, f)
			var out []listed
			for _, o := range found {
				out = append(out, objectListed(o, model))
			}
			return out, err
		},
	}
}

// objectListed is one secret or config as a list result.
func objectListed(o orchestrator.Object, model func(orchestrator.Object) func(ctx context.Context, state tfsdk.State) (any, diag.Diagnostics)) listed {
	l := listed{display: o.Name, imported: byID(o.ID), read: model(o)}
	if o.Labels[orchestrator.RotationLabel] != "" {
		// A rotating object is configured by name_prefix, which excludes name.
		l.forConfig = []string{"name"}
	}
	return l
}

func newSecretList() list.ListResource {
	return &listResource{listKind: objectList(orchestrator.KindSecret,
		"Lists the swarm's secrets, as metadata only (name, labels, and the `data_wo_version` the provider recorded): Swarm never gives a secret's value back, and no value nor hash of one is listed. "+
			"Generated configuration needs the value added as `data_wo` before it validates; the plan then writes nothing (with `data` instead, it replaces the secret: state has no hash of the value to compare). A rotating secret (`name_prefix`) is listed once, by its newest version. A stack's secrets are listed only with `stack`.",
		secretListed)}
}

// secretListed reads a listed secret as its import does, with no hash: state after an import
// keeps none (data is null).
func secretListed(o orchestrator.Object) func(ctx context.Context, state tfsdk.State) (any, diag.Diagnostics) {
	return fromImport(func(prior secretModel) secretModel {
		prior.setObject(objectFrom(o, prior.object(), false, true))
		return prior
	})
}

func newConfigList() list.ListResource {
	return &listResource{listKind: objectList(orchestrator.KindConfig,
		"Lists the swarm's configs, as metadata only (name, labels, template driver): no content nor hash of it is listed, though the import reads the content back. "+
			"Generated configuration needs `data` filled in, e.g. `data = file(\"nginx.conf\")`. A rotating config (`name_prefix`) is listed once, by its newest version. A stack's configs are listed only with `stack`.",
		configListed)}
}

// configListed reads a listed config as its import does, but for the content and its hash,
// which the import's read takes back and a list result leaves out.
func configListed(o orchestrator.Object) func(ctx context.Context, state tfsdk.State) (any, diag.Diagnostics) {
	return fromImport(func(prior configModel) configModel {
		prior.setObject(objectFrom(o, prior.object(), false, false))
		prior.TemplateDriver = stringOrNull(o.TemplateDriver)
		return prior
	})
}

func newNodeList() list.ListResource {
	return &listResource{listKind: listKind{
		typeName: "_node", noStack: true,
		description: "Lists the swarm's nodes, each as `swarm_node` imports it: named by `node_id`, with the labels it has (not the provider's own). " +
			"`name_prefix` applies to the hostname, `labels` to the node's labels (`docker node update --label-add`).",
		list: func(ctx context.Context, e *orchestrator.Engine, f orchestrator.ListFilter) ([]listed, error) {
			found, err := e.ListNodeStates(ctx, f)
			var out []listed
			for _, st := range found {
				imported := byID(st.Node.ID)
				labels, d := types.MapValueFrom(context.Background(), types.StringType, importedLabels(st))
				if d.HasError() {
					return nil, fmt.Errorf("node %s: labels: %s", st.Node.ID, d[0].Detail())
				}
				imported["labels"] = labels
				out = append(out, listed{display: strings.TrimSpace(st.Node.Description.Hostname + " (" + st.Node.ID + ")"), imported: imported,
					read: fromImport(func(prior nodeResourceModel) nodeResourceModel { return nodeResourceFrom(st, prior) }),
					// node_id names the node; hostname would name it twice.
					forConfig: []string{"hostname"}})
			}
			return out, err
		},
	}}
}
