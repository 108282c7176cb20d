package graph_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graph"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// recording is a base transport that keeps each request's URL.
type recording struct {
	mu   sync.Mutex
	urls []string
}

func (r *recording) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.urls = append(r.urls, req.URL.String())
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recording) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.urls
	r.urls = nil
	return out
}

// lockedLog is a log sink safe for the client's goroutines.
type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

// simClient serves a simulated tenant and returns a client of it that
// records its requests and logs to log.
func simClient(t *testing.T, o *graphsim.Options, log *lockedLog) (*graph.Client, *graphsim.Server, *recording) {
	t.Helper()
	if o.Now.IsZero() {
		o.Now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	}
	if o.Scenario == nil {
		o.Scenario = apt29.Scenario()
	}
	s, err := graphsim.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	rec := &recording{}
	var l *slog.Logger
	if log != nil {
		l = slog.New(slog.NewTextHandler(log, nil))
	}
	c, err := graph.NewClient(srv.URL+"/graph", graph.AuthNone, &graph.ClientOptions{Transport: rec, Logger: l})
	if err != nil {
		t.Fatal(err)
	}
	return c, s, rec
}

const registrationsRoute = "/reports/authenticationMethods/userRegistrationDetails"

// TestRegistrationsPageSize: the registration report is read at 999 a
// page; where Graph answers 400 for $top, the read falls back to Graph's
// default page at once, says so in one log line, and later reads of the
// same Graph root no longer send $top.
func TestRegistrationsPageSize(t *testing.T) {
	t.Parallel()
	const users = 2000 // plus the scenario's 36
	rows := users + 36
	tests := []struct {
		name   string
		reject bool
		// requests per read, the first read's and the later ones'
		first, later int
		topFirst     bool // the later reads' first request carries $top
		warnings     int
	}{
		{name: "999 accepted", first: (rows + 998) / 999, later: (rows + 998) / 999, topFirst: true},
		{name: "$top refused", reject: true, first: 1 + (rows+99)/100, later: (rows + 99) / 100, warnings: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			log := &lockedLog{}
			c, sim, rec := simClient(t, &graphsim.Options{Users: users, RejectRegistrationTop: tc.reject}, log)
			for read := range 3 {
				before := sim.Stats().Requests[registrationsRoute]
				got, err := collect(func(fn func(tenant.Registration) error) error { return c.Registrations(t.Context(), fn) })
				if err != nil {
					t.Fatalf("read %d: %v", read, err)
				}
				if len(got) != rows {
					t.Errorf("read %d: %d rows, want %d", read, len(got), rows)
				}
				want := tc.later
				if read == 0 {
					want = tc.first
				}
				if n := sim.Stats().Requests[registrationsRoute] - before; n != want {
					t.Errorf("read %d: %d requests, want %d", read, n, want)
				}
				urls := rec.take()
				first, err := url.Parse(urls[0])
				if err != nil {
					t.Fatal(err)
				}
				if first.Query().Get("$top") != "999" {
					if read == 0 || tc.topFirst {
						t.Errorf("read %d: first request %s has no $top=999", read, urls[0])
					}
				} else if read > 0 && !tc.topFirst {
					t.Errorf("read %d: first request %s sends $top again after Graph refused it", read, urls[0])
				}
			}
			if n := log.count("refused $top"); n != tc.warnings {
				t.Errorf("%d log lines about the refused $top, want %d", n, tc.warnings)
			}
		})
	}
}

// TestSignInActivityReads: signInActivity alone, for a set of users (15
// ids a request) or for every user (500 a page), with the dates a read of
// users with signInActivity gives.
func TestSignInActivityReads(t *testing.T) {
	t.Parallel()
	c, sim, _ := simClient(t, &graphsim.Options{Users: 1200}, nil)
	ctx := t.Context()
	all, err := collect(func(fn func(tenant.User) error) error { return c.Users(ctx, true, fn) })
	if err != nil {
		t.Fatal(err)
	}
	want := make(map[string]time.Time, len(all))
	var never []string
	for _, u := range all {
		if !u.SignInActivityRead {
			t.Fatalf("%s read with signInActivity is not marked SignInActivityRead", u.ID)
		}
		want[u.ID] = u.LastSuccessfulSignIn
		if u.LastSuccessfulSignIn.IsZero() {
			never = append(never, u.ID)
		}
	}
	if len(never) == 0 {
		t.Fatal("the scenario has no user who never signed in")
	}
	check := func(what string, got []tenant.SignInActivity, n int) {
		t.Helper()
		if len(got) != n {
			t.Errorf("%s: %d users, want %d", what, len(got), n)
		}
		for _, a := range got {
			if w, ok := want[a.UserID]; !ok || !w.Equal(a.LastSuccessfulSignIn) {
				t.Errorf("%s: %s last signed in %v, want %v", what, a.UserID, a.LastSuccessfulSignIn, w)
			}
		}
	}

	// 31 distinct users (those who never signed in among them), repeated,
	// upper-cased, and two ids that are no GUIDs: three requests.
	var ids []string
	ids = append(ids, never...)
	for _, u := range all[len(all)-(31-len(never)):] {
		ids = append(ids, u.ID)
	}
	ids = append(ids, strings.ToUpper(ids[0]), ids[1], "not-a-guid", "x')or(1 eq 1")
	before := sim.Stats()
	got, err := collect(func(fn func(tenant.SignInActivity) error) error { return c.SignInActivityByID(ctx, ids, fn) })
	if err != nil {
		t.Fatal(err)
	}
	check("by id", got, 31)
	after := sim.Stats()
	if n := after.SignInActivity - before.SignInActivity; n != 3 {
		t.Errorf("by id: %d signInActivity requests for 31 users, want 3 (15 ids a request)", n)
	}

	got, err = collect(func(fn func(tenant.SignInActivity) error) error { return c.SignInActivity(ctx, fn) })
	if err != nil {
		t.Fatal(err)
	}
	check("every user", got, len(all))
	if n := sim.Stats().SignInActivity - after.SignInActivity; n != (len(all)+499)/500 {
		t.Errorf("every user: %d requests for %d users, want %d (500 a page)", n, len(all), (len(all)+499)/500)
	}

	// Without P1/P2 both are denied for signInActivity, not for users.
	c, _, _ = simClient(t, &graphsim.Options{NoPremium: true}, nil)
	for name, read := range map[string]func() error{
		"by id": func() error {
			return c.SignInActivityByID(ctx, ids[:2], func(tenant.SignInActivity) error { return nil })
		},
		"every user": func() error { return c.SignInActivity(ctx, func(tenant.SignInActivity) error { return nil }) },
	} {
		if err := read(); !graph.LicenceMissing(err) || !strings.Contains(err.Error(), "AuditLog.Read.All") {
			t.Errorf("%s without P1: %v", name, err)
		}
	}
}

// TestUsersSignInActivityRead: users read with signInActivity — every
// user, or by id — are marked SignInActivityRead, those who never signed
// in included; users read without it are not.
func TestUsersSignInActivityRead(t *testing.T) {
	t.Parallel()
	c, _, _ := simClient(t, &graphsim.Options{Users: 30}, nil)
	ctx := t.Context()
	for _, with := range []bool{false, true} {
		all, err := collect(func(fn func(tenant.User) error) error { return c.Users(ctx, with, fn) })
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, u := range all {
			if u.SignInActivityRead != with {
				t.Errorf("Users(withSignInActivity=%v): %s marked read = %v", with, u.ID, u.SignInActivityRead)
			}
			ids = append(ids, u.ID)
		}
		byID, err := collect(func(fn func(tenant.User) error) error { return c.UsersByID(ctx, ids[:20], with, fn) })
		if err != nil {
			t.Fatal(err)
		}
		if len(byID) != 20 {
			t.Fatalf("UsersByID: %d users, want 20", len(byID))
		}
		for _, u := range byID {
			if u.SignInActivityRead != with {
				t.Errorf("UsersByID(withSignInActivity=%v): %s marked read = %v", with, u.ID, u.SignInActivityRead)
			}
		}
	}
}
