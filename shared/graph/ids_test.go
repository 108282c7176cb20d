package graph_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/graph"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestUsersByIDChunks: 40 ids go out as three filters of 15, 15 and 10,
// lower-cased and de-duplicated, with the Users $select list, and every
// user of every answer reaches the callback.
func TestUsersByIDChunks(t *testing.T) {
	t.Parallel()
	var ids []string
	for i := range 40 {
		ids = append(ids, fmt.Sprintf("%08x-0000-4000-8000-%012x", i, 0xabc000+i))
	}
	// Repeats, in another case, are read once.
	in := append(append([]string(nil), ids...), strings.ToUpper(ids[3]), ids[39])
	filter := func(ids []string) string { return "id in ('" + strings.Join(ids, "','") + "')" }

	for _, activity := range []bool{false, true} {
		t.Run(fmt.Sprintf("signInActivity=%v", activity), func(t *testing.T) {
			t.Parallel()
			f := newFake(t, pages("users.json"))
			got, err := collect(func(fn func(tenant.User) error) error {
				return newClient(t, f, nil).UsersByID(t.Context(), in, activity, fn)
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 6 { // users.json has 2 users, served 3 times
				t.Errorf("callback got %d users, want 6", len(got))
			}
			sel := userSelect
			if activity {
				sel += ",signInActivity"
			}
			want := []map[string]string{
				{"$filter": filter(ids[:15]), "$select": sel},
				{"$filter": filter(ids[15:30]), "$select": sel},
				{"$filter": filter(ids[30:]), "$select": sel},
			}
			reqs := f.requests()
			var queries []map[string]string
			for _, r := range reqs {
				if r.Method != http.MethodGet || r.Path != prefix+"/v1.0/users" {
					t.Errorf("request = %s %s, want GET %s/v1.0/users", r.Method, r.Path, prefix)
				}
				queries = append(queries, flatQuery(t, r.Query))
			}
			if diff := cmp.Diff(want, queries); diff != "" {
				t.Errorf("queries (-want +got):\n%s", diff)
			}
		})
	}
	// The first filter, spelled out.
	if got, want := filter(ids[:2]), "id in ('00000000-0000-4000-8000-000000abc000','00000001-0000-4000-8000-000000abc001')"; got != want {
		t.Errorf("filter = %s, want %s", got, want)
	}
}

// TestUsersByIDRejectsNonGUIDs: anything but a GUID is kept out of the
// filter; with no valid id there is no request at all.
func TestUsersByIDRejectsNonGUIDs(t *testing.T) {
	t.Parallel()
	const valid = "4562bcc8-c436-4f95-b7c0-4f8ce89dca5e"
	junk := []string{
		"6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0') or startswith(displayName,'a",
		"6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0' or id ne '",
		"{6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0}",
		"zzzzzzzz-e32e-41a1-b7bd-d2d185eed0e0",
		"admin@contoso.com",
		"",
	}

	f := newFake(t, pages("users.json"))
	if _, err := collect(func(fn func(tenant.User) error) error {
		return newClient(t, f, nil).UsersByID(t.Context(), append(junk, " "+strings.ToUpper(valid)+" "), false, fn)
	}); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(reqs))
	}
	if got, want := reqs[0].Query.Get("$filter"), "id in ('"+valid+"')"; got != want {
		t.Errorf("$filter = %q, want %q", got, want)
	}

	f2 := newFake(t, pages("users.json"))
	calls := 0
	err := newClient(t, f2, nil).UsersByID(t.Context(), junk, true, func(tenant.User) error {
		calls++
		return nil
	})
	if err != nil || calls != 0 || len(f2.requests()) != 0 {
		t.Errorf("only invalid ids: err %v, %d calls, %d requests; want nil, 0, 0", err, calls, len(f2.requests()))
	}
}

// TestUsersByIDSignInActivityDenied: as for Users, a 403 with
// signInActivity names the sign-in permissions and licence; the caller
// reads again without it.
func TestUsersByIDSignInActivityDenied(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
		if strings.Contains(r.URL.Query().Get("$select"), "signInActivity") {
			f.file(w, http.StatusForbidden, "error-403-nonpremium.json")
			return
		}
		f.file(w, http.StatusOK, "users.json")
	})
	c := newClient(t, f, nil)
	ids := []string{"6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0"}
	err := c.UsersByID(t.Context(), ids, true, func(tenant.User) error { return nil })
	checkSentinel(t, err, tenant.ErrAccessDenied)
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.Permission != "User.Read.All and AuditLog.Read.All" || ge.Licence == "" {
		t.Errorf("err = %v, want the signInActivity permissions and licence", err)
	}
	got, err := collect(func(fn func(tenant.User) error) error { return c.UsersByID(t.Context(), ids, false, fn) })
	if err != nil || len(got) != 2 {
		t.Errorf("without signInActivity: %d users, err %v", len(got), err)
	}
}

// TestServicePrincipalsByAppID: app ids go in an appId filter with the
// ServicePrincipals $select list.
func TestServicePrincipalsByAppID(t *testing.T) {
	t.Parallel()
	f := newFake(t, pages("servicePrincipals.json"))
	got, err := collect(func(fn func(tenant.ServicePrincipal) error) error {
		return newClient(t, f, nil).ServicePrincipalsByAppID(t.Context(),
			[]string{"00000003-0000-0000-c000-000000000000", "00000002-0000-0ff1-ce00-000000000000"}, fn)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Errorf("got %d service principals, want the 3 served", len(got))
	}
	reqs := f.requests()
	if len(reqs) != 1 || reqs[0].Path != prefix+"/v1.0/servicePrincipals" {
		t.Fatalf("requests = %+v, want one GET /servicePrincipals", reqs)
	}
	want := map[string]string{
		"$filter": "appId in ('00000003-0000-0000-c000-000000000000','00000002-0000-0ff1-ce00-000000000000')",
		"$select": spSelect,
	}
	if diff := cmp.Diff(want, flatQuery(t, reqs[0].Query)); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
}
