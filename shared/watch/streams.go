package watch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/collect"
	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/graph/webhook"
	"github.com/tenantwatch/tenantwatch/shared/redact"
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
	cur, err := a.st.Cursor(ctx, cursorUsers)
	if err != nil {
		return fmt.Errorf("watch: users cursor: %w", err)
	}
	now := a.now()
	r, err := collect.UsersRound(ctx, a.g.UsersDelta, a.st, cur.DeltaLink, now)
	if err != nil {
		return fmt.Errorf("watch: users delta: %w", err)
	}
	a.log.Info("users delta round", "items", r.Items, "changed", len(r.Objects), "changes", len(r.Changes), "install", r.Install, "resynced", r.Resynced)

	var detErr error
	if len(r.Objects) > 0 {
		s := partial(now, now.Add(-a.o.Config.AuditOverlap), trigger)
		s.Users, s.Changes = r.Objects, r.Changes
		read(s, tenant.SourceUsers)
		if skus, err := a.cachedSKUs(ctx); err != nil {
			a.log.Warn("subscribedSkus unavailable: licence rules skipped this round", "err", err)
			s.MarkUnavailable(tenant.SourceSubscribedSkus, redact.Text(err.Error()))
		} else {
			s.SKUs = skus
			read(s, tenant.SourceSubscribedSkus)
		}
		if _, detErr = a.detectAndRecord(ctx, s, r.Install); detErr != nil && !isDetectorError(detErr) {
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
		if err := a.st.PutBaselines(ctx, put); err != nil {
			return fmt.Errorf("watch: store %s baselines: %w", typ, err)
		}
	}
	if len(del) > 0 {
		if err := a.st.DeleteBaselines(ctx, typ, del); err != nil {
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
	curSP, err := a.st.Cursor(ctx, cursorSPs)
	if err != nil {
		return fmt.Errorf("watch: cursor: %w", err)
	}
	curApp, err := a.st.Cursor(ctx, cursorApps)
	if err != nil {
		return fmt.Errorf("watch: cursor: %w", err)
	}
	curAudit, err := a.st.Cursor(ctx, cursorAudits)
	if err != nil {
		return fmt.Errorf("watch: cursor: %w", err)
	}
	spr, err := collect.ServicePrincipalsRound(ctx, a.g.ServicePrincipalsDelta, a.st, curSP.DeltaLink, now)
	if err != nil {
		return fmt.Errorf("watch: service principal delta: %w", err)
	}
	apr, err := collect.ApplicationsRound(ctx, a.g.ApplicationsDelta, a.st, curApp.DeltaLink, now)
	if err != nil {
		return fmt.Errorf("watch: application delta: %w", err)
	}
	install := spr.Install || apr.Install || !curAudit.Exists()
	a.noteServicePrincipals(spr.Install, spr.Objects, spr.Delete)

	since := curAudit.Watermark.Add(-a.o.Config.AuditOverlap)
	if !curAudit.Exists() {
		since = now.Add(-a.o.Config.AuditOverlap)
	}
	s := partial(now, since, "PollDirectory")
	s.ServicePrincipals, s.Applications = spr.Objects, apr.Objects
	s.Changes = append(append(s.Changes, spr.Changes...), apr.Changes...)
	read(s, tenant.SourceServicePrincipals, tenant.SourceApplications)

	err = a.g.DirectoryAudits(ctx, since, func(e tenant.AuditEvent) error {
		s.Audits = append(s.Audits, e)
		return nil
	})
	switch {
	case errors.Is(err, tenant.ErrAccessDenied):
		s.MarkUnavailable(tenant.SourceDirectoryAudits, redact.Text(err.Error()))
	case err != nil:
		return fmt.Errorf("watch: directory audits: %w", err)
	default:
		read(s, tenant.SourceDirectoryAudits)
		a.noteAudits(s.Audits)
	}
	a.log.Info("directory poll", "sp_items", spr.Items, "app_items", apr.Items, "changes", len(s.Changes), "audits", len(s.Audits), "install", install)

	if len(s.ServicePrincipals)+len(s.Applications)+len(s.Audits) > 0 {
		if err := a.directoryContext(ctx, s); err != nil {
			return err
		}
		if _, err := a.detectAndRecord(ctx, s, install); err != nil && !isDetectorError(err) {
			return err
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
	if sweep, err := a.st.Cursor(ctx, cursorSweep); err == nil && !sweep.Exists() {
		a.log.Info("first directory poll: running the daily sweep now")
		return a.DailySweep(ctx)
	}
	return nil
}

// directoryContext adds what the rules need to judge the directory round:
// the Graph and Exchange Online resource service principals and their
// grants (mail roles), licences, named locations, and the users the audit
// events name with their sign-in history. All but the users come from the
// directory cache (cache.go): a poll reads them only when they changed or
// an hour has passed.
func (a *App) directoryContext(ctx context.Context, s *tenant.Snapshot) error {
	have := make(map[string]bool)
	for _, sp := range s.ServicePrincipals {
		have[strings.ToLower(sp.ID)] = true
	}
	resources, grants, err := a.cachedResources(ctx)
	if err != nil {
		return fmt.Errorf("watch: resource service principals and their grants: %w", err)
	}
	for _, sp := range resources {
		if !have[strings.ToLower(sp.ID)] {
			s.ServicePrincipals = append(s.ServicePrincipals, sp)
		}
	}
	s.ResourceGrants = append(s.ResourceGrants, grants.grants...)
	if grants.denied != nil {
		s.MarkUnavailable(tenant.SourceResourceGrants, redact.Text(grants.denied.Error()))
	} else {
		read(s, tenant.SourceResourceGrants)
	}
	if skus, err := a.cachedSKUs(ctx); err == nil {
		s.SKUs = skus
		read(s, tenant.SourceSubscribedSkus)
	}
	if nls, err := a.cachedNamedLocations(ctx); err == nil {
		s.NamedLocations = nls
		read(s, tenant.SourceNamedLocations)
	} else {
		s.MarkUnavailable(tenant.SourceNamedLocations, redact.Text(err.Error()))
	}
	if org, err := a.cachedOrganization(ctx); err == nil {
		s.Organization = org
		read(s, tenant.SourceOrganization)
	}
	if err := a.resolveApps(ctx, s); err != nil {
		return err
	}
	return a.auditUsers(ctx, s)
}

// maxAppRefs bounds the app objects one directory round looks up by each
// of object id, app id and display name.
const maxAppRefs = 300

// resolveApps adds Snapshot.AppRefs for the app objects the round's audit
// events and applications point to but the partial snapshot does not hold
// (detect.Unresolved), so that every rule names the right object and judges
// an application by its service principal's mail roles: object ids from the
// stored baselines, app ids with one bulk read of their service principals
// (the baselines are keyed by object id), display names from the stored
// service principal baselines. Detectors stay pure: this is the collecting
// side. A reference that nothing resolves is left to the rules, which say so
// in the finding.
func (a *App) resolveApps(ctx context.Context, s *tenant.Snapshot) error {
	refs := detect.Unresolved(s)
	if refs.Empty() {
		return nil
	}
	add := func(b state.Baseline) {
		s.AppRefs = append(s.AppRefs, tenant.AppRef{Type: b.Type, ID: b.ID, AppID: b.AppID, DisplayName: b.Name,
			AppOwnerOrganizationID: b.Owner, ServicePrincipalType: b.SPType})
	}
	if ids := a.capList("object ids", refs.ObjectIDs); len(ids) > 0 {
		for _, typ := range []tenant.SubjectType{tenant.SubjectServicePrincipal, tenant.SubjectApplication} {
			bs, err := a.st.BaselinesByID(ctx, typ, ids)
			if err != nil {
				return fmt.Errorf("watch: %s baselines for audit targets: %w", typ, err)
			}
			for _, id := range ids {
				if b, ok := bs[strings.ToLower(id)]; ok {
					add(b)
				}
			}
		}
		refs = detect.Unresolved(s) // an application found needs its service principal
	}
	if ids := a.capList("app ids", refs.AppIDs); len(ids) > 0 {
		err := a.g.ServicePrincipalsByAppID(ctx, ids, func(sp tenant.ServicePrincipal) error {
			s.AppRefs = append(s.AppRefs, tenant.AppRef{Type: tenant.SubjectServicePrincipal, ID: sp.ID, AppID: sp.AppID,
				DisplayName: sp.DisplayName, AppOwnerOrganizationID: sp.AppOwnerOrganizationID, ServicePrincipalType: sp.ServicePrincipalType})
			return nil
		})
		switch {
		case errors.Is(err, tenant.ErrAccessDenied):
			a.log.Warn("service principals by app id unavailable: findings name those apps by app id", "err", err)
		case err != nil:
			return fmt.Errorf("watch: service principals by app id: %w", err)
		}
	}
	if names := a.capList("display names", refs.Names); len(names) > 0 {
		want := make(map[string]bool, len(names))
		for _, n := range names {
			want[strings.ToLower(strings.TrimSpace(n))] = true
		}
		err := a.st.Baselines(ctx, tenant.SubjectServicePrincipal, func(b state.Baseline) error {
			if want[strings.ToLower(strings.TrimSpace(b.Name))] {
				add(b)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("watch: service principal baselines by name: %w", err)
		}
	}
	a.log.Info("app references resolved", "object_ids", len(refs.ObjectIDs), "app_ids", len(refs.AppIDs), "names", len(refs.Names), "refs", len(s.AppRefs))
	return nil
}

// capList bounds a look-up list, logging what waits for the daily sweep.
func (a *App) capList(what string, l []string) []string {
	if len(l) > maxAppRefs {
		a.log.Warn("too many app references in one round; the rest are named by the daily sweep", "what", what, "count", len(l), "read", maxAppRefs)
		return l[:maxAppRefs]
	}
	return l
}

// maxAuditUsers bounds the users one directory round looks up.
const maxAuditUsers = 600

// auditUsers reads the users the audit events name (targets and
// initiators), in bulk, with their sign-in activity, and their sign-in
// history from the table PollSignIns keeps.
func (a *App) auditUsers(ctx context.Context, s *tenant.Snapshot) error {
	var ids []string
	for _, e := range s.Audits {
		if e.Initiator.UserID != "" {
			ids = append(ids, e.Initiator.UserID)
		}
		for _, t := range e.Targets {
			if strings.EqualFold(t.Type, "User") && t.ID != "" {
				ids = append(ids, t.ID)
			}
		}
	}
	ids = lowerAll(ids)
	if len(ids) == 0 {
		return nil
	}
	if len(ids) > maxAuditUsers {
		a.log.Warn("too many users in one audit window; the rest wait for the daily sweep", "users", len(ids), "read", maxAuditUsers)
		ids = ids[:maxAuditUsers]
	}
	withActivity := true
	read := func() error {
		s.Users = s.Users[:0]
		return a.g.UsersByID(ctx, ids, withActivity, func(u tenant.User) error {
			s.Users = append(s.Users, u)
			return nil
		})
	}
	err := read()
	if errors.Is(err, tenant.ErrAccessDenied) {
		withActivity = false
		err = read()
	}
	if err != nil {
		return fmt.Errorf("watch: audit users: %w", err)
	}
	delete(s.Unavailable, tenant.SourceUsers)
	if withActivity {
		delete(s.Unavailable, tenant.SourceSignInActivity)
	}
	sig, err := a.st.Cursor(ctx, cursorSignIns)
	if err != nil {
		return fmt.Errorf("watch: sign-in cursor: %w", err)
	}
	if !sig.Exists() {
		s.MarkUnavailable(tenant.SourceSignIns, "the sign-in history is not collected yet (PollSignIns has not run)")
		return nil
	}
	hist, err := a.st.SignInHistory(ctx, ids)
	if err != nil {
		return fmt.Errorf("watch: sign-in history: %w", err)
	}
	for id, times := range hist {
		for _, t := range times {
			s.SignIns = append(s.SignIns, tenant.SignIn{UserID: id, Time: t})
		}
	}
	delete(s.Unavailable, tenant.SourceSignIns)
	// The history reaches back as far as it has been kept: the look-back
	// of the registration rules starts there.
	if start := sig.UpdatedAt; !start.IsZero() {
		s.Since = minTime(s.Since, a.now().Add(-historyKeep))
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// historyKeep is how much sign-in history is kept per user: the look-back
// of mfa.dormant-registration (14 days) with a day to spare.
const historyKeep = 15 * 24 * time.Hour

// historyMax bounds the sign-in times kept per user.
const historyMax = 64

// PollSignIns reads successful sign-ins since the watermark: it judges
// signin.azure-ip and keeps each user's recent sign-in times, the input of
// mfa.dormant-registration.
func (a *App) PollSignIns(ctx context.Context) error {
	defer a.lock(cursorSignIns)()
	cur, err := a.st.Cursor(ctx, cursorSignIns)
	if err != nil {
		return fmt.Errorf("watch: sign-in cursor: %w", err)
	}
	now := a.now()
	install := !cur.Exists()
	since := cur.Watermark.Add(-a.o.Config.SignInOverlap)
	if install {
		since = now.Add(-historyKeep) // seed the history with the look-back
	}
	s := partial(now, since, "PollSignIns")
	byUser := make(map[string][]time.Time)
	err = a.g.SignIns(ctx, since, func(si tenant.SignIn) error {
		if !si.Succeeded() {
			return nil
		}
		s.SignIns = append(s.SignIns, si)
		if id := strings.ToLower(si.UserID); id != "" {
			byUser[id] = append(byUser[id], si.Time)
		}
		return nil
	})
	if errors.Is(err, tenant.ErrAccessDenied) {
		// No Entra ID P1/P2 or no AuditLog.Read.All: not a failure of the
		// run. signin.azure-ip and the sign-in history wait; the daily
		// sweep reports the skipped rules with this reason.
		a.log.Warn("sign-in logs unavailable; PollSignIns skips until they are readable", "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("watch: sign-ins: %w", err)
	}
	read(s, tenant.SourceSignIns)
	a.log.Info("sign-in poll", "since", since, "successful", len(s.SignIns), "users", len(byUser), "install", install)
	if len(s.SignIns) > 0 {
		if _, err := a.detectAndRecord(ctx, s, install); err != nil && !isDetectorError(err) {
			return err
		}
	}
	if len(byUser) > 0 {
		if err := a.st.AddSignIns(ctx, byUser, now.Add(-historyKeep), historyMax); err != nil {
			return fmt.Errorf("watch: sign-in history: %w", err)
		}
	}
	cur.Watermark = now
	if err := a.saveCursor(ctx, cur); err != nil {
		return err
	}
	a.deliverSoon(ctx)
	return nil
}
