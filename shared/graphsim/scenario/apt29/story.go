package apt29

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
)

// The story replays the report's techniques against the running tenant,
// one step at a time. Each step picks its target from the data (never a
// hard-coded id), changes the objects and logs the way Graph would show
// the technique (in one graphsim Change, so readers see all of it or
// nothing; the users it changes are notified), and returns what it changed
// with the findings (rule, subject) the change should produce. README.md
// describes every step.

// Attack steps, in the report's order.
const (
	StepDisableAudit    = "disable-audit"
	StepDormantTakeover = "dormant-takeover"
	StepSPBackdoor      = "sp-backdoor"
	StepReplyURL        = "reply-url"
	StepMailCollection  = "mail-collection"
)

// Steps lists the attack steps in the report's order.
func Steps() []string {
	return []string{StepDisableAudit, StepDormantTakeover, StepSPBackdoor, StepReplyURL, StepMailCollection}
}

// story is the steps bound to one tenant, with what earlier steps did.
// graphsim.Server.Attack runs one step at a time.
type story struct {
	s        *graphsim.Server
	seed     uint64
	expected []graphsim.ExpectedFinding
	decoys   []graphsim.Decoy
	// activity are the findings of the Exchange audit records of the
	// scenario's data (activity-expected.json): a step must not pick a
	// subject that already has one.
	activity []graphsim.ExpectedFinding

	n          uint64 // steps run, for ids
	takenOver  string // user id of the last dormant-takeover
	backdoorSP string // SP id of the last sp-backdoor
}

// newStory binds the steps to tenant s (graphsim.Scenario.Story).
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
	act, err := sc.ActivityExpected()
	if err != nil {
		return nil, err
	}
	return &story{s: s, seed: uint64(s.Seed()), expected: exp, decoys: decoys, activity: act}, nil
}

func (st *story) Steps() []string { return Steps() }

// Run runs one step and returns what it changed and the findings it
// should produce. It fails with graphsim.ErrUnknownStep, or
// graphsim.ErrNoCandidate when the tenant has nothing the step can use (a
// step already run on every candidate, or data without one).
func (st *story) Run(ctx context.Context, step string) (graphsim.AttackResult, error) {
	if err := ctx.Err(); err != nil {
		return graphsim.AttackResult{}, err
	}
	var run func(*attackCtx) error
	switch step {
	case StepDisableAudit:
		run = (*attackCtx).disableAudit
	case StepDormantTakeover:
		run = (*attackCtx).dormantTakeover
	case StepSPBackdoor:
		run = (*attackCtx).spBackdoor
	case StepReplyURL:
		run = (*attackCtx).replyURL
	case StepMailCollection:
		run = (*attackCtx).mailCollection
	default:
		return graphsim.AttackResult{}, fmt.Errorf("%w %q (want one of %s)", graphsim.ErrUnknownStep, step, strings.Join(Steps(), ", "))
	}
	st.n++
	a := &attackCtx{s: st.s, story: st, t: st.s.Clock().Truncate(100 * time.Nanosecond), n: st.n}
	a.res = graphsim.AttackResult{Step: step, At: a.t, Changed: []graphsim.AttackChange{}, Expected: []graphsim.ExpectedFinding{}}
	notified, err := st.s.Change(func(tx *graphsim.Tx) error {
		a.tx = tx
		return run(a)
	})
	if err != nil {
		return graphsim.AttackResult{}, err
	}
	a.res.Notified = notified
	// Exchange audit records reach the Management Activity API as content
	// blobs once the step's directory changes are in.
	for _, b := range a.blobs {
		id, err := st.s.AppendActivityContent(b.contentType, b.created, b.records)
		if err != nil {
			return graphsim.AttackResult{}, err
		}
		a.change("activityContent", id, b.contentType, b.what)
	}
	return a.res, nil
}

// attackCtx is the state of one step.
type attackCtx struct {
	s     *graphsim.Server
	story *story
	tx    *graphsim.Tx
	t     time.Time
	n     uint64 // step number, for ids
	k     uint64 // ids handed out within the step
	res   graphsim.AttackResult
	blobs []pendingBlob // Management Activity API content the step publishes
}

// entry is a log entry with its time.
type entry struct {
	o graphsim.Object
	t time.Time
}

// pick returns o's value for key, or def.
func pick(o graphsim.Object, key string, def any) any {
	if v, ok := o.Get(key); ok {
		return v
	}
	return def
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// splitmix64 is a small, good 64-bit mixer (Steele et al.).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Well-known application ids.
const (
	appOffice         = "d3590ed6-52b3-4102-aeff-aad2292ab01c" // Microsoft Office
	appExchangeOnline = "00000002-0000-0ff1-ce00-000000000000" // Office 365 Exchange Online
)

// Constants the steps use (shared/docs/graph.md §6).
const (
	planAdvancedAuditing = "2f442157-a11c-46b9-ae5b-6e39ff4e5849" // M365_ADVANCED_AUDITING
	appGraph             = "00000003-0000-0000-c000-000000000000"
	// attackIP is the address the dormant account is taken over from: an
	// Azure virtual machine in North Europe, inside AzureCloud.northeurope
	// 13.74.0.0/16 of shared/azureip/testdata/servicetags-sample.json
	// (checked by TestAttackIPIsAzure).
	attackIP = "13.74.179.117"
	// attackBackdate is how far the backdoor certificate's startDateTime is
	// set in the past: the caller of "Add service principal credentials"
	// chooses it.
	attackBackdate = 30 * 24 * time.Hour
	dormantAfter   = 90 * 24 * time.Hour
	newAccountFor  = 14 * 24 * time.Hour
	credentialNear = 24 * time.Hour
)

// mailRoleValues are the app roles that let sp-backdoor's target read
// every mailbox (Graph Mail.Read, Mail.ReadWrite; Exchange Online
// full_access_as_app).
func mailRoleValues() []string { return []string{"Mail.Read", "Mail.ReadWrite", "full_access_as_app"} }

// actor is who performs a step, as the audit log names the initiator.
type actor struct {
	id, name, upn, ip string
}

// id returns a fresh UUID for this step.
func (a *attackCtx) id() string {
	a.k++
	// The step's time is mixed in: a live tenant attacked in two runs does
	// not reuse key ids (a store that outlives the run would take the
	// second run's findings for old ones); a fixed clock keeps tests
	// reproducible.
	return graphsim.UUIDFrom(a.story.seed^0x61747461636b^uint64(a.t.UnixNano()), a.n<<16|a.k, 0x69647321)
}

// excluded reports whether the scenario already plants or decoys one of
// rules on subject id: a step must not turn a decoy into a finding, nor
// pick an object whose finding is already expected.
func (a *attackCtx) excluded(id string, rules ...string) bool {
	for _, e := range slices.Concat(a.story.expected, a.story.activity) {
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
		SubjectID: id, SubjectName: name, Severity: severity, Why: why})
}

func (a *attackCtx) update(kind graphsim.ObjectKind, id string, props graphsim.Object) error {
	changed, err := a.tx.Update(kind, id, props)
	if err != nil {
		return err
	}
	o, _ := a.tx.Lookup(kind, id)
	name := o.Str("displayName")
	if kind == graphsim.KindUser || kind == graphsim.KindRegistration {
		name = o.Str("userPrincipalName")
	}
	a.change(string(kind), id, name, "updated", changed...)
	return nil
}

func (a *attackCtx) log(name string, o graphsim.Object, what string) error {
	if _, err := a.tx.AppendLog(name, o); err != nil {
		return err
	}
	a.change(name, o.Str("id"), o.Str("activityDisplayName"), what)
	return nil
}

// attacker is who performs the steps after the takeover: the account taken
// over by dormant-takeover if it ran, else the initiator of the newest
// successful "Add service principal credentials" in the audit log (the
// scenario's intruder).
func (a *attackCtx) attacker() actor {
	if id := a.story.takenOver; id != "" {
		if u, ok := a.tx.Lookup(graphsim.KindUser, id); ok {
			return actor{id: u.Str("id"), name: u.Str("displayName"), upn: u.Str("userPrincipalName"), ip: attackIP}
		}
	}
	var best graphsim.Object
	var bestT time.Time
	a.eachAudit(func(r entry) {
		if r.o.Str("activityDisplayName") == "Add service principal credentials" && r.o.Str("result") == "success" && r.t.After(bestT) {
			best, bestT = r.o, r.t
		}
	})
	if best != nil {
		if by, _ := best.Path("initiatedBy/user"); by != nil {
			if u, ok := by.(graphsim.Object); ok && u.Str("id") != "" {
				return actor{id: u.Str("id"), name: u.Str("displayName"), upn: u.Str("userPrincipalName"), ip: u.Str("ipAddress")}
			}
		}
	}
	return actor{ip: attackIP}
}

func (a *attackCtx) eachAudit(f func(entry)) {
	for _, o := range a.tx.Objects(graphsim.LogDirectoryAudits) {
		f(entry{o: o, t: parseTime(o.Str("activityDateTime"))})
	}
}

// auditEvent builds a directory audit record shaped like the scenario's.
func (a *attackCtx) auditEvent(t time.Time, activity, category, service, opType, prefix, resultReason, agent string,
	by actor, target graphsim.Object, details ...graphsim.Object) graphsim.Object {
	corr := a.id()
	h := splitmix64(hash64(corr))
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var tag [5]byte
	for i := range tag {
		tag[i] = alnum[(h>>(i*6))%uint64(len(alnum))]
	}
	var user any
	if by.id != "" {
		user = graphsim.Object{{"id", by.id}, {"displayName", by.name}, {"userPrincipalName", by.upn}, {"ipAddress", by.ip},
			{"userType", nil}, {"homeTenantId", nil}, {"homeTenantName", nil}}
	}
	add := []any{graphsim.Object{{"key", "User-Agent"}, {"value", agent}}}
	for _, d := range details {
		add = append(add, d)
	}
	return graphsim.Object{
		{"id", fmt.Sprintf("%s_%s_%s_%09d", prefix, corr, tag[:], (h>>32)%1_000_000_000)},
		{"category", category},
		{"correlationId", corr},
		{"result", "success"},
		{"resultReason", resultReason},
		{"activityDisplayName", activity},
		{"activityDateTime", t.UTC().Format("2006-01-02T15:04:05.0000000Z")},
		{"loggedByService", service},
		{"operationType", opType},
		{"initiatedBy", graphsim.Object{{"app", nil}, {"user", user}}},
		{"targetResources", []any{target}},
		{"additionalDetails", add},
	}
}

func target(id string, name any, typ string, upn any, props ...graphsim.Object) graphsim.Object {
	mp := make([]any, len(props))
	for i, p := range props {
		mp[i] = p
	}
	return graphsim.Object{{"id", id}, {"displayName", name}, {"type", typ}, {"userPrincipalName", upn}, {"groupType", nil},
		{"modifiedProperties", mp}}
}

// modified is a modifiedProperties entry: old and new are encoded as the
// JSON text Graph returns inside the strings.
func modified(name string, old, new any) graphsim.Object {
	return graphsim.Object{{"displayName", name}, {"oldValue", graphsim.JSONText(old)}, {"newValue", graphsim.JSONText(new)}}
}

// included is the "Included Updated Properties" entry.
func included(props string) graphsim.Object {
	return graphsim.Object{{"displayName", "Included Updated Properties"}, {"oldValue", ""}, {"newValue", graphsim.JSONText(props)}}
}

const browserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func containsFold(ss []string, s string) bool {
	for _, x := range ss {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func parseTime(v any) time.Time {
	s, _ := v.(string)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 1900 {
		return time.Time{}
	}
	return t.UTC()
}

func activeMember(u graphsim.Object) bool {
	en, _ := u.Get("accountEnabled")
	return en == true && strings.EqualFold(u.Str("userType"), "Member")
}

// disableAudit: an enabled member licensed for Advanced Auditing loses
// it on every licence that carries it.
func (a *attackCtx) disableAudit() error {
	type sku struct {
		part    string
		hasPlan bool
	}
	skus := map[string]sku{}
	for _, o := range a.tx.Objects("subscribedSkus") {
		has := false
		for _, p := range graphsim.Objects(pick(o, "servicePlans", nil)) {
			if strings.EqualFold(p.Str("servicePlanId"), planAdvancedAuditing) {
				has = true
			}
		}
		skus[strings.ToLower(o.Str("skuId"))] = sku{o.Str("skuPartNumber"), has}
	}
	const rule = "audit.advanced-auditing-disabled"
	for _, u := range a.tx.Objects(string(graphsim.KindUser)) {
		uid := u.Str("id")
		if !activeMember(u) || a.excluded(uid, rule) {
			continue
		}
		lics := graphsim.Objects(pick(u, "assignedLicenses", nil))
		enabled := false
		for _, l := range lics {
			if skus[strings.ToLower(l.Str("skuId"))].hasPlan && !containsFold(graphsim.Strings(pick(l, "disabledPlans", nil)), planAdvancedAuditing) {
				enabled = true
			}
		}
		if !enabled {
			continue
		}
		text := func(l graphsim.Object) string {
			return fmt.Sprintf("[SkuName=%s, AccountId=%s, SkuId=%s, DisabledPlans=[%s]]", skus[strings.ToLower(l.Str("skuId"))].part,
				a.s.TenantID(), l.Str("skuId"), strings.Join(graphsim.Strings(pick(l, "disabledPlans", nil)), ","))
		}
		var oldAll, newAll, oldChanged, newChanged []any
		var next []any
		for _, l := range lics {
			nl := l.Clone()
			oldAll = append(oldAll, text(l))
			if skus[strings.ToLower(l.Str("skuId"))].hasPlan && !containsFold(graphsim.Strings(pick(l, "disabledPlans", nil)), planAdvancedAuditing) {
				nl.Set("disabledPlans", append(anys(graphsim.Strings(pick(l, "disabledPlans", nil))), planAdvancedAuditing))
				oldChanged = append(oldChanged, text(l))
				newChanged = append(newChanged, text(nl))
			}
			newAll = append(newAll, text(nl))
			next = append(next, nl)
		}
		if err := a.update(graphsim.KindUser, uid, graphsim.Object{{"assignedLicenses", next}}); err != nil {
			return err
		}
		by := a.attacker()
		upn := u.Str("userPrincipalName")
		plan := func(status string) graphsim.Object {
			return graphsim.Object{{"SubscribedPlanId", a.id()}, {"ServiceInstance", "ExchangeAuditing/" + u.Str("usageLocation")},
				{"CapabilityStatus", status}, {"AssignedTimestamp", u.Str("createdDateTime")},
				{"InitialState", nil}, {"Capability", nil}, {"ServicePlanId", planAdvancedAuditing}}
		}
		lic := a.auditEvent(a.t, "Change user license", "UserManagement", "Core Directory", "Update", "Directory", "", browserAgent, by,
			target(uid, nil, "User", upn, modified("AssignedLicense", oldAll, newAll), included("AssignedLicense")))
		upd := a.auditEvent(a.t, "Update user", "UserManagement", "Core Directory", "Update", "Directory", "", browserAgent, by,
			target(uid, nil, "User", upn,
				modified("AssignedLicense", oldChanged, newChanged),
				modified("AssignedPlan", []any{plan("Enabled")}, []any{plan("Deleted")}),
				included("AssignedLicense, AssignedPlan")))
		if err := a.log(graphsim.LogDirectoryAudits, lic, "audit event"); err != nil {
			return err
		}
		if err := a.log(graphsim.LogDirectoryAudits, upd, "audit event"); err != nil {
			return err
		}
		a.expect(rule, "user", uid, upn, "high",
			"attack step disable-audit: M365_ADVANCED_AUDITING ("+planAdvancedAuditing+") added to disabledPlans of every licence that carries it; 'Change user license' and 'Update user' logged")
		return nil
	}
	return fmt.Errorf("%w: %s: no enabled member holds M365_ADVANCED_AUDITING enabled", graphsim.ErrNoCandidate, StepDisableAudit)
}

// successfulSignIns returns, per lower-case user id, the times of
// successful sign-ins in the log.
func (a *attackCtx) successfulSignIns() map[string][]time.Time {
	out := map[string][]time.Time{}
	for _, o := range a.tx.Objects(graphsim.LogSignIns) {
		if code, _ := o.Path("status/errorCode"); fmt.Sprint(code) == "0" {
			k := strings.ToLower(o.Str("userId"))
			out[k] = append(out[k], parseTime(o.Str("createdDateTime")))
		}
	}
	return out
}

// dormantTakeover: a dormant, unregistered, long-existing member account
// registers MFA from an Azure VM and signs in from it.
func (a *attackCtx) dormantTakeover() error {
	rules := []string{"mfa.dormant-registration", "signin.azure-ip", "mfa.registration-untrusted-location"}
	signIns := a.successfulSignIns()
	for _, u := range a.tx.Objects(string(graphsim.KindUser)) {
		uid := u.Str("id")
		if !activeMember(u) || a.excluded(uid, rules...) {
			continue
		}
		created := parseTime(pick(u, "createdDateTime", nil))
		if created.IsZero() || a.t.Sub(created) <= newAccountFor {
			continue
		}
		last, _ := u.Path("signInActivity/lastSuccessfulSignInDateTime")
		if lt := parseTime(last); !lt.IsZero() && a.t.Sub(lt) < dormantAfter {
			continue
		}
		recent := false
		for _, t := range signIns[strings.ToLower(uid)] {
			if a.t.Sub(t) < dormantAfter {
				recent = true
			}
		}
		if recent {
			continue
		}
		reg, ok := a.tx.Lookup(graphsim.KindRegistration, uid)
		if !ok || pick(reg, "isMfaRegistered", false) == true {
			continue
		}
		return a.takeOver(u)
	}
	return fmt.Errorf("%w: %s: no dormant, unregistered, long-existing member account", graphsim.ErrNoCandidate, StepDormantTakeover)
}

func (a *attackCtx) takeOver(u graphsim.Object) error {
	uid, upn, name := u.Str("id"), u.Str("userPrincipalName"), u.Str("displayName")
	self := actor{id: uid, name: name, upn: upn, ip: attackIP}
	regAt, signAt := a.t.Add(-6*time.Second), a.t
	tgt := target(uid, name, "User", upn)
	for i, act := range []string{"User registered security info", "User registered all required security info"} {
		reason := "User registered Authenticator App with Notification and Code"
		if i == 1 {
			reason = act
		}
		ev := a.auditEvent(regAt.Add(time.Duration(i)*time.Second), act, "UserManagement", "Authentication Methods", "Add",
			"UserManagement", reason, browserAgent, self, tgt)
		if err := a.log(graphsim.LogDirectoryAudits, ev, "audit event"); err != nil {
			return err
		}
	}
	sid := a.id()
	signIn := graphsim.Object{
		{"id", sid},
		{"createdDateTime", signAt.UTC().Format("2006-01-02T15:04:05.0000000Z")},
		{"userId", uid},
		{"appId", appOffice},
		{"appDisplayName", "Microsoft Office"},
		{"ipAddress", attackIP},
		{"clientAppUsed", "Browser"},
		{"isInteractive", true},
		{"status", graphsim.Object{{"errorCode", 0}}},
		{"location", graphsim.Object{{"city", "Dublin"}, {"state", "Dublin"}, {"countryOrRegion", "IE"},
			{"geoCoordinates", graphsim.Object{{"altitude", nil}, {"latitude", 53.3498}, {"longitude", -6.2603}}}}},
	}
	if _, err := a.tx.AppendLog(graphsim.LogSignIns, signIn); err != nil {
		return err
	}
	a.change(graphsim.LogSignIns, sid, upn, "successful interactive sign-in from "+attackIP)
	sia := graphsim.Object{
		{"lastSignInDateTime", graphsim.FormatTime(signAt)},
		{"lastSignInRequestId", sid},
		{"lastNonInteractiveSignInDateTime", nil},
		{"lastNonInteractiveSignInRequestId", nil},
		{"lastSuccessfulSignInDateTime", graphsim.FormatTime(signAt)},
		{"lastSuccessfulSignInRequestId", sid},
	}
	if old, ok := u.Get("signInActivity"); ok {
		if oo, ok := old.(graphsim.Object); ok {
			sia.Set("lastNonInteractiveSignInDateTime", pick(oo, "lastNonInteractiveSignInDateTime", nil))
			sia.Set("lastNonInteractiveSignInRequestId", pick(oo, "lastNonInteractiveSignInRequestId", nil))
		}
	}
	if err := a.update(graphsim.KindUser, uid, graphsim.Object{{"signInActivity", sia}}); err != nil {
		return err
	}
	if err := a.update(graphsim.KindRegistration, uid, graphsim.Object{
		{"isMfaRegistered", true}, {"isMfaCapable", true}, {"isSsprRegistered", true}, {"isSsprCapable", true},
		{"methodsRegistered", []any{"microsoftAuthenticatorPush", "softwareOneTimePasscode"}},
		{"lastUpdatedDateTime", graphsim.FormatTime(regAt)},
		{"systemPreferredAuthenticationMethods", []any{"push"}},
		{"userPreferredMethodForSecondaryAuthentication", "push"},
	}); err != nil {
		return err
	}
	a.expect("mfa.dormant-registration", "user", uid, upn, "high",
		"attack step dormant-takeover: 'User registered security info' for an account created "+
			fmt.Sprint(int(a.t.Sub(parseTime(pick(u, "createdDateTime", nil))).Hours()/24))+" days before, with no successful sign-in in the 14 days before")
	a.expect("signin.azure-ip", "user", uid, upn, "medium",
		"attack step dormant-takeover: successful interactive sign-in from "+attackIP+" (AzureCloud.northeurope)")
	if trusted := a.trustedRanges(); len(trusted) > 0 && !inPrefixes(trusted, attackIP) {
		a.expect("mfa.registration-untrusted-location", "user", uid, upn, "high",
			"attack step dormant-takeover: registration from "+attackIP+" (Azure), outside every trusted IP named location")
	}
	for _, e := range a.story.expected {
		if strings.EqualFold(e.SubjectID, uid) && (e.Rule == "mfa.dormant-unregistered" || e.Rule == "mfa.not-registered") {
			a.res.Cleared = append(a.res.Cleared, e)
		}
	}
	a.story.takenOver = uid
	return nil
}

// trustedRanges returns the ranges of the trusted IP named locations.
func (a *attackCtx) trustedRanges() []netip.Prefix {
	var out []netip.Prefix
	for _, loc := range a.tx.Objects("namedLocations") {
		if loc.Str("@odata.type") != "#microsoft.graph.ipNamedLocation" || pick(loc, "isTrusted", false) != true {
			continue
		}
		for _, rg := range graphsim.Objects(pick(loc, "ipRanges", nil)) {
			if p, err := netip.ParsePrefix(rg.Str("cidrAddress")); err == nil {
				out = append(out, p)
			}
		}
	}
	return out
}

func inPrefixes(ps []netip.Prefix, ip string) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	for _, p := range ps {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// mailHolders returns the ids (lower case) of the service principals
// holding a mail-reading app role of Microsoft Graph or Exchange Online,
// with the role names.
func (a *attackCtx) mailHolders() map[string][]string {
	out := map[string][]string{}
	roles := map[string]map[string]string{} // resource id → app role id → value
	for _, g := range a.tx.Objects("appRoleAssignments") {
		res := strings.ToLower(g.Str("resourceId"))
		if _, ok := roles[res]; !ok {
			roles[res] = map[string]string{}
			rsp, ok := a.tx.Lookup(graphsim.KindServicePrincipal, res)
			if ok && (rsp.Str("appId") == appGraph || rsp.Str("appId") == appExchangeOnline) {
				for _, r := range graphsim.Objects(pick(rsp, "appRoles", nil)) {
					roles[res][strings.ToLower(r.Str("id"))] = r.Str("value")
				}
			}
		}
		if v := roles[res][strings.ToLower(g.Str("appRoleId"))]; slices.Contains(mailRoleValues(), v) {
			k := strings.ToLower(g.Str("principalId"))
			out[k] = append(out[k], v)
		}
	}
	return out
}

// credentialRules are the rules a backdoor target must not already be
// planted or decoyed for.
func credentialRules() []string {
	return []string{"sp.credential-added", "sp.credential-name-mimicry", "sp.first-party-credential"}
}

// backdoorTarget picks sp-backdoor's service principal: one holding a
// mail-reading role, not a managed identity, without credentials, and
// without a planted or decoy credential finding. fresh=false accepts one
// that already holds credentials (reply-url without a prior sp-backdoor).
func (a *attackCtx) backdoorTarget(fresh bool) (graphsim.Object, []string, bool) {
	holders := a.mailHolders()
	for _, sp := range a.tx.Objects(string(graphsim.KindServicePrincipal)) {
		id := sp.Str("id")
		roles := holders[strings.ToLower(id)]
		if len(roles) == 0 || sp.Str("servicePrincipalType") == "ManagedIdentity" || a.excluded(id, credentialRules()...) {
			continue
		}
		if fresh && len(graphsim.Objects(pick(sp, "keyCredentials", nil)))+len(graphsim.Objects(pick(sp, "passwordCredentials", nil))) > 0 {
			continue
		}
		return sp, roles, true
	}
	return nil, nil, false
}

// keyDescription renders credentials as the audit log's KeyDescription.
func keyDescription(keys, passwords []graphsim.Object) []any {
	out := []any{}
	for _, k := range keys {
		out = append(out, fmt.Sprintf("[KeyIdentifier=%s,KeyType=%s,KeyUsage=%s,DisplayName=%s]",
			k.Str("keyId"), k.Str("type"), k.Str("usage"), k.Str("displayName")))
	}
	for _, p := range passwords {
		out = append(out, fmt.Sprintf("[KeyIdentifier=%s,KeyType=Password,KeyUsage=Verify,DisplayName=%s]",
			p.Str("keyId"), p.Str("displayName")))
	}
	return out
}

// spBackdoor: a certificate named after the service principal, backdated,
// is added to a service principal that can read every mailbox.
func (a *attackCtx) spBackdoor() error {
	sp, roles, ok := a.backdoorTarget(true)
	if !ok {
		return fmt.Errorf("%w: %s: no service principal with a mail-reading role and no credential", graphsim.ErrNoCandidate, StepSPBackdoor)
	}
	id, name, appID := sp.Str("id"), sp.Str("displayName"), sp.Str("appId")
	keys := graphsim.Objects(pick(sp, "keyCredentials", nil))
	passwords := graphsim.Objects(pick(sp, "passwordCredentials", nil))
	start := a.t.Add(-attackBackdate).Truncate(time.Second)
	keyID := a.id()
	thumb := binary.BigEndian.AppendUint64(nil, splitmix64(hash64(keyID)))
	thumb = binary.BigEndian.AppendUint64(thumb, splitmix64(hash64(keyID)^1))
	thumb = binary.BigEndian.AppendUint32(thumb, uint32(splitmix64(hash64(keyID)^2)))
	key := graphsim.Object{
		{"customKeyIdentifier", base64.StdEncoding.EncodeToString(thumb)},
		{"displayName", "CN=" + name},
		{"endDateTime", graphsim.FormatTime(start.AddDate(2, 0, 0))},
		{"key", nil},
		{"keyId", keyID},
		{"startDateTime", graphsim.FormatTime(start)},
		{"type", "AsymmetricX509Cert"},
		{"usage", "Verify"},
	}
	next := append(make([]any, 0, len(keys)+1), anyObjs(keys)...)
	next = append(next, key)
	if err := a.update(graphsim.KindServicePrincipal, id, graphsim.Object{{"keyCredentials", next}}); err != nil {
		return err
	}
	by := a.attacker()
	ev := a.auditEvent(a.t, "Add service principal credentials", "ApplicationManagement", "Core Directory", "Update", "Directory", "",
		"python-requests/2.31.0", by,
		target(id, name, "ServicePrincipal", nil,
			modified("KeyDescription", keyDescription(keys, passwords), keyDescription(append(keys, key), passwords)),
			included("KeyDescription"),
			graphsim.Object{{"displayName", "TargetId.ServicePrincipalNames"}, {"oldValue", ""}, {"newValue", graphsim.JSONText(appID)}}),
		graphsim.Object{{"key", "AppId"}, {"value", appID}})
	if err := a.log(graphsim.LogDirectoryAudits, ev, "audit event"); err != nil {
		return err
	}
	a.expect("sp.credential-added", "servicePrincipal", id, name, "high",
		"attack step sp-backdoor: 'Add service principal credentials' added key "+keyID+" (startDateTime backdated 30 days); the service principal holds "+strings.Join(roles, ", "))
	if strings.EqualFold(key.Str("displayName"), "CN="+name) {
		a.expect("sp.credential-name-mimicry", "servicePrincipal", id, name, "medium",
			"attack step sp-backdoor: key credential "+key.Str("displayName")+" on the service principal of that name")
	}
	a.story.backdoorSP = id
	return nil
}

func anyObjs(os []graphsim.Object) []any {
	out := make([]any, len(os))
	for i, o := range os {
		out[i] = o
	}
	return out
}

// appAddresses renders reply URLs as the audit log's AppAddress.
func appAddresses(urls []string) []any {
	out := []any{}
	for i, u := range urls {
		out = append(out, graphsim.Object{{"AddressType", 0}, {"Address", u}, {"ReplyAddressClientType", 1},
			{"ReplyAddressIndex", nil}, {"IsReplyAddressDefault", i == 0}})
	}
	return out
}

// credentialNearby reports whether object id got a credential within 24
// hours of t: by an audit event, or by a credential's startDateTime.
func (a *attackCtx) credentialNearby(id string, o graphsim.Object) bool {
	near := func(t time.Time) bool {
		d := t.Sub(a.t)
		return !t.IsZero() && d <= credentialNear && d >= -credentialNear
	}
	for _, c := range append(graphsim.Objects(pick(o, "keyCredentials", nil)), graphsim.Objects(pick(o, "passwordCredentials", nil))...) {
		if near(parseTime(pick(c, "startDateTime", nil))) {
			return true
		}
	}
	found := false
	a.eachAudit(func(r entry) {
		act := strings.TrimSpace(strings.NewReplacer("–", "-", "—", "-").Replace(r.o.Str("activityDisplayName")))
		if act != "Add service principal credentials" && act != "Update application - Certificates and secrets management" {
			return
		}
		if r.o.Str("result") != "success" || !near(r.t) {
			return
		}
		for _, tr := range graphsim.Objects(pick(r.o, "targetResources", nil)) {
			if strings.EqualFold(tr.Str("id"), id) {
				found = true
			}
		}
	})
	return found
}

// replyURL: an attacker-controlled reply URL is added to sp-backdoor's
// service principal and to its application.
func (a *attackCtx) replyURL() error {
	sp, ok := a.tx.Lookup(graphsim.KindServicePrincipal, a.story.backdoorSP)
	if a.story.backdoorSP == "" || !ok {
		if sp, _, ok = a.backdoorTarget(false); !ok {
			return fmt.Errorf("%w: %s: no service principal with a mail-reading role", graphsim.ErrNoCandidate, StepReplyURL)
		}
	}
	id, name, appID := sp.Str("id"), sp.Str("displayName"), sp.Str("appId")
	u := fmt.Sprintf("https://login-%010x.azurewebsites.net/signin", splitmix64(a.story.seed^a.n^0x75726c^uint64(a.t.UnixNano()))>>24)
	by := a.attacker()
	old := graphsim.Strings(pick(sp, "replyUrls", nil))
	if err := a.update(graphsim.KindServicePrincipal, id, graphsim.Object{{"replyUrls", append(anys(old), u)}}); err != nil {
		return err
	}
	ev := a.auditEvent(a.t, "Update service principal", "ApplicationManagement", "Core Directory", "Update", "Directory", "", browserAgent, by,
		target(id, name, "ServicePrincipal", nil, modified("AppAddress", appAddresses(old), appAddresses(append(old, u))), included("AppAddress")))
	if err := a.log(graphsim.LogDirectoryAudits, ev, "audit event"); err != nil {
		return err
	}
	sev := func(objID string, o graphsim.Object) string {
		if a.credentialNearby(objID, o) {
			return "medium"
		}
		return "low"
	}
	spNow, _ := a.tx.Lookup(graphsim.KindServicePrincipal, id)
	a.expect("sp.reply-url-added", "servicePrincipal", id, name, sev(id, spNow),
		"attack step reply-url: 'Update service principal' AppAddress gained "+u)
	for _, app := range a.tx.Objects(string(graphsim.KindApplication)) {
		if !strings.EqualFold(app.Str("appId"), appID) {
			continue
		}
		aid, aname := app.Str("id"), app.Str("displayName")
		web, _ := pick(app, "web", graphsim.Object{}).(graphsim.Object)
		web = web.Clone()
		oldApp := graphsim.Strings(pick(web, "redirectUris", nil))
		web.Set("redirectUris", append(anys(oldApp), u))
		if err := a.update(graphsim.KindApplication, aid, graphsim.Object{{"web", web}}); err != nil {
			return err
		}
		ev := a.auditEvent(a.t, "Update application", "ApplicationManagement", "Core Directory", "Update", "Directory", "", browserAgent, by,
			target(aid, aname, "Application", nil, modified("AppAddress", appAddresses(oldApp), appAddresses(append(oldApp, u))), included("AppAddress")))
		if err := a.log(graphsim.LogDirectoryAudits, ev, "audit event"); err != nil {
			return err
		}
		appNow, _ := a.tx.Lookup(graphsim.KindApplication, aid)
		a.expect("sp.reply-url-added", "application", aid, aname, sev(aid, appNow),
			"attack step reply-url: 'Update application' AppAddress gained "+u)
		break
	}
	return nil
}
