package graphsim

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// The mutation API: what tests, demos and scenario steps use to change the
// tenant while it runs. Every change increments Version and shows in the
// list endpoints and delta rounds; a change to a user or group is sent to
// the subscriptions on users or groups. Change runs several changes as one
// step; Update, Create, Delete and AppendLog are one-change shortcuts.

// Tx is the tenant while a Change function runs. It holds the tenant's
// write lock: requests wait, then see every change of the function or
// none. Its reads return copies (changing them changes nothing) and see the
// changes made so far. A Tx is valid only inside its function.
type Tx struct {
	s     *Server
	st    *store
	notes []txNote // users and groups to notify, in order of first change
}

type txNote struct {
	kind    ObjectKind
	id      string
	deleted bool // deleted for good: notified as "deleted"
}

// Change runs fn with the tenant locked and then notifies every user and
// group it changed, once each, to the subscriptions on users or groups
// ("deleted" for an object deleted for good, otherwise "updated": Graph
// announces creations and soft deletions that way). It returns the ids of
// the subscriptions notified, and fn's error (changes made before the
// error stay, and are notified).
func (s *Server) Change(fn func(*Tx) error) ([]string, error) {
	tx := &Tx{s: s, st: s.store}
	err := func() error {
		s.store.mu.Lock()
		defer s.store.mu.Unlock()
		return fn(tx)
	}()
	var notified []string
	for _, n := range tx.notes {
		change := "updated"
		if n.deleted {
			change = "deleted"
		}
		notified = append(notified, s.notify(n.kind, n.id, change)...)
	}
	return notified, err
}

func (tx *Tx) note(kind ObjectKind, id string, deleted bool) {
	if kind != KindUser && kind != KindGroup {
		return
	}
	for i := range tx.notes {
		if tx.notes[i].kind == kind && strings.EqualFold(tx.notes[i].id, id) {
			tx.notes[i].deleted = deleted
			return
		}
	}
	tx.notes = append(tx.notes, txNote{kind: kind, id: id, deleted: deleted})
}

// Lookup returns a copy of the current value of object id of kind,
// generated objects included, and whether it exists.
func (tx *Tx) Lookup(kind ObjectKind, id string) (Object, bool) {
	ks := tx.st.kinds[kind]
	if ks == nil {
		return nil, false
	}
	o, ok := ks.lookup(id)
	if !ok {
		return nil, false
	}
	return copyObj(o), true
}

// Objects returns copies of the current objects of a collection (named as
// its scenario file, without ".json": "users", "subscribedSkus",
// "appRoleAssignments", "directoryAudits", …; see collections): those the
// scenario loaded and those created or appended since, in serving order
// (logs newest first). Generated synthetic objects (Options.Users) are
// left out. An unknown name has none.
func (tx *Tx) Objects(collection string) []Object {
	return tx.st.objects(collection)
}

// Update sets properties of object id of kind and returns the names of
// those whose value changed (sorted). A changed user or group is notified
// as "updated". Errors: ErrNotFound, ErrInvalid (unknown kind or property,
// changed id).
func (tx *Tx) Update(kind ObjectKind, id string, props Object) ([]string, error) {
	changed, err := tx.st.update(kind, id, props)
	if err != nil {
		return nil, err
	}
	if len(changed) > 0 {
		tx.s.log.Debug("graphsim: updated", "kind", kind, "id", id, "properties", changed)
		tx.note(kind, id, false)
	}
	return changed, nil
}

// Create adds an object of kind and returns its id (generated when object
// has none; the id is served first). A new user or group is notified as
// "updated". Errors: ErrInvalid.
func (tx *Tx) Create(kind ObjectKind, object Object) (string, error) {
	o := copyObj(object)
	if o.Str("id") == "" {
		o = append(Object{{"id", UUIDFrom(tx.s.seed, tx.st.version+1, 0x6e6577)}}, o...)
	} else {
		// id first, as Graph's representation starts with it for most types.
		id := o.Str("id")
		rest := make(Object, 0, len(o))
		for _, m := range o {
			if m.Key != "id" {
				rest = append(rest, m)
			}
		}
		o = append(Object{{"id", id}}, rest...)
	}
	id, err := tx.st.create(kind, o)
	if err != nil {
		return "", err
	}
	tx.s.log.Debug("graphsim: created", "kind", kind, "id", id)
	tx.note(kind, id, false)
	return id, nil
}

// Delete removes object id of kind: soft (delta reports "@removed" reason
// "changed", restorable; notified as "updated") or permanent (reason
// "deleted"; notified as "deleted"). Errors: ErrNotFound, ErrInvalid.
func (tx *Tx) Delete(kind ObjectKind, id string, permanent bool) error {
	if err := tx.st.remove(kind, id, permanent); err != nil {
		return err
	}
	tx.s.log.Debug("graphsim: deleted", "kind", kind, "id", id, "permanent", permanent)
	tx.note(kind, id, permanent)
	return nil
}

// AppendLog adds an entry to LogDirectoryAudits or LogSignIns and returns
// it as served. It must carry a new id and its time (activityDateTime,
// createdDateTime), which gets Graph's seven fractional digits; sign-ins
// are completed like the scenario's (names from the user, defaults).
// Entries are served newest first by the list endpoints, with $filter.
// Errors: ErrInvalid.
func (tx *Tx) AppendLog(log string, entry Object) (Object, error) {
	o, err := tx.st.appendLog(log, entry)
	if err != nil {
		return nil, err
	}
	return copyObj(o), nil
}

// AssignAppRole grants an app role: the assignment (principalId, the
// service principal granted; resourceId, the resource service principal;
// appRoleId; an id, generated when absent) is completed as the
// scenario's are and served by /servicePrincipals/{resourceId}/
// appRoleAssignedTo from now on. It returns the assignment as served.
// Graph's audit record ("Add app role assignment to service principal")
// is the caller's to append. Errors: ErrInvalid (an unknown service
// principal).
func (tx *Tx) AssignAppRole(assignment Object) (Object, error) {
	o := copyObj(assignment)
	if o.Str("id") == "" {
		o = append(Object{{"id", UUIDFrom(tx.s.seed, tx.st.version+1, 0x617261)}}, o...)
	}
	if o.Str("appRoleId") == "" {
		return nil, fmt.Errorf("%w: app role assignment %s has no appRoleId", ErrInvalid, o.Str("id"))
	}
	done, err := completeGrant(o, tx.st.kinds[KindServicePrincipal].lookup)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	res := strings.ToLower(done.Str("resourceId"))
	tx.st.grantAdds[res] = append(tx.st.grantAdds[res], grantAdd{o: done, ver: tx.st.bump()})
	tx.s.log.Debug("graphsim: app role assigned", "resource", res, "principal", done.Str("principalId"))
	return copyObj(done), nil
}

// toObj converts a Go map of JSON-compatible values (anything
// encoding/json marshals) into an ordered object, keys sorted.
func toObj(m map[string]any) (Object, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(Object, 0, len(m))
	for _, k := range keys {
		raw, err := json.Marshal(m[k])
		if err != nil {
			return nil, fmt.Errorf("%w: property %q: %v", ErrInvalid, k, err)
		}
		v, err := decodeJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: property %q: %v", ErrInvalid, k, err)
		}
		out = append(out, Member{k, v})
	}
	return out, nil
}

// fromObj converts an ordered object to a generic map.
func fromObj(o Object) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(appendJSON(nil, o), &m)
	return m
}

// Get returns the current value of object id of kind (nil, false if it
// does not exist or was deleted).
func (s *Server) Get(kind ObjectKind, id string) (map[string]any, bool) {
	st := s.store
	st.mu.RLock()
	defer st.mu.RUnlock()
	ks := st.kinds[kind]
	if ks == nil {
		return nil, false
	}
	o, ok := ks.lookup(id)
	if !ok {
		return nil, false
	}
	return fromObj(o), true
}

// Update sets properties of object id of kind (values are JSON-compatible:
// what encoding/json marshals) and returns the names of those whose value
// changed: Tx.Update in a Change of its own.
func (s *Server) Update(kind ObjectKind, id string, props map[string]any) ([]string, error) {
	o, err := toObj(props)
	if err != nil {
		return nil, err
	}
	var changed []string
	_, err = s.Change(func(tx *Tx) error {
		changed, err = tx.Update(kind, id, o)
		return err
	})
	return changed, err
}

// Create adds an object of kind and returns its id: Tx.Create in a Change
// of its own.
func (s *Server) Create(kind ObjectKind, object map[string]any) (string, error) {
	o, err := toObj(object)
	if err != nil {
		return "", err
	}
	var id string
	_, err = s.Change(func(tx *Tx) error {
		id, err = tx.Create(kind, o)
		return err
	})
	return id, err
}

// Delete removes object id of kind: Tx.Delete in a Change of its own.
func (s *Server) Delete(kind ObjectKind, id string, permanent bool) error {
	_, err := s.Change(func(tx *Tx) error { return tx.Delete(kind, id, permanent) })
	return err
}

// AppendLog adds an entry to LogDirectoryAudits or LogSignIns: Tx.AppendLog
// in a Change of its own.
func (s *Server) AppendLog(log string, entry map[string]any) error {
	o, err := toObj(entry)
	if err != nil {
		return err
	}
	_, err = s.Change(func(tx *Tx) error {
		_, err := tx.AppendLog(log, o)
		return err
	})
	return err
}
