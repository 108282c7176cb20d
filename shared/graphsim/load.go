package graphsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// store is the simulated tenant's data: one collection per list endpoint
// and the app role grants per resource service principal, built by
// loadScenario. The directory objects that can change (users, groups,
// service principals, applications, registration rows) and the two logs
// carry an overlay (state.go) guarded by mu; the rest is read-only.
type store struct {
	tenantID   string
	colls      map[string]*collection // read-only collections
	grants     map[string]*collection // lower-case resource SP id
	grantOrder []string               // the resources in load order
	// grantAdds are the app role assignments added at run time
	// (Tx.AssignAppRole), per lower-case resource SP id, in order.
	grantAdds map[string][]grantAdd
	sps       map[string]bool // lower-case SP ids

	mu      sync.RWMutex
	version uint64
	kinds   map[ObjectKind]*kindState
	logs    map[string]*logState
}

// collection returns the collection name serves as of version v. The
// caller holds st.mu (read).
func (st *store) collection(name string, v uint64) *collection {
	if ks, ok := st.kinds[ObjectKind(name)]; ok {
		return ks.view(v)
	}
	if ls, ok := st.logs[name]; ok {
		return ls.view(v)
	}
	if c, ok := st.colls[name]; ok {
		return c
	}
	return &collection{}
}

// grantsOn is the app role assignments on resource id as of version v:
// the scenario's, then those added up to v (from version 1 on always a
// second source, so skip tokens keep their shape). The caller holds st.mu.
func (st *store) grantsOn(id string, v uint64) (*collection, bool) {
	lid := strings.ToLower(id)
	if _, ok := st.kinds[KindServicePrincipal].lookup(id); !ok && !st.sps[lid] {
		return nil, false
	}
	c := &collection{}
	if base, ok := st.grants[lid]; ok {
		c.sources = append(c.sources, base.sources...)
	} else {
		c.sources = append(c.sources, staticSource{})
	}
	if v > 0 {
		var added staticSource
		for _, g := range st.grantAdds[lid] {
			if g.ver <= v {
				added = append(added, record{o: g.o})
			}
		}
		c.sources = append(c.sources, added)
	}
	return c, true
}

// grantAdd is an app role assignment added at run time.
type grantAdd struct {
	o   Object
	ver uint64
}

// Scenario is what a simulated tenant serves and how it can be attacked:
// data, and optionally a story of attack steps that change it. Packages
// under shared/graphsim/scenario build them; shared/graphsim/scenario.Get
// finds one by name.
type Scenario struct {
	// Name identifies the scenario (logs, `tenantwatch sim --scenario`).
	Name string
	// Data holds the tenant: one JSON array of Graph-shaped objects per
	// collection, in a file named after it ("users.json"; see Collections).
	// A missing file is an empty collection; organization.json must hold
	// the organization. Beside them, expected.json and decoys.json hold
	// the findings a scan must and must not report (Expected, Decoys), and
	// incidents-expected.json the incidents (IncidentsExpected).
	// The loader drops members named "//" (notes for readers), resolves
	// relative times ("now", "now-6d2h15m", "now+65d") against
	// Options.Now, encodes modifiedProperties oldValue/newValue written as
	// JSON into the text Graph returns, completes sign-ins, registration
	// rows and app role assignments with what Graph always returns, gives
	// log timestamps seven fractional digits and counts each SKU's
	// consumedUnits.
	Data fs.FS
	// Story, when set, returns the scenario's attack steps bound to one
	// tenant; New calls it once, after loading Data. Nil: no attack steps.
	Story func(*Server) (Story, error)
}

// Story is a scenario's attack steps, bound to one tenant. Server.Attack
// runs one step at a time.
type Story interface {
	// Steps lists the step names in story order.
	Steps() []string
	// Run runs one of Steps and returns what it changed and the findings
	// it should produce; ErrNoCandidate when nothing in the tenant fits.
	Run(ctx context.Context, step string) (AttackResult, error)
}

// Expected returns the findings a scan of the scenario must report (the
// scenario's expected.json; none when it has none). It fails only if the
// file is malformed.
func (sc *Scenario) Expected() ([]ExpectedFinding, error) {
	out := []ExpectedFinding{}
	if err := readJSONFile(sc.Data, "expected.json", &out); err != nil {
		return nil, fmt.Errorf("graphsim: scenario %s: expected findings: %w", sc.Name, err)
	}
	return out, nil
}

// Decoys returns the scenario's look-alikes: subjects a scan must not
// report for the rule (decoys.json; none when it has none). It fails only
// if the file is malformed.
func (sc *Scenario) Decoys() ([]Decoy, error) {
	out := []Decoy{}
	if err := readJSONFile(sc.Data, "decoys.json", &out); err != nil {
		return nil, fmt.Errorf("graphsim: scenario %s: decoys: %w", sc.Name, err)
	}
	return out, nil
}

func readJSONFile(fsys fs.FS, name string, v any) error {
	if fsys == nil {
		return nil
	}
	b, err := fs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// collectionSpec says what one scenario file holds and how it is loaded.
type collectionSpec struct {
	name string // file name without ".json"; the name Tx.Objects takes
	// kind, when set, makes the objects changeable (Tx.Update, Create,
	// Delete; delta rounds), accepting the properties props lists.
	kind  ObjectKind
	props func() []string
	// timeKey, when set, makes a log: entries sorted newest first on this
	// property, served merged with generated and appended ones.
	timeKey string
	// complete fills in what Graph always returns (the loaded data is
	// complete by then except for completion itself).
	complete func(d *loaded, o Object) (Object, error)
	// create, for a kind, completes an object both when the scenario
	// loads and when Tx.Create adds one (complete is then unused).
	create func(o Object) (Object, error)
}

// collections is the table of scenario files. A new read-only collection
// is a row here and a route serving it (routes.go); a changeable one also
// names its ObjectKind.
func collections() []collectionSpec {
	return []collectionSpec{
		{name: "organization"},
		{name: "subscribedSkus"},
		{name: string(KindUser), kind: KindUser, props: userProps},
		{name: string(KindRegistration), kind: KindRegistration, props: registrationProps,
			complete: func(d *loaded, o Object) (Object, error) { return completeRegistration(o, d.lookup(KindUser), d.now) }},
		{name: string(KindServicePrincipal), kind: KindServicePrincipal, props: servicePrincipalProps},
		{name: string(KindApplication), kind: KindApplication,
			props: func() []string { return append(applicationProps(), FederatedCredentials) }},
		{name: string(KindGroup), kind: KindGroup, props: func() []string { return append(groupProps(), MemberIDs) }},
		{name: collAppRoleAssignments, // served per resource: appRoleAssignedTo
			complete: func(d *loaded, o Object) (Object, error) { return completeGrant(o, d.lookup(KindServicePrincipal)) }},
		{name: LogDirectoryAudits, timeKey: "activityDateTime"},
		{name: LogSignIns, timeKey: "createdDateTime",
			complete: func(d *loaded, o Object) (Object, error) {
				return completeSignIn(o, d.lookup(KindUser), d.files["organization"][0].Str("id"))
			}},
		{name: collConditionalAccessPolicies, complete: func(_ *loaded, o Object) (Object, error) { return completeCAPolicy(o), nil }},
		{name: collNamedLocations},
		{name: string(KindDevice), kind: KindDevice, props: func() []string { return append(deviceProps(), RegisteredOwnerIDs) },
			create: completeDevice},
		{name: string(KindDomain), kind: KindDomain, props: func() []string { return append(domainProps(), FederationConfigs) },
			create: completeDomain},
		{name: string(KindDelegatedGrant), kind: KindDelegatedGrant, props: delegatedGrantProps, create: completeDelegatedGrant},
		{name: collAuthorizationPolicy},
	}
}

// Collections lists the names of the collections a scenario's Data may
// hold (each as <name>.json) and Tx.Objects reads.
func Collections() []string {
	var out []string
	for _, c := range collections() {
		out = append(out, c.name)
	}
	return out
}

// Collection names that are not an ObjectKind or a log.
const (
	collAppRoleAssignments        = "appRoleAssignments"
	collConditionalAccessPolicies = "conditionalAccessPolicies"
	collNamedLocations            = "namedLocations"
)

// loaded is the scenario's resolved data by collection, before the store
// is built.
type loaded struct {
	now   time.Time
	files map[string][]Object
	index map[string]map[string]Object // collection → lower-case id → object
}

// lookup finds a loaded object of kind by id (case-insensitive).
func (d *loaded) lookup(kind ObjectKind) func(id string) (Object, bool) {
	return func(id string) (Object, bool) {
		m := d.index[string(kind)]
		if m == nil {
			m = map[string]Object{}
			for _, o := range d.files[string(kind)] {
				m[strings.ToLower(o.Str("id"))] = o
			}
			d.index[string(kind)] = m
		}
		o, ok := m[strings.ToLower(id)]
		return o, ok
	}
}

type loader struct {
	fsys fs.FS
	now  time.Time
}

// objects reads one scenario file as resolved objects. A missing file is
// an empty list.
func (l *loader) objects(file string) ([]Object, error) {
	b, err := fs.ReadFile(l.fsys, file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	v, err := decodeJSON(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: want a JSON array of objects", file)
	}
	out := make([]Object, 0, len(arr))
	for i, e := range arr {
		r, err := l.resolve(e, "")
		if err != nil {
			return nil, fmt.Errorf("%s: item %d: %w", file, i, err)
		}
		o, ok := r.(Object)
		if !ok {
			return nil, fmt.Errorf("%s: item %d is not an object", file, i)
		}
		out = append(out, o)
	}
	return out, nil
}

func (l *loader) resolve(v any, key string) (any, error) {
	switch x := v.(type) {
	case Object:
		if key == "oldValue" || key == "newValue" {
			r, err := l.resolve(x, "")
			if err != nil {
				return nil, err
			}
			return JSONText(r), nil
		}
		out := make(Object, 0, len(x))
		for _, m := range x {
			if m.Key == "//" {
				continue
			}
			r, err := l.resolve(m.Val, m.Key)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", m.Key, err)
			}
			out = append(out, Member{m.Key, r})
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := l.resolve(e, "")
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		if key == "oldValue" || key == "newValue" {
			return JSONText(out), nil
		}
		return out, nil
	case string:
		if t, ok, err := relativeTime(x, l.now); err != nil {
			return nil, err
		} else if ok {
			return FormatTime(t), nil
		}
		return x, nil
	default:
		return x, nil
	}
}

// relativeTime parses "now", "now-6d2h15m", "now+65d" (units d, h, m, s).
func relativeTime(s string, now time.Time) (time.Time, bool, error) {
	if !strings.HasPrefix(s, "now") {
		return time.Time{}, false, nil
	}
	rest := s[3:]
	if rest == "" {
		return now, true, nil
	}
	sign := time.Duration(1)
	switch rest[0] {
	case '-':
		sign = -1
	case '+':
	default:
		return time.Time{}, false, nil // ordinary text that starts with "now"
	}
	rest = rest[1:]
	if rest == "" {
		return time.Time{}, false, fmt.Errorf("relative time %q has no duration", s)
	}
	var d time.Duration
	for rest != "" {
		i := 0
		for i < len(rest) && isDigit(rest[i]) {
			i++
		}
		if i == 0 || i == len(rest) {
			return time.Time{}, false, fmt.Errorf("malformed relative time %q", s)
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil {
			return time.Time{}, false, fmt.Errorf("malformed relative time %q: %w", s, err)
		}
		unit := map[byte]time.Duration{'d': 24 * time.Hour, 'h': time.Hour, 'm': time.Minute, 's': time.Second}[rest[i]]
		if unit == 0 {
			return time.Time{}, false, fmt.Errorf("relative time %q: unknown unit %q", s, rest[i])
		}
		d += time.Duration(n) * unit
		rest = rest[i+1:]
	}
	return now.Add(sign * d), true, nil
}

// FormatTime prints a time in UTC as Graph does: whole seconds without a
// fraction, otherwise seven fractional digits.
func FormatTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05Z")
	}
	return t.Format("2006-01-02T15:04:05.0000000Z")
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// loadScenario reads sc.Data into a store: every collection of the table,
// completed, with users' registrations and sign-ins generated for the
// synthetic users behind the scenario's.
func loadScenario(sc *Scenario, now time.Time, users int, seed uint64) (*store, error) {
	if sc.Data == nil {
		return nil, errors.New("no data")
	}
	specs := collections()
	known := map[string]bool{"expected.json": true, "decoys.json": true, ActivityFile: true, activityExpectedFile: true, incidentsExpectedFile: true}
	for _, c := range specs {
		known[c.name+".json"] = true
	}
	entries, err := fs.ReadDir(sc.Data, ".")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".json") && !known[e.Name()] {
			return nil, fmt.Errorf("%s: not a collection (want one of %s)", e.Name(), strings.Join(Collections(), ", "))
		}
	}
	l := &loader{fsys: sc.Data, now: now}
	d := &loaded{now: now, files: map[string][]Object{}, index: map[string]map[string]Object{}}
	for _, c := range specs {
		objs, err := l.objects(c.name + ".json")
		if err != nil {
			return nil, err
		}
		d.files[c.name] = objs
	}
	if len(d.files["organization"]) == 0 {
		return nil, errors.New("organization.json: no organization")
	}
	st := &store{tenantID: d.files["organization"][0].Str("id"), colls: map[string]*collection{}, grants: map[string]*collection{}, grantAdds: map[string][]grantAdd{},
		sps: map[string]bool{}, kinds: map[ObjectKind]*kindState{}, logs: map[string]*logState{}}
	g := newSynth(now, users, seed, d.files["organization"][0])

	for _, c := range specs {
		objs := d.files[c.name]
		file := c.name + ".json"
		if c.timeKey != "" {
			complete := func(o Object) (Object, error) { return o, nil }
			if c.complete != nil {
				complete = func(o Object) (Object, error) { return c.complete(d, o) }
			}
			recs, err := logRecords(objs, c.timeKey, complete)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			ls := &logState{name: c.name, timeKey: c.timeKey, base: []source{recs}, ids: ids(recs)}
			if c.name == LogSignIns {
				ls.base = append(ls.base, lazySource{n: g.signInCount(), time: g.signInTime, gen: g.signIn})
			}
			st.logs[c.name] = ls
			continue
		}
		if c.create != nil {
			cr := c.create
			c.complete = func(_ *loaded, o Object) (Object, error) { return cr(o) }
		}
		if c.complete != nil {
			done := make([]Object, 0, len(objs))
			for _, o := range objs {
				row, err := c.complete(d, o)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", file, err)
				}
				done = append(done, row)
			}
			objs = done
		}
		switch {
		case c.kind != "":
			var gen func(int) record
			var genByID func(int) Object
			switch c.kind {
			case KindUser:
				gen, genByID = g.user, func(i int) Object { return g.user(i).o }
			case KindRegistration:
				gen, genByID = g.registration, func(i int) Object { return g.registration(i).o }
			}
			if gen == nil {
				ks := newKindState(c.kind, c.props(), static(objs))
				ks.complete = c.create
				st.kinds[c.kind] = ks
				break
			}
			ks := newKindState(c.kind, c.props(), static(objs), lazySource{n: users, gen: gen})
			ks.synth = func(lid string) (Object, bool) {
				i, ok := g.index(lid)
				if !ok {
					return nil, false
				}
				return genByID(i), true
			}
			st.kinds[c.kind] = ks
		case c.name == collAppRoleAssignments:
			// Grouped by resource, for appRoleAssignedTo.
			byResource := map[string][]Object{}
			for _, row := range objs {
				res := strings.ToLower(row.Str("resourceId"))
				if _, ok := byResource[res]; !ok {
					st.grantOrder = append(st.grantOrder, res)
				}
				byResource[res] = append(byResource[res], row)
			}
			for res, rows := range byResource {
				st.grants[res] = &collection{sources: []source{static(rows)}}
			}
		case c.name == "subscribedSkus":
			st.colls[c.name] = &collection{sources: []source{static(countConsumedUnits(objs, d.files[string(KindUser)], users))}}
		default:
			st.colls[c.name] = &collection{sources: []source{static(objs)}}
		}
	}
	for _, sp := range d.files[string(KindServicePrincipal)] {
		st.sps[strings.ToLower(sp.Str("id"))] = true
	}
	return st, nil
}

// countConsumedUnits sets each SKU's consumedUnits from the users holding
// it (synthetic users hold E3) and raises prepaidUnits.enabled to cover
// them.
func countConsumedUnits(skus, users []Object, synthetic int) []Object {
	consumed := map[string]int{}
	for _, u := range users {
		lic, _ := u.Get("assignedLicenses")
		arr, _ := lic.([]any)
		for _, a := range arr {
			if ao, ok := a.(Object); ok {
				consumed[strings.ToLower(ao.Str("skuId"))]++
			}
		}
	}
	consumed[synthSkuE3] += synthetic
	for i := range skus {
		n := consumed[strings.ToLower(skus[i].Str("skuId"))]
		skus[i].Set("consumedUnits", json.Number(strconv.Itoa(n)))
		if pu, ok := skus[i].Get("prepaidUnits"); ok {
			if puo, ok := pu.(Object); ok {
				if en, _ := puo.Get("enabled"); en != nil {
					if v, err := strconv.Atoi(fmt.Sprint(en)); err == nil && v < n {
						puo.Set("enabled", json.Number(strconv.Itoa(roundUp(n, 25))))
						skus[i].Set("prepaidUnits", puo)
					}
				}
			}
		}
	}
	return skus
}

// objects returns copies of the current objects of a collection, without
// the generated ones (Tx.Objects). The caller holds st.mu.
func (st *store) objects(name string) []Object {
	var out []Object
	add := func(src source) {
		for i := 0; i < src.Len(); i++ {
			if r := src.Record(i); r.o != nil {
				out = append(out, copyObj(r.o))
			}
		}
	}
	switch {
	case st.kinds[ObjectKind(name)] != nil:
		for _, o := range st.kinds[ObjectKind(name)].staticObjects() {
			out = append(out, copyObj(o))
		}
	case st.logs[name] != nil:
		ls := st.logs[name]
		// The scenario's entries and those appended, newest first: the
		// view without its generated sources.
		view := (&logState{name: ls.name, timeKey: ls.timeKey, base: ls.base[:1], entries: ls.entries}).view(st.version)
		cur := make(cursor, len(view.sources))
		for {
			recs, next := view.page(cur, 1000, nil)
			for _, r := range recs {
				out = append(out, copyObj(r.o))
			}
			if next == nil {
				break
			}
			cur = next
		}
	case name == collAppRoleAssignments:
		for _, res := range st.grantOrder {
			for _, src := range st.grants[res].sources {
				add(src)
			}
		}
		res := make([]string, 0, len(st.grantAdds))
		for r := range st.grantAdds {
			res = append(res, r)
		}
		sort.Strings(res)
		for _, r := range res {
			for _, g := range st.grantAdds[r] {
				out = append(out, copyObj(g.o))
			}
		}
	case st.colls[name] != nil:
		for _, src := range st.colls[name].sources {
			add(src)
		}
	}
	return out
}

// ids returns the lower-case ids of a static log, so that appended entries
// cannot reuse one.
func ids(s staticSource) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, r := range s {
		m[strings.ToLower(r.o.Str("id"))] = true
	}
	return m
}

func roundUp(n, to int) int { return (n + to - 1) / to * to }

func static(objs []Object) staticSource {
	s := make(staticSource, len(objs))
	for i, o := range objs {
		s[i] = record{o: o}
	}
	return s
}

// logRecords completes, timestamps and sorts log entries newest first.
func logRecords(objs []Object, timeKey string, complete func(Object) (Object, error)) (staticSource, error) {
	out := make(staticSource, 0, len(objs))
	ids := map[string]bool{}
	for i, o := range objs {
		id := o.Str("id")
		if id == "" || ids[id] {
			return nil, fmt.Errorf("item %d: missing or duplicate id %q", i, id)
		}
		ids[id] = true
		ts := o.Str(timeKey)
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return nil, fmt.Errorf("item %d (%s): %s: %w", i, id, timeKey, err)
		}
		if t.Nanosecond() == 0 {
			// Graph's log timestamps carry seven fractional digits.
			t = t.Add(time.Duration(hash64(id)%10_000_000) * 100)
		}
		o.Set(timeKey, t.UTC().Format("2006-01-02T15:04:05.0000000Z"))
		c, err := complete(o)
		if err != nil {
			return nil, fmt.Errorf("item %d (%s): %w", i, id, err)
		}
		out = append(out, record{o: c, t: t})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].t.After(out[j].t) })
	return out, nil
}

// pick returns o's value for key, or def.
func pick(o Object, key string, def any) any {
	if v, ok := o.Get(key); ok {
		return v
	}
	return def
}

func completeRegistration(r Object, user func(string) (Object, bool), now time.Time) (Object, error) {
	id := r.Str("id")
	u, ok := user(id)
	if !ok {
		return nil, fmt.Errorf("registration row for unknown user %q", id)
	}
	reg, _ := pick(r, "isMfaRegistered", false).(bool)
	methods := pick(r, "methodsRegistered", []any{})
	var sysPref any = []any{}
	var pref any = "none"
	if reg {
		sysPref = []any{"push"}
		pref = "push"
	}
	return Object{
		{"id", id},
		{"userPrincipalName", pick(r, "userPrincipalName", u.Str("userPrincipalName"))},
		{"userDisplayName", pick(r, "userDisplayName", u.Str("displayName"))},
		{"userType", pick(r, "userType", strings.ToLower(u.Str("userType")))},
		{"isAdmin", pick(r, "isAdmin", false)},
		{"isSsprRegistered", pick(r, "isSsprRegistered", reg)},
		{"isSsprEnabled", pick(r, "isSsprEnabled", true)},
		{"isSsprCapable", pick(r, "isSsprCapable", reg)},
		{"isMfaRegistered", reg},
		{"isMfaCapable", pick(r, "isMfaCapable", reg)},
		{"isPasswordlessCapable", pick(r, "isPasswordlessCapable", false)},
		{"lastUpdatedDateTime", pick(r, "lastUpdatedDateTime", FormatTime(now.Add(-20*time.Hour)))},
		{"methodsRegistered", methods},
		{"isSystemPreferredAuthenticationMethodEnabled", pick(r, "isSystemPreferredAuthenticationMethodEnabled", true)},
		{"systemPreferredAuthenticationMethods", pick(r, "systemPreferredAuthenticationMethods", sysPref)},
		{"userPreferredMethodForSecondaryAuthentication", pick(r, "userPreferredMethodForSecondaryAuthentication", pref)},
	}, nil
}

func completeGrant(a Object, sp func(string) (Object, bool)) (Object, error) {
	res, ok := sp(a.Str("resourceId"))
	if !ok {
		return nil, fmt.Errorf("assignment %q: unknown resource %q", a.Str("id"), a.Str("resourceId"))
	}
	pr, ok := sp(a.Str("principalId"))
	if !ok {
		return nil, fmt.Errorf("assignment %q: unknown principal %q", a.Str("id"), a.Str("principalId"))
	}
	return Object{
		{"id", a.Str("id")},
		{"deletedDateTime", nil},
		{"appRoleId", a.Str("appRoleId")},
		{"createdDateTime", pick(a, "createdDateTime", nil)},
		{"principalDisplayName", pick(a, "principalDisplayName", pr.Str("displayName"))},
		{"principalId", a.Str("principalId")},
		{"principalType", pick(a, "principalType", "ServicePrincipal")},
		{"resourceDisplayName", pick(a, "resourceDisplayName", res.Str("displayName"))},
		{"resourceId", a.Str("resourceId")},
	}, nil
}

// failureReasons are the sign-in error texts of the codes the scenario
// uses (Entra sign-in error code reference).
func failureReason(code string) any {
	switch code {
	case "0":
		return nil
	case "50126":
		return "Error validating credentials due to invalid username or password."
	case "50079":
		return "Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multifactor authentication to access this resource."
	case "50074":
		return "Strong Authentication is required."
	case "50053":
		return "Account is locked because user tried to sign in too many times with an incorrect user ID or password."
	case "50057":
		return "User account is disabled. The account has been disabled by an administrator."
	default:
		return "Other."
	}
}

func completeSignIn(s Object, user func(string) (Object, bool), tenantID string) (Object, error) {
	uid := s.Str("userId")
	u, ok := user(uid)
	if !ok {
		return nil, fmt.Errorf("sign-in for unknown user %q", uid)
	}
	st, _ := pick(s, "status", Object{}).(Object)
	code := "0"
	if c, ok := st.Get("errorCode"); ok {
		code = fmt.Sprint(c)
	} else {
		st = append(Object{{"errorCode", json.Number("0")}}, st...)
	}
	if _, ok := st.Get("failureReason"); !ok {
		st = append(st, Member{"failureReason", failureReason(code)})
	}
	if _, ok := st.Get("additionalDetails"); !ok {
		st = append(st, Member{"additionalDetails", nil})
	}
	caStatus := "notApplied"
	if code == "0" {
		caStatus = "success"
	}
	id := s.Str("id")
	var beta Object
	for _, m := range s {
		if validProp(betaOnlySignInProps(), m.Key) {
			beta = append(beta, m)
		}
	}
	return completeBetaSignIn(append(Object{
		{"id", id},
		{"createdDateTime", s.Str("createdDateTime")},
		{"userDisplayName", pick(s, "userDisplayName", u.Str("displayName"))},
		{"userPrincipalName", pick(s, "userPrincipalName", u.Str("userPrincipalName"))},
		{"userId", uid},
		{"appId", pick(s, "appId", appOffice)},
		{"appDisplayName", pick(s, "appDisplayName", "Microsoft Office")},
		{"ipAddress", pick(s, "ipAddress", nil)},
		{"clientAppUsed", pick(s, "clientAppUsed", "Browser")},
		{"correlationId", pick(s, "correlationId", UUIDFrom(hash64(id), 1, 0x636f7272))},
		{"conditionalAccessStatus", pick(s, "conditionalAccessStatus", caStatus)},
		{"isInteractive", pick(s, "isInteractive", true)},
		{"riskDetail", pick(s, "riskDetail", "none")},
		{"riskLevelAggregated", pick(s, "riskLevelAggregated", "none")},
		{"riskLevelDuringSignIn", pick(s, "riskLevelDuringSignIn", "none")},
		{"riskState", pick(s, "riskState", "none")},
		{"riskEventTypes", pick(s, "riskEventTypes", []any{})},
		{"riskEventTypes_v2", pick(s, "riskEventTypes_v2", []any{})},
		{"resourceDisplayName", pick(s, "resourceDisplayName", "Office 365 Exchange Online")},
		{"resourceId", pick(s, "resourceId", appExchangeOnline)},
		{"status", st},
		{"deviceDetail", pick(s, "deviceDetail", Object{
			{"deviceId", ""}, {"displayName", ""}, {"operatingSystem", "Windows10"},
			{"browser", "Edge 131.0.0"}, {"isCompliant", false}, {"isManaged", false}, {"trustType", ""}})},
		{"location", pick(s, "location", Object{
			{"city", nil}, {"state", nil}, {"countryOrRegion", nil},
			{"geoCoordinates", Object{{"altitude", nil}, {"latitude", nil}, {"longitude", nil}}}})},
		{"appliedConditionalAccessPolicies", pick(s, "appliedConditionalAccessPolicies", []any{})},
	}, beta...), tenantID), nil
}

// Well-known application ids used by defaults and synthetic data.
const (
	appOffice         = "d3590ed6-52b3-4102-aeff-aad2292ab01c" // Microsoft Office
	appTeams          = "1fec8e78-bce4-4aaf-ab1b-5451cc387264" // Microsoft Teams
	appExchangeOnline = "00000002-0000-0ff1-ce00-000000000000" // Office 365 Exchange Online
)
