package graph_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/graph"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestSignInsBetaDisabled: with DisableBeta the beta read sends nothing
// and fails with tenant.ErrBetaDisabled and the contract's reason; the
// v1.0 read still works.
func TestSignInsBetaDisabled(t *testing.T) {
	t.Parallel()
	f := newFake(t, pages("signIns.json"))
	c := newClient(t, f, &graph.ClientOptions{DisableBeta: true})
	if c.Beta() {
		t.Error("Beta() = true with DisableBeta")
	}
	err := c.SignInsBeta(t.Context(), since, func(tenant.SignIn) error { return nil })
	if !errors.Is(err, tenant.ErrBetaDisabled) || errors.Is(err, tenant.ErrAccessDenied) {
		t.Fatalf("SignInsBeta = %v, want tenant.ErrBetaDisabled only", err)
	}
	if !strings.Contains(err.Error(), tenant.BetaDisabledReason) {
		t.Errorf("error %q does not give the reason", err)
	}
	if n := len(f.requests()); n != 0 {
		t.Fatalf("beta disabled, server saw %d requests", n)
	}
	got, err := collect(func(fn func(tenant.SignIn) error) error { return c.SignIns(t.Context(), since, fn) })
	if err != nil || len(got) != 3 {
		t.Fatalf("v1.0 SignIns = %d, %v; want 3 sign-ins", len(got), err)
	}
}

// TestMidnightReadErrors: the new reads are bounded and classified as
// every read: a 403 is access denied naming the permission (and licence),
// a repeated next link ends the read.
func TestMidnightReadErrors(t *testing.T) {
	t.Parallel()
	type readFn func(t *testing.T, c *graph.Client) error
	signInsBeta := func(t *testing.T, c *graph.Client) error {
		return c.SignInsBeta(t.Context(), since, func(tenant.SignIn) error { return nil })
	}
	devices := func(t *testing.T, c *graph.Client) error {
		return c.Devices(t.Context(), func(tenant.Device) error { return nil })
	}
	grants := func(t *testing.T, c *graph.Client) error {
		return c.DelegatedGrants(t.Context(), func(tenant.DelegatedGrant) error { return nil })
	}
	members := func(t *testing.T, c *graph.Client) error {
		return c.GroupUserMembers(t.Context(), caGroupID, func(string) error { return nil })
	}
	domains := func(t *testing.T, c *graph.Client) error { _, err := c.Domains(t.Context()); return err }
	authz := func(t *testing.T, c *graph.Client) error { _, err := c.AuthorizationPolicy(t.Context()); return err }
	fics := func(t *testing.T, c *graph.Client) error {
		_, err := c.FederatedCredentials(t.Context(), appObjectID)
		return err
	}
	denied := []struct {
		name, want string
		read       readFn
	}{
		{"signInsBeta", "graph: GET /beta/auditLogs/signIns: 403 Authorization_RequestDenied: Insufficient privileges to complete the operation. (needs AuditLog.Read.All and an Entra ID P1 or P2 licence)", signInsBeta},
		{"devices", "graph: GET /devices: 403 Authorization_RequestDenied: Insufficient privileges to complete the operation. (needs Device.Read.All)", devices},
		{"members", "graph: GET /groups/{id}/transitiveMembers/microsoft.graph.user: 403 Authorization_RequestDenied: Insufficient privileges to complete the operation. (needs Group.Read.All)", members},
		{"domains", "graph: GET /domains: 403 Authorization_RequestDenied: Insufficient privileges to complete the operation. (needs Domain.Read.All)", domains},
		{"grants", "graph: GET /oauth2PermissionGrants: 403 Authorization_RequestDenied: Insufficient privileges to complete the operation. (needs Directory.Read.All)", grants},
		{"authorizationPolicy", "graph: GET /policies/authorizationPolicy: 403 Authorization_RequestDenied: Insufficient privileges to complete the operation. (needs Policy.Read.All)", authz},
		{"federatedCredentials", "graph: GET /applications/{id}/federatedIdentityCredentials: 403 Authorization_RequestDenied: Insufficient privileges to complete the operation. (needs Application.Read.All)", fics},
	}
	for _, tc := range denied {
		t.Run("403/"+tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, status(http.StatusForbidden, "error-403-denied.json"))
			err := tc.read(t, newClient(t, f, nil))
			if !errors.Is(err, tenant.ErrAccessDenied) {
				t.Fatalf("err = %v, want access denied", err)
			}
			if err.Error() != tc.want {
				t.Errorf("err =\n%s\nwant\n%s", err, tc.want)
			}
		})
	}
	// A next link that repeats the request just made: the bulk reads end.
	repeat := []struct {
		name string
		file string
		read readFn
	}{
		{"signInsBeta", `{"@odata.nextLink":"{{beta}}/auditLogs/signIns?$skiptoken=x","value":[{"id":"a","status":{"errorCode":0}}]}`, signInsBeta},
		{"devices", `{"@odata.nextLink":"{{base}}/devices?$skiptoken=x","value":[{"id":"a"}]}`, devices},
		{"grants", `{"@odata.nextLink":"{{base}}/oauth2PermissionGrants?$skiptoken=x","value":[{"id":"a"}]}`, grants},
		{"members", `{"@odata.nextLink":"{{base}}/groups/x/transitiveMembers/microsoft.graph.user?$skiptoken=x","value":[{"id":"a"}]}`, members},
	}
	for _, tc := range repeat {
		t.Run("repeated link/"+tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
				if n >= 5 {
					f.file(w, http.StatusBadRequest, "error-400.json")
					return
				}
				body := strings.ReplaceAll(strings.ReplaceAll(tc.file, "{{base}}", f.api()), "{{beta}}", f.root()+"/beta")
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(body))
			})
			err := tc.read(t, newClient(t, f, nil))
			if err == nil || !strings.Contains(err.Error(), "Graph sent an @odata.nextLink this read had already followed") {
				t.Fatalf("err = %v, want the repeated-link error", err)
			}
			if n := len(f.requests()); n != 2 {
				t.Errorf("server saw %d requests, want 2", n)
			}
		})
	}
}

// TestDomains: GET /domains, then the federation configuration of the
// federated domain only.
func TestDomains(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
		switch r.URL.Path {
		case prefix + "/v1.0/domains":
			f.file(w, http.StatusOK, "domains.json")
		case prefix + "/v1.0/domains/fabrikam.contoso.com/federationConfiguration":
			f.file(w, http.StatusOK, "federationConfiguration.json")
		default:
			t.Errorf("unexpected request %s", r.URL)
			http.NotFound(w, r)
		}
	})
	got, err := newClient(t, f, nil).Domains(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("server saw %d requests, want 2", len(reqs))
	}
	if diff := cmp.Diff(map[string]string{"$select": "id,authenticationType,isVerified,isDefault"}, flatQuery(t, reqs[0].Query)); diff != "" {
		t.Errorf("domains query (-want +got):\n%s", diff)
	}
	checkGolden(t, "domains", got)
}
