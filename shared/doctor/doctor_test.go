package doctor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/activityfeed"
	"github.com/tenantwatch/tenantwatch/shared/doctor"
	"github.com/tenantwatch/tenantwatch/shared/golden"
	"github.com/tenantwatch/tenantwatch/shared/graph"
	"github.com/tenantwatch/tenantwatch/shared/graph/webhook"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
	"github.com/tenantwatch/tenantwatch/shared/notify"
	"github.com/tenantwatch/tenantwatch/shared/permission"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// allPermissions is what the deployment grants: Microsoft Graph's and the
// Office 365 Management APIs' ActivityFeed.Read.
var allPermissions = append(permission.Required(permission.Graph), permission.Required(permission.OfficeManagement)...)

// feeds holds the Management Activity API client of each simulated
// tenant's Graph client (sim), for newDoctor.
var feeds sync.Map

// sim serves a simulated tenant over HTTP and returns the real Graph
// client pointed at it, as production is pointed at Graph, and the log of
// requests it received.
func sim(t *testing.T, o graphsim.Options) (*graph.Client, *requests) {
	t.Helper()
	o.Now = t0
	o.Clock = func() time.Time { return t0 }
	o.AllowHTTPNotificationURL = true
	if o.Scenario == nil {
		o.Scenario = apt29.Scenario()
	}
	s, err := graphsim.New(&o)
	if err != nil {
		t.Fatal(err)
	}
	rec := &requests{}
	h := s.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r.Method + " " + r.URL.Path)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := graph.NewClient(srv.URL, graph.AuthNone, nil)
	if err != nil {
		t.Fatal(err)
	}
	feed, err := activityfeed.NewClient(srv.URL, s.TenantID(), nil, &activityfeed.ClientOptions{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	feeds.Store(c, feed)
	t.Cleanup(func() { feeds.Delete(c) })
	return c, rec
}

// requests records "METHOD /path" of each request.
type requests struct {
	mu  sync.Mutex
	all []string
}

func (r *requests) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, s)
}

// since returns the requests after the first n.
func (r *requests) since(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.all[n:])
}

func (r *requests) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.all)
}

var facts = doctor.Facts{LicenceMissing: graph.LicenceMissing}

func newDoctor(t *testing.T, g doctor.Graph, o *doctor.Options) *doctor.Doctor {
	t.Helper()
	if o == nil {
		o = &doctor.Options{}
	}
	if o.Now == nil {
		o.Now = func() time.Time { return t0 }
	}
	if f, ok := feeds.Load(g); ok && o.Feed == nil {
		o.Feed = f.(*activityfeed.Client)
	}
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

func text(t *testing.T, r doctor.Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

const (
	licence   = "Entra ID P1/P2 licence"
	locations = "trusted named locations"
	teams     = "Teams webhook"
)

// TestPermissionsAndLicences: permissions withheld one at a time (403s)
// and a tenant without Entra ID P1/P2, through the real client against
// the simulated tenant. Each gap is reported on its own line with what to
// grant and the rules that need it; every other check stays ok. The
// Teams and subscription lines (nothing configured: warnings) are
// checked elsewhere.
func TestPermissionsAndLicences(t *testing.T) {
	t.Parallel()
	type tc struct {
		name      string
		granted   []string
		noPremium bool
		want      map[string]doctor.Status // checks not listed must be ok
		fix       map[string]string        // check → text its Fix must hold
		detail    map[string]string        // check → text its Detail must hold
	}
	cases := []tc{
		{name: "everything", granted: allPermissions},
		{name: "Directory.Read.All stands in for User.Read.All", granted: without("User.Read.All")},
		{name: "no AuditLog.Read.All", granted: without("AuditLog.Read.All"),
			want: map[string]doctor.Status{"AuditLog.Read.All": doctor.StatusFail, "Directory.Read.All": doctor.StatusSkip},
			fix:  map[string]string{"AuditLog.Read.All": "grant AuditLog.Read.All (application) with admin consent; needed by rules app.consent-mail-scopes, app.federated-credential-added, app.mail-permission-granted, app.new-app-with-credential-and-mail, device.rogue-registration, domain.federation-changed, mfa.dormant-registration, mfa.dormant-unregistered, mfa.not-registered, mfa.registration-untrusted-location, posture.dormant-excluded-from-mfa, role.global-admin-added, signin.azure-ip, signin.broker-device-registration, signin.device-code, signin.password-spray, sp.reply-url-added"},
			detail: map[string]string{"AuditLog.Read.All": "Authentication_MSGraphPermissionMissing",
				licence: "AAD_PREMIUM in AAD_PREMIUM"}},
		{name: "no Directory.Read.All", granted: without("Directory.Read.All"),
			want:   map[string]doctor.Status{"Directory.Read.All": doctor.StatusFail},
			fix:    map[string]string{"Directory.Read.All": "needed by rules app.consent-mail-scopes, app.cross-tenant-mail-access, app.federated-credential-added, app.mail-permission-granted, app.new-app-with-credential-and-mail, device.rogue-registration, domain.federation-changed, mfa.dormant-registration, mfa.registration-untrusted-location, role.global-admin-added, sp.reply-url-added"},
			detail: map[string]string{"AuditLog.Read.All": "GET /auditLogs/signIns passed the permission check"}},
		{name: "no Policy.Read.All", granted: without("Policy.Read.All"),
			want: map[string]doctor.Status{"Policy.Read.All": doctor.StatusFail, locations: doctor.StatusSkip},
			fix:  map[string]string{"Policy.Read.All": "needed by rules mfa.registration-untrusted-location, policy.registration-unrestricted, posture.device-code-unrestricted, posture.dormant-excluded-from-mfa"}},
		// Directory.Read.All satisfies the object reads, so those are
		// withheld with it (and the directory audit log fails too).
		{name: "no Organization.Read.All", granted: without("Organization.Read.All", "Directory.Read.All"),
			want:   map[string]doctor.Status{"Organization.Read.All": doctor.StatusFail, "Directory.Read.All": doctor.StatusFail},
			fix:    map[string]string{"Organization.Read.All": "needed by rules app.cross-tenant-mail-access, audit.advanced-auditing-disabled, exo.org-audit-disabled, posture.user-consent-allowed"},
			detail: map[string]string{"Organization.Read.All": "Authorization_RequestDenied", licence: "/subscribedSkus unreadable"}},
		{name: "no User.Read.All", granted: without("User.Read.All", "Directory.Read.All"),
			want: map[string]doctor.Status{"User.Read.All": doctor.StatusFail, "Directory.Read.All": doctor.StatusFail},
			fix:  map[string]string{"User.Read.All": "mfa.not-registered"}},
		{name: "no Application.Read.All", granted: without("Application.Read.All", "Directory.Read.All"),
			want: map[string]doctor.Status{"Application.Read.All": doctor.StatusFail, "Directory.Read.All": doctor.StatusFail},
			fix:  map[string]string{"Application.Read.All": "needed by rules app.cross-tenant-mail-access, sp.credential-added, sp.credential-name-mimicry, sp.first-party-credential, sp.mail-access"}},
		{name: "no Group.Read.All", granted: without("Group.Read.All", "Directory.Read.All"),
			want: map[string]doctor.Status{"Group.Read.All": doctor.StatusFail, "Directory.Read.All": doctor.StatusFail},
			fix:  map[string]string{"Group.Read.All": "needed by rules posture.dormant-excluded-from-mfa, and by the deployed app's change-notification subscriptions"}},
		{name: "no P1/P2", granted: allPermissions, noPremium: true,
			want: map[string]doctor.Status{licence: doctor.StatusFail, locations: doctor.StatusSkip},
			fix:  map[string]string{licence: "rules skipped: mfa.dormant-registration, mfa.dormant-unregistered, mfa.not-registered, mfa.registration-untrusted-location, policy.registration-unrestricted, posture.device-code-unrestricted, posture.dormant-excluded-from-mfa, signin.azure-ip, signin.broker-device-registration, signin.device-code, signin.password-spray"},
			detail: map[string]string{licence: "no Entra ID P1/P2: GET /auditLogs/signIns answered 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant",
				"AuditLog.Read.All": "GET /auditLogs/directoryAudits answered", "Policy.Read.All": "no Entra ID P1/P2"}},
		{name: "no P1/P2 and no AuditLog.Read.All", granted: without("AuditLog.Read.All"), noPremium: true,
			want: map[string]doctor.Status{"AuditLog.Read.All": doctor.StatusFail, "Directory.Read.All": doctor.StatusSkip,
				licence: doctor.StatusFail, locations: doctor.StatusSkip},
			fix: map[string]string{"AuditLog.Read.All": "signin.azure-ip", licence: "rules skipped: mfa.dormant-registration"},
			detail: map[string]string{licence: "no SKU in force in /subscribedSkus has AAD_PREMIUM",
				"AuditLog.Read.All": "Authentication_MSGraphPermissionMissing"}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := sim(t, graphsim.Options{Permissions: tt.granted, NoPremium: tt.noPremium})
			r := newDoctor(t, c, nil).Run(t.Context())
			for _, p := range allPermissions {
				check(t, r, p) // one line each
			}
			for _, c := range r.Checks {
				want, listed := tt.want[c.Name]
				switch {
				case listed && c.Status != want:
					t.Errorf("%s: %s, want %s (%s)", c.Name, c.Status, want, c.Detail)
				case !listed && c.Status != doctor.StatusOK && c.Name != teams && c.Name != "subscriptions":
					t.Errorf("%s: %s, want ok (%s)", c.Name, c.Status, c.Detail)
				case c.Status == doctor.StatusFail && c.Fix == "":
					t.Errorf("%s fails without saying what to do", c.Name)
				}
			}
			if got, want := r.Failed(), slices.Contains(mapsValues(tt.want), doctor.StatusFail); got != want {
				t.Errorf("Failed() = %v, want %v", got, want)
			}
			for name, s := range tt.fix {
				if c := check(t, r, name); !strings.Contains(c.Fix, s) {
					t.Errorf("%s: fix %q\nwant it to hold %q", name, c.Fix, s)
				}
			}
			for name, s := range tt.detail {
				if c := check(t, r, name); !strings.Contains(c.Detail, s) {
					t.Errorf("%s: detail %q\nwant it to hold %q", name, c.Detail, s)
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

// readsOnly checks that the requests doctor made are a handful of GETs.
func readsOnly(t *testing.T, reqs []string) {
	t.Helper()
	for _, r := range reqs {
		if !strings.HasPrefix(r, "GET ") {
			t.Errorf("doctor wrote to the tenant: %s", r)
		}
	}
	if len(reqs) > 14 { // one probe per permission (Device.Read.All and Domain.Read.All: issue 12), the licence, locations and subscriptions
		t.Errorf("doctor made %d Graph requests; want a handful: %q", len(reqs), reqs)
	}
}

// TestAllOK: everything granted, P1/P2, trusted locations, both
// subscriptions live and a webhook that accepts the test card: every line
// is ok, and doctor writes nothing to the tenant.
func TestAllOK(t *testing.T) {
	t.Parallel()
	c, rec := sim(t, graphsim.Options{})
	hook := endpoint(t)
	for _, res := range []string{"users", "groups"} {
		if _, err := c.CreateSubscription(t.Context(), state.Subscription{Resource: res, ChangeType: "updated,deleted",
			NotificationURL: hook, ClientState: "state", ExpirationDateTime: t0.Add(29 * 24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	before := rec.count()
	sender, _ := webhookServer(t, http.StatusAccepted)
	r := newDoctor(t, c, &doctor.Options{NotificationURL: hook, Teams: sender, PostTestCard: true}).Run(t.Context())
	for _, c := range r.Checks {
		if c.Status != doctor.StatusOK {
			t.Errorf("%s: %s (%s)", c.Name, c.Status, c.Detail)
		}
	}
	if r.Failed() || r.Count(doctor.StatusOK) != len(allPermissions)+6 {
		t.Errorf("%d ok of %d checks", r.Count(doctor.StatusOK), len(r.Checks))
	}
	readsOnly(t, rec.since(before))
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
	if got := check(t, r, locations); got.Status != doctor.StatusOK || !strings.Contains(got.Detail, "2 trusted IP named locations") {
		t.Errorf("the scenario's trusted locations: %+v", got)
	}
	r = newDoctor(t, untrusted{c}, nil).Run(t.Context())
	got := check(t, r, locations)
	if got.Status != doctor.StatusWarn || !strings.Contains(got.Detail, "mfa.registration-untrusted-location cannot tell trusted from untrusted") ||
		!strings.Contains(got.Fix, "trusted IP named location") {
		t.Errorf("no trusted location: %+v; want a warning naming the rule it skips and the fix", got)
	}
	if r.Failed() {
		t.Error("a missing trusted location is a warning, not a failure")
	}
}

// endpoint answers Graph's validation handshake, as GraphNotifications
// does, and returns its URL with a function key in the query.
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
	hook := endpoint(t)
	expiry := t0.Add(20 * 24 * time.Hour)
	// users only: groups stays missing.
	if _, err := c.CreateSubscription(t.Context(), state.Subscription{Resource: "users", ChangeType: "updated,deleted",
		NotificationURL: hook, ClientState: "state", ExpirationDateTime: expiry}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		url    string
		now    time.Time
		users  doctor.Status
		detail string
	}{
		{"live", hook, t0, doctor.StatusOK, "expires 2026-11-22T09:00:00Z (in 20d0h)"},
		{"expiring within 72h", hook, expiry.Add(-24 * time.Hour), doctor.StatusWarn, "in 24h0m0s"},
		{"expired", hook, expiry.Add(time.Minute), doctor.StatusFail, "expired"},
		{"another app's URL", strings.Replace(hook, "/api/GraphNotifications", "/other", 1), t0, doctor.StatusFail, "no subscription delivering to"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			r := newDoctor(t, c, &doctor.Options{NotificationURL: tt.url, Now: func() time.Time { return now }}).Run(t.Context())
			u, g := check(t, r, "users subscription"), check(t, r, "groups subscription")
			if u.Status != tt.users || !strings.Contains(u.Detail, tt.detail) {
				t.Errorf("users: %+v; want %s with %q", u, tt.users, tt.detail)
			}
			if g.Status != doctor.StatusFail || !strings.Contains(g.Fix, "RenewSubscriptions creates it; check that TENANTWATCH_NOTIFICATION_URL is set") {
				t.Errorf("groups: %+v; want missing", g)
			}
			if out := text(t, r); strings.Contains(out, "function-key-secret") {
				t.Errorf("the function key is printed:\n%s", out)
			}
		})
	}
	r := newDoctor(t, c, nil).Run(t.Context())
	if got := check(t, r, "subscriptions"); got.Status != doctor.StatusWarn || !strings.Contains(got.Detail, "webhooks are off") {
		t.Errorf("no notification URL: %+v; want a warning that webhooks are off", got)
	}
	// Without User.Read.All and Group.Read.All (or Directory.Read.All)
	// Graph lists no subscription.
	c, _ = sim(t, graphsim.Options{Permissions: without("User.Read.All", "Group.Read.All", "Directory.Read.All")})
	r = newDoctor(t, c, &doctor.Options{NotificationURL: hook}).Run(t.Context())
	if got := check(t, r, "subscriptions"); got.Status != doctor.StatusFail || !strings.Contains(got.Detail, "403") {
		t.Errorf("subscriptions unlistable: %+v", got)
	}
}

// webhookServer is a Teams webhook answering status; it counts posts and
// checks that each is a Teams message with an Adaptive Card.
func webhookServer(t *testing.T, status int) (*notify.Sender, *atomic.Int32) {
	t.Helper()
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		var m struct {
			Type        string `json:"type"`
			Attachments []struct {
				ContentType string `json:"contentType"`
				Content     struct {
					Type, Version string
				} `json:"content"`
			} `json:"attachments"`
		}
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m.Type != "message" || len(m.Attachments) != 1 ||
			m.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" || m.Attachments[0].Content.Type != "AdaptiveCard" {
			t.Errorf("posted %+v (%v); want a Teams message with an Adaptive Card", m, err)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"error":"flow says no"}`)
	}))
	t.Cleanup(srv.Close)
	hook := srv.URL + "/workflows/x/triggers/manual/paths/invoke?api-version=1&sig=SIGSECRETSIGSECRET"
	sender, err := notify.NewSender(hook, &notify.SenderOptions{AllowHTTPLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	return sender, &posts
}

func TestTeams(t *testing.T) {
	t.Parallel()
	c, _ := sim(t, graphsim.Options{})
	cases := []struct {
		name   string
		post   bool
		status int
		want   doctor.Status
		detail string
	}{
		{"not posted", false, 200, doctor.StatusSkip, "not posted (rerun with --post-test-card)"},
		{"200", true, 200, doctor.StatusOK, "accepted"},
		{"202", true, 202, doctor.StatusOK, "accepted"},
		{"500", true, 500, doctor.StatusFail, "500"},
		{"flow removed", true, 404, doctor.StatusFail, "404"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sender, posts := webhookServer(t, tt.status)
			r := newDoctor(t, c, &doctor.Options{Teams: sender, PostTestCard: tt.post}).Run(t.Context())
			got := check(t, r, teams)
			want := int32(0)
			if tt.post {
				want = 1
			}
			if got.Status != tt.want || !strings.Contains(got.Detail, tt.detail) || posts.Load() != want {
				t.Errorf("%+v after %d posts; want %s with %q after %d", got, posts.Load(), tt.want, tt.detail, want)
			}
			var b bytes.Buffer
			_ = r.WriteJSON(&b)
			_ = r.WriteText(&b)
			if strings.Contains(b.String(), "SIGSECRET") || strings.Contains(b.String(), "/workflows/") {
				t.Errorf("the webhook URL is printed:\n%s", b.String())
			}
		})
	}
	r := newDoctor(t, c, nil).Run(t.Context())
	if got := check(t, r, teams); got.Status != doctor.StatusWarn || !strings.Contains(got.Fix, "TENANTWATCH_TEAMS_WEBHOOK_URL") {
		t.Errorf("no webhook: %+v", got)
	}
}

// TestGraphUnreachable: when Graph cannot be asked, one line says why and
// the Graph checks stop; the Teams check, which needs no Graph, still runs.
func TestGraphUnreachable(t *testing.T) {
	t.Parallel()
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close() // nothing listens there now
	unauthorized := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":{"code":"InvalidAuthenticationToken","message":"Access token is empty."}}`)
	}))
	t.Cleanup(unauthorized.Close)
	cases := []struct{ name, url, detail string }{
		{"unreachable", gone.URL, "cannot reach"},
		{"401", unauthorized.URL, "401 InvalidAuthenticationToken"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := graph.NewClient(tt.url, graph.AuthNone, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			r := newDoctor(t, c, nil).Run(ctx)
			names := make([]string, 0, len(r.Checks))
			for _, c := range r.Checks {
				names = append(names, c.Name)
			}
			if !slices.Equal(names, []string{"Microsoft Graph", teams}) {
				t.Fatalf("checks %q; want the Graph line and the Teams line only", names)
			}
			first := r.Checks[0]
			if first.Status != doctor.StatusFail || !strings.Contains(first.Detail, tt.detail) || first.Fix == "" {
				t.Errorf("first line %+v; want FAIL with %q", first, tt.detail)
			}
			if !r.Failed() {
				t.Error("Failed() = false")
			}
		})
	}
}

// TestGolden: the text report of a tenant without P1/P2, with three
// permissions withheld and the users subscription about to expire, as a
// reader sees it.
func TestGolden(t *testing.T) {
	t.Parallel()
	c, _ := sim(t, graphsim.Options{NoPremium: true, Permissions: without("AuditLog.Read.All", "Group.Read.All", "Directory.Read.All")})
	hook := endpoint(t)
	if _, err := c.CreateSubscription(t.Context(), state.Subscription{Resource: "users", ChangeType: "updated,deleted",
		NotificationURL: hook, ClientState: "state", ExpirationDateTime: t0.Add(50 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	sender, _ := webhookServer(t, http.StatusAccepted)
	r := newDoctor(t, c, &doctor.Options{Target: "https://graph.microsoft.com", Teams: sender, NotificationURL: hook}).Run(t.Context())
	out := text(t, r)
	// The subscription id and the receiver's port vary: name them.
	for _, ch := range r.Checks {
		if id, _, ok := strings.Cut(ch.Detail, ", expires "); ok && ch.Name == "users subscription" {
			out = strings.ReplaceAll(out, id, "<subscription id>")
		}
	}
	u, err := url.Parse(hook)
	if err != nil {
		t.Fatal(err)
	}
	out = strings.ReplaceAll(out, u.Host, "func-tenantwatch.azurewebsites.net")
	golden.Check(t, filepath.Join("testdata", "no-premium.golden.txt"), []byte(out))
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back doctor.Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back.Checks) != len(r.Checks) || back.Failed() != r.Failed() {
		t.Errorf("JSON round trip: %v, %d checks", err, len(back.Checks))
	}
}

// TestTerminalSafe: text from Graph (messages, SKU names) cannot drive the
// terminal.
func TestTerminalSafe(t *testing.T) {
	t.Parallel()
	r := doctor.Report{Target: "x", Checked: t0, Checks: []doctor.Check{{Name: "n", Status: doctor.StatusFail,
		Detail: "evil \x1b]0;pwned\x07 \u202eelif", Fix: "line\nbreak"}}}
	out := text(t, r)
	for _, bad := range []string{"\x1b", "\x07", "\u202e", "line\nbreak"} {
		if strings.Contains(out, bad) {
			t.Errorf("output carries %q:\n%s", bad, out)
		}
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	if _, err := doctor.New(nil, facts, nil); err == nil {
		t.Error("New without a Graph succeeded")
	}
	c, _ := sim(t, graphsim.Options{})
	if _, err := doctor.New(c, doctor.Facts{}, nil); err == nil {
		t.Error("New with incomplete Facts succeeded")
	}
}

// TestActivityFeed: the Management Activity API's permission and the
// Audit.Exchange subscription, from one read; doctor reports a missing
// subscription and never starts one.
func TestActivityFeed(t *testing.T) {
	t.Parallel()
	const perm, sub = "ActivityFeed.Read", "Audit.Exchange subscription"
	tests := []struct {
		name              string
		opts              graphsim.Options
		noFeed            bool
		permWant, subWant doctor.Status
		want              map[string]string // check → text its Detail or Fix must hold
	}{
		{name: "granted and started", permWant: doctor.StatusOK, subWant: doctor.StatusOK,
			want: map[string]string{sub: "enabled; webhook: none"}},
		{name: "not granted", opts: graphsim.Options{Permissions: without("ActivityFeed.Read")},
			permWant: doctor.StatusFail, subWant: doctor.StatusSkip,
			want: map[string]string{perm: "AF10001", "fix " + perm: "grant ActivityFeed.Read of the Office 365 Management APIs (application) with admin consent"}},
		{name: "not started", opts: graphsim.Options{ActivityUnsubscribed: true},
			permWant: doctor.StatusOK, subWant: doctor.StatusFail,
			want: map[string]string{sub: "not started", "fix " + sub: "tenantwatch scan --start-subscriptions"}},
		{name: "auditing off", opts: graphsim.Options{ActivityFault: graphsim.ActivityAuditingDisabled},
			permWant: doctor.StatusSkip, subWant: doctor.StatusFail,
			want: map[string]string{sub: "unified audit log is off", "fix " + sub: "UnifiedAuditLogIngestionEnabled $true"}},
		{name: "no feed configured", noFeed: true, permWant: doctor.StatusSkip, subWant: doctor.StatusSkip,
			want: map[string]string{perm: "--activity-url"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, rec := sim(t, tc.opts)
			var g doctor.Graph = c
			if tc.noFeed {
				g = untrusted{c} // a Graph without a feed
			}
			before := rec.count()
			r := newDoctor(t, g, nil).Run(t.Context())
			if got := check(t, r, perm); got.Status != tc.permWant {
				t.Errorf("%s: %s, want %s (%s)", perm, got.Status, tc.permWant, got.Detail)
			}
			if got := check(t, r, sub); got.Status != tc.subWant {
				t.Errorf("%s: %s, want %s (%s)", sub, got.Status, tc.subWant, got.Detail)
			}
			for name, s := range tc.want {
				var text string
				if n, ok := strings.CutPrefix(name, "fix "); ok {
					text = check(t, r, n).Fix
				} else {
					text = check(t, r, name).Detail
				}
				if !strings.Contains(text, s) {
					t.Errorf("%s: %q does not hold %q", name, text, s)
				}
			}
			readsOnly(t, rec.since(before))
		})
	}
}

// TestLogAnalytics: the line says whether the sink is configured and what
// waits, and is absent when the caller knows nothing of the sink.
func TestLogAnalytics(t *testing.T) {
	t.Parallel()
	c, _ := sim(t, graphsim.Options{})
	cases := []struct {
		name   string
		la     *doctor.LogAnalytics
		want   doctor.Status
		detail string
	}{
		{"off", &doctor.LogAnalytics{}, doctor.StatusSkip, "not configured"},
		{"on", &doctor.LogAnalytics{Endpoint: "https://dce-x.westeurope-1.ingest.monitor.azure.com", RuleID: "dcr-0123",
			Pending: func(context.Context) (int, error) { return 0, nil }}, doctor.StatusOK, "rule dcr-0123 at dce-x.westeurope-1.ingest.monitor.azure.com; no rows sent by doctor; nothing waiting"},
		{"waiting", &doctor.LogAnalytics{Endpoint: "https://dce-x.ingest.monitor.azure.com", RuleID: "dcr-0123",
			Pending: func(context.Context) (int, error) { return 3, nil }}, doctor.StatusOK, "3 uploads waiting"},
		{"outbox unreadable", &doctor.LogAnalytics{Endpoint: "https://dce-x.ingest.monitor.azure.com", RuleID: "dcr-0123",
			Pending: func(context.Context) (int, error) { return 0, errors.New("table down") }}, doctor.StatusWarn, "table down"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newDoctor(t, c, &doctor.Options{LogAnalytics: tt.la}).Run(t.Context())
			got := check(t, r, "Log Analytics sink")
			if got.Status != tt.want || !strings.Contains(got.Detail, tt.detail) {
				t.Errorf("%+v; want %s with %q", got, tt.want, tt.detail)
			}
		})
	}
	r := newDoctor(t, c, nil).Run(t.Context())
	for _, ch := range r.Checks {
		if ch.Name == "Log Analytics sink" {
			t.Errorf("a line without LogAnalytics: %+v", ch)
		}
	}
}
