package apt29_test

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
)

// The rules the scanner implements (the brief's table).
var ruleIDs = []string{
	"audit.advanced-auditing-disabled", "mfa.dormant-unregistered", "mfa.not-registered",
	"mfa.dormant-registration", "mfa.registration-untrusted-location", "policy.registration-unrestricted",
	"signin.azure-ip", "sp.credential-added", "sp.credential-name-mimicry", "sp.reply-url-added",
	"sp.mail-access", "sp.first-party-credential", "role.global-admin-added", "app.mail-permission-granted",
}

// exchangeRuleIDs are issue 11's rules, over the Exchange audit records of
// the simulated Management Activity API (data/activity.json); their planted
// cases are in activity-expected.json.
var exchangeRuleIDs = []string{
	"exo.mailbox-audit-bypass", "exo.mailbox-audit-reduced", "exo.org-audit-disabled", "exo.impersonation-granted",
	"mail.app-collection", "mail.audit-gap",
}

// tenantData is every object the apt29 scenario serves, by route.
type tenantData struct {
	org                                   map[string]any
	users, regs, sps, apps, audits, signs []map[string]any
	grants                                []map[string]any
	policies, locations                   []map[string]any
}

func load(t *testing.T, sim *graphsim.Server) tenantData {
	t.Helper()
	h := sim.Handler()
	all := func(path string) []map[string]any {
		items, _ := collect(t, h, base+path)
		out := make([]map[string]any, len(items))
		for i, raw := range items {
			if err := json.Unmarshal(raw, &out[i]); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	var d tenantData
	d.org = all("/v1.0/organization")[0]
	d.users = all("/v1.0/users?%24select=" + strings.Join([]string{"id", "userPrincipalName", "displayName", "userType",
		"accountEnabled", "createdDateTime", "assignedLicenses", "signInActivity"}, ","))
	d.regs = all("/v1.0/reports/authenticationMethods/userRegistrationDetails")
	d.sps = all("/v1.0/servicePrincipals")
	d.apps = all("/v1.0/applications")
	d.audits = all("/v1.0/auditLogs/directoryAudits")
	d.signs = all("/v1.0/auditLogs/signIns")
	d.policies = all("/v1.0/identity/conditionalAccess/policies")
	d.locations = all("/v1.0/identity/conditionalAccess/namedLocations")
	for _, sp := range d.sps {
		d.grants = append(d.grants, all("/v1.0/servicePrincipals/"+sp["id"].(string)+"/appRoleAssignedTo")...)
	}
	return d
}

func byID(objs []map[string]any) map[string]map[string]any {
	m := map[string]map[string]any{}
	for _, o := range objs {
		m[strings.ToLower(o["id"].(string))] = o
	}
	return m
}

func TestExpectedAndDecoysReferenceTheScenario(t *testing.T) {
	sim := newSim(t, nil)
	d := load(t, sim)
	users, sps, apps := byID(d.users), byID(d.sps), byID(d.apps)
	exp, err := apt29.Expected()
	if err != nil {
		t.Fatal(err)
	}
	activityExp, err := apt29.ActivityExpected()
	if err != nil {
		t.Fatal(err)
	}
	if len(activityExp) == 0 {
		t.Error("activity-expected.json plants nothing")
	}
	exp = append(exp, activityExp...)
	decoys, err := apt29.Decoys()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, r := range append(slices.Clone(ruleIDs), exchangeRuleIDs...) {
		known[r] = true
	}
	perRule := map[string]int{}
	seen := map[string]bool{}
	for _, e := range exp {
		if !known[e.Rule] {
			t.Errorf("expected finding for unknown rule %q", e.Rule)
		}
		perRule[e.Rule]++
		key := e.Rule + "|" + e.SubjectID
		if seen[key] {
			t.Errorf("duplicate expected finding %s", key)
		}
		seen[key] = true
		switch e.Severity {
		case "low", "medium", "high", "critical":
		default:
			t.Errorf("%s: severity %q", key, e.Severity)
		}
		if e.Why == "" {
			t.Errorf("%s: no reason", key)
		}
		var o map[string]any
		switch e.SubjectType {
		case "user":
			o = users[strings.ToLower(e.SubjectID)]
			if o != nil && o["userPrincipalName"] != e.SubjectName {
				t.Errorf("%s: name %q, user is %q", key, e.SubjectName, o["userPrincipalName"])
			}
		case "servicePrincipal":
			o = sps[strings.ToLower(e.SubjectID)]
		case "application":
			o = apps[strings.ToLower(e.SubjectID)]
		case "tenant":
			if e.SubjectID == d.org["id"] && e.SubjectID == sim.TenantID() {
				o = d.org
			}
		default:
			t.Errorf("%s: subject type %q", key, e.SubjectType)
		}
		if o == nil {
			t.Errorf("%s: subject %s %s not in the scenario", key, e.SubjectType, e.SubjectID)
		} else if e.SubjectType == "servicePrincipal" || e.SubjectType == "application" {
			if o["displayName"] != e.SubjectName {
				t.Errorf("%s: name %q, object is %q", key, e.SubjectName, o["displayName"])
			}
		}
	}
	for _, r := range ruleIDs {
		if perRule[r] == 0 {
			t.Errorf("no planted case for %s", r)
		}
	}
	for _, dc := range decoys {
		if !known[dc.Rule] {
			t.Errorf("decoy for unknown rule %q", dc.Rule)
		}
		id := strings.ToLower(dc.SubjectID)
		if users[id] == nil && sps[id] == nil && apps[id] == nil && id != strings.ToLower(sim.TenantID()) {
			t.Errorf("decoy %s %s: subject not in the scenario", dc.Rule, dc.SubjectID)
		}
		if seen[dc.Rule+"|"+dc.SubjectID] {
			t.Errorf("decoy %s %s is also expected", dc.Rule, dc.SubjectID)
		}
		if dc.Why == "" {
			t.Errorf("decoy %s %s: no reason", dc.Rule, dc.SubjectID)
		}
	}
	t.Logf("%d expected findings over %d rules, %d decoys", len(exp), len(perRule), len(decoys))
}

func TestScenarioConsistency(t *testing.T) {
	d := load(t, newSim(t, nil))
	regs := byID(d.regs)
	for _, u := range d.users {
		r := regs[strings.ToLower(u["id"].(string))]
		if r == nil {
			t.Errorf("user %s has no registration row", u["userPrincipalName"])
			continue
		}
		if r["userPrincipalName"] != u["userPrincipalName"] || !strings.EqualFold(r["userType"].(string), u["userType"].(string)) {
			t.Errorf("registration row of %s disagrees with the user", u["userPrincipalName"])
		}
	}
	if len(d.regs) != len(d.users) {
		t.Errorf("%d registration rows for %d users", len(d.regs), len(d.users))
	}
	sps := byID(d.sps)
	for _, g := range d.grants {
		res := sps[strings.ToLower(g["resourceId"].(string))]
		found := false
		for _, r := range res["appRoles"].([]any) {
			if r.(map[string]any)["id"] == g["appRoleId"] {
				found = true
			}
		}
		if !found {
			t.Errorf("grant %s: role %s is not an app role of %s", g["id"], g["appRoleId"], res["displayName"])
		}
		if sps[strings.ToLower(g["principalId"].(string))] == nil {
			t.Errorf("grant %s: unknown principal", g["id"])
		}
	}
	// Every application has its service principal.
	byApp := map[string]bool{}
	for _, sp := range d.sps {
		byApp[sp["appId"].(string)] = true
	}
	for _, a := range d.apps {
		if !byApp[a["appId"].(string)] {
			t.Errorf("application %s has no service principal", a["displayName"])
		}
	}
}

// azureRanges reads the AzureCloud ranges of the Service Tags sample the
// scanner's tests and `make demo` use (the repository's copy, else the
// shared data folder beside the repository).
func azureRanges(t *testing.T) (azure, any []netip.Prefix) {
	t.Helper()
	var b []byte
	var err error
	for _, path := range []string{
		filepath.Join("..", "..", "..", "azureip", "testdata", "servicetags-sample.json"),
		filepath.Join("..", "..", "..", "..", "..", "shared", "data", "servicetags-sample.json"),
	} {
		if b, err = os.ReadFile(path); err == nil {
			break
		}
	}
	if err != nil {
		t.Skipf("Service Tags sample not available: %v", err)
	}
	var doc struct {
		Values []struct {
			Name       string `json:"name"`
			Properties struct {
				AddressPrefixes []string `json:"addressPrefixes"`
			} `json:"properties"`
		} `json:"values"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, v := range doc.Values {
		for _, p := range v.Properties.AddressPrefixes {
			pfx := netip.MustParsePrefix(p)
			any = append(any, pfx)
			if strings.HasPrefix(strings.ToLower(v.Name), "azurecloud") {
				azure = append(azure, pfx)
			}
		}
	}
	return azure, any
}

func in(ps []netip.Prefix, ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// TestAzureAddresses checks the scenario's addresses against the Service
// Tags sample: the users expected for signin.azure-ip (and only they)
// succeed from Azure inside the window, and the look-alike address is
// outside every range.
func TestAzureAddresses(t *testing.T) {
	azure, anyRange := azureRanges(t)
	sim := newSim(t, nil)
	d := load(t, sim)
	exp, _ := apt29.Expected()
	want := map[string]bool{}
	for _, e := range exp {
		if e.Rule == "signin.azure-ip" {
			want[e.SubjectID] = true
		}
	}
	got := map[string]bool{}
	windowStart := testNow.AddDate(0, 0, -30).Format("2006-01-02T15:04:05Z")
	for _, s := range d.signs {
		ip, _ := s["ipAddress"].(string)
		code := s["status"].(map[string]any)["errorCode"].(float64)
		if code == 0 && in(azure, ip) && s["createdDateTime"].(string) >= windowStart {
			got[s["userId"].(string)] = true
		}
	}
	for id := range want {
		if !got[id] {
			t.Errorf("user %s is expected for signin.azure-ip but has no successful Azure sign-in", id)
		}
	}
	for id := range got {
		if !want[id] {
			t.Errorf("user %s signs in from Azure but is not expected", id)
		}
	}
	if in(anyRange, "13.73.32.17") {
		t.Error("the near-Azure decoy address is inside a Service Tags range")
	}
	// Registration addresses: Viktor's from Azure, the decoys' inside trusted locations.
	var trusted []netip.Prefix
	for _, l := range d.locations {
		if l["isTrusted"] == true {
			for _, r := range l["ipRanges"].([]any) {
				trusted = append(trusted, netip.MustParsePrefix(r.(map[string]any)["cidrAddress"].(string)))
			}
		}
	}
	untrusted := map[string]string{}
	for _, a := range d.audits {
		if a["result"] != "success" || !strings.HasPrefix(a["activityDisplayName"].(string), "User registered") {
			continue
		}
		u := a["initiatedBy"].(map[string]any)["user"].(map[string]any)
		if ip := u["ipAddress"].(string); !in(trusted, ip) {
			untrusted[u["id"].(string)] = ip
		}
	}
	wantUntrusted := map[string]string{}
	for _, e := range exp {
		if e.Rule == "mfa.registration-untrusted-location" {
			wantUntrusted[e.SubjectID] = e.Severity
		}
	}
	if len(untrusted) != len(wantUntrusted) {
		t.Errorf("registrations outside trusted locations: %v, expected subjects %v", untrusted, wantUntrusted)
	}
	for id, sev := range wantUntrusted {
		ip, ok := untrusted[id]
		if !ok || (sev == "high") != in(azure, ip) {
			t.Errorf("user %s: registration from %q, expected severity %s", id, ip, sev)
		}
	}
}
