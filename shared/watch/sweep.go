package watch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/collect"
	"github.com/tenantwatch/tenantwatch/shared/incident"
	"github.com/tenantwatch/tenantwatch/shared/notify"
	"github.com/tenantwatch/tenantwatch/shared/pipeline"
	"github.com/tenantwatch/tenantwatch/shared/report"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// DailySweep runs the full scan, writes the dated reports to Blob Storage,
// records the findings (marking state findings that no longer hold as
// resolved) and queues one digest card: the standing posture, with what is
// new since the last sweep.
// SweepExchangeReason is why the daily report skips the Exchange rules in
// a deployment that reads the Management Activity API: they run as the
// records arrive, and their cards are the alerts.
const SweepExchangeReason = "judged as the Exchange records arrive (PollActivity, ProcessActivity; their cards are the alerts), not by the daily sweep"

func (a *App) DailySweep(ctx context.Context) error {
	defer a.lock(cursorSweep)()
	cur, err := a.d.Cursors.Cursor(ctx, cursorSweep)
	if err != nil {
		return fmt.Errorf("watch: sweep cursor: %w", err)
	}
	now := a.now()
	ranges, reason := a.azureRanges(ctx)
	window := a.o.Config.SweepWindow
	if window <= 0 {
		window = 720 * time.Hour
	}
	snap, err := a.d.Tenant.Snapshot(ctx, &collect.SnapshotOptions{
		Since:  now.Add(-window),
		Now:    func() time.Time { return now },
		Logger: a.log,
	})
	if err != nil {
		return fmt.Errorf("watch: sweep: %w", err)
	}
	// The federation baseline: Graph notifies nothing about domains, so
	// the sweep compares each domain's federation with yesterday's and
	// hands domain.federation-changed what changed.
	fed, err := a.d.Tenant.Federation(ctx, snap)
	if err != nil {
		return fmt.Errorf("watch: sweep: %w", err)
	}
	if len(fed.Changes) > 0 || fed.Install && len(fed.Put) > 0 {
		a.log.Info("federation baseline", "domains", len(fed.Put), "changes", len(fed.Changes), "install", fed.Install)
	}
	if a.o.Exchange != nil && snap.Unavailable[tenant.SourceExchangeAudit] == collect.ActivityNotConfigured {
		// The Exchange rules run as the records arrive (PollActivity,
		// ProcessActivity), not here: the sweep does not re-read the
		// feed, so it neither reports nor resolves their findings.
		snap.MarkUnavailable(tenant.SourceExchangeAudit, SweepExchangeReason)
	}
	res, scanErr := pipeline.Detect(ctx, snap, &pipeline.DetectOptions{
		Azure:     ranges,
		NoAzure:   reason,
		Config:    a.o.Rules,
		Detectors: a.o.Detectors,
	})
	found, acceptance := a.unaccepted(res.Findings, now)
	fresh, err := a.d.Findings.RecordFindings(ctx, found, state.FindingQueued, now)
	if err != nil {
		return errors.Join(fmt.Errorf("watch: sweep: record findings: %w", err), scanErr)
	}
	// Findings of rules that ran and no longer fire are resolved: seen
	// again later, they alert again.
	skipped := make(map[string]bool)
	for _, s := range res.Skipped {
		skipped[s.Rule] = true
	}
	var ran []string
	for _, r := range res.Rules {
		if !skipped[r.ID] {
			ran = append(ran, r.ID)
		}
	}
	seen := make(map[string]bool, len(res.Findings))
	for _, f := range res.Findings {
		seen[f.Key] = true
	}
	if scanErr == nil {
		if n, err := a.d.Findings.ResolveFindings(ctx, ran, seen, now); err != nil {
			a.log.Warn("resolving findings failed", "err", err)
		} else if n > 0 {
			a.log.Info("findings resolved", "count", n)
		}
	}

	doc := report.NewDocument(res.Snapshot, res.Rules, res.Findings, res.Skipped, a.o.Version)
	doc.Acceptance = acceptance
	// The day's report groups the findings one attack ties together, as
	// the scan's does (accepted findings included: a chain stays visible).
	doc.Incidents = incident.Correlate(res.Findings, nil)
	if err := a.toSentinel(ctx, fresh, false); err != nil {
		return errors.Join(err, scanErr)
	}
	if a.o.Sentinel != nil && len(doc.Incidents) > 0 {
		if err := a.o.Sentinel.AddIncidents(ctx, doc.Incidents); err != nil {
			return errors.Join(fmt.Errorf("watch: sweep: queue incidents for log analytics: %w", err), scanErr)
		}
	}
	// What changed since the previous day's report, as scan --compare
	// says it: the report, its OCSF lines and the digest lead with it.
	if prev, found, err := a.d.Reports.ReadPreviousReport(ctx, now); err != nil {
		a.log.Warn("the previous report could not be read: today's is not compared", "err", err)
	} else if found {
		doc.Changes = report.Compare(prev, res.Findings)
	}
	written, err := a.d.Reports.WriteReports(ctx, doc, now)
	if err != nil {
		return errors.Join(fmt.Errorf("watch: sweep: write reports: %w", err), scanErr)
	}

	counts := make(map[tenant.Severity]int)
	for _, f := range res.Findings {
		counts[f.Severity]++
	}
	title := "Daily tenantwatch sweep"
	note := fmt.Sprintf("%d findings in all; %d new since the last sweep.", len(res.Findings), len(fresh))
	if !cur.Exists() {
		title = "tenantwatch is watching: your tenant's standing posture"
		// Say what is configured: TENANTWATCH_ALERT_SEVERITY decides which
		// new findings get a card of their own.
		note = fmt.Sprintf("First sweep after installation: %d findings. %s", len(res.Findings), notify.AlertPolicy(a.o.Config.AlertSeverity))
	}
	if c := doc.Changes; c != nil {
		n, open, resolved := c.Count()
		note = fmt.Sprintf("Since the report of %s: %d new, %d still open, %d resolved. ", c.ComparedWith.UTC().Format("2006-01-02 15:04 UTC"), n, open, resolved) + note
	}
	if n := acceptance.Accepted(); n > 0 || acceptance != nil && len(acceptance.Expired) > 0 {
		note += fmt.Sprintf(" %d accepted (not alerted); %d expired accept entries (see the report).", n, len(acceptance.Expired))
	}
	d := notify.Digest{
		Title: title, Generated: now, Counts: counts, Findings: fresh, Skipped: res.Skipped,
		ReportURL: written.URLs[report.HTMLFile], Note: note,
		Incidents: doc.Incidents, // the digest groups its findings by incident
	}
	if _, err := a.outbox.AddDigest(ctx, d); err != nil {
		return errors.Join(fmt.Errorf("watch: sweep: queue digest: %w", err), scanErr)
	}
	// After installation, a finding at or above the alert severity that
	// the sweep is first to see (a lost notification, a late log entry)
	// also gets its own card; the first sweep only posts the digest.
	// Correlated first: a fresh finding that joins an incident is
	// announced by the incident's card or follow-up instead.
	if cur.Exists() {
		if err := a.queueAlerts(ctx, fresh, a.acceptedOf(res.Findings, acceptance), true); err != nil {
			return errors.Join(fmt.Errorf("watch: sweep: %w", err), scanErr)
		}
	}
	a.log.Info("daily sweep", "findings", len(res.Findings), "new", len(fresh), "skipped", len(res.Skipped), "report", written.Prefix)
	// The federation baseline moves once the findings of its changes are
	// stored, and not when a detector failed: its changes are seen again
	// by the next sweep.
	if scanErr == nil {
		if err := a.commitBaselines(ctx, tenant.SubjectDomain, fed.Put, fed.Delete); err != nil {
			return err
		}
	}
	cur.Watermark = now
	if err := a.saveCursor(ctx, cur); err != nil {
		return err
	}
	a.deliverSoon(ctx)
	return scanErr
}
