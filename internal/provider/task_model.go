package provider

// The container and task attributes that swarm_service and swarm_job share: one schema
// (taskAttributes) and one model part (taskModel) with one conversion each way (toTaskSpec,
// taskFrom). Each resource adds its own attributes (mode, replicas and rollout settings of a
// service; completions and triggers of a job) around them.

import (
	"github.com/docker/docker/api/types/swarm"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

// taskAttributes is the schema of the container and task attributes, with rp as the restart
// policy a configuration that leaves it out gets.
func taskAttributes(rp restartPolicyModel, restartDoc string) map[string]schema.Attribute {
	stringList := func(desc string) schema.ListAttribute {
		return schema.ListAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: desc}
	}
	stringMap := func(desc string) schema.MapAttribute {
		return schema.MapAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: desc}
	}
	duration := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{CustomType: durationType, Optional: true, MarkdownDescription: desc + " A Go duration such as `30s` or `1m30s`."}
	}
	return map[string]schema.Attribute{
		"image": schema.StringAttribute{
			CustomType: imageType, Required: true,
			MarkdownDescription: "Image reference. A tag is pinned to its digest through the registry when the service is written, so every node runs the same image; the pinned digest never shows as a diff.",
		},
		"command": stringList("Overrides the image's ENTRYPOINT."),
		"args":    stringList("Overrides the image's CMD."),
		"env": schema.MapAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: "Environment variables of the containers. Names cannot be empty or contain `=`.",
			Validators: []validator.Map{check{summary: "Invalid Environment Variable Name", text: orchestrator.CheckEnvName}}},
		"labels": schema.MapAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: "Service labels. Keys starting with `swarmform.` are reserved for the provider.",
			Validators: []validator.Map{userLabelKeys}},
		"container_labels": stringMap("Labels of the containers."),
		"healthcheck": schema.SingleNestedAttribute{
			Optional: true, MarkdownDescription: "Container healthcheck; overrides the image's. Tasks count as converged only once healthy.",
			Attributes: map[string]schema.Attribute{
				"test": schema.ListAttribute{ElementType: types.StringType, Required: true,
					MarkdownDescription: "`[\"CMD\", \"/app\", \"health\"]` (exec form), `[\"CMD-SHELL\", \"curl -f localhost\"]`, or `[\"NONE\"]` to disable the image's.",
					Validators:          []validator.List{check{summary: "Invalid Healthcheck Test", whole: orchestrator.CheckHealthcheckTest}}},
				"interval":     duration("Time between checks."),
				"timeout":      duration("Time a check may take."),
				"retries":      schema.Int64Attribute{CustomType: wholeType{}, Optional: true, MarkdownDescription: "Consecutive failures before unhealthy.", Validators: []validator.Int64{int64validator.AtLeast(1)}},
				"start_period": duration("Start-up time during which failures do not count."),
			},
		},
		"resources": resourcesAttribute(),
		"restart_policy": schema.SingleNestedAttribute{
			Optional: true, Computed: true,
			MarkdownDescription: restartDoc,
			Default: objectdefault.StaticValue(types.ObjectValueMust(restartPolicyAttrTypes, map[string]attr.Value{
				"condition": rp.Condition, "delay": rp.Delay, "max_attempts": rp.MaxAttempts, "window": rp.Window,
			})),
			Attributes: map[string]schema.Attribute{
				"condition": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(rp.Condition.ValueString()),
					MarkdownDescription: "`none`, `on-failure` or `any`.", Validators: []validator.String{stringvalidator.OneOf("none", "on-failure", "any")}},
				"delay": schema.StringAttribute{CustomType: durationType, Optional: true, Computed: true, Default: stringdefault.StaticString(rp.Delay.ValueString()),
					MarkdownDescription: "Wait between restarts."},
				"max_attempts": schema.Int64Attribute{CustomType: wholeType{}, Optional: true, Computed: true, Default: int64default.StaticInt64(rp.MaxAttempts.ValueInt64()),
					MarkdownDescription: "Give up after this many restarts in `window` (0: never).", Validators: []validator.Int64{int64validator.AtLeast(0)}},
				"window": schema.StringAttribute{CustomType: durationType, Optional: true, Computed: true, Default: stringdefault.StaticString(rp.Window.ValueString()),
					MarkdownDescription: "Window in which restarts are counted (0s: unbounded)."},
			},
		},
		"placement": schema.SingleNestedAttribute{
			Optional: true, MarkdownDescription: "Where tasks may run.",
			Attributes: map[string]schema.Attribute{
				"constraints": schema.SetAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: "Constraints such as `node.role==worker` or `node.labels.zone==a`.",
					Validators: []validator.Set{check{summary: "Invalid Constraint", text: orchestrator.CheckConstraint}}},
				"preferences": schema.ListAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: "Spread preferences such as `spread=node.labels.zone`, in order.",
					Validators: []validator.List{check{summary: "Invalid Placement Preference", text: orchestrator.CheckPreference}}},
				"max_replicas_per_node": schema.Int64Attribute{CustomType: wholeType{}, Optional: true, MarkdownDescription: "At most this many tasks of the service on one node.", Validators: []validator.Int64{int64validator.AtLeast(1)}},
			},
		},
		"mounts": schema.ListNestedAttribute{
			Optional: true, MarkdownDescription: "Volumes, bind mounts and tmpfs mounts.",
			NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"type":   schema.StringAttribute{Required: true, MarkdownDescription: "`volume`, `bind` or `tmpfs`.", Validators: []validator.String{stringvalidator.OneOf("volume", "bind", "tmpfs")}},
				"source": schema.StringAttribute{Optional: true, MarkdownDescription: "Volume name or host path. Not used with `tmpfs`."},
				"target": schema.StringAttribute{Required: true, MarkdownDescription: "Absolute path in the container; one mount per path.",
					Validators: []validator.String{check{summary: "Invalid Mount Target", text: orchestrator.CheckContainerPath}}},
				"read_only":  schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false), MarkdownDescription: "Mount read-only."},
				"tmpfs_size": schema.StringAttribute{CustomType: sizeType, Optional: true, MarkdownDescription: "Size limit of a `tmpfs` mount, e.g. `64MiB`."},
				"tmpfs_mode": schema.StringAttribute{Optional: true, MarkdownDescription: "Permissions of a `tmpfs` mount in octal, e.g. `1777`.",
					Validators: []validator.String{check{summary: "Invalid File Mode", text: orchestrator.CheckFileMode}}},
				"driver": schema.StringAttribute{Optional: true, MarkdownDescription: "Volume driver of a `volume` mount, e.g. `local`; the volume is made with it on each node that needs it.",
					Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
				"driver_options": schema.MapAttribute{ElementType: types.StringType, Optional: true,
					MarkdownDescription: "Options of the volume driver. NFS through the `local` driver: `{ type = \"nfs\", o = \"addr=10.0.0.5,rw\", device = \":/export/data\" }`."},
				"volume_labels": schema.MapAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: "Labels of a volume the mount creates."},
				"no_copy":       schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false), MarkdownDescription: "Do not copy the image's files at the target into a new volume."},
				"propagation": schema.StringAttribute{Optional: true, MarkdownDescription: "Mount propagation of a `bind` mount: `private`, `rprivate`, `shared`, `rshared`, `slave` or `rslave`.",
					Validators: []validator.String{stringvalidator.OneOf("private", "rprivate", "shared", "rshared", "slave", "rslave")}},
			}},
		},
		"networks": schema.ListNestedAttribute{
			Optional: true, MarkdownDescription: "Networks the tasks attach to, in order. Changing them updates the service in place (a rolling update).",
			NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"id": schema.StringAttribute{Required: true, MarkdownDescription: "ID or name of a swarm-scoped network, e.g. `swarm_network.backend.id`, or `host` or `bridge`, the networks every swarm has (as with `docker service create --network host`). " +
					"Either spelling plans no change. Each network once: an entry for a network another entry attaches already (the same way, or once by ID and once by name) is refused at plan time. " +
					"A network local to one node (`docker_gwbridge`, `none`, a bridge made outside swarm mode) is refused too: services attach only to swarm-scoped networks.",
					Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
				"aliases":        stringList("Extra DNS names of the service on this network."),
				"driver_options": stringMap("Driver options of the attachment."),
			}},
		},
		"secrets": fileRefsAttribute("Secrets made available to the tasks as files (under `/run/secrets/` unless `file_name` is absolute). A secret's data never appears in the service.", "secret", "swarm_secret.db.id"),
		"configs": fileRefsAttribute("Configs made available to the tasks as files.", "config", "swarm_config.nginx.id"),
		"pids_limit": schema.Int64Attribute{CustomType: wholeType{}, Optional: true, MarkdownDescription: "Most processes (and threads) in each task's container.",
			Validators: []validator.Int64{int64validator.AtLeast(1)}},
		"hostname": schema.StringAttribute{Optional: true, MarkdownDescription: "Container hostname (Go templates such as `{{.Task.Slot}}` allowed).",
			Validators: []validator.String{notEmpty("hostname")}},
		"user": schema.StringAttribute{Optional: true, MarkdownDescription: "User (and group) the process runs as, `user[:group]`.",
			Validators: []validator.String{notEmpty("user")}},
		"groups": stringList("Additional groups of the process."),
		"workdir": schema.StringAttribute{Optional: true, MarkdownDescription: "Working directory, an absolute path.",
			Validators: []validator.String{check{summary: "Invalid Working Directory", text: orchestrator.CheckContainerPath}}},
		"read_only": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false), MarkdownDescription: "Mount the container's root filesystem read-only."},
		"init":      schema.BoolAttribute{Optional: true, MarkdownDescription: "Run an init process as PID 1. Left out, the daemon's default applies. An import reads `false`, which the Docker CLI writes for every service it creates, as left out."},
		"stop_signal": schema.StringAttribute{Optional: true, MarkdownDescription: "Signal that stops the container, e.g. `SIGINT`.",
			Validators: []validator.String{check{summary: "Invalid Stop Signal", text: orchestrator.CheckSignal}}},
		"stop_grace_period": duration("Time between the stop signal and SIGKILL."),
		"cap_add": schema.SetAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: "Kernel capabilities to add, e.g. `CAP_NET_ADMIN`.",
			Validators: []validator.Set{check{summary: "Unknown Capability", text: orchestrator.CheckCapability}}},
		"cap_drop": schema.SetAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: "Kernel capabilities to drop.",
			Validators: []validator.Set{check{summary: "Unknown Capability", text: orchestrator.CheckCapability}}},
		"sysctls": stringMap("Namespaced kernel parameters, e.g. `net.core.somaxconn`."),
		"ulimits": schema.MapNestedAttribute{
			Optional: true, MarkdownDescription: "Resource limits by name (`nofile`, `nproc`, ...).",
			NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"soft": schema.Int64Attribute{CustomType: wholeType{}, Required: true, MarkdownDescription: "Soft limit."},
				"hard": schema.Int64Attribute{CustomType: wholeType{}, Required: true, MarkdownDescription: "Hard limit."},
			}},
		},
		"extra_hosts": schema.MapAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: "Extra /etc/hosts entries: host name to IP address."},
		"dns_config": schema.SingleNestedAttribute{
			Optional: true, MarkdownDescription: "Resolver configuration of the containers.",
			Attributes: map[string]schema.Attribute{
				"nameservers": stringList("Name server IP addresses."),
				"search":      stringList("Search domains."),
				"options":     stringList("resolv.conf options such as `ndots:2`."),
			},
		},
		"log_driver": schema.SingleNestedAttribute{
			Optional: true, MarkdownDescription: "Logging driver of the containers. Left out, the daemon's default applies.",
			Attributes: map[string]schema.Attribute{
				"name": schema.StringAttribute{Required: true, MarkdownDescription: "Driver name, e.g. `json-file` or `local`.",
					Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
				"options": stringMap("Driver options."),
			},
		},
	}
}

// taskModel is the model part of the container and task attributes, embedded in the models of
// swarm_service and swarm_job: the conversions below are the only ones.
type taskModel struct {
	Image           kindValue              `tfsdk:"image"`
	Command         []string               `tfsdk:"command"`
	Args            []string               `tfsdk:"args"`
	Env             map[string]string      `tfsdk:"env"`
	Labels          map[string]string      `tfsdk:"labels"`
	ContainerLabels map[string]string      `tfsdk:"container_labels"`
	Healthcheck     *healthcheckModel      `tfsdk:"healthcheck"`
	Resources       *resourcesModel        `tfsdk:"resources"`
	RestartPolicy   *restartPolicyModel    `tfsdk:"restart_policy"`
	Placement       *placementModel        `tfsdk:"placement"`
	Mounts          []mountModel           `tfsdk:"mounts"`
	Hostname        types.String           `tfsdk:"hostname"`
	User            types.String           `tfsdk:"user"`
	Groups          []string               `tfsdk:"groups"`
	Workdir         types.String           `tfsdk:"workdir"`
	ReadOnly        types.Bool             `tfsdk:"read_only"`
	Init            types.Bool             `tfsdk:"init"`
	StopSignal      types.String           `tfsdk:"stop_signal"`
	StopGracePeriod kindValue              `tfsdk:"stop_grace_period"`
	CapAdd          []string               `tfsdk:"cap_add"`
	CapDrop         []string               `tfsdk:"cap_drop"`
	Sysctls         map[string]string      `tfsdk:"sysctls"`
	Ulimits         map[string]ulimitModel `tfsdk:"ulimits"`
	ExtraHosts      map[string]string      `tfsdk:"extra_hosts"`
	Networks        []networkModel         `tfsdk:"networks"`
	Secrets         []fileRefModel         `tfsdk:"secrets"`
	Configs         []fileRefModel         `tfsdk:"configs"`
	PidsLimit       wholeValue             `tfsdk:"pids_limit"`
	DNSConfig       *dnsConfigModel        `tfsdk:"dns_config"`
	LogDriver       *logDriverModel        `tfsdk:"log_driver"`
}

// toTaskSpec turns the task attributes into the spec's task template and its service labels.
func (m taskModel) toTaskSpec() (swarm.TaskSpec, map[string]string) {
	return swarm.TaskSpec{
		ContainerSpec: m.containerSpec(),
		Resources:     m.Resources.toSwarm(m.PidsLimit),
		Networks:      networksToSwarm(m.Networks),
		RestartPolicy: m.RestartPolicy.toSwarm(),
		Placement:     m.Placement.toSwarm(),
		LogDriver:     m.LogDriver.toSwarm(),
	}, m.Labels
}

func (m taskModel) containerSpec() *swarm.ContainerSpec {
	cs := &swarm.ContainerSpec{
		Image:           m.Image.ValueString(),
		Labels:          m.ContainerLabels,
		Command:         m.Command,
		Args:            m.Args,
		Env:             envToSwarm(m.Env),
		Hostname:        m.Hostname.ValueString(),
		User:            m.User.ValueString(),
		Groups:          m.Groups,
		Dir:             m.Workdir.ValueString(),
		ReadOnly:        m.ReadOnly.ValueBool(),
		Init:            m.Init.ValueBoolPointer(),
		StopSignal:      m.StopSignal.ValueString(),
		StopGracePeriod: durationPointer(m.StopGracePeriod),
		CapabilityAdd:   sortedCopy(m.CapAdd),
		CapabilityDrop:  sortedCopy(m.CapDrop),
		Sysctls:         m.Sysctls,
		Ulimits:         ulimitsToSwarm(m.Ulimits),
		Hosts:           hostsToSwarm(m.ExtraHosts),
		DNSConfig:       m.DNSConfig.toSwarm(),
		Healthcheck:     m.Healthcheck.toSwarm(),
	}
	for _, r := range m.Secrets {
		cs.Secrets = append(cs.Secrets, r.secretToSwarm())
	}
	for _, r := range m.Configs {
		cs.Configs = append(cs.Configs, r.configToSwarm())
	}
	for _, mt := range m.Mounts {
		cs.Mounts = append(cs.Mounts, mt.toSwarm())
	}
	return cs
}

// taskFrom reads the task attributes of an observed service. prior (from state, plan or empty
// on import) decides between null and empty collections and keeps the configuration's
// spelling of references (see serviceFrom).
func taskFrom(st *orchestrator.ServiceState, prior taskModel) taskModel {
	spec := st.Service.Spec
	cs := spec.TaskTemplate.ContainerSpec
	if cs == nil {
		cs = &swarm.ContainerSpec{}
	}
	return taskModel{
		Image:           imageValue(cs.Image),
		Command:         keepEmpty(prior.Command, cs.Command),
		Args:            keepEmpty(prior.Args, cs.Args),
		Env:             keepEmptyMap(prior.Env, envFrom(cs.Env)),
		Labels:          keepEmptyMap(prior.Labels, userLabels(spec.Labels)),
		ContainerLabels: keepEmptyMap(prior.ContainerLabels, cs.Labels),
		Hostname:        stringOrNull(cs.Hostname),
		User:            stringOrNull(cs.User),
		Groups:          keepEmpty(prior.Groups, cs.Groups),
		Workdir:         stringOrNull(cs.Dir),
		ReadOnly:        types.BoolValue(cs.ReadOnly),
		Init:            initFrom(cs.Init, prior.Init),
		StopSignal:      stringOrNull(cs.StopSignal),
		StopGracePeriod: durationFromPointer(cs.StopGracePeriod),
		CapAdd:          keepEmpty(prior.CapAdd, cs.CapabilityAdd),
		CapDrop:         keepEmpty(prior.CapDrop, cs.CapabilityDrop),
		Sysctls:         keepEmptyMap(prior.Sysctls, cs.Sysctls),
		Ulimits:         ulimitsFrom(cs.Ulimits, prior.Ulimits),
		ExtraHosts:      keepEmptyMap(prior.ExtraHosts, hostsFrom(cs.Hosts)),
		DNSConfig:       dnsConfigFrom(cs.DNSConfig, prior.DNSConfig),
		Healthcheck:     healthcheckFrom(cs.Healthcheck),
		Mounts:          mountsFrom(cs.Mounts, prior.Mounts),
		Resources:       resourcesFrom(spec.TaskTemplate.Resources, prior.Resources),
		PidsLimit:       pidsLimitFrom(spec.TaskTemplate.Resources),
		Networks:        networksFrom(spec.TaskTemplate.Networks, prior.Networks, st.Resolve),
		Secrets:         secretsFrom(cs.Secrets, prior.Secrets, st.Resolve),
		Configs:         configsFrom(cs.Configs, prior.Configs, st.Resolve),
		RestartPolicy:   restartPolicyFrom(spec.TaskTemplate.RestartPolicy),
		Placement:       placementFrom(spec.TaskTemplate.Placement, prior.Placement),
		LogDriver:       logDriverFrom(spec.TaskTemplate.LogDriver, prior.LogDriver),
	}
}
