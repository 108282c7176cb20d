package graphsim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
)

// TestPageSizesPerCollection holds every list endpoint to the page sizes
// in the package documentation (Microsoft's where it states them): the
// first page without $top, with $top at the maximum, and above it (400, or
// a page of the maximum where Graph caps instead). Each collection is
// filled past its maximum first, so that a wrong default or maximum shows.
func TestPageSizesPerCollection(t *testing.T) {
	sim := newSim(t, &graphsim.Options{Users: 1100, Seed: 5})
	for i := range 1000 {
		for _, kind := range []graphsim.ObjectKind{graphsim.KindServicePrincipal, graphsim.KindApplication, graphsim.KindGroup} {
			if _, err := sim.Create(kind, map[string]any{"displayName": fmt.Sprintf("filler %d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		at := sim.Clock().Add(-time.Duration(i) * time.Second).Format(time.RFC3339)
		if err := sim.AppendLog(graphsim.LogDirectoryAudits, map[string]any{
			"id": fmt.Sprintf("Directory_filler_%d", i), "activityDateTime": at, "activityDisplayName": "Update user",
			"result": "success", "category": "UserManagement", "loggedByService": "Core Directory",
		}); err != nil {
			t.Fatal(err)
		}
		if err := sim.AppendLog(graphsim.LogSignIns, map[string]any{
			"id": fmt.Sprintf("f111%04d-0000-4000-8000-000000000000", i), "createdDateTime": at, "userId": helenaID,
		}); err != nil {
			t.Fatal(err)
		}
	}
	h := sim.Handler()
	graphResourceSPID := graphSPID(t, h)
	const (
		reject = iota // $top above the maximum: 400
		capped        // $top above the maximum: pages of the maximum
	)
	cases := []struct {
		path      string // with a query, so that "&$top=" can follow
		def, max  int
		overMax   int
		smallColl bool // the collection has fewer objects than the default
	}{
		{"/v1.0/users?%24select=id", 100, 999, reject, false},
		{"/v1.0/users?%24select=id,signInActivity", 100, 500, capped, false},
		{"/v1.0/groups?%24select=id", 100, 999, reject, false},
		{"/v1.0/servicePrincipals?%24select=id", 100, 999, reject, false},
		{"/v1.0/applications?%24select=id", 100, 999, reject, false},
		{"/v1.0/reports/authenticationMethods/userRegistrationDetails?%24select=id", 100, 999, capped, false},
		{"/v1.0/auditLogs/directoryAudits?%24select=id", 1000, 1000, capped, false},
		{"/v1.0/auditLogs/signIns?%24select=id", 1000, 1000, capped, false},
		{"/v1.0/organization?%24select=id", 100, 999, reject, true},
		{"/v1.0/subscribedSkus?%24select=skuId", 100, 999, reject, true},
		{"/v1.0/identity/conditionalAccess/policies?%24select=id", 100, 999, reject, true},
		{"/v1.0/identity/conditionalAccess/namedLocations?%24select=id", 100, 999, reject, true},
		{"/v1.0/servicePrincipals/" + graphResourceSPID + "/appRoleAssignedTo?%24select=id", 100, 999, reject, true},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			first := func(query string) (int, response) {
				r := get(t, h, base+tc.path+query)
				if r.status != http.StatusOK {
					return 0, r
				}
				return len(decodePage(t, r).Value), r
			}
			n, r := first("")
			if r.status != http.StatusOK {
				t.Fatalf("without $top: status %d: %s", r.status, r.body)
			}
			if tc.smallColl {
				if n == 0 || n >= tc.def {
					t.Fatalf("without $top: %d items; the test needs a collection smaller than the default %d", n, tc.def)
				}
			} else if n != tc.def {
				t.Errorf("without $top: first page has %d items, want the default %d", n, tc.def)
			}
			if n, r = first(fmt.Sprintf("&%%24top=%d", tc.max)); r.status != http.StatusOK {
				t.Fatalf("$top=%d: status %d: %s", tc.max, r.status, r.body)
			} else if !tc.smallColl && n != tc.max {
				t.Errorf("$top=%d: first page has %d items, want %d", tc.max, n, tc.max)
			}
			n, r = first(fmt.Sprintf("&%%24top=%d", tc.max+1))
			switch {
			case tc.overMax == reject && r.status != http.StatusBadRequest:
				t.Errorf("$top=%d: status %d, want 400", tc.max+1, r.status)
			case tc.overMax == capped && r.status != http.StatusOK:
				t.Errorf("$top=%d: status %d, want 200 with a page of at most %d", tc.max+1, r.status, tc.max)
			case tc.overMax == capped && !tc.smallColl && n != tc.max:
				t.Errorf("$top=%d: first page has %d items, want the maximum %d", tc.max+1, n, tc.max)
			}
		})
	}
}

// TestRegistrationTopRejected: with RejectRegistrationTop the report
// answers any $top with 400 (and still pages without it); other routes
// keep their $top.
func TestRegistrationTopRejected(t *testing.T) {
	sim := newSim(t, &graphsim.Options{Users: 300, RejectRegistrationTop: true})
	h := sim.Handler()
	r := get(t, h, base+qRegistrations+"&%24top=999")
	if r.status != http.StatusBadRequest {
		t.Fatalf("$top=999: status %d, want 400", r.status)
	}
	if e := decodeError(t, r); e.Error.Code != "BadRequest" || e.Error.Message == "" {
		t.Errorf("error body %+v", e.Error)
	}
	items, sizes := collect(t, h, base+qRegistrations)
	if len(items) != 36+300 || sizes[0] != 100 {
		t.Errorf("without $top: %d rows in pages %v, want %d in pages of 100", len(items), sizes, 36+300)
	}
	if r := get(t, h, base+"/v1.0/users?%24select=id&%24top=999"); r.status != http.StatusOK {
		t.Errorf("users $top=999: status %d", r.status)
	}
}

// TestUsersByIDFilter: a filter on id alone is answered by lookups; it
// returns what scanning the collection returns (the scan answers when the
// page is smaller than the ids), deleted and unknown ids left out.
func TestUsersByIDFilter(t *testing.T) {
	sim := newSim(t, &graphsim.Options{Users: 500, Seed: 8})
	h := sim.Handler()
	all := ids(t, func() []json.RawMessage {
		it, _ := collect(t, h, base+"/v1.0/users?%24select=id&%24top=999")
		return it
	}())
	deleted := all[3]
	if err := sim.Delete(graphsim.KindUser, deleted, false); err != nil {
		t.Fatal(err)
	}
	want := []string{all[0], all[200], all[499]}
	filter := "id%20in%20('" + strings.Join([]string{all[0], deleted, strings.ToUpper(all[200]), "00000000-0000-0000-0000-000000000001", all[499], all[0]}, "','") + "')"
	for _, top := range []string{"", "&%24top=1"} {
		items, _ := collect(t, h, base+"/v1.0/users?%24select=id,signInActivity&%24filter="+filter+top)
		got := ids(t, items)
		slices.Sort(got)
		w := slices.Clone(want)
		slices.Sort(w)
		if !slices.Equal(got, w) {
			t.Errorf("top %q: got %v, want %v", top, got, w)
		}
	}
}
