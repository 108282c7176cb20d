package watch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/notify"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// detectAndRecord runs the detectors over s, records the findings (dedupe on
// their keys) and queues the fresh ones for Teams. A baseline round records
// them as baseline and queues nothing. It returns the fresh findings; the
// detectors' errors come back joined after everything they found was
// stored.
func (a *App) detectAndRecord(ctx context.Context, s *tenant.Snapshot, baseline bool) ([]tenant.Finding, error) {
	return a.detectAndRecordWith(ctx, s, baseline, a.o.Detectors)
}

// detectAndRecordWith is detectAndRecord with the detectors ds.
func (a *App) detectAndRecordWith(ctx context.Context, s *tenant.Snapshot, baseline bool, ds []detect.Detector) ([]tenant.Finding, error) {
	ranges, reason := a.azureRanges(ctx)
	if ranges != nil {
		delete(s.Unavailable, tenant.SourceAzureRanges)
	} else {
		s.MarkUnavailable(tenant.SourceAzureRanges, reason)
	}
	res, detErr := detect.Run(ctx, ds, &detect.Input{Snapshot: s, Azure: ranges, Now: s.CollectedAt, Config: a.o.Rules})
	if detErr != nil {
		a.log.Error("detectors failed; storing what the others found", "err", detErr)
	}
	status := state.FindingQueued
	if baseline {
		status = state.FindingBaseline
	}
	found, acceptance := a.unaccepted(res.Findings, s.CollectedAt)
	fresh, err := a.d.Findings.RecordFindings(ctx, found, status, a.now())
	if err != nil {
		return nil, errors.Join(fmt.Errorf("watch: record findings: %w", err), detErr)
	}
	if err := a.toSentinel(ctx, fresh, baseline); err != nil {
		return fresh, errors.Join(err, detErr)
	}
	if !baseline {
		// Correlate, then queue: own cards, incident cards, follow-ups.
		// The findings are recorded as queued: on a failure DeliverAlerts'
		// reconciliation re-queues them, so none is lost.
		if err := a.queueAlerts(ctx, fresh, a.acceptedOf(res.Findings, acceptance), false); err != nil {
			return fresh, errors.Join(err, detErr)
		}
	}
	if baseline && len(fresh) > 0 {
		a.log.Info("baseline findings recorded without alerts", "count", len(fresh))
	}
	if detErr != nil {
		return fresh, &detectorsFailed{detErr}
	}
	return fresh, nil
}

// toSentinel queues the new findings fs for Log Analytics when the sink is
// configured ("baseline" rows for an installation's silent first rounds).
// The rows are queued after the findings are recorded: a failure here
// fails the round, but dedupe will not offer the same findings again, so
// their rows are missing from the table (the daily report has them).
func (a *App) toSentinel(ctx context.Context, fs []tenant.Finding, baseline bool) error {
	if a.o.Sentinel == nil || len(fs) == 0 {
		return nil
	}
	change := "new"
	if baseline {
		change = "baseline"
	}
	if err := a.o.Sentinel.AddFindings(ctx, fs, change); err != nil {
		return fmt.Errorf("watch: queue findings for log analytics: %w", err)
	}
	return nil
}

// deliverSentinel uploads the Log Analytics rows that are due.
func (a *App) deliverSentinel(ctx context.Context) error {
	if a.o.Sentinel == nil {
		return nil
	}
	st, err := a.o.Sentinel.Deliver(ctx)
	a.log.Info("log analytics delivery", "delivered", st.Delivered, "retried", st.Retried, "failed", st.Failed)
	if err != nil {
		return fmt.Errorf("watch: deliver to log analytics: %w", err)
	}
	return nil
}

// detectorsFailed is detectAndRecord's error when only detectors failed:
// what the others found is stored and queued, so the round may advance.
type detectorsFailed struct{ err error }

func (e *detectorsFailed) Error() string { return e.err.Error() }
func (e *detectorsFailed) Unwrap() error { return e.err }

// saveCursor stores c. Losing an optimistic-concurrency race means another
// invocation advanced the stream past the same changes: that is not an
// error.
func (a *App) saveCursor(ctx context.Context, c state.Cursor) error {
	if _, err := a.d.Cursors.SaveCursor(ctx, c); err != nil {
		if errors.Is(err, tenant.ErrConflict) {
			a.log.Info("cursor advanced by another invocation", "cursor", c.Name)
			return nil
		}
		return fmt.Errorf("watch: save cursor %s: %w", c.Name, err)
	}
	return nil
}

// deliverSoon sends queued alerts right away, within a short budget, so that
// a card does not wait for the next DeliverAlerts tick.
func (a *App) deliverSoon(ctx context.Context) {
	if a.o.Sender == nil || a.o.InlineDelivery < 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, a.o.InlineDelivery)
	defer cancel()
	if _, err := notify.Deliver(ctx, a.d.Outbox, a.o.Sender, a.deliverOptions()); err != nil && ctx.Err() == nil {
		a.log.Warn("inline delivery failed; DeliverAlerts retries", "err", err)
	}
}

func (a *App) deliverOptions() *notify.DeliverOptions {
	var o notify.DeliverOptions
	if a.o.Deliver != nil {
		o = *a.o.Deliver
	}
	o.Now = a.now
	o.Logger = a.log
	return &o
}

// DeliverAlerts re-queues alerts a crash left without an outbox item, then
// delivers what is due.
func (a *App) DeliverAlerts(ctx context.Context) error {
	if err := a.reconcile(ctx); err != nil {
		a.log.Warn("reconciling findings with the outbox failed", "err", err)
	}
	sentErr := a.deliverSentinel(ctx)
	if a.o.Sender == nil {
		n := 0
		_ = a.d.Outbox.Outbox(ctx, func(it state.OutboxItem) error {
			if it.Delivered.IsZero() {
				n++
			}
			return nil
		})
		a.log.Warn("no Teams webhook is configured (TENANTWATCH_TEAMS_WEBHOOK_URL): alerts wait in the outbox", "pending", n)
		return sentErr
	}
	st, err := notify.Deliver(ctx, a.d.Outbox, a.o.Sender, a.deliverOptions())
	a.log.Info("delivery", "delivered", st.Delivered, "retried", st.Retried, "failed", st.Failed)
	if err != nil {
		return errors.Join(fmt.Errorf("watch: deliver alerts: %w", err), sentErr)
	}
	return sentErr
}

// reconcileAfter is how old a queued finding must be before reconciliation
// assumes its outbox write was lost; reconcileWithin bounds how far back it
// looks; outboxKeep is how long delivered outbox rows are kept.
const (
	reconcileAfter  = 2 * time.Minute
	reconcileWithin = 7 * 24 * time.Hour
	outboxKeep      = 30 * 24 * time.Hour
)

// reconcile keeps findings and the outbox in step: a queued finding whose
// outbox item was delivered becomes delivered; one that no outbox item
// carries (the round that found it failed between the two writes) is
// queued again. Delivered outbox rows older than 30 days are pruned.
func (a *App) reconcile(ctx context.Context) error {
	now := a.now()
	var queued []tenant.Finding
	if err := a.d.Findings.Findings(ctx, func(r state.FindingRecord) error {
		if r.Status == state.FindingQueued && r.FirstSeen.Before(now.Add(-reconcileAfter)) && r.FirstSeen.After(now.Add(-reconcileWithin)) {
			queued = append(queued, r.Finding)
		}
		return nil
	}); err != nil {
		return err
	}
	if len(queued) > 0 {
		delivered := make(map[string]bool)
		pending := make(map[string]bool)
		if err := a.d.Outbox.Outbox(ctx, func(it state.OutboxItem) error {
			for _, k := range it.FindingKeys {
				if it.Delivered.IsZero() {
					pending[k] = true
				} else {
					delivered[k] = true
				}
			}
			return nil
		}); err != nil {
			return err
		}
		var done []string
		var lost []tenant.Finding
		for _, f := range queued {
			switch {
			case pending[f.Key]:
			case delivered[f.Key]:
				done = append(done, f.Key)
			default:
				lost = append(lost, f)
			}
		}
		if len(done) > 0 {
			if err := a.d.Findings.SetFindingStatus(ctx, done, state.FindingDelivered); err != nil {
				return err
			}
		}
		if len(lost) > 0 {
			a.log.Warn("re-queuing alerts whose outbox write was lost", "count", len(lost))
			if err := a.queueAlerts(ctx, lost, nil, false); err != nil {
				return err
			}
		}
	}
	if n, err := a.d.Outbox.PruneOutbox(ctx, now.Add(-outboxKeep)); err != nil {
		return err
	} else if n > 0 {
		a.log.Info("delivered outbox rows pruned", "count", n)
	}
	return nil
}
