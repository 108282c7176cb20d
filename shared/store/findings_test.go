package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/store"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

func finding(rule, subject string, ev map[string]any) tenant.Finding {
	return tenant.Finding{
		Rule: rule, Severity: tenant.SeverityHigh, Title: "title of " + rule,
		Subject:    tenant.Subject{Type: tenant.SubjectUser, ID: subject, Name: "<b>" + subject + "</b>"},
		Evidence:   ev,
		MITRE:      []string{"T1098.001"},
		ObservedAt: t0.Add(-time.Hour),
		Key:        rule + ":" + subject,
	}
}

// records returns the stored findings by key.
func records(t *testing.T, st *store.Tables) map[string]state.FindingRecord {
	t.Helper()
	out := make(map[string]state.FindingRecord)
	err := st.Findings(t.Context(), func(r state.FindingRecord) error {
		if _, dup := out[r.Finding.Key]; dup {
			t.Errorf("key %q listed twice", r.Finding.Key)
		}
		out[r.Finding.Key] = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func keys(fs []tenant.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Key
	}
	return out
}

// TestRecordFindings walks a store through the dedupe contract step by
// step: each step records findings and states which come back fresh and
// what is stored afterwards. It runs twice: with few findings per rule (read
// and written one by one) and padded over the bulk threshold (one listing
// per rule, transactions).
func TestRecordFindings(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct {
		name string
		pad  int // filler findings per rule added to every call
	}{{"one by one", 0}, {"bulk", store.BulkFindings}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			testRecordFindings(t, mode.pad)
		})
	}
}

func testRecordFindings(t *testing.T, pad int) {
	ctx := t.Context()
	st := open(t, nil, nil)
	a := finding("sp.credential-added", "a", map[string]any{"keyId": "k1"})
	b := finding("sp.credential-added", "b", nil)
	c := finding("mfa.not-registered", "c", map[string]any{"count": json.Number("3")})
	aLater := a
	aLater.Evidence = map[string]any{"keyId": "changed"}
	t1, t2, t3 := t0.Add(time.Hour), t0.Add(2*time.Hour), t0.Add(3*time.Hour)

	var filler []tenant.Finding
	fillerSeen := map[string]bool{}
	for i := 0; i < pad; i++ {
		for _, rule := range []string{a.Rule, c.Rule} {
			f := finding(rule, fmt.Sprintf("filler-%d", i), nil)
			filler = append(filler, f)
			fillerSeen[f.Key] = true
		}
	}
	isFiller := func(k string) bool { return fillerSeen[k] }
	// record records fs plus the fillers and returns the fresh keys that
	// are not fillers.
	record := func(fs []tenant.Finding, status state.FindingStatus, now time.Time) ([]string, error) {
		fresh, err := st.RecordFindings(ctx, append(slices.Clone(fs), filler...), status, now)
		var out []string
		for _, k := range keys(fresh) {
			if !isFiller(k) {
				out = append(out, k)
			}
		}
		return out, err
	}

	type stored struct {
		status      state.FindingStatus
		first, last time.Time
	}
	steps := []struct {
		name      string
		run       func() ([]string, error)
		wantFresh []string
		want      map[string]stored
	}{
		{
			name:      "all new, input order kept, duplicate counted once",
			run:       func() ([]string, error) { return record([]tenant.Finding{b, a, b, c}, state.FindingQueued, t0) },
			wantFresh: []string{b.Key, a.Key, c.Key},
			want: map[string]stored{a.Key: {state.FindingQueued, t0, t0}, b.Key: {state.FindingQueued, t0, t0},
				c.Key: {state.FindingQueued, t0, t0}},
		},
		{
			name:      "seen again: not fresh, LastSeen moves, status kept",
			run:       func() ([]string, error) { return record([]tenant.Finding{aLater, b}, state.FindingBaseline, t1) },
			wantFresh: nil,
			want: map[string]stored{a.Key: {state.FindingQueued, t0, t1}, b.Key: {state.FindingQueued, t0, t1},
				c.Key: {state.FindingQueued, t0, t0}},
		},
		{
			name: "resolved by a sweep",
			run: func() ([]string, error) {
				seen := maps.Clone(fillerSeen)
				seen[b.Key] = true
				n, err := st.ResolveFindings(ctx, []string{"sp.credential-added"}, seen, t1)
				if n != 1 {
					return nil, fmt.Errorf("resolved %d, want 1", n)
				}
				return nil, err
			},
			want: map[string]stored{a.Key: {state.FindingResolved, t0, t1}, b.Key: {state.FindingQueued, t0, t1},
				c.Key: {state.FindingQueued, t0, t0}},
		},
		{
			name:      "resolved and seen again: re-opened, FirstSeen kept",
			run:       func() ([]string, error) { return record([]tenant.Finding{c, aLater}, state.FindingQueued, t2) },
			wantFresh: []string{a.Key},
			want: map[string]stored{a.Key: {state.FindingQueued, t0, t2}, b.Key: {state.FindingQueued, t0, t1},
				c.Key: {state.FindingQueued, t0, t2}},
		},
		{
			name:      "an older observation does not move LastSeen back",
			run:       func() ([]string, error) { return record([]tenant.Finding{c}, state.FindingQueued, t1) },
			wantFresh: nil,
			want: map[string]stored{a.Key: {state.FindingQueued, t0, t2}, b.Key: {state.FindingQueued, t0, t1},
				c.Key: {state.FindingQueued, t0, t2}},
		},
		{
			name: "status set",
			run: func() ([]string, error) {
				return nil, st.SetFindingStatus(ctx, []string{a.Key, c.Key, "unknown:key", a.Key}, state.FindingDelivered)
			},
			want: map[string]stored{a.Key: {state.FindingDelivered, t0, t2}, b.Key: {state.FindingQueued, t0, t1},
				c.Key: {state.FindingDelivered, t0, t2}},
		},
		{
			name:      "nothing new",
			run:       func() ([]string, error) { return record(nil, state.FindingQueued, t3) },
			wantFresh: nil,
			want: map[string]stored{a.Key: {state.FindingDelivered, t0, t2}, b.Key: {state.FindingQueued, t0, t1},
				c.Key: {state.FindingDelivered, t0, t2}},
		},
	}
	for _, step := range steps {
		fresh, err := step.run()
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if diff := cmp.Diff(step.wantFresh, fresh, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: fresh keys (-want +got):\n%s", step.name, diff)
		}
		got := make(map[string]stored)
		for k, r := range records(t, st) {
			if r.ETag == "" {
				t.Errorf("%s: %s has no ETag", step.name, k)
			}
			if !isFiller(k) {
				got[k] = stored{r.Status, r.FirstSeen, r.LastSeen}
			}
		}
		if diff := cmp.Diff(step.want, got, cmp.AllowUnexported(stored{})); diff != "" {
			t.Errorf("%s: stored (-want +got):\n%s", step.name, diff)
		}
	}
	// The stored finding is the one first recorded (or re-opened with).
	r := records(t, st)
	if diff := cmp.Diff(aLater, r[a.Key].Finding); diff != "" {
		t.Errorf("re-opened finding (-want +got):\n%s", diff)
	}
	wantB := b
	wantB.Evidence = map[string]any{} // nil evidence is written as {}
	if diff := cmp.Diff(wantB, r[b.Key].Finding); diff != "" {
		t.Errorf("stored finding (-want +got):\n%s", diff)
	}
	if len(r) != 3+len(filler) {
		t.Errorf("%d rows stored, want %d", len(r), 3+len(filler))
	}
}

func TestRecordFindingsHostileKeys(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := open(t, nil, nil)
	var fs []tenant.Finding
	for i, k := range hostileKeys() {
		f := finding("rule.hostile", fmt.Sprint(i), map[string]any{"value": k})
		f.Key = k
		if i%2 == 1 {
			f.Rule = "weird rule/#?" + fmt.Sprint(i) // a rule id that is no plain key either
		}
		fs = append(fs, f)
	}
	fresh, err := st.RecordFindings(ctx, fs, state.FindingQueued, t0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(keys(fs), keys(fresh)); diff != "" {
		t.Fatalf("fresh (-want +got):\n%s", diff)
	}
	again, err := st.RecordFindings(ctx, fs, state.FindingQueued, t0.Add(time.Minute))
	if err != nil || len(again) != 0 {
		t.Fatalf("second record: %d fresh, %v", len(again), err)
	}
	got := records(t, st)
	for _, f := range fs {
		r, ok := got[f.Key]
		if !ok {
			t.Errorf("key %.40q not stored", f.Key)
			continue
		}
		if diff := cmp.Diff(f, r.Finding); diff != "" {
			t.Errorf("key %.40q (-want +got):\n%s", f.Key, diff)
		}
		if !r.LastSeen.Equal(t0.Add(time.Minute)) {
			t.Errorf("key %.40q: LastSeen %v", f.Key, r.LastSeen)
		}
	}
	// Status by key, also when the key does not start with its rule.
	if err := st.SetFindingStatus(ctx, keys(fs), state.FindingDelivered); err != nil {
		t.Fatal(err)
	}
	for k, r := range records(t, st) {
		if r.Status != state.FindingDelivered {
			t.Errorf("key %.40q: status %s", k, r.Status)
		}
	}
	// Resolving one hostile rule touches only its rows.
	n, err := st.ResolveFindings(ctx, []string{fs[1].Rule}, nil, t0.Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("ResolveFindings = %d, %v; want 1", n, err)
	}
}

func TestRecordFindingsLargeEvidence(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := open(t, nil, nil)
	big := finding("signin.azure-ip", "big", map[string]any{"ips": strings.Repeat("203.0.113.7,", 10000)}) // 120 kB
	fits := finding("signin.azure-ip", "fits", map[string]any{"ips": strings.Repeat("x", 60000)})
	fresh, err := st.RecordFindings(ctx, []tenant.Finding{big, fits}, state.FindingQueued, t0)
	if err != nil {
		t.Fatal(err)
	}
	// The caller gets its findings whole; only the stored copy is cut.
	if diff := cmp.Diff([]tenant.Finding{big, fits}, fresh); diff != "" {
		t.Errorf("fresh (-want +got):\n%s", diff)
	}
	got := records(t, st)
	stored := got[big.Key].Finding
	note, _ := stored.Evidence[store.EvidenceDropped].(string)
	if len(stored.Evidence) != 1 || !strings.Contains(note, "bytes of evidence dropped") {
		t.Errorf("stored evidence = %.200v, want only the %q marker", stored.Evidence, store.EvidenceDropped)
	}
	stored.Evidence = big.Evidence
	if diff := cmp.Diff(big, stored); diff != "" {
		t.Errorf("stored finding apart from evidence (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(fits, got[fits.Key].Finding); diff != "" {
		t.Errorf("a finding that fits is stored whole (-want +got):\n%.500s", diff)
	}
	// Recording the big one again is not new.
	again, err := st.RecordFindings(ctx, []tenant.Finding{big}, state.FindingQueued, t0.Add(time.Minute))
	if err != nil || len(again) != 0 {
		t.Errorf("again: %d fresh, %v", len(again), err)
	}
}

func TestRecordFindingsValidation(t *testing.T) {
	t.Parallel()
	st := open(t, nil, nil)
	ok := finding("r.x", "s", nil)
	noKey, noRule, badSeverity := ok, ok, ok
	noKey.Key, noRule.Rule, badSeverity.Severity = "", "", 0
	tests := []struct {
		name   string
		fs     []tenant.Finding
		status state.FindingStatus
	}{
		{"no status", []tenant.Finding{ok}, ""},
		{"no key", []tenant.Finding{ok, noKey}, state.FindingQueued},
		{"no rule", []tenant.Finding{noRule}, state.FindingQueued},
		{"invalid severity", []tenant.Finding{badSeverity}, state.FindingQueued},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fresh, err := st.RecordFindings(t.Context(), tc.fs, tc.status, t0)
			if err == nil || fresh != nil {
				t.Fatalf("RecordFindings = %v, %v; want an error", fresh, err)
			}
			wantOneLine(t, err)
		})
	}
	if err := st.SetFindingStatus(t.Context(), []string{"k"}, ""); err == nil {
		t.Error("SetFindingStatus with empty status succeeded")
	}
}

// TestRecordFindingsConcurrent races two calls recording the same new
// findings: each finding comes back fresh from exactly one of them, one by
// one and in bulk (where one call's transaction is refused and it falls
// back to single rows).
func TestRecordFindingsConcurrent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		rounds, count int
	}{
		{"one by one", 10, 5},
		{"bulk", 3, store.BulkFindings + 70},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			st := open(t, nil, nil)
			for round := 0; round < tc.rounds; round++ {
				var fs []tenant.Finding
				for i := 0; i < tc.count; i++ {
					fs = append(fs, finding("race.rule", fmt.Sprintf("r%d-%d", round, i), nil))
				}
				var (
					wg    sync.WaitGroup
					start = make(chan struct{})
					fresh [2][]tenant.Finding
					errs  [2]error
				)
				for g := 0; g < 2; g++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						fresh[g], errs[g] = st.RecordFindings(ctx, fs, state.FindingQueued, t0)
					}()
				}
				close(start)
				wg.Wait()
				if err := errors.Join(errs[:]...); err != nil {
					t.Fatal(err)
				}
				count := make(map[string]int)
				for _, f := range append(fresh[0], fresh[1]...) {
					count[f.Key]++
				}
				for _, f := range fs {
					if count[f.Key] != 1 {
						t.Errorf("round %d: %s returned fresh %d times, want exactly once", round, f.Key, count[f.Key])
					}
				}
			}
		})
	}
}

func TestResolveFindings(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := open(t, nil, nil)
	f1 := finding("rule.a", "1", nil)
	f2 := finding("rule.a", "2", nil)
	f3 := finding("rule.b", "3", nil)
	late := finding("rule.a", "late", nil)
	if _, err := st.RecordFindings(ctx, []tenant.Finding{f1, f2, f3}, state.FindingQueued, t0); err != nil {
		t.Fatal(err)
	}
	sweep := t0.Add(time.Hour)
	// A round concurrent with the sweep recorded this one after it began.
	if _, err := st.RecordFindings(ctx, []tenant.Finding{late}, state.FindingQueued, sweep.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		rules []string
		seen  map[string]bool
		want  int
	}{
		{"no rules", nil, nil, 0},
		{"unknown rule", []string{"rule.none"}, nil, 0},
		{"seen keys stay", []string{"rule.a"}, map[string]bool{f1.Key: true}, 1},
		{"already resolved are not counted", []string{"rule.a", "rule.a"}, nil, 1},
		{"other rule", []string{"rule.b"}, map[string]bool{}, 1},
	}
	for _, tc := range tests {
		n, err := st.ResolveFindings(ctx, tc.rules, tc.seen, sweep)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if n != tc.want {
			t.Errorf("%s: resolved %d, want %d", tc.name, n, tc.want)
		}
	}
	want := map[string]state.FindingStatus{f1.Key: state.FindingResolved, f2.Key: state.FindingResolved,
		f3.Key: state.FindingResolved, late.Key: state.FindingQueued}
	got := make(map[string]state.FindingStatus)
	for k, r := range records(t, st) {
		got[k] = r.Status
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

// TestRecentFindings: the joins read the findings of the rules they name,
// a trailing "*" a prefix of rule ids, last seen since a time; nothing of
// other rules, older ones or rules that only share the prefix's letters.
func TestRecentFindings(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := open(t, nil, nil)
	day := 24 * time.Hour
	for _, r := range []struct {
		f  tenant.Finding
		at time.Time
	}{
		{finding("mfa.dormant-registration", "old", nil), t0.Add(-8 * day)},
		{finding("mfa.dormant-registration", "u1", nil), t0.Add(-time.Hour)},
		{finding("mfa.not-registered", "u2", nil), t0.Add(-6 * day)},
		{finding("mfa", "u3", nil), t0},
		{finding("mfb.other", "u4", nil), t0},
		{finding("device.rogue-registration", "u5", nil), t0},
		{finding("device.rogue-registrations", "u6", nil), t0},
		{finding("sp.credential-added", "sp1", nil), t0},
	} {
		if _, err := st.RecordFindings(ctx, []tenant.Finding{r.f}, state.FindingQueued, r.at); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := st.RecentFindings(ctx, []string{"mfa.*", "device.rogue-registration", "mfa.*"}, t0.Add(-7*day), func(r state.FindingRecord) error {
		got = append(got, r.Finding.Key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	want := []string{"device.rogue-registration:u5", "mfa.dormant-registration:u1", "mfa.not-registered:u2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("recent findings (-want +got):\n%s", diff)
	}
	if err := st.RecentFindings(ctx, []string{"x'*"}, t0, func(state.FindingRecord) error { return nil }); err == nil {
		t.Error("a prefix that is not a plain key was accepted")
	}
}
