package doctor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/doctor"
	"github.com/tenantwatch/tenantwatch/shared/golden"
	"github.com/tenantwatch/tenantwatch/shared/graph"
	"github.com/tenantwatch/tenantwatch/shared/graph/webhook"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/notify"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// allPermissions is what the deployment grants.
var allPermissions = graph.RequiredPermissions()

// sim serves a simulated tenant over HTTP and returns the real Graph
// client pointed at it, as production is pointed at Graph.
func sim(t *testing.T, o graphsim.Options) (*graph.Client, *graphsim.Server) {
	t.Helper()
	o.Now = t0
	o.Clock = func() time.Time { return t0 }
	o.AllowHTTPNotificationURL = true
	s, err := graphsim.New(&o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	c, err := graph.NewClient(srv.URL, graph.AuthNone, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

var facts = doctor.Facts{Permissions: graph.RequiredPermissions(),
	PermissionSources: graph.PermissionSources, LicenceMissing: graph.LicenceMissing}

func newDoctor(t *testing.T, g doctor.Graph, o *doctor.Options) *doctor.Doctor {
	t.Helper()
	d, err := doctor.New(g, facts, o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func without(drop ...string) []string {
	var out []string
	for _, p := range allPermissions {
		if !slices.Contains(drop, p) {
			out = append(out, p)
		}
	}
	return out
}

func statuses(r doctor.Report) map[string]doctor.Status {
	m := make(map[string]doctor.Status)
	for _, c := range r.Checks {
		m[c.Name] = c.Status
	}
	return m
}

func check(t *testing.T, r doctor.Report, name string) doctor.Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %q in %+v", name, r.Checks)
	return doctor.Check{}
}

// TestPermissionsAndLicences: permissions withheld one at a time (403s)
// and a tenant without Entra ID P1/P2, through the real client against
// the simulated tenant. Each gap is reported on its own line, with the
// rules it skips; everything else stays ok.
func TestPermissionsAndLicences(t *testing.T) {
	t.Parallel()
	objects := []string{"Organization.Read.All", "User.Read.All", "Group.Read.All", "Application.Read.All"}
	type tc struct {
		name      string
		granted   []string
		noPremium bool
		want      map[string]doctor.Status // checks not listed must be ok
		rule      string                   // a rule the first FAIL must name
	}
	cases := []tc{
		{name: "everything", granted: allPermissions},
		{name: "Directory.Read.All stands in for User.Read.All", granted: without("User.Read.All")},
		{name: "no AuditLog.Read.All", granted: without("AuditLog.Read.All"), rule: "signin.azure-ip",
			want: map[string]doctor.Status{"AuditLog.Read.All": doctor.StatusFail, "Directory.Read.All": doctor.StatusSkip}},
		{name: "no Directory.Read.All", granted: without("Directory.Read.All"), rule: "role.global-admin-added",
			want: map[string]doctor.Status{"Directory.Read.All": doctor.StatusFail}},
		{name: "no Policy.Read.All", granted: without("Policy.Read.All"), rule: "policy.registration-unrestricted",
			want: map[string]doctor.Status{"Policy.Read.All": doctor.StatusFail, "trusted named locations": doctor.StatusSkip}},
		{name: "no P1/P2", granted: allPermissions, noPremium: true, rule: "signin.azure-ip",
			want: map[string]doctor.Status{"Entra ID P1/P2 licence": doctor.StatusFail, "trusted named locations": doctor.StatusSkip}},
		{name: "no P1/P2 and no AuditLog.Read.All", granted: without("AuditLog.Read.All"), noPremium: true, rule: "signin.azure-ip",
			want: map[string]doctor.Status{"AuditLog.Read.All": doctor.StatusFail, "Directory.Read.All": doctor.StatusSkip,
				"Entra ID P1/P2 licence": doctor.StatusFail, "trusted named locations": doctor.StatusSkip}},
	}
	for _, p := range objects {
		want := map[string]doctor.Status{p: doctor.StatusFail, "Directory.Read.All": doctor.StatusFail}
		if p == "Organization.Read.All" {
			want["Entra ID P1/P2 licence"] = doctor.StatusSkip // /subscribedSkus needs it
		}
		cases = append(cases, tc{name: "no " + p, granted: without(p, "Directory.Read.All"), want: want})
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := sim(t, graphsim.Options{Permissions: tt.granted, NoPremium: tt.noPremium})
			r := newDoctor(t, c, &doctor.Options{Now: func() time.Time { return t0 }}).Run(t.Context())
			got := statuses(r)
			for _, p := range allPermissions {
				if _, ok := got[p]; !ok {
					t.Errorf("no line for %s", p)
				}
			}
			for name, st := range got {
				want, listed := tt.want[name]
				switch {
				case listed && st != want:
					t.Errorf("%s: %s, want %s (%s)", name, st, want, check(t, r, name).Detail)
				case !listed && st != doctor.StatusOK && !strings.Contains("Teams webhook subscriptions", name):
					t.Errorf("%s: %s, want ok (%s)", name, st, check(t, r, name).Detail)
				}
			}
			if failed := r.Failed(); failed != slices.Contains(mapsValues(tt.want), doctor.StatusFail) {
				t.Errorf("Failed() = %v", failed)
			}
			for name, st := range tt.want {
				c := check(t, r, name)
				if st == doctor.StatusFail && c.Fix == "" {
					t.Errorf("%s fails without saying what to do", name)
				}
				if st == doctor.StatusFail && tt.rule != "" && strings.HasSuffix(name, ".Read.All") && name != "Directory.Read.All" &&
					!strings.Contains(c.Fix, tt.rule) {
					t.Errorf("%s: fix %q does not name %s", name, c.Fix, tt.rule)
				}
			}
			if tt.noPremium {
				if c := check(t, r, "Entra ID P1/P2 licence"); !strings.Contains(c.Fix, tt.rule) || !strings.Contains(c.Detail, "P1 or P2") {
					t.Errorf("licence line %+v: want the reason and the rules it skips", c)
				}
			}
		})
	}
}

func mapsValues(m map[string]doctor.Status) []doctor.Status {
	var out []doctor.Status
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// untrusted hides the trust of every named location.
type untrusted struct{ *graph.Client }

func (u untrusted) NamedLocations(ctx context.Context) ([]tenant.NamedLocation, error) {
	locs, err := u.Client.NamedLocations(ctx)
	for i := range locs {
		locs[i].Trusted = false
	}
	return locs, err
}

func TestNamedLocations(t *testing.T) {
	t.Parallel()
	c, _ := sim(t, graphsim.Options{})
	r := newDoctor(t, c, nil).Run(t.Context())
	if got := check(t, r, "trusted named locations"); got.Status != doctor.StatusOK || !strings.Contains(got.Detail, "2 trusted IP named locations") {
		t.Errorf("the scenario's trusted locations: %+v", got)
	}
	r = newDoctor(t, untrusted{c}, nil).Run(t.Context())
	got := check(t, r, "trusted named locations")
	if got.Status != doctor.StatusWarn || !strings.Contains(got.Fix, "mfa.registration-untrusted-location") {
		t.Errorf("no trusted location: %+v; want a warning naming the rule it skips", got)
	}
	if r.Failed() {
		t.Error("a missing trusted location is a warning, not a failure")
	}
}

// endpoint answers Graph's validation handshake, as GraphNotifications does.
func endpoint(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok, ok := webhook.ValidationToken(r.URL.RawQuery); ok {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, tok)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/api/GraphNotifications?code=function-key-secret"
}

func TestSubscriptions(t *testing.T) {
	t.Parallel()
	c, _ := sim(t, graphsim.Options{})
	url := endpoint(t)
	expiry := t0.Add(20 * 24 * time.Hour)
	for _, res := range []string{"users"} { // groups left missing
		if _, err := c.CreateSubscription(t.Context(), tenant.Subscription{Resource: res, ChangeType: "updated,deleted",
			NotificationURL: url, ClientState: "state", ExpirationDateTime: expiry}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name        string
		url         string
		now         time.Time
		users       doctor.Status
		groups      doctor.Status
		detailUsers string
	}{
		{"fresh", url, t0, doctor.StatusOK, doctor.StatusFail, "in 20d0h"},
		{"expiring within 72h", url, expiry.Add(-24 * time.Hour), doctor.StatusWarn, doctor.StatusFail, "in 24h0m0s"},
		{"expired", url, expiry.Add(time.Minute), doctor.StatusFail, doctor.StatusFail, "expired"},
		{"another app's URL", strings.Replace(url, "/api/GraphNotifications", "/other", 1), t0, doctor.StatusFail, doctor.StatusFail, "no live subscription"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			r := newDoctor(t, c, &doctor.Options{NotificationURL: tt.url, Now: func() time.Time { return now }}).Run(t.Context())
			u, g := check(t, r, "users subscription"), check(t, r, "groups subscription")
			if u.Status != tt.users || !strings.Contains(u.Detail, tt.detailUsers) {
				t.Errorf("users: %+v; want %s with %q", u, tt.users, tt.detailUsers)
			}
			if g.Status != tt.groups {
				t.Errorf("groups: %+v; want %s", g, tt.groups)
			}
			var b bytes.Buffer
			_ = r.WriteText(&b)
			if strings.Contains(b.String(), "function-key-secret") {
				t.Errorf("the function key is printed:\n%s", b.String())
			}
		})
	}
	r := newDoctor(t, c, nil).Run(t.Context())
	if got := check(t, r, "subscriptions"); got.Status != doctor.StatusWarn {
		t.Errorf("no notification URL: %+v; want a warning that webhooks are off", got)
	}
}

func TestTeams(t *testing.T) {
	t.Parallel()
	c, _ := sim(t, graphsim.Options{})
	var posts atomic.Int32
	status := atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m["type"] != "message" {
			t.Errorf("posted %v (%v); want a Teams message", m, err)
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	hook := srv.URL + "/workflows/x/triggers/manual/paths/invoke?sig=SIGSECRET"
	sender, err := notify.NewSender(hook, &notify.SenderOptions{AllowHTTPLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		post   bool
		status int
		want   doctor.Status
		posts  int32
	}{
		{"not posted", false, 200, doctor.StatusSkip, 0},
		{"accepted", true, 202, doctor.StatusOK, 1},
		{"server error", true, 500, doctor.StatusFail, 1},
		{"flow removed", true, 404, doctor.StatusFail, 1},
	}
	for _, tt := range cases {
		posts.Store(0)
		status.Store(int32(tt.status))
		r := newDoctor(t, c, &doctor.Options{Teams: sender, PostTestCard: tt.post}).Run(t.Context())
		got := check(t, r, "Teams webhook")
		if got.Status != tt.want || posts.Load() != tt.posts {
			t.Errorf("%s: %+v after %d posts; want %s after %d", tt.name, got, posts.Load(), tt.want, tt.posts)
		}
		var b bytes.Buffer
		_ = r.WriteJSON(&b)
		_ = r.WriteText(&b)
		if strings.Contains(b.String(), "SIGSECRET") {
			t.Errorf("%s: the webhook's secret is printed", tt.name)
		}
	}
}

func TestGraphUnreachable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there now
	c, err := graph.NewClient(base, graph.AuthNone, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	r := newDoctor(t, c, nil).Run(ctx)
	first := r.Checks[0]
	if first.Name != "Microsoft Graph" || first.Status != doctor.StatusFail || !strings.Contains(first.Detail, "cannot reach") {
		t.Errorf("first line %+v; want Graph unreachable", first)
	}
	for _, c := range r.Checks[1:] {
		if c.Status == doctor.StatusOK || c.Status == doctor.StatusFail {
			t.Errorf("%s: %s after Graph failed; want skipped or a warning", c.Name, c.Status)
		}
	}
	if !r.Failed() {
		t.Error("Failed() = false")
	}
}

// TestGolden: the text report of a tenant without P1/P2 and with two
// permissions withheld, as a reader sees it.
func TestGolden(t *testing.T) {
	t.Parallel()
	c, _ := sim(t, graphsim.Options{NoPremium: true, Permissions: without("AuditLog.Read.All", "Group.Read.All", "Directory.Read.All")})
	r := newDoctor(t, c, &doctor.Options{Target: "https://graph.microsoft.com", Now: func() time.Time { return t0 }}).Run(t.Context())
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "no-premium.golden.txt"), b.Bytes())
	b.Reset()
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back doctor.Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back.Checks) != len(r.Checks) {
		t.Errorf("JSON round trip: %v, %d checks", err, len(back.Checks))
	}
}

// TestTerminalSafe: text from Graph (messages, SKU names) cannot drive the
// terminal.
func TestTerminalSafe(t *testing.T) {
	r := doctor.Report{Target: "x", Checked: t0, Checks: []doctor.Check{{Name: "n", Status: doctor.StatusFail,
		Detail: "evil \x1b]0;pwned\x07 \u202eelif", Fix: "line\nbreak"}}}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"\x1b", "\x07", "\u202e", "line\nbreak"} {
		if strings.Contains(b.String(), bad) {
			t.Errorf("output carries %q:\n%s", bad, b.String())
		}
	}
}
