package collect

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// The scan path of the 2023–2025 sources (issue 12). Each is marked read
// or unavailable, with the reason, on every path: a source whose read was
// not attempted because another it needs was unavailable gets a reason
// saying so, never silence (Snapshot.Available is true for any source not
// marked).

// readSignIns reads the sign-in log once (signInLog): from Graph's beta
// endpoint when the reader reads beta (SourceSignIns and SourceSignInsBeta
// both come from it), else from v1.0 (SourceSignInsBeta unavailable with
// the reason). Successes in the window are kept in Snapshot.SignIns;
// failures with a spray error code go into Snapshot.SignInFailures, and no
// failed row is kept.
func (c *collector) readSignIns(ctx context.Context) error {
	s := c.snap
	var (
		n        int
		kept     []tenant.SignIn
		failures *tenant.SignInFailures
	)
	restart := func() { n, kept, failures = 0, nil, &tenant.SignInFailures{} }
	restart()
	each := func(si tenant.SignIn) error {
		n++
		if n%500 == 0 {
			c.progress(tenant.SourceSignIns, n, false)
		}
		if si.Time.Before(s.Since) {
			return nil
		}
		if si.Succeeded() {
			kept = append(kept, si)
			return nil
		}
		failures.Add(si)
		return nil
	}
	betaOut, err := signInLog(ctx, c.r, s.Since, each, func() {
		c.progress(tenant.SourceSignInsBeta, n, true)
		restart()
	})
	if betaOut != "" {
		c.mu.Lock()
		s.MarkUnavailable(tenant.SourceSignInsBeta, betaOut)
		c.mu.Unlock()
		c.o.Logger.Warn("source unavailable", "source", tenant.SourceSignInsBeta, "reason", betaOut)
	} else {
		c.progress(tenant.SourceSignInsBeta, n, true)
	}
	// The one rule, for the read that counted (beta's, or v1.0's after it).
	if err := c.read(tenant.SourceSignIns, &n, func() error { return err }); err != nil {
		return err
	}
	if c.available(tenant.SourceSignIns) {
		s.SignIns, s.SignInFailures = kept, failures
	}
	return nil
}

// signInLog reads the sign-in log since since through r, handing each
// sign-in to each: from Graph's beta endpoint (r.SignInsBeta), and when
// that fails for any reason but the end of ctx — beta switched off
// (tenant.ErrBetaDisabled), access denied, or an error beta gives and v1.0
// may not (Microsoft does not support beta in production) — from v1.0
// (r.SignIns), after restart, which must drop what the beta read handed
// over. betaOut is then the reason SourceSignInsBeta is unavailable ("" when
// the beta read was used). err is the error of the read that counted, as
// the reader returned it: the caller applies the one rule (unavailable)
// for SourceSignIns. Both the scan and the deployed app's sign-in round
// read the log this way.
func signInLog(ctx context.Context, r Reader, since time.Time, each func(tenant.SignIn) error, restart func()) (betaOut string, err error) {
	err = r.SignInsBeta(ctx, since, each)
	if err == nil || ctx.Err() != nil {
		return "", err
	}
	betaOut = betaReason(err)
	restart()
	return betaOut, r.SignIns(ctx, since, each)
}

// betaReason is the reason SourceSignInsBeta is unavailable after its
// read failed with err.
func betaReason(err error) string {
	switch {
	case errors.Is(err, tenant.ErrBetaDisabled):
		return tenant.BetaDisabledReason
	case errors.Is(err, tenant.ErrAccessDenied):
		return strings.TrimPrefix(err.Error(), "graph: ")
	}
	return "the beta sign-in log failed (" + strings.TrimPrefix(err.Error(), "graph: ") + "); the v1.0 log was read instead"
}

// readDelegatedGrants keeps the delegated permission grants with a mail
// scope (tenant.HasMailScope): no rule reads the others, and per-user
// grants are most of a large tenant's.
func (c *collector) readDelegatedGrants(ctx context.Context) error {
	s := c.snap
	var n int
	mail := func(g *tenant.DelegatedGrant) bool { return tenant.HasMailScope(g.Scope) }
	return c.read(tenant.SourceDelegatedGrants, &n, func() error {
		return c.r.DelegatedGrants(ctx, counted(c, tenant.SourceDelegatedGrants, &n, &s.DelegatedGrants, mail))
	})
}

// readFederatedCredentials reads the federated identity credentials of
// the mail-capable applications only — those whose service principal
// holds a mail application role on Microsoft Graph or Exchange Online
// (tenant.IsMailRole, among the resource grants the snapshot read) or a
// delegated grant with a mail scope — one request each, onto Application.FederatedCredentials. It
// needs the service principals, the applications and both kinds of grant.
func (c *collector) readFederatedCredentials(ctx context.Context) error {
	s := c.snap
	c.mu.Lock()
	var missing []string
	for _, src := range []tenant.Source{tenant.SourceServicePrincipals, tenant.SourceApplications, tenant.SourceResourceGrants, tenant.SourceDelegatedGrants} {
		if !s.Available(src) {
			missing = append(missing, string(src))
		}
	}
	if len(missing) > 0 {
		s.MarkUnavailable(tenant.SourceFederatedCredentials, "needs "+strings.Join(missing, ", ")+" to find the mail-capable applications, which was unavailable")
	}
	c.mu.Unlock()
	if len(missing) > 0 {
		c.progress(tenant.SourceFederatedCredentials, 0, true)
		return nil
	}
	apps := mailCapableApps(s)
	var n int
	return c.read(tenant.SourceFederatedCredentials, &n, func() error {
		for i := range s.Applications {
			a := &s.Applications[i]
			if !apps[strings.ToLower(a.AppID)] {
				continue
			}
			fics, err := c.r.FederatedCredentials(ctx, a.ID)
			if errors.Is(err, tenant.ErrNotFound) {
				continue // deleted since the application list was read
			}
			if err != nil {
				return err
			}
			a.FederatedCredentials = fics
			n += len(fics)
			c.progress(tenant.SourceFederatedCredentials, n, false)
		}
		return nil
	})
}

// mailCapableApps returns the lower-case app ids of the service principals
// that hold a role on a mail resource (s.ResourceGrants: appRoleAssignedTo
// of Microsoft Graph and Exchange Online) or a delegated grant with a mail
// scope (s.DelegatedGrants keeps only those).
func mailCapableApps(s *tenant.Snapshot) map[string]bool {
	// The mail roles' ids: those the resource service principals list
	// under a mail role's value, and the published ones.
	mailRoles := make(map[string]bool)
	for _, ids := range tenant.MailRoleIDs {
		for _, id := range ids {
			mailRoles[id] = true
		}
	}
	for _, sp := range s.ServicePrincipals {
		if !tenant.IsMailResource(sp.AppID) {
			continue
		}
		for _, r := range sp.AppRoles {
			if tenant.IsMailRole(r.Value) {
				mailRoles[strings.ToLower(r.ID)] = true
			}
		}
	}
	holders := make(map[string]bool)
	for _, g := range s.ResourceGrants {
		if mailRoles[strings.ToLower(g.AppRoleID)] && !strings.EqualFold(g.PrincipalType, "User") && !strings.EqualFold(g.PrincipalType, "Group") {
			holders[strings.ToLower(g.PrincipalID)] = true
		}
	}
	for _, g := range s.DelegatedGrants {
		holders[strings.ToLower(g.ClientID)] = true
	}
	out := make(map[string]bool)
	for _, sp := range s.ServicePrincipals {
		if holders[strings.ToLower(sp.ID)] && sp.AppID != "" {
			out[strings.ToLower(sp.AppID)] = true
		}
	}
	return out
}

// readCAGroupMembers reads the transitive user members of the groups that
// enabled Conditional Access policies include or exclude
// — one read per group, the groups named by the policies only — into
// Snapshot.GroupMembers. It needs the policies.
func (c *collector) readCAGroupMembers(ctx context.Context) error {
	s := c.snap
	if !c.needs(tenant.SourceCAGroupMembers, tenant.SourceCAPolicies, "the Conditional Access policies, which were unavailable") {
		c.progress(tenant.SourceCAGroupMembers, 0, true)
		return nil
	}
	groups := caGroups(s.Policies)
	members := make(map[string][]string, len(groups))
	var n int
	err := c.read(tenant.SourceCAGroupMembers, &n, func() error {
		for _, g := range groups {
			ids := []string{}
			if err := c.r.GroupUserMembers(ctx, g, func(id string) error {
				ids = append(ids, strings.ToLower(id))
				n++
				if n%500 == 0 {
					c.progress(tenant.SourceCAGroupMembers, n, false)
				}
				return nil
			}); err != nil {
				if errors.Is(err, tenant.ErrNotFound) {
					// A policy may name a group deleted since: it has
					// no members.
					c.o.Logger.Info("conditional access group not found", "group", g)
					continue
				}
				return err
			}
			members[g] = ids
		}
		return nil
	})
	if err == nil && c.available(tenant.SourceCAGroupMembers) {
		s.GroupMembers = members
	}
	return err
}

// caGroups returns the lower-case ids, sorted and once each, of the groups
// the enabled policies include or exclude (report-only policies enforce
// nothing).
func caGroups(ps []tenant.CAPolicy) []string {
	var out []string
	for _, p := range ps {
		if !strings.EqualFold(p.State, "enabled") {
			continue
		}
		for _, g := range slices.Concat(p.IncludeGroups, p.ExcludeGroups) {
			if g = strings.ToLower(strings.TrimSpace(g)); tenant.IsGUID(g) {
				out = append(out, g)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
