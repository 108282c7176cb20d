package graph_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/graph"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// since is deliberately not UTC and not whole seconds: the filter must say
// 2024-12-20T08:30:00Z.
var since = time.Date(2024, 12, 20, 9, 30, 0, 987654321, time.FixedZone("CET", 3600))

const (
	userSelect   = "id,userPrincipalName,displayName,userType,accountEnabled,createdDateTime,assignedLicenses"
	graphSPID    = "8e881353-1735-45af-af21-ee1344582a4d"
	signInSelect = "id,createdDateTime,userId,userPrincipalName,appId,appDisplayName,ipAddress,status,clientAppUsed,resourceId,resourceDisplayName,location,deviceDetail,isInteractive"
	caGroupID    = "eedad040-3722-4bcb-bde5-bc7c857f4983"
	appObjectID  = "bcd7c908-1c4d-4d48-93ee-ff38349a75c8"
	auditsSelect = "id,activityDateTime,activityDisplayName,category,loggedByService,operationType,result,resultReason,correlationId,initiatedBy,targetResources,additionalDetails"
)

// TestReads runs every read against canned Graph pages, checks the exact
// request the server saw (path under the prefix, $select, $top, $filter and
// nothing else), that every next link was followed, and the converted
// values against golden files.
func TestReads(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files []string          // pages, in order
		path  string            // after /v1.0 (or /beta, with beta)
		beta  bool              // a read of Graph's beta endpoint
		query map[string]string // exact query of the first request
		read  func(ctx context.Context, c *graph.Client) (any, error)
	}{
		{
			name:  "organization",
			files: []string{"organization.json"},
			path:  "/organization",
			query: map[string]string{"$select": "id,displayName"},
			read: func(ctx context.Context, c *graph.Client) (any, error) {
				return c.Organization(ctx)
			},
		},
		{
			name:  "subscribedSkus",
			files: []string{"subscribedSkus.json"},
			path:  "/subscribedSkus",
			query: map[string]string{"$select": "skuId,skuPartNumber,servicePlans"},
			read: func(ctx context.Context, c *graph.Client) (any, error) {
				return c.SubscribedSKUs(ctx)
			},
		},
		{
			name:  "users",
			files: []string{"users.json"},
			path:  "/users",
			query: map[string]string{"$select": userSelect, "$top": "999"},
			read: func(ctx context.Context, c *graph.Client) (any, error) {
				return collect(func(fn func(tenant.User) error) error { return c.Users(ctx, false, fn) })
			},
		},
		{
			name:  "users-signInActivity",
			files: []string{"users-signin-p1.json", "users-signin-p2.json", "users-signin-p3.json"},
			path:  "/users",
			query: map[string]string{"$select": userSelect + ",signInActivity", "$top": "500"},
			read: func(ctx context.Context, c *graph.Client) (any, error) {
				return collect(func(fn func(tenant.User) error) error { return c.Users(ctx, true, fn) })
			},
		},
		{
			name:  "registrations",
			files: []string{"registrations.json"},
			path:  "/reports/authenticationMethods/userRegistrationDetails",
			query: map[string]string{"$select": "id,userPrincipalName,userDisplayName,userType,isAdmin,isMfaRegistered,isMfaCapable,methodsRegistered", "$top": "999"},
			read: func(ctx context.Context, c *graph.Client) (any, error) {
				return collect(func(fn func(tenant.Registration) error) error { return c.Registrations(ctx, fn) })
			},
		},
		{
			name:  "servicePrincipals",
			files: []string{"servicePrincipals.json"},
			path:  "/servicePrincipals",
			query: map[string]string{
				"$select": "id,appId,displayName,appOwnerOrganizationId,servicePrincipalType,accountEnabled,keyCredentials,passwordCredentials,replyUrls,appRoles",
				"$top":    "999",
			},
			read: func(ctx context.Context, c *graph.Client) (any, error) {
				return collect(func(fn func(tenant.ServicePrincipal) error) error { return c.ServicePrincipals(ctx, fn) })
			},
		},
		{
			name:  "applications",
			files: []string{"applications.json"},
			path:  "/applications",
			query: map[string]string{"$select": "id,appId,displayName,keyCredentials,passwordCredentials,web,spa,publicClient", "$top": "999"},
			read: func(ctx context.Context, c *graph.Client) (any, error) {
				return collect(func(fn func(tenant.Application) error) error { return c.Applications(ctx, fn) })
			},
		},
		{
			name:  "appRoleAssignedTo",
			files: []string{"appRoleAssignedTo.json"},
			path:  "/servicePrincipals/" + graphSPID + "/appRoleAssignedTo",
			query: map[string]string{
				"$select": "id,appRoleId,principalId,principalType,principalDisplayName,resourceId,resourceDisplayName,createdDateTime",
				"$top":    "999",
			},
			read: func(ctx context.Context, c *graph.Client) (any, error) {
				return collect(func(fn func(tenant.AppRoleAssignment) error) error { return c.AppRoleAssignedTo(ctx, graphSPID, fn) })
			},
		},
		{
			name:  "directoryAudits",
			files: []string{"directoryAudits-p1.json", "directoryAudits-p2.json"},
			path:  "/auditLogs/directoryAudits",
			query: map[string]string{"$filter": "activityDateTime ge 2024-12-20T08:30:00Z", "$select": auditsSelect, "$top": "999"},
			read: func(ctx context.Context, c *graph.Client) (any, error) {
				return collect(func(fn func(tenant.AuditEvent) error) error { return c.DirectoryAudits(ctx, since, fn) })
			},
		},
		{
			name:  "signIns",
			files: []string{"signIns.json"},
			path:  "/auditLogs/signIns",
			query: map[string]string{
				"$filter": "createdDateTime ge 2024-12-20T08:30:00Z",
				"$select": signInSelect,
				"$top":    "1000",
			},
			read: func(ctx context.Context, c *graph.Client) (any, error) {
				return collect(func(fn func(tenant.SignIn) error) error { return c.SignIns(ctx, since, fn) })
			},
		},
		{
			name:  "signInsBeta",
			files: []string{"signIns-beta-p1.json", "signIns-beta-p2.json"},
			path:  "/auditLogs/signIns",
			beta:  true,
			query: map[string]string{
				"$filter": "createdDateTime ge 2024-12-20T08:30:00Z",
				"$select": signInSelect + ",authenticationProtocol,originalTransferMethod",
				"$top":    "1000",
			},
			read: func(ctx context.Context, c *graph.Client) (any, error) {
				return collect(func(fn func(tenant.SignIn) error) error { return c.SignInsBeta(ctx, since, fn) })
			},
		},
		{
			name:  "devices",
			files: []string{"devices.json"},
			path:  "/devices",
			query: map[string]string{
				"$select": "id,deviceId,displayName,operatingSystem,operatingSystemVersion,trustType,isManaged,isCompliant,accountEnabled,registrationDateTime,approximateLastSignInDateTime",
				"$expand": "registeredOwners($select=id)",
				"$top":    "999",
			},
			read: func(ctx context.Context, c *graph.Client) (any, error) {
				return collect(func(fn func(tenant.Device) error) error { return c.Devices(ctx, fn) })
			},
		},
		{
			name:  "oauth2PermissionGrants",
			files: []string{"oauth2PermissionGrants.json", "oauth2PermissionGrants-p2.json"},
			path:  "/oauth2PermissionGrants",
			query: map[string]string{},
			read: func(ctx context.Context, c *graph.Client) (any, error) {
				return collect(func(fn func(tenant.DelegatedGrant) error) error { return c.DelegatedGrants(ctx, fn) })
			},
		},
		{
			name:  "transitiveMembers",
			files: []string{"transitiveMembers-users.json"},
			path:  "/groups/" + caGroupID + "/transitiveMembers/microsoft.graph.user",
			query: map[string]string{"$select": "id", "$top": "999"},
			read: func(ctx context.Context, c *graph.Client) (any, error) {
				return collect(func(fn func(string) error) error { return c.GroupUserMembers(ctx, caGroupID, fn) })
			},
		},
		{
			name:  "authorizationPolicy",
			files: []string{"authorizationPolicy.json"},
			path:  "/policies/authorizationPolicy",
			query: map[string]string{"$select": "id,defaultUserRolePermissions"},
			read: func(ctx context.Context, c *graph.Client) (any, error) {
				return c.AuthorizationPolicy(ctx)
			},
		},
		{
			name:  "federatedIdentityCredentials",
			files: []string{"federatedIdentityCredentials.json"},
			path:  "/applications/" + appObjectID + "/federatedIdentityCredentials",
			query: map[string]string{"$select": "id,name,issuer,subject,audiences,description"},
			read: func(ctx context.Context, c *graph.Client) (any, error) {
				return c.FederatedCredentials(ctx, appObjectID)
			},
		},
		{
			name:  "caPolicies",
			files: []string{"caPolicies.json"},
			path:  "/identity/conditionalAccess/policies",
			query: map[string]string{"$select": "id,displayName,state,conditions,grantControls"},
			read: func(ctx context.Context, c *graph.Client) (any, error) {
				return c.CAPolicies(ctx)
			},
		},
		{
			name:  "namedLocations",
			files: []string{"namedLocations.json"},
			path:  "/identity/conditionalAccess/namedLocations",
			query: map[string]string{},
			read: func(ctx context.Context, c *graph.Client) (any, error) {
				return c.NamedLocations(ctx)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, pages(tc.files...))
			c := newClient(t, f, &graph.ClientOptions{UserAgent: "tenantwatch-test/1"})
			got, err := tc.read(t.Context(), c)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			reqs := f.requests()
			if len(reqs) != len(tc.files) {
				t.Fatalf("server saw %d requests, want %d (one per page)", len(reqs), len(tc.files))
			}
			first := reqs[0]
			version := "/v1.0"
			if tc.beta {
				version = "/beta"
			}
			if first.Method != http.MethodGet || first.Path != prefix+version+tc.path {
				t.Errorf("first request = %s %s, want GET %s", first.Method, first.Path, prefix+version+tc.path)
			}
			if diff := cmp.Diff(tc.query, flatQuery(t, first.Query)); diff != "" {
				t.Errorf("first request query (-want +got):\n%s", diff)
			}
			for i, r := range reqs[1:] {
				if r.Path != prefix+version+tc.path || r.Query.Get("$skiptoken") != strconv.Itoa(i+1) {
					t.Errorf("request %d = %s?%s, want the next link of page %d", i+1, r.Path, r.Query.Encode(), i)
				}
			}
			for i, r := range reqs {
				if h := r.Header.Get("Authorization"); h != "" {
					t.Errorf("request %d: Authorization %q sent with AuthNone", i, h)
				}
				if ua := r.Header.Get("User-Agent"); len(ua) < 18 || ua[:18] != "tenantwatch-test/1" {
					t.Errorf("request %d: User-Agent %q does not start with the configured one", i, ua)
				}
			}
			checkGolden(t, tc.name, got)
		})
	}
}

// TestNullsAndZeroDates pins the conversion rules the golden files show.
func TestNullsAndZeroDates(t *testing.T) {
	t.Parallel()
	f := newFake(t, pages("users-signin-p1.json", "users-signin-p2.json", "users-signin-p3.json"))
	c := newClient(t, f, nil)
	users, err := collect(func(fn func(tenant.User) error) error { return c.Users(t.Context(), true, fn) })
	if err != nil {
		t.Fatal(err)
	}
	byUPN := map[string]tenant.User{}
	for _, u := range users {
		byUPN[u.UPN] = u
	}
	want := map[string]time.Time{
		"AdeleV@contoso.com":       time.Date(2021, 6, 17, 16, 41, 33, 812721800, time.UTC),
		"svc-sync@contoso.com":     time.Date(2024, 5, 2, 11, 23, 45, 0, time.UTC), // null interactive date, recent successful one
		"dormant@contoso.com":      {},                                             // 0001-01-01T00:00:00Z
		"testaccount1@contoso.com": {},                                             // every field null
		"never@contoso.com":        {},                                             // no signInActivity
		"nullactivity@contoso.com": {},                                             // signInActivity: null
	}
	if len(byUPN) != len(want) {
		t.Fatalf("got %d users, want %d", len(byUPN), len(want))
	}
	for upn, w := range want {
		got := byUPN[upn].LastSuccessfulSignIn
		// == rather than Equal: the zero value must be time.Time{}, not a
		// parsed 0001-01-01 with a location.
		if got != w {
			t.Errorf("%s: LastSuccessfulSignIn = %#v, want %#v", upn, got, w)
		}
	}
	if got := byUPN["testaccount1@contoso.com"].Created; got != (time.Time{}) {
		t.Errorf("null createdDateTime = %v, want zero", got)
	}

	f3 := newFake(t, pages("signIns.json"))
	signIns, err := collect(func(fn func(tenant.SignIn) error) error {
		return newClient(t, f3, nil).SignIns(t.Context(), since, fn)
	})
	if err != nil {
		t.Fatal(err)
	}
	var codes []int
	for _, s := range signIns {
		codes = append(codes, s.ErrorCode)
	}
	// success, MFA enrolment interrupt, status: null (unknown, not success)
	if diff := cmp.Diff([]int{0, 50079, -1}, codes); diff != "" {
		t.Errorf("error codes (-want +got):\n%s", diff)
	}

	f2 := newFake(t, pages("servicePrincipals.json"))
	sps, err := collect(func(fn func(tenant.ServicePrincipal) error) error {
		return newClient(t, f2, nil).ServicePrincipals(t.Context(), fn)
	})
	if err != nil {
		t.Fatal(err)
	}
	legacy := sps[2]
	wantCred := tenant.Credential{Kind: tenant.PasswordCredential, KeyID: "0b6f1b43-6b3f-4c35-9d1e-2d6f7c1a9e01"}
	if diff := cmp.Diff([]tenant.Credential{wantCred}, legacy.Credentials); diff != "" {
		t.Errorf("credential with 0001-01-01 start and null end (-want +got):\n%s", diff)
	}
	if legacy.AppOwnerOrganizationID != "" || legacy.ReplyURLs != nil || legacy.AppRoles != nil {
		t.Errorf("nulls not empty: %+v", legacy)
	}
	// Upper-case GUIDs from Graph come out lower-case.
	if got := sps[1].Credentials[1].KeyID; got != "e35a7d11-fef0-49ad-9f3e-aacbe0a42c42" {
		t.Errorf("KeyID = %q, want lower case", got)
	}
}

// TestTargetTypeSpelling: Graph's own samples spell targetResources' type
// "Type"; the SDK matches names case-sensitively, so the client reads it
// from the additional data.
func TestTargetTypeSpelling(t *testing.T) {
	t.Parallel()
	f := newFake(t, pages("directoryAudits-p1.json", "directoryAudits-p2.json"))
	events, err := collect(func(fn func(tenant.AuditEvent) error) error {
		return newClient(t, f, nil).DirectoryAudits(t.Context(), since, fn)
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		for _, tr := range e.Targets {
			got = append(got, tr.Type)
		}
	}
	want := []string{"Group", "User", "N/A", "Application", "User"} // "Type", "Type", then "type"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("target types (-want +got):\n%s", diff)
	}
	// Old and new values stay the raw strings Graph sent.
	if got := events[2].Targets[0].Modified[0].New; got != `["[KeyIdentifier=4c266507-3e74-4b91-aeba-18a25b450f6e,KeyType=AsymmetricX509Cert,KeyUsage=Verify,DisplayName=CN=20230113]"]` {
		t.Errorf("newValue = %s", got)
	}
	if got := events[2].Initiator; got.AppID == "" || got.SPID == "" || got.UserID != "" {
		t.Errorf("app initiator = %+v", got)
	}
}

// TestZeroSinceSendsNoFilter: a zero since reads the whole retention.
func TestZeroSinceSendsNoFilter(t *testing.T) {
	t.Parallel()
	f := newFake(t, pages("signIns.json"))
	if _, err := collect(func(fn func(tenant.SignIn) error) error {
		return newClient(t, f, nil).SignIns(t.Context(), time.Time{}, fn)
	}); err != nil {
		t.Fatal(err)
	}
	if q := f.requests()[0].Query; q.Has("$filter") {
		t.Errorf("$filter = %q, want none", q.Get("$filter"))
	}
}

// TestCallbackError: a callback error stops the read at once (no further
// pages) and comes back unchanged.
func TestCallbackError(t *testing.T) {
	t.Parallel()
	stop := errors.New("stop here")
	f := newFake(t, pages("users-signin-p1.json", "users-signin-p2.json", "users-signin-p3.json"))
	calls := 0
	err := newClient(t, f, nil).Users(t.Context(), true, func(tenant.User) error {
		calls++
		return stop
	})
	if err != stop { //nolint:errorlint // unchanged means the same value
		t.Errorf("err = %v, want the callback's error unchanged", err)
	}
	if calls != 1 || len(f.requests()) != 1 {
		t.Errorf("calls = %d, requests = %d; want 1 and 1", calls, len(f.requests()))
	}
}

// TestOrganizationEmpty: an empty organization list is ErrNotFound.
func TestOrganizationEmpty(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"value":[]}`))
	})
	_, err := newClient(t, f, nil).Organization(t.Context())
	checkSentinel(t, err, tenant.ErrNotFound)
	if want := "graph: GET /organization: the response lists no organization"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
}

// TestEmptyResourceID: AppRoleAssignedTo refuses an empty id without a
// request.
func TestEmptyResourceID(t *testing.T) {
	t.Parallel()
	f := newFake(t, pages("appRoleAssignedTo.json"))
	err := newClient(t, f, nil).AppRoleAssignedTo(t.Context(), " ", func(tenant.AppRoleAssignment) error { return nil })
	checkSentinel(t, err, tenant.ErrBadRequest)
	if len(f.requests()) != 0 {
		t.Errorf("server saw %d requests, want 0", len(f.requests()))
	}
}

// TestEmptyStringDates: Graph's signInActivity documentation shows
// "lastSuccessfulSignInDateTime": "" for a user who never signed in. The
// SDK cannot parse an empty date, so the client reads it as "no date"
// rather than failing the whole page.
func TestEmptyStringDates(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"value":[{"id":"6e7b768e-07e2-4810-8459-485f84f8f204","userPrincipalName":"a@contoso.com","accountEnabled":true,"createdDateTime":"",`+
			`"assignedLicenses":[{"skuId":"","disabledPlans":[]}],`+
			`"signInActivity":{"lastSignInDateTime":"","lastSignInRequestId":"","lastNonInteractiveSignInDateTime" : "","lastSuccessfulSignInDateTime":"","lastSuccessfulSignInRequestId":""}},`+
			`{"id":"9e1c8bd1-1f3c-46f0-a0c4-6f0b7f3f5c11","userPrincipalName":"b@contoso.com","displayName":"b \"createdDateTime\":\"\" c","createdDateTime":"2024-01-02T03:04:05Z",`+
			`"signInActivity":{"lastSuccessfulSignInDateTime":"2026-10-01T00:00:00Z"}}]}`)
	})
	users, err := collect(func(fn func(tenant.User) error) error { return newClient(t, f, nil).Users(t.Context(), true, fn) })
	if err != nil {
		t.Fatalf("a page with empty-string dates failed: %v", err)
	}
	if len(users) != 2 {
		t.Fatalf("got %d users, want 2", len(users))
	}
	if users[0].Created != (time.Time{}) || users[0].LastSuccessfulSignIn != (time.Time{}) {
		t.Errorf("empty dates = %v / %v, want zero", users[0].Created, users[0].LastSuccessfulSignIn)
	}
	if got := users[1].DisplayName; got != `b "createdDateTime":"" c` {
		t.Errorf("a display name that looks like an empty date was changed: %q", got)
	}
	if !users[1].LastSuccessfulSignIn.Equal(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("LastSuccessfulSignIn = %v", users[1].LastSuccessfulSignIn)
	}
}
