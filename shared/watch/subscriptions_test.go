package watch_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/config"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/empty"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestRenewSubscriptionsFirstRun: the first run subscribes to users and
// groups only, keeps each subscription with its clientState, and builds
// the users baseline without alerting.
func TestRenewSubscriptionsFirstRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := t.Context()
	e.must("RenewSubscriptions", e.app.RenewSubscriptions(ctx))

	// One warm-up of the app's own endpoint (with its key), before Graph's
	// two handshakes per subscription (notification and lifecycle URL).
	v := e.endpoint.Validations()
	if len(v) != 5 || v[0] != notificationPath+" test-function-key tenantwatch-warm-up" {
		t.Errorf("validation requests %q; want the warm-up first, then 4 from Graph", v)
	}
	for _, r := range v[1:] {
		if strings.Contains(r, "warm-up") {
			t.Errorf("more than one warm-up: %q", v)
		}
	}

	live := e.sim.Subscriptions()
	var resources []string
	for _, s := range live {
		resources = append(resources, s.Resource)
	}
	slices.Sort(resources)
	if !slices.Equal(resources, []string{"groups", "users"}) {
		t.Fatalf("live subscriptions on %v, want exactly groups and users", resources)
	}
	stored := e.stored()
	if len(stored) != 2 {
		t.Fatalf("%d stored subscriptions, want 2: %+v", len(stored), stored)
	}
	for _, l := range live {
		s, ok := stored[l.Resource]
		switch {
		case !ok:
			t.Errorf("the %s subscription is not stored", l.Resource)
			continue
		case s.ID != l.ID:
			t.Errorf("%s: stored id %s, live id %s", l.Resource, s.ID, l.ID)
		case !s.ExpirationDateTime.Equal(l.ExpirationDateTime):
			t.Errorf("%s: stored expiry %v, live expiry %v", l.Resource, s.ExpirationDateTime, l.ExpirationDateTime)
		}
		if l.ChangeType != "updated,deleted" {
			t.Errorf("%s: changeType %q, want updated,deleted", l.Resource, l.ChangeType)
		}
		if !strings.HasSuffix(l.NotificationURL, notificationPath) || !strings.HasSuffix(l.LifecycleNotificationURL, lifecyclePath) {
			t.Errorf("%s: notification URLs %q, %q", l.Resource, l.NotificationURL, l.LifecycleNotificationURL)
		}
		if !strings.Contains(s.NotificationURL, "code=test-function-key") {
			t.Errorf("%s: stored notification URL %q lost its function key", l.Resource, s.NotificationURL)
		}
		if ahead := l.ExpirationDateTime.Sub(t0); ahead <= e.cfg.RenewBefore || ahead > config.MaxSubscriptionLifetime {
			t.Errorf("%s: expires %v after creation, want within (%v, %v]", l.Resource, ahead, e.cfg.RenewBefore, config.MaxSubscriptionLifetime)
		}
	}
	if stored["users"].ClientState == stored["groups"].ClientState {
		t.Error("users and groups share one clientState")
	}

	tests := []struct {
		name   string
		id     string
		want   string
		wantOK bool
	}{
		{"users", stored["users"].ID, stored["users"].ClientState, true},
		{"groups", stored["groups"].ID, stored["groups"].ClientState, true},
		{"users, upper case id", strings.ToUpper(stored["users"].ID), stored["users"].ClientState, true},
		{"unknown", "00000000-0000-0000-0000-000000000000", "", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		for _, pass := range []string{"store", "cache"} { // the second call is answered from the cache
			got, ok, err := e.app.ClientState(ctx, tt.id)
			if err != nil {
				t.Fatalf("%s (%s): ClientState: %v", tt.name, pass, err)
			}
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("%s (%s): ClientState = %q, %v; want %q, %v", tt.name, pass, got, ok, tt.want, tt.wantOK)
			}
			if ok && len(got) < 32 {
				t.Errorf("%s: clientState %q is too short to be a secret", tt.name, got)
			}
		}
	}

	if c := e.cursor(cursorUsers); !c.Exists() || c.DeltaLink == "" {
		t.Errorf("users cursor %+v: the baseline round did not run", c)
	}
	n := 0
	e.must("baselines", e.st.Baselines(ctx, tenant.SubjectUser, func(state.Baseline) error { n++; return nil }))
	if n == 0 {
		t.Error("no user baselines stored")
	}
	if items := e.outbox(); len(items) != 0 {
		t.Errorf("the baseline round queued %d outbox items, want none", len(items))
	}
	for k, r := range e.findings() {
		if r.Status != state.FindingBaseline {
			t.Errorf("finding %s recorded as %s, want baseline", k, r.Status)
		}
	}
	if n := len(e.teams.Messages()); n != 0 {
		t.Errorf("%d messages posted to Teams, want none", n)
	}
}

// TestRenewSubscriptionsRenewal: a run renews only subscriptions that
// expire within RenewBefore, keeping their ids and client states.
func TestRenewSubscriptionsRenewal(t *testing.T) {
	t.Parallel()
	lifetime := config.MaxSubscriptionLifetime
	firstExpiry := t0.Add(lifetime - 5*time.Minute)
	tests := []struct {
		name     string
		settings map[string]string
		advance  time.Duration
		renew    bool
	}{
		{name: "plenty of lifetime left", advance: 6 * time.Hour, renew: false},
		{name: "just outside the default 72h", advance: firstExpiry.Sub(t0) - 72*time.Hour - time.Minute, renew: false},
		{name: "within the default 72h", advance: firstExpiry.Sub(t0) - 71*time.Hour, renew: true},
		{name: "an hour before expiry", advance: firstExpiry.Sub(t0) - time.Hour, renew: true},
		{name: "RenewBefore near the lifetime", settings: map[string]string{"TENANTWATCH_RENEW_BEFORE": "41700m"}, advance: time.Hour, renew: true},
		{name: "shorter lifetime", settings: map[string]string{"TENANTWATCH_SUBSCRIPTION_LIFETIME": "24h", "TENANTWATCH_RENEW_BEFORE": "2h"},
			advance: 23 * time.Hour, renew: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{Settings: tt.settings, Sim: graphsim.Options{Scenario: empty.Scenario()}})
			ctx := t.Context()
			e.must("first RenewSubscriptions", e.app.RenewSubscriptions(ctx))
			before, liveBefore := e.stored(), e.live()
			users := e.cursor(cursorUsers)

			e.clk.Advance(tt.advance)
			now := e.clk.Now()
			e.must("second RenewSubscriptions", e.app.RenewSubscriptions(ctx))
			after, liveAfter := e.stored(), e.live()
			if len(after) != 2 || len(liveAfter) != 2 {
				t.Fatalf("after the second run: %d stored, %d live subscriptions, want 2 each", len(after), len(liveAfter))
			}
			for _, res := range []string{"users", "groups"} {
				b, a, l := before[res], after[res], liveAfter[res]
				if a.ID != b.ID || l.ID != b.ID {
					t.Errorf("%s: id %s → stored %s, live %s; want it kept", res, b.ID, a.ID, l.ID)
				}
				if a.ClientState != b.ClientState {
					t.Errorf("%s: clientState changed", res)
				}
				if !a.ExpirationDateTime.Equal(l.ExpirationDateTime) {
					t.Errorf("%s: stored expiry %v, live %v", res, a.ExpirationDateTime, l.ExpirationDateTime)
				}
				renewed := a.ExpirationDateTime.After(b.ExpirationDateTime)
				if renewed != tt.renew {
					t.Errorf("%s: expiry %v → %v (renewed %v), want renewed %v", res, b.ExpirationDateTime, a.ExpirationDateTime, renewed, tt.renew)
				}
				if !renewed && !l.ExpirationDateTime.Equal(liveBefore[res].ExpirationDateTime) {
					t.Errorf("%s: live expiry moved without a renewal", res)
				}
				if renewed {
					if ahead := a.ExpirationDateTime.Sub(now); ahead > config.MaxSubscriptionLifetime || ahead <= e.cfg.RenewBefore {
						t.Errorf("%s: renewed to %v ahead, want within (%v, %v]", res, ahead, e.cfg.RenewBefore, config.MaxSubscriptionLifetime)
					}
				}
			}
			if c := e.cursor(cursorUsers); c.ETag != users.ETag {
				t.Error("a renewal ran a users round: nothing had vanished")
			}
		})
	}
}

// TestRenewSubscriptionsRecreatesVanished: a subscription deleted or
// expired behind the app's back is recreated, and a users delta round
// picks up what changed while no notification could arrive.
func TestRenewSubscriptionsRecreatesVanished(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		gone []string      // resources whose subscription is deleted in Graph
		wait time.Duration // clock moved before the next run (past the expiry: both expire)
	}{
		{name: "users deleted", gone: []string{"users"}},
		{name: "groups deleted", gone: []string{"groups"}},
		{name: "both expired", wait: config.MaxSubscriptionLifetime + time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{})
			ctx := t.Context()
			e.must("RenewSubscriptions", e.app.RenewSubscriptions(ctx))
			before := e.stored()
			usersCursor := e.cursor(cursorUsers)
			for _, res := range tt.gone {
				e.must("delete "+res+" subscription", e.gc.DeleteSubscription(ctx, before[res].ID))
			}
			e.clk.Advance(tt.wait)
			vanished := make(map[string]bool)
			for res, s := range before {
				if _, ok := e.live()[res]; !ok {
					vanished[res] = true
				} else if e.live()[res].ID != s.ID {
					t.Fatalf("%s: live id changed behind the app's back", res)
				}
			}
			if len(vanished) == 0 {
				t.Fatal("no subscription vanished: the test exercises nothing")
			}
			// A change while a subscription was gone: no notification.
			x := expected(t, e.attack(apt29.StepDisableAudit), "audit.advanced-auditing-disabled")

			e.must("RenewSubscriptions", e.app.RenewSubscriptions(ctx))
			after, live := e.stored(), e.live()
			for _, res := range []string{"users", "groups"} {
				a, l := after[res], live[res]
				if a.ID == "" || l.ID != a.ID {
					t.Errorf("%s: stored %q, live %q; want the same live subscription", res, a.ID, l.ID)
					continue
				}
				if kept := a.ID == before[res].ID; kept == vanished[res] {
					t.Errorf("%s: id %s → %s; want a new one only if it vanished (vanished %v)", res, before[res].ID, a.ID, vanished[res])
				}
				if vanished[res] {
					if a.ClientState == before[res].ClientState {
						t.Errorf("%s: the new subscription reuses the old clientState", res)
					}
					if _, ok, err := e.app.ClientState(ctx, before[res].ID); err != nil || ok {
						t.Errorf("%s: the vanished subscription's clientState is still accepted (ok %v, err %v)", res, ok, err)
					}
				}
				if got, ok, err := e.app.ClientState(ctx, a.ID); err != nil || !ok || got != a.ClientState {
					t.Errorf("%s: ClientState(new id) = %v, %v; want the stored one", res, ok, err)
				}
			}
			if c := e.cursor(cursorUsers); c.ETag == usersCursor.ETag {
				t.Fatal("no users round followed the recreation")
			}
			e.alerted(x)
		})
	}
}

// TestRenewSubscriptionsAdoptsOrphan: Graph holds a users subscription
// the store does not know (an earlier installation, or a create whose
// store write failed and whose clean-up failed too). Graph refuses a
// second subscription for the same resource and change types (409), so
// the app must not stay without webhooks.
func TestRenewSubscriptionsAdoptsOrphan(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{Sim: graphsim.Options{Scenario: empty.Scenario()}})
	ctx := t.Context()
	orphan, err := e.gc.CreateSubscription(ctx, state.Subscription{
		Resource: "users", ChangeType: "updated,deleted", NotificationURL: e.cfg.NotificationURL,
		LifecycleURL: e.cfg.LifecycleURL, ClientState: "a-secret-this-installation-never-knew",
		ExpirationDateTime: t0.Add(24 * time.Hour),
	})
	e.must("create the orphan", err)

	err = e.app.RenewSubscriptions(ctx)
	if err != nil {
		t.Errorf("RenewSubscriptions: %v", err)
	}
	stored, live := e.stored(), e.live()
	for _, res := range []string{"users", "groups"} {
		if stored[res].ID == "" || live[res].ID != stored[res].ID {
			t.Errorf("%s: stored %q, live %q; want one live subscription whose clientState the app keeps", res, stored[res].ID, live[res].ID)
		}
	}
	if live["users"].ID == orphan.ID {
		t.Error("the orphan, whose clientState the app does not know, is still the users subscription")
	}
}

// TestRenewSubscriptionsURLChanged: a redeployment changed the app's
// function key (or host name). The live subscriptions still deliver to the
// old URL, which now answers 401: they are replaced by ones with the new
// URLs, and a users round covers what was missed in between.
func TestRenewSubscriptionsURLChanged(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := t.Context()
	e.must("RenewSubscriptions", e.app.RenewSubscriptions(ctx))
	before := e.stored()
	usersCursor := e.cursor(cursorUsers)

	// Unchanged URLs: a second run keeps both subscriptions.
	e.must("RenewSubscriptions", e.app.RenewSubscriptions(ctx))
	for res, s := range e.stored() {
		if s.ID != before[res].ID {
			t.Fatalf("%s: replaced although its URLs are unchanged", res)
		}
	}

	cfg := e.cfg
	cfg.NotificationURL = strings.Replace(cfg.NotificationURL, "test-function-key", "rotated-key", 1)
	cfg.LifecycleURL = strings.Replace(cfg.LifecycleURL, "test-function-key", "rotated-key", 1)
	e.app = e.newApp(cfg)
	x := expected(t, e.attack(apt29.StepDisableAudit), "audit.advanced-auditing-disabled")
	e.must("RenewSubscriptions", e.app.RenewSubscriptions(ctx))

	after, live := e.stored(), e.live()
	if len(e.sim.Subscriptions()) != 2 {
		t.Fatalf("%d live subscriptions, want 2", len(e.sim.Subscriptions()))
	}
	for _, res := range []string{"users", "groups"} {
		a, l := after[res], live[res]
		switch {
		case a.ID == before[res].ID:
			t.Errorf("%s: kept the subscription with the old URL", res)
		case l.ID != a.ID:
			t.Errorf("%s: stored %s, live %s", res, a.ID, l.ID)
		case a.NotificationURL != cfg.NotificationURL || a.LifecycleURL != cfg.LifecycleURL:
			// graphsim lists URLs without their query (the key); the store
			// keeps what the app asked Graph for.
			t.Errorf("%s: stored URLs %q, %q; want the new ones", res, a.NotificationURL, a.LifecycleURL)
		}
	}
	if c := e.cursor(cursorUsers); c.ETag == usersCursor.ETag {
		t.Fatal("no users round followed the replacement")
	}
	e.alerted(x)
}

// TestPollDirectorySubscribesFirst: on a new installation the first
// PollDirectory subscribes (RenewSubscriptions' schedule is six-hourly);
// later polls do not touch the subscriptions.
func TestPollDirectorySubscribesFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := t.Context()
	e.must("PollDirectory", e.app.PollDirectory(ctx))
	first := e.stored()
	if len(first) != 2 || len(e.sim.Subscriptions()) != 2 {
		t.Fatalf("after the first poll: %d stored, %d live subscriptions; want 2 and 2", len(first), len(e.sim.Subscriptions()))
	}
	e.must("PollDirectory", e.app.PollDirectory(ctx))
	for res, s := range e.stored() {
		if s.ID != first[res].ID || !s.ExpirationDateTime.Equal(first[res].ExpirationDateTime) {
			t.Errorf("%s: the second poll changed the subscription", res)
		}
	}
}
