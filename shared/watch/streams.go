package watch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/collect"
	"github.com/tenantwatch/tenantwatch/shared/graph/webhook"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// ProcessChanges handles one change notification taken from the queue: it
// runs the users delta round. Notifications are hints; the delta query is
// the source of truth, so a duplicated or late notification costs one
// empty round.
func (a *App) ProcessChanges(ctx context.Context, n webhook.Notification) error {
	arrived := a.now()
	a.log.Info("change notification", "subscription_id", n.SubscriptionID, "resource", n.Resource, "change_type", n.ChangeType)
	defer a.lock(cursorUsers)()
	// Coalesce: a round that started well after this notification arrived
	// has read the change it announces, so a burst of notifications costs
	// a few rounds, not one each. "Well after" leaves the delta query
	// coalesceSettle to catch up with the notification.
	if started, ok := a.roundStarted.Load(cursorUsers); ok && started.(time.Time).After(arrived.Add(coalesceSettle)) {
		a.log.Info("change already covered by a later round")
		return nil
	}
	return a.usersRoundLocked(ctx, "ProcessChanges")
}

// coalesceSettle is how long after a notification arrives a delta round
// must start to be trusted to include its change.
const coalesceSettle = 2 * time.Second

// usersRound runs one users delta round: licence changes (Advanced Auditing
// disabled per user) are judged by the same detectors as the scan.
func (a *App) usersRound(ctx context.Context, trigger string) error {
	defer a.lock(cursorUsers)()
	return a.usersRoundLocked(ctx, trigger)
}

// usersRoundLocked runs the round; the caller holds the users lock.
func (a *App) usersRoundLocked(ctx context.Context, trigger string) error {
	a.roundStarted.Store(cursorUsers, a.now())
	cur, err := a.d.Cursors.Cursor(ctx, cursorUsers)
	if err != nil {
		return fmt.Errorf("watch: users cursor: %w", err)
	}
	now := a.now()
	u, err := a.d.Tenant.Users(ctx, cur.DeltaLink, collect.Window{Round: trigger, Now: now, Since: now.Add(-a.o.Config.AuditOverlap)})
	if err != nil {
		return fmt.Errorf("watch: users round: %w", err)
	}
	r := u.Round
	a.log.Info("users delta round", "items", r.Items, "changed", len(r.Objects), "changes", len(r.Changes), "install", r.Install, "resynced", r.Resynced)

	var detErr error
	if u.Snapshot != nil {
		if _, detErr = a.detectAndRecord(ctx, u.Snapshot, r.Install); detErr != nil && !isDetectorError(detErr) {
			return detErr
		}
	}
	if err := a.commitBaselines(ctx, tenant.SubjectUser, r.Put, r.Delete); err != nil {
		return err
	}
	cur.DeltaLink = r.Link
	if err := a.saveCursor(ctx, cur); err != nil {
		return err
	}
	a.deliverSoon(ctx)
	return detErr
}

// isDetectorError reports whether err is detectAndRecord's "only
// detectors failed" (their findings were still stored, so the round may
// advance); a storage error joined with detector errors is not.
func isDetectorError(err error) bool {
	_, ok := err.(*detectorsFailed)
	return ok
}

func (a *App) commitBaselines(ctx context.Context, typ tenant.SubjectType, put []state.Baseline, del []string) error {
	if len(put) > 0 {
		if err := a.d.Baselines.PutBaselines(ctx, put); err != nil {
			return fmt.Errorf("watch: store %s baselines: %w", typ, err)
		}
	}
	if len(del) > 0 {
		if err := a.d.Baselines.DeleteBaselines(ctx, typ, del); err != nil {
			return fmt.Errorf("watch: delete %s baselines: %w", typ, err)
		}
	}
	return nil
}

// PollDirectory runs the service principal and application delta rounds
// and reads the directory audit log since its watermark: credentials, reply
// URLs, certificate names, mail-role grants, security-info registrations,
// role additions and licence changes. Without a notification URL (webhooks
// off) it also runs the users round.
func (a *App) PollDirectory(ctx context.Context) error {
	defer a.lock("PollDirectory")()
	var usersErr error
	if a.o.Config.NotificationURL == "" {
		// Webhooks off: poll users here. A failure is reported after the
		// directory round has run, not instead of it.
		usersErr = a.usersRound(ctx, "PollDirectory")
	} else {
		// A new installation subscribes on its first poll, not at
		// RenewSubscriptions' next six-hourly run.
		usersErr = a.subscribeIfMissing(ctx)
	}
	err := a.pollDirectory(ctx)
	return errors.Join(usersErr, err)
}

// subscribeIfMissing reads the stored subscriptions until it has seen
// them all once; after that RenewSubscriptions' schedule looks after them,
// and a poll costs no storage read for it.
func (a *App) subscribeIfMissing(ctx context.Context) error {
	if a.subscribed.Load() {
		return nil
	}
	missing, err := a.missingSubscriptions(ctx)
	if err != nil {
		return err
	}
	if !missing {
		a.subscribed.Store(true)
		return nil
	}
	defer a.lock("RenewSubscriptions")()
	if missing, err = a.missingSubscriptions(ctx); err != nil || !missing {
		return err
	}
	a.log.Info("no subscriptions yet: subscribing now")
	return a.renewSubscriptions(ctx)
}

func (a *App) pollDirectory(ctx context.Context) error {
	now := a.now()
	curSP, err := a.d.Cursors.Cursor(ctx, cursorSPs)
	if err != nil {
		return fmt.Errorf("watch: cursor: %w", err)
	}
	curApp, err := a.d.Cursors.Cursor(ctx, cursorApps)
	if err != nil {
		return fmt.Errorf("watch: cursor: %w", err)
	}
	curAudit, err := a.d.Cursors.Cursor(ctx, cursorAudits)
	if err != nil {
		return fmt.Errorf("watch: cursor: %w", err)
	}
	curSignIns, err := a.d.Cursors.Cursor(ctx, cursorSignIns)
	if err != nil {
		return fmt.Errorf("watch: sign-in cursor: %w", err)
	}
	since := curAudit.Watermark.Add(-a.o.Config.AuditOverlap)
	if !curAudit.Exists() {
		since = now.Add(-a.o.Config.AuditOverlap)
	}
	from := collect.DirectoryFrom{ServicePrincipals: curSP.DeltaLink, Applications: curApp.DeltaLink}
	if curSignIns.Exists() {
		// The stored history reaches back historyKeep: PollSignIns's first
		// successful round (the one that creates its cursor) seeds it with
		// that look-back, and later rounds prune to it.
		from.HistoryFrom = now.Add(-historyKeep)
	}
	u, err := a.d.Tenant.Directory(ctx, from, collect.Window{Round: "PollDirectory", Now: now, Since: since})
	if err != nil {
		return fmt.Errorf("watch: directory round: %w", err)
	}
	spr, apr := u.ServicePrincipals, u.Applications
	install := spr.Install || apr.Install || !curAudit.Exists()
	a.log.Info("directory poll", "sp_items", spr.Items, "app_items", apr.Items, "changes", len(spr.Changes)+len(apr.Changes), "audits", u.Audits, "install", install)

	var detErr error
	if u.Snapshot != nil {
		if _, detErr = a.detectAndRecord(ctx, u.Snapshot, install); detErr != nil && !isDetectorError(detErr) {
			return detErr
		}
	}
	if err := a.commitBaselines(ctx, tenant.SubjectServicePrincipal, spr.Put, spr.Delete); err != nil {
		return err
	}
	if err := a.commitBaselines(ctx, tenant.SubjectApplication, apr.Put, apr.Delete); err != nil {
		return err
	}
	curSP.DeltaLink, curApp.DeltaLink = spr.Link, apr.Link
	curAudit.Watermark = now
	for _, c := range []state.Cursor{curSP, curApp, curAudit} {
		if err := a.saveCursor(ctx, c); err != nil {
			return err
		}
	}
	a.deliverSoon(ctx)

	// The first run also tells the team today where they stand: the sweep
	// runs now instead of waiting for its schedule.
	if sweep, err := a.d.Cursors.Cursor(ctx, cursorSweep); err == nil && !sweep.Exists() {
		a.log.Info("first directory poll: running the daily sweep now")
		return errors.Join(detErr, a.DailySweep(ctx))
	}
	return detErr
}

// historyKeep is how much sign-in history is kept per user: the look-back
// of mfa.dormant-registration (14 days) with a day to spare.
const historyKeep = 15 * 24 * time.Hour

// historyMax bounds the sign-in times kept per user.
const historyMax = 64

// PollSignIns reads the sign-ins since the watermark (beta's log when it
// is on): it judges the sign-in rules — signin.azure-ip, the device-code
// and broker rules with the earlier findings they join (Snapshot.Prior),
// signin.password-spray on the failed-sign-in aggregate of the last
// collect.FailureKeep — keeps each user's recent sign-in times, the input
// of mfa.dormant-registration, and stores the round's failure tallies and
// the sign-ins that start a device chain (for the directory polls).
func (a *App) PollSignIns(ctx context.Context) error {
	defer a.lock(cursorSignIns)()
	cur, err := a.d.Cursors.Cursor(ctx, cursorSignIns)
	if err != nil {
		return fmt.Errorf("watch: sign-in cursor: %w", err)
	}
	now := a.now()
	install := !cur.Exists()
	since := cur.Watermark.Add(-a.o.Config.SignInOverlap)
	if install {
		since = now.Add(-historyKeep) // seed the history with the look-back
	}
	u, err := a.d.Tenant.SignIns(ctx, collect.Window{Round: "PollSignIns", Now: now, Since: since})
	if err != nil {
		return fmt.Errorf("watch: sign-in round: %w", err)
	}
	s := u.Snapshot
	if !s.Available(tenant.SourceSignIns) {
		// No Entra ID P1/P2 or no AuditLog.Read.All: not a failure of the
		// run. The sign-in rules and the sign-in history wait; the daily
		// sweep reports the skipped rules with this reason.
		a.log.Warn("sign-in logs unavailable; PollSignIns skips until they are readable", "reason", s.Unavailable[tenant.SourceSignIns])
		return nil
	}
	a.log.Info("sign-in poll", "since", since, "successful", len(s.SignIns), "users", len(u.ByUser),
		"failure_tallies", tallies(u.Failures), "window_tallies", tallies(s.SignInFailures), "prior", len(s.Prior),
		"beta", s.Available(tenant.SourceSignInsBeta), "install", install)
	var detErr error
	if len(s.SignIns) > 0 || tallies(s.SignInFailures) > 0 {
		if _, detErr = a.detectAndRecord(ctx, s, install); detErr != nil && !isDetectorError(detErr) {
			return detErr
		}
	}
	if tallies(u.Failures) > 0 {
		if err := a.d.SignIns.AddSignInFailures(ctx, u.Failures); err != nil {
			return fmt.Errorf("watch: sign-in failures: %w", err)
		}
	}
	if len(u.Chain) > 0 {
		if err := a.d.SignIns.AddChainSignIns(ctx, u.Chain); err != nil {
			return fmt.Errorf("watch: chain sign-ins: %w", err)
		}
	}
	if len(u.ByUser) > 0 {
		if err := a.d.SignIns.AddSignIns(ctx, u.ByUser, now.Add(-historyKeep), historyMax); err != nil {
			return fmt.Errorf("watch: sign-in history: %w", err)
		}
	}
	cur.Watermark = now
	if err := a.saveCursor(ctx, cur); err != nil {
		return err
	}
	if n, err := a.d.SignIns.PruneSignInFailures(ctx, now.Add(-collect.FailureKeep)); err != nil {
		a.log.Warn("pruning the sign-in failure aggregate failed; the next poll tries again", "err", err)
	} else if n > 0 {
		a.log.Info("sign-in failure aggregate pruned", "rows", n)
	}
	if n, err := a.d.SignIns.PruneChainSignIns(ctx, now.Add(-collect.ChainKeep)); err != nil {
		a.log.Warn("pruning the chain sign-ins failed; the next poll tries again", "err", err)
	} else if n > 0 {
		a.log.Info("chain sign-ins pruned", "rows", n)
	}
	a.deliverSoon(ctx)
	return detErr
}

// tallies is f's number of tallies; 0 for none.
func tallies(f *tenant.SignInFailures) int {
	if f == nil {
		return 0
	}
	return f.Len()
}
