package store_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/state"
)

func TestSubscriptions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := open(t, nil, nil)
	users := state.Subscription{
		ID: "7f105c7d-2dc5-4530-97cd-4e7ae6534c07", Resource: "users", ChangeType: "updated,deleted",
		NotificationURL: "https://app.example/api/GraphNotifications?code=abc%2F%3D%3D",
		LifecycleURL:    "https://app.example/api/GraphLifecycle?code=def", ClientState: "s3cret'\"<>",
		ExpirationDateTime: time.Date(2026, 3, 29, 9, 0, 0, 0, time.UTC),
	}
	groups := users
	groups.ID, groups.Resource = "0b1c5e2a-0000-4000-8000-000000000002", "groups"

	if got, err := st.Subscriptions(ctx); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %v, %v", got, err)
	}
	var saved []state.Subscription
	for _, s := range []state.Subscription{users, groups} {
		s2, err := st.SaveSubscription(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if s2.ETag == "" {
			t.Fatalf("%s saved without ETag", s.Resource)
		}
		saved = append(saved, s2)
	}
	got, err := st.Subscriptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Ordered by resource: groups, users.
	if diff := cmp.Diff([]state.Subscription{saved[1], saved[0]}, got); diff != "" {
		t.Errorf("Subscriptions (-want +got):\n%s", diff)
	}

	lookups := []struct {
		id     string
		want   state.Subscription
		wantOK bool
	}{
		{users.ID, saved[0], true},
		{"7F105C7D-2DC5-4530-97CD-4E7AE6534C07", saved[0], true},
		{groups.ID, saved[1], true},
		{"unknown", state.Subscription{}, false},
		{"", state.Subscription{}, false},
	}
	for _, l := range lookups {
		s, ok, err := st.SubscriptionByID(ctx, l.id)
		if err != nil || ok != l.wantOK {
			t.Errorf("SubscriptionByID(%q) ok = %v, %v; want %v", l.id, ok, err, l.wantOK)
		}
		if diff := cmp.Diff(l.want, s); diff != "" {
			t.Errorf("SubscriptionByID(%q) (-want +got):\n%s", l.id, diff)
		}
	}

	// Same ETag semantics as cursors.
	_, err = st.SaveSubscription(ctx, users)
	wantConflict(t, err, http.StatusConflict)
	renewed := saved[0]
	renewed.ExpirationDateTime = renewed.ExpirationDateTime.Add(48 * time.Hour)
	renewed2, err := st.SaveSubscription(ctx, renewed)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.SaveSubscription(ctx, renewed)
	wantConflict(t, err, http.StatusPreconditionFailed)
	if s, _, _ := st.SubscriptionByID(ctx, users.ID); !s.ExpirationDateTime.Equal(renewed.ExpirationDateTime) || s.ETag != renewed2.ETag {
		t.Errorf("renewed: expiry %v ETag %q", s.ExpirationDateTime, s.ETag)
	}

	if err := st.DeleteSubscription(ctx, "users"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteSubscription(ctx, "users"); err != nil {
		t.Errorf("deleting a missing subscription: %v", err)
	}
	if _, ok, err := st.SubscriptionByID(ctx, users.ID); ok || err != nil {
		t.Errorf("deleted subscription found: %v", err)
	}
	if _, err := st.SaveSubscription(ctx, state.Subscription{ID: "x"}); err == nil {
		t.Error("SaveSubscription without resource succeeded")
	}
}
