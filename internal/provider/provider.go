// Package provider is the Terraform adapter of terraform-provider-swarm: schemas, models, plan
// modifiers and diagnostics. It makes no Docker API call itself; the engine in
// internal/orchestrator does.
package provider

import (
	"context"
	"os"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/objectvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

var (
	_ provider.Provider                   = &swarmProvider{}
	_ provider.ProviderWithValidateConfig = &swarmProvider{}
	_ provider.ProviderWithActions        = &swarmProvider{}
	_ provider.ProviderWithListResources  = &swarmProvider{}
)

// New returns the provider factory for a version string.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &swarmProvider{version: version} }
}

type swarmProvider struct {
	version string
}

type providerModel struct {
	Host         types.String        `tfsdk:"host"`
	CAPEM        types.String        `tfsdk:"ca_pem"`
	CertPEM      types.String        `tfsdk:"cert_pem"`
	KeyPEM       types.String        `tfsdk:"key_pem"`
	CertPath     types.String        `tfsdk:"cert_path"`
	TLSVerify    types.Bool          `tfsdk:"tls_verify"`
	SSHOpts      []string            `tfsdk:"ssh_opts"`
	APIVersion   types.String        `tfsdk:"api_version"`
	RegistryAuth []registryAuthModel `tfsdk:"registry_auth"`
}

type registryAuthModel struct {
	Address           types.String `tfsdk:"address"`
	Username          types.String `tfsdk:"username"`
	Password          types.String `tfsdk:"password"`
	ConfigFileContent types.String `tfsdk:"config_file_content"`
}

func (p *swarmProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "swarm"
	resp.Version = p.version
}

func (p *swarmProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Runs services on a Docker Swarm cluster. The provider talks to one Swarm manager through the Docker Engine API (1.41 or newer). With no arguments it uses `DOCKER_HOST` or the local socket.",
		Attributes: map[string]schema.Attribute{
			"host": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Address of a Swarm manager's Docker engine: `unix:///var/run/docker.sock`, `tcp://host:2376` or `ssh://user@host[:port]`. Defaults to `DOCKER_HOST`, else the local socket. A `tcp://` host reached without TLS gets a warning on every plan, unless it is a loopback address (`127.0.0.0/8`, `::1`, `localhost`).",
				Validators:          []validator.String{stringvalidator.RegexMatches(hostPattern, "must start with unix://, tcp://, ssh:// or npipe://")},
			},
			"ca_pem": schema.StringAttribute{
				Optional: true, Sensitive: true,
				MarkdownDescription: "PEM-encoded CA certificate that signed the engine's TLS certificate. Use this (not files) in Terraform Cloud. Like every TLS argument, it must not be empty and needs a `tcp://` host.",
			},
			"cert_pem": schema.StringAttribute{
				Optional: true, Sensitive: true,
				MarkdownDescription: "PEM-encoded client certificate for mutual TLS.",
				Validators:          []validator.String{stringvalidator.AlsoRequires(path.MatchRoot("key_pem"))},
			},
			"key_pem": schema.StringAttribute{
				Optional: true, Sensitive: true,
				MarkdownDescription: "PEM-encoded private key of `cert_pem`.",
				Validators:          []validator.String{stringvalidator.AlsoRequires(path.MatchRoot("cert_pem"))},
			},
			"cert_path": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Directory with `ca.pem`, `cert.pem` and `key.pem`, as `DOCKER_CERT_PATH`. PEM attributes take precedence, file by file. The directory must exist and hold `ca.pem` (unless `ca_pem` is given or `tls_verify` is false), and `cert.pem` and `key.pem` together or neither; otherwise the plan fails, naming what is missing.",
			},
			"tls_verify": schema.BoolAttribute{
				Optional:            true,
				MarkdownDescription: "Verify the engine's certificate. Defaults to `DOCKER_TLS_VERIFY`, else true whenever TLS is on. With no CA given, `true` verifies against this machine's trusted roots (and turns TLS on by itself); a client certificate without a CA needs `tls_verify` set, one way or the other.",
			},
			"ssh_opts": schema.ListAttribute{
				ElementType:         types.StringType,
				Optional:            true,
				MarkdownDescription: "Extra arguments for the `ssh` command used with `ssh://` hosts, e.g. `[\"-o\", \"StrictHostKeyChecking=no\"]`.",
			},
			"api_version": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Pin the Engine API version (e.g. `1.41`). By default the version is negotiated. 1.41 is the oldest supported: an older one fails validation, and one newer than the engine speaks fails when the provider connects.",
				Validators:          []validator.String{stringvalidator.RegexMatches(apiVersionPattern, "must look like 1.41")},
			},
			"registry_auth": schema.ListNestedAttribute{
				Optional:            true,
				MarkdownDescription: "Credentials for private registries. The provider sends them with every service create and update whose image lives in that registry, so nodes can pull it; nothing is stored on the engine.",
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"address": schema.StringAttribute{
							Required:            true,
							MarkdownDescription: "Registry host, e.g. `registry.example.com:5000` or `docker.io`.",
							Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
						},
						"username": schema.StringAttribute{Optional: true, MarkdownDescription: "Registry user."},
						"password": schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: "Registry password or token; needs `username`.",
							Validators: []validator.String{stringvalidator.AlsoRequires(path.MatchRelative().AtParent().AtName("username"))}},
						"config_file_content": schema.StringAttribute{
							Optional: true, Sensitive: true,
							MarkdownDescription: "Contents of a docker `config.json` whose `auths` entry for `address` holds the credentials. Conflicts with `username`/`password`.",
							Validators:          []validator.String{stringvalidator.ConflictsWith(path.MatchRelative().AtParent().AtName("username"), path.MatchRelative().AtParent().AtName("password"))},
						},
					},
					Validators: []validator.Object{objectvalidator.AtLeastOneOf(path.MatchRelative().AtName("username"), path.MatchRelative().AtName("config_file_content"))},
				},
				Validators: []validator.List{listvalidator.SizeAtLeast(1)},
			},
		},
	}
}

// ValidateConfig checks each registry_auth's config_file_content (without ever quoting it),
// and asks the engine about the connection settings (with the DOCKER_* variables that stand
// in for them): TLS settings that cannot be used and an api_version it cannot speak are
// errors at their arguments, a connection without TLS over the network a warning. Terraform
// validates the provider's configuration on every plan and apply, so each plan says it.
func (p *swarmProvider) ValidateConfig(ctx context.Context, req provider.ValidateConfigRequest, resp *provider.ValidateConfigResponse) {
	var auths []registryAuthModel
	if req.Config.GetAttribute(ctx, path.Root("registry_auth"), &auths).HasError() {
		return
	}
	for i, a := range auths {
		if known(a.ConfigFileContent) && known(a.Address) {
			if err := orchestrator.CheckRegistryConfig(a.ConfigFileContent.ValueString(), a.Address.ValueString()); err != nil {
				addPathError(&resp.Diagnostics, path.Root("registry_auth").AtListIndex(i).AtName("config_file_content"), "Invalid Registry Credentials", err.Error()+".")
			}
		}
	}
	var m providerModel
	if req.Config.Get(ctx, &m).HasError() {
		return // a whole argument is not known yet
	}
	if cfg, known := engineConfig(m); known {
		problems, warnings := cfg.Check()
		addProblems(&resp.Diagnostics, problems, true)
		addProblems(&resp.Diagnostics, warnings, false)
	}
}

func (p *swarmProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg, known := engineConfig(m)
	if !known {
		resp.Diagnostics.AddWarning("Provider Configuration Not Yet Known",
			"Some provider arguments depend on values known only after apply, so the provider cannot connect during this plan. Resources of this provider will be planned without reading the cluster.")
		return
	}
	cfg.OnRetry = func(ctx context.Context, n orchestrator.RetryNotice) {
		tflog.Warn(ctx, "engine call failed transiently, trying again", map[string]any{"call": n.Op, "attempt": n.Attempt, "wait": n.Wait.String(), "error": n.Err.Error()})
	}
	engine, err := orchestrator.New(ctx, cfg)
	if err != nil {
		addConnectError(&resp.Diagnostics, err)
		return
	}
	tflog.Debug(ctx, "connected to swarm manager", map[string]any{"host": cfg.Host})
	resp.ResourceData = engine
	resp.DataSourceData = engine
	resp.ActionData = engine
	resp.ListResourceData = engine
}

// engineConfig turns the provider block plus DOCKER_* variables into an engine Config. An
// argument that is set wins over its variable; an empty variable counts as not set. known is
// false when any argument is still unknown.
func engineConfig(m providerModel) (orchestrator.Config, bool) {
	for _, v := range []types.String{m.Host, m.CAPEM, m.CertPEM, m.KeyPEM, m.CertPath, m.APIVersion} {
		if v.IsUnknown() {
			return orchestrator.Config{}, false
		}
	}
	if m.TLSVerify.IsUnknown() {
		return orchestrator.Config{}, false
	}
	fromEnv := map[string]string{}
	// pick is the argument if it is set, else its variable if that is not empty, else nil.
	pick := func(v types.String, arg, env string) *string {
		if !v.IsNull() {
			return v.ValueStringPointer()
		}
		if s := os.Getenv(env); s != "" {
			fromEnv[arg] = env
			return &s
		}
		return nil
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	cfg := orchestrator.Config{
		Host:       str(pick(m.Host, "host", "DOCKER_HOST")),
		CAPEM:      m.CAPEM.ValueStringPointer(),
		CertPEM:    m.CertPEM.ValueStringPointer(),
		KeyPEM:     m.KeyPEM.ValueStringPointer(),
		CertPath:   pick(m.CertPath, "cert_path", "DOCKER_CERT_PATH"),
		APIVersion: str(pick(m.APIVersion, "api_version", "DOCKER_API_VERSION")),
		SSHOpts:    m.SSHOpts,
		FromEnv:    fromEnv,
	}
	if !m.TLSVerify.IsNull() {
		v := m.TLSVerify.ValueBool()
		cfg.TLSVerify = &v
	} else if env := os.Getenv("DOCKER_TLS_VERIFY"); env != "" {
		v := env != "0" && env != "false"
		cfg.TLSVerify = &v
		fromEnv["tls_verify"] = "DOCKER_TLS_VERIFY"
	}
	for _, a := range m.RegistryAuth {
		if a.Address.IsUnknown() || a.Username.IsUnknown() || a.Password.IsUnknown() || a.ConfigFileContent.IsUnknown() {
			return orchestrator.Config{}, false
		}
		cfg.RegistryAuth = append(cfg.RegistryAuth, orchestrator.RegistryAuth{
			Address: a.Address.ValueString(), Username: a.Username.ValueString(),
			Password: a.Password.ValueString(), ConfigFileContent: a.ConfigFileContent.ValueString(),
		})
	}
	return cfg, true
}

func (p *swarmProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{NewServiceResource, NewJobResource, NewScalingPolicyResource, NewNodeResource, NewNetworkResource, NewSecretResource, NewConfigResource,
		NewAutoscalerResource, NewStackResource}
}

func (p *swarmProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{NewServiceDataSource, NewServiceStatusDataSource, NewNodesDataSource, NewClusterDataSource,
		NewNetworkDataSource, NewSecretDataSource, NewConfigDataSource}
}

// Actions are the day-2 operations (Terraform 1.14 and newer).
func (p *swarmProvider) Actions(context.Context) []func() action.Action {
	return []func() action.Action{NewServiceRestartAction, NewServiceRollbackAction, NewJobRunAction, NewNodeDrainAction, NewNodeActivateAction}
}
