package graphsim

import (
	"encoding/json"
	"fmt"
	"sort"
)

// The mutation API: what tests, demos and the attack driver use to change
// the tenant while it runs. Every change increments Version, shows in the
// list endpoints and delta rounds, and a change to a user or group is sent
// to the subscriptions on users or groups.

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
// changed. A changed user or group is notified as "updated". Errors:
// ErrNotFound, ErrInvalid (unknown kind or property, changed id).
func (s *Server) Update(kind ObjectKind, id string, props map[string]any) ([]string, error) {
	o, err := toObj(props)
	if err != nil {
		return nil, err
	}
	s.store.mu.Lock()
	changed, err := s.store.update(kind, id, o)
	s.store.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if len(changed) > 0 {
		s.log.Debug("graphsim: updated", "kind", kind, "id", id, "properties", changed)
		s.notify(kind, id, "updated")
	}
	return changed, nil
}

// Create adds an object of kind and returns its id (generated when object
// has none). A new user or group is notified as "updated" (Graph announces
// creations on users and groups that way). Errors: ErrInvalid.
func (s *Server) Create(kind ObjectKind, object map[string]any) (string, error) {
	o, err := toObj(object)
	if err != nil {
		return "", err
	}
	s.store.mu.Lock()
	if o.Str("id") == "" {
		o = append(Object{{"id", uuidFrom(s.seed, s.store.version+1, 0x6e6577)}}, o...)
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
	id, err := s.store.create(kind, o)
	s.store.mu.Unlock()
	if err != nil {
		return "", err
	}
	s.log.Debug("graphsim: created", "kind", kind, "id", id)
	s.notify(kind, id, "updated")
	return id, nil
}

// Delete removes object id of kind: soft (delta reports "@removed" reason
// "changed", restorable; notified as "updated") or permanent (reason
// "deleted"; notified as "deleted"). Errors: ErrNotFound, ErrInvalid.
func (s *Server) Delete(kind ObjectKind, id string, permanent bool) error {
	s.store.mu.Lock()
	err := s.store.remove(kind, id, permanent)
	s.store.mu.Unlock()
	if err != nil {
		return err
	}
	s.log.Debug("graphsim: deleted", "kind", kind, "id", id, "permanent", permanent)
	if permanent {
		s.notify(kind, id, "deleted")
	} else {
		s.notify(kind, id, "updated")
	}
	return nil
}

// AppendLog adds an entry to LogDirectoryAudits or LogSignIns. It must
// carry a new id and its time (activityDateTime, createdDateTime); sign-ins
// are completed like the scenario's (names from the user, defaults).
// Entries are served newest first by the list endpoints, with $filter.
func (s *Server) AppendLog(log string, entry map[string]any) error {
	o, err := toObj(entry)
	if err != nil {
		return err
	}
	s.store.mu.Lock()
	_, err = s.store.appendLog(log, o)
	s.store.mu.Unlock()
	return err
}
