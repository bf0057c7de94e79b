package provider

// What swarm_secret and swarm_config share. Swarm cannot change a secret's or config's data,
// and cannot remove one while a service uses it. With name_prefix, a new value is a new
// object named after its content (prefix + hash): the resource's id changes in place, the
// services that refer to it move to the new object in their own update, and the engine
// removes the superseded object once no service uses it. With a fixed name, a new value
// replaces the object, which Swarm refuses while a service uses it; the plan warns.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

// objectModel is what swarm_secret and swarm_config have in common.
type objectModel struct {
	ID         types.String      `tfsdk:"id"`
	Name       types.String      `tfsdk:"name"`
	NamePrefix types.String      `tfsdk:"name_prefix"`
	Labels     map[string]string `tfsdk:"labels"`
	// DataHash is the hash of a value that state keeps anyway (a config's data, a secret's
	// data); null for a write-only value.
	DataHash types.String `tfsdk:"data_hash"`
	// DataVersion is a secret's data_wo_version; always null for a config.
	DataVersion wholeValue `tfsdk:"data_wo_version"`
}

// objectContent is the value a configuration gives, and what else makes a version.
type objectContent struct {
	data  []byte
	known bool // false while the value depends on something not known yet
	set   bool // false for an imported object whose value the configuration does not give
	// writeOnly says the value is write-only: nothing derived from it may be kept, so a new
	// value is told by version (data_wo_version), "" for none.
	writeOnly bool
	version   string
	driver    string
}

// hash is what state records of the content: the keyed hash of a value Terraform keeps
// anyway, and nothing ("") for a write-only value. Any function of a write-only value kept
// in state would let whoever reads state test guesses for it, and private state, where a key
// would live, is in the same state file.
func (c objectContent) hash(key []byte) string {
	if c.writeOnly {
		return ""
	}
	// The empty field is where version 0 of the schema hashed data_wo_version in too: kept,
	// so that the hashes state and existing objects hold stay the same.
	return orchestrator.DataHash(key, c.data, "", c.driver)
}

// changes says whether the content is a new version compared with what state records: a new
// hash, or for a write-only value a new version number (or a switch from a kept value).
func (c objectContent) changes(key []byte, prior objectModel) bool {
	if c.writeOnly {
		return !prior.DataHash.IsNull() || c.version != versionString(prior.DataVersion)
	}
	return c.hash(key) != prior.DataHash.ValueString()
}

// versionString is data_wo_version as the object's label spells it; "" when null.
func versionString(v wholeValue) string {
	if v.IsNull() || v.IsUnknown() {
		return ""
	}
	return strconv.FormatInt(v.ValueInt64(), 10)
}

// objectResourceModel is a secret's or a config's model (a pointer to it): the fields every
// object has, and the rest as configured.
type objectResourceModel interface {
	object() objectModel
	setObject(objectModel)
	// keepsHash says whether state keeps a hash of the value: not for a write-only value.
	keepsHash() bool
}

// objectResource holds the shared behaviour; kind says which object it is.
type objectResource struct {
	resourceBase
	kind orchestrator.ObjectKind
	// model returns a new, empty model of the resource.
	model func() objectResourceModel
	// content reads the value from a configuration (write-only values included).
	content func(ctx context.Context, cfg tfsdk.Config, diags *diag.Diagnostics) objectContent
	// keyed says whether the content hash is keyed (secrets: the hash must tell nothing about
	// the value).
	keyed bool
}

// hashKeyKey names the private state that holds a secret's hash key.
const hashKeyKey = "hash_key"

// hashKey is the resource's key for content hashes, made once and kept in private state.
func (r *objectResource) hashKey(ctx context.Context, private privateGetter) []byte {
	if !r.keyed {
		return nil
	}
	var k string
	if readPrivate(ctx, private, hashKeyKey, &k) {
		if b, err := hex.DecodeString(k); err == nil && len(b) > 0 {
			return b
		}
	}
	return nil
}

func newHashKey() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

// plan works out a create or update: with a known value, the new hash, and with a prefix, the
// version's name. A new value under a fixed name replaces the object.
func (r *objectResource) plan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, state objectModel
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("id"), &plan.ID)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("name"), &plan.Name)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("name_prefix"), &plan.NamePrefix)...)
	creating := req.State.Raw.IsNull()
	if !creating {
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("data_hash"), &state.DataHash)...)
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("name"), &state.Name)...)
		if r.keyed {
			resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("data_wo_version"), &state.DataVersion)...)
		}
	}
	content := r.content(ctx, req.Config, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	set := func(p path.Path, v types.String) { resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, p, v)...) }
	prefixed := !plan.NamePrefix.IsNull()
	if content.writeOnly {
		// Nothing of the value is kept: data_hash stays null, and a new version (a new
		// data_wo_version, or one not known yet) gets a name of random digits, known after
		// apply.
		set(path.Root("data_hash"), types.StringNull())
		if !creating && content.known && !content.changes(nil, state) {
			return
		}
		if prefixed {
			set(path.Root("name"), types.StringUnknown())
			set(path.Root("id"), types.StringUnknown())
		}
		if !creating {
			r.newVersionUnderName(state, prefixed, resp)
		}
		return
	}
	key := r.hashKey(ctx, req.Private)
	if key == nil && r.keyed {
		if creating || !content.set {
			return // a new key is made at apply; the hash and a prefixed name are known then
		}
		key = newHashKey() // state from before keys were kept: the next write keeps one
	}
	if !content.known && !creating {
		// The value depends on something not known yet: it may be a new version.
		set(path.Root("data_hash"), types.StringUnknown())
		if prefixed {
			set(path.Root("name"), types.StringUnknown())
			set(path.Root("id"), types.StringUnknown())
		} else {
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("data_hash"))
		}
		return
	}
	if !content.known || !content.set {
		return
	}
	if !creating && !content.changes(key, state) {
		return
	}
	hash := content.hash(key)
	if !r.keyed || !creating {
		set(path.Root("data_hash"), types.StringValue(hash))
	}
	switch {
	case prefixed && (!r.keyed || !creating):
		set(path.Root("name"), types.StringValue(orchestrator.VersionName(plan.NamePrefix.ValueString(), hash)))
		set(path.Root("id"), types.StringUnknown())
	case prefixed:
		set(path.Root("id"), types.StringUnknown())
	case !creating:
		r.newVersionUnderName(state, false, resp)
	}
}

// newVersionUnderName plans a new value under a fixed name: a new object under the same name,
// which replaces the old one, and which Swarm refuses while a service uses the old one.
func (r *objectResource) newVersionUnderName(state objectModel, prefixed bool, resp *resource.ModifyPlanResponse) {
	if prefixed {
		return
	}
	resp.RequiresReplace = append(resp.RequiresReplace, path.Root("data_hash"))
	if r.keyed {
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("data_wo_version"))
	}
	addPathWarning(&resp.Diagnostics, path.Root("name"), "Replacing a "+string(r.kind)+" in Use Fails",
		fmt.Sprintf("The new value of %s %q replaces it, and Swarm refuses to remove a %s that a service still uses. Give it a name_prefix instead of a name: each value then gets an object of its own, the services move to it in a rolling update, and the old one is removed once unused.",
			r.kind, state.Name.ValueString(), r.kind))
}

func (r *objectResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	defer setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	plan := r.model()
	resp.Diagnostics.Append(req.Plan.Get(ctx, plan)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	r.write(ctx, req.Config, plan.object(), nil, resp.Private, modelState{plan, &resp.State}, &resp.Diagnostics)
}

// Read refreshes the shared fields; the rest of the model stays as it is in state.
func (r *objectResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	defer setReadIdentity(ctx, req.State, &resp.State, resp.Identity, &resp.Diagnostics)
	state := r.model()
	resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	o := state.object()
	if !r.read(ctx, &o, state.keepsHash(), &resp.Diagnostics) {
		resp.State.RemoveResource(ctx)
		return
	}
	if r.keyed && !state.keepsHash() {
		// A write-only value keeps nothing: not a hash, and not the key of one (states from
		// before write-only values kept nothing have both).
		writePrivate(ctx, resp.Private, hashKeyKey, nil, &resp.Diagnostics)
	}
	state.setObject(o)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *objectResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	defer setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	plan, state := r.model(), r.model()
	resp.Diagnostics.Append(req.Plan.Get(ctx, plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	prior := state.object()
	r.write(ctx, req.Config, plan.object(), &prior, resp.Private, modelState{plan, &resp.State}, &resp.Diagnostics)
}

func (r *objectResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	state := r.model()
	resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	r.remove(ctx, state.object(), &resp.Diagnostics)
}

func (r *objectResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if r.engine == nil {
		return
	}
	r.plan(ctx, req, resp)
}

// modelState writes the shared object fields into state, keeping the rest of the planned
// model.
type modelState struct {
	plan  objectResourceModel
	state *tfsdk.State
}

func (s modelState) Set(ctx context.Context, val any) diag.Diagnostics {
	o, _ := val.(objectModel)
	s.plan.setObject(o)
	return s.state.Set(ctx, s.plan)
}

// write creates a new version (or, with an unchanged value, only sets the labels) and records
// it in state.
func (r *objectResource) write(ctx context.Context, cfg tfsdk.Config, plan objectModel, prior *objectModel, private interface {
	privateGetter
	privateSetter
}, st stateSetter, diags *diag.Diagnostics) {
	content := r.content(ctx, cfg, diags)
	if diags.HasError() {
		return
	}
	key := r.hashKey(ctx, private)
	switch {
	case content.writeOnly:
		// A key kept from a value that was not write-only (or from before write-only values
		// kept nothing) goes: with the hash gone from state it serves nothing.
		key = nil
		writePrivate(ctx, private, hashKeyKey, nil, diags)
	case key == nil && r.keyed:
		key = newHashKey()
		writePrivate(ctx, private, hashKeyKey, hex.EncodeToString(key), diags)
	}
	if prior != nil && (!content.set || !content.changes(key, *prior)) {
		// The same value: only the labels can have changed.
		if err := r.engine.SetObjectLabels(ctx, r.kind, prior.ID.ValueString(), plan.Labels); err != nil {
			addEngineError(diags, fmt.Sprintf("Cannot Update %s Labels", title(r.kind)), fmt.Sprintf("Setting the labels of %s %s", r.kind, prior.Name.ValueString()), err)
			return
		}
		plan.ID, plan.Name, plan.DataHash = prior.ID, prior.Name, prior.DataHash
		if content.writeOnly {
			plan.DataHash = types.StringNull()
		}
		diags.Append(st.Set(ctx, plan)...)
		return
	}
	hash := content.hash(key)
	spec := orchestrator.ObjectSpec{Name: plan.Name.ValueString(), Prefix: plan.NamePrefix.ValueString(), Labels: plan.Labels, Data: content.data,
		TemplateDriver: content.driver, Hash: hash}
	if content.writeOnly {
		spec.DataVersion = content.version
	}
	o, err := r.engine.CreateObject(ctx, r.kind, spec)
	if err != nil {
		addEngineError(diags, fmt.Sprintf("Cannot Create %s", title(r.kind)), fmt.Sprintf("Creating %s %s", r.kind, orDefault(spec.Name, spec.Prefix+"…")), err)
		return
	}
	tflog.Info(ctx, string(r.kind)+" version created", map[string]any{"name": o.Name, "id": o.ID})
	plan.ID, plan.Name, plan.DataHash = types.StringValue(o.ID), types.StringValue(o.Name), stringOrNull(hash)
	diags.Append(st.Set(ctx, plan)...)
}

// read refreshes the model from the object; false when it is gone. keepsHash says whether
// state records a hash of the value; the object's hash label is then read back (after an
// import, the one way to know the value's version).
func (r *objectResource) read(ctx context.Context, m *objectModel, keepsHash bool, diags *diag.Diagnostics) bool {
	o, err := r.engine.Object(ctx, r.kind, m.ID.ValueString())
	if errors.Is(err, orchestrator.ErrNotFound) {
		return false
	}
	if err != nil {
		addEngineError(diags, fmt.Sprintf("Cannot Read %s", title(r.kind)), fmt.Sprintf("Reading %s %s", r.kind, m.ID.ValueString()), err)
		return true
	}
	*m = objectFrom(o, *m, keepsHash, r.keyed)
	return true
}

// objectFrom is the one function that turns an observed secret or config into the shared
// fields of its model; prior is the model as state has it. keepsHash says whether state
// records a hash of the value: the object's hash label is then read back (after an import,
// the one way to know the value's version). keyed says whether it is a secret, whose
// data_wo_version its label records.
func objectFrom(o orchestrator.Object, prior objectModel, keepsHash, keyed bool) objectModel {
	m := prior
	m.Name = types.StringValue(o.Name)
	m.Labels = keepEmptyMap(m.Labels, userLabels(o.Labels))
	switch h := o.Labels[orchestrator.DataHashLabel]; {
	case !keepsHash:
		m.DataHash = types.StringNull()
	case h != "":
		m.DataHash = types.StringValue(h)
	}
	if v, err := strconv.ParseInt(o.Labels[orchestrator.DataVersionLabel], 10, 64); err == nil && keyed {
		m.DataVersion = wholeValue{Int64Value: types.Int64Value(v)}
	}
	if p := o.Labels[orchestrator.RotationLabel]; p != "" {
		m.NamePrefix = types.StringValue(p)
	}
	return m
}

func (r *objectResource) remove(ctx context.Context, m objectModel, diags *diag.Diagnostics) {
	err := r.engine.DeleteObject(ctx, r.kind, m.ID.ValueString())
	if errors.Is(err, orchestrator.ErrInUse) {
		diags.AddError(fmt.Sprintf("%s In Use", title(r.kind)), fmt.Sprintf("Removing %s %s: %v. Remove it from those services first (services in this configuration are updated before it is removed, when they refer to it).", r.kind, m.Name.ValueString(), err))
		return
	}
	if err != nil {
		addEngineError(diags, fmt.Sprintf("Cannot Delete %s", title(r.kind)), fmt.Sprintf("Removing %s %s", r.kind, m.Name.ValueString()), err)
	}
}

// IdentitySchema: a secret or config is known by its ID and by its name, which is unique among
// its kind in the swarm. Both change in place when a new value of a name_prefix object is
// rotated in: the identity is the object that holds the value now, so the resource declares
// a mutable identity (MutableIdentity in Metadata) rather than keep naming a superseded
// object, which the engine removes once no service uses it.
func (r *objectResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityByIDAndName(fmt.Sprintf("The %s's ID. An import block may give the %s's name here instead.", r.kind, r.kind),
		fmt.Sprintf("The %s's name, unique among the swarm's %ss.", r.kind, r.kind))
}

// ImportState takes the object's ID or name.
func (r *objectResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !r.connected(&resp.Diagnostics) {
		return
	}
	key := importKey(ctx, req, "id", &resp.Diagnostics)
	o, err := r.engine.Object(ctx, r.kind, key)
	if err != nil {
		addEngineError(&resp.Diagnostics, fmt.Sprintf("Cannot Import %s", title(r.kind)), fmt.Sprintf("Looking up %s %s", r.kind, key), err)
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), o.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), o.Name)...)
	setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
}

// title is a kind as a word of a diagnostic's summary: "Secret", "Network".
func title(k orchestrator.ObjectKind) string {
	if k == "" {
		return ""
	}
	return strings.ToUpper(string(k[:1])) + string(k[1:])
}
