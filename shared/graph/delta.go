package graph

import (
	"context"
	"math/bits"
	"net/url"
	"strings"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/tenantwatch/tenantwatch/shared/graph/internal/pagejson"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Delta rounds.
//
// A round without a link starts with GET /{collection}/delta() and the
// collection's $select list (the same list, and the same conversion, as the
// plain list read: Graph tracks changes of the selected properties only); a
// round with a link requests the stored link verbatim, since the link's
// token encodes the query options. Either way the round is a bulk read
// (pages.go) that follows @odata.nextLink, also across empty pages, until a
// page carries @odata.deltaLink, which the round returns. Items reach the
// callback page by page; a round holds at most two pages (one read ahead).
//
// What an item carried. Graph sends a changed object with "at least the
// properties that have been updated" (delta-query-overview.md); with
// Prefer: return=minimal, or for properties never set, the others are
// absent; a property changed to null is present with the value null
// (user-delta.md). The item decoder records which of the selected
// properties the item's object names, null or not; DeltaItem.Present lists
// them, in $select order; items with the same set share one slice. A
// removed item ({"id":…, "@removed":{"reason":"changed"|"deleted"}}) has
// Removed set (a null "@removed" does not count, as it did not for the
// SDK, which kept only non-null unknown members).

// deltaSpec describes one delta collection.
type deltaSpec[T any] struct {
	op     string        // for messages and logs, e.g. "GET /users/delta"
	src    tenant.Source // for the permission in messages
	fields string        // $select of a round without a link; the properties Present names
	// prefix is what the path of a stored link continues with after the
	// client's "/v1.0", e.g. "/users/".
	prefix string
	read   func(*dec, memberHook) (T, pagejson.Kind, error) // the item decoder
	// request returns the first request of a round: the SDK builder's GET
	// with sel when link is "", else the builder's WithUrl(link).
	request func(ctx context.Context, c *Client, sel []string, link string) (*abstractions.RequestInformation, error)
}

var usersDelta = &deltaSpec[tenant.User]{
	op: "GET /users/delta", src: tenant.SourceUsers, fields: userFields, prefix: "/users/",
	read: (*dec).user,
	request: func(ctx context.Context, c *Client, sel []string, link string) (*abstractions.RequestInformation, error) {
		if link != "" {
			return c.sdk.Users().Delta().WithUrl(link).ToGetRequestInformation(ctx, nil)
		}
		return c.sdk.Users().Delta().ToGetRequestInformation(ctx, &users.DeltaRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.DeltaRequestBuilderGetQueryParameters{Select: sel},
		})
	},
}

var servicePrincipalsDelta = &deltaSpec[tenant.ServicePrincipal]{
	op: "GET /servicePrincipals/delta", src: tenant.SourceServicePrincipals, fields: servicePrincipalFields,
	prefix: "/servicePrincipals/",
	read:   (*dec).servicePrincipal,
	request: func(ctx context.Context, c *Client, sel []string, link string) (*abstractions.RequestInformation, error) {
		if link != "" {
			return c.sdk.ServicePrincipals().Delta().WithUrl(link).ToGetRequestInformation(ctx, nil)
		}
		return c.sdk.ServicePrincipals().Delta().ToGetRequestInformation(ctx, &serviceprincipals.DeltaRequestBuilderGetRequestConfiguration{
			QueryParameters: &serviceprincipals.DeltaRequestBuilderGetQueryParameters{Select: sel},
		})
	},
}

var applicationsDelta = &deltaSpec[tenant.Application]{
	op: "GET /applications/delta", src: tenant.SourceApplications, fields: applicationFields,
	prefix: "/applications/",
	read:   (*dec).application,
	request: func(ctx context.Context, c *Client, sel []string, link string) (*abstractions.RequestInformation, error) {
		if link != "" {
			return c.sdk.Applications().Delta().WithUrl(link).ToGetRequestInformation(ctx, nil)
		}
		return c.sdk.Applications().Delta().ToGetRequestInformation(ctx, &applications.DeltaRequestBuilderGetRequestConfiguration{
			QueryParameters: &applications.DeltaRequestBuilderGetQueryParameters{Select: sel},
		})
	},
}

// UsersDelta runs one users delta round (GET /users/delta; User.Read.All).
// deltaLink "" starts a full round that selects id, userPrincipalName,
// displayName, userType, accountEnabled, createdDateTime and
// assignedLicenses (signInActivity is not tracked by delta); otherwise the
// stored link is requested verbatim. fn gets every item, page by page; an
// error from fn stops the round and is returned unchanged. The round returns
// the new delta link.
//
// DeltaItem.Present always lists the selected properties the item carried
// (never nil): "id" and, for a changed user, the properties Graph sent. The
// slices are shared between items: do not modify them. Removed is true for
// an item with "@removed" (deleted, soft-deleted or out of scope).
//
// An expired or invalid link (410 Gone, error code syncStateNotFound or
// resyncRequired, or a link that is not a users delta link of this client's
// Graph root) is an *Error wrapping tenant.ErrDeltaExpired: run a full round.
func (c *Client) UsersDelta(ctx context.Context, deltaLink string, fn func(tenant.DeltaItem[tenant.User]) error) (string, error) {
	return deltaRound(ctx, c, usersDelta, deltaLink, fn)
}

// ServicePrincipalsDelta runs one service principal delta round
// (GET /servicePrincipals/delta; Application.Read.All) with the $select list
// of ServicePrincipals. Links, items and errors are as for UsersDelta.
// Navigation properties (owners, appRoleAssignedTo) are not tracked.
func (c *Client) ServicePrincipalsDelta(ctx context.Context, deltaLink string, fn func(tenant.DeltaItem[tenant.ServicePrincipal]) error) (string, error) {
	return deltaRound(ctx, c, servicePrincipalsDelta, deltaLink, fn)
}

// ApplicationsDelta runs one app registration delta round
// (GET /applications/delta; Application.Read.All) with the $select list of
// Applications. Links, items and errors are as for UsersDelta; an app's
// redirect URIs are present when any of "web", "spa" or "publicClient" is.
func (c *Client) ApplicationsDelta(ctx context.Context, deltaLink string, fn func(tenant.DeltaItem[tenant.Application]) error) (string, error) {
	return deltaRound(ctx, c, applicationsDelta, deltaLink, fn)
}

// deltaRound runs one round of d; see the package notes above.
func deltaRound[T any](ctx context.Context, c *Client, d *deltaSpec[T], link string,
	fn func(tenant.DeltaItem[T]) error,
) (string, error) {
	if link != "" {
		if why := c.foreignLink(link, d.prefix); why != "" {
			p, l := needs(d.src)
			return "", &Error{Op: d.op, Message: "the stored delta link " + why + "; run a full round",
				Permission: p, Licence: l, Err: tenant.ErrDeltaExpired, kind: kindPlain, target: c.base}
		}
	}
	names := fields(d.fields)
	return readPages(ctx, c, bulkRead[tenant.DeltaItem[T]]{
		op: d.op, src: d.src, delta: true, resumed: link != "",
		first: func(ctx context.Context) (*abstractions.RequestInformation, error) {
			return d.request(ctx, c, names, link)
		},
		item: deltaItems(names, d.read),
	}, fn)
}

// foreignLink says why link cannot be a delta link of this client for the
// collection prefix ("/users/"), or "" if it can be: the scheme, host, port
// and path prefix must be the client's, so that a link stored for another
// Graph root (the simulator, another cloud) or for another collection leads
// to a full round instead of to a failing or wrong one.
func (c *Client) foreignLink(link, prefix string) string {
	u, err := url.Parse(link)
	if err != nil || !u.IsAbs() {
		return "is not an absolute url"
	}
	b, err := url.Parse(c.base)
	if err != nil {
		return "cannot be checked"
	}
	if !strings.EqualFold(u.Scheme, b.Scheme) || !strings.EqualFold(u.Hostname(), b.Hostname()) || port(u) != port(b) {
		return "is not a link to " + c.base
	}
	if !strings.HasPrefix(strings.ToLower(u.Path), strings.ToLower(b.Path+prefix)) {
		return "is not a " + strings.Trim(prefix, "/") + " delta link"
	}
	return ""
}

// port is u's port, or the scheme's default.
func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "http") {
		return "80"
	}
	return "443"
}

// presentSets turns bit sets of $select positions into the property names,
// one shared slice per distinct set.
type presentSets struct {
	names []string
	cache map[uint64][]string
}

func (p *presentSets) get(set uint64) []string {
	if s, ok := p.cache[set]; ok {
		return s
	}
	s := make([]string, 0, bits.OnesCount64(set)) // never nil: nil would mean "complete"
	for i, n := range p.names {
		if set&(1<<i) != 0 {
			s = append(s, n)
		}
	}
	if p.cache == nil {
		p.cache = make(map[uint64][]string)
	}
	p.cache[set] = s
	return s
}

// maxTracked is how many selected properties an item's presence records.
const maxTracked = 64

// deltaItems adapts an item decoder to a delta round: each item also says
// which of the properties names it carried, and whether it was removed.
// Null elements are skipped.
func deltaItems[T any](names []string, read func(*dec, memberHook) (T, pagejson.Kind, error)) func(*dec) (tenant.DeltaItem[T], bool, error) {
	sets := &presentSets{names: names}
	watched := names[:min(len(names), maxTracked)]
	return func(d *dec) (tenant.DeltaItem[T], bool, error) {
		var (
			seen    uint64 // bit i: names[i] was present
			removed bool
		)
		v, k, err := read(d, func(name []byte) (bool, error) {
			if string(name) == "@removed" {
				removed = d.Kind() != pagejson.Null
				d.Skip()
				return true, nil
			}
			for i, n := range watched {
				if string(name) == n {
					seen |= 1 << i
					break
				}
			}
			return false, nil
		})
		if err != nil || k == pagejson.Null {
			return tenant.DeltaItem[T]{}, false, err
		}
		return tenant.DeltaItem[T]{Object: v, Removed: removed, Present: sets.get(seen)}, true, nil
	}
}
