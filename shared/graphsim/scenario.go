package graphsim

import (
	"embed"
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

//go:embed scenarios
var scenarioFS embed.FS

// store is the simulated tenant's data: one collection per list endpoint
// and the app role grants per resource service principal, built by
// loadScenario. The directory objects that can change (users, groups,
// service principals, applications, registration rows) and the two logs
// carry an overlay (state.go) guarded by mu; the rest is read-only.
type store struct {
	tenantID string
	colls    map[string]*collection // read-only collections
	grants   map[string]*collection // lower-case resource SP id
	sps      map[string]bool        // lower-case SP ids

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

func (st *store) grantsOn(id string) (*collection, bool) {
	lid := strings.ToLower(id)
	if !st.sps[lid] {
		return nil, false
	}
	if c, ok := st.grants[lid]; ok {
		return c, true
	}
	return &collection{}, true
}

// Scenario files (one JSON array per file under scenarios/<name>/) hold
// Graph-shaped objects. The loader
//   - drops members named "//" (comments for readers),
//   - turns relative times "now", "now-6d2h15m", "now+65d" into UTC
//     timestamps against the scenario clock,
//   - encodes modifiedProperties oldValue/newValue written as JSON arrays or
//     objects into the JSON text Graph returns inside the string,
//   - completes sign-ins, registration rows and app role assignments with
//     the properties Graph always returns (names from the user or service
//     principal they reference, defaults for the rest),
//   - adds sub-second digits to log timestamps (Graph's have seven) and
//     sorts logs newest first,
//   - counts consumedUnits of each SKU from the users holding it.
const (
	fileOrganization  = "organization.json"
	fileSkus          = "subscribedSkus.json"
	fileUsers         = "users.json"
	fileRegistrations = "userRegistrationDetails.json"
	fileSPs           = "servicePrincipals.json"
	fileApps          = "applications.json"
	fileGrants        = "appRoleAssignments.json"
	fileAudits        = "directoryAudits.json"
	fileSignIns       = "signIns.json"
	filePolicies      = "conditionalAccessPolicies.json"
	fileLocations     = "namedLocations.json"
	fileGroups        = "groups.json"
)

func readEmbeddedJSON(name string, v any) error {
	b, err := scenarioFS.ReadFile(name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

type loader struct {
	dir string
	now time.Time
}

// objects reads one scenario file as resolved objects. A missing file is
// an empty list.
func (l *loader) objects(file string) ([]Object, error) {
	b, err := scenarioFS.ReadFile(l.dir + "/" + file)
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
			return formatTime(t), nil
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

// formatTime prints a UTC timestamp as Graph does: whole seconds without a
// fraction, otherwise seven fractional digits.
func formatTime(t time.Time) string {
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

func loadScenario(name string, now time.Time, users int, seed uint64) (*store, error) {
	switch name {
	case ScenarioAPT29, ScenarioEmpty:
	default:
		return nil, fmt.Errorf("unknown scenario (want %q or %q)", ScenarioAPT29, ScenarioEmpty)
	}
	l := &loader{dir: "scenarios/" + name, now: now}
	files := map[string][]Object{}
	for _, f := range []string{fileOrganization, fileSkus, fileUsers, fileRegistrations, fileSPs, fileApps,
		fileGrants, fileAudits, fileSignIns, filePolicies, fileLocations, fileGroups} {
		objs, err := l.objects(f)
		if err != nil {
			return nil, err
		}
		files[f] = objs
	}
	st := &store{colls: map[string]*collection{}, grants: map[string]*collection{}, sps: map[string]bool{},
		kinds: map[ObjectKind]*kindState{}, logs: map[string]*logState{}}
	if len(files[fileOrganization]) == 0 {
		return nil, fmt.Errorf("%s: no organization", fileOrganization)
	}
	st.tenantID = files[fileOrganization][0].Str("id")

	usersByID := map[string]Object{}
	for _, u := range files[fileUsers] {
		usersByID[strings.ToLower(u.Str("id"))] = u
	}
	spsByID := map[string]Object{}
	for _, sp := range files[fileSPs] {
		id := strings.ToLower(sp.Str("id"))
		spsByID[id] = sp
		st.sps[id] = true
	}

	g := newSynth(now, users, seed, files[fileOrganization][0])

	// SKUs: consumedUnits from assignments.
	consumed := map[string]int{}
	for _, u := range files[fileUsers] {
		lic, _ := u.Get("assignedLicenses")
		arr, _ := lic.([]any)
		for _, a := range arr {
			if ao, ok := a.(Object); ok {
				consumed[strings.ToLower(ao.Str("skuId"))]++
			}
		}
	}
	consumed[synthSkuE3] += users
	skus := files[fileSkus]
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

	st.colls["organization"] = &collection{sources: []source{static(files[fileOrganization])}}
	st.colls["subscribedSkus"] = &collection{sources: []source{static(skus)}}
	st.colls["policies"] = &collection{sources: []source{static(files[filePolicies])}}
	st.colls["namedLocations"] = &collection{sources: []source{static(files[fileLocations])}}
	st.kinds[KindServicePrincipal] = newKindState(KindServicePrincipal, servicePrincipalProps(), static(files[fileSPs]))
	st.kinds[KindApplication] = newKindState(KindApplication, applicationProps(), static(files[fileApps]))
	st.kinds[KindGroup] = newKindState(KindGroup, groupProps(), static(files[fileGroups]))

	uk := newKindState(KindUser, userProps(), static(files[fileUsers]), lazySource{n: users, gen: g.user})
	uk.synth = func(lid string) (Object, bool) {
		i, ok := g.index(lid)
		if !ok {
			return nil, false
		}
		return g.user(i).o, true
	}
	st.kinds[KindUser] = uk

	regs := make([]Object, 0, len(files[fileRegistrations]))
	for _, r := range files[fileRegistrations] {
		row, err := completeRegistration(r, usersByID, now)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fileRegistrations, err)
		}
		regs = append(regs, row)
	}
	rk := newKindState(KindRegistration, registrationProps(), static(regs), lazySource{n: users, gen: g.registration})
	rk.synth = func(lid string) (Object, bool) {
		i, ok := g.index(lid)
		if !ok {
			return nil, false
		}
		return g.registration(i).o, true
	}
	st.kinds[KindRegistration] = rk

	// App role assignments, grouped by resource.
	byResource := map[string][]Object{}
	var resOrder []string
	for _, a := range files[fileGrants] {
		row, err := completeGrant(a, spsByID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fileGrants, err)
		}
		res := strings.ToLower(row.Str("resourceId"))
		if _, ok := byResource[res]; !ok {
			resOrder = append(resOrder, res)
		}
		byResource[res] = append(byResource[res], row)
	}
	for _, res := range resOrder {
		st.grants[res] = &collection{sources: []source{static(byResource[res])}}
	}

	audits, err := logRecords(files[fileAudits], "activityDateTime", func(o Object) (Object, error) { return o, nil })
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fileAudits, err)
	}
	st.logs[LogDirectoryAudits] = &logState{name: LogDirectoryAudits, timeKey: "activityDateTime",
		base: []source{audits}, ids: ids(audits)}

	signIns, err := logRecords(files[fileSignIns], "createdDateTime", func(o Object) (Object, error) {
		return completeSignIn(o, usersByID)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fileSignIns, err)
	}
	st.logs[LogSignIns] = &logState{name: LogSignIns, timeKey: "createdDateTime",
		base: []source{signIns, lazySource{n: g.signInCount(), time: g.signInTime, gen: g.signIn}},
		ids:  ids(signIns)}
	return st, nil
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

func completeRegistration(r Object, users map[string]Object, now time.Time) (Object, error) {
	id := r.Str("id")
	u, ok := users[strings.ToLower(id)]
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
		{"lastUpdatedDateTime", pick(r, "lastUpdatedDateTime", formatTime(now.Add(-20*time.Hour)))},
		{"methodsRegistered", methods},
		{"isSystemPreferredAuthenticationMethodEnabled", pick(r, "isSystemPreferredAuthenticationMethodEnabled", true)},
		{"systemPreferredAuthenticationMethods", pick(r, "systemPreferredAuthenticationMethods", sysPref)},
		{"userPreferredMethodForSecondaryAuthentication", pick(r, "userPreferredMethodForSecondaryAuthentication", pref)},
	}, nil
}

func completeGrant(a Object, sps map[string]Object) (Object, error) {
	res, ok := sps[strings.ToLower(a.Str("resourceId"))]
	if !ok {
		return nil, fmt.Errorf("assignment %q: unknown resource %q", a.Str("id"), a.Str("resourceId"))
	}
	pr, ok := sps[strings.ToLower(a.Str("principalId"))]
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

func completeSignIn(s Object, users map[string]Object) (Object, error) {
	uid := s.Str("userId")
	u, ok := users[strings.ToLower(uid)]
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
	return Object{
		{"id", id},
		{"createdDateTime", s.Str("createdDateTime")},
		{"userDisplayName", pick(s, "userDisplayName", u.Str("displayName"))},
		{"userPrincipalName", pick(s, "userPrincipalName", u.Str("userPrincipalName"))},
		{"userId", uid},
		{"appId", pick(s, "appId", appOffice)},
		{"appDisplayName", pick(s, "appDisplayName", "Microsoft Office")},
		{"ipAddress", pick(s, "ipAddress", nil)},
		{"clientAppUsed", pick(s, "clientAppUsed", "Browser")},
		{"correlationId", pick(s, "correlationId", uuidFrom(hash64(id), 1, 0x636f7272))},
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
	}, nil
}

// Well-known application ids used by defaults and synthetic data.
const (
	appOffice         = "d3590ed6-52b3-4102-aeff-aad2292ab01c" // Microsoft Office
	appTeams          = "1fec8e78-bce4-4aaf-ab1b-5451cc387264" // Microsoft Teams
	appExchangeOnline = "00000002-0000-0ff1-ce00-000000000000" // Office 365 Exchange Online
)
