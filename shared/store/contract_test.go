package store_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/collect"
	"github.com/tenantwatch/tenantwatch/shared/notify"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/store"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
	"github.com/tenantwatch/tenantwatch/shared/watch"
)

// The roles *store.Tables plays for its consumers, each an interface the
// consumer declares. The store's tests are their contract suite, run on
// Azurite (the consumers' own tests may fake them):
//
//	watch.CursorStore        TestCursorLifecycle (a lost race wraps tenant.ErrConflict: wantConflict)
//	watch.BaselineStore      TestBaselinesBatches, TestBaselinesLarge, TestBaselinesHostileIDs
//	collect.StateReader      the same, TestSignIns, TestRecentFindings, TestSignInFailuresMerge and TestChainSignIns
//	watch.FindingStore       TestRecordFindings, TestFindingStoreAppliesDedupe, TestResolveFindings, TestRecordFindingsConcurrent
//	watch.OutboxStore        TestOutboxLifecycle, TestEnqueueOutbox, TestClaimOutboxConcurrent
//	watch.SubscriptionStore  TestSubscriptions
//	watch.SignInStore        TestSignIns, TestSignInsBatchAndConcurrency, TestSignInFailuresMerge,
//	                         TestSignInFailuresBatchAndCap, TestSignInFailuresConcurrent, TestPruneSignInFailures,
//	                         TestChainSignIns
//	watch.IncidentStore      TestIncidentLifecycle, TestOpenFindingsSince
var (
	_ watch.CursorStore       = (*store.Tables)(nil)
	_ watch.BaselineStore     = (*store.Tables)(nil)
	_ collect.StateReader     = (*store.Tables)(nil)
	_ watch.FindingStore      = (*store.Tables)(nil)
	_ watch.OutboxStore       = (*store.Tables)(nil)
	_ notify.OutboxStore      = (*store.Tables)(nil)
	_ notify.DeliveryStore    = (*store.Tables)(nil)
	_ watch.SubscriptionStore = (*store.Tables)(nil)
	_ watch.SignInStore       = (*store.Tables)(nil)
	_ watch.IncidentStore     = (*store.Tables)(nil)
)

// TestFindingStoreAppliesDedupe: the store applies the pure dedupe
// decision, state.DecideDedupe, to every kind of stored record, on both of
// its paths (row by row, and listing the rule's rows with transactions):
// a finding comes back new exactly when the decision says so, and its
// record afterwards is what the decision says (status, first and last
// seen). The decision itself is tested without storage in shared/state.
func TestFindingStoreAppliesDedupe(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct {
		name string
		pad  int
	}{{"one by one", 0}, {"bulk", store.BulkFindings}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			testAppliesDedupe(t, mode.pad)
		})
	}
}

func testAppliesDedupe(t *testing.T, pad int) {
	ctx := t.Context()
	tables := open(t, nil, nil)
	var st watch.FindingStore = tables
	const rule = "sp.credential-added"
	t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	record := func(f tenant.Finding, status state.FindingStatus, at time.Time) {
		t.Helper()
		_, err := st.RecordFindings(ctx, []tenant.Finding{f}, status, at)
		must(err)
	}
	// Each case is one finding, brought to its stored state in turn (the
	// resolved one first: resolving resolves every open finding of the
	// rule the sweep did not see).
	cases := []struct {
		name  string
		setup func(f tenant.Finding)
	}{
		{"resolved", func(f tenant.Finding) {
			record(f, state.FindingQueued, t0)
			_, err := st.ResolveFindings(ctx, []string{rule}, nil, t0)
			must(err)
		}},
		{"never recorded", func(tenant.Finding) {}},
		{"queued, seen before", func(f tenant.Finding) { record(f, state.FindingQueued, t0) }},
		{"delivered, seen before", func(f tenant.Finding) {
			record(f, state.FindingQueued, t0)
			must(st.SetFindingStatus(ctx, []string{f.Key}, state.FindingDelivered))
		}},
		{"baseline, seen before", func(f tenant.Finding) { record(f, state.FindingBaseline, t0) }},
		{"queued, seen at the same time", func(f tenant.Finding) { record(f, state.FindingQueued, t1) }},
		{"delivered, seen later", func(f tenant.Finding) {
			record(f, state.FindingQueued, t2)
			must(st.SetFindingStatus(ctx, []string{f.Key}, state.FindingDelivered))
		}},
	}
	var fs []tenant.Finding
	for i, c := range cases {
		f := finding(rule, fmt.Sprintf("case-%d", i), nil)
		c.setup(f)
		fs = append(fs, f)
	}
	for i := range pad {
		fs = append(fs, finding(rule, fmt.Sprintf("filler-%d", i), nil))
	}

	before := records(t, tables)
	want := make([]state.Dedupe, len(cases))
	for i := range cases {
		var stored *state.FindingRecord
		if r, ok := before[fs[i].Key]; ok {
			stored = &r
		}
		want[i] = state.DecideDedupe(stored, t1)
	}
	if got := []state.Dedupe{want[0], want[1], want[2], want[5]}; !slices.Equal(got,
		[]state.Dedupe{state.DedupeReopen, state.DedupeInsert, state.DedupeTouch, state.DedupeKeep}) {
		t.Fatalf("the cases do not reach every decision: %v", got)
	}

	fresh, err := st.RecordFindings(ctx, fs, state.FindingQueued, t1)
	must(err)
	after := records(t, tables)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key := fs[i].Key
			isNew := slices.ContainsFunc(fresh, func(f tenant.Finding) bool { return f.Key == key })
			if isNew != want[i].New() {
				t.Errorf("new = %v, but the decision is %v", isNew, want[i])
			}
			old, got := before[key], after[key]
			expect := state.FindingRecord{Status: old.Status, FirstSeen: old.FirstSeen, LastSeen: t1}
			switch want[i] {
			case state.DedupeInsert:
				expect = state.FindingRecord{Status: state.FindingQueued, FirstSeen: t1, LastSeen: t1}
			case state.DedupeReopen:
				expect.Status = state.FindingQueued
			case state.DedupeKeep:
				expect.LastSeen = old.LastSeen
			}
			if got.Status != expect.Status || !got.FirstSeen.Equal(expect.FirstSeen) || !got.LastSeen.Equal(expect.LastSeen) {
				t.Errorf("%v: stored %s first %v last %v, want %s first %v last %v", want[i],
					got.Status, got.FirstSeen, got.LastSeen, expect.Status, expect.FirstSeen, expect.LastSeen)
			}
		})
	}
}
