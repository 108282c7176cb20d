package watch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/activityfeed"
	"github.com/tenantwatch/tenantwatch/shared/activityfeed/feedhook"
	"github.com/tenantwatch/tenantwatch/shared/collect"
	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/redact"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// The Exchange path of the deployed app (issue 11's "serve"): the Office
// 365 Management Activity API announces content blobs to
// ActivityNotifications, which queues them; ProcessActivity reads each
// announced blob once; PollActivity lists the content since its watermark
// (with overlap: notifications are not guaranteed, blobs arrive late and
// out of order) and reconciles the subscription and its webhook. Blobs are
// claimed in Table Storage, so a blob announced twice, or announced and
// polled, is read once and yields one card.

// ExchangeRounds runs Exchange rounds. *collect.Rounds satisfies it.
type ExchangeRounds interface {
	Exchange(ctx context.Context, feed collect.ExchangeFeed, from collect.ExchangeFrom, w collect.Window) (*collect.ExchangeUpdate, bool, error)
}

// ExchangeStore keeps the Exchange path's state: which blobs were read,
// and the admin records the joins need.
type ExchangeStore interface {
	// ClaimBlob claims a content blob for a round: false when its findings
	// are stored or another round holds it (for less than lease).
	ClaimBlob(ctx context.Context, id string, now time.Time, lease time.Duration) (bool, error)
	CompleteBlobs(ctx context.Context, ids []string, now time.Time) error
	ReleaseBlobs(ctx context.Context, ids []string) error
	PutExchangeAdmin(ctx context.Context, es []tenant.ExchangeAdminEvent) error
	ExchangeAdmin(ctx context.Context, since time.Time) ([]tenant.ExchangeAdminEvent, error)
	PruneExchange(ctx context.Context, blobsBefore, adminBefore time.Time) (int, error)
}

// ActivityFeed is the Management Activity API as the app uses it: the
// reads of collect.ExchangeFeed and its subscriptions.
// *activityfeed.Client satisfies it.
type ActivityFeed interface {
	collect.ExchangeFeed
	Subscriptions(ctx context.Context) ([]activityfeed.Subscription, error)
	StartSubscription(ctx context.Context, contentType string, webhook *activityfeed.Webhook) (activityfeed.Subscription, error)
}

// Exchange is the Exchange path's collaborators (Options.Exchange); nil
// leaves the Exchange rules to the scan, PollActivity says so once.
type Exchange struct {
	Feed   ActivityFeed
	Rounds ExchangeRounds
	Store  ExchangeStore
}

const (
	cursorActivity = "activity-exchange"
	// blobLease is how long a claimed blob is left to the round holding it.
	blobLease = 10 * time.Minute
	// blobKeep is how long a blob's claim is kept: the API serves no blob
	// older than 7 days.
	blobKeep = 8 * 24 * time.Hour
)

// exchangeDetectors are the rules an Exchange round runs: the Exchange
// rules (exo.*, mail.*). The others judge what the rounds of Graph read;
// the service principals an Exchange round reads to join are not theirs
// to judge again.
func (a *App) exchangeDetectors() []detect.Detector {
	var out []detect.Detector
	for _, d := range a.o.Detectors {
		if id := d.Rule().ID; strings.HasPrefix(id, "exo.") || strings.HasPrefix(id, "mail.") {
			out = append(out, d)
		}
	}
	return out
}

// ActivityAuthID returns the webhook's Webhook-AuthID secret ("" when the
// webhook is off).
func (a *App) ActivityAuthID(context.Context) (string, error) {
	if a.o.Config.ActivityNotificationURL == "" {
		return "", nil
	}
	return a.o.Config.ActivityAuthID, nil
}

// ProcessActivity reads the blob a notification announced, unless a round
// already claimed it, and runs the Exchange rules on it.
func (a *App) ProcessActivity(ctx context.Context, n feedhook.Notification) error {
	x := a.o.Exchange
	if x == nil {
		a.log.Warn("activity notification ignored: the Exchange path is not configured")
		return nil
	}
	defer a.lock(cursorActivity)()
	err := a.exchangeRound(ctx, "ProcessActivity", collect.ExchangeFrom{Blobs: []collect.BlobRef{{ID: n.ContentID, URI: n.ContentURI}}}, a.now(), false)
	if errors.Is(err, errFeedUnavailable) && !isDetectorError(err) {
		// Refused (logged): a retry of the message would be refused too;
		// the blob stays unclaimed for PollActivity once the feed answers.
		return nil
	}
	return err
}

// PollActivity reconciles the Audit.Exchange subscription and its webhook,
// then lists the content since the watermark, less the overlap (the first
// run: the API's 7 days, recorded as the baseline without cards), reads
// the blobs no round claimed, and moves the watermark once their findings
// are stored. A refused feed (403, no subscription, auditing off) is the
// source unavailable: logged, not a failure of the run.
func (a *App) PollActivity(ctx context.Context) error {
	x := a.o.Exchange
	if x == nil {
		a.log.Warn("the Exchange path is not configured: the Exchange rules run in the scan only")
		return nil
	}
	subErr := a.reconcileActivity(ctx)
	// The Exchange rules name users by the users' baselines: the first
	// round waits for them (the users round of the installation).
	if users, err := a.d.Cursors.Cursor(ctx, cursorUsers); err != nil {
		return errors.Join(subErr, fmt.Errorf("watch: users cursor: %w", err))
	} else if !users.Exists() {
		a.log.Info("PollActivity waits for the users baseline before its first round")
		return subErr
	}
	defer a.lock(cursorActivity)()
	cur, err := a.d.Cursors.Cursor(ctx, cursorActivity)
	if err != nil {
		return errors.Join(subErr, fmt.Errorf("watch: activity cursor: %w", err))
	}
	now := a.now()
	install := !cur.Exists()
	since := cur.Watermark.Add(-a.o.Config.ActivityOverlap)
	if install {
		since = now.Add(-collect.ActivityRetention)
	}
	if err := a.exchangeRound(ctx, "PollActivity", collect.ExchangeFrom{}, since, install); err != nil {
		if errors.Is(err, errFeedUnavailable) {
			return subErr
		}
		return errors.Join(subErr, err)
	}
	cur.Watermark = now
	if err := a.saveCursor(ctx, cur); err != nil {
		return errors.Join(subErr, err)
	}
	if n, err := x.Store.PruneExchange(ctx, now.Add(-blobKeep), now.Add(-collect.ExchangeKeep)); err != nil {
		a.log.Warn("pruning the exchange table failed; the next poll tries again", "err", err)
	} else if n > 0 {
		a.log.Info("exchange table pruned", "rows", n)
	}
	return subErr
}

// errFeedUnavailable: the round could not read the feed (logged); the
// watermark stays.
var errFeedUnavailable = errors.New("watch: the Management Activity API is unavailable")

// exchangeRound runs one Exchange round: the announced blobs of from, or
// the window [since, now); records the findings (as the baseline on
// install), keeps the admin records, marks the blobs done. A failed round
// releases its blobs for the next one.
func (a *App) exchangeRound(ctx context.Context, trigger string, from collect.ExchangeFrom, since time.Time, install bool) (err error) {
	x := a.o.Exchange
	now := a.now()
	if trigger == "ProcessActivity" {
		since = now
	}
	kept, err := x.Store.ExchangeAdmin(ctx, now.Add(-collect.ExchangeKeep))
	if err != nil {
		return fmt.Errorf("watch: kept exchange admin records: %w", err)
	}
	from.Admin = kept
	from.Claim = func(ctx context.Context, id string) (bool, error) {
		return x.Store.ClaimBlob(ctx, id, a.now(), blobLease)
	}
	u, full, err := x.Rounds.Exchange(ctx, x.Feed, from, collect.Window{Round: trigger, Now: now, Since: since})
	var claimed []string
	if u != nil {
		claimed = u.Blobs
	}
	defer func() {
		if err != nil && !errors.Is(err, errFeedUnavailable) && len(claimed) > 0 {
			if rerr := x.Store.ReleaseBlobs(context.WithoutCancel(ctx), claimed); rerr != nil {
				a.log.Warn("releasing content blobs failed; their claims lapse after the lease", "err", rerr)
			}
		}
	}()
	if err != nil {
		return fmt.Errorf("watch: exchange round: %w", err)
	}
	if u.Unavailable != "" && u.Snapshot == nil {
		if len(claimed) > 0 {
			_ = x.Store.ReleaseBlobs(context.WithoutCancel(ctx), claimed)
		}
		a.log.Warn("Management Activity API unavailable; the Exchange rules wait until it is readable", "round", trigger, "reason", redact.Text(u.Unavailable))
		return errFeedUnavailable
	}
	a.log.Info("exchange round", "round", trigger, "blobs", len(u.Blobs), "records", u.Records, "admin", len(u.Admin), "cut", u.Cut, "full", full, "install", install)
	var detErr error
	if u.Snapshot != nil {
		if _, detErr = a.detectAndRecordWith(ctx, u.Snapshot, install, a.exchangeDetectors()); detErr != nil && !isDetectorError(detErr) {
			return detErr
		}
	}
	if len(u.Admin) > 0 {
		if err := x.Store.PutExchangeAdmin(ctx, u.Admin); err != nil {
			return fmt.Errorf("watch: keep exchange admin records: %w", err)
		}
	}
	if len(u.Blobs) > 0 {
		if err := x.Store.CompleteBlobs(ctx, u.Blobs, a.now()); err != nil {
			return fmt.Errorf("watch: complete content blobs: %w", err)
		}
	}
	claimed = nil
	if u.Unavailable != "" {
		// Auditing off: exo.org-audit-disabled judged it; nothing else to read.
		a.log.Warn("Management Activity API: tenant not enabled for auditing", "reason", redact.Text(u.Unavailable))
		a.deliverSoon(ctx)
		return errors.Join(detErr, errFeedUnavailable)
	}
	a.deliverSoon(ctx)
	if full {
		a.log.Warn("exchange round stopped at its bound; the watermark stays for the next poll", "blobs", len(u.Blobs))
		return errors.Join(detErr, errFeedUnavailable)
	}
	return detErr
}

// reconcileActivity starts the Audit.Exchange subscription when it is not
// started, and (re)registers the webhook when the app has one and the
// subscription's is missing, expired, disabled, or points elsewhere (a
// redeployment). Starting an enabled subscription again only updates it.
// A refused feed is logged, not an error (doctor reports it).
func (a *App) reconcileActivity(ctx context.Context) error {
	x := a.o.Exchange
	defer a.lock("activity-subscription")()
	subs, err := x.Feed.Subscriptions(ctx)
	if err != nil {
		return a.feedRefusal("list subscriptions", err)
	}
	var cur *activityfeed.Subscription
	for i := range subs {
		if strings.EqualFold(subs[i].ContentType, activityfeed.ContentTypeExchange) {
			cur = &subs[i]
		}
	}
	url, auth := a.o.Config.ActivityNotificationURL, a.o.Config.ActivityAuthID
	var want *activityfeed.Webhook
	if url != "" {
		want = &activityfeed.Webhook{Address: url, AuthID: auth}
	}
	switch {
	case cur == nil || !cur.Enabled():
		a.log.Info("starting the Audit.Exchange subscription", "webhook", want != nil)
	case want == nil:
		return nil
	case cur.Webhook == nil:
		a.log.Info("registering the Management Activity API webhook")
	case !strings.EqualFold(cur.Webhook.Status, "enabled"):
		a.log.Warn("the Management Activity API webhook is not enabled; registering it again", "status", redact.Text(cur.Webhook.Status))
	case cur.Webhook.Address != url || cur.Webhook.AuthID != auth:
		a.log.Warn("the Management Activity API webhook points elsewhere or has another auth id; registering it again")
	default:
		return nil
	}
	if _, err := x.Feed.StartSubscription(ctx, activityfeed.ContentTypeExchange, want); err != nil {
		return a.feedRefusal("start the Audit.Exchange subscription", err)
	}
	a.log.Info("Audit.Exchange subscription started", "webhook", want != nil)
	return nil
}

// feedRefusal logs a refused subscription call (403, auditing off) and
// returns nil; other errors are returned.
func (a *App) feedRefusal(what string, err error) error {
	if errors.Is(err, tenant.ErrAccessDenied) || errors.Is(err, tenant.ErrAuditingDisabled) || errors.Is(err, tenant.ErrNotSubscribed) {
		a.log.Warn("Management Activity API: cannot "+what, "err", redact.Error(err))
		return nil
	}
	return fmt.Errorf("watch: %s: %w", what, err)
}
