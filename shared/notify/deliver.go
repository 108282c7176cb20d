package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/state"
)

// DeliveryStore is the outbox as Deliver uses it. It is declared here, by
// its consumer; the Table Storage adapter (shared/store) is meant to
// satisfy it.
type DeliveryStore interface {
	// ClaimOutbox leases up to max undelivered items whose NextAttempt is
	// not after now and whose lease has expired, oldest ID first, setting
	// LeaseUntil to now+lease. An incident's card (state.IncidentItemID)
	// is not claimed while an earlier card of the same incident is
	// undelivered, so follow-ups never reach Teams before their incident.
	ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, max int) ([]state.OutboxItem, error)
	// CompleteOutbox marks a claimed item delivered at delivered.
	CompleteOutbox(ctx context.Context, it state.OutboxItem, delivered time.Time) error
	// RetryOutbox releases a claimed item until next, recording lastErr.
	// Deliver passes it with Attempts, NextAttempt and LastError already
	// updated; the store saves them as given and must not count again.
	RetryOutbox(ctx context.Context, it state.OutboxItem, next time.Time, lastErr string) error
}

// DeliverOptions configures Deliver. A nil *DeliverOptions means the
// defaults.
type DeliverOptions struct {
	Lease       time.Duration // claim lease (default 2m)
	Batch       int           // items claimed at a time (default 20)
	MaxBackoff  time.Duration // longest delay before a retry (default 30m)
	BaseBackoff time.Duration // delay after a first failure (default 5s)
	// MaxWait is the longest Deliver pauses within one run after a 429
	// before carrying on (default 30s); a longer Retry-After ends the run and
	// leaves the items to a later one.
	MaxWait time.Duration
	Now     func() time.Time // default time.Now
	Logger  *slog.Logger     // default: discard
	// Sleep waits after a 429 (default: a timer that stops early, with ctx's
	// error, when ctx is done). Tests pass a virtual clock's.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (o *DeliverOptions) withDefaults() DeliverOptions {
	var d DeliverOptions
	if o != nil {
		d = *o
	}
	if d.Lease <= 0 {
		d.Lease = 2 * time.Minute
	}
	if d.Batch <= 0 {
		d.Batch = 20
	}
	if d.MaxBackoff <= 0 {
		d.MaxBackoff = 30 * time.Minute
	}
	if d.BaseBackoff <= 0 {
		d.BaseBackoff = 5 * time.Second
	}
	d.BaseBackoff = min(d.BaseBackoff, d.MaxBackoff)
	if d.MaxWait <= 0 {
		d.MaxWait = 30 * time.Second
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Sleep == nil {
		d.Sleep = sleepCtx
	}
	return d
}

// DeliverStats counts what one Deliver run did: items posted (Delivered),
// items rescheduled after a transient failure or a 429 (Retried), and items
// rescheduled after a permanent failure (Failed).
type DeliverStats struct {
	Delivered, Retried, Failed int
}

// maxLastError bounds the error text stored with an item, in runes.
const maxLastError = 1000

// Deliver posts due outbox items to Teams through s until none is left to
// claim or ctx is done. It claims a batch, sends its items in order and
// records each outcome:
//
//   - accepted (2xx): CompleteOutbox. An item already marked delivered is
//     completed again, never re-sent.
//   - transient failure (5xx, 408, network): RetryOutbox after an
//     exponential back-off by Attempts (BaseBackoff doubling, capped at
//     MaxBackoff, with jitter: between half and all of it).
//   - permanent failure (413, other 4xx): RetryOutbox after MaxBackoff with
//     the error, logged at error level. A security alert is never dropped;
//     someone has to fix the card or the flow.
//   - 429: the item is retried after the larger of Retry-After and its
//     back-off (capped at MaxBackoff), and the rest of the batch is released
//     unsent until the same time, so the webhook is not hammered. When that
//     time is within MaxWait, Deliver sleeps until then and carries on;
//     otherwise the run ends.
//
// Within one run an item is sent at most once, except after a 429 pause; an
// item reclaimed sooner is released untouched. An item whose lease is
// about to run out is not sent (another run may have it). Delivery is at
// least once: when CompleteOutbox fails after Teams accepted an item, the
// error is logged and the item may be posted again by a later run.
//
// Deliver returns what it did, a claim failure, ctx's error when ctx ended
// the run, and any CompleteOutbox or RetryOutbox failures (joined).
func Deliver(ctx context.Context, st DeliveryStore, s *Sender, opts *DeliverOptions) (DeliverStats, error) {
	if st == nil || s == nil {
		return DeliverStats{}, errors.New("notify: deliver needs a store and a sender")
	}
	o := opts.withDefaults()
	d := &deliverer{st: st, s: s, o: o, log: o.Logger.With("webhook_host", s.Host()), attempted: make(map[string]bool)}
	for {
		if err := ctx.Err(); err != nil {
			return d.stats, errors.Join(append(d.errs, err)...)
		}
		items, err := st.ClaimOutbox(ctx, o.Now(), o.Lease, o.Batch)
		if err != nil {
			return d.stats, errors.Join(append(d.errs, fmt.Errorf("notify: claim outbox: %w", err))...)
		}
		if len(items) == 0 {
			return d.stats, errors.Join(d.errs...)
		}
		wait, more := d.batch(ctx, items)
		if !more {
			if err := ctx.Err(); err != nil {
				d.errs = append(d.errs, err)
			}
			return d.stats, errors.Join(d.errs...)
		}
		if wait > 0 {
			if err := o.Sleep(ctx, wait); err != nil {
				return d.stats, errors.Join(append(d.errs, err)...)
			}
		}
	}
}

type deliverer struct {
	st        DeliveryStore
	s         *Sender
	o         DeliverOptions
	log       *slog.Logger
	stats     DeliverStats
	errs      []error
	attempted map[string]bool
}

// batch sends items in order. It reports how long to pause before claiming
// again and whether to claim again at all.
func (d *deliverer) batch(ctx context.Context, items []state.OutboxItem) (time.Duration, bool) {
	fresh := false
	for i, it := range items {
		if ctx.Err() != nil {
			return 0, false // leases expire; the items become claimable again
		}
		log := d.log.With("item", it.ID, "kind", it.Kind)
		if !it.Delivered.IsZero() {
			log.Warn("claimed item was already delivered; not sending it again")
			d.complete(ctx, log, it, it.Delivered)
			continue
		}
		if d.attempted[it.ID] {
			d.release(ctx, log, it, d.o.Now())
			continue
		}
		fresh = true
		sctx, cancel := ctx, context.CancelFunc(func() {})
		if !it.LeaseUntil.IsZero() {
			left := it.LeaseUntil.Sub(d.o.Now()) - d.o.Lease/8
			if left <= 0 {
				log.Warn("lease about to expire; item left for a later run")
				continue
			}
			sctx, cancel = context.WithTimeout(ctx, left)
		}
		d.attempted[it.ID] = true
		err := d.s.Send(sctx, it.Payload)
		leaseOut := sctx.Err() != nil && ctx.Err() == nil
		cancel()
		now := d.o.Now().UTC()
		if err == nil {
			d.stats.Delivered++
			log.Info("alert delivered to teams", "attempts", it.Attempts+1)
			it.Delivered, it.LeaseUntil = now, time.Time{}
			d.complete(ctx, log, it, now)
			continue
		}
		if ctx.Err() != nil {
			return 0, false // not counted as an attempt; the lease expires
		}
		if leaseOut {
			log.Warn("lease ran out while sending; item left for a later run", "err", err)
			continue
		}
		var de *DeliveryError
		if !errors.As(err, &de) {
			de = &DeliveryError{Err: err}
		}
		it.Attempts++
		it.LastError = truncate(err.Error(), maxLastError, false)
		log = log.With("attempts", it.Attempts, "status", de.Status, "err", it.LastError)
		switch {
		case de.Status == 429:
			delay := min(max(de.RetryAfter, d.backoff(it.Attempts)), d.o.MaxBackoff)
			next := now.Add(delay)
			d.stats.Retried++
			d.retry(ctx, log, it, next)
			for _, rest := range items[i+1:] {
				d.release(ctx, log, rest, next)
				delete(d.attempted, rest.ID)
			}
			delete(d.attempted, it.ID)
			if delay > d.o.MaxWait {
				log.Warn("teams webhook throttled; ending this run", "retry_at", next)
				return 0, false
			}
			log.Warn("teams webhook throttled; pausing", "retry_at", next)
			return delay, true
		case de.Permanent:
			d.stats.Failed++
			next := now.Add(d.o.MaxBackoff)
			log.Error("teams refused the alert; it will be retried, but needs attention", "retry_at", next)
			d.retry(ctx, log, it, next)
		default:
			d.stats.Retried++
			next := now.Add(d.backoff(it.Attempts))
			log.Warn("teams delivery failed; will retry", "retry_at", next)
			d.retry(ctx, log, it, next)
		}
	}
	return 0, fresh
}

// backoff is state.RetryDelay with the run's options.
func (d *deliverer) backoff(attempts int) time.Duration {
	return state.RetryDelay(d.o.BaseBackoff, d.o.MaxBackoff, attempts)
}

func (d *deliverer) complete(ctx context.Context, log *slog.Logger, it state.OutboxItem, at time.Time) {
	if err := d.st.CompleteOutbox(ctx, it, at); err != nil {
		log.Error("teams accepted the alert but marking it delivered failed; it may be posted again", "err", err)
		d.errs = append(d.errs, fmt.Errorf("notify: complete outbox item %s: %w", it.ID, err))
	}
}

func (d *deliverer) retry(ctx context.Context, log *slog.Logger, it state.OutboxItem, next time.Time) {
	it.NextAttempt, it.LeaseUntil = next, time.Time{}
	if err := d.st.RetryOutbox(ctx, it, next, it.LastError); err != nil {
		log.Error("rescheduling an undelivered alert failed; it is retried when its lease expires", "err", err)
		d.errs = append(d.errs, fmt.Errorf("notify: retry outbox item %s: %w", it.ID, err))
	}
}

// release gives back a claimed item that was not sent, due at next, with
// its attempts and last error unchanged.
func (d *deliverer) release(ctx context.Context, log *slog.Logger, it state.OutboxItem, next time.Time) {
	d.retry(ctx, log.With("released", it.ID), it, next)
}
