package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// The exchange table serves the Management Activity API path of the
// deployed app (issue 11):
//
//   - PartitionKey "blob", RowKey key(contentId): a content blob claimed by
//     a round (Claimed) and, once its findings are stored, done (Done). A
//     blob fetched twice — a duplicated notification, a poll overlapping a
//     notification — is read once and yields no second card.
//   - PartitionKey "admin", RowKey key(record Id): an Exchange admin cmdlet
//     record (tenant.ExchangeAdminEvent as JSON) kept for ExchangeKeep, so
//     that a later blob's mail reads are judged with the audit changes and
//     role grants of earlier blobs (mail.audit-gap, mail.app-collection).
const (
	blobPartition  = "blob"
	adminPartition = "admin"
)

// BlobClaim says what ClaimBlob found.
type BlobClaim int

const (
	// BlobClaimed: the caller holds the blob and must Complete or Release it.
	BlobClaimed BlobClaim = iota
	// BlobDone: the blob's findings are already stored.
	BlobDone
	// BlobBusy: another round claimed it less than a lease ago.
	BlobBusy
)

// ClaimBlob claims content blob id for a round at now: a new blob is
// claimed; a done one is BlobDone; one claimed by another round less than
// lease ago is BlobBusy; an older claim (a round that crashed) is taken
// over. Of two concurrent claims exactly one wins.
func (t *Tables) ClaimBlob(ctx context.Context, id string, now time.Time, lease time.Duration) (BlobClaim, error) {
	op := fmt.Sprintf("claim content blob %q", clipKey(id))
	e := newEntity(blobPartition, key(id))
	e.str("ContentID", clipKey(id))
	e.time("Claimed", now)
	_, err := t.add(ctx, tableExchange, e)
	if err == nil {
		return BlobClaimed, nil
	}
	if !isStatus(err, http.StatusConflict) {
		return 0, wrap(op, err)
	}
	r, ok, err := t.get(ctx, tableExchange, blobPartition, key(id))
	if err != nil {
		return 0, wrap(op, err)
	}
	if !ok {
		return BlobBusy, nil // released meanwhile: the next poll reads it
	}
	if done, _ := r.time("Done"); !done.IsZero() {
		return BlobDone, nil
	}
	if claimed, _ := r.time("Claimed"); now.Sub(claimed) < lease {
		return BlobBusy, nil
	}
	if _, err := t.replace(ctx, tableExchange, e, r.etag); err != nil {
		if isStatus(err, http.StatusPreconditionFailed, http.StatusNotFound) {
			return BlobBusy, nil
		}
		return 0, wrap(op, err)
	}
	return BlobClaimed, nil
}

// CompleteBlobs marks claimed blobs done at now.
func (t *Tables) CompleteBlobs(ctx context.Context, ids []string, now time.Time) error {
	return t.each(ctx, len(ids), func(ctx context.Context, i int) error {
		e := newEntity(blobPartition, key(ids[i]))
		e.time("Done", now)
		_, err := t.merge(ctx, tableExchange, e, "")
		return wrap(fmt.Sprintf("complete content blob %q", clipKey(ids[i])), err)
	})
}

// ReleaseBlobs drops the claims of blobs a round could not finish, so the
// next round (a retry, the poll) reads them.
func (t *Tables) ReleaseBlobs(ctx context.Context, ids []string) error {
	return t.each(ctx, len(ids), func(ctx context.Context, i int) error {
		err := t.del(ctx, tableExchange, blobPartition, key(ids[i]), "")
		if isEntityNotFound(err) {
			err = nil
		}
		return wrap(fmt.Sprintf("release content blob %q", clipKey(ids[i])), err)
	})
}

// PutExchangeAdmin keeps Exchange admin records (by record id: a record
// kept twice is one row).
func (t *Tables) PutExchangeAdmin(ctx context.Context, es []tenant.ExchangeAdminEvent) error {
	return t.each(ctx, len(es), func(ctx context.Context, i int) error {
		ev := es[i]
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		rk := ev.ID
		if rk == "" {
			rk = ev.Time.UTC().Format(time.RFC3339Nano) + "/" + ev.Cmdlet + "/" + ev.ObjectID
		}
		e := newEntity(adminPartition, key(rk))
		e.time("Time", ev.Time)
		if err := e.binary("Event", b); err != nil {
			return fmt.Errorf("store: keep exchange admin record: %w", err)
		}
		_, err = t.replace(ctx, tableExchange, e, "")
		if isEntityNotFound(err) {
			_, err = t.add(ctx, tableExchange, e)
		}
		return wrap("keep exchange admin record", err)
	})
}

// ExchangeAdmin returns the kept admin records at or after since.
func (t *Tables) ExchangeAdmin(ctx context.Context, since time.Time) ([]tenant.ExchangeAdminEvent, error) {
	var out []tenant.ExchangeAdminEvent
	f := partitionFilter(adminPartition) + " and Time ge datetime'" + norm(since).Format(timeLayout) + "'"
	err := t.list(ctx, tableExchange, f, "", func(r row) error {
		b, err := r.binary("Event")
		if err != nil {
			return err
		}
		var ev tenant.ExchangeAdminEvent
		if err := json.Unmarshal(b, &ev); err != nil {
			return fmt.Errorf("exchange admin record %s: %w", r.str("RowKey"), err)
		}
		out = append(out, ev)
		return nil
	})
	return out, listErr("read exchange admin records", err)
}

// PruneExchange deletes the blob rows claimed before blobsBefore (the API
// serves no blob older than 7 days) and the admin records before
// adminBefore, and says how many rows went.
func (t *Tables) PruneExchange(ctx context.Context, blobsBefore, adminBefore time.Time) (int, error) {
	type k struct{ pk, rk string }
	var old []k
	for _, q := range []struct {
		pk, prop string
		before   time.Time
	}{{blobPartition, "Claimed", blobsBefore}, {adminPartition, "Time", adminBefore}} {
		f := partitionFilter(q.pk) + " and " + q.prop + " lt datetime'" + norm(q.before).Format(timeLayout) + "'"
		err := t.list(ctx, tableExchange, f, "PartitionKey,RowKey", func(r row) error {
			old = append(old, k{r.str("PartitionKey"), r.str("RowKey")})
			return nil
		})
		if err := listErr("list old exchange rows", err); err != nil {
			return 0, err
		}
	}
	err := t.each(ctx, len(old), func(ctx context.Context, i int) error {
		err := t.del(ctx, tableExchange, old[i].pk, old[i].rk, "")
		if isEntityNotFound(err) {
			err = nil
		}
		return wrap("prune exchange row", err)
	})
	return len(old), err
}

// clipKey bounds an API-given id in messages.
func clipKey(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}
