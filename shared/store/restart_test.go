package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/azuritetest"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/store"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestAzuriteRestart stores state, stops the emulator (calls then fail as
// unreachable), starts it again on the same data and ports, and checks
// that nothing stored was lost and that every kind of operation works
// again. It is the storage layer's one restart test (with shared/funchost's
// for the queue listener and shared/demo's for the app).
func TestAzuriteRestart(t *testing.T) {
	t.Parallel()
	a := azuritetest.Start(t)
	ctx := t.Context()
	clk := newClock(t0)
	st, err := store.NewTablesFromConnectionString(a.ConnectionString(), &store.TablesOptions{
		Prefix: prefix(t), Now: clk.Now, MaxRetries: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Init(ctx); err != nil {
		t.Fatal(err)
	}

	cur, err := st.SaveCursor(ctx, state.Cursor{Name: "delta-users", DeltaLink: "https://graph/delta?token=1"})
	if err != nil {
		t.Fatal(err)
	}
	bs := []state.Baseline{spBaseline(1), spBaseline(2)}
	if err := st.PutBaselines(ctx, bs); err != nil {
		t.Fatal(err)
	}
	f := finding("sp.credential-added", "a", map[string]any{"keyId": "k"})
	if _, err := st.RecordFindings(ctx, []tenant.Finding{f}, state.FindingQueued, t0); err != nil {
		t.Fatal(err)
	}
	items, err := st.EnqueueOutbox(ctx, []state.OutboxItem{card(1, 100), card(2, 100)})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddSignIns(ctx, map[string][]time.Time{"u1": hours(1)}, time.Time{}, 10); err != nil {
		t.Fatal(err)
	}

	// A clean stop (SIGTERM): Azurite saves what was written. A kill would
	// lose its last few seconds of writes, which Azure Storage never does
	// to acknowledged writes.
	a.Shutdown()
	_, err = st.Cursor(ctx, "delta-users")
	if !errors.Is(err, tenant.ErrUnreachable) {
		t.Fatalf("while stopped: %v, want tenant.ErrUnreachable", err)
	}
	wantOneLine(t, err)

	began := time.Now()
	before := a.ConnectionString()
	if err := a.Restart(); err != nil {
		t.Fatal(err)
	}
	if got := a.ConnectionString(); got != before {
		t.Fatalf("Azurite's ports moved on restart:\n%s\n%s", before, got)
	}
	t.Logf("azurite restarted in %v", time.Since(began))
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ping := func(ctx context.Context) error { // bounded: a request may hang while Azurite starts
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return st.Ping(ctx)
	}
	if err := azuritetest.WaitReady(wctx, ping); err != nil {
		t.Fatal(err)
	}
	t.Logf("tables answering %v after the restart began", time.Since(began))

	// Nothing lost.
	got, err := st.Cursor(ctx, "delta-users")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cur, got); diff != "" {
		t.Errorf("cursor after restart (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(bs, allBaselines(t, st, tenant.SubjectServicePrincipal), byID); diff != "" {
		t.Errorf("baselines after restart (-want +got):\n%s", diff)
	}
	if r := records(t, st); len(r) != 1 || r[f.Key].Status != state.FindingQueued {
		t.Errorf("findings after restart: %v", r)
	}
	if diff := cmp.Diff(ids(items), ids(all(t, st))); diff != "" {
		t.Errorf("outbox after restart (-want +got):\n%s", diff)
	}
	if h, err := st.SignInHistory(ctx, []string{"u1"}); err != nil || len(h["u1"]) != 1 {
		t.Errorf("sign-ins after restart: %v, %v", h, err)
	}

	// Everything works again, including the optimistic-concurrency paths.
	cur.DeltaLink += "&2"
	if _, err := st.SaveCursor(ctx, cur); err != nil {
		t.Errorf("SaveCursor after restart: %v", err)
	}
	if fresh, err := st.RecordFindings(ctx, []tenant.Finding{f, finding("r.x", "new", nil)}, state.FindingQueued, t0.Add(time.Hour)); err != nil || len(fresh) != 1 {
		t.Errorf("RecordFindings after restart: %d fresh, %v", len(fresh), err)
	}
	claims, err := st.ClaimOutbox(ctx, t0, time.Minute, 5)
	if err != nil || len(claims) != 2 {
		t.Fatalf("ClaimOutbox after restart: %d, %v", len(claims), err)
	}
	if err := st.CompleteOutbox(ctx, claims[0], t0); err != nil {
		t.Errorf("CompleteOutbox after restart: %v", err)
	}
	if err := st.PutBaselines(ctx, []state.Baseline{spBaseline(3)}); err != nil {
		t.Errorf("PutBaselines after restart: %v", err)
	}
}
