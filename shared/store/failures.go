package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Rows of the failures table, the failed-sign-in aggregate password-spray
// detection reads (tenant.SignInFailures): PartitionKey the bucket's start
// (UTC, "20060102T1504": one partition per 10-minute bucket, so a window is
// a range of partitions and pruning deletes whole partitions), RowKey
// key(kind + "|" + key). Kind, Key, UPN, Count, Dropped, First and Last are
// properties; Members (the distinct accounts or addresses, capped at
// tenant.FailureMembersMax) and Legacy (failures by legacy client) are JSON.
// A write merges into the stored row under its ETag (read, unite, replace),
// so writing the same failures twice (overlapping polls) leaves the members
// as they were.

// bucketLayout formats a bucket's start as its PartitionKey: fixed width,
// so that the lexical order of partitions is their time order.
const bucketLayout = "20060102T1504"

func bucketKey(t time.Time) string {
	return t.UTC().Truncate(tenant.FailureBucketWidth).Format(bucketLayout)
}

func failureRowKey(kind tenant.FailureKind, k string) string {
	return key(string(kind) + "|" + k)
}

// maxFailureRows bounds the rows one read of the window returns: a spray
// from many networks makes many rows, and a rule needs the largest tallies,
// not every one. Beyond it the read stops and says so in the log.
const maxFailureRows = 50000

// AddSignInFailures merges the tallies of f into the stored aggregate:
// counts add up, members are united up to the cap. Rows are written in
// transactions of up to 100 per bucket (partition), each row inserted or
// replaced under the ETag it was read with; rows that changed meanwhile
// are read again and merged again.
func (t *Tables) AddSignInFailures(ctx context.Context, f *tenant.SignInFailures) error {
	const what = "add sign-in failures"
	if f == nil || f.Len() == 0 {
		return nil
	}
	byBucket := make(map[string][]tenant.FailureTally)
	for _, tl := range f.Tallies() {
		pk := bucketKey(tl.Bucket)
		byBucket[pk] = append(byBucket[pk], tl)
	}
	pks := make([]string, 0, len(byBucket))
	for pk := range byBucket {
		pks = append(pks, pk)
	}
	sort.Strings(pks)
	err := t.each(ctx, len(pks), func(ctx context.Context, i int) error {
		return t.addFailureBucket(ctx, pks[i], byBucket[pks[i]])
	})
	return wrap(what, err)
}

// storedTally is one row read back, with its ETag.
type storedTally struct {
	tally tenant.FailureTally
	etag  string
}

// addFailureBucket merges tallies into the partition pk.
func (t *Tables) addFailureBucket(ctx context.Context, pk string, tallies []tenant.FailureTally) error {
	pending := tallies
	for attempt := 0; attempt < maxAttempts && len(pending) > 0; attempt++ {
		stored := make(map[string]storedTally)
		err := t.list(ctx, tableFailures, partitionFilter(pk), "", func(r row) error {
			tl, err := tallyFromRow(r)
			if err != nil {
				return err
			}
			stored[r.str("RowKey")] = storedTally{tl, r.etag}
			return nil
		})
		if err := listErr("read failures of "+pk, err); err != nil {
			return err
		}
		ops := make([]op, 0, len(pending))
		for _, tl := range pending {
			rk := failureRowKey(tl.Kind, tl.Key)
			s, ok := stored[rk]
			merged := tl
			if ok {
				var agg tenant.SignInFailures
				agg.Merge(s.tally)
				agg.Merge(tl)
				merged = agg.Tallies()[0]
			}
			e, err := tallyEntity(pk, rk, merged)
			if err != nil {
				return &opError{op: "add sign-in failures of " + pk, err: err}
			}
			if ok {
				ops = append(ops, replaceOp(e, s.etag))
			} else {
				ops = append(ops, addOp(e))
			}
		}
		refused, err := t.submitChunks(ctx, tableFailures, ops)
		if err != nil {
			return err
		}
		var retry []tenant.FailureTally
		for i, r := range refused {
			if r {
				retry = append(retry, pending[i])
			}
		}
		if len(retry) > 0 {
			t.log.Debug("sign-in failures changed concurrently; merging again", "bucket", pk, "rows", len(retry), "attempt", attempt+1)
		}
		pending = retry
	}
	if len(pending) > 0 {
		return wrapAs(fmt.Sprintf("add sign-in failures of %s: %d rows still conflicting after %d attempts", pk, len(pending), maxAttempts), ErrConflict, nil)
	}
	return nil
}

func tallyEntity(pk, rk string, tl tenant.FailureTally) (entity, error) {
	e := newEntity(pk, rk)
	e.str("Kind", string(tl.Kind))
	e.str("Key", tl.Key)
	e.time("Bucket", tl.Bucket)
	e.int32("Count", tl.Count)
	e.int32("Dropped", tl.Dropped)
	if tl.UPN != "" {
		e.str("UPN", tl.UPN)
	}
	e.time("First", tl.First)
	e.time("Last", tl.Last)
	members, err := json.Marshal(tl.Members)
	if err != nil {
		return nil, err
	}
	if err := e.binary("Members", members); err != nil {
		return nil, err
	}
	if len(tl.Legacy) > 0 {
		legacy, err := json.Marshal(tl.Legacy)
		if err != nil {
			return nil, err
		}
		if err := e.binary("Legacy", legacy); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func tallyFromRow(r row) (tenant.FailureTally, error) {
	what := "decode sign-in failure tally " + r.str("RowKey")
	tl := tenant.FailureTally{
		Kind: tenant.FailureKind(r.str("Kind")), Key: r.str("Key"), UPN: r.str("UPN"),
		Count: r.int("Count"), Dropped: r.int("Dropped"),
	}
	var err error
	if tl.Bucket, err = r.time("Bucket"); err != nil {
		return tl, &opError{op: what, err: err}
	}
	if tl.First, err = r.time("First"); err != nil {
		return tl, &opError{op: what, err: err}
	}
	if tl.Last, err = r.time("Last"); err != nil {
		return tl, &opError{op: what, err: err}
	}
	for _, p := range []struct {
		name string
		v    any
	}{{"Members", &tl.Members}, {"Legacy", &tl.Legacy}} {
		b, err := r.binary(p.name)
		if err != nil {
			return tl, &opError{op: what, err: err}
		}
		if len(b) > 0 {
			if err := json.Unmarshal(b, p.v); err != nil {
				return tl, &opError{op: what, err: err}
			}
		}
	}
	if len(tl.Members) > tenant.FailureMembersMax {
		// A row written by something else: keep the cap.
		tl.Dropped += len(tl.Members) - tenant.FailureMembersMax
		tl.Members = tl.Members[:tenant.FailureMembersMax]
	}
	slices.Sort(tl.Members)
	return tl, nil
}

// SignInFailures returns the stored aggregate of the buckets that start at
// or after since's bucket (at most maxFailureRows rows; beyond them the
// read stops with a warning in the log).
func (t *Tables) SignInFailures(ctx context.Context, since time.Time) (*tenant.SignInFailures, error) {
	const what = "read sign-in failures"
	agg := &tenant.SignInFailures{}
	n := 0
	err := t.list(ctx, tableFailures, "PartitionKey ge "+quote(bucketKey(since)), "", func(r row) error {
		if n >= maxFailureRows {
			return errStop
		}
		n++
		tl, err := tallyFromRow(r)
		if err != nil {
			return err
		}
		agg.Merge(tl)
		return nil
	})
	if err := listErr(what, err); err != nil {
		return nil, err
	}
	if n >= maxFailureRows {
		t.log.Warn("sign-in failure aggregate cut at its bound", "rows", maxFailureRows, "since", since)
	}
	return agg, nil
}

// PruneSignInFailures deletes the buckets that start before before's
// bucket, a partition's rows in transactions of up to 100, and says how
// many rows went.
func (t *Tables) PruneSignInFailures(ctx context.Context, before time.Time) (int, error) {
	const what = "prune sign-in failures"
	byBucket := make(map[string][]op)
	n := 0
	err := t.list(ctx, tableFailures, "PartitionKey lt "+quote(bucketKey(before)), "PartitionKey,RowKey", func(r row) error {
		pk := r.str("PartitionKey")
		byBucket[pk] = append(byBucket[pk], deleteOp(pk, r.str("RowKey"), ""))
		n++
		return nil
	})
	if err := listErr(what, err); err != nil {
		return 0, err
	}
	pks := make([]string, 0, len(byBucket))
	for pk := range byBucket {
		pks = append(pks, pk)
	}
	sort.Strings(pks)
	err = t.each(ctx, len(pks), func(ctx context.Context, i int) error {
		return t.submitOrEach(ctx, tableFailures, byBucket[pks[i]], t.single)
	})
	if err != nil {
		return 0, wrap(what, err)
	}
	return n, nil
}
