package collect

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// RoundReader is what the deployed app's rounds read from the tenant: the
// scan's reads, the delta rounds and two look-ups by id. *graph.Client
// satisfies it.
type RoundReader interface {
	Reader
	UsersDelta(ctx context.Context, link string, fn func(tenant.DeltaItem[tenant.User]) error) (string, error)
	ServicePrincipalsDelta(ctx context.Context, link string, fn func(tenant.DeltaItem[tenant.ServicePrincipal]) error) (string, error)
	ApplicationsDelta(ctx context.Context, link string, fn func(tenant.DeltaItem[tenant.Application]) error) (string, error)
	// UsersByID streams the users with the given object ids, with their
	// signInActivity when asked.
	UsersByID(ctx context.Context, ids []string, withSignInActivity bool, fn func(tenant.User) error) error
	// ServicePrincipalsByAppID streams the service principals of the
	// given app ids.
	ServicePrincipalsByAppID(ctx context.Context, appIDs []string, fn func(tenant.ServicePrincipal) error) error
}

// StateReader is the stored state the rounds read: the baselines they
// compare and name app objects by, the users' sign-in history, and the
// findings earlier rounds recorded.
// *store.Tables satisfies it.
type StateReader interface {
	BaselineReader
	SignInHistory(ctx context.Context, userIDs []string) (map[string][]time.Time, error)
	// Findings streams the stored findings (the Exchange round keeps the
	// few mail.app-collection joins: Snapshot.Prior).
	Findings(ctx context.Context, fn func(state.FindingRecord) error) error
	// RecentFindings streams the stored findings of rules (a trailing "*"
	// a prefix of rule ids) last seen at or after since, reading only
	// those rules' records: the cross-poll joins (Snapshot.Prior).
	RecentFindings(ctx context.Context, rules []string, since time.Time, fn func(state.FindingRecord) error) error
	// SignInFailures returns the stored failed-sign-in aggregate of the
	// buckets from since on (what PollSignIns keeps).
	SignInFailures(ctx context.Context, since time.Time) (*tenant.SignInFailures, error)
	// ChainSignIns returns the kept first steps of the device chains
	// (SignInsUpdate.Chain) of userIDs from since on.
	ChainSignIns(ctx context.Context, userIDs []string, since time.Time) ([]tenant.SignIn, error)
}

// RoundsOptions tune Rounds. A nil *RoundsOptions means the defaults.
type RoundsOptions struct {
	// Now says when a cached read was made and whether it is still fresh
	// (default time.Now).
	Now func() time.Time
	// Logger receives a line for each source found unavailable and for
	// look-ups cut by their bounds (default: discard).
	Logger *slog.Logger
}

// Rounds reads the tenant for the deployed app (shared/watch): the daily
// sweep's full Snapshot and the incremental rounds of its functions — the
// users round, the directory round and the sign-in round. A round returns
// a partial snapshot for the detectors, in which every source it did not
// read is unavailable ("not read by PollDirectory"), and what its caller
// stores once the findings are recorded: the delta rounds' baselines and
// links, the sign-in times for the history. Rounds writes nothing.
//
// Every read follows the package's one rule: access denied marks the
// source unavailable with the reason, any other error fails the round.
// What rarely changes (the organization, the SKUs, the resource service
// principals and the grants on them, the named locations, the Conditional
// Access policies and the members of the groups they name) is read once
// and kept until a round shows it changed, or for an hour (cache.go).
//
// A Rounds is safe for concurrent use; the app keeps one per process.
type Rounds struct {
	r     RoundReader
	st    StateReader
	now   func() time.Time
	log   *slog.Logger
	cache directoryCache
}

// NewRounds returns Rounds reading the tenant through r and the stored
// state through st.
func NewRounds(r RoundReader, st StateReader, opts *RoundsOptions) *Rounds {
	var o RoundsOptions
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Rounds{r: r, st: st, now: o.Now, log: o.Logger}
}

// Window is one round's moment and look-back.
type Window struct {
	// Round names the function running the round; a partial snapshot
	// gives "not read by <Round>" as the reason of each source it did not
	// read.
	Round string
	Now   time.Time // Snapshot.CollectedAt; Change.SeenAt of the delta rounds' changes
	Since time.Time // Snapshot.Since: the start of the audit and sign-in window
}

// partial returns the snapshot of one round: every source unavailable
// ("not read by <round>") until the round marks what it read.
func partial(w Window) *tenant.Snapshot {
	s := &tenant.Snapshot{CollectedAt: w.Now, Since: w.Since}
	for _, src := range tenant.Sources() {
		s.MarkUnavailable(src, "not read by "+w.Round)
	}
	return s
}

// read marks srcs read in a partial snapshot.
func read(s *tenant.Snapshot, srcs ...tenant.Source) {
	for _, src := range srcs {
		delete(s.Unavailable, src)
	}
}

// settle applies the one rule (unavailable) to a read of src into s: read
// (err nil), or access denied (unavailable, with the reason), or failed.
func (c *Rounds) settle(s *tenant.Snapshot, src tenant.Source, err error) error {
	if err == nil {
		read(s, src)
		return nil
	}
	reason, err := unavailable(src, err)
	if err != nil {
		return err
	}
	s.MarkUnavailable(src, reason)
	c.log.Warn("source unavailable", "source", src, "reason", reason)
	return nil
}

// settleRound applies the one rule to a delta round of src into s: a
// round read marks src read; access denied marks it unavailable and
// leaves the round empty at link, with nothing to store; any other error
// fails.
func settleRound[T any](c *Rounds, s *tenant.Snapshot, src tenant.Source, r *Round[T], err error, typ tenant.SubjectType, link string) (*Round[T], error) {
	if err := c.settle(s, src, err); err != nil {
		return nil, err
	}
	if !s.Available(src) {
		return &Round[T]{Type: typ, Link: link}, nil
	}
	return r, nil
}

// Snapshot reads the whole tenant through the Rounds' reader, as the scan
// does (the package's Snapshot): the daily sweep.
func (c *Rounds) Snapshot(ctx context.Context, opts *SnapshotOptions) (*tenant.Snapshot, error) {
	return Snapshot(ctx, c.r, opts)
}

// UsersUpdate is what a users round read.
type UsersUpdate struct {
	Round *Round[tenant.User]
	// Snapshot holds the new and changed users, their changes (licence
	// plans disabled) and the SKUs, for the licence rules; nil when no
	// user changed.
	Snapshot *tenant.Snapshot
}

// Users runs a users delta round from link ("" for a full round) against
// the stored baselines.
func (c *Rounds) Users(ctx context.Context, link string, w Window) (*UsersUpdate, error) {
	s := partial(w)
	r, err := UsersRound(ctx, c.r.UsersDelta, c.st, link, w.Now)
	r, err = settleRound(c, s, tenant.SourceUsers, r, err, tenant.SubjectUser, link)
	if err != nil {
		return nil, err
	}
	u := &UsersUpdate{Round: r}
	if len(r.Objects) == 0 {
		return u, nil
	}
	s.Users, s.Changes = r.Objects, r.Changes
	skus, err := c.cachedSKUs(ctx)
	if err := c.settle(s, tenant.SourceSubscribedSkus, err); err != nil {
		return nil, err
	}
	s.SKUs = skus
	u.Snapshot = s
	return u, nil
}

// DirectoryFrom is where a directory round starts.
type DirectoryFrom struct {
	// ServicePrincipals and Applications are the stored delta links; ""
	// starts a full round.
	ServicePrincipals, Applications string
	// HistoryFrom is how far back the stored sign-in history reaches
	// (what PollSignIns keeps); zero when none is kept yet, and
	// tenant.SourceSignIns is then unavailable.
	HistoryFrom time.Time
}

// DirectoryUpdate is what a directory round read.
type DirectoryUpdate struct {
	ServicePrincipals *Round[tenant.ServicePrincipal]
	Applications      *Round[tenant.Application]
	Audits            int // audit events in the window
	// Snapshot holds the new and changed service principals and
	// applications with their changes, the audit events of the window and
	// what the rules need to judge them: the resource service principals
	// and their grants, the SKUs, the named locations, the organization,
	// the app objects the events name (Snapshot.AppRefs), and the users
	// they name with their signInActivity and sign-in history. Nil when
	// nothing changed and the window holds no event.
	Snapshot *tenant.Snapshot
}

// Directory runs the service principal and application delta rounds and
// reads the directory audit log from w.Since.
func (c *Rounds) Directory(ctx context.Context, from DirectoryFrom, w Window) (*DirectoryUpdate, error) {
	s := partial(w)
	spr, err := ServicePrincipalsRound(ctx, c.r.ServicePrincipalsDelta, c.st, from.ServicePrincipals, w.Now)
	spr, err = settleRound(c, s, tenant.SourceServicePrincipals, spr, err, tenant.SubjectServicePrincipal, from.ServicePrincipals)
	if err != nil {
		return nil, err
	}
	apr, err := ApplicationsRound(ctx, c.r.ApplicationsDelta, c.st, from.Applications, w.Now)
	apr, err = settleRound(c, s, tenant.SourceApplications, apr, err, tenant.SubjectApplication, from.Applications)
	if err != nil {
		return nil, err
	}
	c.noteServicePrincipals(spr.Install, spr.Objects, spr.Delete)
	s.ServicePrincipals, s.Applications = spr.Objects, apr.Objects
	s.Changes = append(append(s.Changes, spr.Changes...), apr.Changes...)

	err = c.r.DirectoryAudits(ctx, w.Since, func(e tenant.AuditEvent) error {
		s.Audits = append(s.Audits, e)
		return nil
	})
	if err := c.settle(s, tenant.SourceDirectoryAudits, err); err != nil {
		return nil, err
	}
	if err == nil {
		c.noteAudits(s.Audits)
	}
	u := &DirectoryUpdate{ServicePrincipals: spr, Applications: apr, Audits: len(s.Audits)}
	if len(s.ServicePrincipals)+len(s.Applications)+len(s.Audits) == 0 {
		return u, nil
	}
	if err := c.directoryContext(ctx, s, from.HistoryFrom); err != nil {
		return nil, err
	}
	if err := c.roundDevices(ctx, s); err != nil {
		return nil, err
	}
	if err := c.directoryPrior(ctx, s, w); err != nil {
		return nil, err
	}
	u.Snapshot = s
	return u, nil
}

// addResources adds the mail resources' service principals (those s does
// not hold yet) and their grants from the cache, under the one rule for an
// unavailable source.
func (c *Rounds) addResources(ctx context.Context, s *tenant.Snapshot) error {
	resources, grants, err := c.cachedResources(ctx)
	if err != nil {
		// The grants are read on the resource service principals: without
		// them, they are unavailable for the same reason.
		return c.settle(s, tenant.SourceResourceGrants, err)
	}
	have := make(map[string]bool, len(s.ServicePrincipals))
	for _, sp := range s.ServicePrincipals {
		have[strings.ToLower(sp.ID)] = true
	}
	for _, sp := range resources {
		if !have[strings.ToLower(sp.ID)] {
			s.ServicePrincipals = append(s.ServicePrincipals, sp)
		}
	}
	s.ResourceGrants = append(s.ResourceGrants, grants.grants...)
	return c.settle(s, tenant.SourceResourceGrants, grants.denied)
}

// directoryContext adds what the rules need to judge a directory round:
// the Graph and Exchange Online resource service principals and their
// grants (mail roles), licences, named locations, the organization, the
// app objects the events name, and the users the audit events name with
// their sign-in history. All but the last two come from the cache: a
// round reads them only when they changed or an hour has passed.
func (c *Rounds) directoryContext(ctx context.Context, s *tenant.Snapshot, historyFrom time.Time) error {
	if err := c.addResources(ctx, s); err != nil {
		return err
	}
	skus, err := c.cachedSKUs(ctx)
	if err := c.settle(s, tenant.SourceSubscribedSkus, err); err != nil {
		return err
	}
	s.SKUs = skus
	nls, err := c.cachedNamedLocations(ctx)
	if err := c.settle(s, tenant.SourceNamedLocations, err); err != nil {
		return err
	}
	s.NamedLocations = nls
	org, err := c.cachedOrganization(ctx)
	if err := c.settle(s, tenant.SourceOrganization, err); err != nil {
		return err
	}
	s.Organization = org
	if err := c.resolveApps(ctx, s); err != nil {
		return err
	}
	return c.auditUsers(ctx, s, historyFrom)
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
// in the finding; so is one whose read is denied (no source is missing: the
// rules still judge what the round read).
func (c *Rounds) resolveApps(ctx context.Context, s *tenant.Snapshot) error {
	refs := detect.Unresolved(s)
	if refs.Empty() {
		return nil
	}
	add := func(b state.Baseline) {
		s.AppRefs = append(s.AppRefs, tenant.AppRef{Type: b.Type, ID: b.ID, AppID: b.AppID, DisplayName: b.Name,
			AppOwnerOrganizationID: b.Owner, ServicePrincipalType: b.SPType})
	}
	if ids := c.capList("object ids", refs.ObjectIDs); len(ids) > 0 {
		for _, typ := range []tenant.SubjectType{tenant.SubjectServicePrincipal, tenant.SubjectApplication} {
			bs, err := c.st.BaselinesByID(ctx, typ, ids)
			if err != nil {
				return fmt.Errorf("collect: %s baselines for audit targets: %w", typ, err)
			}
			for _, id := range ids {
				if b, ok := bs[strings.ToLower(id)]; ok {
					add(b)
				}
			}
		}
		refs = detect.Unresolved(s) // an application found needs its service principal
	}
	if ids := c.capList("app ids", refs.AppIDs); len(ids) > 0 {
		err := c.r.ServicePrincipalsByAppID(ctx, ids, func(sp tenant.ServicePrincipal) error {
			s.AppRefs = append(s.AppRefs, tenant.AppRef{Type: tenant.SubjectServicePrincipal, ID: sp.ID, AppID: sp.AppID,
				DisplayName: sp.DisplayName, AppOwnerOrganizationID: sp.AppOwnerOrganizationID, ServicePrincipalType: sp.ServicePrincipalType})
			return nil
		})
		if err != nil {
			reason, err := unavailable(tenant.SourceServicePrincipals, err)
			if err != nil {
				return err
			}
			c.log.Warn("service principals by app id unavailable: findings name those apps by app id", "reason", reason)
		}
	}
	if names := c.capList("display names", refs.Names); len(names) > 0 {
		want := make(map[string]bool, len(names))
		for _, n := range names {
			want[strings.ToLower(strings.TrimSpace(n))] = true
		}
		err := c.st.Baselines(ctx, tenant.SubjectServicePrincipal, func(b state.Baseline) error {
			if want[strings.ToLower(strings.TrimSpace(b.Name))] {
				add(b)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("collect: service principal baselines by name: %w", err)
		}
	}
	c.log.Info("app references resolved", "object_ids", len(refs.ObjectIDs), "app_ids", len(refs.AppIDs), "names", len(refs.Names), "refs", len(s.AppRefs))
	return nil
}

// capList bounds a look-up list, logging what waits for the daily sweep.
func (c *Rounds) capList(what string, l []string) []string {
	if len(l) > maxAppRefs {
		c.log.Warn("too many app references in one round; the rest are named by the daily sweep", "what", what, "count", len(l), "read", maxAppRefs)
		return l[:maxAppRefs]
	}
	return l
}

// maxAuditUsers bounds the users one round looks up.
const maxAuditUsers = 600

// readUsers reads the users ids names (any case, repeats and empties
// allowed) in bulk into s (usersByID), at most maxAuditUsers of them: the
// rest wait for the daily sweep, logged with what they are. It returns
// the ids it read, lower case; none read nothing.
func (c *Rounds) readUsers(ctx context.Context, s *tenant.Snapshot, ids []string, what string) ([]string, error) {
	ids = lowerAll(ids)
	if len(ids) == 0 {
		return nil, nil
	}
	if len(ids) > maxAuditUsers {
		c.log.Warn("too many users to read in one round; the rest wait for the daily sweep", "what", what, "users", len(ids), "read", maxAuditUsers)
		ids = ids[:maxAuditUsers]
	}
	return ids, c.usersByID(ctx, s, ids)
}

// auditUsers reads the users the audit events name (targets and
// initiators), in bulk, with their sign-in activity, and their sign-in
// history from the table PollSignIns keeps (from historyFrom; zero: none
// is kept yet).
func (c *Rounds) auditUsers(ctx context.Context, s *tenant.Snapshot, historyFrom time.Time) error {
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
	ids, err := c.readUsers(ctx, s, ids, "users the audit events name")
	if err != nil || len(ids) == 0 {
		return err
	}
	if historyFrom.IsZero() {
		s.MarkUnavailable(tenant.SourceSignIns, "the sign-in history is not collected yet (PollSignIns has not run)")
		return nil
	}
	hist, err := c.st.SignInHistory(ctx, ids)
	if err != nil {
		return fmt.Errorf("collect: sign-in history: %w", err)
	}
	for id, times := range hist {
		for _, t := range times {
			s.SignIns = append(s.SignIns, tenant.SignIn{UserID: id, Time: t})
		}
	}
	read(s, tenant.SourceSignIns)
	// The history reaches back as far as it has been kept: the look-back
	// of the registration rules starts there.
	if historyFrom.Before(s.Since) {
		s.Since = historyFrom
	}
	return nil
}

// usersByID reads the users ids in bulk, with their signInActivity when
// the licence allows (else without), into s.Users, and marks
// tenant.SourceUsers and tenant.SourceSignInActivity under the one rule.
func (c *Rounds) usersByID(ctx context.Context, s *tenant.Snapshot, ids []string) error {
	users := func(withActivity bool) error {
		s.Users = s.Users[:0]
		return c.r.UsersByID(ctx, ids, withActivity, func(u tenant.User) error {
			// Read with signInActivity: a zero last sign-in means never.
			u.SignInActivityRead = u.SignInActivityRead || withActivity
			s.Users = append(s.Users, u)
			return nil
		})
	}
	err := users(true)
	if err == nil {
		read(s, tenant.SourceUsers, tenant.SourceSignInActivity)
		return nil
	}
	// signInActivity needs a licence the users do not: without it, read
	// the users alone.
	if err := c.settle(s, tenant.SourceSignInActivity, err); err != nil {
		return err
	}
	return c.settle(s, tenant.SourceUsers, users(false))
}

// lowerAll returns ids in lower case, without empties and duplicates,
// sorted.
func lowerAll(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id = strings.ToLower(strings.TrimSpace(id)); id != "" {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// SignInsUpdate is what a sign-in round read.
type SignInsUpdate struct {
	// Snapshot holds the successful sign-ins since the window's start, the
	// failed-sign-in aggregate of the last FailureKeep (the stored tallies
	// merged with the round's) and the earlier findings the sign-in rules
	// join (Prior); tenant.SourceSignIns is unavailable in it when the log
	// cannot be read (no Entra ID P1/P2, or no AuditLog.Read.All).
	Snapshot *tenant.Snapshot
	// ByUser are the successful sign-ins' times by lower-case user id, for
	// the sign-in history.
	ByUser map[string][]time.Time
	// Failures are the round's own failed-sign-in tallies (spray error
	// codes, the buckets of the last FailureKeep), for the stored
	// aggregate; nil when the log could not be read.
	Failures *tenant.SignInFailures
	// Chain are the round's successful sign-ins that start a device chain
	// (by device code, or the broker's to the Device Registration
	// Service), kept for ChainKeep so that a directory poll judges the
	// registration that follows with them.
	Chain []tenant.SignIn
}

// FailureKeep is how long the failed-sign-in aggregate is kept and how far
// back a sign-in round's snapshot holds it: two hours, twice the spray
// rule's one-hour window, so a window that straddles polls is whole.
const FailureKeep = 2 * time.Hour

// SignIns reads the sign-ins since w.Since as the scan does (signInLog):
// from beta when it answers (one read, a superset of v1.0's: tenant.SourceSignIns and
// tenant.SourceSignInsBeta both come from it), else from v1.0. Successes go
// to the snapshot and the history, failures with a spray error code to
// the aggregate.
func (c *Rounds) SignIns(ctx context.Context, w Window) (*SignInsUpdate, error) {
	s := partial(w)
	var (
		byUser map[string][]time.Time
		fails  *tenant.SignInFailures
	)
	reset := func() {
		s.SignIns, byUser, fails = nil, make(map[string][]time.Time), &tenant.SignInFailures{}
	}
	keep := func(si tenant.SignIn) error {
		if !si.Succeeded() {
			fails.Add(si)
			return nil
		}
		s.SignIns = append(s.SignIns, si)
		if id := strings.ToLower(si.UserID); id != "" {
			byUser[id] = append(byUser[id], si.Time)
		}
		return nil
	}
	reset()
	betaOut, err := signInLog(ctx, c.r, w.Since, keep, reset)
	if err := c.settle(s, tenant.SourceSignIns, err); err != nil {
		return nil, err
	}
	if betaOut == "" && s.Available(tenant.SourceSignIns) {
		read(s, tenant.SourceSignInsBeta)
	} else if betaOut != "" {
		s.MarkUnavailable(tenant.SourceSignInsBeta, betaOut)
		c.log.Warn("source unavailable", "source", tenant.SourceSignInsBeta, "reason", betaOut)
	}
	if !s.Available(tenant.SourceSignIns) {
		s.SignIns = nil
		return &SignInsUpdate{Snapshot: s}, nil
	}
	fails.Prune(w.Now.Add(-FailureKeep))
	agg, err := c.st.SignInFailures(ctx, w.Now.Add(-FailureKeep))
	if err != nil {
		return nil, fmt.Errorf("collect: stored sign-in failures: %w", err)
	}
	for _, t := range fails.Tallies() {
		agg.Merge(t)
	}
	s.SignInFailures = agg
	// The aggregate reaches back FailureKeep: the window of the spray
	// rule starts there (a round reads no sign-in before w.Since, so the
	// sign-in rules judge no more than they read).
	if start := w.Now.Add(-FailureKeep); start.Before(s.Since) {
		s.Since = start
	}
	if agg.Len() > 0 {
		// A spray from an address or network is a finding about the
		// tenant: the rule names it by the organization (cached, as in
		// the directory round), not "unknown-tenant".
		org, err := c.cachedOrganization(ctx)
		if err := c.settle(s, tenant.SourceOrganization, err); err != nil {
			return nil, err
		}
		s.Organization = org
	}
	if err := c.signInPrior(ctx, s, w); err != nil {
		return nil, err
	}
	if err := c.sprayedUsers(ctx, s); err != nil {
		return nil, err
	}
	if err := c.postureContext(ctx, s); err != nil {
		return nil, err
	}
	if err := c.deviceCodeContext(ctx, s); err != nil {
		return nil, err
	}
	var chain []tenant.SignIn
	for _, si := range s.SignIns {
		if startsDeviceChain(si) && si.UserID != "" {
			chain = append(chain, si)
		}
	}
	return &SignInsUpdate{Snapshot: s, ByUser: byUser, Failures: fails, Chain: chain}, nil
}
