package midnight

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
)

// The story replays the 2024–2025 techniques against the running tenant,
// one step at a time. Each step picks its target from the data (never a
// hard-coded id), changes the objects and logs the way Graph shows the
// technique (in one graphsim Change: readers see all of it or nothing),
// and returns what it changed with the findings (rule, subject, severity)
// the change should produce. README.md describes every step.

// Attack steps, in the campaign's order.
const (
	StepPasswordSpray       = "password-spray"
	StepOAuthApp            = "oauth-app"
	StepDeviceCode          = "device-code"
	StepRogueDevice         = "rogue-device"
	StepFederatedCredential = "federated-credential"
	StepDomainFederation    = "domain-federation"
)

// Steps lists the attack steps in the campaign's order.
func Steps() []string {
	return []string{StepPasswordSpray, StepOAuthApp, StepDeviceCode, StepRogueDevice, StepFederatedCredential, StepDomainFederation}
}

// Well-known ids (Microsoft's first-party applications and app roles;
// shared/docs/graph.md §6 and the issue).
const (
	appExchangeOnline     = "00000002-0000-0ff1-ce00-000000000000"
	appGraph              = "00000003-0000-0000-c000-000000000000"
	appAzurePortal        = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
	appOffice             = "d3590ed6-52b3-4102-aeff-aad2292ab01c"
	appBroker             = "29d9ed98-a469-4536-ade2-f981bc1d605e" // Microsoft Authentication Broker
	resDeviceRegistration = "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9" // Device Registration Service
	resServiceManagement  = "797f4846-ba00-4fd7-ba43-dac1f8f63013" // Windows Azure Service Management API
	roleFullAccessAsApp   = "dc890d15-9560-4a4c-9b7f-a736ec74ec40" // Exchange Online full_access_as_app
	issuerGitHub          = "https://token.actions.githubusercontent.com"
	drsName               = "Device Registration Service"
)

// The attacker's addresses. sprayNet (TEST-NET-2, RFC 5737) stands in for
// the residential proxies of the 2024 spray: not Azure, not a hosting
// range, so signin.azure-ip has nothing to say and the spray is seen by
// its shape alone. phishNet (2001:db8::/32, RFC 3849) is the device-code
// phisher's.
const (
	sprayNet      = "198.51.100."
	sprayFirst    = 180 // the story sprays from .180–.191 (the data's spray used other addresses)
	phishNet      = "2001:db8:c0de:"
	dormantAfter  = 90 * 24 * time.Hour
	newAccountFor = 14 * 24 * time.Hour
	activeWithin  = 30 * 24 * time.Hour
	sprayAccounts = 12
)

// legacyClients are the clientAppUsed values of basic-authentication
// protocols the spray rotates through.
func legacyClients() []string {
	return []string{"IMAP4", "POP3", "Authenticated SMTP", "Exchange ActiveSync", "Other clients"}
}

// story is the steps bound to one tenant, with what earlier steps did.
type story struct {
	s        *graphsim.Server
	seed     uint64
	expected []graphsim.ExpectedFinding
	decoys   []graphsim.Decoy

	n       uint64
	used    map[string]bool // subjects a step already used
	sprayed string          // user id of the last spray's success
	newApp  string          // application id of the last oauth-app
	newSP   string          // its service principal
	phished string          // user id of the last device-code victim
	phishIP string
}

func newStory(s *graphsim.Server) (graphsim.Story, error) {
	sc := Scenario()
	exp, err := sc.Expected()
	if err != nil {
		return nil, err
	}
	decoys, err := sc.Decoys()
	if err != nil {
		return nil, err
	}
	return &story{s: s, seed: uint64(s.Seed()), expected: exp, decoys: decoys, used: map[string]bool{}}, nil
}

func (st *story) Steps() []string { return Steps() }

// Run runs one step: graphsim.ErrUnknownStep for another name,
// graphsim.ErrNoCandidate when the tenant has nothing the step can use.
func (st *story) Run(ctx context.Context, step string) (graphsim.AttackResult, error) {
	if err := ctx.Err(); err != nil {
		return graphsim.AttackResult{}, err
	}
	run := map[string]func(*attackCtx) error{
		StepPasswordSpray:       (*attackCtx).passwordSpray,
		StepOAuthApp:            (*attackCtx).oauthApp,
		StepDeviceCode:          (*attackCtx).deviceCode,
		StepRogueDevice:         (*attackCtx).rogueDevice,
		StepFederatedCredential: (*attackCtx).federatedCredential,
		StepDomainFederation:    (*attackCtx).domainFederation,
	}[step]
	if run == nil {
		return graphsim.AttackResult{}, fmt.Errorf("%w %q (want one of %s)", graphsim.ErrUnknownStep, step, strings.Join(Steps(), ", "))
	}
	st.n++
	a := &attackCtx{story: st, t: st.s.Clock().Truncate(100 * time.Nanosecond), n: st.n, tenantID: st.s.TenantID()}
	a.res = graphsim.AttackResult{Step: step, At: a.t, Changed: []graphsim.AttackChange{}, Expected: []graphsim.ExpectedFinding{}}
	// The story's bookkeeping changes only when the step's change went in.
	commit := *st
	a.next = &commit
	a.next.used = maps(st.used)
	notified, err := st.s.Change(func(tx *graphsim.Tx) error {
		a.tx = tx
		return run(a)
	})
	if err != nil {
		return graphsim.AttackResult{}, err
	}
	st.used, st.sprayed, st.newApp, st.newSP, st.phished, st.phishIP =
		a.next.used, a.next.sprayed, a.next.newApp, a.next.newSP, a.next.phished, a.next.phishIP
	a.res.Notified = notified
	return a.res, nil
}

func maps(m map[string]bool) map[string]bool {
	out := make(map[string]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// attackCtx is the state of one step.
type attackCtx struct {
	story    *story
	next     *story // the bookkeeping after the step
	tx       *graphsim.Tx
	t        time.Time
	n, k     uint64
	tenantID string
	res      graphsim.AttackResult
}

// id returns a fresh UUID for this step (the step's time is mixed in, so a
// live tenant attacked in two runs never reuses one).
func (a *attackCtx) id() string {
	a.k++
	return graphsim.UUIDFrom(a.story.seed^0x6d69646e69676874^uint64(a.t.UnixNano()), a.n<<16|a.k, 0x69647321)
}

// excluded reports whether the scenario already plants or decoys one of
// rules on subject id, or an earlier step used it.
func (a *attackCtx) excluded(id string, rules ...string) bool {
	if a.next.used[strings.ToLower(id)] {
		return true
	}
	for _, e := range a.story.expected {
		if strings.EqualFold(e.SubjectID, id) && slices.Contains(rules, e.Rule) {
			return true
		}
	}
	for _, d := range a.story.decoys {
		if strings.EqualFold(d.SubjectID, id) && slices.Contains(rules, d.Rule) {
			return true
		}
	}
	return false
}

func (a *attackCtx) change(kind, id, name, what string, props ...string) {
	a.res.Changed = append(a.res.Changed, graphsim.AttackChange{Kind: kind, ID: id, Name: name, Properties: props, What: what})
}

func (a *attackCtx) expect(rule, subjectType, id, name, severity, why string) {
	a.res.Expected = append(a.res.Expected, graphsim.ExpectedFinding{Rule: rule, SubjectType: subjectType,
		SubjectID: id, SubjectName: name, Severity: severity, Why: "attack step " + a.res.Step + ": " + why})
}

func (a *attackCtx) update(kind graphsim.ObjectKind, id string, props graphsim.Object) error {
	changed, err := a.tx.Update(kind, id, props)
	if err != nil {
		return err
	}
	o, _ := a.tx.Lookup(kind, id)
	name := o.Str("displayName")
	if kind == graphsim.KindUser {
		name = o.Str("userPrincipalName")
	}
	if kind == graphsim.KindDomain {
		name = id
	}
	a.change(string(kind), id, name, "updated", changed...)
	return nil
}

func (a *attackCtx) create(kind graphsim.ObjectKind, o graphsim.Object, what string) error {
	id, err := a.tx.Create(kind, o)
	if err != nil {
		return err
	}
	a.change(string(kind), id, o.Str("displayName"), what)
	return nil
}

func (a *attackCtx) audit(ev graphsim.Object, what string) error {
	if _, err := a.tx.AppendLog(graphsim.LogDirectoryAudits, ev); err != nil {
		return err
	}
	a.change(graphsim.LogDirectoryAudits, ev.Str("id"), ev.Str("activityDisplayName"), what)
	return nil
}

func (a *attackCtx) signIn(s graphsim.Object, what string) error {
	o, err := a.tx.AppendLog(graphsim.LogSignIns, s)
	if err != nil {
		return err
	}
	a.change(graphsim.LogSignIns, o.Str("id"), o.Str("userPrincipalName"), what)
	return nil
}

// actor is who performs a step, as the audit log names the initiator.
type actor struct{ id, name, upn, ip string }

func userActor(u graphsim.Object, ip string) actor {
	return actor{id: u.Str("id"), name: u.Str("displayName"), upn: u.Str("userPrincipalName"), ip: ip}
}

// attacker is the account the steps after the spray act as: the last
// spray's success, else the initiator of the newest "Add application" in
// the audit log (the data's intruder).
func (a *attackCtx) attacker() (actor, error) {
	if id := a.next.sprayed; id != "" {
		if u, ok := a.tx.Lookup(graphsim.KindUser, id); ok {
			return userActor(u, sprayNet+fmt.Sprint(sprayFirst+sprayAccounts-1)), nil
		}
	}
	var best graphsim.Object
	var bestT time.Time
	for _, o := range a.tx.Objects(graphsim.LogDirectoryAudits) {
		if o.Str("activityDisplayName") == "Add application" && o.Str("result") == "success" {
			if t := parseTime(o.Str("activityDateTime")); t.After(bestT) {
				best, bestT = o, t
			}
		}
	}
	if best != nil {
		if v, _ := best.Path("initiatedBy/user"); v != nil {
			if u, ok := v.(graphsim.Object); ok && u.Str("id") != "" {
				return actor{id: u.Str("id"), name: u.Str("displayName"), upn: u.Str("userPrincipalName"), ip: u.Str("ipAddress")}, nil
			}
		}
	}
	return actor{}, fmt.Errorf("%w: no account of the attacker (run %s first)", graphsim.ErrNoCandidate, StepPasswordSpray)
}

// auditEvent builds a directory audit record as Graph returns it.
func (a *attackCtx) auditEvent(t time.Time, activity, category, opType string, by graphsim.Object, corr string, targets ...graphsim.Object) graphsim.Object {
	if corr == "" {
		corr = a.id()
	}
	tg := make([]any, len(targets))
	for i, x := range targets {
		tg[i] = x
	}
	details := []any{}
	if v, _ := by.Get("user"); v != nil {
		details = append(details, graphsim.Object{{"key", "User-Agent"}, {"value", browserAgent}})
	}
	return graphsim.Object{
		{"id", "Directory_" + corr + "_" + strings.ToUpper(a.id()[:5]) + fmt.Sprintf("_%09d", a.n*1000+a.k)},
		{"category", category},
		{"correlationId", corr},
		{"result", "success"},
		{"resultReason", ""},
		{"activityDisplayName", activity},
		{"activityDateTime", t.UTC().Format("2006-01-02T15:04:05.0000000Z")},
		{"loggedByService", "Core Directory"},
		{"operationType", opType},
		{"initiatedBy", by},
		{"targetResources", tg},
		{"additionalDetails", details},
	}
}

func byUser(ac actor) graphsim.Object {
	return graphsim.Object{{"app", nil}, {"user", graphsim.Object{{"id", ac.id}, {"displayName", ac.name},
		{"userPrincipalName", ac.upn}, {"ipAddress", ac.ip}, {"userType", nil}, {"homeTenantId", nil}, {"homeTenantName", nil}}}}
}

// byDRS is the initiator of a device registration's records.
func (a *attackCtx) byDRS() graphsim.Object {
	return graphsim.Object{{"app", graphsim.Object{{"appId", nil}, {"displayName", drsName},
		{"servicePrincipalId", graphsim.UUIDFrom(a.story.seed, 1, 0x647273)}, {"servicePrincipalName", nil}}}, {"user", nil}}
}

func target(id string, name any, typ string, upn any, props ...graphsim.Object) graphsim.Object {
	mp := make([]any, len(props))
	for i, p := range props {
		mp[i] = p
	}
	return graphsim.Object{{"id", id}, {"displayName", name}, {"type", typ}, {"userPrincipalName", upn}, {"groupType", nil},
		{"modifiedProperties", mp}}
}

// modified is a modifiedProperties entry whose values Graph writes as JSON
// text.
func modified(name string, old, new any) graphsim.Object {
	return graphsim.Object{{"displayName", name}, {"oldValue", graphsim.JSONText(old)}, {"newValue", graphsim.JSONText(new)}}
}

// quoted is an entry whose values are one JSON string ("\"x\"") or empty.
func quoted(name, new string) graphsim.Object {
	return graphsim.Object{{"displayName", name}, {"oldValue", ""}, {"newValue", graphsim.JSONText(new)}}
}

func included(props string) graphsim.Object {
	return graphsim.Object{{"displayName", "Included Updated Properties"}, {"oldValue", ""}, {"newValue", graphsim.JSONText(props)}}
}

const browserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 1900 {
		return time.Time{}
	}
	return t.UTC()
}

func containsFold(ss []string, s string) bool {
	return slices.ContainsFunc(ss, func(x string) bool { return strings.EqualFold(x, s) })
}

func activeMember(u graphsim.Object) bool {
	en, _ := u.Get("accountEnabled")
	return en == true && strings.EqualFold(u.Str("userType"), "Member")
}

// lastSuccess is a user's lastSuccessfulSignInDateTime (zero: never).
func lastSuccess(u graphsim.Object) time.Time {
	v, _ := u.Path("signInActivity/lastSuccessfulSignInDateTime")
	s, _ := v.(string)
	return parseTime(s)
}

// members returns the lower-case ids of the users in group id, through
// nested groups.
func (a *attackCtx) members(id string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]bool{}
	queue := []string{id}
	for len(queue) > 0 {
		g := queue[0]
		queue = queue[1:]
		if seen[strings.ToLower(g)] {
			continue
		}
		seen[strings.ToLower(g)] = true
		o, ok := a.tx.Lookup(graphsim.KindGroup, g)
		if !ok {
			continue
		}
		v, _ := o.Get(graphsim.MemberIDs)
		for _, m := range graphsim.Strings(v) {
			if _, isUser := a.tx.Lookup(graphsim.KindUser, m); isUser {
				out[strings.ToLower(m)] = true
			} else {
				queue = append(queue, m)
			}
		}
	}
	return out
}

// caApplies reports whether an enabled policy for all resources applies to
// user uid (included directly, through a group or by All; not excluded).
// It also reports whether the user is excluded from it.
func (a *attackCtx) caApplies(p graphsim.Object, uid string) (applies, excluded bool) {
	if p.Str("state") != "enabled" {
		return false, false
	}
	apps, _ := p.Path("conditions/applications/includeApplications")
	if !containsFold(graphsim.Strings(apps), "All") {
		return false, false
	}
	get := func(k string) []string { v, _ := p.Path("conditions/users/" + k); return graphsim.Strings(v) }
	in := containsFold(get("includeUsers"), "All") || containsFold(get("includeUsers"), uid)
	for _, g := range get("includeGroups") {
		in = in || a.members(g)[strings.ToLower(uid)]
	}
	out := containsFold(get("excludeUsers"), uid)
	for _, g := range get("excludeGroups") {
		out = out || a.members(g)[strings.ToLower(uid)]
	}
	return in && !out, out
}

func grants(p graphsim.Object, control string) bool {
	v, _ := p.Path("grantControls/builtInControls")
	return containsFold(graphsim.Strings(v), control)
}

// mfaRegistered reports the registration report's isMfaRegistered.
func (a *attackCtx) mfaRegistered(uid string) bool {
	r, ok := a.tx.Lookup(graphsim.KindRegistration, uid)
	if !ok {
		return false
	}
	v, _ := r.Get("isMfaRegistered")
	return v == true
}

// deviceCodeBlocked reports whether an enabled policy blocking the
// device-code flow applies to uid.
func (a *attackCtx) deviceCodeBlocked(uid string) bool {
	for _, p := range a.tx.Objects("conditionalAccessPolicies") {
		tm, _ := p.Path("conditions/authenticationFlows/transferMethods")
		s, _ := tm.(string)
		if !strings.Contains(strings.ToLower(s), "devicecodeflow") || !grants(p, "block") {
			continue
		}
		if ok, _ := a.caApplies(p, uid); ok {
			return true
		}
	}
	return false
}

func raise(sev string) string {
	switch sev {
	case "low":
		return "medium"
	case "medium":
		return "high"
	default:
		return "critical"
	}
}

func location(city, state, cc string, lat, lon float64) graphsim.Object {
	return graphsim.Object{{"city", city}, {"state", state}, {"countryOrRegion", cc},
		{"geoCoordinates", graphsim.Object{{"altitude", nil}, {"latitude", lat}, {"longitude", lon}}}}
}

func deviceDetail(id, name, os string, managed bool, trust string) graphsim.Object {
	return graphsim.Object{{"deviceId", id}, {"displayName", name}, {"operatingSystem", os}, {"browser", ""},
		{"isCompliant", managed}, {"isManaged", managed}, {"trustType", trust}}
}
