package state_test

import (
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/state"
)

var (
	t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Minute)
)

func rec(status state.FindingStatus, lastSeen time.Time) *state.FindingRecord {
	return &state.FindingRecord{Status: status, FirstSeen: t0.Add(-time.Hour), LastSeen: lastSeen}
}

// TestDecideDedupe is the dedupe decision table: what recording a finding
// at t1 does, for every kind of stored record.
func TestDecideDedupe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		stored  *state.FindingRecord
		want    state.Dedupe
		wantNew bool
	}{
		{"never recorded: insert, new", nil, state.DedupeInsert, true},
		{"resolved: reopen, new again", rec(state.FindingResolved, t0), state.DedupeReopen, true},
		{"resolved, even if seen later: reopen", rec(state.FindingResolved, t1.Add(time.Hour)), state.DedupeReopen, true},
		{"queued, seen before: touch, not new", rec(state.FindingQueued, t0), state.DedupeTouch, false},
		{"delivered, seen before: touch, not new (no second card)", rec(state.FindingDelivered, t0), state.DedupeTouch, false},
		{"baseline, seen before: touch, not new (never alerted alone)", rec(state.FindingBaseline, t0), state.DedupeTouch, false},
		{"queued, seen at the same time: keep", rec(state.FindingQueued, t1), state.DedupeKeep, false},
		{"delivered, seen later by another round: keep", rec(state.FindingDelivered, t1.Add(time.Second)), state.DedupeKeep, false},
		{"a status this version does not know: open, touch", rec("snoozed", t0), state.DedupeTouch, false},
		{"an empty status: open, touch", rec("", t0), state.DedupeTouch, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := state.DecideDedupe(tc.stored, t1)
			if got != tc.want || got.New() != tc.wantNew {
				t.Errorf("DecideDedupe = %v (new %v), want %v (new %v)", got, got.New(), tc.want, tc.wantNew)
			}
		})
	}
}

// TestResolves: a sweep resolves the open findings of a rule it ran that
// it did not see, unless a round saw them after the sweep began.
func TestResolves(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		stored *state.FindingRecord
		seen   bool
		want   bool
	}{
		{"queued, not seen: resolved", rec(state.FindingQueued, t0), false, true},
		{"delivered, not seen: resolved", rec(state.FindingDelivered, t0), false, true},
		{"baseline, not seen: resolved", rec(state.FindingBaseline, t0), false, true},
		{"seen at the sweep's start: resolved", rec(state.FindingDelivered, t1), false, true},
		{"seen by the sweep: kept", rec(state.FindingDelivered, t0), true, false},
		{"already resolved: nothing to do", rec(state.FindingResolved, t0), false, false},
		{"seen by a round after the sweep began: kept", rec(state.FindingQueued, t1.Add(time.Second)), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := state.Resolves(*tc.stored, tc.seen, t1); got != tc.want {
				t.Errorf("Resolves = %v, want %v", got, tc.want)
			}
		})
	}
}
