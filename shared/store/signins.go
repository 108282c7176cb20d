package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
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

// Rows of the signins table that keep the first step of the device
// chains (issue 12): PartitionKey "chain." + the lower-case user id,
// RowKey key(sign-in id); Time the sign-in's time, SignIn the whole
// tenant.SignIn as JSON (a device-code sign-in, or the broker's sign-in to
// the Device Registration Service), so that a later directory poll judges
// the registration that follows it with the sign-in itself.
const chainPrefix = "chain."

// maxChainSignIns bounds the chain sign-ins kept per user.
const maxChainSignIns = 50

// chainPartition is the user's partition: always a plain key under
// chainPrefix, so that the prune's range holds every one.
func chainPartition(userID string) string {
	id := strings.ToLower(strings.TrimSpace(userID))
	if id != "" && len(id) <= 200 && plainKey(id) {
		return chainPrefix + id
	}
	sum := sha256.Sum256([]byte(id))
	return chainPrefix + "h" + hex.EncodeToString(sum[:])
}

// AddChainSignIns keeps sign-ins (by id: a sign-in kept twice is one row),
// at most maxChainSignIns per user and write.
func (t *Tables) AddChainSignIns(ctx context.Context, ss []tenant.SignIn) error {
	const what = "keep chain sign-ins"
	byUser := make(map[string][]op)
	for _, s := range ss {
		if s.UserID == "" || s.ID == "" {
			continue
		}
		pk := chainPartition(s.UserID)
		if len(byUser[pk]) >= maxChainSignIns {
			continue
		}
		b, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("store: %s: %w", what, err)
		}
		e := newEntity(pk, key(s.ID))
		e.time("Time", s.Time)
		if err := e.binary("SignIn", b); err != nil {
			return fmt.Errorf("store: %s: %w", what, err)
		}
		byUser[pk] = append(byUser[pk], upsertOp(e))
	}
	pks := make([]string, 0, len(byUser))
	for pk := range byUser {
		pks = append(pks, pk)
	}
	sort.Strings(pks)
	return wrap(what, t.each(ctx, len(pks), func(ctx context.Context, i int) error {
		_, err := t.submit(ctx, tableSignIns, byUser[pks[i]])
		return err
	}))
}

// ChainSignIns returns the kept chain sign-ins of userIDs at or after
// since, oldest first.
func (t *Tables) ChainSignIns(ctx context.Context, userIDs []string, since time.Time) ([]tenant.SignIn, error) {
	const what = "read chain sign-ins"
	ids := lowerUnique(userIDs)
	per := make([][]tenant.SignIn, len(ids))
	err := t.each(ctx, len(ids), func(ctx context.Context, i int) error {
		f := partitionFilter(chainPartition(ids[i])) + " and Time ge datetime'" + norm(since).Format(timeLayout) + "'"
		err := t.list(ctx, tableSignIns, f, "", func(r row) error {
			b, err := r.binary("SignIn")
			if err != nil {
				return err
			}
			var s tenant.SignIn
			if err := json.Unmarshal(b, &s); err != nil {
				return fmt.Errorf("chain sign-in %s: %w", r.str("RowKey"), err)
			}
			if len(per[i]) < maxChainSignIns {
				per[i] = append(per[i], s)
			}
			return nil
		})
		return listErr(what, err)
	})
	if err != nil {
		return nil, wrap(what, err)
	}
	var out []tenant.SignIn
	for _, p := range per {
		out = append(out, p...)
	}
	slices.SortStableFunc(out, func(a, b tenant.SignIn) int { return a.Time.Compare(b.Time) })
	return out, nil
}

// PruneChainSignIns deletes the chain sign-ins before before and says how
// many went.
func (t *Tables) PruneChainSignIns(ctx context.Context, before time.Time) (int, error) {
	const what = "prune chain sign-ins"
	byPK := make(map[string][]op)
	n := 0
	f := "PartitionKey ge " + quote(chainPrefix) + " and PartitionKey lt " + quote("chain/") +
		" and Time lt datetime'" + norm(before).Format(timeLayout) + "'"
	err := t.list(ctx, tableSignIns, f, "PartitionKey,RowKey", func(r row) error {
		pk := r.str("PartitionKey")
		byPK[pk] = append(byPK[pk], deleteOp(pk, r.str("RowKey"), ""))
		n++
		return nil
	})
	if err := listErr(what, err); err != nil {
		return 0, err
	}
	pks := make([]string, 0, len(byPK))
	for pk := range byPK {
		pks = append(pks, pk)
	}
	sort.Strings(pks)
	if err := t.each(ctx, len(pks), func(ctx context.Context, i int) error {
		return t.submitOrEach(ctx, tableSignIns, byPK[pks[i]], t.single)
	}); err != nil {
		return 0, wrap(what, err)
	}
	return n, nil
}
