package watch_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/graph/webhook"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/empty"
)

// lifecycleNotification waits for the lifecycle notification Graph posted
// for subscription id, checks it presents the stored clientState, and
// returns it as the queue message carries it (clientState cleared).
func (e *env) lifecycleNotification(id, event string) webhook.Notification {
	e.t.Helper()
	e.must("wait for deliveries", e.sim.WaitDeliveries(e.t.Context()))
	var found []webhook.Notification
	for _, body := range e.endpoint.Posted(lifecyclePath) {
		ns, err := webhook.Parse(body)
		e.must("parse lifecycle notification", err)
		for _, n := range ns {
			if n.SubscriptionID == id && n.LifecycleEvent == event {
				found = append(found, n)
			}
		}
	}
	if len(found) != 1 {
		e.t.Fatalf("%d %s notifications for %s reached the lifecycle URL, want 1", len(found), event, id)
	}
	n := found[0]
	want, ok, err := e.app.ClientState(e.t.Context(), n.SubscriptionID)
	if err != nil || !ok || !webhook.ClientStateEqual(n.ClientState, want) {
		e.t.Fatalf("the lifecycle notification's clientState does not match the stored one (ok %v, err %v)", ok, err)
	}
	n.ClientState = ""
	return n
}

// TestLifecycle handles each lifecycle event Graph may send for the users
// subscription.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	const (
		kept   = "kept"   // the same subscription, reauthorized and renewed; no users round
		made   = "new"    // a new subscription replaces it, then a users round
		either = "either" // either, as long as one live users subscription is stored; then a users round
	)
	tests := []struct {
		name  string
		event string
		want  string
	}{
		{name: "reauthorizationRequired", event: graphsim.LifecycleReauthorizationRequired, want: kept},
		{name: "subscriptionRemoved", event: graphsim.LifecycleSubscriptionRemoved, want: made},
		// missed: the subscription is alive, notifications were lost. Graph
		// refuses a second subscription for users (409), so recreating
		// before deleting cannot work; resyncing by delta is what matters.
		{name: "missed", event: graphsim.LifecycleMissed, want: either},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{})
			ctx := t.Context()
			e.must("RenewSubscriptions", e.app.RenewSubscriptions(ctx))
			before := e.stored()
			old := before["users"]
			e.must("SendLifecycle", e.sim.SendLifecycle(old.ID, tt.event))
			n := e.lifecycleNotification(old.ID, tt.event)

			e.clk.Advance(time.Hour) // a renewal moves the expiry
			usersCursor := e.cursor(cursorUsers)
			var x graphsim.ExpectedFinding
			if tt.want != kept {
				// A change while notifications may have been lost.
				x = expected(t, e.attack(apt29.StepDisableAudit), "audit.advanced-auditing-disabled")
			}
			if err := e.app.Lifecycle(ctx, n); err != nil {
				t.Errorf("Lifecycle: %v", err)
			}

			after, live := e.stored(), e.live()
			if len(live) != 2 {
				t.Fatalf("%d live subscriptions, want users and groups", len(live))
			}
			got := after["users"]
			if live["users"].ID != got.ID {
				t.Fatalf("users: stored %s, live %s", got.ID, live["users"].ID)
			}
			if after["groups"].ID != before["groups"].ID || !after["groups"].ExpirationDateTime.Equal(before["groups"].ExpirationDateTime) {
				t.Error("the groups subscription changed")
			}
			if live["users"].Paused {
				t.Error("the users subscription is still paused: its notifications are held")
			}
			renewedAt := e.clk.Now().Add(e.cfg.SubscriptionLifetime - 5*time.Minute)
			switch tt.want {
			case kept:
				if got.ID != old.ID || got.ClientState != old.ClientState {
					t.Errorf("users: id %s → %s; want the subscription kept with its clientState", old.ID, got.ID)
				}
				if !got.ExpirationDateTime.Equal(renewedAt) {
					t.Errorf("users expires %v, want %v (renewed at the lifecycle event)", got.ExpirationDateTime, renewedAt)
				}
				if c := e.cursor(cursorUsers); c.ETag != usersCursor.ETag {
					t.Error("a reauthorization ran a users round")
				}
				return
			case made:
				if got.ID == old.ID || got.ClientState == old.ClientState {
					t.Errorf("users: id %s → %s; want a new subscription with a new clientState", old.ID, got.ID)
				}
				if !got.ExpirationDateTime.Equal(renewedAt) {
					t.Errorf("users expires %v, want %v", got.ExpirationDateTime, renewedAt)
				}
			}
			if got.ID != old.ID {
				if _, ok, err := e.app.ClientState(ctx, old.ID); err != nil || ok {
					t.Errorf("the replaced subscription's clientState is still accepted (ok %v, err %v)", ok, err)
				}
			}
			if c := e.cursor(cursorUsers); c.ETag == usersCursor.ETag {
				t.Fatal("no users round followed the lifecycle event")
			}
			e.alerted(x)
		})
	}
}

// TestLifecycleIgnored: lifecycle events the app cannot act on change
// nothing and are not errors (the queue would retry them).
func TestLifecycleIgnored(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{Sim: graphsim.Options{Scenario: empty.Scenario()}})
	ctx := t.Context()
	e.must("RenewSubscriptions", e.app.RenewSubscriptions(ctx))
	users := e.stored()["users"].ID
	tests := []struct {
		name string
		n    webhook.Notification
	}{
		{"unknown subscription", webhook.Notification{SubscriptionID: "0a0a0a0a-0000-4000-8000-000000000000", LifecycleEvent: "subscriptionRemoved"}},
		{"unknown subscription, reauthorization", webhook.Notification{SubscriptionID: "0a0a0a0a-0000-4000-8000-000000000000", LifecycleEvent: "reauthorizationRequired"}},
		{"empty subscription id", webhook.Notification{LifecycleEvent: "subscriptionRemoved"}},
		{"unknown event", webhook.Notification{SubscriptionID: users, LifecycleEvent: "somethingNew"}},
	}
	for _, tt := range tests {
		storedBefore, liveBefore := e.stored(), e.sim.Subscriptions()
		cur := e.cursor(cursorUsers)
		e.clk.Advance(time.Hour)
		if err := e.app.Lifecycle(ctx, tt.n); err != nil {
			t.Errorf("%s: Lifecycle: %v", tt.name, err)
		}
		if diff := cmp.Diff(storedBefore, e.stored()); diff != "" {
			t.Errorf("%s: stored subscriptions changed (-before +after):\n%s", tt.name, diff)
		}
		if diff := cmp.Diff(liveBefore, e.sim.Subscriptions()); diff != "" {
			t.Errorf("%s: live subscriptions changed (-before +after):\n%s", tt.name, diff)
		}
		if c := e.cursor(cursorUsers); c.ETag != cur.ETag {
			t.Errorf("%s: a users round ran", tt.name)
		}
	}
	if items := e.outbox(); len(items) != 0 {
		t.Errorf("%d outbox items, want none", len(items))
	}
}
