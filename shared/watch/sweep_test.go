package watch_test

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/collect"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/notify"
	"github.com/tenantwatch/tenantwatch/shared/report"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/watch"
)

// TestDailySweep runs the sweep on four days: each writes the day's four
// reports (findings.ocsf.jsonl with the scan's three) and queues one
// digest. A state finding that stops holding is resolved by the next
// sweep, and alerts as new when it holds again. From the second day on,
// each report is compared with the previous day's, as scan --compare does:
// the finding is resolved on day 2, new on day 3 and open on day 4, in
// findings.json, in its OCSF line and in the digest's counts.
func TestDailySweep(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{NoWebhooks: true})
	ctx := t.Context()
	const rule = "mfa.not-registered"

	// The subject whose finding comes and goes: an unregistered member
	// account, disabled on day 2 and enabled again on day 3.
	var subject string
	days := []struct {
		name    string
		before  func()
		status  state.FindingStatus // of the subject's finding after the sweep
		inFresh bool                // listed as new in the day's digest
		change  report.Change       // against the previous day's report ("": not compared)
	}{
		{name: "day 1, first sweep", status: state.FindingQueued, inFresh: true},
		{name: "day 2, account disabled", status: state.FindingResolved, change: report.ChangeResolved, before: func() {
			_, err := e.sim.Update(graphsim.KindUser, subject, map[string]any{"accountEnabled": false})
			e.must("disable", err)
		}},
		{name: "day 3, account enabled again", status: state.FindingQueued, inFresh: true, change: report.ChangeNew, before: func() {
			_, err := e.sim.Update(graphsim.KindUser, subject, map[string]any{"accountEnabled": true})
			e.must("enable", err)
		}},
		{name: "day 4, still holds", status: state.FindingDelivered, change: report.ChangeOpen},
	}
	var firstSeen, prevDay time.Time
	for i, d := range days {
		if i > 0 {
			e.clk.Advance(24 * time.Hour)
		}
		if d.before != nil {
			d.before()
		}
		day := e.clk.Now()
		outboxBefore, sentBefore := len(e.outbox()), len(e.teams.Messages())
		if err := e.app.DailySweep(ctx); err != nil {
			t.Fatalf("%s: DailySweep: %v", d.name, err)
		}

		folder := day.Format("2006/01/02") + "/"
		names, err := e.rep.List(ctx, folder)
		e.must("list reports", err)
		want := []string{folder + report.CSVFile, folder + report.JSONFile, folder + report.HTMLFile, folder + report.OCSFFile}
		sort.Strings(want)
		if diff := cmp.Diff(want, names); diff != "" {
			t.Errorf("%s: reports in Blob Storage (-want +got):\n%s", d.name, diff)
		}
		data, err := e.rep.Get(ctx, folder+report.JSONFile)
		e.must("read report", err)
		if !strings.Contains(string(data), rule) {
			t.Errorf("%s: findings.json does not mention %s", d.name, rule)
		}

		items := e.outbox()
		if len(items) != outboxBefore+1 {
			t.Fatalf("%s: the sweep queued %d outbox items, want one digest", d.name, len(items)-outboxBefore)
		}
		digest := items[len(items)-1]
		if digest.Kind != state.OutboxDigest || digest.Delivered.IsZero() {
			t.Errorf("%s: last outbox item is a %s, delivered %v; want a delivered digest", d.name, digest.Kind, digest.Delivered)
		}
		if !strings.Contains(string(digest.Payload), e.cfg.ReportContainer+"/"+folder+report.HTMLFile) {
			t.Errorf("%s: the digest does not link the day's report", d.name)
		}
		if n := len(e.teams.Messages()) - sentBefore; n != 1 {
			t.Errorf("%s: %d messages posted, want the digest alone", d.name, n)
		}
		if c := e.cursor(cursorSweep); !c.Watermark.Equal(day) {
			t.Errorf("%s: sweep watermark %v, want %v", d.name, c.Watermark, day)
		}

		if subject == "" {
			var ids []string
			for _, r := range e.findings() {
				if r.Finding.Rule == rule {
					ids = append(ids, r.Finding.Subject.ID)
				}
			}
			if len(ids) == 0 {
				t.Fatalf("the first sweep found no %s finding to work with", rule)
			}
			slices.Sort(ids)
			subject = ids[0]
		}
		rec, ok := e.findingFor(rule, subject)
		if !ok {
			t.Fatalf("%s: the %s finding on %s is not recorded", d.name, rule, subject)
		}
		if rec.Status != d.status {
			t.Errorf("%s: status %s, want %s", d.name, rec.Status, d.status)
		}
		if firstSeen.IsZero() {
			firstSeen = rec.FirstSeen
		} else if !rec.FirstSeen.Equal(firstSeen) {
			t.Errorf("%s: first seen %v, want %v kept", d.name, rec.FirstSeen, firstSeen)
		}
		if got := slices.Contains(digest.FindingKeys, rec.Finding.Key); got != d.inFresh {
			t.Errorf("%s: the digest lists the finding as new: %v, want %v", d.name, got, d.inFresh)
		}
		checkCompared(t, e, d.name, folder, rec.Finding.Key, d.change, prevDay, string(digest.Payload))
		prevDay = day
		// DeliverAlerts reconciles: the digest carrying the new findings
		// was delivered, so they are delivered; nothing is queued again.
		e.clk.Advance(3 * time.Minute)
		n := len(e.outbox())
		e.must("DeliverAlerts", e.app.DeliverAlerts(ctx))
		if after := len(e.outbox()); after != n {
			t.Errorf("%s: DeliverAlerts re-queued %d findings the digest carried", d.name, after-n)
		}
	}
}

// TestDailySweepExchangeRules: where the app reads the Management Activity
// API, the daily report says that the Exchange rules are judged as their
// records arrive, not "not configured" (the sweep does not read the feed);
// where it does not, it says that the API is not configured.
func TestDailySweepExchangeRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		exchange *watch.Exchange
		want     string
	}{
		{"feed configured", &watch.Exchange{}, watch.SweepExchangeReason},
		{"no feed", nil, collect.ActivityNotConfigured},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{NoWebhooks: true, Exchange: tc.exchange})
			ctx := t.Context()
			if err := e.app.DailySweep(ctx); err != nil {
				t.Fatalf("DailySweep: %v", err)
			}
			data, err := e.rep.Get(ctx, e.clk.Now().Format("2006/01/02")+"/"+report.JSONFile)
			e.must("read report", err)
			doc, err := report.ReadJSON(bytes.NewReader(data))
			e.must("parse report", err)
			var exo int
			for _, s := range doc.Skipped {
				if !strings.HasPrefix(s.Rule, "exo.") && !strings.HasPrefix(s.Rule, "mail.") {
					continue
				}
				exo++
				if !strings.Contains(s.Reason, tc.want) {
					t.Errorf("%s skipped for %q, want %q", s.Rule, s.Reason, tc.want)
				}
			}
			if exo == 0 {
				t.Errorf("no Exchange rule skipped in the daily report: %+v", doc.Skipped)
			}
			// The scenario's standing takeover chain (a dormant account's
			// MFA registration, then its sign-in from Azure …) is one
			// incident of the day's report, as in the scan's.
			var chained bool
			for _, inc := range doc.Incidents {
				for _, k := range inc.Findings {
					chained = chained || strings.HasPrefix(k, "mfa.dormant-registration:")
				}
			}
			if !chained {
				t.Errorf("the daily report has no incident holding the takeover chain: %d incidents", len(doc.Incidents))
			}
		})
	}
}

// TestInstallDigestSaysWhatIsConfigured: the installation digest says which
// new findings will get a card of their own, as TENANTWATCH_ALERT_SEVERITY
// configures it, not always "high".
func TestInstallDigestSaysWhatIsConfigured(t *testing.T) {
	t.Parallel()
	tests := []struct {
		setting string
		want    string // in the digest card
	}{
		{"", "each new high or critical finding gets a card of its own"},
		{"medium", "each new medium, high or critical finding gets a card of its own"},
		{"info", "every new finding gets a card of its own"},
	}
	for _, tt := range tests {
		name := "TENANTWATCH_ALERT_SEVERITY=" + tt.setting
		if tt.setting == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			settings := map[string]string{}
			if tt.setting != "" {
				settings["TENANTWATCH_ALERT_SEVERITY"] = tt.setting
			}
			e := newEnv(t, envOptions{Settings: settings})
			e.install()
			items := e.outbox()
			card := string(items[0].Payload)
			if !strings.Contains(card, tt.want) {
				t.Errorf("installation digest does not say %q:\n%s", tt.want, card)
			}
			if tt.setting != "" && strings.Contains(card, "new high findings arrive one card each") {
				t.Errorf("installation digest says high findings get cards although TENANTWATCH_ALERT_SEVERITY=%s", tt.setting)
			}
			if !strings.Contains(card, notify.AlertPolicy(e.cfg.AlertSeverity)) {
				t.Errorf("installation digest lacks the policy of the configured severity %s", e.cfg.AlertSeverity)
			}
		})
	}
}

// checkCompared checks the day's report in folder against the previous
// day's (taken at prevAt): where the finding key stands (change; "" means
// the report is not compared), in findings.json, findings.ocsf.jsonl and
// the digest's note.
func checkCompared(t *testing.T, e *env, day, folder, key string, change report.Change, prevAt time.Time, digest string) {
	t.Helper()
	ctx := t.Context()
	data, err := e.rep.Get(ctx, folder+report.JSONFile)
	e.must("read report", err)
	doc, err := report.ReadPrevious(bytes.NewReader(data))
	e.must("parse report", err)
	ocsf, err := e.rep.Get(ctx, folder+report.OCSFFile)
	e.must("read ocsf", err)
	if change == "" {
		if doc.Changes != nil || strings.Contains(digest, "Since the report of") {
			t.Errorf("%s: the first report is compared with something", day)
		}
		if !bytes.Contains(ocsf, []byte(`"uid":"`+key+`"`)) {
			t.Errorf("%s: findings.ocsf.jsonl has no line for %s", day, key)
		}
		return
	}
	if doc.Changes == nil {
		t.Fatalf("%s: findings.json has no changes: not compared with the previous day", day)
	}
	if !doc.Changes.ComparedWith.Equal(prevAt) {
		t.Errorf("%s: compared with the report of %v, want %v", day, doc.Changes.ComparedWith, prevAt)
	}
	got := report.Change("")
	for _, fc := range doc.Changes.Findings {
		if fc.Key == key {
			got = fc.Change
		}
	}
	for _, f := range doc.Changes.Resolved {
		if f.Key == key {
			got = report.ChangeResolved
		}
	}
	if got != change {
		t.Errorf("%s: %s is %q against the previous day, want %q", day, key, got, change)
	}
	n, open, resolved := doc.Changes.Count()
	if note := fmt.Sprintf("Since the report of %s: %d new, %d still open, %d resolved.", prevAt.Format("2006-01-02 15:04 UTC"), n, open, resolved); !strings.Contains(digest, note) {
		t.Errorf("%s: the digest does not lead with %q", day, note)
	}
	// The finding's OCSF line says the same.
	found := false
	for _, line := range bytes.Split(bytes.TrimSpace(ocsf), []byte("\n")) {
		if bytes.Contains(line, []byte(`"uid":"`+key+`"`)) && bytes.Contains(line, []byte(`"change":"`+string(change)+`"`)) {
			found = true
		}
	}
	if !found {
		t.Errorf("%s: findings.ocsf.jsonl has no line for %s with change %q", day, key, change)
	}
}
