package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Rows of the signins table: PartitionKey "user", RowKey key(lower-case
// user id); Times holds the user's successful sign-in times as a JSON list
// (ascending), the history mfa.dormant-registration reads.
const signInPartition = "user"

// SignInHistory returns the stored successful sign-in times of userIDs,
// ascending, keyed by lower-case id; users without history are absent.
func (t *Tables) SignInHistory(ctx context.Context, userIDs []string) (map[string][]time.Time, error) {
	const what = "read sign-in history"
	ids := lowerUnique(userIDs)
	out := make(map[string][]time.Time, len(ids))
	var mu sync.Mutex
	err := t.each(ctx, len(ids), func(ctx context.Context, i int) error {
		h, err := t.history(ctx, ids[i])
		if err != nil || !h.exists {
			return err
		}
		mu.Lock()
		out[ids[i]] = h.times
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, wrap(what, err)
	}
	return out, nil
}

// history is one user's stored row.
type history struct {
	times  []time.Time
	etag   string
	exists bool
}

func (t *Tables) history(ctx context.Context, id string) (history, error) {
	r, ok, err := t.get(ctx, tableSignIns, signInPartition, key(id))
	if err != nil || !ok {
		return history{}, err
	}
	data, err := r.binary("Times")
	if err != nil {
		return history{}, &opError{op: "read sign-in history of " + id, err: err}
	}
	var times []time.Time
	if len(data) > 0 {
		if err := json.Unmarshal(data, &times); err != nil {
			return history{}, &opError{op: "read sign-in history of " + id, err: err}
		}
	}
	for i := range times {
		times[i] = norm(times[i])
	}
	slices.SortFunc(times, time.Time.Compare)
	return history{times: times, etag: r.etag, exists: true}, nil
}

// AddSignIns merges byUser (user id → successful sign-in times) into the
// stored history: duplicates and times before keepAfter are dropped and
// only the newest max are kept (all when max ≤ 0). Rows are written in
// transactions of up to 100, each row inserted or replaced under its ETag;
// rows that changed meanwhile are read again and merged again.
func (t *Tables) AddSignIns(ctx context.Context, byUser map[string][]time.Time, keepAfter time.Time, max int) error {
	const what = "add sign-ins"
	keepAfter = norm(keepAfter)
	add := make(map[string][]time.Time, len(byUser))
	for id, ts := range byUser {
		if id == "" {
			continue
		}
		id = strings.ToLower(id)
		add[id] = append(add[id], ts...)
	}
	pending := make([]string, 0, len(add))
	for id := range add {
		pending = append(pending, id)
	}
	sort.Strings(pending)
	for attempt := 0; attempt < maxAttempts && len(pending) > 0; attempt++ {
		stored := make([]history, len(pending))
		err := t.each(ctx, len(pending), func(ctx context.Context, i int) error {
			var err error
			stored[i], err = t.history(ctx, pending[i])
			return err
		})
		if err != nil {
			return wrap(what, err)
		}
		var ops []op
		var opUsers []string
		for i, id := range pending {
			merged := mergeTimes(stored[i].times, add[id], keepAfter, max)
			if slices.EqualFunc(merged, stored[i].times, time.Time.Equal) && (stored[i].exists || len(merged) == 0) {
				continue
			}
			e := newEntity(signInPartition, key(id))
			e.str("User", id)
			data, _ := json.Marshal(merged)
			if err := e.binary("Times", data); err != nil {
				return &opError{op: what + " of " + id, err: err}
			}
			if stored[i].exists {
				ops = append(ops, replaceOp(e, stored[i].etag))
			} else {
				ops = append(ops, addOp(e))
			}
			opUsers = append(opUsers, id)
		}
		var retry []string
		start := 0
		for _, c := range chunks(ops) {
			_, err := t.submit(ctx, tableSignIns, c)
			if err != nil {
				if status, _, ok := batchFailure(err); !ok || (status != 404 && status != 409 && status != 412) {
					return wrap(what, err)
				}
				retry = append(retry, opUsers[start:start+len(c)]...)
				t.log.Debug("sign-in history changed concurrently; merging again", "users", len(c), "attempt", attempt+1)
			}
			start += len(c)
		}
		pending = retry
	}
	if len(pending) > 0 {
		return wrapAs(fmt.Sprintf("%s: %d users still conflicting after %d attempts", what, len(pending), maxAttempts), ErrConflict, nil)
	}
	return nil
}

// mergeTimes unions a and b, drops duplicates and times before keepAfter,
// sorts ascending and keeps the newest max (all when max ≤ 0).
func mergeTimes(a, b []time.Time, keepAfter time.Time, max int) []time.Time {
	out := make([]time.Time, 0, len(a)+len(b))
	for _, ts := range [][]time.Time{a, b} {
		for _, x := range ts {
			x = norm(x)
			if x.IsZero() || x.Before(keepAfter) {
				continue
			}
			out = append(out, x)
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	out = slices.CompactFunc(out, time.Time.Equal)
	if max > 0 && len(out) > max {
		out = out[len(out)-max:]
	}
	return out
}
