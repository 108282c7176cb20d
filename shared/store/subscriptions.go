package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/state"
)

// Rows of the subscriptions table: PartitionKey "subscription", RowKey
// key(resource): one subscription per watched resource ("users",
// "groups").
const subscriptionPartition = "subscription"

// Subscriptions returns the stored subscriptions, ordered by resource.
func (t *Tables) Subscriptions(ctx context.Context) ([]state.Subscription, error) {
	const what = "list subscriptions"
	var out []state.Subscription
	err := t.list(ctx, tableSubscriptions, partitionFilter(subscriptionPartition), "", func(r row) error {
		s, err := subscriptionFromRow(r)
		if err != nil {
			return &opError{op: what, err: err}
		}
		out = append(out, s)
		return nil
	})
	if err := listErr(what, err); err != nil {
		return nil, err
	}
	return out, nil
}

// SubscriptionByID returns the stored subscription with Graph id id
// (case-insensitive); ok is false when none has it.
func (t *Tables) SubscriptionByID(ctx context.Context, id string) (state.Subscription, bool, error) {
	all, err := t.Subscriptions(ctx)
	if err != nil {
		return state.Subscription{}, false, err
	}
	for _, s := range all {
		if id != "" && strings.EqualFold(s.ID, id) {
			return s, true, nil
		}
	}
	return state.Subscription{}, false, nil
}

func subscriptionFromRow(r row) (state.Subscription, error) {
	s := state.Subscription{
		ID:              r.str("ID"),
		Resource:        r.str("Resource"),
		ChangeType:      r.str("ChangeType"),
		NotificationURL: r.str("NotificationURL"),
		LifecycleURL:    r.str("LifecycleURL"),
		ClientState:     r.str("ClientState"),
		ETag:            r.etag,
	}
	var err error
	s.ExpirationDateTime, err = r.time("ExpirationDateTime")
	return s, err
}

// SaveSubscription stores s under s.Resource and returns it with its new
// ETag. As SaveCursor: ETag "" inserts (an existing row is a conflict),
// otherwise the row is replaced only if it still has s.ETag; losing either
// race is an error wrapping ErrConflict.
func (t *Tables) SaveSubscription(ctx context.Context, s state.Subscription) (state.Subscription, error) {
	what := fmt.Sprintf("save subscription for %q", s.Resource)
	if s.Resource == "" {
		return s, fmt.Errorf("store: save subscription: empty resource")
	}
	s.ExpirationDateTime = norm(s.ExpirationDateTime)
	etag, err := t.saveVersioned(ctx, tableSubscriptions, subscriptionEntity(s), s.ETag)
	if err != nil {
		return s, wrap(what, err)
	}
	s.ETag = etag
	return s, nil
}

func subscriptionEntity(s state.Subscription) entity {
	e := newEntity(subscriptionPartition, key(s.Resource))
	e.str("ID", s.ID)
	e.str("Resource", s.Resource)
	e.str("ChangeType", s.ChangeType)
	e.str("NotificationURL", s.NotificationURL)
	e.str("LifecycleURL", s.LifecycleURL)
	e.str("ClientState", s.ClientState)
	e.time("ExpirationDateTime", s.ExpirationDateTime)
	return e
}

// DeleteSubscription deletes the subscription stored for resource; a
// missing one is not an error.
func (t *Tables) DeleteSubscription(ctx context.Context, resource string) error {
	return wrap(fmt.Sprintf("delete subscription for %q", resource),
		t.del(ctx, tableSubscriptions, subscriptionPartition, key(resource), ""))
}
