package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/state"
)

// Rows of the outbox table: PartitionKey "outbox", RowKey the item ID
// (20-digit Unix nanoseconds of creation, the item's position in its
// enqueue call and a random suffix, so rows sort by creation). Done is true
// once delivered; claims set LeaseUntil and a random LeaseToken.
const outboxPartition = "outbox"

// maxLastError caps the stored delivery error (bytes).
const maxLastError = 1024

// EnqueueOutbox stores items as pending deliveries and returns them as
// stored: an empty ID is assigned (sorting by creation, in input order), a
// zero Created is now and a zero NextAttempt is Created. Items are written
// in transactions of up to 100. The returned items have no ETag (a claim
// gives them one). A caller-chosen ID must be a plain key (letters, digits,
// '-', '_', '.') and new: an existing one is an error wrapping ErrConflict.
func (t *Tables) EnqueueOutbox(ctx context.Context, items []state.OutboxItem) ([]state.OutboxItem, error) {
	return t.enqueueOutbox(ctx, outboxPartition, items)
}

func (t *Tables) enqueueOutbox(ctx context.Context, pk string, items []state.OutboxItem) ([]state.OutboxItem, error) {
	const what = "enqueue outbox items"
	now := norm(t.now())
	nonce := newNonce()
	out := make([]state.OutboxItem, len(items))
	ops := make([]op, len(items))
	seen := make(map[string]bool, len(items))
	for i, it := range items {
		it.Created = norm(it.Created)
		if it.Created.IsZero() {
			it.Created = now
		}
		if it.ID == "" {
			it.ID = outboxID(it.Created, i)
		} else if len(it.ID) > maxRawKey || !plainKey(it.ID) {
			return nil, fmt.Errorf("store: %s: invalid item id %.100q", what, it.ID)
		}
		if seen[it.ID] {
			return nil, fmt.Errorf("store: %s: item id %s given twice", what, it.ID)
		}
		seen[it.ID] = true
		it.NextAttempt = norm(it.NextAttempt)
		if it.NextAttempt.IsZero() {
			it.NextAttempt = it.Created
		}
		it.LeaseUntil, it.Delivered = norm(it.LeaseUntil), norm(it.Delivered)
		it.LastError = truncateText(it.LastError, maxLastError)
		it.ETag = ""
		e, err := outboxEntity(pk, it)
		if err != nil {
			return nil, fmt.Errorf("store: %s: item %s: %w", what, it.ID, err)
		}
		e.str("Nonce", nonce)
		out[i], ops[i] = it, addOp(e)
	}
	err := t.submitOrEach(ctx, tableOutbox, ops, func(ctx context.Context, table string, o op) error {
		_, err := t.clients[table].AddEntity(ctx, o.body, nil)
		if !isStatus(err, 409) {
			return err
		}
		// Ours already (a retried transaction went through), or a clash.
		r, ok, gerr := t.get(ctx, table, o.pk, o.rk)
		if gerr == nil && ok && r.str("Nonce") == nonce {
			return nil
		}
		return wrap("enqueue outbox item "+o.rk, err)
	})
	if err != nil {
		return nil, wrap(what, err)
	}
	return out, nil
}

// outboxID makes an item ID that sorts by creation, then by position.
func outboxID(created time.Time, i int) string {
	return fmt.Sprintf("%020d-%05d-%s", max(created.UnixNano(), 0), i%100000, newNonce()[:8])
}

func outboxEntity(pk string, it state.OutboxItem) (entity, error) {
	e := newEntity(pk, it.ID)
	e.str("Kind", string(it.Kind))
	keys, err := json.Marshal(it.FindingKeys)
	if err != nil {
		return nil, err
	}
	if err := e.binary("Keys", keys); err != nil {
		return nil, err
	}
	if err := e.binary("Payload", it.Payload); err != nil {
		return nil, err
	}
	e.time("Created", it.Created)
	e.int32("Attempts", it.Attempts)
	e.time("NextAttempt", it.NextAttempt)
	e.time("LeaseUntil", it.LeaseUntil)
	e.str("LeaseToken", "")
	e.time("Delivered", it.Delivered)
	e.boolean("Done", !it.Delivered.IsZero())
	e.str("LastError", it.LastError)
	return e, nil
}

func outboxFromRow(r row) (state.OutboxItem, error) {
	it := state.OutboxItem{
		ID:        r.str("RowKey"),
		Kind:      state.OutboxKind(r.str("Kind")),
		Attempts:  r.int("Attempts"),
		LastError: r.str("LastError"),
		ETag:      r.etag,
	}
	keys, err := r.binary("Keys")
	if err != nil {
		return it, err
	}
	if len(keys) > 0 {
		if err := json.Unmarshal(keys, &it.FindingKeys); err != nil {
			return it, fmt.Errorf("decode finding keys of %s: %w", it.ID, err)
		}
	}
	if it.Payload, err = r.binary("Payload"); err != nil {
		return it, err
	}
	var errs [4]error
	it.Created, errs[0] = r.time("Created")
	it.NextAttempt, errs[1] = r.time("NextAttempt")
	it.LeaseUntil, errs[2] = r.time("LeaseUntil")
	it.Delivered, errs[3] = r.time("Delivered")
	return it, errors.Join(errs[:]...)
}

// pendingFilter selects undelivered items.
func pendingFilter(pk string) string { return partitionFilter(pk) + " and Done eq false" }

// ClaimOutbox claims up to max undelivered items that are due (NextAttempt
// ≤ now) and not leased (LeaseUntil ≤ now), oldest first: each gets
// LeaseUntil = now + lease through an If-Match update, so two concurrent
// claimers never get the same item; items another claimer took first are
// skipped. The returned items carry the ETag CompleteOutbox and
// RetryOutbox need. On error the items claimed so far are returned with
// it; their lease lapses if the caller drops them.
func (t *Tables) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, max int) ([]state.OutboxItem, error) {
	return t.claimOutbox(ctx, outboxPartition, now, lease, max)
}

func (t *Tables) claimOutbox(ctx context.Context, pk string, now time.Time, lease time.Duration, max int) ([]state.OutboxItem, error) {
	const what = "claim outbox items"
	if max <= 0 {
		return nil, nil
	}
	if lease <= 0 {
		return nil, fmt.Errorf("store: %s: lease must be positive", what)
	}
	now = norm(now)
	type candidate struct{ rk, etag string }
	var cands []candidate
	limit := 3*max + 10 // room for items lost to a concurrent claimer
	// An incident's cards go out in revision order: a follow-up is held
	// back while an earlier card of its incident is undelivered (waiting
	// for a retry, leased, or due now: the rows come in RowKey order, so
	// the earlier revision is seen first and claimed alone).
	held := make(map[string]bool)
	err := t.list(ctx, tableOutbox, pendingFilter(pk), "RowKey,NextAttempt,LeaseUntil", func(r row) error {
		next, err1 := r.time("NextAttempt")
		leased, err2 := r.time("LeaseUntil")
		if err := errors.Join(err1, err2); err != nil {
			return &opError{op: what, err: err}
		}
		if inc, _, ok := state.ParseIncidentItemID(r.str("RowKey")); ok {
			if held[inc] {
				return nil
			}
			held[inc] = true
		}
		if !next.After(now) && !leased.After(now) {
			cands = append(cands, candidate{r.str("RowKey"), r.etag})
			if len(cands) >= limit {
				return errStop
			}
		}
		return nil
	})
	if err := listErr(what, err); err != nil {
		return nil, err
	}
	token := newNonce()
	var claimed []state.OutboxItem
	for _, c := range cands {
		if len(claimed) == max {
			break
		}
		e := newEntity(pk, c.rk)
		e.time("LeaseUntil", now.Add(lease))
		e.str("LeaseToken", token)
		_, err := t.merge(ctx, tableOutbox, e, c.etag)
		if err != nil && !isStatus(err, 404, 412) {
			return claimed, wrap(what, err)
		}
		// On 412 the claim may still be ours (a retried request): the
		// token tells.
		r, ok, gerr := t.get(ctx, tableOutbox, pk, c.rk)
		if gerr != nil {
			return claimed, wrap(what, gerr)
		}
		if !ok || r.str("LeaseToken") != token {
			t.log.Debug("outbox item claimed by another invocation", "id", c.rk)
			continue
		}
		it, derr := outboxFromRow(r)
		if derr != nil {
			return claimed, &opError{op: what, err: derr}
		}
		claimed = append(claimed, it)
	}
	return claimed, nil
}

// CompleteOutbox marks a claimed item delivered at delivered (now when
// zero). The row stays (PruneOutbox removes old ones) and is never claimed
// again. It updates only the row holding it.ETag ("" = any): a lapsed lease
// that another invocation took over is an error wrapping ErrConflict; a
// deleted row one wrapping ErrNotFound.
func (t *Tables) CompleteOutbox(ctx context.Context, it state.OutboxItem, delivered time.Time) error {
	return t.completeOutbox(ctx, outboxPartition, it, delivered)
}

func (t *Tables) completeOutbox(ctx context.Context, pk string, it state.OutboxItem, delivered time.Time) error {
	what := "complete outbox item " + it.ID
	if it.ID == "" {
		return fmt.Errorf("store: complete outbox item: empty id")
	}
	if delivered.IsZero() {
		delivered = t.now()
	}
	e := newEntity(pk, it.ID)
	e.boolean("Done", true)
	e.time("Delivered", delivered)
	e.time("LeaseUntil", time.Time{})
	e.str("LeaseToken", "")
	_, err := t.merge(ctx, tableOutbox, e, it.ETag)
	return wrap(what, err)
}

// RetryOutbox releases a claimed item for another attempt at next: lease
// cleared, NextAttempt = next, LastError = lastErr (cut to 1 KiB) and
// Attempts = it.Attempts as given. The caller counts the attempt
// (notify.Deliver passes it.Attempts already incremented, and releases an
// unsent item with Attempts unchanged). ETag and errors as CompleteOutbox.
func (t *Tables) RetryOutbox(ctx context.Context, it state.OutboxItem, next time.Time, lastErr string) error {
	return t.retryOutbox(ctx, outboxPartition, it, next, lastErr)
}

func (t *Tables) retryOutbox(ctx context.Context, pk string, it state.OutboxItem, next time.Time, lastErr string) error {
	what := "retry outbox item " + it.ID
	if it.ID == "" {
		return fmt.Errorf("store: retry outbox item: empty id")
	}
	e := newEntity(pk, it.ID)
	e.int32("Attempts", it.Attempts)
	e.time("NextAttempt", next)
	e.time("LeaseUntil", time.Time{})
	e.str("LeaseToken", "")
	e.str("LastError", truncateText(lastErr, maxLastError))
	_, err := t.merge(ctx, tableOutbox, e, it.ETag)
	return wrap(what, err)
}

// Outbox streams every outbox item, delivered or not, oldest first. An
// error from fn stops the stream and is returned as is.
func (t *Tables) Outbox(ctx context.Context, fn func(state.OutboxItem) error) error {
	return t.outbox(ctx, outboxPartition, fn)
}

func (t *Tables) outbox(ctx context.Context, pk string, fn func(state.OutboxItem) error) error {
	const what = "list outbox"
	err := t.list(ctx, tableOutbox, partitionFilter(pk), "", func(r row) error {
		it, err := outboxFromRow(r)
		if err != nil {
			return &opError{op: what, err: err}
		}
		return fn(it)
	})
	return listErr(what, err)
}

// PendingOutbox counts the undelivered items (due or not).
func (t *Tables) PendingOutbox(ctx context.Context) (int, error) {
	n := 0
	err := t.list(ctx, tableOutbox, pendingFilter(outboxPartition), "RowKey", func(row) error { n++; return nil })
	if err := listErr("count pending outbox items", err); err != nil {
		return 0, err
	}
	return n, nil
}

// PruneOutbox deletes delivered items delivered before deliveredBefore and
// returns how many it deleted.
func (t *Tables) PruneOutbox(ctx context.Context, deliveredBefore time.Time) (int, error) {
	return t.pruneOutbox(ctx, outboxPartition, deliveredBefore)
}

func (t *Tables) pruneOutbox(ctx context.Context, pk string, deliveredBefore time.Time) (int, error) {
	const what = "prune outbox"
	deliveredBefore = norm(deliveredBefore)
	var ops []op
	filter := partitionFilter(pk) + " and Done eq true"
	err := t.list(ctx, tableOutbox, filter, "RowKey,Delivered", func(r row) error {
		d, err := r.time("Delivered")
		if err != nil {
			return &opError{op: what, err: err}
		}
		if d.Before(deliveredBefore) {
			ops = append(ops, deleteOp(pk, r.str("RowKey"), ""))
		}
		return nil
	})
	if err := listErr(what, err); err != nil {
		return 0, err
	}
	if err := t.submitOrEach(ctx, tableOutbox, ops, t.single); err != nil {
		return 0, wrap(what, err)
	}
	return len(ops), nil
}

// SinkOutbox is an outbox of its own for a sink other than Teams (the
// Logs Ingestion sink, shared/sentinel): the same rows, claims and
// leases as the Teams outbox, in the same table under the partition
// "sink-<name>", so that neither drains nor reconciles the other's items.
type SinkOutbox struct {
	t  *Tables
	pk string
}

// SinkOutbox returns the outbox of the sink name (a plain key: letters,
// digits, '-', '_', '.').
func (t *Tables) SinkOutbox(name string) (*SinkOutbox, error) {
	if name == "" || !plainKey(name) || len(name) > 64 {
		return nil, fmt.Errorf("store: sink outbox: invalid name %.100q", name)
	}
	return &SinkOutbox{t: t, pk: "sink-" + name}, nil
}

// EnqueueOutbox is Tables.EnqueueOutbox in this outbox.
func (s *SinkOutbox) EnqueueOutbox(ctx context.Context, items []state.OutboxItem) ([]state.OutboxItem, error) {
	return s.t.enqueueOutbox(ctx, s.pk, items)
}

// ClaimOutbox is Tables.ClaimOutbox in this outbox.
func (s *SinkOutbox) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, max int) ([]state.OutboxItem, error) {
	return s.t.claimOutbox(ctx, s.pk, now, lease, max)
}

// CompleteOutbox is Tables.CompleteOutbox in this outbox.
func (s *SinkOutbox) CompleteOutbox(ctx context.Context, it state.OutboxItem, delivered time.Time) error {
	return s.t.completeOutbox(ctx, s.pk, it, delivered)
}

// RetryOutbox is Tables.RetryOutbox in this outbox.
func (s *SinkOutbox) RetryOutbox(ctx context.Context, it state.OutboxItem, next time.Time, lastErr string) error {
	return s.t.retryOutbox(ctx, s.pk, it, next, lastErr)
}

// Outbox is Tables.Outbox in this outbox.
func (s *SinkOutbox) Outbox(ctx context.Context, fn func(state.OutboxItem) error) error {
	return s.t.outbox(ctx, s.pk, fn)
}

// PruneOutbox is Tables.PruneOutbox in this outbox.
func (s *SinkOutbox) PruneOutbox(ctx context.Context, deliveredBefore time.Time) (int, error) {
	return s.t.pruneOutbox(ctx, s.pk, deliveredBefore)
}
