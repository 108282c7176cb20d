package watch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/config"
	"github.com/tenantwatch/tenantwatch/shared/graph/webhook"
	"github.com/tenantwatch/tenantwatch/shared/redact"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// subscriptionMargin keeps requested expiries clear of Graph's maximum.
const subscriptionMargin = 5 * time.Minute

// RenewSubscriptions creates the users and groups subscriptions when
// missing and renews them before they expire; their ids and client states
// live in Table Storage. A subscription that had vanished is recreated and
// followed by a users delta round, so changes made while it was gone are
// not missed.
//
// It also reconciles the Management Activity API's Audit.Exchange
// subscription and webhook (PollActivity does so on every run too).
func (a *App) RenewSubscriptions(ctx context.Context) error {
	var feedErr error
	if a.o.Exchange != nil {
		feedErr = a.reconcileActivity(ctx)
	}
	defer a.lock("RenewSubscriptions")()
	return errors.Join(a.renewSubscriptions(ctx), feedErr)
}

func (a *App) renewSubscriptions(ctx context.Context) error {
	if a.o.Config.NotificationURL == "" {
		a.log.Warn("no notification URL (TENANTWATCH_NOTIFICATION_URL): webhooks are off; PollDirectory polls users instead")
		return nil
	}
	stored, err := a.d.Subscriptions.Subscriptions(ctx)
	if err != nil {
		return fmt.Errorf("watch: stored subscriptions: %w", err)
	}
	live, err := a.d.Subscriber.ListSubscriptions(ctx)
	if err != nil {
		return fmt.Errorf("watch: list subscriptions: %w", err)
	}
	alive := make(map[string]state.Subscription, len(live))
	for _, s := range live {
		alive[s.ID] = s
	}
	byResource := make(map[string]state.Subscription)
	for _, s := range stored {
		byResource[s.Resource] = s
	}
	var errs []error
	resync, warmed := false, false
	for _, res := range config.WatchedResources() {
		s, had := byResource[res]
		_, isAlive := alive[s.ID]
		if had && isAlive && !a.sameURLs(s) {
			// The app's URL or function key changed (a redeployment): the
			// subscription delivers to the old one. Graph allows one
			// subscription per resource, so it goes first; what it would
			// have said is resynced.
			a.log.Warn("notification URL changed; replacing the subscription", "resource", res, "subscription_id", s.ID)
			if err := a.d.Subscriber.DeleteSubscription(ctx, s.ID); err != nil && !errors.Is(err, tenant.ErrNotFound) {
				errs = append(errs, fmt.Errorf("watch: delete outdated %s subscription: %w", res, err))
				continue
			}
			isAlive, resync = false, true
		}
		if had && isAlive {
			if s.ExpirationDateTime.Sub(a.now()) > a.o.Config.RenewBefore {
				continue
			}
			if err := a.renew(ctx, s); err == nil {
				continue
			} else if !errors.Is(err, tenant.ErrNotFound) {
				errs = append(errs, err)
				continue
			}
		}
		if had {
			a.log.Warn("subscription gone; recreating it and resyncing", "resource", res, "subscription_id", s.ID)
			resync = true
		}
		// Graph refuses a second subscription on the same resource and
		// change types (409 ObjectIdentifierInUse). The app's other live
		// subscriptions on res (an earlier installation's, or one whose
		// store write failed) carry a clientState it does not keep: delete
		// them first, and resync what their notifications would have said.
		for _, l := range live {
			if l.ID == s.ID || !strings.EqualFold(strings.TrimPrefix(l.Resource, "/"), res) {
				continue
			}
			a.log.Warn("deleting a subscription the app does not keep", "resource", res, "subscription_id", l.ID)
			if err := a.d.Subscriber.DeleteSubscription(ctx, l.ID); err != nil && !errors.Is(err, tenant.ErrNotFound) {
				errs = append(errs, fmt.Errorf("watch: delete unkept %s subscription: %w", res, err))
			}
			resync = true
		}
		if !warmed {
			a.warmUp(ctx)
			warmed = true
		}
		if err := a.create(ctx, res, s); err != nil {
			errs = append(errs, err)
		}
	}
	// The users baseline is built here, right after subscribing, so that
	// the first notification is compared with it instead of becoming the
	// baseline itself.
	if cur, err := a.d.Cursors.Cursor(ctx, cursorUsers); err == nil && !cur.Exists() {
		resync = true
	}
	if resync {
		if err := a.usersRound(ctx, "RenewSubscriptions"); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// warmUpToken is the validation token of the app's warm-up request.
const warmUpToken = "tenantwatch-warm-up"

// warmUp sends the app's own notification endpoint a validation request
// before Graph's: Graph allows 10 s for the handshake, and on Flex
// Consumption the HTTP functions scale apart from this timer, so the first
// request may meet a cold instance. A failure is logged, not returned:
// Graph's handshake decides.
func (a *App) warmUp(ctx context.Context) {
	u, err := url.Parse(a.o.Config.NotificationURL)
	if err != nil {
		return
	}
	q := u.Query()
	q.Set("validationToken", warmUpToken)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return
	}
	start := time.Now()
	resp, err := a.o.HTTPClient.Do(req)
	if err != nil {
		a.log.Warn("notification endpoint warm-up failed", "error", redact.Error(err)) // the URL holds the function key
		return
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != warmUpToken {
		a.log.Warn("notification endpoint does not answer the validation handshake", "status", resp.StatusCode, "took", time.Since(start))
		return
	}
	a.log.Info("notification endpoint warm", "took", time.Since(start))
}

// sameURLs reports whether s delivers to the URLs configured now.
func (a *App) sameURLs(s state.Subscription) bool {
	return s.NotificationURL == a.o.Config.NotificationURL && s.LifecycleURL == a.o.Config.LifecycleURL
}

// missingSubscriptions reports whether a watched resource has no stored
// subscription (a new installation: the app subscribes at once instead of
// waiting for RenewSubscriptions' six-hourly schedule).
func (a *App) missingSubscriptions(ctx context.Context) (bool, error) {
	stored, err := a.d.Subscriptions.Subscriptions(ctx)
	if err != nil {
		return false, fmt.Errorf("watch: stored subscriptions: %w", err)
	}
	have := make(map[string]bool, len(stored))
	for _, s := range stored {
		have[s.Resource] = true
	}
	for _, res := range config.WatchedResources() {
		if !have[res] {
			return true, nil
		}
	}
	return false, nil
}

func (a *App) expiry() time.Time {
	return a.now().Add(a.o.Config.SubscriptionLifetime - subscriptionMargin)
}

func (a *App) renew(ctx context.Context, s state.Subscription) error {
	got, err := a.d.Subscriber.RenewSubscription(ctx, s.ID, a.expiry())
	if err != nil {
		return fmt.Errorf("watch: renew %s subscription: %w", s.Resource, err)
	}
	s.ExpirationDateTime = got.ExpirationDateTime
	if _, err := a.d.Subscriptions.SaveSubscription(ctx, s); err != nil {
		return fmt.Errorf("watch: store %s subscription: %w", s.Resource, err)
	}
	a.log.Info("subscription renewed", "resource", s.Resource, "subscription_id", s.ID, "expires", s.ExpirationDateTime)
	return nil
}

// create makes a new subscription for resource; old is the stored one it
// replaces (ETag kept for the write).
func (a *App) create(ctx context.Context, resource string, old state.Subscription) error {
	secret, err := newClientState()
	if err != nil {
		return fmt.Errorf("watch: client state: %w", err)
	}
	got, err := a.d.Subscriber.CreateSubscription(ctx, state.Subscription{
		Resource:           resource,
		ChangeType:         "updated,deleted",
		NotificationURL:    a.o.Config.NotificationURL,
		LifecycleURL:       a.o.Config.LifecycleURL,
		ClientState:        secret,
		ExpirationDateTime: a.expiry(),
	})
	if err != nil {
		return fmt.Errorf("watch: create %s subscription: %w", resource, err)
	}
	// Keep the URLs as configured (not as echoed), so that sameURLs
	// compares like with like.
	got.Resource, got.ClientState, got.ETag = resource, secret, old.ETag
	got.NotificationURL, got.LifecycleURL = a.o.Config.NotificationURL, a.o.Config.LifecycleURL
	if _, err := a.d.Subscriptions.SaveSubscription(ctx, got); err != nil {
		// Graph now delivers with a state we did not keep: remove it so the
		// next run starts clean.
		_ = a.d.Subscriber.DeleteSubscription(ctx, got.ID)
		return fmt.Errorf("watch: store %s subscription: %w", resource, err)
	}
	if old.ID != "" {
		a.forgetState(old.ID)
		_ = a.d.Subscriber.DeleteSubscription(ctx, old.ID) // best effort: it may be gone already
	}
	a.log.Info("subscription created", "resource", resource, "subscription_id", got.ID, "expires", got.ExpirationDateTime)
	return nil
}

// Lifecycle handles a lifecycle notification taken from the queue.
// reauthorizationRequired → reauthorize (and renew); subscriptionRemoved or
// missed (not expected for users and groups, handled anyway) → recreate and
// resync by delta.
func (a *App) Lifecycle(ctx context.Context, n webhook.Notification) error {
	a.log.Info("lifecycle notification", "event", n.LifecycleEvent, "subscription_id", n.SubscriptionID)
	subs, err := a.d.Subscriptions.Subscriptions(ctx)
	if err != nil {
		return fmt.Errorf("watch: stored subscriptions: %w", err)
	}
	var s state.Subscription
	for _, x := range subs {
		if x.ID == n.SubscriptionID {
			s = x
		}
	}
	if s.ID == "" {
		a.log.Warn("lifecycle event for a subscription we do not keep; ignored", "subscription_id", n.SubscriptionID)
		return nil
	}
	switch n.LifecycleEvent {
	case "reauthorizationRequired":
		err := a.d.Subscriber.ReauthorizeSubscription(ctx, s.ID)
		if err == nil {
			return a.renew(ctx, s)
		}
		if !errors.Is(err, tenant.ErrNotFound) {
			return fmt.Errorf("watch: reauthorize: %w", err)
		}
		fallthrough // gone: recreate
	case "subscriptionRemoved":
		if err := a.create(ctx, s.Resource, s); err != nil {
			return err
		}
		return a.usersRound(ctx, "GraphLifecycle")
	case "missed":
		// The subscription is alive (Graph refuses a second one for the
		// resource); only notifications were lost: resync by delta.
		return a.usersRound(ctx, "GraphLifecycle")
	default:
		a.log.Warn("unknown lifecycle event; ignored", "event", n.LifecycleEvent)
		return nil
	}
}
