package collect

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// What the detectors need beside a round's own changes and that rarely
// changes — the organization, the subscribed SKUs, the Microsoft Graph and
// Exchange Online resource service principals with the app roles granted
// on them, and the named locations — is kept between rounds by Rounds (in
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

type directoryCache struct {
	mu        sync.Mutex
	org       cacheEntry[tenant.Organization]
	skus      cacheEntry[[]tenant.SKU]
	resources cacheEntry[[]tenant.ServicePrincipal]
	grants    cacheEntry[resourceGrants]
	locations cacheEntry[[]tenant.NamedLocation]
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
		if hit && e.ID != "" {
			if cc.triggered == nil || len(cc.triggered) >= maxTriggers {
				cc.triggered = make(map[string]bool)
			}
			cc.triggered[e.ID] = true
		}
	}
}
