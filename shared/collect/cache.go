package collect

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// What the detectors need beside a round's own changes and that rarely
// changes — the organization, the subscribed SKUs, the Microsoft Graph and
// Exchange Online resource service principals with the app roles granted
// on them, the named locations, and the Conditional Access policies with
// the transitive user members of the groups they name — is kept between rounds by Rounds (in
// the process: an instance of the app) and read again:
//
//   - when it changed: a service principal delta round that returned a
//     resource service principal (the install round hands them over at
//     once, without a read), an audit event that grants or removes an app role
//     or consents to an application (the grants), an audit event on a
//     named location (the named locations);
//   - otherwise at most hourly (cacheRefresh): SKUs and the organization
//     change without an audit event PollDirectory reads.
//
// An "access denied" answer is kept like a value (the rules that need the
// source are skipped with its reason until the next refresh: the one rule,
// unavailable); any other failure is not kept: it fails the round, and the
// next round reads again.

// cacheRefresh is how long a cached read is used before it is read again.
const cacheRefresh = time.Hour

// eventSlack is how long before a cached read an audit event may have
// happened and still not be reflected in it (directory replication).
const eventSlack = time.Minute

// maxTriggers bounds the audit event ids remembered as having refreshed
// an entry (the audit window's overlap re-reads events).
const maxTriggers = 4096

// cacheEntry is one cached read.
type cacheEntry[T any] struct {
	v     T
	err   error     // access denied, kept as the answer
	at    time.Time // when read; zero: never
	stale bool      // a change was seen since
}

func (e *cacheEntry[T]) fresh(now time.Time) bool {
	return !e.at.IsZero() && !e.stale && now.Sub(e.at) < cacheRefresh
}

// set stores a read's outcome; errors other than access denied are not
// kept.
func (e *cacheEntry[T]) set(v T, err error, now time.Time) {
	if err != nil && !errors.Is(err, tenant.ErrAccessDenied) {
		return
	}
	e.v, e.err, e.at, e.stale = v, err, now, false
}

// mayMiss reports whether an event at t may not be reflected in the
// entry's last read.
func (e *cacheEntry[T]) mayMiss(t time.Time) bool {
	return e.at.IsZero() || !t.Before(e.at.Add(-eventSlack))
}

// resourceGrants are the resource service principals' grants, or why
// they could not be read.
type resourceGrants struct {
	grants []tenant.AppRoleAssignment
	denied error // access denied on one of the resources
}

// caMembers are the transitive user members of the groups the enabled
// Conditional Access policies name (Snapshot.GroupMembers), read for the
// groups listed, or why they could not be read.
type caMembers struct {
	groups  []string            // caGroups of the policies they were read for
	members map[string][]string // lower-case group id → lower-case user ids
	denied  error               // access denied on one of the groups
	tooMany bool                // more groups than maxCAGroups: not read
}

type directoryCache struct {
	mu        sync.Mutex
	org       cacheEntry[tenant.Organization]
	skus      cacheEntry[[]tenant.SKU]
	resources cacheEntry[[]tenant.ServicePrincipal]
	grants    cacheEntry[resourceGrants]
	locations cacheEntry[[]tenant.NamedLocation]
	policies  cacheEntry[[]tenant.CAPolicy]
	members   cacheEntry[caMembers]
	triggered map[string]bool // audit event ids that made an entry stale
}

// cached returns e's value, reading it with read when it is not fresh.
// The cache lock is held during the read: rounds that need the same entry
// wait for one read.
func cached[T any](c *Rounds, e *cacheEntry[T], read func() (T, error)) (T, error) {
	c.cache.mu.Lock()
	defer c.cache.mu.Unlock()
	now := c.now()
	if !e.fresh(now) {
		v, err := read()
		if err != nil && !errors.Is(err, tenant.ErrAccessDenied) {
			return v, err
		}
		e.set(v, err, now)
	}
	return e.v, e.err
}

func (c *Rounds) cachedSKUs(ctx context.Context) ([]tenant.SKU, error) {
	return cached(c, &c.cache.skus, func() ([]tenant.SKU, error) { return c.r.SubscribedSKUs(ctx) })
}

func (c *Rounds) cachedOrganization(ctx context.Context) (tenant.Organization, error) {
	return cached(c, &c.cache.org, func() (tenant.Organization, error) { return c.r.Organization(ctx) })
}

func (c *Rounds) cachedNamedLocations(ctx context.Context) ([]tenant.NamedLocation, error) {
	return cached(c, &c.cache.locations, func() ([]tenant.NamedLocation, error) { return c.r.NamedLocations(ctx) })
}

// maxCAGroups bounds the groups whose members a round reads for the
// Conditional Access policies (one request each, and one per further page
// of 999 members): beyond it, the members are left to the daily sweep.
const maxCAGroups = 100

// cachedConditionalAccess returns the Conditional Access policies and the
// transitive user members of the groups the enabled ones name: one request
// for the policies and one for each such group (and one per further page),
// at most hourly, and again when the policies name other groups.
func (c *Rounds) cachedConditionalAccess(ctx context.Context) ([]tenant.CAPolicy, caMembers, error) {
	ps, err := cached(c, &c.cache.policies, func() ([]tenant.CAPolicy, error) { return c.r.CAPolicies(ctx) })
	if err != nil {
		return nil, caMembers{}, err
	}
	groups := caGroups(ps)
	c.cache.mu.Lock()
	if !slices.Equal(groups, c.cache.members.v.groups) {
		c.cache.members.stale = true
	}
	c.cache.mu.Unlock()
	m, err := cached(c, &c.cache.members, func() (caMembers, error) {
		out := caMembers{groups: groups, members: make(map[string][]string, len(groups))}
		if len(groups) > maxCAGroups {
			out.tooMany = true
			return out, nil
		}
		for _, g := range groups {
			ids := []string{}
			err := c.r.GroupUserMembers(ctx, g, func(id string) error {
				ids = append(ids, strings.ToLower(strings.TrimSpace(id)))
				return nil
			})
			switch {
			case errors.Is(err, tenant.ErrNotFound):
				// A policy may name a group deleted since: it has no
				// members.
				c.log.Info("conditional access group not found", "group", g)
				continue
			case errors.Is(err, tenant.ErrAccessDenied):
				out.denied = err
				return out, nil
			case err != nil:
				return out, err
			}
			out.members[g] = ids
		}
		return out, nil
	})
	return ps, m, err
}

// cachedResources returns the Microsoft Graph and Exchange Online resource
// service principals and the grants on them.
func (c *Rounds) cachedResources(ctx context.Context) ([]tenant.ServicePrincipal, resourceGrants, error) {
	sps, err := cached(c, &c.cache.resources, func() ([]tenant.ServicePrincipal, error) {
		var out []tenant.ServicePrincipal
		err := c.r.ServicePrincipalsByAppID(ctx, tenant.MailResources(), func(sp tenant.ServicePrincipal) error {
			out = append(out, sp)
			return nil
		})
		return out, err
	})
	if err != nil {
		return nil, resourceGrants{}, err
	}
	g, err := cached(c, &c.cache.grants, func() (resourceGrants, error) {
		var out resourceGrants
		for _, sp := range sps {
			err := c.r.AppRoleAssignedTo(ctx, sp.ID, func(g tenant.AppRoleAssignment) error {
				out.grants = append(out.grants, g)
				return nil
			})
			switch {
			case errors.Is(err, tenant.ErrAccessDenied):
				out.denied = err
			case err != nil:
				return out, err
			}
		}
		return out, nil
	})
	return sps, g, err
}

// noteServicePrincipals takes what a service principal delta round says
// about the resource service principals: an install round returned every
// object, so it holds them (with their app roles) at once; any other round
// (a resync returns only what differs from the baselines) that changed or
// removed one makes them, and the grants on them, stale.
func (c *Rounds) noteServicePrincipals(install bool, objects []tenant.ServicePrincipal, deleted []string) {
	c.cache.mu.Lock()
	defer c.cache.mu.Unlock()
	cc := &c.cache
	if install {
		var res []tenant.ServicePrincipal
		for _, sp := range objects {
			if tenant.IsMailResource(sp.AppID) {
				res = append(res, sp)
			}
		}
		if !sameIDs(res, cc.resources.v) {
			cc.grants.stale = true
		}
		cc.resources.set(res, nil, c.now())
		return
	}
	known := make(map[string]bool, len(cc.resources.v))
	for _, sp := range cc.resources.v {
		known[strings.ToLower(sp.ID)] = true
	}
	changed := false
	for _, sp := range objects {
		changed = changed || tenant.IsMailResource(sp.AppID) || known[strings.ToLower(sp.ID)]
	}
	for _, id := range deleted {
		changed = changed || known[strings.ToLower(id)]
	}
	if changed {
		cc.resources.stale, cc.grants.stale = true, true
	}
}

func sameIDs(a, b []tenant.ServicePrincipal) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i].ID, b[i].ID) {
			return false
		}
	}
	return true
}

// noteAudits makes stale what the audit events say changed after (or
// about when) it was read: app-role grants and consents, and named
// locations. Each event counts once, though the window's overlap reads it
// again.
func (c *Rounds) noteAudits(events []tenant.AuditEvent) {
	c.cache.mu.Lock()
	defer c.cache.mu.Unlock()
	cc := &c.cache
	resources := make(map[string]bool, len(cc.resources.v))
	for _, sp := range cc.resources.v {
		resources[strings.ToLower(sp.ID)] = true
	}
	for _, e := range events {
		if e.ID != "" && cc.triggered[e.ID] {
			continue
		}
		act := strings.ToLower(strings.Join(strings.Fields(e.Activity), " "))
		grants := strings.Contains(act, "app role assignment") || strings.Contains(act, "consent to application")
		for _, t := range e.Targets {
			grants = grants || resources[strings.ToLower(strings.TrimSpace(t.ID))]
		}
		hit := false
		if grants && cc.grants.mayMiss(e.Time) {
			cc.grants.stale, hit = true, true
		}
		if strings.Contains(act, "named location") && cc.locations.mayMiss(e.Time) {
			cc.locations.stale, hit = true, true
		}
		if strings.Contains(act, "conditional access policy") && cc.policies.mayMiss(e.Time) {
			cc.policies.stale, hit = true, true
		}
		if (act == "add member to group" || act == "remove member from group") && cc.members.mayMiss(e.Time) {
			for _, t := range e.Targets {
				if slices.Contains(cc.members.v.groups, strings.ToLower(strings.TrimSpace(t.ID))) {
					cc.members.stale, hit = true, true
				}
			}
		}
		if hit && e.ID != "" {
			if cc.triggered == nil || len(cc.triggered) >= maxTriggers {
				cc.triggered = make(map[string]bool)
			}
			cc.triggered[e.ID] = true
		}
	}
}
