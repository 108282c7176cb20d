package graph

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/tenantwatch/tenantwatch/shared/graph/internal/typednull"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
)

// pageCodec decodes one bulk read's pages both ways: as the SDK path did
// (sdkref_internal_test.go) and as decode.go does.
type pageCodec struct {
	name string
	sdk  func(body []byte) (pageResult, error)
	lean func(body []byte) (pageResult, error)
}

// leanPage decodes body as readPages does.
func leanPage[T any](body []byte, delta bool, item func(*dec) (T, bool, error)) (pageResult, error) {
	d := newDec()
	p, err := scanPage(d, body, delta)
	if err != nil {
		return pageResult{}, err
	}
	if p.null {
		return pageResult{Nil: true}, nil
	}
	items, err := decodeValue(d, p.value, nil, item)
	if err != nil {
		return pageResult{}, err
	}
	res := pageResult{Next: p.next, Delta: p.delta}
	if len(items) > 0 {
		res.Items = items
	}
	return res, nil
}

var codecs = []pageCodec{
	{"users",
		func(b []byte) (pageResult, error) {
			return sdkList(b, models.CreateUserCollectionResponseFromDiscriminatorValue, userFromGraph)
		},
		func(b []byte) (pageResult, error) { return leanPage(b, false, listItems((*dec).user)) }},
	{"signInActivity",
		func(b []byte) (pageResult, error) {
			return sdkList(b, models.CreateUserCollectionResponseFromDiscriminatorValue, signInActivityFromGraph)
		},
		func(b []byte) (pageResult, error) { return leanPage(b, false, listItems((*dec).signInActivity)) }},
	{"registrations",
		func(b []byte) (pageResult, error) {
			return sdkList(b, models.CreateUserRegistrationDetailsCollectionResponseFromDiscriminatorValue, registrationFromGraph)
		},
		func(b []byte) (pageResult, error) { return leanPage(b, false, listItems((*dec).registration)) }},
	{"servicePrincipals",
		func(b []byte) (pageResult, error) {
			return sdkList(b, models.CreateServicePrincipalCollectionResponseFromDiscriminatorValue, servicePrincipalFromGraph)
		},
		func(b []byte) (pageResult, error) { return leanPage(b, false, listItems((*dec).servicePrincipal)) }},
	{"applications",
		func(b []byte) (pageResult, error) {
			return sdkList(b, models.CreateApplicationCollectionResponseFromDiscriminatorValue, applicationFromGraph)
		},
		func(b []byte) (pageResult, error) { return leanPage(b, false, listItems((*dec).application)) }},
	{"appRoleAssignedTo",
		func(b []byte) (pageResult, error) {
			return sdkList(b, models.CreateAppRoleAssignmentCollectionResponseFromDiscriminatorValue, appRoleAssignmentFromGraph)
		},
		func(b []byte) (pageResult, error) { return leanPage(b, false, listItems((*dec).appRoleAssignment)) }},
	{"directoryAudits",
		func(b []byte) (pageResult, error) {
			return sdkList(b, models.CreateDirectoryAuditCollectionResponseFromDiscriminatorValue, auditFromGraph)
		},
		func(b []byte) (pageResult, error) { return leanPage(b, false, listItems((*dec).audit)) }},
	{"signIns",
		func(b []byte) (pageResult, error) {
			return sdkList(b, models.CreateSignInCollectionResponseFromDiscriminatorValue, signInFromGraph)
		},
		func(b []byte) (pageResult, error) { return leanPage(b, false, listItems((*dec).signIn)) }},
	{"devices",
		func(b []byte) (pageResult, error) {
			return sdkList(b, models.CreateDeviceCollectionResponseFromDiscriminatorValue, deviceFromGraph)
		},
		func(b []byte) (pageResult, error) { return leanPage(b, false, listItems((*dec).device)) }},
	{"oauth2PermissionGrants",
		func(b []byte) (pageResult, error) {
			return sdkList(b, models.CreateOAuth2PermissionGrantCollectionResponseFromDiscriminatorValue, delegatedGrantFromGraph)
		},
		func(b []byte) (pageResult, error) { return leanPage(b, false, listItems((*dec).delegatedGrant)) }},
	{"transitiveMembers",
		func(b []byte) (pageResult, error) {
			return sdkList(b, models.CreateUserCollectionResponseFromDiscriminatorValue, memberIDFromGraph)
		},
		func(b []byte) (pageResult, error) { return leanPage(b, false, listItems((*dec).memberID)) }},
	{"usersDelta",
		func(b []byte) (pageResult, error) {
			return sdkDelta(b, models.CreateUserFromDiscriminatorValue, fields(userFields), userFromGraph)
		},
		func(b []byte) (pageResult, error) {
			return leanPage(b, true, deltaItems(fields(userFields), usersDelta.read))
		}},
	{"servicePrincipalsDelta",
		func(b []byte) (pageResult, error) {
			return sdkDelta(b, models.CreateServicePrincipalFromDiscriminatorValue, fields(servicePrincipalFields), servicePrincipalFromGraph)
		},
		func(b []byte) (pageResult, error) {
			return leanPage(b, true, deltaItems(fields(servicePrincipalFields), servicePrincipalsDelta.read))
		}},
	{"applicationsDelta",
		func(b []byte) (pageResult, error) {
			return sdkDelta(b, models.CreateApplicationFromDiscriminatorValue, fields(applicationFields), applicationFromGraph)
		},
		func(b []byte) (pageResult, error) {
			return leanPage(b, true, deltaItems(fields(applicationFields), applicationsDelta.read))
		}},
}

func codec(t testing.TB, name string) pageCodec {
	for _, c := range codecs {
		if c.name == name {
			return c
		}
	}
	t.Fatalf("no codec %q", name)
	return pageCodec{}
}

// wire is body as the SDK path read it: through typednull.
func wire(t testing.TB, body []byte) []byte {
	b, err := io.ReadAll(typednull.NewReader(io.NopCloser(bytes.NewReader(body))))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// compare decodes body both ways. Where the SDK decodes it, decode.go must
// decode it to the same values (reflect.DeepEqual: nil and empty slices,
// time locations and all); where the SDK fails, decode.go may fail or
// not. It returns both errors.
func compare(t *testing.T, c pageCodec, body []byte) (sdkErr, leanErr error) {
	t.Helper()
	want, sdkErr := c.sdk(body)
	got, leanErr := c.lean(body)
	if sdkErr != nil {
		return sdkErr, leanErr
	}
	if leanErr != nil {
		t.Errorf("%s: the SDK decodes the page, decode.go fails: %v", c.name, leanErr)
		return sdkErr, leanErr
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: decoded differently (-SDK +decode.go):\n%s", c.name, cmp.Diff(want, got))
	}
	return nil, nil
}

// TestDecodeMatchesSDK: every testdata page, and a page of every collection
// the simulated tenant serves, decodes to the same values as through the
// SDK; the bulk reads' own pages decode without error, and have items.
func TestDecodeMatchesSDK(t *testing.T) {
	t.Parallel()
	own := map[string][]string{
		"users":                  {"users.json", "users-signin-p1.json", "users-signin-p2.json", "users-signin-p3.json"},
		"signInActivity":         {"users-signin-p1.json", "users-signin-p2.json", "users-signin-p3.json"},
		"registrations":          {"registrations.json"},
		"servicePrincipals":      {"servicePrincipals.json"},
		"applications":           {"applications.json"},
		"appRoleAssignedTo":      {"appRoleAssignedTo.json"},
		"directoryAudits":        {"directoryAudits-p1.json", "directoryAudits-p2.json"},
		"signIns":                {"signIns.json", "signIns-beta-p1.json", "signIns-beta-p2.json"},
		"devices":                {"devices.json"},
		"oauth2PermissionGrants": {"oauth2PermissionGrants.json", "oauth2PermissionGrants-p2.json"},
		"transitiveMembers":      {"transitiveMembers-users.json"},
		"usersDelta":             {"users-delta-p2.json", "users-delta-p3.json", "users-delta-changes.json"},
		"servicePrincipalsDelta": {"servicePrincipals-delta-changes.json"},
		"applicationsDelta":      {"applications-delta-changes.json"},
	}
	pages := map[string][]byte{}
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("testdata: %v (%d files)", err, len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pages[filepath.Base(f)] = wire(t, bytes.ReplaceAll(b, []byte("{{base}}"), []byte("https://graph.microsoft.com/v1.0")))
	}
	for name, b := range simPages(t) {
		pages[name] = b
		c, _, _ := strings.Cut(name, " ")
		own[c] = append(own[c], name)
	}
	withItems := map[string]int{}
	for _, c := range codecs {
		mine := map[string]bool{}
		for _, f := range own[c.name] {
			if _, ok := pages[f]; !ok {
				t.Fatalf("%s: no page %s", c.name, f)
			}
			mine[f] = true
		}
		if len(mine) == 0 {
			t.Fatalf("%s: no page of its own", c.name)
		}
		for name, b := range pages {
			t.Run(c.name+"/"+name, func(t *testing.T) {
				sdkErr, _ := compare(t, c, b)
				if !mine[name] {
					return
				}
				if sdkErr != nil {
					t.Fatalf("the SDK fails on its own page: %v", sdkErr)
				}
				if got, _ := c.lean(b); got.Items != nil {
					withItems[c.name]++
				}
			})
		}
		if withItems[c.name] == 0 {
			t.Errorf("%s: no page of its own has items", c.name)
		}
	}
}

// simPages returns the first page of each collection the simulated tenant
// serves to the bulk reads, keyed "<codec> <route>".
func simPages(t *testing.T) map[string][]byte {
	t.Helper()
	s, err := graphsim.New(&graphsim.Options{Users: 40, Scenario: apt29.Scenario(), Now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	base := srv.URL + "/graph/v1.0"
	get := func(path string) []byte {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v: %s", path, resp.StatusCode, err, b)
		}
		return wire(t, b)
	}
	// The resource service principal of the app-role grants: the scenario's
	// Microsoft Graph service principal.
	var sps struct {
		Value []struct{ ID, AppID string }
	}
	if err := json.Unmarshal(get("/servicePrincipals?$select=id,appId"), &sps); err != nil {
		t.Fatal(err)
	}
	graphSP := ""
	for _, sp := range sps.Value {
		if sp.AppID == "00000003-0000-0000-c000-000000000000" {
			graphSP = sp.ID
		}
	}
	if graphSP == "" {
		t.Fatal("the simulated tenant has no Microsoft Graph service principal")
	}
	sel := func(list string) string { return "$select=" + list }
	routes := map[string]string{
		"users":                  "/users?" + sel(userSignInFields) + "&$top=500",
		"signInActivity":         "/users?" + sel(signInActivityFields) + "&$top=500",
		"registrations":          "/reports/authenticationMethods/userRegistrationDetails?" + sel(registrationFields),
		"servicePrincipals":      "/servicePrincipals?" + sel(servicePrincipalFields),
		"applications":           "/applications?" + sel(applicationFields),
		"appRoleAssignedTo":      "/servicePrincipals/" + graphSP + "/appRoleAssignedTo?" + sel(appRoleAssignmentFields),
		"directoryAudits":        "/auditLogs/directoryAudits?" + sel(auditFields),
		"signIns":                "/auditLogs/signIns?" + sel(signInFields),
		"devices":                "/devices?" + sel(deviceFields) + "&$expand=" + deviceRegisteredOwners + "&$top=999",
		"oauth2PermissionGrants": "/oauth2PermissionGrants",
		"usersDelta":             "/users/delta?" + sel(userFields),
		"servicePrincipalsDelta": "/servicePrincipals/delta?" + sel(servicePrincipalFields),
		"applicationsDelta":      "/applications/delta?" + sel(applicationFields),
	}
	out := map[string][]byte{}
	// The beta sign-in log, under the same root: the signIns codec's too.
	out["signIns /beta/auditLogs/signIns"] = wire(t, getURL(t, srv.URL+"/graph/beta/auditLogs/signIns?"+sel(signInBetaFields)))
	// A CA group's transitive user members: the first group the
	// scenario's policies name.
	if g := caGroup(t, get("/identity/conditionalAccess/policies")); g != "" {
		out["transitiveMembers /groups/"+g+"/transitiveMembers"] = get("/groups/" + g + "/transitiveMembers/microsoft.graph.user?$select=id&$top=999")
	}
	for c, path := range routes {
		b := get(path)
		out[c+" "+path] = b
	}
	return out
}

// TestDecodeEdges: the shapes the SDK path handled in its own ways, page by
// page: decode.go gives the SDK's values, and fails, or not, where noted.
func TestDecodeEdges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, codec, body string
		sdkErr, leanErr   bool // the page fails that way
	}{
		{name: "nulls and non-objects", codec: "users", body: `{"@odata.count":3,"value":[` +
			`{"id":"a","createdDateTime":null,"userType":"Member","accountEnabled":null,"signInActivity":"x",` +
			`"assignedLicenses":[{"skuId":"6FD2C87F-B296-42F0-B197-1E91E994B900","disabledPlans":[null,"{6fd2c87f-b296-42f0-b197-1e91e994b900}"]},5,{"disabledPlans":[]}]},` +
			`{"id":"b","createdDateTime":"0001-01-01T00:00:00Z","signInActivity":{"lastSuccessfulSignInDateTime":"2024-01-02T03:04:05.1234567+02:00"}},` +
			`"x",{},{"assignedLicenses":[],"signInActivity":null}]}`},
		{name: "a date without a zone", codec: "users", body: `{"value":[{"id":"a","createdDateTime":"2024-01-02T03:04:05"}]}`},
		{name: "strings", codec: "users", body: `{"value":[{"id":"\u0041\ud83d\ude00\ud800x\u00e9\/\"","displayName":"caf` + "\xc3\xa9 \xff\xfe" + `","userPrincipalName":"\\u0041"}]}`},
		{name: "escaped names", codec: "users", body: `{"val\u0075e":[{"\u0069d":"a"}],"@odata.next\u004cink":"https://graph.microsoft.com/v1.0/users?$skiptoken=x"}`},
		{name: "no value, a next link", codec: "users", body: `{"@odata.nextLink":"https://graph.microsoft.com/v1.0/users?$skiptoken=x"}`},
		{name: "null next link", codec: "users", body: `{"value":[],"@odata.nextLink":null}`},
		{name: "null page", codec: "users", body: `null`},
		{name: "array page", codec: "users", body: `[{"id":"a"}]`},
		{name: "empty object", codec: "users", body: `{}`},
		{name: "enums and collections", codec: "registrations", body: `{"value":[` +
			`{"id":"a","userType":"Member","methodsRegistered":[]},{"id":"b","userType":"guest","methodsRegistered":null},` +
			`{"id":"c","userType":"unknownFutureValue","methodsRegistered":["email",null],"isAdmin":true,"isMfaCapable":false}]}`},
		{name: "credentials in any order", codec: "servicePrincipals", body: `{"value":[{"id":"a",` +
			`"passwordCredentials":[{"keyId":"D2C8B3A0-BA57-4F2B-8C96-4B5B3F1F0E7E","displayName":"p","type":"ignored","usage":"ignored"}],` +
			`"keyCredentials":[null,{"keyId":null,"type":"AsymmetricX509Cert","usage":"Verify","startDateTime":"2024-01-01T00:00:00Z","endDateTime":"0001-01-01T00:00:00Z"}],` +
			`"replyUrls":[],"appRoles":[null,{"id":null,"allowedMemberTypes":null},{"id":"00000000-0000-0000-0000-000000000001","allowedMemberTypes":[]}],` +
			`"appOwnerOrganizationId":"F8CDEF31-A31E-4B4A-93E4-5F571E91255A","accountEnabled":false},` +
			`{"id":"b","replyUrls":["a",null,"a"]}]}`},
		{name: "redirect URIs", codec: "applications", body: `{"value":[{"id":"a",` +
			`"publicClient":{"redirectUris":["p","w"]},"spa":{"redirectUris":[null,"s"]},"web":{"redirectUris":["w","w"]}},` +
			`{"id":"b","web":null,"spa":{},"publicClient":{"redirectUris":null}},{"id":"c","web":"x"}]}`},
		{name: "audit shapes", codec: "directoryAudits", body: `{"value":[{"id":"a","result":"Success",` +
			`"initiatedBy":{"user":null,"app":{"appId":"x","servicePrincipalId":"y","displayName":"App"}},` +
			`"targetResources":[null,{"id":"t1","Type":"User"},{"id":"t2","type":null,"Type":"Group"},{"id":"t3","type":"Role","Type":"User"},` +
			`{"id":"t4","TYPE":5},{"id":"t5","modifiedProperties":[null,{"displayName":"p","oldValue":null,"newValue":"[\"x\"]"}]}],` +
			`"additionalDetails":[null,{"key":"k","value":null}]},` +
			`{"id":"b","result":"failure","initiatedBy":{"user":{"id":"u","displayName":"","ipAddress":"1.2.3.4"},"app":{"displayName":"App"}}},` +
			`{"id":"c","initiatedBy":{"user":"x","app":[]},"targetResources":[]}]}`},
		{name: "sign-in status", codec: "signIns", body: `{"value":[{"id":"a","status":{"errorCode":50126.0}},` +
			`{"id":"b","status":{"errorCode":null}},{"id":"c","status":"x"},{"id":"d","status":{}},{"id":"e"},{"id":"f","status":{"errorCode":-2147483648}}]}`},
		{name: "removed", codec: "usersDelta", body: `{"value":[null,{"id":"a","@removed":null},{"id":"b","@removed":{"reason":"deleted"}},` +
			`{"id":"c","displayName":null,"assignedLicenses":[]},"x",{}],"@odata.deltaLink":"https://graph.microsoft.com/v1.0/users/delta?$deltatoken=x"}`},
		{name: "no delta link", codec: "applicationsDelta", body: `{"value":[{"id":"a","web":{"redirectUris":["x"]}}]}`},

		// The SDK's page iterator panics on a null item; decode.go skips it.
		{name: "a null item", codec: "signIns", body: `{"value":[null,{"id":"a"}]}`, sdkErr: true},
		// A property no conversion reads is not type-checked.
		{name: "an unread property of the wrong type", codec: "users",
			body: `{"value":[{"id":"a","signInActivity":{"lastSignInDateTime":"garbage"},"mail":5}]}`, sdkErr: true},

		{name: "value not an array", codec: "users", body: `{"value":{"id":"a"}}`, sdkErr: true, leanErr: true},
		{name: "next link not a string", codec: "users", body: `{"value":[],"@odata.nextLink":5}`, sdkErr: true, leanErr: true},
		{name: "count not an integer", codec: "users", body: `{"value":[],"@odata.count":1.5}`, sdkErr: true, leanErr: true},
		{name: "delta link not a string", codec: "usersDelta", body: `{"value":[],"@odata.deltaLink":true}`, sdkErr: true, leanErr: true},
		{name: "malformed date", codec: "users", body: `{"value":[{"createdDateTime":"yesterday"}]}`, sdkErr: true, leanErr: true},
		{name: "malformed GUID", codec: "users", body: `{"value":[{"assignedLicenses":[{"skuId":"x"}]}]}`, sdkErr: true, leanErr: true},
		{name: "empty GUID element", codec: "users", body: `{"value":[{"assignedLicenses":[{"disabledPlans":[""]}]}]}`, sdkErr: true, leanErr: true},
		{name: "boolean as a string", codec: "users", body: `{"value":[{"accountEnabled":"true"}]}`, sdkErr: true, leanErr: true},
		{name: "string as a number", codec: "users", body: `{"value":[{"id":7}]}`, sdkErr: true, leanErr: true},
		{name: "collection as an object", codec: "users", body: `{"value":[{"assignedLicenses":{}}]}`, sdkErr: true, leanErr: true},
		{name: "string collection with a number", codec: "registrations", body: `{"value":[{"methodsRegistered":[1]}]}`, sdkErr: true, leanErr: true},
		{name: "fractional error code", codec: "signIns", body: `{"value":[{"status":{"errorCode":1.5}}]}`, sdkErr: true, leanErr: true},
		{name: "error code out of range", codec: "signIns", body: `{"value":[{"status":{"errorCode":3e9}}]}`, sdkErr: true, leanErr: true},
		{name: "not JSON", codec: "users", body: `{"value":[}`, sdkErr: true, leanErr: true},
		{name: "type not a string", codec: "directoryAudits", body: `{"value":[{"targetResources":[{"type":1}]}]}`, sdkErr: true, leanErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sdkErr, leanErr := compare(t, codec(t, tc.codec), []byte(tc.body))
			if (sdkErr != nil) != tc.sdkErr {
				t.Errorf("SDK error %v, want one: %v", sdkErr, tc.sdkErr)
			}
			if (leanErr != nil) != tc.leanErr {
				t.Errorf("decode.go error %v, want one: %v", leanErr, tc.leanErr)
			}
		})
	}
}

// FuzzDecodeMatchesSDK: wherever the SDK decodes a page (outside input),
// decode.go decodes it to the same values, for every bulk read. Pages whose
// objects name a member twice (also in another case) are skipped: the SDK
// keeps the last of the same name, and picks among "Type" spellings in map
// order.
func FuzzDecodeMatchesSDK(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for i, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), b)
	}
	f.Add(uint8(0), []byte(`{"value":[{"id":"a","assignedLicenses":[null,{"skuId":null}],"signInActivity":{}}]}`))
	f.Add(uint8(6), []byte(`{"value":[{"targetResources":[{"Type":"User"}],"initiatedBy":{"user":{}}}]}`))
	f.Add(uint8(8), []byte(`{"value":[{"id":null,"@removed":null},"x"],"@odata.deltaLink":"l"}`))
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		if repeatsNames(body) {
			return
		}
		compare(t, codecs[int(which)%len(codecs)], body)
	})
}

// repeatsNames reports whether an object of the JSON body names a member
// twice, ignoring case (or body is not JSON).
func repeatsNames(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	var walk func() bool // reads one value; true on a repeat
	walk = func() bool {
		tok, err := dec.Token()
		if err != nil {
			return true
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return true
				}
				name := strings.ToLower(k.(string))
				if seen[name] {
					return true
				}
				seen[name] = true
				if walk() {
					return true
				}
			}
			_, err = dec.Token()
			return err != nil
		case json.Delim('['):
			for dec.More() {
				if walk() {
					return true
				}
			}
			_, err = dec.Token()
			return err != nil
		}
		return false
	}
	return walk()
}

// TestRepeatsNames holds the fuzz target's filter to what it says.
func TestRepeatsNames(t *testing.T) {
	for body, want := range map[string]bool{
		`{"a":1,"b":{"a":2}}`:           false,
		`{"a":1,"A":2}`:                 true,
		`[{"x":[{"type":1,"Type":2}]}]`: true,
		`{"a":{"b":1,"b":2}}`:           true,
		`not json`:                      true,
	} {
		if got := repeatsNames([]byte(body)); got != want {
			t.Errorf("repeatsNames(%s) = %v, want %v", body, got, want)
		}
	}
}

// getURL GETs url and returns the body, failing the test on anything but
// 200.
func getURL(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v: %s", url, resp.StatusCode, err, b)
	}
	return b
}

// caGroup returns the first group id a policy of the page includes or
// excludes, "" when none does.
func caGroup(t *testing.T, page []byte) string {
	t.Helper()
	var doc struct {
		Value []struct {
			Conditions struct {
				Users struct{ IncludeGroups, ExcludeGroups []string }
			}
		}
	}
	if err := json.Unmarshal(page, &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range doc.Value {
		for _, g := range append(p.Conditions.Users.IncludeGroups, p.Conditions.Users.ExcludeGroups...) {
			return g
		}
	}
	return ""
}
