package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/store"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

func card(i int, size int) state.OutboxItem {
	payload := fmt.Sprintf(`{"type":"message","n":%d,"pad":"%s"}`, i, strings.Repeat("x", size))
	return state.OutboxItem{Kind: state.OutboxCard, FindingKeys: []string{fmt.Sprintf("rule.x:%d", i)}, Payload: []byte(payload)}
}

// all streams the outbox.
func all(t *testing.T, st *store.Tables) []state.OutboxItem {
	t.Helper()
	var out []state.OutboxItem
	if err := st.Outbox(t.Context(), func(it state.OutboxItem) error { out = append(out, it); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func ids(items []state.OutboxItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

func pending(t *testing.T, st *store.Tables) int {
	t.Helper()
	n, err := st.PendingOutbox(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestOutboxLifecycle follows items through enqueue, claim, retry,
// completion and pruning.
func TestOutboxLifecycle(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clk := newClock(t0)
	st := open(t, nil, clk)

	in := []state.OutboxItem{card(0, 10), card(1, 28<<10), card(2, 10)}
	in[2].Kind = state.OutboxDigest
	in[2].FindingKeys = nil
	stored, err := st.EnqueueOutbox(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range stored {
		if it.ID == "" || !it.Created.Equal(t0) || !it.NextAttempt.Equal(t0) || it.ETag != "" {
			t.Errorf("item %d: ID %q Created %v NextAttempt %v ETag %q", i, it.ID, it.Created, it.NextAttempt, it.ETag)
		}
	}
	if !slices.IsSorted(ids(stored)) {
		t.Errorf("IDs do not sort in input order: %v", ids(stored))
	}
	streamed := all(t, st)
	if diff := cmp.Diff(stored, streamed, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".ETag" }, cmp.Ignore())); diff != "" {
		t.Fatalf("streamed (-want +got):\n%s", diff)
	}
	if n := pending(t, st); n != 3 {
		t.Errorf("pending = %d, want 3", n)
	}

	// Claim two: the oldest two, leased, with ETags.
	claimed, err := st.ClaimOutbox(ctx, t0, time.Minute, 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids(stored[:2]), ids(claimed)); diff != "" {
		t.Fatalf("first claim (-want +got):\n%s", diff)
	}
	for _, it := range claimed {
		if it.ETag == "" || !it.LeaseUntil.Equal(t0.Add(time.Minute)) {
			t.Errorf("claimed %s: ETag %q LeaseUntil %v", it.ID, it.ETag, it.LeaseUntil)
		}
	}
	if !bytes.Equal(claimed[1].Payload, in[1].Payload) {
		t.Errorf("28 KiB payload did not round-trip")
	}
	// Leased items are not claimed again; the third is.
	again, err := st.ClaimOutbox(ctx, t0.Add(30*time.Second), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids(stored[2:]), ids(again)); diff != "" {
		t.Fatalf("second claim (-want +got):\n%s", diff)
	}

	// Complete the first; retry the second in ten minutes, with the
	// attempt counted by the caller (as notify.Deliver does).
	if err := st.CompleteOutbox(ctx, claimed[0], t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	longErr := strings.Repeat("é", 1000) // 2,000 bytes
	failed := claimed[1]
	failed.Attempts++
	if err := st.RetryOutbox(ctx, failed, t0.Add(10*time.Minute), longErr); err != nil {
		t.Fatal(err)
	}
	// The third's lease lapses unanswered.
	if n := pending(t, st); n != 2 {
		t.Errorf("pending = %d, want 2", n)
	}
	// Stale ETags: the completed item changed since its claim.
	wantConflict(t, st.CompleteOutbox(ctx, claimed[0], t0), http.StatusPreconditionFailed)
	wantConflict(t, st.RetryOutbox(ctx, claimed[1], t0, "x"), http.StatusPreconditionFailed)

	// Five minutes on: the third's lease lapsed, the second is not due.
	claims, err := st.ClaimOutbox(ctx, t0.Add(5*time.Minute), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids(stored[2:]), ids(claims)); diff != "" {
		t.Fatalf("claim after lease lapsed (-want +got):\n%s", diff)
	}
	// The first claimer of the third now loses to the second claimer.
	wantConflict(t, st.CompleteOutbox(ctx, again[0], t0), http.StatusPreconditionFailed)
	if err := st.CompleteOutbox(ctx, claims[0], t0.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// Ten minutes on: the retried item is due, with its attempt counted.
	claims, err = st.ClaimOutbox(ctx, t0.Add(10*time.Minute), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(claims) != 1 || claims[0].ID != stored[1].ID {
		t.Fatalf("claim after back-off = %v, want %s", ids(claims), stored[1].ID)
	}
	if r := claims[0]; r.Attempts != 1 || len(r.LastError) > 1024 || !strings.HasPrefix(longErr, r.LastError) || len(r.LastError) < 1000 {
		t.Errorf("retried item: Attempts %d, LastError %d bytes", r.Attempts, len(r.LastError))
	}
	// Released unsent (Attempts unchanged) and claimed again at once.
	if err := st.RetryOutbox(ctx, claims[0], t0.Add(10*time.Minute), claims[0].LastError); err != nil {
		t.Fatal(err)
	}
	claims, err = st.ClaimOutbox(ctx, t0.Add(10*time.Minute), time.Minute, 10)
	if err != nil || len(claims) != 1 || claims[0].Attempts != 1 {
		t.Fatalf("claim after release = %v, %v; want the item with Attempts 1", claims, err)
	}
	if err := st.CompleteOutbox(ctx, claims[0], t0.Add(11*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// Delivered items are never claimed again, even long after.
	if claims, err := st.ClaimOutbox(ctx, t0.Add(24*time.Hour), time.Minute, 10); err != nil || len(claims) != 0 {
		t.Fatalf("claim after delivery = %v, %v", ids(claims), err)
	}
	if n := pending(t, st); n != 0 {
		t.Errorf("pending = %d, want 0", n)
	}
	rows := all(t, st)
	if len(rows) != 3 {
		t.Fatalf("%d rows kept, want 3", len(rows))
	}
	wantDelivered := []time.Time{t0.Add(time.Second), t0.Add(11 * time.Minute), t0.Add(5 * time.Minute)}
	for i, r := range rows {
		if !r.Delivered.Equal(wantDelivered[i]) || !r.LeaseUntil.IsZero() {
			t.Errorf("row %d: Delivered %v LeaseUntil %v, want %v and zero", i, r.Delivered, r.LeaseUntil, wantDelivered[i])
		}
	}

	// Prune what was delivered before t0+6m.
	n, err := st.PruneOutbox(ctx, t0.Add(6*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("PruneOutbox = %d, %v; want 2", n, err)
	}
	if diff := cmp.Diff([]string{stored[1].ID}, ids(all(t, st))); diff != "" {
		t.Errorf("after prune (-want +got):\n%s", diff)
	}
	// A pruned item cannot be completed.
	err = st.CompleteOutbox(ctx, claimed[0], t0)
	if !errors.Is(err, store.ErrNotFound) || !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("completing a pruned item = %v, want ErrNotFound", err)
	}
}

func TestEnqueueOutbox(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clk := newClock(t0)
	st := open(t, nil, clk)

	// 250 items: three transactions, order kept, large payloads split.
	var in []state.OutboxItem
	for i := 0; i < 250; i++ {
		size := 10
		if i%50 == 0 {
			size = 100 << 10 // over one property
		}
		in = append(in, card(i, size))
	}
	stored, err := st.EnqueueOutbox(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	got := all(t, st)
	if diff := cmp.Diff(ids(stored), ids(got)); diff != "" {
		t.Fatalf("stored order (-want +got):\n%s", diff)
	}
	for i := range in {
		if !bytes.Equal(in[i].Payload, got[i].Payload) || !slices.Equal(in[i].FindingKeys, got[i].FindingKeys) {
			t.Fatalf("item %d did not round-trip", i)
		}
	}
	// A later call sorts after.
	clk.Set(t0.Add(time.Millisecond))
	later, err := st.EnqueueOutbox(ctx, []state.OutboxItem{card(999, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if later[0].ID <= stored[len(stored)-1].ID {
		t.Errorf("later ID %s sorts before %s", later[0].ID, stored[len(stored)-1].ID)
	}

	// Caller-chosen IDs and times are kept; a clash is a conflict.
	own := card(1, 1)
	own.ID, own.Created, own.NextAttempt = "custom-id.1", t0.Add(-time.Hour), t0.Add(time.Hour)
	if _, err := st.EnqueueOutbox(ctx, []state.OutboxItem{own}); err != nil {
		t.Fatal(err)
	}
	_, err = st.EnqueueOutbox(ctx, []state.OutboxItem{own})
	wantConflict(t, err, http.StatusConflict)
	for _, bad := range [][]state.OutboxItem{
		{{ID: "has/slash"}},
		{{ID: "dup"}, {ID: "dup"}},
	} {
		if _, err := st.EnqueueOutbox(ctx, bad); err == nil {
			t.Errorf("EnqueueOutbox(%v) succeeded", ids(bad))
		}
	}
	if claims, err := st.ClaimOutbox(ctx, t0.Add(30*time.Minute), time.Minute, 1000); err != nil || slices.Contains(ids(claims), "custom-id.1") {
		t.Errorf("an item due in an hour was claimed: %v", err)
	}
	if _, err := st.ClaimOutbox(ctx, t0, 0, 1); err == nil {
		t.Error("ClaimOutbox with a zero lease succeeded")
	}
	if claims, err := st.ClaimOutbox(ctx, t0, time.Minute, 0); err != nil || len(claims) != 0 {
		t.Errorf("ClaimOutbox(max 0) = %v, %v", ids(claims), err)
	}
}

// TestClaimOutboxConcurrent: two claimers drain the same outbox; every
// item is claimed exactly once.
func TestClaimOutboxConcurrent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := open(t, nil, nil)
	var in []state.OutboxItem
	for i := 0; i < 60; i++ {
		in = append(in, card(i, 10))
	}
	stored, err := st.EnqueueOutbox(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		got    [2][]string
		errs   [2]error
		rounds [2]int
	)
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				rounds[g]++
				claims, err := st.ClaimOutbox(ctx, t0, time.Hour, 7)
				if err != nil {
					errs[g] = err
					return
				}
				if len(claims) == 0 {
					return
				}
				got[g] = append(got[g], ids(claims)...)
			}
		}()
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	union := append(slices.Clone(got[0]), got[1]...)
	sort.Strings(union)
	if diff := cmp.Diff(ids(stored), union); diff != "" {
		t.Errorf("claimed items: each exactly once (-want +got):\n%s", diff)
	}
	t.Logf("claimer A took %d items in %d calls, B %d in %d", len(got[0]), rounds[0], len(got[1]), rounds[1])
}

// TestSinkOutbox: a sink's outbox has the Teams outbox's lifecycle in the
// same table, and neither sees, claims or prunes the other's items.
func TestSinkOutbox(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clk := newClock(t0)
	st := open(t, nil, clk)
	sink, err := st.SinkOutbox("sentinel")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "a/b", "x y", strings.Repeat("n", 65)} {
		if _, err := st.SinkOutbox(bad); err == nil {
			t.Errorf("SinkOutbox(%q) accepted", bad)
		}
	}
	teams, err := st.EnqueueOutbox(ctx, []state.OutboxItem{card(0, 10)})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := sink.EnqueueOutbox(ctx, []state.OutboxItem{{Kind: "sentinel-findings", FindingKeys: []string{"k1", "k2"}, Payload: []byte(`[{"a":1}]`)}})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	e := sink.Outbox(ctx, func(it state.OutboxItem) error { listed = append(listed, it.ID); return nil })
	if e != nil || !slices.Equal(listed, []string{rows[0].ID}) {
		t.Fatalf("sink lists %v, %v; want only its item", listed, e)
	}
	if got := all(t, st); len(got) != 1 || got[0].ID != teams[0].ID {
		t.Fatalf("the Teams outbox lists %v; want only its card", ids(got))
	}
	claimed, err := st.ClaimOutbox(ctx, t0, time.Minute, 10)
	if err != nil || len(claimed) != 1 || claimed[0].ID != teams[0].ID {
		t.Fatalf("Teams claim %v, %v; want its card only", ids(claimed), err)
	}
	got, err := sink.ClaimOutbox(ctx, t0, time.Minute, 10)
	if err != nil || len(got) != 1 || got[0].ID != rows[0].ID || string(got[0].Payload) != `[{"a":1}]` || !slices.Equal(got[0].FindingKeys, []string{"k1", "k2"}) {
		t.Fatalf("sink claim %+v, %v", got, err)
	}
	got[0].Attempts = 1
	if err := sink.RetryOutbox(ctx, got[0], t0.Add(time.Hour), "429"); err != nil {
		t.Fatal(err)
	}
	if again, _ := sink.ClaimOutbox(ctx, t0.Add(time.Minute), time.Minute, 10); len(again) != 0 {
		t.Fatalf("claimed before its next attempt: %v", ids(again))
	}
	again, err := sink.ClaimOutbox(ctx, t0.Add(time.Hour), time.Minute, 10)
	if err != nil || len(again) != 1 || again[0].Attempts != 1 || again[0].LastError != "429" {
		t.Fatalf("reclaim %+v, %v", again, err)
	}
	if err := sink.CompleteOutbox(ctx, again[0], t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.CompleteOutbox(ctx, claimed[0], t0); err != nil {
		t.Fatal(err)
	}
	if n, err := sink.PruneOutbox(ctx, t0.Add(2*time.Hour)); err != nil || n != 1 {
		t.Fatalf("sink prune = %d, %v; want its one item", n, err)
	}
	if got := all(t, st); len(got) != 1 {
		t.Fatalf("the sink's prune touched the Teams outbox: %v", ids(got))
	}
}

// TestClaimOutboxIncidentOrder: an incident's cards go out in revision
// order. A follow-up is not claimed while an earlier card of its incident
// is undelivered — due in the same claim, waiting for a retry, or leased
// — and is claimed once that card is delivered; other incidents and
// finding cards are not held back.
func TestClaimOutboxIncidentOrder(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := open(t, nil, newClock(t0))
	item := func(id string) state.OutboxItem {
		return state.OutboxItem{ID: id, Kind: state.OutboxIncident, Payload: []byte(`{"type":"message"}`)}
	}
	a1, a2, a3 := state.IncidentItemID("inc-00000000000000aa", 1), state.IncidentItemID("inc-00000000000000aa", 2), state.IncidentItemID("inc-00000000000000aa", 3)
	b1 := state.IncidentItemID("inc-00000000000000bb", 1)
	if _, err := st.EnqueueOutbox(ctx, []state.OutboxItem{card(0, 10), item(a1), item(a2), item(a3), item(b1)}); err != nil {
		t.Fatal(err)
	}
	claim := func(at time.Time) []state.OutboxItem {
		t.Helper()
		got, err := st.ClaimOutbox(ctx, at, time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	byID := func(items []state.OutboxItem, id string) state.OutboxItem {
		t.Helper()
		for _, it := range items {
			if it.ID == id {
				return it
			}
		}
		t.Fatalf("%s not claimed: %v", id, ids(items))
		return state.OutboxItem{}
	}

	first := claim(t0)
	if got := ids(first); len(got) != 3 || !slices.Contains(got, a1) || !slices.Contains(got, b1) || slices.Contains(got, a2) || slices.Contains(got, a3) {
		t.Fatalf("first claim = %v, want the finding card, %s and %s only", got, a1, b1)
	}
	// a1 fails: retried in ten minutes. Its follow-ups wait for it.
	failed := byID(first, a1)
	failed.Attempts++
	if err := st.RetryOutbox(ctx, failed, t0.Add(10*time.Minute), "503"); err != nil {
		t.Fatal(err)
	}
	for _, it := range first {
		if it.ID != a1 {
			if err := st.CompleteOutbox(ctx, it, t0); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := claim(t0.Add(2 * time.Minute)); len(got) != 0 {
		t.Fatalf("while %s waits for its retry: claimed %v, want nothing", a1, ids(got))
	}
	// a1 due again: claimed alone; delivered, then a2 (not a3); then a3.
	for i, want := range []string{a1, a2, a3} {
		got := claim(t0.Add(time.Duration(10+i) * time.Minute))
		if len(got) != 1 || got[0].ID != want {
			t.Fatalf("claim %d = %v, want [%s]", i, ids(got), want)
		}
		if err := st.CompleteOutbox(ctx, got[0], t0.Add(time.Duration(10+i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
}
