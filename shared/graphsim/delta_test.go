package graphsim_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/golden"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
)

func TestDeltaFirstRoundReturnsEveryObjectOnce(t *testing.T) {
	sim := newSim(t, &graphsim.Options{Users: 450, DeltaPageSize: 100})
	h := sim.Handler()
	cases := []struct {
		name, path, list string
		wantN, minPages  int
	}{
		{"users", "/v1.0/users/delta?$select=id,displayName", "/v1.0/users?%24select=id&%24top=999", 36 + 450, 5},
		{"users SDK spelling", "/v1.0/users/delta()?$select=id", "/v1.0/users?%24select=id&%24top=999", 36 + 450, 5},
		{"users qualified", "/v1.0/users/microsoft.graph.delta", "/v1.0/users?%24select=id&%24top=999", 36 + 450, 5},
		{"service principals", "/v1.0/servicePrincipals/delta()", "/v1.0/servicePrincipals?%24select=id", 28, 1},
		{"applications", "/v1.0/applications/delta", "/v1.0/applications?%24select=id", 16, 1},
		{"groups", "/v1.0/groups/delta()", "", 3, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			items, link, pages := deltaRound(t, h, base+tc.path, nil)
			got := idsOf(items)
			seen := map[string]bool{}
			for _, id := range got {
				if id == "" || seen[id] {
					t.Fatalf("id %q missing or served twice", id)
				}
				seen[id] = true
			}
			if len(got) != tc.wantN || pages < tc.minPages {
				t.Errorf("%d objects over %d pages, want %d over at least %d", len(got), pages, tc.wantN, tc.minPages)
			}
			if tc.list != "" {
				want := idsOf(listAll(t, h, tc.list))
				sort.Strings(want)
				sort.Strings(got)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("delta round and list disagree (-list +delta):\n%s", diff)
				}
			}
			if tokenIn(t, link, "$deltatoken") == "" || strings.Contains(link, "$select") {
				t.Errorf("deltaLink %q: want a $deltatoken carrying the query, nothing else", link)
			}
			// Nothing changed: the next round is empty.
			again, _, _ := deltaRound(t, h, link, nil)
			if len(again) != 0 {
				t.Errorf("unchanged tenant: next round returned %d objects", len(again))
			}
		})
	}
}

func TestDeltaFirstRoundProjection(t *testing.T) {
	sim := newSim(t, nil)
	h := sim.Handler()
	cases := []struct {
		name, path string
		want       []string // allowed keys
		must       []string // keys every item has
	}{
		{"users default set", "/v1.0/users/delta", []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail",
			"mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"}, []string{"id", "displayName"}},
		{"users select", "/v1.0/users/delta?$select=displayName,accountEnabled,assignedLicenses", []string{"id", "displayName", "accountEnabled", "assignedLicenses"},
			[]string{"id", "displayName", "accountEnabled", "assignedLicenses"}},
		{"users never-set property omitted", "/v1.0/users/delta?$select=employeeId", []string{"id"}, []string{"id"}},
		{"service principals select", "/v1.0/servicePrincipals/delta?$select=appId,keyCredentials,passwordCredentials,replyUrls",
			[]string{"id", "appId", "keyCredentials", "passwordCredentials", "replyUrls"}, []string{"id", "appId", "keyCredentials"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			items, _, _ := deltaRound(t, h, base+tc.path, nil)
			if len(items) == 0 {
				t.Fatal("no items")
			}
			for _, it := range items {
				for k := range it {
					if !contains(tc.want, k) {
						t.Errorf("item %v carries %q", it["id"], k)
					}
				}
				for _, k := range tc.must {
					if _, ok := it[k]; !ok {
						t.Errorf("item %v lacks %q", it["id"], k)
					}
				}
			}
		})
	}
}

// changeCase is one change between two delta rounds and what the second
// round must return.
type changeCase struct {
	name   string
	path   string // first round
	hdr    http.Header
	change func(t *testing.T, sim *graphsim.Server) string // returns the changed id
	want   func(id string) []map[string]any
}

func TestDeltaLaterRounds(t *testing.T) {
	const helena = "e938aa24-4f2a-4735-b38d-c431ab9db57c"
	const archiver = "085f1a8d-c570-4cb1-81c9-196bb010274d"
	minimal := http.Header{"Prefer": {"return=minimal"}}
	update := func(kind graphsim.ObjectKind, id string, props map[string]any) func(*testing.T, *graphsim.Server) string {
		return func(t *testing.T, sim *graphsim.Server) string {
			if _, err := sim.Update(kind, id, props); err != nil {
				t.Fatal(err)
			}
			return id
		}
	}
	cases := []changeCase{
		{
			name: "user update, minimal: id and the changed property",
			path: "/v1.0/users/delta?$select=displayName,accountEnabled,jobTitle", hdr: minimal,
			change: update(graphsim.KindUser, helena, map[string]any{"accountEnabled": false}),
			want:   func(id string) []map[string]any { return []map[string]any{{"id": id, "accountEnabled": false}} },
		},
		{
			name:   "user update, default: every selected property",
			path:   "/v1.0/users/delta?$select=displayName,accountEnabled",
			change: update(graphsim.KindUser, helena, map[string]any{"accountEnabled": false}),
			want: func(id string) []map[string]any {
				return []map[string]any{{"id": id, "displayName": "Helena Marsh", "accountEnabled": false}}
			},
		},
		{
			name:   "user update of a property not selected: not returned",
			path:   "/v1.0/users/delta?$select=displayName,accountEnabled",
			change: update(graphsim.KindUser, helena, map[string]any{"jobTitle": "Chair"}),
			want:   func(string) []map[string]any { return nil },
		},
		{
			name: "user update without $select: default set tracked",
			path: "/v1.0/users/delta", hdr: minimal,
			change: update(graphsim.KindUser, helena, map[string]any{"jobTitle": "Chair", "department": "Board"}),
			want:   func(id string) []map[string]any { return []map[string]any{{"id": id, "jobTitle": "Chair"}} },
		},
		{
			name: "licence change",
			path: "/v1.0/users/delta()?$select=assignedLicenses", hdr: minimal,
			change: update(graphsim.KindUser, helena, map[string]any{"assignedLicenses": []any{}}),
			want:   func(id string) []map[string]any { return []map[string]any{{"id": id, "assignedLicenses": []any{}}} },
		},
		{
			name: "user soft-deleted",
			path: "/v1.0/users/delta?$select=displayName",
			change: func(t *testing.T, sim *graphsim.Server) string {
				if err := sim.Delete(graphsim.KindUser, helena, false); err != nil {
					t.Fatal(err)
				}
				return helena
			},
			want: func(id string) []map[string]any {
				return []map[string]any{{"id": id, "@removed": map[string]any{"reason": "changed"}}}
			},
		},
		{
			name: "user deleted for good",
			path: "/v1.0/users/delta?$select=displayName",
			change: func(t *testing.T, sim *graphsim.Server) string {
				if err := sim.Delete(graphsim.KindUser, helena, true); err != nil {
					t.Fatal(err)
				}
				return helena
			},
			want: func(id string) []map[string]any {
				return []map[string]any{{"id": id, "@removed": map[string]any{"reason": "deleted"}}}
			},
		},
		{
			name: "user created: the full selected object",
			path: "/v1.0/users/delta?$select=displayName,userPrincipalName,accountEnabled", hdr: minimal,
			change: func(t *testing.T, sim *graphsim.Server) string {
				id, err := sim.Create(graphsim.KindUser, map[string]any{"id": "0c0ffee0-0000-4000-8000-000000000001",
					"displayName": "New Hire", "userPrincipalName": "new.hire@northbridge-policy.org", "accountEnabled": true, "jobTitle": "Intern"})
				if err != nil {
					t.Fatal(err)
				}
				return id
			},
			want: func(id string) []map[string]any {
				return []map[string]any{{"id": id, "displayName": "New Hire", "userPrincipalName": "new.hire@northbridge-policy.org", "accountEnabled": true}}
			},
		},
		{
			name:   "service principal credential: id and keyCredentials only",
			path:   "/v1.0/servicePrincipals/delta?$select=appId,displayName,keyCredentials",
			change: update(graphsim.KindServicePrincipal, archiver, map[string]any{"keyCredentials": []any{}}),
			want:   func(id string) []map[string]any { return []map[string]any{{"id": id, "keyCredentials": []any{}}} },
		},
		{
			name: "group update",
			path: "/v1.0/groups/delta", hdr: minimal,
			change: update(graphsim.KindGroup, "3f6c2a1e-8b4d-4c7a-9e2f-5d1b0a9c8e71", map[string]any{"description": "Everyone"}),
			want:   func(id string) []map[string]any { return []map[string]any{{"id": id, "description": "Everyone"}} },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim := newSim(t, &graphsim.Options{Users: 30})
			h := sim.Handler()
			_, link, _ := deltaRound(t, h, base+tc.path, tc.hdr)
			id := tc.change(t, sim)
			got, next, _ := deltaRound(t, h, link, tc.hdr)
			want := tc.want(id)
			if want == nil {
				want = []map[string]any{}
			}
			if got == nil {
				got = []map[string]any{}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("second round (-want +got):\n%s", diff)
			}
			// The change is reported once.
			if again, _, _ := deltaRound(t, h, next, tc.hdr); len(again) != 0 {
				t.Errorf("third round repeats %v", again)
			}
		})
	}
}

func TestDeltaGolden(t *testing.T) {
	sim, _ := newClockedSim(t, &graphsim.Options{Users: 3, Seed: 1, DeltaPageSize: 20})
	h := sim.Handler()
	first := send(t, h, http.MethodGet, base+"/v1.0/users/delta?$select=displayName,accountEnabled", "", nil)
	golden.Check(t, filepath.Join("testdata", "golden", "delta-users-first-page.json"), normalise(t, first.body))
	_, link, _ := deltaRound(t, h, base+"/v1.0/servicePrincipals/delta?$select=displayName,keyCredentials", nil)
	if _, err := sim.Attack(t.Context(), apt29.StepSPBackdoor); err != nil {
		t.Fatal(err)
	}
	changed := send(t, h, http.MethodGet, link, "", nil)
	golden.Check(t, filepath.Join("testdata", "golden", "delta-servicePrincipals-after-backdoor.json"), normalise(t, changed.body))
	latest := send(t, h, http.MethodGet, base+"/v1.0/users/delta?$deltatoken=latest", "", nil)
	golden.Check(t, filepath.Join("testdata", "golden", "delta-users-latest.json"), normalise(t, latest.body))
}

func TestDeltaLatest(t *testing.T) {
	sim := newSim(t, nil)
	h := sim.Handler()
	r := send(t, h, http.MethodGet, base+"/v1.0/users/delta?$deltatoken=latest&$select=displayName", "", nil)
	var p deltaPage
	if err := json.Unmarshal(r.body, &p); err != nil || r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if len(p.Value) != 0 || p.DeltaLink == "" || p.NextLink != "" {
		t.Fatalf("latest: want an empty page with a deltaLink: %s", r.body)
	}
	if _, err := sim.Update(graphsim.KindUser, "9ac621da-82d2-4cfa-a31c-0ac88c823adc", map[string]any{"displayName": "T. Wójcik"}); err != nil {
		t.Fatal(err)
	}
	got, _, _ := deltaRound(t, h, p.DeltaLink, nil)
	if len(got) != 1 || got[0]["displayName"] != "T. Wójcik" {
		t.Errorf("round after latest: %v", got)
	}
	for _, path := range []string{"/v1.0/servicePrincipals/delta?$deltatoken=latest", "/v1.0/applications/delta?$deltatoken=latest"} {
		if r := get(t, h, base+path); r.status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400 (documented for users and groups only)", path, r.status)
		}
	}
}

func TestDeltaSelectReplacedOnDeltaLink(t *testing.T) {
	sim := newSim(t, nil)
	h := sim.Handler()
	_, link, _ := deltaRound(t, h, base+"/v1.0/users/delta?$select=displayName", nil)
	const id = "f7a77685-bd14-461f-8178-9a25a60afb5e"
	if _, err := sim.Update(graphsim.KindUser, id, map[string]any{"accountEnabled": false}); err != nil {
		t.Fatal(err)
	}
	// Tracking displayName only: not returned; with $select on the
	// deltaLink, accountEnabled is tracked and returned.
	got, _, _ := deltaRound(t, h, link+"&$select=accountEnabled", http.Header{"Prefer": {"return=minimal"}})
	want := []map[string]any{{"id": id, "accountEnabled": false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDeltaTokenErrors(t *testing.T) {
	sim, clk := newClockedSim(t, &graphsim.Options{DeltaPageSize: 10})
	h := sim.Handler()
	first := decodeDelta(t, send(t, h, http.MethodGet, base+"/v1.0/users/delta?$select=displayName", "", nil))
	_, link, _ := deltaRound(t, h, base+"/v1.0/users/delta?$select=displayName", nil)
	_, spLink, _ := deltaRound(t, h, base+"/v1.0/servicePrincipals/delta", nil)
	tok := tokenIn(t, link, "$deltatoken")
	garbled := []byte(tok)
	garbled[len(garbled)/2] ^= 1
	cases := []struct {
		name, url string
		status    int
		code      string
	}{
		{"garbled deltatoken", base + "/v1.0/users/delta?$deltatoken=" + string(garbled), 400, "BadRequest"},
		{"not base64", base + "/v1.0/users/delta?$deltatoken=%25%25%25", 400, "BadRequest"},
		{"garbled skiptoken", base + "/v1.0/users/delta?$skiptoken=abc", 400, "BadRequest"},
		{"token of another resource", base + "/v1.0/groups/delta?$deltatoken=" + tokenIn(t, spLink, "$deltatoken"), 400, "BadRequest"},
		{"deltatoken given as skiptoken", base + "/v1.0/users/delta?$skiptoken=" + tok, 400, "BadRequest"},
		{"select with skiptoken", first.NextLink + "&$select=displayName", 400, "Request_UnsupportedQuery"},
		{"both tokens", base + "/v1.0/users/delta?$skiptoken=a&$deltatoken=b", 400, "BadRequest"},
		{"top on users", base + "/v1.0/users/delta?$top=5", 400, "Request_UnsupportedQuery"},
		{"orderby on groups", base + "/v1.0/groups/delta?$orderby=displayName", 400, "Request_UnsupportedQuery"},
		{"filter not simulated", base + "/v1.0/users/delta?$filter=id%20eq%20'x'", 501, "NotImplemented"},
		{"signInActivity not simulated", base + "/v1.0/users/delta?$select=signInActivity", 501, "NotImplemented"},
		{"unknown property", base + "/v1.0/users/delta?$select=shoeSize", 400, "BadRequest"},
		{"post", "", 405, "Request_BadRequest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r response
			if tc.url == "" {
				r = send(t, h, http.MethodPost, base+"/v1.0/users/delta", "", nil)
			} else {
				r = get(t, h, tc.url)
			}
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if e := decodeError(t, r); e.Error.Code != tc.code {
				t.Errorf("code %q, want %q (%s)", e.Error.Code, tc.code, e.Error.Message)
			}
		})
	}

	t.Run("expired after the TTL", func(t *testing.T) {
		clk.Advance(7*24*time.Hour + time.Second)
		defer clk.Advance(-(7*24*time.Hour + time.Second))
		for _, u := range []string{link, first.NextLink} {
			r := get(t, h, u)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.status, r.body)
			}
			if e := decodeError(t, r); e.Error.Code != "syncStateNotFound" {
				t.Errorf("code %q", e.Error.Code)
			}
		}
		golden.Check(t, filepath.Join("testdata", "golden", "delta-error-expired.json"), normalise(t, get(t, h, link).body))
	})
	t.Run("still valid just before the TTL", func(t *testing.T) {
		clk.Advance(7 * 24 * time.Hour)
		defer clk.Advance(-7 * 24 * time.Hour)
		if r := get(t, h, link); r.status != http.StatusOK {
			t.Errorf("status %d: %s", r.status, r.body)
		}
	})
	t.Run("reset by ExpireDeltaTokens", func(t *testing.T) {
		sim.ExpireDeltaTokens()
		r := get(t, h, link)
		if r.status != http.StatusGone {
			t.Fatalf("status %d, want 410: %s", r.status, r.body)
		}
		loc := r.header.Get("Location")
		if loc != base+"/v1.0/users/delta?$select=displayName&$deltatoken=" {
			t.Errorf("Location %q", loc)
		}
		golden.Check(t, filepath.Join("testdata", "golden", "delta-error-reset.json"), normalise(t, r.body))
		if r := get(t, h, first.NextLink); r.status != http.StatusGone {
			t.Errorf("skip token after reset: status %d", r.status)
		}
		// The Location restarts a full round.
		items, fresh, _ := deltaRound(t, h, loc, nil)
		if len(items) != 36 {
			t.Errorf("restart returned %d users", len(items))
		}
		if r := get(t, h, fresh); r.status != http.StatusOK {
			t.Errorf("new deltaLink: status %d", r.status)
		}
	})
}

func decodeDelta(t testing.TB, r response) deltaPage {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var p deltaPage
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDeltaEmptyPagesAndPageSize(t *testing.T) {
	sim := newSim(t, &graphsim.Options{EmptyDeltaPages: true, DeltaPageSize: 7})
	h := sim.Handler()
	first := decodeDelta(t, get(t, h, base+"/v1.0/users/delta"))
	if len(first.Value) != 0 || first.NextLink == "" {
		t.Fatalf("first page: want empty with a nextLink, got %d items", len(first.Value))
	}
	items, link, pages := deltaRound(t, h, base+"/v1.0/users/delta", nil)
	if len(items) != 36 || pages != 1+(36+6)/7 {
		t.Errorf("%d users over %d pages", len(items), pages)
	}
	later, _, pages := deltaRound(t, h, link, nil)
	if len(later) != 0 || pages != 2 {
		t.Errorf("later round: %d items over %d pages, want an empty page then the deltaLink", len(later), pages)
	}
}

func TestDeltaChangesDuringPagingAreNotLost(t *testing.T) {
	sim := newSim(t, &graphsim.Options{DeltaPageSize: 5})
	h := sim.Handler()
	_, link, _ := deltaRound(t, h, base+"/v1.0/users/delta?$select=jobTitle", nil)
	users := listAll(t, h, "/v1.0/users?%24select=id")
	for _, u := range users[:12] {
		if _, err := sim.Update(graphsim.KindUser, u["id"].(string), map[string]any{"jobTitle": "Changed once"}); err != nil {
			t.Fatal(err)
		}
	}
	// Page through the changes while more happen.
	p := decodeDelta(t, get(t, h, link))
	seen := map[string]bool{}
	for _, it := range p.Value {
		seen[it["id"].(string)] = true
	}
	for _, u := range users[:12] {
		if _, err := sim.Update(graphsim.KindUser, u["id"].(string), map[string]any{"jobTitle": "Changed twice"}); err != nil {
			t.Fatal(err)
		}
	}
	rest, next, _ := deltaRound(t, h, p.NextLink, nil)
	for _, it := range rest {
		seen[it["id"].(string)] = true
	}
	if len(seen) != 12 {
		t.Errorf("round saw %d of the 12 changed users", len(seen))
	}
	// The second changes come in the next round (replays are allowed).
	again, _, _ := deltaRound(t, h, next, nil)
	if len(again) != 12 {
		t.Errorf("next round: %d users, want the 12 changed again", len(again))
	}
	for _, it := range again {
		if it["jobTitle"] != "Changed twice" {
			t.Errorf("%v", it)
		}
	}
}

func TestDeltaDenyAndThrottle(t *testing.T) {
	cases := []struct{ deny, path string }{
		{graphsim.SourceUsers, "/v1.0/users/delta"},
		{graphsim.SourceGroups, "/v1.0/groups/delta"},
		{graphsim.SourceServicePrincipals, "/v1.0/servicePrincipals/delta"},
		{graphsim.SourceApplications, "/v1.0/applications/delta"},
	}
	for _, tc := range cases {
		sim := newSim(t, &graphsim.Options{Deny: []string{tc.deny}})
		r := get(t, sim.Handler(), base+tc.path)
		if r.status != http.StatusForbidden || decodeError(t, r).Error.Code != "Authorization_RequestDenied" {
			t.Errorf("%s denied: status %d %s", tc.path, r.status, r.body)
		}
		if st := sim.Stats(); st.Requests[strings.TrimPrefix(tc.path, "/v1.0")] != 1 || st.Status[403] != 1 {
			t.Errorf("%s: stats %+v", tc.path, st)
		}
	}
	sim := newSim(t, &graphsim.Options{ThrottleRate: 1})
	if r := get(t, sim.Handler(), base+"/v1.0/users/delta"); r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Errorf("throttled delta: status %d", r.status)
	}
	// A client that retries 429s completes rounds.
	sim = newSim(t, &graphsim.Options{ThrottleRate: 0.4, Seed: 4, Users: 300, DeltaPageSize: 50})
	h := sim.Handler()
	u, n, throttled := base+"/v1.0/users/delta()", 0, 0
	for u != "" {
		r := get(t, h, u)
		if r.status == http.StatusTooManyRequests {
			throttled++
			continue
		}
		p := decodeDelta(t, r)
		n += len(p.Value)
		u = p.NextLink
	}
	if n != 336 || throttled == 0 {
		t.Errorf("%d users with %d retries", n, throttled)
	}
}

func TestChangeRoutes(t *testing.T) {
	sim := newSim(t, nil)
	want := []string{"/applications/delta", "/groups/delta", "/servicePrincipals/delta", "/subscriptions",
		"/subscriptions/{id}", "/subscriptions/{id}/reauthorize", "/users/delta"}
	if diff := cmp.Diff(want, sim.ChangeRoutes()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(sim.Routes()) != 20 {
		t.Errorf("Routes() = %d, want the 20 list routes", len(sim.Routes()))
	}
}
