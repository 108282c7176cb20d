package graph

import (
	"context"
	"errors"
	"log/slog"
	"math/bits"
	"net/url"
	"strings"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/serialization"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Delta rounds.
//
// A round without a link starts with GET /{collection}/delta() and the
// collection's $select list (the same list, and the same conversion, as the
// plain list read: Graph tracks changes of the selected properties only); a
// round with a link requests the stored link verbatim, since the link's
// token encodes the query options. Either way the SDK page iterator follows
// @odata.nextLink, also across empty pages, until a page carries
// @odata.deltaLink, which the round returns. Items reach the callback page
// by page; no round holds more than one page.
//
// What an item carried. Graph sends a changed object with "at least the
// properties that have been updated" (delta-query-overview.md); with
// Prefer: return=minimal, or for properties never set, the others are
// absent; a property changed to null is present with the value null
// (user-delta.md). The SDK cannot tell an absent property from a null one,
// and maps both [] and a missing list to what its getters return, so each
// item is parsed through a wrapper (tracked) that records which of the
// selected properties' deserializers ran. DeltaItem.Present lists them, in
// $select order; items with the same set share one slice. A removed item
// ({"id":…, "@removed":{"reason":"changed"|"deleted"}}) lands with its
// "@removed" object in the model's additional data: Removed is set from
// there.

// deltaSpec describes one delta collection.
type deltaSpec[M serialization.Parsable, T any] struct {
	op     string        // for messages and logs, e.g. "GET /users/delta"
	src    tenant.Source // for the permission in messages
	fields string        // $select of a round without a link; the properties Present names
	// prefix is what the path of a stored link continues with after the
	// client's "/v1.0", e.g. "/users/".
	prefix  string
	create  serialization.ParsableFactory // the SDK's item factory
	convert func(M) T
	// request returns the first request of a round: the SDK builder's GET
	// with sel when link is "", else the builder's WithUrl(link).
	request func(ctx context.Context, c *Client, sel []string, link string) (*abstractions.RequestInformation, error)
}

var usersDelta = &deltaSpec[models.Userable, tenant.User]{
	op: "GET /users/delta", src: tenant.SourceUsers, fields: userFields, prefix: "/users/",
	create:  models.CreateUserFromDiscriminatorValue,
	convert: userFromGraph,
	request: func(ctx context.Context, c *Client, sel []string, link string) (*abstractions.RequestInformation, error) {
		if link != "" {
			return c.sdk.Users().Delta().WithUrl(link).ToGetRequestInformation(ctx, nil)
		}
		return c.sdk.Users().Delta().ToGetRequestInformation(ctx, &users.DeltaRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.DeltaRequestBuilderGetQueryParameters{Select: sel},
		})
	},
}

var servicePrincipalsDelta = &deltaSpec[models.ServicePrincipalable, tenant.ServicePrincipal]{
	op: "GET /servicePrincipals/delta", src: tenant.SourceServicePrincipals, fields: servicePrincipalFields,
	prefix:  "/servicePrincipals/",
	create:  models.CreateServicePrincipalFromDiscriminatorValue,
	convert: servicePrincipalFromGraph,
	request: func(ctx context.Context, c *Client, sel []string, link string) (*abstractions.RequestInformation, error) {
		if link != "" {
			return c.sdk.ServicePrincipals().Delta().WithUrl(link).ToGetRequestInformation(ctx, nil)
		}
		return c.sdk.ServicePrincipals().Delta().ToGetRequestInformation(ctx, &serviceprincipals.DeltaRequestBuilderGetRequestConfiguration{
			QueryParameters: &serviceprincipals.DeltaRequestBuilderGetQueryParameters{Select: sel},
		})
	},
}

var applicationsDelta = &deltaSpec[models.Applicationable, tenant.Application]{
	op: "GET /applications/delta", src: tenant.SourceApplications, fields: applicationFields,
	prefix:  "/applications/",
	create:  models.CreateApplicationFromDiscriminatorValue,
	convert: applicationFromGraph,
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
func deltaRound[M serialization.Parsable, T any](ctx context.Context, c *Client, d *deltaSpec[M, T], link string,
	fn func(tenant.DeltaItem[T]) error,
) (next string, err error) {
	start := time.Now()
	xctx, x := withExchange(ctx)
	items := 0
	defer func() {
		requests, retries, _ := x.snapshot()
		attrs := []slog.Attr{slog.String("op", d.op), slog.Bool("resumed", link != ""), slog.Int("items", items),
			slog.Int("requests", requests), slog.Int("retries", retries), slog.Duration("took", time.Since(start))}
		if err != nil {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
		c.log.LogAttrs(ctx, slog.LevelDebug, "graph: delta round", attrs...)
	}()

	if link != "" {
		if why := c.foreignLink(link, d.prefix); why != "" {
			p, l := needs(d.src)
			return "", &Error{Op: d.op, Message: "the stored delta link " + why + "; run a full round",
				Permission: p, Licence: l, Err: tenant.ErrDeltaExpired, kind: kindPlain, target: c.base}
		}
	}
	names := fields(d.fields)
	page := deltaPageFactory(d.create, names)
	ri, err := d.request(xctx, c, names, link)
	if err != nil {
		return "", c.classify(ctx, d.op, d.src, x, err)
	}
	// Every page goes through one pager, the first included: a next link
	// equal to a link already requested ends the round.
	pg := newPager(c.adapter)
	first, err := pg.Send(xctx, ri, page, abstractions.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue})
	if err != nil {
		return "", c.classify(ctx, d.op, d.src, x, err)
	}
	if first == nil {
		return "", &Error{Op: d.op, Message: "empty response", kind: kindDecode, target: c.base}
	}
	// Pass the adapter built here, not the client's GetAdapter().
	it, err := msgraphcore.NewPageIterator[*tracked](first, pg, page)
	if err != nil {
		return "", c.classify(ctx, d.op, d.src, x, err)
	}
	present := presentSets{names: names}
	var cbErr error
	err = it.Iterate(xctx, func(t *tracked) bool {
		m, ok := t.model.(M)
		if !ok { // a null item; the factory only makes M
			return true
		}
		items++
		cbErr = fn(tenant.DeltaItem[T]{Object: d.convert(m), Removed: t.removed(), Present: present.get(t.seen)})
		return cbErr == nil
	})
	if cbErr != nil {
		return "", cbErr
	}
	if err != nil {
		return "", c.classify(ctx, d.op, d.src, x, err)
	}
	if dl := it.GetOdataDeltaLink(); dl != nil && *dl != "" {
		return *dl, nil
	}
	return "", &Error{Op: d.op, Message: "the last page carries no @odata.deltaLink", kind: kindDecode, target: c.base}
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

// maxTracked is how many selected properties a tracked item can record.
const maxTracked = 64

// tracked wraps an SDK model while the JSON parse node fills it, and records
// which of the watched properties the item carried: the parse node calls a
// property's deserializer for every key present, null values included, and
// puts keys it has no deserializer for (such as "@removed") in the additional
// data.
type tracked struct {
	model serialization.Parsable
	names []string // watched JSON property names; at most maxTracked
	seen  uint64   // bit i: names[i] was present
}

// GetFieldDeserializers returns the model's deserializers, the watched ones
// wrapped to record their property.
func (t *tracked) GetFieldDeserializers() map[string]func(serialization.ParseNode) error {
	fs := t.model.GetFieldDeserializers()
	for i, name := range t.names[:min(len(t.names), maxTracked)] {
		if f, ok := fs[name]; ok {
			bit := uint64(1) << i
			fs[name] = func(n serialization.ParseNode) error {
				t.seen |= bit
				return f(n)
			}
		}
	}
	return fs
}

// Serialize is never used: delta items are only read.
func (t *tracked) Serialize(w serialization.SerializationWriter) error { return t.model.Serialize(w) }

// GetAdditionalData and SetAdditionalData make the parse node keep
// unknown keys ("@removed") on the model.
func (t *tracked) GetAdditionalData() map[string]any {
	if h, ok := t.model.(serialization.AdditionalDataHolder); ok {
		return h.GetAdditionalData()
	}
	return nil
}

func (t *tracked) SetAdditionalData(v map[string]any) {
	if h, ok := t.model.(serialization.AdditionalDataHolder); ok {
		h.SetAdditionalData(v)
	}
}

// removed reports whether the item carried "@removed".
func (t *tracked) removed() bool {
	_, ok := t.GetAdditionalData()["@removed"]
	return ok
}

// deltaPage is one page of a delta round, parsed with tracked items.
type deltaPage struct {
	item       serialization.ParsableFactory
	value      []*tracked
	next, last *string
}

// deltaPageFactory returns the factory of pages whose items create makes,
// watching the properties names.
func deltaPageFactory(create serialization.ParsableFactory, names []string) serialization.ParsableFactory {
	item := func(n serialization.ParseNode) (serialization.Parsable, error) {
		m, err := create(n)
		if err != nil {
			return nil, err
		}
		return &tracked{model: m, names: names}, nil
	}
	return func(serialization.ParseNode) (serialization.Parsable, error) {
		return &deltaPage{item: item}, nil
	}
}

func (p *deltaPage) GetFieldDeserializers() map[string]func(serialization.ParseNode) error {
	return map[string]func(serialization.ParseNode) error{
		"value": func(n serialization.ParseNode) error {
			vs, err := n.GetCollectionOfObjectValues(p.item)
			if err != nil {
				return err
			}
			p.value = make([]*tracked, 0, len(vs))
			for _, v := range vs {
				if t, ok := v.(*tracked); ok && t != nil {
					p.value = append(p.value, t)
				}
			}
			return nil
		},
		"@odata.nextLink": func(n serialization.ParseNode) (err error) {
			p.next, err = n.GetStringValue()
			return err
		},
		"@odata.deltaLink": func(n serialization.ParseNode) (err error) {
			p.last, err = n.GetStringValue()
			return err
		},
	}
}

// Serialize is never used: pages are only read.
func (p *deltaPage) Serialize(serialization.SerializationWriter) error {
	return errors.New("graph: a delta page is never sent")
}

// GetValue, GetOdataNextLink and GetOdataDeltaLink are what the SDK page
// iterator reads.
func (p *deltaPage) GetValue() []*tracked       { return p.value }
func (p *deltaPage) GetOdataNextLink() *string  { return p.next }
func (p *deltaPage) GetOdataDeltaLink() *string { return p.last }
