package graphsim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
)

func TestPagingCollectsEveryItemOnce(t *testing.T) {
	sim := newSim(t, &graphsim.Options{Users: 1234, Seed: 3})
	h := sim.Handler()
	const staticUsers = 36
	cases := []struct {
		name     string
		path     string
		wantN    int // 0: don't check the total
		maxPage  int
		wantMore bool // more than one page expected
	}{
		{"users top 500 with signInActivity", qUsers, staticUsers + 1234, 500, true},
		{"users top 999 capped to 500 by signInActivity", strings.Replace(qUsers, "top=500", "top=999", 1), staticUsers + 1234, 500, true},
		{"users top 999 without signInActivity", qUsersNoSIA, staticUsers + 1234, 999, true},
		{"users top 7", "/v1.0/users?%24select=id&%24top=7", staticUsers + 1234, 7, true},
		{"users default page 100", "/v1.0/users?%24select=id", staticUsers + 1234, 100, true},
		{"registrations default page 100", qRegistrations, staticUsers + 1234, 100, true},
		{"registrations top 999", qRegistrations + "&%24top=999", staticUsers + 1234, 999, true},
		{"registrations top 5", qRegistrations + "&%24top=5", staticUsers + 1234, 5, true},
		{"servicePrincipals top 5", "/v1.0/servicePrincipals?%24select=id&%24top=5", 28, 5, true},
		{"applications top 4", "/v1.0/applications?%24select=id&%24top=4", 16, 4, true},
		{"signIns window top 10", strings.Replace(qSignIns, "top=1000", "top=10", 1), 0, 10, true},
		{"signIns top 5000 capped to 1000", "/v1.0/auditLogs/signIns?%24top=5000&%24select=id", 43 + 124, 1000, false},
		{"directoryAudits top 3", "/v1.0/auditLogs/directoryAudits?%24top=3", 42, 3, true},
		{"directoryAudits filtered top 4", strings.Replace(qAudits, "top=999", "top=4", 1), 40, 4, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			items, sizes := collect(t, h, base+tc.path)
			got := ids(t, items)
			seen := map[string]bool{}
			for _, id := range got {
				if id == "" || seen[id] {
					t.Fatalf("id %q missing or served twice", id)
				}
				seen[id] = true
			}
			if tc.wantN != 0 && len(got) != tc.wantN {
				t.Errorf("collected %d items, want %d", len(got), tc.wantN)
			}
			for i, n := range sizes {
				if n > tc.maxPage {
					t.Errorf("page %d has %d items, over %d", i, n, tc.maxPage)
				}
				if n == 0 {
					t.Errorf("page %d is empty", i)
				}
				if i < len(sizes)-1 && n != tc.maxPage {
					t.Errorf("page %d has %d items, want a full page of %d", i, n, tc.maxPage)
				}
			}
			if tc.wantMore != (len(sizes) > 1) {
				t.Errorf("%d pages", len(sizes))
			}
		})
	}
}

func TestLogsNewestFirstAndFiltered(t *testing.T) {
	sim := newSim(t, &graphsim.Options{Users: 200})
	h := sim.Handler()
	for _, tc := range []struct{ path, timeKey string }{
		{strings.Replace(qSignIns, "top=1000", "top=17", 1), "createdDateTime"},
		{strings.Replace(qAudits, "top=999", "top=9", 1), "activityDateTime"},
	} {
		items, _ := collect(t, h, base+tc.path)
		prev := ""
		for _, it := range items {
			var m map[string]any
			_ = json.Unmarshal(it, &m)
			ts, _ := m[tc.timeKey].(string)
			if ts < "2026-10-27T12:00:00Z" {
				t.Errorf("%s %s is before the filter bound", tc.timeKey, ts)
			}
			if prev != "" && ts > prev {
				t.Errorf("%s not newest first: %s after %s", tc.timeKey, ts, prev)
			}
			prev = ts
		}
	}
}

func TestNextLinkIsAbsoluteOverTheNetwork(t *testing.T) {
	sim := newSim(t, &graphsim.Options{Users: 40})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	next := srv.URL + "/some/prefix/v1.0/users?%24select=id&%24top=30"
	total := 0
	for next != "" {
		res, err := http.Get(next)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var p page
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		total += len(p.Value)
		if p.NextLink != "" {
			u, err := url.Parse(p.NextLink)
			if err != nil || u.Scheme != "http" || "http://"+u.Host != srv.URL || !strings.HasPrefix(u.Path, "/some/prefix/v1.0/users") {
				t.Fatalf("nextLink %q does not lead back to %s/some/prefix", p.NextLink, srv.URL)
			}
			if u.Query().Get("$skiptoken") == "" || u.Query().Get("$select") != "id" {
				t.Fatalf("nextLink %q lost the query or the skip token", p.NextLink)
			}
		}
		next = p.NextLink
	}
	if total != 36+40 {
		t.Errorf("got %d users, want %d", total, 36+40)
	}
}

func TestSkipTokenBoundToQuery(t *testing.T) {
	sim := newSim(t, nil)
	h := sim.Handler()
	p := decodePage(t, get(t, h, base+"/v1.0/users?%24select=id&%24top=5"))
	u, _ := url.Parse(p.NextLink)
	tok := u.Query().Get("$skiptoken")
	for _, bad := range []string{
		"/v1.0/users?%24select=id,displayName&%24top=5&%24skiptoken=" + tok, // other $select
		"/v1.0/users?%24select=id&%24top=6&%24skiptoken=" + tok,             // other $top
		"/v1.0/applications?%24select=id&%24top=5&%24skiptoken=" + tok,      // other route
		"/v1.0/users?%24select=id&%24top=5&%24skiptoken=garbage",
		"/v1.0/users?%24select=id&%24top=5&%24skiptoken=g1",
	} {
		r := get(t, h, base+bad)
		if r.status != 400 {
			t.Errorf("%s: status %d, want 400", bad, r.status)
		}
	}
}
