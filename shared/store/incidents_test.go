package store_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestIncidentLifecycle: an incident is inserted once, replaced only under
// the ETag read, and listed by the time of its last card.
func TestIncidentLifecycle(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := open(t, nil, newClock(t0))
	members := append([]string{"sp.credential-added:aaaa:key-1"}, hostileKeys()...)
	rec := state.IncidentRecord{ID: "inc-37fdf08463667eb7", Revision: 1, Members: members, FirstSeen: t0.Add(-time.Hour), LastCard: t0}
	saved, err := st.SaveIncident(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	if saved.ETag == "" {
		t.Fatal("saved incident has no ETag")
	}
	// A second insert of the same id loses: two rounds raced to it.
	_, err = st.SaveIncident(ctx, rec)
	wantConflict(t, err, http.StatusConflict)

	old := state.IncidentRecord{ID: "inc-0000000000000001", Revision: 3, Members: []string{"a"}, FirstSeen: t0.Add(-30 * 24 * time.Hour), LastCard: t0.Add(-20 * 24 * time.Hour)}
	if _, err := st.SaveIncident(ctx, old); err != nil {
		t.Fatal(err)
	}
	list := func(since time.Time) []state.IncidentRecord {
		t.Helper()
		var out []state.IncidentRecord
		if err := st.Incidents(ctx, since, func(r state.IncidentRecord) error { out = append(out, r); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	noETag := cmpopts.IgnoreFields(state.IncidentRecord{}, "ETag")
	if diff := cmp.Diff([]state.IncidentRecord{rec}, list(t0.Add(-7*24*time.Hour)), noETag); diff != "" {
		t.Errorf("incidents of the last 7 days (-want +got):\n%s", diff)
	}
	if got := list(time.Time{}); len(got) != 2 {
		t.Errorf("all incidents: %d, want 2", len(got))
	}

	// A follow-up: replaced under the ETag read; a stale ETag loses.
	next := saved
	next.Revision, next.Members, next.LastCard = 2, append(members, "mail.app-collection:x"), t0.Add(time.Hour)
	if _, err := st.SaveIncident(ctx, next); err != nil {
		t.Fatal(err)
	}
	_, err = st.SaveIncident(ctx, next) // saved.ETag again: stale
	wantConflict(t, err, http.StatusPreconditionFailed)
	got := list(t0)
	if len(got) != 1 || got[0].Revision != 2 || len(got[0].Members) != len(members)+1 {
		t.Errorf("after the follow-up: %+v", got)
	}

	for _, bad := range []state.IncidentRecord{{ID: ""}, {ID: "inc/1"}, {ID: "inc-1", Members: make([]string, 5001)}} {
		if _, err := st.SaveIncident(ctx, bad); err == nil {
			t.Errorf("SaveIncident(%.20q, %d members) succeeded", bad.ID, len(bad.Members))
		}
	}
}

// TestOpenFindingsSince: the bounded read of the findings correlation joins:
// not resolved, seen since the window's start, at most max.
func TestOpenFindingsSince(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clk := newClock(t0)
	st := open(t, nil, clk)
	f := func(rule, id string) tenant.Finding {
		return tenant.Finding{Rule: rule, Severity: tenant.SeverityHigh, Key: rule + ":" + id, Subject: tenant.Subject{Type: tenant.SubjectUser, ID: id}, ObservedAt: t0}
	}
	old, resolved := f("user.old", "1"), f("user.resolved", "2")
	if _, err := st.RecordFindings(ctx, []tenant.Finding{old, resolved}, state.FindingDelivered, t0.Add(-10*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ResolveFindings(ctx, []string{"user.resolved"}, nil, t0.Add(-9*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	var recent []tenant.Finding
	for i := range 5 {
		recent = append(recent, f("user.recent", fmt.Sprint(i)))
	}
	if _, err := st.RecordFindings(ctx, recent, state.FindingQueued, t0); err != nil {
		t.Fatal(err)
	}
	read := func(max int) ([]string, bool) {
		t.Helper()
		var keys []string
		trunc, err := st.OpenFindingsSince(ctx, t0.Add(-7*24*time.Hour), max, func(r state.FindingRecord) error {
			keys = append(keys, r.Finding.Key)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return keys, trunc
	}
	keys, trunc := read(100)
	if want := []string{"user.recent:0", "user.recent:1", "user.recent:2", "user.recent:3", "user.recent:4"}; !cmp.Equal(want, keys) || trunc {
		t.Errorf("OpenFindingsSince = %q (truncated %v), want %q", keys, trunc, want)
	}
	if keys, trunc := read(3); len(keys) != 3 || !trunc {
		t.Errorf("OpenFindingsSince(max 3) = %q (truncated %v), want 3 and truncated", keys, trunc)
	}
	if keys, trunc := read(5); len(keys) != 5 || trunc {
		t.Errorf("OpenFindingsSince(max 5) = %q (truncated %v), want 5, not truncated", keys, trunc)
	}
}
