package graphsim_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario"
)

// The requests production sends for the 2023–2025 rules (issue 12's
// contract, § "The requests production sends").
const (
	qBetaSignIns = "/beta/auditLogs/signIns?%24filter=createdDateTime%20ge%202026-10-27T12:00:00Z&%24top=1000" +
		"&%24select=id,createdDateTime,userId,userPrincipalName,appId,appDisplayName,ipAddress,status,clientAppUsed," +
		"resourceId,resourceDisplayName,location,deviceDetail,isInteractive,authenticationProtocol,originalTransferMethod"
	qDevices = "/v1.0/devices?%24select=id,deviceId,displayName,operatingSystem,operatingSystemVersion,trustType,isManaged," +
		"isCompliant,accountEnabled,registrationDateTime,approximateLastSignInDateTime&%24expand=registeredOwners(%24select%3Did)&%24top=999"
	qDomains      = "/v1.0/domains?%24select=id,authenticationType,isVerified,isDefault"
	qAuthzPolicy  = "/v1.0/policies/authorizationPolicy"
	qDelegated    = "/v1.0/oauth2PermissionGrants"
	qTransitive   = "/transitiveMembers/microsoft.graph.user?%24select=id&%24top=999"
	apt29Director = "e938aa24-4f2a-4735-b38d-c431ab9db57c" // helena.marsh
	apt29Analyst  = "d713d973-9687-4144-8ca0-b0ca06cbc9f4" // alice.morgan
	apt29Research = "5c8d1f3a-6e2b-4a9d-b7c1-0e4f8a2d6b95" // the Research group
	apt29AllStaff = "3f6c2a1e-8b4d-4c7a-9e2f-5d1b0a9c8e71"
	apt29Archiver = "7ab81c44-c18c-4f93-a8dc-fc9eb484623e" // Northbridge Records Archiver (application)
)

func decodeObjects(t *testing.T, items []json.RawMessage) []map[string]any {
	t.Helper()
	out := make([]map[string]any, len(items))
	for i, raw := range items {
		if err := json.Unmarshal(raw, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// pages follows nextLinks from url (any API version) and returns every item
// and the page sizes; every nextLink must stay under prefix.
func pages(t *testing.T, h http.Handler, url, prefix string) ([]map[string]any, []int) {
	t.Helper()
	var out []map[string]any
	var sizes []int
	for n := 0; url != ""; n++ {
		if n > 1000 {
			t.Fatal("too many pages")
		}
		if !strings.HasPrefix(url, prefix) {
			t.Fatalf("nextLink %q is not under %s", url, prefix)
		}
		p := decodePage(t, get(t, h, url))
		out = append(out, decodeObjects(t, p.Value)...)
		sizes = append(sizes, len(p.Value))
		url = p.NextLink
	}
	return out, sizes
}

// TestBetaSignIns: the beta log is the v1.0 log with the beta properties;
// v1.0 never serves them; paging stays under /beta.
func TestBetaSignIns(t *testing.T) {
	sim := newSim(t, &graphsim.Options{Users: 30})
	h := sim.Handler()
	v1, _ := pages(t, h, base+"/v1.0/auditLogs/signIns", base+"/v1.0/")
	beta, sizes := pages(t, h, base+"/beta/auditLogs/signIns?%24top=7", base+"/beta/")
	if len(beta) != len(v1) || len(sizes) < 2 {
		t.Fatalf("beta served %d sign-ins in %d pages, v1.0 %d", len(beta), len(sizes), len(v1))
	}
	for i := range v1 {
		if v1[i]["id"] != beta[i]["id"] {
			t.Fatalf("item %d: v1.0 %v, beta %v (same log, same order)", i, v1[i]["id"], beta[i]["id"])
		}
		if _, ok := v1[i]["authenticationProtocol"]; ok {
			t.Errorf("v1.0 sign-in %v carries the beta authenticationProtocol", v1[i]["id"])
		}
		for _, k := range []string{"clientAppUsed", "resourceId", "resourceDisplayName", "location", "deviceDetail", "isInteractive"} {
			if _, ok := v1[i][k]; !ok {
				t.Errorf("v1.0 sign-in %v lacks %s", v1[i]["id"], k)
			}
		}
		for k, want := range map[string]any{"authenticationProtocol": "none", "originalTransferMethod": "none", "incomingTokenType": "none"} {
			if beta[i][k] != want {
				t.Errorf("beta sign-in %v: %s = %v, want %v", beta[i]["id"], k, beta[i][k], want)
			}
		}
		if _, ok := beta[i]["riskEventTypes"]; ok {
			t.Errorf("beta sign-in %v carries riskEventTypes (beta has riskEventTypes_v2 only)", beta[i]["id"])
		}
		if evt, _ := beta[i]["signInEventTypes"].([]any); len(evt) != 1 || evt[0] != "interactiveUser" {
			t.Errorf("beta sign-in %v: signInEventTypes %v", beta[i]["id"], beta[i]["signInEventTypes"])
		}
	}
	// The request production sends.
	p := decodePage(t, get(t, h, base+qBetaSignIns))
	if !strings.HasPrefix(p.Context, base+"/beta/$metadata#auditLogs/signIns(") || len(p.Value) == 0 {
		t.Errorf("context %q, %d items", p.Context, len(p.Value))
	}
	for _, o := range decodeObjects(t, p.Value) {
		if len(o) != 16 {
			t.Errorf("selected 16 properties, got %d: %v", len(o), o)
		}
	}
	// v1.0 refuses the beta properties as Graph does.
	r := get(t, h, base+"/v1.0/auditLogs/signIns?%24select=id,authenticationProtocol")
	if r.status != http.StatusBadRequest || !strings.Contains(decodeError(t, r).Error.Message, "'authenticationProtocol'") {
		t.Errorf("v1.0 $select=authenticationProtocol: %d %s", r.status, r.body)
	}
	// Only the sign-in log is simulated under beta.
	if r := get(t, h, base+"/beta/users"); r.status != http.StatusNotImplemented {
		t.Errorf("beta /users: %d", r.status)
	}
	if r := get(t, h, base+"/beta/users/delta"); r.status != http.StatusNotImplemented {
		t.Errorf("beta /users/delta: %d", r.status)
	}
}

// TestBetaSignInsCarryScenarioValues: a sign-in appended with beta
// properties keeps them in the beta log and loses them in v1.0.
func TestBetaSignInsCarryScenarioValues(t *testing.T) {
	sim := newSim(t, nil)
	err := sim.AppendLog(graphsim.LogSignIns, map[string]any{
		"id": "0d0c0de0-0000-4000-8000-000000000001", "createdDateTime": testNow.Add(-time5m).Format("2006-01-02T15:04:05Z"),
		"userId": apt29Director, "authenticationProtocol": "deviceCode", "originalTransferMethod": "deviceCodeFlow",
		"clientAppUsed": "Mobile Apps and Desktop clients", "isInteractive": true,
	})
	if err != nil {
		t.Fatal(err)
	}
	h := sim.Handler()
	q := "/auditLogs/signIns?%24filter=id%20eq%20'0d0c0de0-0000-4000-8000-000000000001'"
	beta := decodeObjects(t, decodePage(t, get(t, h, base+"/beta"+q)).Value)
	v1 := decodeObjects(t, decodePage(t, get(t, h, base+"/v1.0"+q)).Value)
	if len(beta) != 1 || len(v1) != 1 {
		t.Fatalf("beta %d, v1.0 %d", len(beta), len(v1))
	}
	if beta[0]["authenticationProtocol"] != "deviceCode" || beta[0]["originalTransferMethod"] != "deviceCodeFlow" {
		t.Errorf("beta: %v / %v", beta[0]["authenticationProtocol"], beta[0]["originalTransferMethod"])
	}
	if _, ok := v1[0]["originalTransferMethod"]; ok || v1[0]["clientAppUsed"] != "Mobile Apps and Desktop clients" {
		t.Errorf("v1.0: %v", v1[0])
	}
}

const time5m = 5 * 60 * 1e9

// TestDevices: the device read with its registered owners expanded.
func TestDevices(t *testing.T) {
	sim := newSim(t, nil)
	h := sim.Handler()
	p := decodePage(t, get(t, h, base+qDevices))
	if !strings.Contains(p.Context, "registeredOwners(id)") {
		t.Errorf("context %q", p.Context)
	}
	devs := decodeObjects(t, p.Value)
	if len(devs) != 5 {
		t.Fatalf("%d devices, want apt29's 5", len(devs))
	}
	for _, d := range devs {
		owners, _ := d["registeredOwners"].([]any)
		if len(owners) != 1 {
			t.Fatalf("device %v: owners %v", d["id"], d["registeredOwners"])
		}
		o := owners[0].(map[string]any)
		if o["@odata.type"] != "#microsoft.graph.user" || !guidRE.MatchString(o["id"].(string)) || len(o) != 2 {
			t.Errorf("owner %v", o)
		}
		for k := range d {
			if strings.HasPrefix(k, "graphsim:") {
				t.Errorf("device %v serves the internal %s", d["id"], k)
			}
		}
		if d["trustType"] != "AzureAd" && d["trustType"] != "Workplace" {
			t.Errorf("trustType %v", d["trustType"])
		}
	}
	// Without $select: every device property, none of the internal ones.
	all := decodeObjects(t, decodePage(t, get(t, h, base+"/v1.0/devices")).Value)
	if len(all[0]) != 33 || all[0]["registeredOwners"] != nil {
		t.Errorf("default device: %d properties: %v", len(all[0]), all[0])
	}
	// Paging keeps the expansion.
	got, sizes := pages(t, h, base+"/v1.0/devices?%24top=2&%24expand=registeredOwners&%24select=id", base+"/v1.0/")
	if len(got) != 5 || !slices.Equal(sizes, []int{2, 2, 1}) {
		t.Errorf("paged %d devices in %v", len(got), sizes)
	}
	for _, d := range got {
		o := d["registeredOwners"].([]any)[0].(map[string]any)
		if o["userPrincipalName"] == nil { // the user's default properties without a nested $select
			t.Errorf("expanded owner without nested $select: %v", o)
		}
	}
	for path, status := range map[string]int{
		"/v1.0/devices?%24expand=registeredUsers":                 http.StatusBadRequest,
		"/v1.0/devices?%24expand=registeredOwners(%24select%3Dx)": http.StatusBadRequest,
		"/v1.0/devices?%24top=1000":                               http.StatusBadRequest,
		"/v1.0/users?%24expand=manager":                           http.StatusNotImplemented,
	} {
		if r := get(t, h, base+path); r.status != status {
			t.Errorf("%s: %d, want %d: %s", path, r.status, status, r.body)
		}
	}
}

// TestCreateDevice: a device added at run time is completed as Graph
// returns it and shows in /devices with its owner.
func TestCreateDevice(t *testing.T) {
	sim := newSim(t, nil)
	_, err := sim.Change(func(tx *graphsim.Tx) error {
		_, err := tx.Create(graphsim.KindDevice, graphsim.Object{
			{"id", "9f9f9f9f-0000-4000-8000-000000000001"}, {"deviceId", "9f9f9f9f-0000-4000-8000-000000000002"},
			{"displayName", "DESKTOP-7QK2M1"}, {"operatingSystem", "Windows"}, {"trustType", "Workplace"},
			{graphsim.RegisteredOwnerIDs, []any{apt29Analyst}},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	devs, _ := pages(t, sim.Handler(), base+qDevices, base+"/v1.0/")
	d := devs[len(devs)-1]
	if len(devs) != 6 || d["displayName"] != "DESKTOP-7QK2M1" || d["isManaged"] != false || d["accountEnabled"] != true {
		t.Fatalf("%d devices, last %v", len(devs), d)
	}
	if o := d["registeredOwners"].([]any); len(o) != 1 || o[0].(map[string]any)["id"] != apt29Analyst {
		t.Errorf("owners %v", o)
	}
	_, err = sim.Change(func(tx *graphsim.Tx) error {
		_, err := tx.Create(graphsim.KindDevice, graphsim.Object{{"id", "9f9f9f9f-0000-4000-8000-000000000003"}})
		return err
	})
	if !errors.Is(err, graphsim.ErrInvalid) {
		t.Errorf("a device without deviceId: %v", err)
	}
}

// TestDomainsAndFederation: domains, and the federation configuration of
// a domain switched to federated at run time.
func TestDomainsAndFederation(t *testing.T) {
	sim := newSim(t, nil)
	h := sim.Handler()
	doms := decodeObjects(t, decodePage(t, get(t, h, base+qDomains)).Value)
	if len(doms) != 2 || doms[0]["id"] != "northbridge-policy.org" || doms[0]["isDefault"] != true ||
		doms[0]["authenticationType"] != "Managed" || len(doms[0]) != 4 {
		t.Fatalf("domains %v", doms)
	}
	fed := "/v1.0/domains/northbridge-policy.org/federationConfiguration"
	if p := decodePage(t, get(t, h, base+fed)); len(p.Value) != 0 {
		t.Errorf("a managed domain has a federation configuration: %s", p.Value)
	}
	if r := get(t, h, base+"/v1.0/domains/contoso.example/federationConfiguration"); r.status != http.StatusNotFound {
		t.Errorf("unknown domain: %d", r.status)
	}
	v0 := sim.Version()
	_, err := sim.Change(func(tx *graphsim.Tx) error {
		_, err := tx.Update(graphsim.KindDomain, "northbridge-policy.org", graphsim.Object{
			{"authenticationType", "Federated"},
			{graphsim.FederationConfigs, []any{graphsim.Object{
				{"id", "6b9d1f2e-0000-4000-8000-00000000f001"}, {"displayName", "northbridge-policy.org"},
				{"issuerUri", "http://any.sts.example/adfs/services/trust"},
				{"passiveSignInUri", "https://any.sts.example/adfs/ls/"},
				{"signingCertificate", "MIIC8DCCAdigAwIBAgIQ"},
			}}},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if sim.Version() == v0 {
		t.Fatal("no new version")
	}
	got := decodeObjects(t, decodePage(t, get(t, h, base+fed)).Value)
	if len(got) != 1 || got[0]["issuerUri"] != "http://any.sts.example/adfs/services/trust" ||
		got[0]["@odata.type"] != "#microsoft.graph.internalDomainFederation" || got[0]["federatedIdpMfaBehavior"] == nil {
		t.Fatalf("federation %v", got)
	}
	doms = decodeObjects(t, decodePage(t, get(t, h, base+"/v1.0/domains")).Value)
	if doms[0]["authenticationType"] != "Federated" {
		t.Errorf("domain %v", doms[0])
	}
	for k := range doms[0] {
		if strings.HasPrefix(k, "graphsim:") {
			t.Errorf("domain serves %s", k)
		}
	}
}

// TestAuthorizationPolicy: one object, not a collection.
func TestAuthorizationPolicy(t *testing.T) {
	h := newSim(t, nil).Handler()
	r := get(t, h, base+qAuthzPolicy)
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var p map[string]any
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	if p["@odata.context"] != base+"/v1.0/$metadata#policies/authorizationPolicy/$entity" || p["value"] != nil || p["id"] != "authorizationPolicy" {
		t.Errorf("policy %v", p)
	}
	perms, _ := p["defaultUserRolePermissions"].(map[string]any)
	assigned, _ := perms["permissionGrantPoliciesAssigned"].([]any)
	for _, a := range assigned {
		if strings.HasPrefix(a.(string), "ManagePermissionGrantsForSelf.") {
			t.Errorf("apt29 lets users consent: %v", assigned)
		}
	}
	if perms["allowedToCreateApps"] != false {
		t.Errorf("allowedToCreateApps %v", perms["allowedToCreateApps"])
	}
	r = get(t, h, base+qAuthzPolicy+"?%24select=id,defaultUserRolePermissions")
	p = nil
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	if len(p) != 3 || !strings.HasSuffix(p["@odata.context"].(string), "policies/authorizationPolicy(id,defaultUserRolePermissions)/$entity") {
		t.Errorf("selected: %v", p)
	}
	if r := get(t, h, base+qAuthzPolicy+"?%24top=1"); r.status != http.StatusBadRequest {
		t.Errorf("$top on a single object: %d", r.status)
	}
}

// TestDelegatedGrants: the list, $filter on clientId.
func TestDelegatedGrants(t *testing.T) {
	h := newSim(t, nil).Handler()
	all, _ := pages(t, h, base+qDelegated, base+"/v1.0/")
	if len(all) != 2 || len(all[0]) != 6 {
		t.Fatalf("grants %v", all)
	}
	one := decodeObjects(t, decodePage(t, get(t, h, base+qDelegated+"?%24filter=clientId%20eq%20'c1137667-27d8-45be-a565-5fef065bde59'")).Value)
	if len(one) != 1 || one[0]["consentType"] != "Principal" || one[0]["principalId"] == nil {
		t.Errorf("filtered %v", one)
	}
	two := decodeObjects(t, decodePage(t, get(t, h, base+qDelegated+"?%24filter=consentType%20eq%20'AllPrincipals'")).Value)
	if len(two) != 1 || two[0]["principalId"] != nil {
		t.Errorf("AllPrincipals %v", two)
	}
}

// TestTransitiveMembers: users through nested groups, each once; cycles
// end; unknown groups answer 404.
func TestTransitiveMembers(t *testing.T) {
	sim := newSim(t, nil)
	h := sim.Handler()
	url := base + "/v1.0/groups/" + apt29Research + qTransitive
	if got := decodePage(t, get(t, h, url)); len(got.Value) != 0 {
		t.Fatalf("a group without members: %s", got.Value)
	}
	_, err := sim.Change(func(tx *graphsim.Tx) error {
		if _, err := tx.Update(graphsim.KindGroup, apt29Research, graphsim.Object{
			{graphsim.MemberIDs, []any{apt29Director, apt29AllStaff}}}); err != nil {
			return err
		}
		_, err := tx.Update(graphsim.KindGroup, apt29AllStaff, graphsim.Object{
			{graphsim.MemberIDs, []any{apt29Analyst, apt29Director, apt29Research}}}) // a cycle back
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got := decodeObjects(t, decodePage(t, get(t, h, url)).Value)
	var ids []string
	for _, u := range got {
		if u["@odata.type"] != "#microsoft.graph.user" || len(u) != 2 {
			t.Errorf("member %v", u)
		}
		ids = append(ids, u["id"].(string))
	}
	if !slices.Equal(ids, []string{apt29Director, apt29Analyst}) {
		t.Errorf("members %v", ids)
	}
	// The SDKs write the cast with the namespace alias; Graph accepts both.
	alias := decodeObjects(t, decodePage(t, get(t, h, base+"/v1.0/groups/"+apt29Research+"/transitiveMembers/graph.user?%24select=id")).Value)
	if len(alias) != 2 {
		t.Errorf("graph.user cast: %v", alias)
	}
	if r := get(t, h, base+"/v1.0/groups/"+apt29Research+"/transitiveMembers/graph.group"); r.status != http.StatusNotImplemented {
		t.Errorf("graph.group cast: %d (not simulated)", r.status)
	}
	if r := get(t, h, base+"/v1.0/groups/00000000-0000-4000-8000-000000000000"+qTransitive); r.status != http.StatusNotFound {
		t.Errorf("unknown group: %d", r.status)
	}
	// Group listings never carry the internal member list.
	groups, _ := pages(t, h, base+"/v1.0/groups", base+"/v1.0/")
	for _, g := range groups {
		if _, ok := g[graphsim.MemberIDs]; ok {
			t.Errorf("group %v serves its internal members", g["id"])
		}
	}
}

// TestFederatedCredentials: a credential added to an application shows
// in its federatedIdentityCredentials, never in /applications, and is no
// tracked change of applications/delta.
func TestFederatedCredentials(t *testing.T) {
	sim := newSim(t, nil)
	h := sim.Handler()
	url := base + "/v1.0/applications/" + apt29Archiver + "/federatedIdentityCredentials"
	if p := decodePage(t, get(t, h, url)); len(p.Value) != 0 {
		t.Fatalf("credentials before: %s", p.Value)
	}
	// A delta round to start from.
	var dl string
	for next := base + "/v1.0/applications/delta?%24select=displayName"; next != ""; {
		var p struct {
			Next  string `json:"@odata.nextLink"`
			Delta string `json:"@odata.deltaLink"`
		}
		if err := json.Unmarshal(get(t, h, next).body, &p); err != nil {
			t.Fatal(err)
		}
		next, dl = p.Next, p.Delta
	}
	_, err := sim.Change(func(tx *graphsim.Tx) error {
		_, err := tx.Update(graphsim.KindApplication, apt29Archiver, graphsim.Object{
			{graphsim.FederatedCredentials, []any{graphsim.Object{
				{"id", "4a7e0c2b-0000-4000-8000-0000000fc001"}, {"name", "gh-actions-deploy"},
				{"issuer", "https://token.actions.githubusercontent.com"}, {"subject", "repo:northbr1dge/archiver:ref:refs/heads/main"},
				{"audiences", []any{"api://AzureADTokenExchange"}}, {"description", nil},
			}}}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got := decodeObjects(t, decodePage(t, get(t, h, url)).Value)
	if len(got) != 1 || got[0]["issuer"] != "https://token.actions.githubusercontent.com" || len(got[0]) != 6 {
		t.Fatalf("credentials %v", got)
	}
	apps, _ := pages(t, h, base+"/v1.0/applications", base+"/v1.0/")
	for _, a := range apps {
		if _, ok := a[graphsim.FederatedCredentials]; ok {
			t.Errorf("application %v serves the internal credentials", a["id"])
		}
	}
	var round struct {
		Value []map[string]any `json:"value"`
	}
	if err := json.Unmarshal(get(t, h, dl).body, &round); err != nil {
		t.Fatal(err)
	}
	if len(round.Value) != 0 {
		t.Errorf("applications/delta reports %v", round.Value)
	}
	if r := get(t, h, base+"/v1.0/applications/00000000-0000-4000-8000-000000000000/federatedIdentityCredentials"); r.status != http.StatusNotFound {
		t.Errorf("unknown application: %d", r.status)
	}
}

// TestIdentityShapes: what a typed client needs to parse the new
// collections of every scenario: GUIDs, timestamps, enum members.
func TestIdentityShapes(t *testing.T) {
	for _, name := range scenario.Names() {
		t.Run(name, func(t *testing.T) {
			sc, err := scenario.Get(name)
			if err != nil {
				t.Fatal(err)
			}
			h := newSim(t, &graphsim.Options{Scenario: sc, Users: 20}).Handler()
			c := &checker{t: t}
			devs, _ := pages(t, h, base+qDevices, base+"/v1.0/")
			for _, d := range devs {
				c.guid("device.id", d["id"])
				c.guid("device.deviceId", d["deviceId"])
				c.time("device.registrationDateTime", d["registrationDateTime"], true)
				c.time("device.approximateLastSignInDateTime", d["approximateLastSignInDateTime"], true)
				c.enum("device.trustType", d["trustType"], "Workplace", "AzureAd", "ServerAd")
				for _, k := range []string{"isManaged", "isCompliant", "accountEnabled"} {
					if _, ok := d[k].(bool); !ok {
						t.Errorf("device.%s is %T", k, d[k])
					}
				}
			}
			doms, _ := pages(t, h, base+"/v1.0/domains", base+"/v1.0/")
			if len(doms) == 0 {
				t.Error("no domains: every tenant has its initial domain")
			}
			defaults := 0
			for _, d := range doms {
				c.enum("domain.authenticationType", d["authenticationType"], "Managed", "Federated")
				if d["isDefault"] == true {
					defaults++
				}
				fed, _ := pages(t, h, base+"/v1.0/domains/"+d["id"].(string)+"/federationConfiguration", base+"/v1.0/")
				if (len(fed) > 0) != (d["authenticationType"] == "Federated") {
					t.Errorf("domain %v: %s with %d federation configurations", d["id"], d["authenticationType"], len(fed))
				}
				for _, f := range fed {
					c.enum("federation.preferredAuthenticationProtocol", f["preferredAuthenticationProtocol"], "wsFed", "saml")
					c.enum("federation.federatedIdpMfaBehavior", f["federatedIdpMfaBehavior"],
						"acceptIfMfaDoneByFederatedIdp", "enforceMfaByFederatedIdp", "rejectMfaByFederatedIdp")
					c.base64("federation.signingCertificate", f["signingCertificate"])
				}
			}
			if defaults != 1 {
				t.Errorf("%d default domains", defaults)
			}
			grants, _ := pages(t, h, base+qDelegated, base+"/v1.0/")
			for _, g := range grants {
				c.enum("grant.consentType", g["consentType"], "AllPrincipals", "Principal")
				c.guid("grant.clientId", g["clientId"])
				c.guid("grant.resourceId", g["resourceId"])
				if (g["consentType"] == "Principal") != (g["principalId"] != nil) {
					t.Errorf("grant %v: consentType %v, principalId %v", g["id"], g["consentType"], g["principalId"])
				}
			}
			signIns, _ := pages(t, h, base+"/beta/auditLogs/signIns", base+"/beta/")
			for _, s := range signIns {
				c.enum("signIn.authenticationProtocol", s["authenticationProtocol"], "none", "oAuth2", "ropc", "wsFederation",
					"saml20", "deviceCode", "unknownFutureValue")
				c.enum("signIn.originalTransferMethod", s["originalTransferMethod"], "none", "deviceCodeFlow", "authenticationTransfer", "unknownFutureValue")
				c.enum("signIn.incomingTokenType", s["incomingTokenType"], "none", "primaryRefreshToken", "saml11", "saml20", "unknownFutureValue")
				c.time("signIn.createdDateTime", s["createdDateTime"], false)
			}
			r := get(t, h, base+qAuthzPolicy)
			if r.status != http.StatusOK {
				t.Fatalf("authorization policy: %d %s", r.status, r.body)
			}
		})
	}
}

// TestIdentityPermissions: each new read answers Graph's 403 without a
// permission Microsoft's table accepts, and the premium and Deny faults
// reach the beta log.
func TestIdentityPermissions(t *testing.T) {
	paths := map[string]string{
		"beta": qBetaSignIns, "devices": qDevices, "domains": qDomains,
		"federation": "/v1.0/domains/northbridge-policy.org/federationConfiguration",
		"authz":      qAuthzPolicy, "grants": qDelegated,
		"members":     "/v1.0/groups/" + apt29Research + qTransitive,
		"credentials": "/v1.0/applications/" + apt29Archiver + "/federatedIdentityCredentials",
	}
	deniedAll := map[string]string{}
	for k := range paths {
		deniedAll[k] = "Authorization_RequestDenied"
	}
	deniedAll["beta"] = "Authentication_MSGraphPermissionMissing"
	cases := []struct {
		name    string
		opts    graphsim.Options
		granted []string
		denied  map[string]string
	}{
		{name: "least privileged", granted: []string{"AuditLog.Read.All", "Device.Read.All", "Domain.Read.All",
			"Policy.Read.All", "Directory.Read.All", "GroupMember.Read.All", "Application.Read.All"}},
		{name: "Directory.Read.All stands in except for logs, policies and federation", granted: []string{"Directory.Read.All"},
			denied: map[string]string{"beta": "Authentication_MSGraphPermissionMissing", "authz": "Authorization_RequestDenied",
				"federation": "Authorization_RequestDenied"}},
		{name: "Domain-InternalFederation.Read.All reads federation only", granted: []string{"Domain-InternalFederation.Read.All"},
			denied: func() map[string]string {
				m := map[string]string{}
				for k, v := range deniedAll {
					if k != "federation" {
						m[k] = v
					}
				}
				return m
			}()},
		{name: "nothing", granted: []string{"User.Read.All"}, denied: deniedAll},
		{name: "write permissions that also read", granted: []string{"AuditLog.Read.All", "Device.ReadWrite.All", "Domain.ReadWrite.All",
			"Policy.ReadWrite.Authorization", "DelegatedPermissionGrant.ReadWrite.All", "Group.Read.All", "Application.ReadWrite.All"}},
		{name: "DelegatedPermissionGrant.ReadWrite.All alone reads grants only", granted: []string{"DelegatedPermissionGrant.ReadWrite.All"},
			denied: func() map[string]string {
				m := map[string]string{}
				for k, v := range deniedAll {
					if k != "grants" {
						m[k] = v
					}
				}
				return m
			}()},
		{name: "no premium", opts: graphsim.Options{NoPremium: true},
			denied: map[string]string{"beta": "Authentication_RequestFromNonPremiumTenantOrB2CTenant"}},
		{name: "deny signIns denies the beta log", opts: graphsim.Options{Deny: []string{graphsim.SourceSignIns}},
			denied: map[string]string{"beta": "Authentication_RequestFromNonPremiumTenantOrB2CTenant"}},
		{name: "deny each", opts: graphsim.Options{Deny: []string{graphsim.SourceSignInsBeta, graphsim.SourceDevices,
			graphsim.SourceDomains, graphsim.SourceAuthorizationPolicy, graphsim.SourceDelegatedGrants,
			graphsim.SourceGroupMembers, graphsim.SourceFederatedCredentials}},
			denied: func() map[string]string {
				m := map[string]string{}
				for k := range deniedAll {
					m[k] = "Authorization_RequestDenied"
				}
				m["beta"] = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
				return m
			}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.Permissions = tc.granted
			h := newSim(t, &o).Handler()
			for name, p := range paths {
				r := get(t, h, base+p)
				want := tc.denied[name]
				if want == "" {
					if r.status != http.StatusOK {
						t.Errorf("%s: %d %s", name, r.status, r.body)
					}
					continue
				}
				if r.status != http.StatusForbidden || decodeError(t, r).Error.Code != want {
					t.Errorf("%s: %d %s, want 403 %s", name, r.status, r.body, want)
				}
			}
		})
	}
}

// TestAssignAppRole: an app role granted at run time shows in the
// resource's appRoleAssignedTo, completed with the names, without
// shifting a paging session that started before; an unknown principal is
// refused.
func TestAssignAppRole(t *testing.T) {
	sim := newSim(t, nil)
	h := sim.Handler()
	const exo = "28b8acae-e834-4284-bf0b-133cef9efbe8" // apt29's Exchange Online
	url := base + "/v1.0/servicePrincipals/" + exo + "/appRoleAssignedTo"
	before, _ := pages(t, h, url, base+"/v1.0/")
	first := decodePage(t, get(t, h, url+"?%24top=1"))
	if first.NextLink == "" {
		t.Fatal("want a second page")
	}
	var got graphsim.Object
	_, err := sim.Change(func(tx *graphsim.Tx) error {
		var err error
		got, err = tx.AssignAppRole(graphsim.Object{{"appRoleId", "dc890d15-9560-4a4c-9b7f-a736ec74ec40"},
			{"principalId", "085f1a8d-c570-4cb1-81c9-196bb010274d"}, {"resourceId", exo}, {"createdDateTime", "2026-11-26T12:00:00Z"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Str("principalDisplayName") != "Northbridge Records Archiver" || got.Str("id") == "" {
		t.Errorf("assignment %v", got)
	}
	rest, _ := pages(t, h, first.NextLink, base+"/v1.0/")
	if len(rest)+1 != len(before) {
		t.Errorf("the session that started before the grant served %d more, want %d", len(rest), len(before)-1)
	}
	after, _ := pages(t, h, url, base+"/v1.0/")
	if len(after) != len(before)+1 || after[len(after)-1]["id"] != got.Str("id") {
		t.Errorf("after: %d assignments, last %v", len(after), after[len(after)-1])
	}
	_, err = sim.Change(func(tx *graphsim.Tx) error {
		_, err := tx.AssignAppRole(graphsim.Object{{"appRoleId", "x"}, {"principalId", "00000000-0000-4000-8000-000000000000"}, {"resourceId", exo}})
		return err
	})
	if !errors.Is(err, graphsim.ErrInvalid) {
		t.Errorf("unknown principal: %v", err)
	}
}

// TestCreateDelegatedGrant: a delegated grant created at run time (a
// consent) is completed and listed.
func TestCreateDelegatedGrant(t *testing.T) {
	sim := newSim(t, nil)
	_, err := sim.Change(func(tx *graphsim.Tx) error {
		_, err := tx.Create(graphsim.KindDelegatedGrant, graphsim.Object{{"id", "bmV3LWdyYW50"}, {"clientId", "085f1a8d-c570-4cb1-81c9-196bb010274d"},
			{"resourceId", "6ff4b418-f84c-434a-b93d-7a6559a24f5e"}, {"scope", "Mail.Read offline_access"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	all, _ := pages(t, sim.Handler(), base+qDelegated+"?%24filter=id%20eq%20'bmV3LWdyYW50'", base+"/v1.0/")
	if len(all) != 1 || all[0]["consentType"] != "AllPrincipals" || all[0]["principalId"] != nil || all[0]["scope"] != "Mail.Read offline_access" {
		t.Errorf("grant %v", all)
	}
}
