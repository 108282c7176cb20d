package collect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Reader reads the tenant. *graph.Client satisfies it. Collection methods
// stream items to fn; an error from fn stops the read and is returned.
type Reader interface {
	Organization(ctx context.Context) (tenant.Organization, error)
	SubscribedSKUs(ctx context.Context) ([]tenant.SKU, error)
	Users(ctx context.Context, withSignInActivity bool, fn func(tenant.User) error) error
	// SignInActivity streams every user's signInActivity; SignInActivityByID
	// that of the users with the given object ids (users that do not exist
	// are not reported).
	SignInActivity(ctx context.Context, fn func(tenant.SignInActivity) error) error
	SignInActivityByID(ctx context.Context, ids []string, fn func(tenant.SignInActivity) error) error
	Registrations(ctx context.Context, fn func(tenant.Registration) error) error
	ServicePrincipals(ctx context.Context, fn func(tenant.ServicePrincipal) error) error
	Applications(ctx context.Context, fn func(tenant.Application) error) error
	AppRoleAssignedTo(ctx context.Context, resourceSPID string, fn func(tenant.AppRoleAssignment) error) error
	DirectoryAudits(ctx context.Context, since time.Time, fn func(tenant.AuditEvent) error) error
	SignIns(ctx context.Context, since time.Time, fn func(tenant.SignIn) error) error
	CAPolicies(ctx context.Context) ([]tenant.CAPolicy, error)
	NamedLocations(ctx context.Context) ([]tenant.NamedLocation, error)

	// The reads of the 2023–2025 rules (issue 12).

	// SignInsBeta streams the sign-ins since since from Graph's beta
	// endpoint, with authenticationProtocol and originalTransferMethod; it
	// fails with tenant.ErrBetaDisabled when beta is switched off.
	SignInsBeta(ctx context.Context, since time.Time, fn func(tenant.SignIn) error) error
	Devices(ctx context.Context, fn func(tenant.Device) error) error
	// Domains returns the domains with the federation configuration of
	// the federated ones.
	Domains(ctx context.Context) ([]tenant.Domain, error)
	AuthorizationPolicy(ctx context.Context) (*tenant.AuthorizationPolicy, error)
	DelegatedGrants(ctx context.Context, fn func(tenant.DelegatedGrant) error) error
	// GroupUserMembers streams the object ids of a group's transitive
	// user members.
	GroupUserMembers(ctx context.Context, groupID string, fn func(string) error) error
	// FederatedCredentials returns an application's federated identity
	// credentials (appObjectID is its object id).
	FederatedCredentials(ctx context.Context, appObjectID string) ([]tenant.FederatedCredential, error)
}

// Progress is told how many items of a source have been read so far; done is
// true once for each source when its read has ended (successfully or not).
type Progress func(src tenant.Source, items int, done bool)

// SnapshotOptions tune Snapshot. The zero value reads the last 720 hours.
type SnapshotOptions struct {
	// Since is the start of the audit and sign-in window. Zero means
	// Now() - 720h.
	Since time.Time
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Progress, when set, is called as items arrive (from several
	// goroutines, never concurrently).
	Progress Progress
	// Logger receives one line per source; nil discards.
	Logger *slog.Logger
	// Activity reads the Office 365 Management Activity API (the
	// Audit.Exchange content of SourceExchangeAudit), in a lane of its own,
	// for the part of the window the API keeps (ActivityWindow). nil: the
	// source is unavailable, with the reason ActivityNotConfigured.
	Activity ActivityFeed
}

// Snapshot reads the tenant through r. Four lanes run concurrently —
// directory objects (then the delegated grants, the federated credentials
// of the mail-capable apps, the devices), Entra reports (registration
// details, audits, sign-ins and signInActivity, which Graph throttles
// separately), Conditional Access (then the authorization policy, the
// members of the groups enabled policies name, the domains), and the
// Exchange records of the unified audit log (through
// opts.Activity, not Graph) — each reading its sources one after the other. It returns an
// error only for failures other than access denied; the first such failure
// cancels the other lanes.
//
// Users are read without signInActivity (999 a page); signInActivity is
// read afterwards for the users the rules judge by it alone — those whose
// registration row says MFA is not registered, the subjects of
// security-info registrations in the audit window, the enabled members no
// enabled MFA Conditional Access policy applies to, and the accounts that
// signed in successfully from where they failed in the window's
// failed-sign-in aggregate (activityNeeded) — by the cheaper of two reads
// (see readSignInActivity). User.LastSuccessfulSignIn and
// User.SignInActivityRead are set for those users only.
func Snapshot(ctx context.Context, r Reader, opts *SnapshotOptions) (*tenant.Snapshot, error) {
	var o SnapshotOptions
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	now := o.Now().UTC()
	since := o.Since.UTC()
	if since.IsZero() {
		since = now.Add(-720 * time.Hour)
	}
	c := &collector{r: r, o: o, snap: &tenant.Snapshot{CollectedAt: now, Since: since},
		usersDone: make(chan struct{}), policiesDone: make(chan struct{})}

	// The first lane failure cancels the others and is returned: it names
	// the source being read. Also when the caller's context ended (a
	// deadline): the lane's error says which read it cut, the context's
	// cause would not.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return c.directoryLane(gctx) })
	g.Go(func() error { return c.reportLane(gctx) })
	g.Go(func() error { return c.policyLane(gctx) })
	g.Go(func() error { return c.exchangeLane(gctx) })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return c.snap, nil
}

type collector struct {
	r    Reader
	o    SnapshotOptions
	mu   sync.Mutex // guards snap.Unavailable and progress calls
	snap *tenant.Snapshot
	// usersDone is closed when the directory lane has read the users (or
	// given up): the report lane's signInActivity read needs them.
	usersDone chan struct{}
	usersOnce sync.Once
	// policiesDone is closed when the policy lane has read the
	// Conditional Access policies and their groups' members (or given
	// up): the signInActivity read needs them too.
	policiesDone chan struct{}
	policiesOnce sync.Once
}

// read runs one source's read under the one rule for a source that cannot
// be read (unavailable).
func (c *collector) read(src tenant.Source, count *int, f func() error) error {
	start := time.Now()
	err := f()
	c.progress(src, *count, true)
	if err == nil {
		c.o.Logger.Debug("source read", "source", src, "items", *count, "elapsed", time.Since(start).Round(time.Millisecond))
		return nil
	}
	reason, err := unavailable(src, err)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.snap.MarkUnavailable(src, reason)
	c.mu.Unlock()
	c.o.Logger.Warn("source unavailable", "source", src, "reason", reason)
	return nil
}

// unavailable is the one rule for a source that could not be read, on
// every path (Snapshot and the Rounds): access denied — a missing
// permission, or a licence the tenant lacks — is not a failure. It returns
// the reason to record in Snapshot.Unavailable (the rules that need the
// source are then skipped with it). Any other error fails the read and
// comes back wrapped. err is not nil.
func unavailable(src tenant.Source, err error) (reason string, fail error) {
	if errors.Is(err, tenant.ErrAccessDenied) {
		return strings.TrimPrefix(err.Error(), "graph: "), nil
	}
	return "", fmt.Errorf("collect: read %s: %w", src, err)
}

// available reports whether src is available so far, under the lock
// the lanes mark sources unavailable under.
func (c *collector) available(src tenant.Source) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snap.Available(src)
}

func (c *collector) progress(src tenant.Source, n int, done bool) {
	if c.o.Progress == nil {
		return
	}
	c.mu.Lock()
	c.o.Progress(src, n, done)
	c.mu.Unlock()
}

// counted wraps an item callback: it counts every item read (reporting
// progress every 500) and appends to *dst those that keep accepts (all
// when keep is nil).
func counted[T any](c *collector, src tenant.Source, n *int, dst *[]T, keep func(*T) bool) func(T) error {
	return func(v T) error {
		*n++
		if *n%500 == 0 {
			c.progress(src, *n, false)
		}
		if keep == nil || keep(&v) {
			*dst = append(*dst, v)
		}
		return nil
	}
}

func (c *collector) directoryLane(ctx context.Context) error {
	defer c.usersRead()
	s := c.snap
	var n int
	if err := c.read(tenant.SourceOrganization, &n, func() error {
		org, err := c.r.Organization(ctx)
		s.Organization = org
		if err == nil {
			n = 1
		}
		return err
	}); err != nil {
		return err
	}
	n = 0
	if err := c.read(tenant.SourceSubscribedSkus, &n, func() error {
		skus, err := c.r.SubscribedSKUs(ctx)
		s.SKUs, n = skus, len(skus)
		return err
	}); err != nil {
		return err
	}
	n = 0
	err := c.read(tenant.SourceUsers, &n, func() error {
		return c.r.Users(ctx, false, counted(c, tenant.SourceUsers, &n, &s.Users, nil))
	})
	c.usersRead()
	if err != nil {
		return err
	}
	n = 0
	if err := c.read(tenant.SourceServicePrincipals, &n, func() error {
		return c.r.ServicePrincipals(ctx, counted(c, tenant.SourceServicePrincipals, &n, &s.ServicePrincipals, keepResourceRolesOnly))
	}); err != nil {
		return err
	}
	n = 0
	if err := c.read(tenant.SourceApplications, &n, func() error {
		return c.r.Applications(ctx, counted(c, tenant.SourceApplications, &n, &s.Applications, nil))
	}); err != nil {
		return err
	}
	if err := c.readResourceGrants(ctx); err != nil {
		return err
	}
	if err := c.readDelegatedGrants(ctx); err != nil {
		return err
	}
	if err := c.readFederatedCredentials(ctx); err != nil {
		return err
	}
	n = 0
	return c.read(tenant.SourceDevices, &n, func() error {
		return c.r.Devices(ctx, counted(c, tenant.SourceDevices, &n, &s.Devices, nil))
	})
}

// keepResourceRolesOnly drops appRoles from every service principal except
// the Graph and Exchange Online resources: only theirs are resolved, and a
// large tenant's roles would otherwise dominate memory.
func keepResourceRolesOnly(sp *tenant.ServicePrincipal) bool {
	if !tenant.IsMailResource(sp.AppID) {
		sp.AppRoles = nil
	}
	return true
}

// usersRead tells the report lane that s.Users is complete.
func (c *collector) usersRead() { c.usersOnce.Do(func() { close(c.usersDone) }) }

// needs reports whether dep was read; when it was not, it marks src, whose
// read needs it, unavailable ("needs " + what).
func (c *collector) needs(src, dep tenant.Source, what string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snap.Available(dep) {
		return true
	}
	c.snap.MarkUnavailable(src, "needs "+what)
	return false
}

// policiesRead tells the report lane that s.Policies and s.GroupMembers
// are complete.
func (c *collector) policiesRead() { c.policiesOnce.Do(func() { close(c.policiesDone) }) }

// readResourceGrants lists the application permissions granted on the
// Microsoft Graph and Exchange Online resource service principals — two
// collections, whatever the size of the tenant.
func (c *collector) readResourceGrants(ctx context.Context) error {
	s := c.snap
	if !c.needs(tenant.SourceResourceGrants, tenant.SourceServicePrincipals, "the service principal list, which was unavailable") {
		return nil
	}
	var n int
	return c.read(tenant.SourceResourceGrants, &n, func() error {
		for _, sp := range s.ServicePrincipals {
			if !tenant.IsMailResource(sp.AppID) {
				continue
			}
			if err := c.r.AppRoleAssignedTo(ctx, sp.ID, counted(c, tenant.SourceResourceGrants, &n, &s.ResourceGrants, nil)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (c *collector) reportLane(ctx context.Context) error {
	s := c.snap
	var n int
	if err := c.read(tenant.SourceRegistrations, &n, func() error {
		// Keep the rows of users without MFA: no rule reads the others, and
		// in a large tenant they are most of the rows.
		unregistered := func(r *tenant.Registration) bool { return !r.IsMfaRegistered }
		return c.r.Registrations(ctx, counted(c, tenant.SourceRegistrations, &n, &s.Registrations, unregistered))
	}); err != nil {
		return err
	}
	n = 0
	if err := c.read(tenant.SourceDirectoryAudits, &n, func() error {
		return c.r.DirectoryAudits(ctx, s.Since, counted(c, tenant.SourceDirectoryAudits, &n, &s.Audits, inWindow(s.Since)))
	}); err != nil {
		return err
	}
	if err := c.readSignIns(ctx); err != nil {
		return err
	}
	// The users are read by the directory lane, which closes usersDone on
	// every path, the policies and their groups' members by the policy
	// lane, which closes policiesDone on every path. Wait for those, not
	// for the context: when the scan is ending (a deadline, or another
	// lane's failure), the other lane's error names the read that was
	// cut, and this lane must not get there first with a bare "context
	// canceled".
	<-c.usersDone
	<-c.policiesDone
	if ctx.Err() != nil {
		return nil
	}
	return c.readSignInActivity(ctx)
}

func inWindow(since time.Time) func(*tenant.AuditEvent) bool {
	return func(e *tenant.AuditEvent) bool { return !e.Time.Before(since) }
}

func (c *collector) policyLane(ctx context.Context) error {
	defer c.policiesRead()
	s := c.snap
	var n int
	if err := c.read(tenant.SourceCAPolicies, &n, func() error {
		ps, err := c.r.CAPolicies(ctx)
		s.Policies, n = ps, len(ps)
		return err
	}); err != nil {
		return err
	}
	n = 0
	if err := c.read(tenant.SourceNamedLocations, &n, func() error {
		ls, err := c.r.NamedLocations(ctx)
		s.NamedLocations, n = ls, len(ls)
		return err
	}); err != nil {
		return err
	}
	n = 0
	if err := c.read(tenant.SourceAuthorizationPolicy, &n, func() error {
		p, err := c.r.AuthorizationPolicy(ctx)
		if err == nil && p != nil {
			s.AuthorizationPolicy, n = p, 1
		}
		return err
	}); err != nil {
		return err
	}
	err := c.readCAGroupMembers(ctx)
	c.policiesRead()
	if err != nil {
		return err
	}
	n = 0
	return c.read(tenant.SourceDomains, &n, func() error {
		ds, err := c.r.Domains(ctx)
		s.Domains, n = ds, len(ds)
		return err
	})
}
