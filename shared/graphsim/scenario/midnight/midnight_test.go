package midnight_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/midnight"
)

var testNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

const base = "http://graph.test/midnight"

// newSim builds the scenario at testNow with a clock that stands still
// unless the test moves it.
func newSim(t *testing.T, clock *time.Time) *graphsim.Server {
	t.Helper()
	o := &graphsim.Options{Scenario: midnight.Scenario(), Now: testNow, Seed: 3}
	if clock != nil {
		*clock = testNow
		o.Clock = func() time.Time { return *clock }
	}
	s, err := graphsim.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// list reads every page of path (after base) as generic objects.
func list(t *testing.T, h http.Handler, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	url := base + path
	for n := 0; url != ""; n++ {
		if n > 100 {
			t.Fatal("too many pages")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, url, nil))
		b, _ := io.ReadAll(rec.Result().Body)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", url, rec.Code, b)
		}
		var p struct {
			Next  string           `json:"@odata.nextLink"`
			Value []map[string]any `json:"value"`
		}
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Value...)
		url = p.Next
	}
	return out
}

func str(m map[string]any, path string) string {
	var cur any = m
	for _, k := range strings.Split(path, "/") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[k]
	}
	s, _ := cur.(string)
	return s
}

func ts(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return v
}

// TestSubjectsExist: every planted finding and decoy names an object of
// the tenant, and no subject is both planted and decoyed for a rule.
func TestSubjectsExist(t *testing.T) {
	sim := newSim(t, nil)
	h := sim.Handler()
	known := map[string]string{sim.TenantID(): "tenant"}
	for _, p := range []struct{ path, typ string }{
		{"/v1.0/users?%24select=id", "user"}, {"/v1.0/servicePrincipals?%24select=id", "servicePrincipal"},
		{"/v1.0/applications?%24select=id", "application"}, {"/v1.0/domains?%24select=id", "domain"},
	} {
		for _, o := range list(t, h, p.path) {
			known[strings.ToLower(o["id"].(string))] = p.typ
		}
	}
	known[strings.ToLower(sim.TenantID())] = "tenant"
	exp, err := midnight.Expected()
	if err != nil {
		t.Fatal(err)
	}
	dec, err := midnight.Decoys()
	if err != nil {
		t.Fatal(err)
	}
	if len(exp) < 12 || len(dec) < 10 {
		t.Fatalf("%d expected, %d decoys", len(exp), len(dec))
	}
	planted := map[string]bool{}
	for _, e := range exp {
		if typ := known[strings.ToLower(e.SubjectID)]; typ != e.SubjectType {
			t.Errorf("%s on %s: subject type %q, the tenant has %q", e.Rule, e.SubjectID, e.SubjectType, typ)
		}
		planted[e.Rule+" "+strings.ToLower(e.SubjectID)] = true
	}
	for _, d := range dec {
		if known[strings.ToLower(d.SubjectID)] == "" {
			t.Errorf("decoy %s on %s: no such object", d.Rule, d.SubjectID)
		}
		if planted[d.Rule+" "+strings.ToLower(d.SubjectID)] {
			t.Errorf("%s on %s is planted and decoyed", d.Rule, d.SubjectID)
		}
	}
	// Every rule of issue 12 is planted at least once.
	for _, rule := range []string{"signin.device-code", "signin.broker-device-registration", "device.rogue-registration",
		"app.cross-tenant-mail-access", "app.consent-mail-scopes", "app.new-app-with-credential-and-mail", "domain.federation-changed",
		"app.federated-credential-added", "signin.password-spray", "posture.dormant-excluded-from-mfa",
		"posture.device-code-unrestricted", "posture.user-consent-allowed"} {
		if !slices.ContainsFunc(exp, func(e graphsim.ExpectedFinding) bool { return e.Rule == rule }) {
			t.Errorf("rule %s is not planted", rule)
		}
	}
}

// azureRanges reads the Service Tags sample `make demo` uses.
func azureRanges(t *testing.T) []netip.Prefix {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "azureip", "testdata", "servicetags-sample.json"))
	if err != nil {
		t.Fatalf("Service Tags sample: %v", err)
	}
	var doc struct {
		Values []struct {
			Properties struct {
				AddressPrefixes []string `json:"addressPrefixes"`
			} `json:"properties"`
		} `json:"values"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var out []netip.Prefix
	for _, v := range doc.Values {
		for _, p := range v.Properties.AddressPrefixes {
			out = append(out, netip.MustParsePrefix(p))
		}
	}
	if len(out) == 0 {
		t.Fatal("no prefixes")
	}
	return out
}

// TestSprayShape: the planted spray is what the rule's definition needs
// (≥ 10 accounts from one /24 within an hour, legacy protocols, then a
// success on an unregistered account), from addresses outside Azure; the
// typo burst is one account from one address.
func TestSprayShape(t *testing.T) {
	h := newSim(t, nil).Handler()
	signIns := list(t, h, "/beta/auditLogs/signIns")
	azure := azureRanges(t)
	legacy := []string{"IMAP4", "POP3", "Authenticated SMTP", "Exchange ActiveSync", "Other clients"}
	accounts, addrs := map[string]bool{}, map[string]bool{}
	var first, last time.Time
	for _, s := range signIns {
		ip := str(s, "ipAddress")
		code, _ := s["status"].(map[string]any)["errorCode"].(float64)
		if !strings.HasPrefix(ip, "198.51.100.") {
			continue
		}
		if slices.ContainsFunc(azure, func(p netip.Prefix) bool { return p.Contains(netip.MustParseAddr(ip)) }) {
			t.Errorf("spray address %s is in Azure", ip)
		}
		if code == 0 {
			continue
		}
		if code != 50126 && code != 50053 {
			t.Errorf("spray failure code %v", code)
		}
		if !slices.Contains(legacy, str(s, "clientAppUsed")) {
			t.Errorf("spray client %q", str(s, "clientAppUsed"))
		}
		at := ts(t, str(s, "createdDateTime"))
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
		accounts[str(s, "userId")], addrs[ip] = true, true
	}
	if len(accounts) < 10 || len(addrs) < 10 || last.Sub(first) > time.Hour {
		t.Fatalf("spray: %d accounts, %d addresses over %s", len(accounts), len(addrs), last.Sub(first))
	}
	var success map[string]any
	for _, s := range signIns {
		code, _ := s["status"].(map[string]any)["errorCode"].(float64)
		if code == 0 && addrs[str(s, "ipAddress")] {
			at := ts(t, str(s, "createdDateTime"))
			if at.After(last) && at.Sub(last) < time.Hour && (success == nil || at.Before(ts(t, str(success, "createdDateTime")))) {
				success = s
			}
		}
	}
	if success == nil || !strings.HasPrefix(str(success, "userPrincipalName"), "svc-legacy-test@") {
		t.Fatalf("no success on the legacy account after the spray: %v", success)
	}
	regs := list(t, h, "/v1.0/reports/authenticationMethods/userRegistrationDetails")
	for _, r := range regs {
		if r["id"] == success["userId"] && r["isMfaRegistered"] != false {
			t.Error("the sprayed account has MFA")
		}
	}
	// The typo burst: one account, one trusted address.
	var typos []map[string]any
	for _, s := range signIns {
		if strings.HasPrefix(str(s, "userPrincipalName"), "jonas.weber@") && s["status"].(map[string]any)["errorCode"].(float64) == 50126 &&
			!addrs[str(s, "ipAddress")] { // the spray tried him too
			typos = append(typos, s)
		}
	}
	if len(typos) < 3 {
		t.Fatalf("%d typos", len(typos))
	}
	for _, s := range typos {
		if str(s, "ipAddress") != str(typos[0], "ipAddress") || !strings.HasPrefix(str(s, "ipAddress"), "192.0.2.") {
			t.Errorf("typo from %s", str(s, "ipAddress"))
		}
	}
}

// TestDeviceCodeChain: the planted device-code sign-in (beta fields),
// the Device Registration Service's records for the same user within the
// hour, the unmanaged Workplace device with its owner, and the
// conference-room look-alike on a managed device from the trusted range.
func TestDeviceCodeChain(t *testing.T) {
	h := newSim(t, nil).Handler()
	var phish, room map[string]any
	for _, s := range list(t, h, "/beta/auditLogs/signIns?%24filter=status%2FerrorCode%20eq%200") {
		if str(s, "authenticationProtocol") != "deviceCode" {
			continue
		}
		if str(s, "originalTransferMethod") != "deviceCodeFlow" {
			t.Errorf("device-code sign-in %s: originalTransferMethod %q", s["id"], str(s, "originalTransferMethod"))
		}
		switch {
		case strings.HasPrefix(str(s, "userPrincipalName"), "pieter.dekker@"):
			phish = s
		case strings.HasPrefix(str(s, "userPrincipalName"), "marta.lind@"):
			room = s
		default:
			t.Errorf("unexpected device-code sign-in by %s", str(s, "userPrincipalName"))
		}
	}
	if phish == nil || room == nil {
		t.Fatal("missing device-code sign-ins")
	}
	if str(phish, "appId") != "29d9ed98-a469-4536-ade2-f981bc1d605e" || str(phish, "resourceId") != "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9" {
		t.Errorf("phish: app %s resource %s", str(phish, "appId"), str(phish, "resourceId"))
	}
	dd := room["deviceDetail"].(map[string]any)
	if dd["isManaged"] != true || dd["isCompliant"] != true || !strings.HasPrefix(str(room, "ipAddress"), "192.0.2.") {
		t.Errorf("conference room sign-in: %v from %s", dd, str(room, "ipAddress"))
	}
	at := ts(t, str(phish, "createdDateTime"))
	uid := str(phish, "userId")
	var records []string
	var device string
	for _, a := range list(t, h, "/v1.0/auditLogs/directoryAudits?%24filter=category%20eq%20'Device'") {
		when := ts(t, str(a, "activityDateTime"))
		if str(a, "initiatedBy/app/displayName") != "Device Registration Service" || when.Before(at) || when.Sub(at) > time.Hour {
			continue
		}
		for _, tr := range a["targetResources"].([]any) {
			m := tr.(map[string]any)
			if m["type"] == "Device" {
				device = m["id"].(string)
			}
			if m["type"] == "User" && m["id"] == uid {
				records = append(records, str(a, "activityDisplayName"))
			}
		}
	}
	sort.Strings(records)
	if !slices.Equal(records, []string{"Add registered owner to device", "Add registered users to device"}) || device == "" {
		t.Fatalf("device records for the phished user: %v (device %q)", records, device)
	}
	for _, d := range list(t, h, "/v1.0/devices?%24expand=registeredOwners(%24select%3Did)") {
		if d["id"] != device {
			continue
		}
		owners := d["registeredOwners"].([]any)
		if d["trustType"] != "Workplace" || d["isManaged"] != false || d["isCompliant"] != false ||
			len(owners) != 1 || owners[0].(map[string]any)["id"] != uid {
			t.Errorf("rogue device %v", d)
		}
		return
	}
	t.Errorf("device %s not served", device)
}

// TestPosture: the tenant's posture as planted: user consent allowed, no
// enforced device-code block, the legacy account's exclusion through a
// nested group.
func TestPosture(t *testing.T) {
	sim := newSim(t, nil)
	h := sim.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, base+"/v1.0/policies/authorizationPolicy", nil))
	var p map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	perms := p["defaultUserRolePermissions"].(map[string]any)
	if !slices.Contains(perms["permissionGrantPoliciesAssigned"].([]any), any("ManagePermissionGrantsForSelf.microsoft-user-default-legacy")) {
		t.Errorf("user consent: %v", perms)
	}
	for _, pol := range list(t, h, "/v1.0/identity/conditionalAccess/policies") {
		flows, _ := pol["conditions"].(map[string]any)["authenticationFlows"].(map[string]any)
		if flows != nil && pol["state"] == "enabled" {
			t.Errorf("policy %s enforces an authentication-flow condition", pol["displayName"])
		}
	}
	var excl string
	for _, pol := range list(t, h, "/v1.0/identity/conditionalAccess/policies") {
		if strings.HasPrefix(str(pol, "displayName"), "CA001") {
			excl = pol["conditions"].(map[string]any)["users"].(map[string]any)["excludeGroups"].([]any)[0].(string)
		}
	}
	members := list(t, h, "/v1.0/groups/"+excl+"/transitiveMembers/microsoft.graph.user?%24select=id,userPrincipalName")
	var upns []string
	for _, m := range members {
		upns = append(upns, strings.Split(str(m, "userPrincipalName"), "@")[0])
	}
	sort.Strings(upns)
	if !slices.Equal(upns, []string{"svc-legacy-test", "svc-printer-hq", "svc-scanner", "test.kiosk01"}) {
		t.Errorf("excluded through the nested group: %v", upns)
	}
}

// TestStory plays every step in order and checks that each changes what
// it says: the spray's failures and success, the app with its audit
// trail, the device-code sign-in, the device, the federated credential
// and the federated domain, as Graph serves them.
func TestStory(t *testing.T) {
	var clock time.Time
	sim := newSim(t, &clock)
	h := sim.Handler()
	ctx := context.Background()
	if !slices.Equal(sim.AttackSteps(), midnight.Steps()) {
		t.Fatalf("steps %v", sim.AttackSteps())
	}
	run := func(step string) graphsim.AttackResult {
		t.Helper()
		clock = clock.Add(10 * time.Minute)
		v := sim.Version()
		res, err := sim.Attack(ctx, step)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if sim.Version() == v || len(res.Changed) == 0 || len(res.Expected) == 0 {
			t.Fatalf("%s changed nothing: %+v", step, res)
		}
		return res
	}
	since := func() string {
		return "%24filter=createdDateTime%20ge%20" + clock.Add(-5*time.Minute).Format("2006-01-02T15:04:05Z")
	}

	res := run(midnight.StepPasswordSpray)
	victim := res.Expected[0]
	if victim.Rule != "signin.password-spray" || !strings.HasPrefix(victim.SubjectName, "test.kiosk01@") {
		t.Fatalf("spray: %+v", res.Expected)
	}
	var fails, ok int
	accounts := map[string]bool{}
	for _, s := range list(t, h, "/beta/auditLogs/signIns?"+since()) {
		if s["status"].(map[string]any)["errorCode"].(float64) == 50126 {
			fails++
			accounts[str(s, "userId")] = true
		} else if str(s, "userId") == victim.SubjectID {
			ok++
		}
	}
	if fails < 10 || len(accounts) < 10 || ok != 1 {
		t.Errorf("spray served %d failures over %d accounts, %d successes", fails, len(accounts), ok)
	}
	u, _ := sim.Get(graphsim.KindUser, victim.SubjectID)
	if last := u["signInActivity"].(map[string]any)["lastSuccessfulSignInDateTime"]; ts(t, last.(string)).Before(clock.Add(-time.Second)) {
		t.Errorf("signInActivity not updated: %v", last)
	}
	if len(res.Cleared) != 2 {
		t.Errorf("cleared %+v", res.Cleared)
	}
	if _, err := sim.Attack(ctx, midnight.StepPasswordSpray); !errors.Is(err, graphsim.ErrNoCandidate) {
		t.Errorf("a second spray: %v (the tenant has one excluded dormant account)", err)
	}

	res = run(midnight.StepOAuthApp)
	var spID, appObj string
	for _, e := range res.Expected {
		switch e.Rule {
		case "app.new-app-with-credential-and-mail":
			spID = e.SubjectID
		case "sp.credential-added":
			appObj = e.SubjectID
		}
	}
	sp, ok1 := sim.Get(graphsim.KindServicePrincipal, spID)
	app, ok2 := sim.Get(graphsim.KindApplication, appObj)
	if !ok1 || !ok2 || sp["appId"] != app["appId"] || len(app["passwordCredentials"].([]any)) != 1 {
		t.Fatalf("app %v / sp %v", app, sp)
	}
	var exoID string
	for _, x := range list(t, h, "/v1.0/servicePrincipals?%24filter=appId%20eq%20'00000002-0000-0ff1-ce00-000000000000'&%24select=id") {
		exoID = x["id"].(string)
	}
	var granted int
	for _, g := range list(t, h, "/v1.0/servicePrincipals/"+exoID+"/appRoleAssignedTo") {
		if g["principalId"] == spID && g["appRoleId"] == "dc890d15-9560-4a4c-9b7f-a736ec74ec40" && g["principalDisplayName"] == sp["displayName"] {
			granted++
		}
	}
	if granted != 1 {
		t.Errorf("%d full_access_as_app assignments to the new app", granted)
	}
	var acts []string
	for _, a := range list(t, h, "/v1.0/auditLogs/directoryAudits?%24filter=activityDateTime%20ge%20"+clock.Add(-time.Minute).Format("2006-01-02T15:04:05Z")) {
		if str(a, "initiatedBy/user/id") == victim.SubjectID {
			acts = append(acts, str(a, "activityDisplayName"))
		}
	}
	sort.Strings(acts)
	if !slices.Equal(acts, []string{"Add app role assignment to service principal", "Add application", "Add service principal",
		"Update application – Certificates and secrets management"}) {
		t.Errorf("oauth-app audit trail by the sprayed account: %v", acts)
	}

	res = run(midnight.StepDeviceCode)
	phished := res.Expected[0]
	if phished.Rule != "signin.device-code" || phished.Severity != "high" {
		t.Errorf("device-code: %+v (medium, one step higher: nothing blocks the flow)", phished)
	}
	var dc int
	for _, s := range list(t, h, "/beta/auditLogs/signIns?"+since()) {
		if str(s, "userId") == phished.SubjectID && str(s, "authenticationProtocol") == "deviceCode" &&
			str(s, "resourceId") == "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9" {
			dc++
		}
	}
	if dc != 1 {
		t.Errorf("%d device-code sign-ins for the victim", dc)
	}

	res = run(midnight.StepRogueDevice)
	if len(res.Expected) != 2 || res.Expected[0].SubjectID != phished.SubjectID {
		t.Errorf("rogue-device: %+v", res.Expected)
	}
	var owned int
	for _, d := range list(t, h, "/v1.0/devices?%24expand=registeredOwners(%24select%3Did)") {
		owners := d["registeredOwners"].([]any)
		if len(owners) == 1 && owners[0].(map[string]any)["id"] == phished.SubjectID && d["trustType"] == "Workplace" && d["isManaged"] == false {
			owned++
		}
	}
	if owned != 1 {
		t.Errorf("%d unmanaged Workplace devices of the victim", owned)
	}

	res = run(midnight.StepFederatedCredential)
	if res.Expected[0].SubjectID != appObj {
		t.Errorf("federated credential on %s, want the oauth-app step's %s", res.Expected[0].SubjectID, appObj)
	}
	fics := list(t, h, "/v1.0/applications/"+appObj+"/federatedIdentityCredentials")
	if len(fics) != 1 || fics[0]["issuer"] != "https://token.actions.githubusercontent.com" || !strings.HasSuffix(str(fics[0], "subject"), ":pull_request") {
		t.Errorf("credentials %v", fics)
	}

	res = run(midnight.StepDomainFederation)
	dom := res.Expected[0].SubjectID
	if dom != "veldhaven-marine.example" || res.Expected[0].SubjectType != "domain" {
		t.Errorf("domain-federation: %+v", res.Expected)
	}
	for _, d := range list(t, h, "/v1.0/domains") {
		if d["id"] == dom && d["authenticationType"] != "Federated" {
			t.Errorf("domain %v", d)
		}
	}
	fed := list(t, h, "/v1.0/domains/"+dom+"/federationConfiguration")
	if len(fed) != 1 || !strings.HasPrefix(str(fed[0], "issuerUri"), "http://any.sts/") {
		t.Errorf("federation %v", fed)
	}
	if _, err := sim.Attack(ctx, midnight.StepDomainFederation); !errors.Is(err, graphsim.ErrNoCandidate) {
		t.Errorf("a second domain federation: %v (one managed secondary domain)", err)
	}
}

// TestStepsStandAlone: every step runs on a fresh tenant without the steps
// before it (the attacker is then the data's intruder, the app the
// data's mail-capable one, and rogue-device phishes first).
func TestStepsStandAlone(t *testing.T) {
	for _, step := range midnight.Steps() {
		t.Run(step, func(t *testing.T) {
			var clock time.Time
			sim := newSim(t, &clock)
			clock = clock.Add(time.Minute)
			res, err := sim.Attack(context.Background(), step)
			if err != nil {
				t.Fatal(err)
			}
			exp, _ := midnight.Expected()
			dec, _ := midnight.Decoys()
			for _, e := range res.Expected {
				for _, d := range dec {
					if d.Rule == e.Rule && strings.EqualFold(d.SubjectID, e.SubjectID) {
						t.Errorf("%s turns decoy %s on %s into a finding", step, e.Rule, e.SubjectID)
					}
				}
				for _, x := range exp {
					if x.Rule == e.Rule && strings.EqualFold(x.SubjectID, e.SubjectID) && e.Rule != "mfa.not-registered" {
						t.Errorf("%s repeats the planted %s on %s", step, e.Rule, e.SubjectID)
					}
				}
			}
		})
	}
	if _, err := newSim(t, nil).Attack(context.Background(), "golden-saml"); !errors.Is(err, graphsim.ErrUnknownStep) {
		t.Errorf("unknown step: %v", err)
	}
}
