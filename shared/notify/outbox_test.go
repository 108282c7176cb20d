package notify_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/notify"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

func finding(key string, sev tenant.Severity) tenant.Finding {
	return tenant.Finding{Rule: "sp.credential-added", Severity: sev, Title: "Credential added", Key: key,
		Subject: tenant.Subject{Type: tenant.SubjectServicePrincipal, ID: "id-" + key, Name: "app " + key}, ObservedAt: observed}
}

// summary is what a test compares of an item.
type summary struct {
	Kind  state.OutboxKind
	Keys  []string
	Title string // the card's first paragraph
}

func summarize(t *testing.T, items []state.OutboxItem) []summary {
	t.Helper()
	var out []summary
	for _, it := range items {
		out = append(out, summary{Kind: it.Kind, Keys: it.FindingKeys, Title: bodyLines(t, it.Payload)[0].Text})
	}
	return out
}

func TestOutboxAdd(t *testing.T) {
	high, crit, med, low := tenant.SeverityHigh, tenant.SeverityCritical, tenant.SeverityMedium, tenant.SeverityLow
	for _, tc := range []struct {
		name      string
		threshold tenant.Severity
		fs        []tenant.Finding
		want      []summary
	}{
		{
			name: "mixed",
			fs:   []tenant.Finding{finding("a", high), finding("b", med), finding("c", crit), finding("d", low), finding("e", 0)},
			want: []summary{
				{state.OutboxCard, []string{"a"}, "High: Credential added"},
				{state.OutboxCard, []string{"c"}, "Critical: Credential added"},
				{state.OutboxDigest, []string{"b", "d", "e"}, "3 new lower-severity findings"},
			},
		},
		{
			name: "all above",
			fs:   []tenant.Finding{finding("a", crit), finding("b", high)},
			want: []summary{
				{state.OutboxCard, []string{"a"}, "Critical: Credential added"},
				{state.OutboxCard, []string{"b"}, "High: Credential added"},
			},
		},
		{
			name: "one below",
			fs:   []tenant.Finding{finding("a", low)},
			want: []summary{{state.OutboxDigest, []string{"a"}, "1 new lower-severity finding"}},
		},
		{
			name:      "threshold medium",
			threshold: med,
			fs:        []tenant.Finding{finding("a", med), finding("b", low)},
			want: []summary{
				{state.OutboxCard, []string{"a"}, "Medium: Credential added"},
				{state.OutboxDigest, []string{"b"}, "1 new lower-severity finding"},
			},
		},
		{
			name:      "invalid threshold means high",
			threshold: 42,
			fs:        []tenant.Finding{finding("a", med)},
			want:      []summary{{state.OutboxDigest, []string{"a"}, "1 new lower-severity finding"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newMemStore()
			now := time.Date(2024, 5, 1, 4, 30, 0, 0, time.FixedZone("CEST", 2*3600))
			o := notify.NewOutbox(st, &notify.OutboxOptions{Threshold: tc.threshold, Now: func() time.Time { return now },
				Card: &notify.CardOptions{ReportURL: reportURL}})
			items, err := o.Add(t.Context(), tc.fs)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, summarize(t, items)); diff != "" {
				t.Errorf("items (-want +got):\n%s", diff)
			}
			if st.enqueueCalls != 1 || len(st.items) != len(items) {
				t.Errorf("%d enqueue calls storing %d items, want 1 call storing %d", st.enqueueCalls, len(st.items), len(items))
			}
			var ids []string
			for _, it := range items {
				ids = append(ids, it.ID)
				if !it.Created.Equal(now) || it.Created.Location() != time.UTC || !it.NextAttempt.Equal(now) || it.Attempts != 0 {
					t.Errorf("item %s: created %v, next %v, attempts %d; want due now in UTC, no attempts", it.ID, it.Created, it.NextAttempt, it.Attempts)
				}
				if !strings.HasPrefix(it.ID, "20240501T023000.000000000Z-") || strings.ContainsAny(it.ID, `/\#?`) {
					t.Errorf("item id %q: want a time-sorted id valid as a RowKey", it.ID)
				}
				if p := cardProblems(it.Payload, reportURL); len(p) > 0 {
					t.Errorf("item %s: %v", it.ID, p)
				}
			}
			if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
				t.Errorf("ids %q: want unique and in enqueue order", ids)
			}
		})
	}
}

// TestAlertPolicy: the sentence the installation digest uses names the
// configured threshold, and says exactly what Add does with each severity:
// a card of its own for those it names, a digest for the others.
func TestAlertPolicy(t *testing.T) {
	tests := []struct {
		threshold tenant.Severity
		want      string
	}{
		{tenant.SeverityInfo, "From now on, every new finding gets a card of its own."},
		{tenant.SeverityLow, "From now on, each new low, medium, high or critical finding gets a card of its own; less severe ones arrive grouped in a digest."},
		{tenant.SeverityMedium, "From now on, each new medium, high or critical finding gets a card of its own; less severe ones arrive grouped in a digest."},
		{tenant.SeverityHigh, "From now on, each new high or critical finding gets a card of its own; less severe ones arrive grouped in a digest."},
		{tenant.SeverityCritical, "From now on, each new critical finding gets a card of its own; less severe ones arrive grouped in a digest."},
		{0, "From now on, each new high or critical finding gets a card of its own; less severe ones arrive grouped in a digest."}, // the Outbox's default
	}
	all := []tenant.Severity{tenant.SeverityInfo, tenant.SeverityLow, tenant.SeverityMedium, tenant.SeverityHigh, tenant.SeverityCritical}
	for _, tc := range tests {
		t.Run(tc.threshold.String(), func(t *testing.T) {
			got := notify.AlertPolicy(tc.threshold)
			if got != tc.want {
				t.Errorf("AlertPolicy(%v) = %q, want %q", tc.threshold, got, tc.want)
			}
			// Every severity the sentence names gets a card from Add; every
			// other one is in the digest.
			var fs []tenant.Finding
			for _, s := range all {
				fs = append(fs, finding(s.String(), s))
			}
			items, err := notify.NewOutbox(newMemStore(), &notify.OutboxOptions{Threshold: tc.threshold}).Add(t.Context(), fs)
			if err != nil {
				t.Fatal(err)
			}
			carded := map[string]bool{}
			for _, it := range items {
				if it.Kind == state.OutboxCard {
					carded[it.FindingKeys[0]] = true
				}
			}
			named := strings.TrimSuffix(strings.TrimPrefix(got, "From now on, each new "), " finding gets a card of its own; less severe ones arrive grouped in a digest.")
			for _, s := range all {
				says := strings.Contains(got, "every new finding") || slices.Contains(strings.FieldsFunc(named, func(r rune) bool { return r == ',' || r == ' ' }), s.String())
				if says != carded[s.String()] {
					t.Errorf("threshold %v: the sentence says %s gets a card: %v; Add gave it one: %v", tc.threshold, s, says, carded[s.String()])
				}
			}
		})
	}
}

func TestOutboxAddNothing(t *testing.T) {
	st := newMemStore()
	items, err := notify.NewOutbox(st, nil).Add(t.Context(), nil)
	if err != nil || items != nil || st.enqueueCalls != 0 {
		t.Errorf("Add(nil) = %v, %v after %d enqueue calls; want nothing stored", items, err, st.enqueueCalls)
	}
}

func TestOutboxStoreError(t *testing.T) {
	boom := errors.New("table unavailable")
	st := newMemStore()
	st.enqueueErr = boom
	o := notify.NewOutbox(st, nil)
	if _, err := o.Add(t.Context(), []tenant.Finding{finding("a", tenant.SeverityHigh)}); !errors.Is(err, boom) {
		t.Errorf("Add: err = %v, want it to wrap %v", err, boom)
	}
	if _, err := o.AddDigest(t.Context(), notify.Digest{}); !errors.Is(err, boom) {
		t.Errorf("AddDigest: err = %v, want it to wrap %v", err, boom)
	}
}

func TestOutboxAddDigest(t *testing.T) {
	st := newMemStore()
	c := newClock()
	o := notify.NewOutbox(st, &notify.OutboxOptions{Now: c.Now, Card: &notify.CardOptions{TenantName: "Contoso"}})
	d := notify.Digest{Title: "Daily digest", Findings: []tenant.Finding{finding("a", tenant.SeverityHigh), finding("b", tenant.SeverityLow)}}
	items, err := o.AddDigest(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	want := []summary{{state.OutboxDigest, []string{"a", "b"}, "Daily digest"}}
	if diff := cmp.Diff(want, summarize(t, items)); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	// The digest time defaults to the outbox clock.
	if l := bodyLines(t, items[0].Payload)[1]; l.Text != "Generated 2024-05-01 02:30:00 UTC" {
		t.Errorf("generated line = %q", l.Text)
	}
}
