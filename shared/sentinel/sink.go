package sentinel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/incident"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Store is the sink's outbox (store.SinkOutbox satisfies it): the same
// claims, leases and attempts as the Teams outbox.
type Store interface {
	EnqueueOutbox(ctx context.Context, items []state.OutboxItem) ([]state.OutboxItem, error)
	ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, max int) ([]state.OutboxItem, error)
	CompleteOutbox(ctx context.Context, it state.OutboxItem, delivered time.Time) error
	RetryOutbox(ctx context.Context, it state.OutboxItem, next time.Time, lastErr string) error
	Outbox(ctx context.Context, fn func(state.OutboxItem) error) error
	PruneOutbox(ctx context.Context, deliveredBefore time.Time) (int, error)
}

// Uploader sends one batch to a stream; *Client satisfies it. Its errors
// may be *UploadError.
type Uploader interface {
	Upload(ctx context.Context, stream string, rows []byte) error
}

// Outbox kinds of the sink's items: the stream each goes to.
const (
	KindFindings  state.OutboxKind = "sentinel-findings"
	KindIncidents state.OutboxKind = "sentinel-incidents"
)

func streamOf(k state.OutboxKind) (string, bool) {
	switch k {
	case KindFindings:
		return FindingsStream, true
	case KindIncidents:
		return IncidentsStream, true
	}
	return "", false
}

// SinkOptions tune a Sink; nil means the defaults.
type SinkOptions struct {
	TenantID string           // the TenantId column
	Now      func() time.Time // default time.Now
	Logger   *slog.Logger     // default: discard
	// Lease of a claimed item (default 2m); Batch items claimed at a time
	// (default 10).
	Lease time.Duration
	Batch int
	// BaseBackoff (default 5s) doubles per attempt up to MaxBackoff
	// (default 30m); a Retry-After longer than the back-off wins.
	BaseBackoff, MaxBackoff time.Duration
	// MaxItemBytes is the most JSON one item holds (default and at most
	// MaxItemBytes).
	MaxItemBytes int
}

// Sink queues rows in its outbox and uploads them.
type Sink struct {
	st  Store
	up  Uploader
	o   SinkOptions
	log *slog.Logger
}

// NewSink returns a Sink over st that uploads through up.
func NewSink(st Store, up Uploader, opts *SinkOptions) (*Sink, error) {
	if st == nil || up == nil {
		return nil, errors.New("sentinel: a sink needs an outbox and an uploader")
	}
	var o SinkOptions
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.Batch <= 0 {
		o.Batch = 10
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = 5 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Minute
	}
	if o.MaxItemBytes <= 0 || o.MaxItemBytes > MaxItemBytes {
		o.MaxItemBytes = MaxItemBytes
	}
	return &Sink{st: st, up: up, o: o, log: o.Logger}, nil
}

// revision is the Revision of rows enqueued now: Unix milliseconds, so a
// later enqueue of the same key has a larger one.
func (s *Sink) revision(now time.Time) int64 { return now.UnixMilli() }

// AddFindings queues fs as rows (change "new", or "baseline" for the
// findings an installation's first rounds record silently).
func (s *Sink) AddFindings(ctx context.Context, fs []tenant.Finding, change string) error {
	if len(fs) == 0 {
		return nil
	}
	now := s.o.Now().UTC()
	rows := make([]FindingRow, len(fs))
	for i, f := range fs {
		rows[i] = NewFindingRow(f, change, s.o.TenantID, now, s.revision(now))
	}
	bs, err := batches(FindingsStream, rows, func(r FindingRow) string { return r.FindingKey }, s.o.MaxItemBytes)
	if err != nil {
		return err
	}
	return s.enqueue(ctx, KindFindings, bs)
}

// AddIncidents queues the incidents as rows (the daily sweep's: each day's
// state of each incident is a new revision).
func (s *Sink) AddIncidents(ctx context.Context, incs []incident.Incident) error {
	if len(incs) == 0 {
		return nil
	}
	now := s.o.Now().UTC()
	rows := make([]IncidentRow, len(incs))
	for i, inc := range incs {
		rows[i] = NewIncidentRow(inc, s.o.TenantID, now, s.revision(now))
	}
	bs, err := batches(IncidentsStream, rows, func(r IncidentRow) string { return r.IncidentID }, s.o.MaxItemBytes)
	if err != nil {
		return err
	}
	return s.enqueue(ctx, KindIncidents, bs)
}

// enqueue stores one item per batch, one write each (an item may be a
// quarter of a MiB: several would not fit one Table transaction).
func (s *Sink) enqueue(ctx context.Context, kind state.OutboxKind, bs []Batch) error {
	for _, b := range bs {
		if _, err := s.st.EnqueueOutbox(ctx, []state.OutboxItem{{Kind: kind, FindingKeys: b.Keys, Payload: b.JSON}}); err != nil {
			return fmt.Errorf("sentinel: queue %d rows for %s: %w", len(b.Keys), b.Stream, err)
		}
	}
	return nil
}

// Stats counts what one Deliver run did.
type Stats struct {
	Delivered, Retried, Failed int
}

// Deliver uploads the due items until none is left to claim, one call per
// item, or ctx ends:
//
//   - 204: the item is completed (delivered), never sent again;
//   - 429 or 503 with Retry-After: the item and the rest of its batch wait
//     for the larger of Retry-After and the back-off, and the run ends (the
//     DCR's limits are per minute: a later run carries on);
//   - 5xx, 408, network, a bound met: the item waits its back-off
//     (BaseBackoff doubling per attempt, with jitter, at most MaxBackoff);
//   - another 4xx (rule, stream, role or schema wrong): the item waits
//     MaxBackoff, logged as an error: rows are never dropped.
//
// An item is sent at most once per run. Delivery is at least once: an
// upload the service took whose completion could not be stored is sent
// again later, with the same rows and revisions (see the package
// comment for the query that reads each key once).
func (s *Sink) Deliver(ctx context.Context) (Stats, error) {
	var st Stats
	var errs []error
	sent := make(map[string]bool)
	for {
		if err := ctx.Err(); err != nil {
			return st, errors.Join(append(errs, err)...)
		}
		items, err := s.st.ClaimOutbox(ctx, s.o.Now(), s.o.Lease, s.o.Batch)
		if err != nil {
			return st, errors.Join(append(errs, fmt.Errorf("sentinel: claim outbox: %w", err))...)
		}
		fresh := 0
		for i, it := range items {
			if sent[it.ID] || !it.Delivered.IsZero() {
				if err := s.st.RetryOutbox(ctx, it, it.NextAttempt, it.LastError); err != nil {
					errs = append(errs, err)
				}
				continue
			}
			fresh++
			sent[it.ID] = true
			stop, err := s.one(ctx, &st, it, items[i+1:])
			if err != nil {
				errs = append(errs, err)
			}
			if stop {
				return st, errors.Join(errs...)
			}
		}
		if fresh == 0 {
			return st, errors.Join(errs...)
		}
	}
}

// one uploads it and records the outcome; stop ends the run (throttled,
// or ctx ended). rest are the batch's other items, released on a 429.
func (s *Sink) one(ctx context.Context, st *Stats, it state.OutboxItem, rest []state.OutboxItem) (stop bool, err error) {
	log := s.log.With("item", it.ID, "kind", string(it.Kind), "rows", len(it.FindingKeys))
	stream, ok := streamOf(it.Kind)
	var uerr error
	if !ok {
		uerr = &UploadError{Status: 400, Msg: fmt.Sprintf("sentinel: unknown item kind %q", it.Kind)}
	} else {
		uerr = s.up.Upload(ctx, stream, it.Payload)
	}
	now := s.o.Now().UTC()
	if uerr == nil {
		st.Delivered++
		log.Info("rows delivered to log analytics", "stream", stream, "attempts", it.Attempts+1)
		if err := s.st.CompleteOutbox(ctx, it, now); err != nil {
			return false, fmt.Errorf("sentinel: complete item %s (it may be sent again): %w", it.ID, err)
		}
		return false, nil
	}
	if ctx.Err() != nil {
		return true, nil // not counted; the lease lapses
	}
	var ue *UploadError
	if !errors.As(uerr, &ue) {
		ue = &UploadError{Msg: uerr.Error()}
	}
	it.Attempts++
	it.LastError = ue.Msg
	log = log.With("attempts", it.Attempts, "status", ue.Status, "err", ue.Msg)
	switch {
	case ue.Status == 429 || ue.Status == 503 && ue.RetryAfter > 0:
		delay := min(max(ue.RetryAfter, s.backoff(it.Attempts)), s.o.MaxBackoff)
		next := now.Add(delay)
		st.Retried++
		log.Warn("log analytics throttled the upload; ending this run", "retry_at", next)
		err := s.st.RetryOutbox(ctx, it, next, it.LastError)
		for _, r := range rest {
			err = errors.Join(err, s.st.RetryOutbox(ctx, r, next, r.LastError))
		}
		return true, err
	case ue.Permanent():
		st.Failed++
		next := now.Add(s.o.MaxBackoff)
		log.Error("log analytics refused the rows; they will be retried, but the data collection rule, its role or the table needs attention", "retry_at", next)
		return false, s.st.RetryOutbox(ctx, it, next, it.LastError)
	default:
		st.Retried++
		next := now.Add(s.backoff(it.Attempts))
		log.Warn("upload failed; retrying later", "retry_at", next)
		return false, s.st.RetryOutbox(ctx, it, next, it.LastError)
	}
}

// backoff is state.RetryDelay with the sink's options.
func (s *Sink) backoff(attempts int) time.Duration {
	return state.RetryDelay(s.o.BaseBackoff, s.o.MaxBackoff, attempts)
}

// Pending counts the undelivered items (doctor, logs).
func (s *Sink) Pending(ctx context.Context) (int, error) {
	n := 0
	err := s.st.Outbox(ctx, func(it state.OutboxItem) error {
		if it.Delivered.IsZero() {
			n++
		}
		return nil
	})
	return n, err
}

// Prune deletes the items delivered before before.
func (s *Sink) Prune(ctx context.Context, before time.Time) (int, error) {
	return s.st.PruneOutbox(ctx, before)
}
