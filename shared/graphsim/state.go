package graphsim

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// This file holds the tenant's mutable state. The scenario loaded by New is
// the base; everything that changes afterwards (an attack step, a test
// calling Update) is an overlay on it, guarded by store.mu:
//
//   - a touched object gets an objState holding its current full value (a
//     copy of the base object), whether it is deleted, and its history: one
//     event per change, stamped with the tenant's version counter;
//   - created objects are kept in creation order after the base ones;
//   - directory audit events and sign-ins appended at run time are kept in
//     append order with the version that added them.
//
// Every change increments the version. Readers build their view of a
// collection at a version (the snapshot a paging session started from), so
// objects created or log entries appended while a client pages do not
// shift its positions; delta rounds read the history between two versions.

// ObjectKind names a collection of directory objects the tenant can change
// at run time.
type ObjectKind string

// Object kinds accepted by Update, Create and Delete.
const (
	KindUser             ObjectKind = "users"
	KindGroup            ObjectKind = "groups"
	KindServicePrincipal ObjectKind = "servicePrincipals"
	KindApplication      ObjectKind = "applications"
	// KindRegistration is the authentication-methods registration report
	// (/reports/authenticationMethods/userRegistrationDetails), keyed by
	// user id. It has no delta query and raises no notification.
	KindRegistration ObjectKind = "userRegistrationDetails"
)

// Log names accepted by AppendLog.
const (
	LogDirectoryAudits = "directoryAudits"
	LogSignIns         = "signIns"
)

// Sentinel errors of the mutation API; test with errors.Is.
const (
	// ErrNotFound: no object with that id (or it is deleted).
	ErrNotFound = constError("graphsim: no such object")
	// ErrInvalid: the change is malformed (unknown kind or property, id
	// changed, missing or duplicate id, bad timestamp).
	ErrInvalid = constError("graphsim: invalid change")
)

// History operations.
const (
	opCreate byte = iota + 1
	opUpdate
	opDelete
)

type objEvent struct {
	ver   uint64
	op    byte
	props []string // opUpdate: the properties whose value changed
}

// objState is a touched object: its current value and its history.
type objState struct {
	id        string
	o         Object
	deleted   bool
	permanent bool   // deleted for good (not restorable)
	created   uint64 // version that created it; 0 for scenario objects
	history   []objEvent
}

// kindState is one mutable collection: the scenario's sources (static, then
// lazily generated) and the overlay.
type kindState struct {
	kind     ObjectKind
	props    []string                            // property names Update accepts
	base     []source                            // base[0] is the static source
	static   map[string]int                      // lower-case id → index in base[0]
	complete func(Object) (Object, error)        // completes a created object; nil: taken as given
	synth    func(lowerID string) (Object, bool) // generated objects by id
	objs     map[string]*objState                // lower-case id → touched object
	create   []*objState                         // created objects, in creation order
}

// logState is one mutable log: the scenario's sources and the entries
// appended at run time.
type logState struct {
	name    string
	timeKey string
	base    []source
	entries []logEntry // in append order
	ids     map[string]bool
}

type logEntry struct {
	rec record
	ver uint64
}

func newKindState(kind ObjectKind, props []string, base ...source) *kindState {
	ks := &kindState{kind: kind, props: props, base: base, static: map[string]int{}, objs: map[string]*objState{}}
	if len(base) > 0 {
		s := base[0]
		for i := 0; i < s.Len(); i++ {
			ks.static[strings.ToLower(s.Record(i).o.Str("id"))] = i
		}
	}
	return ks
}

// lookup returns the current value of object id and whether it exists.
func (ks *kindState) lookup(id string) (Object, bool) {
	lid := strings.ToLower(id)
	if os := ks.objs[lid]; os != nil {
		return os.o, !os.deleted
	}
	if i, ok := ks.static[lid]; ok {
		return ks.base[0].Record(i).o, true
	}
	if ks.synth != nil {
		return ks.synth(lid)
	}
	return nil, false
}

// touch returns the objState of an existing object, creating it from the
// base value on first change.
func (ks *kindState) touch(id string) (*objState, bool) {
	lid := strings.ToLower(id)
	if os := ks.objs[lid]; os != nil {
		return os, !os.deleted
	}
	o, ok := ks.lookup(id)
	if !ok {
		return nil, false
	}
	os := &objState{id: o.Str("id"), o: copyObj(o)}
	ks.objs[lid] = os
	return os, true
}

// staticObjects returns the current value of every scenario and created
// object that exists (not the generated ones), in serving order.
func (ks *kindState) staticObjects() []Object {
	var out []Object
	if len(ks.base) > 0 {
		for i := 0; i < ks.base[0].Len(); i++ {
			if o, ok := ks.lookup(ks.base[0].Record(i).o.Str("id")); ok {
				out = append(out, o)
			}
		}
	}
	for _, os := range ks.create {
		if !os.deleted {
			out = append(out, os.o)
		}
	}
	return out
}

// view is the collection as of version v: the base sources with the
// overlay applied and the objects created up to v.
func (ks *kindState) view(v uint64) *collection {
	srcs := make([]source, 0, len(ks.base)+1)
	for _, b := range ks.base {
		srcs = append(srcs, overlaySource{base: b, ks: ks})
	}
	if v > 0 { // at version 0 nothing was created: no extra source, so skip tokens keep their shape
		n := sort.Search(len(ks.create), func(i int) bool { return ks.create[i].created > v })
		srcs = append(srcs, createdSource(ks.create[:n]))
	}
	return &collection{sources: srcs}
}

// overlaySource serves a base source with the overlay applied: changed
// objects carry their current value, deleted ones are nil records.
type overlaySource struct {
	base source
	ks   *kindState
}

func (s overlaySource) Len() int             { return s.base.Len() }
func (s overlaySource) Time(i int) time.Time { return s.base.Time(i) }
func (s overlaySource) Record(i int) record {
	r := s.base.Record(i)
	if len(s.ks.objs) == 0 {
		return r
	}
	if os := s.ks.objs[strings.ToLower(r.o.Str("id"))]; os != nil {
		if os.deleted {
			return record{}
		}
		return record{o: os.o, t: r.t}
	}
	return r
}

// createdSource serves objects created at run time.
type createdSource []*objState

func (s createdSource) Len() int           { return len(s) }
func (s createdSource) Time(int) time.Time { return time.Time{} }
func (s createdSource) Record(i int) record {
	if s[i].deleted {
		return record{}
	}
	return record{o: s[i].o}
}

// view is the log as of version v: the scenario's sources and the entries
// appended up to v, newest first.
func (ls *logState) view(v uint64) *collection {
	var recs staticSource
	for _, e := range ls.entries {
		if e.ver <= v {
			recs = append(recs, e.rec)
		}
	}
	// Append order breaks ties: the later entry is served first.
	for i, j := 0, len(recs)-1; i < j; i, j = i+1, j-1 {
		recs[i], recs[j] = recs[j], recs[i]
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].t.After(recs[j].t) })
	srcs := append([]source(nil), ls.base...)
	if v > 0 {
		srcs = append(srcs, recs)
	}
	return &collection{sources: srcs, newestFirst: true, timeKey: ls.timeKey}
}

// version returns the current version. The caller holds st.mu.
func (st *store) bump() uint64 {
	st.version++
	return st.version
}

// update sets properties of object id and returns the names of those whose
// value changed (sorted). No change, no new version.
func (st *store) update(kind ObjectKind, id string, props Object) ([]string, error) {
	ks := st.kinds[kind]
	if ks == nil {
		return nil, fmt.Errorf("%w: unknown object kind %q", ErrInvalid, kind)
	}
	for _, m := range props {
		if m.Key == "id" {
			if s, _ := m.Val.(string); !strings.EqualFold(s, id) {
				return nil, fmt.Errorf("%w: the id of %s %s cannot change", ErrInvalid, kind, id)
			}
			continue
		}
		if !validProp(ks.props, m.Key) {
			return nil, fmt.Errorf("%w: %s has no property %q", ErrInvalid, kind, m.Key)
		}
	}
	os, ok := ks.touch(id)
	if !ok {
		return nil, fmt.Errorf("%w: %s %s", ErrNotFound, kind, id)
	}
	var changed []string
	next := copyObj(os.o)
	for _, m := range props {
		if m.Key == "id" {
			continue
		}
		old, had := next.Get(m.Key)
		if had && string(appendJSON(nil, old)) == string(appendJSON(nil, m.Val)) {
			continue
		}
		next.Set(m.Key, copyValue(m.Val))
		changed = append(changed, m.Key)
	}
	if len(changed) == 0 {
		return nil, nil
	}
	sort.Strings(changed)
	if ks.complete != nil {
		c, err := ks.complete(next)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		next = c
	}
	os.o = next
	// Internal members are not properties of the object: a change to them
	// alone is no tracked change of a delta round.
	var tracked []string
	for _, p := range changed {
		if !isInternal(p) {
			tracked = append(tracked, p)
		}
	}
	os.history = append(os.history, objEvent{ver: st.bump(), op: opUpdate, props: tracked})
	return changed, nil
}

// create adds an object; it must carry an id not in use.
func (st *store) create(kind ObjectKind, o Object) (string, error) {
	ks := st.kinds[kind]
	if ks == nil {
		return "", fmt.Errorf("%w: unknown object kind %q", ErrInvalid, kind)
	}
	id := o.Str("id")
	if id == "" {
		return "", fmt.Errorf("%w: a new %s needs an id", ErrInvalid, kind)
	}
	for _, m := range o {
		if m.Key != "id" && m.Key != "@odata.type" && !validProp(ks.props, m.Key) {
			return "", fmt.Errorf("%w: %s has no property %q", ErrInvalid, kind, m.Key)
		}
	}
	if ks.complete != nil {
		c, err := ks.complete(o)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		o = c
	}
	lid := strings.ToLower(id)
	if _, exists := ks.lookup(id); exists || ks.objs[lid] != nil {
		return "", fmt.Errorf("%w: %s %s already exists", ErrInvalid, kind, id)
	}
	ver := st.bump()
	os := &objState{id: id, o: copyObj(o), created: ver, history: []objEvent{{ver: ver, op: opCreate}}}
	ks.objs[lid] = os
	ks.create = append(ks.create, os)
	return id, nil
}

// remove deletes object id: soft (restorable, "@removed" reason "changed")
// or permanent (reason "deleted").
func (st *store) remove(kind ObjectKind, id string, permanent bool) error {
	ks := st.kinds[kind]
	if ks == nil {
		return fmt.Errorf("%w: unknown object kind %q", ErrInvalid, kind)
	}
	os, ok := ks.touch(id)
	if !ok {
		return fmt.Errorf("%w: %s %s", ErrNotFound, kind, id)
	}
	os.deleted, os.permanent = true, permanent
	os.history = append(os.history, objEvent{ver: st.bump(), op: opDelete})
	return nil
}

// appendLog adds one log entry. Its time key must be a timestamp; it is
// given Graph's seven fractional digits.
func (st *store) appendLog(name string, o Object) (Object, error) {
	ls := st.logs[name]
	if ls == nil {
		return nil, fmt.Errorf("%w: unknown log %q", ErrInvalid, name)
	}
	id := o.Str("id")
	if id == "" || ls.ids[strings.ToLower(id)] {
		return nil, fmt.Errorf("%w: %s entry needs a new id (got %q)", ErrInvalid, name, id)
	}
	t, err := time.Parse(time.RFC3339Nano, o.Str(ls.timeKey))
	if err != nil {
		return nil, fmt.Errorf("%w: %s entry %s: %s: %v", ErrInvalid, name, id, ls.timeKey, err)
	}
	o = copyObj(o)
	o.Set(ls.timeKey, t.UTC().Format("2006-01-02T15:04:05.0000000Z"))
	if name == LogSignIns {
		if _, ok := st.kinds[KindUser].lookup(o.Str("userId")); !ok {
			return nil, fmt.Errorf("%w: sign-in %s: unknown user %q", ErrInvalid, id, o.Str("userId"))
		}
		if o, err = completeSignIn(o, st.kinds[KindUser].lookup, st.tenantID); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	ls.ids[strings.ToLower(id)] = true
	ls.entries = append(ls.entries, logEntry{rec: record{o: o, t: t.UTC()}, ver: st.bump()})
	return o, nil
}

// deltaChange is what one object did between two versions.
type deltaChange struct {
	os      *objState
	created bool
	removed bool     // the last event in the window is a deletion
	props   []string // properties changed in the window
}

// changesBetween lists the objects of kind with an event in (from, to],
// sorted by id.
func (ks *kindState) changesBetween(from, to uint64) []deltaChange {
	var out []deltaChange
	for _, os := range ks.objs {
		var c deltaChange
		seen := map[string]bool{}
		any := false
		for _, e := range os.history {
			if e.ver <= from || e.ver > to {
				continue
			}
			any = true
			switch e.op {
			case opCreate:
				c.created, c.removed = true, false
			case opDelete:
				c.removed = true
			case opUpdate:
				c.removed = false
				for _, p := range e.props {
					if !seen[p] {
						seen[p] = true
						c.props = append(c.props, p)
					}
				}
			}
		}
		if !any {
			continue
		}
		c.os = os
		sort.Strings(c.props)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].os.id) < strings.ToLower(out[j].os.id) })
	return out
}

func validProp(props []string, p string) bool {
	for _, q := range props {
		if q == p {
			return true
		}
	}
	return false
}

func copyObj(o Object) Object {
	if o == nil {
		return nil
	}
	return copyValue(o).(Object)
}

// copyValue deep-copies a JSON value so that later changes never reach a
// value a reader already holds.
func copyValue(v any) any {
	switch x := v.(type) {
	case Object:
		out := make(Object, len(x))
		for i, m := range x {
			out[i] = Member{m.Key, copyValue(m.Val)}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = copyValue(e)
		}
		return out
	default:
		return x
	}
}
