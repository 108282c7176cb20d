package graphsim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
)

func TestSelectProjection(t *testing.T) {
	sim := newSim(t, nil)
	h := sim.Handler()
	cases := []struct {
		name, path string
		want       []string // exact key set of every item
		mayLack    []string // keys allowed to be absent
	}{
		{"users select keeps id", "/v1.0/users?%24select=displayName", []string{"id", "displayName"}, nil},
		{"users select case-insensitive", "/v1.0/users?%24select=ID,UserPrincipalName", []string{"id", "userPrincipalName"}, nil},
		{"users signInActivity absent for never", "/v1.0/users?%24select=id,signInActivity", []string{"id", "signInActivity"}, []string{"signInActivity"}},
		{"users absent property is null", "/v1.0/users?%24select=id,employeeId", []string{"id", "employeeId"}, nil},
		{"users default set", "/v1.0/users", []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"}, nil},
		{"namedLocations keep @odata.type", "/v1.0/identity/conditionalAccess/namedLocations?%24select=id,displayName", []string{"@odata.type", "id", "displayName"}, nil},
		{"signIns select", "/v1.0/auditLogs/signIns?%24select=id,status&%24top=3", []string{"id", "status"}, nil},
		{"skus select", qSkus, []string{"skuId", "skuPartNumber", "servicePlans"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := decodePage(t, get(t, h, base+tc.path))
			if len(p.Value) == 0 {
				t.Fatal("no items")
			}
			for _, raw := range p.Value {
				var m map[string]json.RawMessage
				_ = json.Unmarshal(raw, &m)
				for _, k := range tc.want {
					if _, ok := m[k]; !ok && !contains(tc.mayLack, k) {
						t.Errorf("item lacks %q: %s", k, raw)
					}
				}
				if len(m) > len(tc.want) {
					t.Errorf("item has extra properties: %s", raw)
				}
			}
		})
	}
	// signInActivity: present for some users, absent for the never-signed-in.
	p := decodePage(t, get(t, h, base+"/v1.0/users?%24select=id,signInActivity"))
	with, without := 0, 0
	for _, raw := range p.Value {
		if strings.Contains(string(raw), `"signInActivity"`) {
			with++
		} else {
			without++
		}
	}
	if with == 0 || without == 0 {
		t.Errorf("signInActivity present on %d users, absent on %d; want both", with, without)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestQueryErrors(t *testing.T) {
	sim := newSim(t, nil)
	h := sim.Handler()
	cases := []struct {
		name, path string
		status     int
		code, msg  string
	}{
		{"unknown select", "/v1.0/users?%24select=id,shoeSize", 400, "BadRequest", "Could not find a property named 'shoeSize' on type 'microsoft.graph.user'"},
		{"unknown select on SP", "/v1.0/servicePrincipals?%24select=mailboxSettings", 400, "BadRequest", "on type 'microsoft.graph.servicePrincipal'"},
		{"single-user-only property", "/v1.0/users?%24select=aboutMe", 501, "NotImplemented", "aboutMe"},
		{"users top over 999", "/v1.0/users?%24top=1000", 400, "Request_UnsupportedQuery", "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."},
		{"SP top over 999", "/v1.0/servicePrincipals?%24top=1500", 400, "Request_UnsupportedQuery", "Invalid page size"},
		{"top zero", "/v1.0/applications?%24top=0", 400, "Request_UnsupportedQuery", "Invalid page size"},
		{"top not a number", "/v1.0/users?%24top=ten", 400, "BadRequest", "Invalid $top"},
		{"orderby not simulated", "/v1.0/users?%24orderby=displayName", 501, "NotImplemented", "graphsim: not simulated: query option $orderby"},
		{"expand not simulated", "/v1.0/servicePrincipals?%24expand=owners", 501, "NotImplemented", "$expand"},
		{"filter on users", "/v1.0/users?%24filter=accountEnabled%20eq%20true", 400, "Request_UnsupportedQuery", "'accountEnabled'"},
		{"filter syntax", "/v1.0/auditLogs/directoryAudits?%24filter=activityDateTime%20ge", 400, "BadRequest", "Invalid filter clause"},
		{"filter or", "/v1.0/auditLogs/signIns?%24filter=userId%20eq%20'a'%20or%20userId%20eq%20'b'", 400, "BadRequest", `"or"`},
		{"filter unknown property", "/v1.0/auditLogs/signIns?%24filter=riskState%20eq%20'none'", 400, "Request_UnsupportedQuery", "'riskState' of resource 'signIn'"},
		{"filter quoted date", "/v1.0/auditLogs/signIns?%24filter=createdDateTime%20ge%20'2026-10-27T15:04:05Z'", 400, "Request_UnsupportedQuery", "createdDateTime"},
		{"duplicate option", "/v1.0/users?%24top=5&%24top=6", 400, "BadRequest", "more than once"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, h, base+tc.path)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			e := decodeError(t, r)
			if e.Error.Code != tc.code || !strings.Contains(e.Error.Message, tc.msg) {
				t.Errorf("got %q %q, want %q containing %q", e.Error.Code, e.Error.Message, tc.code, tc.msg)
			}
			if e.Error.InnerError.RequestID == "" || e.Error.InnerError.RequestID != r.header.Get("request-id") {
				t.Errorf("innerError request-id %q, header %q", e.Error.InnerError.RequestID, r.header.Get("request-id"))
			}
			if e.Error.InnerError.Date == "" {
				t.Error("innerError has no date")
			}
		})
	}
}

func TestFilterVariantsAccepted(t *testing.T) {
	sim := newSim(t, nil)
	h := sim.Handler()
	for _, f := range []string{
		"activityDateTime ge 2026-10-27T15:04:05Z",
		"activityDateTime ge 2026-10-27T15:04:05.1234567Z",
		"activityDateTime ge 2026-10-27T16:04:05%2B01:00",
		"activityDateTime ge 2026-10-27",
		"activityDateTime ge 2026-10-27T15:04:05Z and activityDateTime le 2026-11-26T12:00:00Z",
		"(activityDateTime gt 2026-10-27T15:04:05Z) and activityDisplayName eq 'Add member to role'",
		"loggedByService eq 'Core Directory' and category eq 'RoleManagement' and result eq 'failure'",
		"activityDisplayName eq 'Update application – Certificates and secrets management '",
	} {
		r := get(t, h, base+"/v1.0/auditLogs/directoryAudits?%24filter="+strings.ReplaceAll(f, " ", "%20"))
		if r.status != 200 {
			t.Errorf("%q: status %d: %s", f, r.status, r.body)
		}
	}
	// status/errorCode and userId on sign-ins narrow the result.
	all := decodePage(t, get(t, h, base+"/v1.0/auditLogs/signIns?%24select=id,status"))
	ok := decodePage(t, get(t, h, base+"/v1.0/auditLogs/signIns?%24select=id,status&%24filter=status/errorCode%20eq%200"))
	if len(ok.Value) == 0 || len(ok.Value) >= len(all.Value) {
		t.Errorf("errorCode filter kept %d of %d", len(ok.Value), len(all.Value))
	}
	for _, raw := range ok.Value {
		if !strings.Contains(string(raw), `"errorCode":0`) {
			t.Errorf("filtered sign-in is not a success: %s", raw)
		}
	}
	fails := decodePage(t, get(t, h, base+"/v1.0/auditLogs/directoryAudits?%24filter=activityDisplayName%20eq%20'add%20member%20to%20role'%20and%20result%20eq%20'failure'"))
	if len(fails.Value) != 1 {
		t.Errorf("want the one failed 'Add member to role', got %d", len(fails.Value))
	}
}

func TestDeny(t *testing.T) {
	premium := "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
	cases := []struct {
		deny, path, code string
	}{
		{graphsim.SourceSignIns, qSignIns, premium},
		{graphsim.SourceSignInActivity, qUsers, premium},
		{graphsim.SourceUserRegistrationDetails, qRegistrations, premium},
		{graphsim.SourceDirectoryAudits, qAudits, "Authentication_MSGraphPermissionMissing"},
		{graphsim.SourceConditionalAccess, qPolicies, "AccessDenied"},
		{graphsim.SourceConditionalAccess, qLocations, "AccessDenied"},
		{graphsim.SourceServicePrincipals, qSPs, "Authorization_RequestDenied"},
		{graphsim.SourceApplications, qApps, "Authorization_RequestDenied"},
		{graphsim.SourceAppRoleAssignedTo, "", "Authorization_RequestDenied"},
		{graphsim.SourceSubscribedSkus, qSkus, "Authorization_RequestDenied"},
		{graphsim.SourceOrganization, qOrganization, "Authorization_RequestDenied"},
		{graphsim.SourceUsers, qUsersNoSIA, "Authorization_RequestDenied"},
	}
	for _, tc := range cases {
		t.Run(tc.deny+tc.path, func(t *testing.T) {
			sim := newSim(t, &graphsim.Options{Deny: []string{tc.deny}})
			h := sim.Handler()
			path := tc.path
			if path == "" {
				path = "/v1.0/servicePrincipals/" + graphSPID(t, h) + "/appRoleAssignedTo"
			}
			r := get(t, h, base+path)
			if r.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403: %s", r.status, r.body)
			}
			if e := decodeError(t, r); e.Error.Code != tc.code {
				t.Errorf("code %q, want %q (%s)", e.Error.Code, tc.code, e.Error.Message)
			}
		})
	}
	// signInActivity denied: users without it still work.
	sim := newSim(t, &graphsim.Options{Deny: []string{graphsim.SourceSignInActivity}})
	if r := get(t, sim.Handler(), base+qUsersNoSIA); r.status != 200 {
		t.Errorf("users without signInActivity: status %d", r.status)
	}
	if _, err := graphsim.New(&graphsim.Options{Scenario: apt29.Scenario(), Deny: []string{"mail"}}); err == nil {
		t.Error("unknown Deny name accepted")
	}
}

func graphSPID(t testing.TB, h http.Handler) string {
	t.Helper()
	p := decodePage(t, get(t, h, base+"/v1.0/servicePrincipals?%24select=id,appId"))
	for _, raw := range p.Value {
		var v struct{ ID, AppID string }
		_ = json.Unmarshal(raw, &v)
		if v.AppID == "00000003-0000-0000-c000-000000000000" {
			return v.ID
		}
	}
	t.Fatal("no Microsoft Graph service principal")
	return ""
}

func TestNotSimulatedAndMethods(t *testing.T) {
	sim := newSim(t, nil)
	h := sim.Handler()
	for _, p := range []string{"/v1.0/me", "/beta/users", "/v1.0/users/abc", "/v1.0/groups/abc/members", "/", "/v1.0/servicePrincipals/x/appRoleAssignments"} {
		r := get(t, h, base+p)
		if r.status != http.StatusNotImplemented {
			t.Errorf("%s: status %d, want 501", p, r.status)
			continue
		}
		if e := decodeError(t, r); !strings.HasPrefix(e.Error.Message, "graphsim: not simulated: GET ") {
			t.Errorf("%s: message %q", p, e.Error.Message)
		}
	}
	for _, m := range []string{http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodPut} {
		r := do(t, h, m, base+"/v1.0/users")
		if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET" {
			t.Errorf("%s /users: status %d Allow %q", m, r.status, r.header.Get("Allow"))
		}
	}
	if got := len(sim.Routes()); got != 20 {
		t.Errorf("%d routes, want the 19 the scanner reads and /groups (doctor)", got)
	}
	st := sim.Stats()
	if st.Requests["(not simulated)"] != 6 || st.Status[405] != 4 || st.Total != 10 {
		t.Errorf("stats %+v", st)
	}
}

func TestRequestIDs(t *testing.T) {
	sim := newSim(t, nil)
	r := get(t, sim.Handler(), base+qOrganization)
	if r.header.Get("request-id") == "" || r.header.Get("client-request-id") != r.header.Get("request-id") {
		t.Errorf("headers %v", r.header)
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("content type %q", r.header.Get("Content-Type"))
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, base+"/v1.0/nothing", nil)
	req.Header.Set("client-request-id", "c0ffee00-0000-4000-8000-000000000001")
	sim.Handler().ServeHTTP(rec, req)
	if got := rec.Header().Get("client-request-id"); got != "c0ffee00-0000-4000-8000-000000000001" {
		t.Errorf("client-request-id not echoed: %q", got)
	}
	if !strings.Contains(rec.Body.String(), `"client-request-id":"c0ffee00-0000-4000-8000-000000000001"`) {
		t.Errorf("error body does not carry the client request id: %s", rec.Body)
	}
}

func TestStatsRoute(t *testing.T) {
	sim := newSim(t, nil)
	h := sim.Handler()
	get(t, h, base+"/v1.0/users")
	get(t, h, base+"/v1.0/users")
	r := get(t, h, base+graphsim.StatsPath)
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	var st graphsim.Stats
	if err := json.Unmarshal(r.body, &st); err != nil {
		t.Fatal(err)
	}
	if st.Total != 2 || st.Requests["/users"] != 2 || st.Items["/users"] == 0 {
		t.Errorf("stats %+v: want the two /users requests, and the stats request itself not counted", st)
	}
}
