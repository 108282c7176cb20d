package graphsim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
)

// testNow is the scenario clock of every test: goldens are stable.
var testNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// base is the URL the tests address; the path prefix catches absolute-URL
// bugs in nextLinks.
const base = "http://graph.test/tenant-a/graph"

func newSim(t testing.TB, o *graphsim.Options) *graphsim.Server {
	t.Helper()
	if o == nil {
		o = &graphsim.Options{}
	}
	if o.Scenario == nil {
		o.Scenario = apt29.Scenario() // the emulator's tests use its data as their fixture
	}
	if o.Now.IsZero() {
		o.Now = testNow
	}
	s, err := graphsim.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// get sends GET url (absolute) to the handler.
func get(t testing.TB, h http.Handler, url string) response {
	t.Helper()
	return do(t, h, http.MethodGet, url)
}

func do(t testing.TB, h http.Handler, method, url string) response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, url, nil))
	res := rec.Result()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

type page struct {
	Context  string            `json:"@odata.context"`
	NextLink string            `json:"@odata.nextLink"`
	Value    []json.RawMessage `json:"value"`
}

type graphError struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			Date            string `json:"date"`
			RequestID       string `json:"request-id"`
			ClientRequestID string `json:"client-request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

func decodePage(t testing.TB, r response) page {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var p page
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("decode page: %v\n%s", err, r.body)
	}
	return p
}

func decodeError(t testing.TB, r response) graphError {
	t.Helper()
	var e graphError
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("decode error body: %v\n%s", err, r.body)
	}
	return e
}

// collect follows nextLinks from url and returns every item and the page
// sizes.
func collect(t testing.TB, h http.Handler, url string) (items []json.RawMessage, sizes []int) {
	t.Helper()
	for n := 0; url != ""; n++ {
		if n > 100000 {
			t.Fatal("too many pages")
		}
		if !strings.HasPrefix(url, base+"/v1.0/") {
			t.Fatalf("nextLink %q does not point back to the simulator under %s", url, base)
		}
		p := decodePage(t, get(t, h, url))
		items = append(items, p.Value...)
		sizes = append(sizes, len(p.Value))
		url = p.NextLink
	}
	return items, sizes
}

func ids(t testing.TB, items []json.RawMessage) []string {
	t.Helper()
	out := make([]string, len(items))
	for i, it := range items {
		var v struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(it, &v); err != nil {
			t.Fatal(err)
		}
		out[i] = v.ID
	}
	return out
}

// The scanner's requests, as in the brief.
const (
	qOrganization  = "/v1.0/organization?%24select=id,displayName"
	qSkus          = "/v1.0/subscribedSkus?%24select=skuId,skuPartNumber,servicePlans"
	qUsers         = "/v1.0/users?%24select=id,userPrincipalName,displayName,userType,accountEnabled,createdDateTime,assignedLicenses,signInActivity&%24top=500"
	qUsersNoSIA    = "/v1.0/users?%24select=id,userPrincipalName,displayName,userType,accountEnabled,createdDateTime,assignedLicenses&%24top=999"
	qRegistrations = "/v1.0/reports/authenticationMethods/userRegistrationDetails?%24select=id,userPrincipalName,userDisplayName,userType,isAdmin,isMfaRegistered,isMfaCapable,methodsRegistered"
	qSPs           = "/v1.0/servicePrincipals?%24select=id,appId,displayName,appOwnerOrganizationId,servicePrincipalType,accountEnabled,keyCredentials,passwordCredentials,replyUrls,appRoles&%24top=999"
	qApps          = "/v1.0/applications?%24select=id,appId,displayName,keyCredentials,passwordCredentials,web,spa,publicClient&%24top=999"
	qGrantsSelect  = "?%24select=id,appRoleId,principalId,principalType,principalDisplayName,resourceId,resourceDisplayName,createdDateTime&%24top=999"
	qAudits        = "/v1.0/auditLogs/directoryAudits?%24filter=activityDateTime%20ge%202026-10-27T12:00:00Z&%24top=999"
	qSignIns       = "/v1.0/auditLogs/signIns?%24filter=createdDateTime%20ge%202026-10-27T12:00:00Z&%24top=1000&%24select=id,createdDateTime,userId,userPrincipalName,appId,appDisplayName,ipAddress,status"
	qPolicies      = "/v1.0/identity/conditionalAccess/policies?%24select=id,displayName,state,conditions"
	qLocations     = "/v1.0/identity/conditionalAccess/namedLocations"
)

// tenantData is every object a tenant serves, by route.
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
