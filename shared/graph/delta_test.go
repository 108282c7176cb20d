package graph_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/graph"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

const (
	spSelect  = "id,appId,displayName,appOwnerOrganizationId,servicePrincipalType,accountEnabled,keyCredentials,passwordCredentials,replyUrls,appRoles"
	appSelect = "id,appId,displayName,keyCredentials,passwordCredentials,web,spa,publicClient"

	// usersDeltaLink is the @odata.deltaLink of users-delta-p3.json, after
	// the API base.
	usersDeltaLink = "/users/delta?$deltatoken=oEcOySpF_hWYmTIUZBOIfPzcwisr_rPe8o9M54L45qEXQGmvQC6T2dbL-9O7nSU-njKhFiGlAZqewNAThmCVnNxqPu5gOBegrm1CaVZ-ZtFZ2tPOAO98OD9y0ao460"
)

// collectDelta gathers the items of one round.
func collectDelta[T any](round func(func(tenant.DeltaItem[T]) error) (string, error)) ([]tenant.DeltaItem[T], string, error) {
	var out []tenant.DeltaItem[T]
	link, err := round(func(it tenant.DeltaItem[T]) error {
		out = append(out, it)
		return nil
	})
	return out, link, err
}

func usersDelta(c *graph.Client, link string) func(context.Context) (any, string, error) {
	return func(ctx context.Context) (any, string, error) {
		return collectDelta(func(fn func(tenant.DeltaItem[tenant.User]) error) (string, error) { return c.UsersDelta(ctx, link, fn) })
	}
}

// TestDeltaRounds runs rounds without a link against canned pages: the
// first request is GET {collection}/delta() with the collection's $select
// and nothing else, every next link is followed (an empty page with a next
// link included), the round returns the last page's delta link, and the
// items (objects, Removed, Present) match the golden files.
func TestDeltaRounds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		files  []string
		path   string // of the first request, after /v1.0
		next   string // path of the next links, after /v1.0
		query  map[string]string
		link   string // want, after the API base
		golden string
		round  func(ctx context.Context, c *graph.Client) (any, string, error)
	}{
		{
			name:  "users full round",
			files: []string{"users-delta-p1.json", "users-delta-p2.json", "users-delta-p3.json"},
			path:  "/users/delta()", next: "/users/delta",
			query:  map[string]string{"$select": userSelect},
			link:   usersDeltaLink,
			golden: "usersDelta-full",
			round: func(ctx context.Context, c *graph.Client) (any, string, error) {
				return usersDelta(c, "")(ctx)
			},
		},
		{
			name:  "users changes",
			files: []string{"users-delta-changes.json"},
			path:  "/users/delta()",
			query: map[string]string{"$select": userSelect},
			link:  "/users/delta?$deltatoken=mS5DuRZGjVL-abreviated-2", golden: "usersDelta-changes",
			round: func(ctx context.Context, c *graph.Client) (any, string, error) {
				return usersDelta(c, "")(ctx)
			},
		},
		{
			name:  "servicePrincipals changes",
			files: []string{"servicePrincipals-delta-changes.json"},
			path:  "/servicePrincipals/delta()",
			query: map[string]string{"$select": spSelect},
			link:  "/servicePrincipals/delta?$deltatoken=Fv3Q9yD1c6Xh-abbreviated", golden: "servicePrincipalsDelta-changes",
			round: func(ctx context.Context, c *graph.Client) (any, string, error) {
				return collectDelta(func(fn func(tenant.DeltaItem[tenant.ServicePrincipal]) error) (string, error) {
					return c.ServicePrincipalsDelta(ctx, "", fn)
				})
			},
		},
		{
			name:  "applications changes",
			files: []string{"applications-delta-changes.json"},
			path:  "/applications/delta()",
			query: map[string]string{"$select": appSelect},
			link:  "/applications/delta?$deltatoken=Ap9cZ1-abbreviated", golden: "applicationsDelta-changes",
			round: func(ctx context.Context, c *graph.Client) (any, string, error) {
				return collectDelta(func(fn func(tenant.DeltaItem[tenant.Application]) error) (string, error) {
					return c.ApplicationsDelta(ctx, "", fn)
				})
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, pages(tc.files...))
			items, link, err := tc.round(t.Context(), newClient(t, f, nil))
			if err != nil {
				t.Fatalf("round: %v", err)
			}
			if want := f.api() + tc.link; link != want {
				t.Errorf("link = %q, want %q", link, want)
			}
			reqs := f.requests()
			if len(reqs) != len(tc.files) {
				t.Fatalf("server saw %d requests, want %d (one per page)", len(reqs), len(tc.files))
			}
			if r := reqs[0]; r.Method != http.MethodGet || r.Path != prefix+"/v1.0"+tc.path {
				t.Errorf("first request = %s %s, want GET %s", r.Method, r.Path, prefix+"/v1.0"+tc.path)
			}
			if diff := cmp.Diff(tc.query, flatQuery(t, reqs[0].Query)); diff != "" {
				t.Errorf("first request query (-want +got):\n%s", diff)
			}
			for i, r := range reqs[1:] {
				if want := "$skiptoken=" + strconv.Itoa(i+1); r.Path != prefix+"/v1.0"+tc.next || r.RawQuery != want {
					t.Errorf("request %d = %s?%s, want the next link %s?%s", i+1, r.Path, r.RawQuery, tc.next, want)
				}
			}
			checkGolden(t, tc.golden, items)
		})
	}
}

// TestDeltaPresent pins what Present says about properties that were sent
// empty, null, or not at all: the golden files show it too, this says why.
func TestDeltaPresent(t *testing.T) {
	t.Parallel()

	t.Run("users", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, pages("users-delta-changes.json"))
		items, _, err := collectDelta(func(fn func(tenant.DeltaItem[tenant.User]) error) (string, error) {
			return newClient(t, f, nil).UsersDelta(t.Context(), "", fn)
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 5 {
			t.Fatalf("got %d items, want 5", len(items))
		}
		want := [][]string{
			{"id", "displayName"},                           // renamed only
			{"id", "assignedLicenses"},                      // licences only
			{"id", "userPrincipalName", "assignedLicenses"}, // "assignedLicenses": []
			{"id", "displayName", "accountEnabled"},         // "displayName": null
			{"id"},                                          // @removed
		}
		for i, it := range items {
			if diff := cmp.Diff(want[i], it.Present); diff != "" {
				t.Errorf("item %d Present (-want +got):\n%s", i, diff)
			}
			if got, wantRemoved := it.Removed, i == 4; got != wantRemoved {
				t.Errorf("item %d Removed = %v, want %v", i, got, wantRemoved)
			}
		}
		if it := items[0]; it.Has("assignedLicenses") || it.Object.Licenses != nil || it.Object.UPN != "" {
			t.Errorf("absent licences and UPN must read as absent: %+v", it)
		}
		if it := items[2]; !it.Has("assignedLicenses") || len(it.Object.Licenses) != 0 {
			t.Errorf(`"assignedLicenses": [] must read as present and empty: %+v`, it)
		}
		if it := items[3]; !it.Has("displayName") || it.Object.DisplayName != "" || it.Has("userPrincipalName") {
			t.Errorf(`"displayName": null must read as present and empty: %+v`, it)
		}
	})

	t.Run("servicePrincipals", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, pages("servicePrincipals-delta-changes.json"))
		items, _, err := collectDelta(func(fn func(tenant.DeltaItem[tenant.ServicePrincipal]) error) (string, error) {
			return newClient(t, f, nil).ServicePrincipalsDelta(t.Context(), "", fn)
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 4 {
			t.Fatalf("got %d items, want 4", len(items))
		}
		// "keyCredentials": [] → present and empty.
		if it := items[0]; !it.Has("keyCredentials") || len(it.Object.Credentials) != 0 || it.Has("passwordCredentials") {
			t.Errorf(`"keyCredentials": []: Present = %q, credentials %v`, it.Present, it.Object.Credentials)
		}
		// No keyCredentials at all → absent, though the object has no key
		// credentials either.
		if it := items[1]; it.Has("keyCredentials") || !it.Has("passwordCredentials") || len(it.Object.Credentials) != 1 {
			t.Errorf("keyCredentials absent: Present = %q, credentials %v", it.Present, it.Object.Credentials)
		}
		// "replyUrls": null → present and empty.
		if it := items[2]; !it.Has("replyUrls") || it.Object.ReplyURLs != nil || !it.Has("keyCredentials") {
			t.Errorf(`"replyUrls": null: Present = %q, replyUrls %v`, it.Present, it.Object.ReplyURLs)
		}
		if diff := cmp.Diff(strings.Split(spSelect, ","), items[3].Present); diff != "" {
			t.Errorf("complete item Present (-want +got):\n%s", diff)
		}
	})
}

// TestDeltaPresentShared: items that carried the same properties share one
// Present slice (a full round repeats one set for every object).
func TestDeltaPresentShared(t *testing.T) {
	t.Parallel()
	f := newFake(t, pages("users-delta-p1.json", "users-delta-p2.json", "users-delta-p3.json"))
	items, _, err := collectDelta(func(fn func(tenant.DeltaItem[tenant.User]) error) (string, error) {
		return newClient(t, f, nil).UsersDelta(t.Context(), "", fn)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 4 {
		t.Fatalf("got %d items, want 4", len(items))
	}
	if &items[0].Present[0] != &items[1].Present[0] {
		t.Error("two complete users got separate Present slices")
	}
	if &items[1].Present[0] == &items[2].Present[0] {
		t.Error("a user without assignedLicenses shares the slice of complete users")
	}
}

// TestDeltaResume: a stored link is requested verbatim (its path under the
// prefix and its undecoded query), with no $select added.
func TestDeltaResume(t *testing.T) {
	t.Parallel()
	f := newFake(t, pages("users-delta-changes.json"))
	const query = "$deltatoken=oEcOySpF_hWY-mT~IU.ZB%2BOIf%2FPz%3D%3D&$tenant=x"
	link := f.api() + "/users/delta?" + query
	items, next, err := collectDelta(func(fn func(tenant.DeltaItem[tenant.User]) error) (string, error) {
		return newClient(t, f, nil).UsersDelta(t.Context(), link, fn)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 5 || next != f.api()+"/users/delta?$deltatoken=mS5DuRZGjVL-abreviated-2" {
		t.Errorf("got %d items and link %q", len(items), next)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodGet || r.Path != prefix+"/v1.0/users/delta" || r.RawQuery != query {
		t.Errorf("request = %s %s?%s, want GET %s?%s", r.Method, r.Path, r.RawQuery, prefix+"/v1.0/users/delta", query)
	}
	if r.Query.Has("$select") {
		t.Errorf("$select %q added to a stored link", r.Query.Get("$select"))
	}
}

// TestDeltaExpired: every form of an expired or unusable link is
// tenant.ErrDeltaExpired; links that cannot be this client's are refused
// without a request.
func TestDeltaExpired(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		serve    func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int)
		link     func(f *fakeGraph) string
		full     bool // a round without a link
		requests int
		contains string
	}{
		{
			name:     "410 Gone",
			serve:    status(http.StatusGone, ""),
			requests: 1,
			contains: "graph: GET /users/delta: 410: gone (the delta link expired; run a full round)",
		},
		{
			name: "410 Gone with Location",
			serve: func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("Location", f.api()+"/users/delta?$deltatoken=")
				w.WriteHeader(http.StatusGone)
			},
			requests: 1,
			contains: "410",
		},
		{
			name:     "400 syncStateNotFound",
			serve:    status(http.StatusBadRequest, "error-syncstatenotfound.json"),
			requests: 1,
			contains: "400 syncStateNotFound: The sync state generation is not found.",
		},
		{
			name:     "400 resyncRequired",
			serve:    status(http.StatusBadRequest, "error-resyncrequired.json"),
			requests: 1,
			contains: "400 resyncRequired:",
		},
		{
			name: "410 on a next page",
			serve: func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
				if n == 0 {
					f.file(w, http.StatusOK, "users-delta-p1.json")
					return
				}
				w.WriteHeader(http.StatusGone)
			},
			full:     true,
			requests: 2,
			contains: "410",
		},
		{
			name:     "another host",
			link:     func(*fakeGraph) string { return "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=x" },
			contains: "graph: GET /users/delta: the stored delta link is not a link to http://127.0.0.1",
		},
		{
			name:     "another collection",
			link:     func(f *fakeGraph) string { return f.api() + "/servicePrincipals/delta?$deltatoken=x" },
			contains: "the stored delta link is not a users delta link; run a full round",
		},
		{
			name:     "another version",
			link:     func(f *fakeGraph) string { return f.root() + "/beta/users/delta?$deltatoken=x" },
			contains: "is not a users delta link",
		},
		{
			name:     "relative",
			link:     func(*fakeGraph) string { return "/users/delta?$deltatoken=x" },
			contains: "is not an absolute url",
		},
		{
			name:     "not a url",
			link:     func(*fakeGraph) string { return "http://[::1" },
			contains: "is not an absolute url",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			serve := tc.serve
			if serve == nil {
				serve = pages("users-delta-changes.json")
			}
			f := newFake(t, serve)
			link := f.api() + "/users/delta?$deltatoken=expired"
			if tc.link != nil {
				link = tc.link(f)
			}
			if tc.full {
				link = ""
			}
			calls := 0
			got, err := newClient(t, f, nil).UsersDelta(t.Context(), link, func(tenant.DeltaItem[tenant.User]) error {
				calls++
				return nil
			})
			checkSentinel(t, err, tenant.ErrDeltaExpired)
			if got != "" {
				t.Errorf("link = %q, want none", got)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("Error() = %q, want it to contain %q", err, tc.contains)
			}
			if n := len(f.requests()); n != tc.requests {
				t.Errorf("server saw %d requests, want %d", n, tc.requests)
			}
			var ge *graph.Error
			if !errors.As(err, &ge) || ge.Permission != "User.Read.All" {
				t.Errorf("err = %#v, want a *graph.Error naming User.Read.All", err)
			}
		})
	}
}

// TestDeltaThrottled: a 429 with Retry-After on a page of a round is
// retried by the middleware and the round completes; past MaxRetries it is
// ErrThrottled.
func TestDeltaThrottled(t *testing.T) {
	t.Parallel()
	files := []string{"users-delta-p1.json", "users-delta-p2.json", "users-delta-p3.json"}
	serve := func(failures int) func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
		ok := pages(files...)
		return func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
			if n >= 1 && n <= failures { // the second page's first attempts
				w.Header().Set("Retry-After", "0")
				f.file(w, http.StatusTooManyRequests, "error-429.json")
				return
			}
			ok(f, w, r, n)
		}
	}

	t.Run("retried", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, serve(2))
		rt := &counting{base: http.DefaultTransport}
		items, link, err := collectDelta(func(fn func(tenant.DeltaItem[tenant.User]) error) (string, error) {
			return newClient(t, f, &graph.ClientOptions{Transport: rt, MaxRetries: 2}).UsersDelta(t.Context(), "", fn)
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 4 || link != f.api()+usersDeltaLink {
			t.Errorf("got %d items and link %q", len(items), link)
		}
		if n := rt.n.Load(); n != 5 {
			t.Errorf("transport saw %d requests, want 5 (3 pages + 2 retries)", n)
		}
	})

	t.Run("still throttled", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, serve(100))
		rt := &counting{base: http.DefaultTransport}
		_, err := newClient(t, f, &graph.ClientOptions{Transport: rt, MaxRetries: 1}).UsersDelta(t.Context(), "",
			func(tenant.DeltaItem[tenant.User]) error { return nil })
		checkSentinel(t, err, tenant.ErrThrottled)
		if n := rt.n.Load(); n != 3 {
			t.Errorf("transport saw %d requests, want 3 (first page, second page + 1 retry)", n)
		}
	})
}

// TestDeltaCallbackError: a callback error ends the round at once, comes
// back unchanged, and no link is returned.
func TestDeltaCallbackError(t *testing.T) {
	t.Parallel()
	stop := errors.New("stop here")
	f := newFake(t, pages("users-delta-p1.json", "users-delta-p2.json", "users-delta-p3.json"))
	calls := 0
	link, err := newClient(t, f, nil).UsersDelta(t.Context(), "", func(tenant.DeltaItem[tenant.User]) error {
		calls++
		return stop
	})
	if err != stop { //nolint:errorlint // unchanged means the same value
		t.Errorf("err = %v, want the callback's error unchanged", err)
	}
	if link != "" || calls != 1 || len(f.requests()) != 1 {
		t.Errorf("link %q, calls %d, requests %d; want none, 1, 1", link, calls, len(f.requests()))
	}
}

// TestDeltaNoDeltaLink: a last page without a delta link is a decode
// failure, not a link to store.
func TestDeltaNoDeltaLink(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"value":[{"id":"6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0"}]}`))
	})
	calls := 0
	link, err := newClient(t, f, nil).ServicePrincipalsDelta(t.Context(), "", func(tenant.DeltaItem[tenant.ServicePrincipal]) error {
		calls++
		return nil
	})
	checkSentinel(t, err, nil)
	if want := "graph: GET /servicePrincipals/delta: cannot decode the response: the last page carries no @odata.deltaLink"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v, want prefix %q", err, want)
	}
	if link != "" || calls != 1 {
		t.Errorf("link %q, calls %d", link, calls)
	}
}
