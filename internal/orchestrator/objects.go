package orchestrator

// The objects services attach to: overlay networks, secrets and configs. Networks cannot be
// changed once made (Docker has no update for them); secrets and configs only in their labels.
// A secret or config whose data changes is therefore a new object: the engine names each
// version after its content (prefix-<hash>), keeps every version a service still uses, and
// removes a superseded one once no service refers to it any more (see CollectSuperseded).

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/swarm"
)

// RotationLabel, on a secret or config, names the group of versions it belongs to (the name
// prefix of its resource); DataHashLabel holds the hash of its content, which its name ends in.
// A secret whose value is write-only carries no hash of it at all (a hash, keyed or not, that
// sits beside its key lets whoever reads both test guesses): its name ends in random digits,
// and DataVersionLabel holds the version number the configuration gave the value.
const (
	RotationLabel    = EngineLabelPrefix + "rotation"
	DataHashLabel    = EngineLabelPrefix + "data-hash"
	DataVersionLabel = EngineLabelPrefix + "data-version"
)

// removeWhenUnused runs remove until it stops failing because the object is in use.
func (e *Engine) removeWhenUnused(ctx context.Context, what string, remove func() error) error {
	tick := time.NewTicker(e.PollInterval)
	defer tick.Stop()
	for {
		err := e.retry(ctx, "remove "+what, func(context.Context) error { return remove() })
		if err == nil || cerrdefs.IsNotFound(err) {
			return nil
		}
		if !strings.Contains(err.Error(), "in use") && !strings.Contains(err.Error(), "has active endpoints") {
			return e.wrap("remove "+what, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("remove %s: still in use when the time ran out: %w", what, err)
		case <-tick.C:
		}
	}
}

// ObjectKind is a kind of object the engine makes by name: a secret or a config (the kinds
// Objects lists), a network or a service.
type ObjectKind string

const (
	KindSecret  ObjectKind = "secret"
	KindConfig  ObjectKind = "config"
	KindService ObjectKind = "service"
)

// Object is a secret or config as the engine sees it: never its data for a secret.
type Object struct {
	Kind      ObjectKind
	ID        string
	Name      string
	Labels    map[string]string
	CreatedAt time.Time
	// TemplateDriver is a config's templating driver ("golang"), or "".
	TemplateDriver string
	// Data is a config's content; always nil for a secret.
	Data []byte
}

// ObjectSpec is what a new version of a secret or config holds.
type ObjectSpec struct {
	// Name is the object's name; with Prefix set instead, the name is Prefix and 10 hex digits
	// of Hash (of random bits, where there is no Hash).
	Name   string
	Prefix string
	Labels map[string]string
	Data   []byte
	// TemplateDriver applies to configs only.
	TemplateDriver string
	// Hash is the hash of the content (DataHash), recorded on the object; empty for a
	// write-only value, which leaves no hash anywhere.
	Hash string
	// DataVersion is the version number a configuration gave a write-only value, recorded on
	// the object so that an import reads it back; empty for none.
	DataVersion string
}

// DataHash is the hash of a version's content: its data, template driver and whatever else
// changes it (extra), keyed for secrets.
func DataHash(key, data []byte, extra ...string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(data)
	for _, x := range extra {
		mac.Write([]byte{0})
		mac.Write([]byte(x))
	}
	return hex.EncodeToString(mac.Sum(nil))
}

// VersionName is the name of a version of a rotating object: the prefix and 10 hex digits
// of its content hash (or of random bits).
func VersionName(prefix, hash string) string { return prefix + hash[:10] }

// randomHex is 16 random bytes in hex: the name of a version whose content leaves no hash.
func randomHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Objects lists the secrets or configs from the shared snapshot.
func (e *Engine) Objects(ctx context.Context, kind ObjectKind) ([]Object, error) {
	var out []Object
	switch kind {
	case KindSecret:
		list, err := e.Secrets(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range list {
			out = append(out, Object{Kind: kind, ID: s.ID, Name: s.Spec.Name, Labels: s.Spec.Labels, CreatedAt: s.CreatedAt})
		}
	case KindConfig:
		list, err := e.Configs(ctx)
		if err != nil {
			return nil, err
		}
		for _, c := range list {
			o := Object{Kind: kind, ID: c.ID, Name: c.Spec.Name, Labels: c.Spec.Labels, CreatedAt: c.CreatedAt, Data: c.Spec.Data}
			if c.Spec.Templating != nil {
				o.TemplateDriver = c.Spec.Templating.Name
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// Object finds a secret or config by ID or name.
func (e *Engine) Object(ctx context.Context, kind ObjectKind, idOrName string) (Object, error) {
	return e.ObjectBy(ctx, kind, ByIDOrName, idOrName)
}

// ObjectBy finds a secret or config by what by says key is.
func (e *Engine) ObjectBy(ctx context.Context, kind ObjectKind, by By, idOrName string) (Object, error) {
	list, err := e.Objects(ctx, kind)
	if err != nil {
		return Object{}, err
	}
	o, ok := findBy(list, by, idOrName, func(o Object) string { return o.ID }, func(o Object) string { return o.Name })
	if !ok {
		return o, fmt.Errorf("%s %q: %w", kind, idOrName, ErrNotFound)
	}
	return o, nil
}

// LatestVersion finds the newest version of a rotating secret or config: of those whose
// rotation label is prefix, the one created last. It is how a configuration that does not
// manage the object refers to whatever version is current.
func (e *Engine) LatestVersion(ctx context.Context, kind ObjectKind, prefix string) (Object, error) {
	list, err := e.Objects(ctx, kind)
	if err != nil {
		return Object{}, err
	}
	o, ok := newestInGroup(list, prefix)
	if !ok {
		return o, fmt.Errorf("%s versions named %q + content hash: %w", kind, prefix, ErrNotFound)
	}
	return o, nil
}

// newestInGroup is the version of the rotation group prefix created last; on equal times, the
// greater ID, so that the choice never depends on the order Swarm lists them in.
func newestInGroup(list []Object, prefix string) (Object, bool) {
	var best Object
	found := false
	for _, o := range list {
		if prefix == "" || o.Labels[RotationLabel] != prefix {
			continue
		}
		if !found || o.CreatedAt.After(best.CreatedAt) || (o.CreatedAt.Equal(best.CreatedAt) && o.ID > best.ID) {
			best, found = o, true
		}
	}
	return best, found
}

// CreateObject makes a secret or config. With a prefix, the name ends in the content hash (in
// random digits for a write-only value) and the rotation labels say which group the version
// belongs to; when the version of that content exists already, it is taken as it is.
func (e *Engine) CreateObject(ctx context.Context, kind ObjectKind, s ObjectSpec) (Object, error) {
	defer e.Invalidate()
	labels := map[string]string{}
	for k, v := range s.Labels {
		labels[k] = v
	}
	if s.Hash != "" {
		labels[DataHashLabel] = s.Hash
	}
	if s.DataVersion != "" {
		labels[DataVersionLabel] = s.DataVersion
	}
	name := s.Name
	if s.Prefix != "" {
		suffix := s.Hash
		if suffix == "" {
			suffix = randomHex()
		}
		name = VersionName(s.Prefix, suffix)
		labels[RotationLabel] = s.Prefix
		if o, err := e.Object(ctx, kind, name); err == nil && s.Hash != "" && o.Labels[DataHashLabel] == s.Hash {
			return o, nil
		}
	}
	annotations := swarm.Annotations{Name: name, Labels: labels}
	var id string
	lost := false // an earlier attempt's answer was lost: it may have made the object
	since := e.clock.before(time.Now())
	err := e.retry(ctx, fmt.Sprintf("create %s %s", kind, name), func(ctx context.Context) error {
		if lost {
			e.Invalidate()
			o, err := e.Object(ctx, kind, name)
			if err == nil && !o.CreatedAt.Before(since) && jsonEqual(o.Labels, labels) {
				id = o.ID
				return nil
			}
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		var err error
		switch kind {
		case KindSecret:
			var resp swarm.SecretCreateResponse
			resp, err = e.cli.SecretCreate(ctx, swarm.SecretSpec{Annotations: annotations, Data: s.Data})
			id = resp.ID
		case KindConfig:
			spec := swarm.ConfigSpec{Annotations: annotations, Data: s.Data}
			if s.TemplateDriver != "" {
				spec.Templating = &swarm.Driver{Name: s.TemplateDriver}
			}
			var resp swarm.ConfigCreateResponse
			resp, err = e.cli.ConfigCreate(ctx, spec)
			id = resp.ID
		}
		lost = lost || Transient(err)
		return err
	})
	if err != nil {
		if cerrdefs.IsConflict(err) || cerrdefs.IsAlreadyExists(err) {
			if exists := e.existsError(ctx, kind, name); exists != nil {
				return Object{}, exists
			}
		}
		return Object{}, e.wrap(fmt.Sprintf("create %s %s", kind, name), err)
	}
	if s.Prefix != "" {
		// Older versions no service uses any more (left by a wait that was skipped or cut
		// short) go now; the one services still use stays until they move off it.
		e.Invalidate()
		if err := e.collect(ctx, kind, s.Prefix, nil, true); err != nil {
			return Object{}, err
		}
	}
	return Object{Kind: kind, ID: id, Name: name, Labels: labels, TemplateDriver: s.TemplateDriver}, nil
}

// SetObjectLabels replaces the labels of a secret or config (the one change Swarm allows),
// keeping the engine's own, with the object's version and a retry when another writer was
// first.
func (e *Engine) SetObjectLabels(ctx context.Context, kind ObjectKind, id string, labels map[string]string) error {
	defer e.Invalidate()
	merge := func(observed map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range labels {
			out[k] = v
		}
		for k, v := range observed {
			if strings.HasPrefix(k, EngineLabelPrefix) {
				out[k] = v
			}
		}
		return out
	}
	for attempt := 1; ; attempt++ {
		// Setting the same labels again is harmless: transient failures are tried again.
		err := e.retry(ctx, fmt.Sprintf("update the labels of %s %s", kind, id), func(ctx context.Context) (err error) {
			switch kind {
			case KindSecret:
				var s swarm.Secret
				if s, _, err = e.cli.SecretInspectWithRaw(ctx, id); err == nil {
					s.Spec.Labels = merge(s.Spec.Labels)
					err = e.cli.SecretUpdate(ctx, id, s.Version, s.Spec)
				}
			case KindConfig:
				var c swarm.Config
				if c, _, err = e.cli.ConfigInspectWithRaw(ctx, id); err == nil {
					c.Spec.Labels = merge(c.Spec.Labels)
					err = e.cli.ConfigUpdate(ctx, id, c.Version, c.Spec)
				}
			}
			return err
		})
		switch {
		case err == nil:
			return nil
		case cerrdefs.IsNotFound(err):
			return fmt.Errorf("%s %s: %w", kind, id, ErrNotFound)
		case isOutOfSequence(err) && attempt < 5:
			continue
		}
		return e.wrap(fmt.Sprintf("update the labels of %s %s", kind, id), err)
	}
}

// ErrInUse is a secret or config that services still refer to.
var ErrInUse = errors.New("in use")

// DeleteObject removes a secret or config, and the superseded versions of its group that no
// service uses. While services still refer to the object itself it fails with ErrInUse,
// naming them. A missing object is not an error.
func (e *Engine) DeleteObject(ctx context.Context, kind ObjectKind, id string) error {
	defer e.Invalidate()
	o, err := e.Object(ctx, kind, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	users, err := e.objectUsers(ctx, kind)
	if err != nil {
		return err
	}
	if names := users[o.ID]; len(names) > 0 {
		return fmt.Errorf("%s %s is used by service %s: %w", kind, o.Name, strings.Join(names, ", "), ErrInUse)
	}
	if err := e.removeObject(ctx, kind, o.ID); err != nil {
		return err
	}
	if group := o.Labels[RotationLabel]; group != "" {
		return e.collect(ctx, kind, group, nil, false)
	}
	return nil
}

func (e *Engine) removeObject(ctx context.Context, kind ObjectKind, id string) error {
	// A removal whose answer was lost is made again; not found then means it was made.
	err := e.retry(ctx, fmt.Sprintf("remove %s %s", kind, id), func(ctx context.Context) error {
		if kind == KindSecret {
			return e.cli.SecretRemove(ctx, id)
		}
		return e.cli.ConfigRemove(ctx, id)
	})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return e.wrap(fmt.Sprintf("remove %s %s", kind, id), err)
	}
	return nil
}

// objectUsers maps each network, secret or config ID to the names of the services whose spec
// refers to it.
func (e *Engine) objectUsers(ctx context.Context, kind ObjectKind) (map[string][]string, error) {
	e.Invalidate() // a service may have moved off it a moment ago
	services, err := e.Services(ctx)
	if err != nil {
		return nil, err
	}
	users := map[string][]string{}
	for _, svc := range services {
		for _, id := range objectRefs(svc.Spec, kind) {
			users[id] = append(users[id], svc.Spec.Name)
		}
	}
	return users, nil
}

// objectRefs are the IDs of the networks, secrets or configs a spec refers to.
func objectRefs(spec swarm.ServiceSpec, kind ObjectKind) []string {
	if kind == KindNetwork {
		var ids []string
		for _, n := range spec.TaskTemplate.Networks {
			ids = append(ids, n.Target)
		}
		return ids
	}
	cs := spec.TaskTemplate.ContainerSpec
	if cs == nil {
		return nil
	}
	var ids []string
	switch kind {
	case KindSecret:
		for _, r := range cs.Secrets {
			ids = append(ids, r.SecretID)
		}
	case KindConfig:
		for _, r := range cs.Configs {
			ids = append(ids, r.ConfigID)
		}
	}
	return ids
}

// movedOff lists the secrets and configs (by ID) that spec before refers to and after does not.
func movedOff(before, after swarm.ServiceSpec) map[ObjectKind][]string {
	var out map[ObjectKind][]string
	for _, kind := range []ObjectKind{KindSecret, KindConfig} {
		kept := map[string]bool{}
		for _, id := range objectRefs(after, kind) {
			kept[id] = true
		}
		for _, id := range objectRefs(before, kind) {
			if !kept[id] {
				if out == nil {
					out = map[ObjectKind][]string{}
				}
				out[kind] = append(out[kind], id)
				kept[id] = true
			}
		}
	}
	return out
}

// CollectSuperseded removes the secrets and configs a service moved off (a write's MovedOff)
// that are versions of a rotating group, once no service uses them and a newer version of
// their group exists. It runs after the service converged on its new spec.
func (e *Engine) CollectSuperseded(ctx context.Context, moved map[ObjectKind][]string) error {
	for _, kind := range []ObjectKind{KindSecret, KindConfig} {
		if len(moved[kind]) == 0 {
			continue
		}
		left := map[string]bool{}
		for _, id := range moved[kind] {
			left[id] = true
		}
		objects, err := e.Objects(ctx, kind)
		if err != nil {
			return err
		}
		groups := map[string]bool{}
		for _, o := range objects {
			if left[o.ID] && o.Labels[RotationLabel] != "" {
				groups[o.Labels[RotationLabel]] = true
			}
		}
		for group := range groups {
			if err := e.collect(ctx, kind, group, left, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// collect removes the versions of a group (only those in only, when given) that no service
// uses, except the newest when keepNewest.
func (e *Engine) collect(ctx context.Context, kind ObjectKind, group string, only map[string]bool, keepNewest bool) error {
	objects, err := e.Objects(ctx, kind)
	if err != nil {
		return err
	}
	var versions []Object
	for _, o := range objects {
		if o.Labels[RotationLabel] == group {
			versions = append(versions, o)
		}
	}
	if len(versions) == 0 {
		return nil
	}
	sort.Slice(versions, func(i, j int) bool { return versions[i].CreatedAt.Before(versions[j].CreatedAt) })
	if keepNewest {
		versions = versions[:len(versions)-1]
	}
	users, err := e.objectUsers(ctx, kind)
	if err != nil {
		return err
	}
	for _, o := range versions {
		if len(users[o.ID]) > 0 || only != nil && !only[o.ID] {
			continue
		}
		if err := e.removeObject(ctx, kind, o.ID); err != nil {
			return err
		}
	}
	e.Invalidate()
	return nil
}

// resolveRefs turns the networks, secrets and configs a spec refers to by name into IDs (and,
// for secrets and configs, the names Swarm also wants), from the shared snapshot. A spec as
// written may name them either way; the spec sent to Swarm, and every comparison, uses IDs.
// A network given twice (the same way or both ways) is refused, as CheckServiceNetworks says.
func (e *Engine) resolveRefs(ctx context.Context, spec *swarm.ServiceSpec) error {
	tt := &spec.TaskTemplate
	if len(tt.Networks) > 0 {
		nets := append([]swarm.NetworkAttachmentConfig(nil), tt.Networks...)
		targets, ids := make([]string, len(nets)), make([]string, len(nets))
		for i, n := range nets {
			found, err := e.Network(ctx, n.Target)
			if err != nil {
				return fmt.Errorf("the service refers to network %q: %w", n.Target, err)
			}
			targets[i], ids[i] = n.Target, found.ID
			nets[i].Target = found.ID
		}
		if problems := duplicateNetworks(targets, ids); len(problems) > 0 {
			return &ProblemsError{Op: "attach service " + spec.Name + " to its networks", Problems: problems}
		}
		tt.Networks = nets
	}
	cs := tt.ContainerSpec
	if cs == nil || len(cs.Secrets)+len(cs.Configs) == 0 {
		return nil
	}
	resolved := *cs
	resolved.Secrets, resolved.Configs = nil, nil
	for _, r := range cs.Secrets {
		o, err := e.Object(ctx, KindSecret, r.SecretID)
		if err != nil {
			return fmt.Errorf("the service refers to secret %q: %w", r.SecretID, err)
		}
		ref := *r
		ref.SecretID, ref.SecretName = o.ID, o.Name
		resolved.Secrets = append(resolved.Secrets, &ref)
	}
	for _, r := range cs.Configs {
		o, err := e.Object(ctx, KindConfig, r.ConfigID)
		if err != nil {
			return fmt.Errorf("the service refers to config %q: %w", r.ConfigID, err)
		}
		ref := *r
		ref.ConfigID, ref.ConfigName = o.ID, o.Name
		resolved.Configs = append(resolved.Configs, &ref)
	}
	tt.ContainerSpec = &resolved
	return nil
}

// RefResolver says which object an ID or name refers to (its ID and name), for reading back a
// spec whose references a configuration may spell either way.
type RefResolver func(kind ObjectKind, idOrName string) (id, name string, ok bool)

// KindNetwork is a network, for a RefResolver.
const KindNetwork ObjectKind = "network"

// Resolver answers from the shared snapshot.
func (e *Engine) Resolver(ctx context.Context) RefResolver {
	return func(kind ObjectKind, idOrName string) (string, string, bool) {
		if kind == KindNetwork {
			n, err := e.Network(ctx, idOrName)
			return n.ID, n.Name, err == nil
		}
		o, err := e.Object(ctx, kind, idOrName)
		return o.ID, o.Name, err == nil
	}
}
