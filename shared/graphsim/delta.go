package graphsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Delta queries (GET /users/delta, /groups/delta, /servicePrincipals/delta,
// /applications/delta), as the v1.0 reference and the delta query overview
// describe them (microsoft-graph-docs-contrib api-reference/v1.0/api/
// user-delta.md, group-delta.md, serviceprincipal-delta.md,
// application-delta.md; concepts/delta-query-overview.md):
//
//   - A round is a first GET (query options go there only), then the
//     @odata.nextLink of each page ($skiptoken) until a page carries an
//     @odata.deltaLink ($deltatoken). "Microsoft Graph automatically
//     encodes any specified parameters into the token portion of the
//     nextLink or deltaLink URL": links carry the token only.
//   - The first round returns every object that exists, with the selected
//     properties ("If the property has never been set before it will not
//     be included in the response at all"); id is always returned.
//   - Later rounds return what changed since the token: created objects in
//     full, "Updated instances are represented by their id with at least
//     the properties that have been updated", removed ones as
//     {"id", "@removed": {"reason": "changed"|"deleted"}} ("changed": can be
//     restored from deletedItems, "deleted": cannot).
//   - users and groups: by default an updated object carries every
//     selected property ("If the property has not changed, the old value is
//     included"); with "Prefer: return=minimal" only the changed ones. The
//     simulator does exactly that (Options.MinimalDeltaUpdates forces the
//     minimal form); service principals and applications, whose pages
//     document no Prefer header, always get the minimal form, the least the
//     overview promises.
//   - "If a $select query parameter is used ... If a change occurs to a
//     property that is not selected, the resource ... does not appear":
//     only selected (or, without $select, default) properties make an
//     updated object reappear.
//   - "$deltaToken=latest" returns a deltaLink and no data (users and
//     groups: "Resources stored in Azure Active Directory (such as users and
//     groups) support sync from now").
//   - "$select and $deltaLink query parameters will be supported ... Delta
//     queries with both $select and $skipToken will not be supported": a
//     $select beside a $deltatoken replaces the tracked set; beside a
//     $skiptoken it answers 400.
//   - $expand, $top and $orderby are not supported for users and groups:
//     400. $filter (by id) is supported by Graph but not simulated: 501.
//   - Token duration: "For directory objects, the limit is seven days ...
//     In case of an expired token, the service should respond with a
//     40X-series error with error codes such as syncStateNotFound": a token
//     older than Options.DeltaTokenTTL answers 400 syncStateNotFound. After
//     (*Server).ExpireDeltaTokens ("Synchronization reset": "410 (gone) and
//     a Location header containing a request URL with an empty $deltaToken
//     (same as the initial query) ... to prevent data inconsistency due to
//     internal maintenance or migration of the target tenant") every older
//     token answers 410 Gone, code resyncRequired ("The delta token is no
//     longer valid, and the app must reset the sync state", Graph errors
//     reference), with that Location header.
//   - Page sizes are not documented for directory delta ("The number of
//     objects in each page can vary"); the simulator serves
//     Options.DeltaPageSize (default 200) and, with EmptyDeltaPages, starts
//     each round with an empty page that has a nextLink ("This is true even
//     if the current response may contain an empty result").
//
// Tokens are opaque: base64url of the route, the version the round reads
// up to (and, for a later round, from), the selected properties, the page
// position, the issue time and the reset epoch, followed by an HMAC-SHA256
// (truncated to 16 bytes) under a key derived from the seed and tenant. A
// token that does not verify, or belongs to another resource, answers 400.

// defaultDeltaPageSize is the page size of delta rounds (not documented by
// Graph; Options.DeltaPageSize overrides it).
const defaultDeltaPageSize = 200

// deltaRoute is one delta endpoint.
type deltaRoute struct {
	path          string // Stats key, e.g. "/users/delta"
	kind          ObjectKind
	source        string // Options.Deny name
	entity        string // for error messages
	props         []string
	defaults      []string // returned and tracked without $select; nil = every property
	notSelectable []string // selectable on the list endpoint but not simulated on delta: 501
	latest        bool     // supports $deltatoken=latest
	preferMinimal bool     // full updates unless Prefer: return=minimal (users, groups)
	id            byte     // route id inside tokens
}

func deltaRoutes() []*deltaRoute {
	return []*deltaRoute{
		{path: "/users/delta", kind: KindUser, source: SourceUsers, entity: "user",
			props: userProps(), defaults: userDefaultProps(),
			notSelectable: append(userSingleOnlyProps(), "signInActivity"),
			latest:        true, preferMinimal: true, id: 1},
		{path: "/groups/delta", kind: KindGroup, source: SourceGroups, entity: "group",
			props: append(groupProps(), "members", "owners"), notSelectable: []string{"members", "owners"},
			latest: true, preferMinimal: true, id: 2},
		{path: "/servicePrincipals/delta", kind: KindServicePrincipal, source: SourceServicePrincipals,
			entity: "servicePrincipal", props: servicePrincipalProps(), id: 3},
		{path: "/applications/delta", kind: KindApplication, source: SourceApplications,
			entity: "application", props: applicationProps(), id: 4},
	}
}

// match reports whether segs address this delta function: "delta",
// "delta()" (what the generated SDKs send), or the qualified
// "microsoft.graph.delta".
func (d *deltaRoute) match(segs []string) bool {
	if len(segs) != 2 || !strings.EqualFold(segs[0], string(d.kind)) {
		return false
	}
	switch strings.ToLower(segs[1]) {
	case "delta", "delta()", "microsoft.graph.delta", "microsoft.graph.delta()":
		return true
	}
	return false
}

// Token kinds and phases.
const (
	tokDelta byte = 'D' // in a deltaLink
	tokSkip  byte = 'S' // in a nextLink

	phaseInitial byte = 0 // the full first round
	phaseChanges byte = 1 // a later round
)

// deltaToken is the state a delta or skip token carries.
type deltaToken struct {
	kind    byte
	route   byte
	epoch   uint64
	issued  int64  // Unix seconds on the tenant clock
	ver     uint64 // the version the round reads up to (deltaLink: the next round starts after it)
	from    uint64 // later round: the version it reads from
	phase   byte
	started bool  // the empty first page was served
	sel     []int // indexes into the route's props; nil: default set
	pos     []int // initial round: source positions; later round: [position]
}

const tokenFormat = 1

func (s *Server) encodeDeltaToken(t deltaToken) string {
	b := []byte{tokenFormat, t.kind, t.route}
	b = binary.AppendUvarint(b, t.epoch)
	b = binary.AppendVarint(b, t.issued)
	b = binary.AppendUvarint(b, t.ver)
	b = binary.AppendUvarint(b, t.from)
	flags := t.phase
	if t.started {
		flags |= 2
	}
	if t.sel == nil {
		flags |= 4
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(t.sel)))
	for _, i := range t.sel {
		b = binary.AppendUvarint(b, uint64(i))
	}
	b = binary.AppendUvarint(b, uint64(len(t.pos)))
	for _, p := range t.pos {
		b = binary.AppendUvarint(b, uint64(p))
	}
	m := hmac.New(sha256.New, s.tokenKey)
	m.Write(b)
	b = m.Sum(b)[:len(b)+16]
	return base64.RawURLEncoding.EncodeToString(b)
}

const errBadDeltaToken = constError("invalid delta token")

// decodeDeltaToken verifies and parses a token. nprops bounds the select
// indexes.
func (s *Server) decodeDeltaToken(tok string, nprops int) (deltaToken, error) {
	var t deltaToken
	raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(raw) < 3+16 || len(raw) > 4096 {
		return t, errBadDeltaToken
	}
	body, mac := raw[:len(raw)-16], raw[len(raw)-16:]
	m := hmac.New(sha256.New, s.tokenKey)
	m.Write(body)
	if !hmac.Equal(mac, m.Sum(nil)[:16]) {
		return t, errBadDeltaToken
	}
	if body[0] != tokenFormat {
		return t, errBadDeltaToken
	}
	t.kind, t.route = body[1], body[2]
	b := body[3:]
	uv := func() (uint64, bool) {
		v, k := binary.Uvarint(b)
		if k <= 0 {
			return 0, false
		}
		b = b[k:]
		return v, true
	}
	var ok bool
	if t.epoch, ok = uv(); !ok {
		return t, errBadDeltaToken
	}
	iss, k := binary.Varint(b)
	if k <= 0 {
		return t, errBadDeltaToken
	}
	t.issued, b = iss, b[k:]
	if t.ver, ok = uv(); !ok {
		return t, errBadDeltaToken
	}
	if t.from, ok = uv(); !ok || len(b) == 0 {
		return t, errBadDeltaToken
	}
	flags := b[0]
	b = b[1:]
	t.phase, t.started = flags&1, flags&2 != 0
	n, ok := uv()
	if !ok || n > uint64(nprops) {
		return t, errBadDeltaToken
	}
	if flags&4 == 0 {
		t.sel = make([]int, 0, n)
	}
	for ; n > 0; n-- {
		v, ok := uv()
		if !ok || v >= uint64(nprops) {
			return t, errBadDeltaToken
		}
		t.sel = append(t.sel, int(v))
	}
	n, ok = uv()
	if !ok || n > 64 {
		return t, errBadDeltaToken
	}
	for ; n > 0; n-- {
		v, ok := uv()
		if !ok || v > 1<<40 {
			return t, errBadDeltaToken
		}
		t.pos = append(t.pos, int(v))
	}
	if len(b) != 0 {
		return t, errBadDeltaToken
	}
	return t, nil
}

// ExpireDeltaTokens invalidates every delta and skip token issued so far:
// the next request with one answers 410 Gone with a Location header to
// restart, as Graph does after a synchronization reset.
func (s *Server) ExpireDeltaTokens() {
	s.epoch.Add(1)
	s.log.Debug("graphsim: delta tokens expired", "epoch", s.epoch.Load())
}

func (d *deltaRoute) selNames(sel []int) []string {
	if sel == nil {
		return nil
	}
	out := make([]string, len(sel))
	for i, k := range sel {
		out[i] = d.props[k]
	}
	return out
}

// want returns the properties a response carries and tracks: the selected
// ones, else the default set (nil: every property).
func (d *deltaRoute) want(sel []int) []string {
	if sel == nil {
		return d.defaults
	}
	return d.selNames(sel)
}

// parseSelect canonicalises $select against the route.
func (d *deltaRoute) parseSelect(v string) ([]int, int, string, string) {
	sel := []int{}
	seen := map[int]bool{}
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		idx := -1
		for i, q := range d.props {
			if strings.EqualFold(p, q) {
				idx = i
				break
			}
		}
		if idx < 0 {
			return nil, http.StatusBadRequest, "BadRequest",
				fmt.Sprintf("Parsing OData Select and Expand failed: Could not find a property named '%s' on type 'microsoft.graph.%s'.", p, d.entity)
		}
		for _, no := range d.notSelectable {
			if no == d.props[idx] {
				return nil, http.StatusNotImplemented, "NotImplemented",
					fmt.Sprintf("graphsim: not simulated: $select=%s on %s", d.props[idx], d.path)
			}
		}
		if !seen[idx] {
			seen[idx] = true
			sel = append(sel, idx)
		}
	}
	return sel, 0, "", ""
}

// deltaQuery is what one delta request asks for.
type deltaQuery struct {
	sel       []int
	hasSelect bool
	skip      string
	hasSkip   bool
	delta     string
	hasDelta  bool
}

func (d *deltaRoute) parseQuery(r *http.Request) (q deltaQuery, status int, code, msg string) {
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return q, http.StatusBadRequest, "BadRequest", "Malformed query string: " + err.Error()
	}
	for k, v := range vals {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, "$") {
			continue
		}
		if len(v) > 1 {
			return q, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Query option '%s' was specified more than once.", k)
		}
		switch lk {
		case "$select":
			q.hasSelect = true
			q.sel, status, code, msg = d.parseSelect(v[0])
			if status != 0 {
				return q, status, code, msg
			}
		case "$skiptoken":
			q.skip, q.hasSkip = v[0], true
		case "$deltatoken":
			q.delta, q.hasDelta = v[0], true
		case "$expand", "$top", "$orderby":
			if d.preferMinimal {
				return q, http.StatusBadRequest, "Request_UnsupportedQuery",
					fmt.Sprintf("graphsim: %s is not supported on %s (delta query overview: \"$expand is not supported\", \"$top is not supported\", \"$orderby is not supported\" for users and groups).", k, d.path)
			}
			return q, http.StatusNotImplemented, "NotImplemented", fmt.Sprintf("graphsim: not simulated: query option %s on %s", k, d.path)
		default:
			return q, http.StatusNotImplemented, "NotImplemented", fmt.Sprintf("graphsim: not simulated: query option %s on %s", k, d.path)
		}
	}
	return q, 0, "", ""
}

func preferMinimal(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), "return=minimal") {
				return true
			}
		}
	}
	return false
}

// delta answers one delta request.
func (s *Server) delta(w http.ResponseWriter, r *http.Request, ri *reqInfo, d *deltaRoute, prefix, rest string) {
	q, status, code, msg := d.parseQuery(r)
	if status != 0 {
		s.fail(w, ri, status, code, msg)
		return
	}
	if s.deny[d.source] || s.missing(required(d.source)) != "" {
		s.fail(w, ri, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		return
	}
	switch {
	case q.hasSkip && q.hasDelta:
		s.fail(w, ri, http.StatusBadRequest, "BadRequest", "graphsim: $skiptoken and $deltatoken cannot be combined.")
		return
	case q.hasSkip && q.hasSelect:
		s.fail(w, ri, http.StatusBadRequest, "Request_UnsupportedQuery",
			"graphsim: $select cannot be combined with $skiptoken (delta query overview: \"Delta queries with both $select and $skipToken will not be supported\").")
		return
	}
	now := s.Clock()
	base := scheme(r) + "://" + r.Host + prefix + "/v1.0/"
	link := base + rest

	var tok deltaToken
	latest := false
	switch {
	case q.hasDelta && strings.EqualFold(q.delta, "latest"):
		if !d.latest {
			s.fail(w, ri, http.StatusBadRequest, "Request_UnsupportedQuery",
				"graphsim: $deltatoken=latest is documented for users and groups only (delta query overview).")
			return
		}
		latest = true
		tok = deltaToken{sel: q.sel}
		if !q.hasSelect {
			tok.sel = nil
		}
	case (q.hasDelta && q.delta != "") || q.hasSkip:
		raw, want := q.delta, tokDelta
		if q.hasSkip {
			raw, want = q.skip, tokSkip
		}
		t, err := s.decodeDeltaToken(raw, len(d.props))
		if err != nil || t.kind != want || t.route != d.id {
			s.fail(w, ri, http.StatusBadRequest, "BadRequest",
				fmt.Sprintf("graphsim: invalid %s: it was not issued by this tenant for %s.", map[byte]string{tokDelta: "$deltatoken", tokSkip: "$skiptoken"}[want], d.path))
			return
		}
		if t.epoch < s.epoch.Load() {
			loc := link + "?"
			if sel := d.selNames(t.sel); sel != nil {
				loc += "$select=" + strings.Join(sel, ",") + "&"
			}
			w.Header().Set("Location", loc+"$deltatoken=")
			s.fail(w, ri, http.StatusGone, "resyncRequired",
				"The delta token is no longer valid, and the app must reset the sync state. Restart with the URL in the Location header.")
			return
		}
		if time.Unix(t.issued, 0).Add(s.deltaTTL).Before(now) {
			s.fail(w, ri, http.StatusBadRequest, "syncStateNotFound",
				"The sync state generation is not found. The delta token is expired and data must be synchronized again.")
			return
		}
		if want == tokDelta {
			// A later round: what changed after the token's version.
			tok = deltaToken{phase: phaseChanges, from: t.ver, sel: t.sel}
			if q.hasSelect {
				tok.sel = q.sel
			}
		} else {
			tok = t
		}
	default: // the first round ($deltatoken empty or absent)
		tok = deltaToken{phase: phaseInitial}
		if q.hasSelect {
			tok.sel = q.sel
		}
	}

	st := s.store
	st.mu.RLock()
	if !q.hasSkip {
		tok.ver = st.version
	}
	if tok.ver > st.version || (tok.phase == phaseChanges && tok.from > tok.ver) {
		st.mu.RUnlock()
		s.fail(w, ri, http.StatusBadRequest, "BadRequest", "graphsim: invalid $skiptoken: it was not issued by this tenant.")
		return
	}
	issue := func(t deltaToken, kind byte) string {
		t.kind, t.route, t.epoch, t.issued = kind, d.id, s.epoch.Load(), now.Unix()
		return s.encodeDeltaToken(t)
	}
	var items []Object
	next, deltaLink := "", ""
	switch {
	case latest:
		deltaLink = issue(deltaToken{ver: tok.ver, sel: tok.sel}, tokDelta)
	case s.emptyDelta && !tok.started:
		t := tok
		t.started = true
		next = issue(t, tokSkip)
	default:
		var more bool
		var pos []int
		items, pos, more = s.deltaPage(st.kinds[d.kind], d, tok, r)
		if more {
			t := tok
			t.started, t.pos = true, pos
			next = issue(t, tokSkip)
		} else {
			deltaLink = issue(deltaToken{ver: tok.ver, sel: tok.sel}, tokDelta)
		}
	}
	b := make([]byte, 0, 256+len(items)*512)
	b = append(b, `{"@odata.context":`...)
	b = appendString(b, base+"$metadata#"+string(d.kind))
	if next != "" {
		b = append(b, `,"@odata.nextLink":`...)
		b = appendString(b, link+"?$skiptoken="+next)
	} else {
		b = append(b, `,"@odata.deltaLink":`...)
		b = appendString(b, link+"?$deltatoken="+deltaLink)
	}
	b = append(b, `,"value":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSON(b, it)
	}
	b = append(b, "]}"...)
	st.mu.RUnlock()

	w.Header().Set("Content-Type", contentTypeJSON)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	s.record(ri, http.StatusOK, len(items))
	s.log.Debug("graphsim: delta", "route", d.path, "phase", tok.phase, "items", len(items), "more", next != "", "request_id", ri.requestID)
}

// deltaPage builds one page of a round and returns the positions after it
// and whether more pages follow. The caller holds st.mu (read).
func (s *Server) deltaPage(ks *kindState, d *deltaRoute, tok deltaToken, r *http.Request) ([]Object, []int, bool) {
	want := d.want(tok.sel)
	if tok.phase == phaseInitial {
		coll := ks.view(tok.ver)
		cur := cursor(tok.pos)
		if len(cur) != len(coll.sources) {
			cur = make(cursor, len(coll.sources))
		}
		recs, next := coll.page(cur, s.deltaSize, nil)
		items := make([]Object, len(recs))
		for i, rec := range recs {
			items[i] = projectDelta(rec.o, want)
		}
		return items, next, next != nil
	}
	full := d.preferMinimal && !s.minimalDelta && !preferMinimal(r)
	var changes []deltaChange
	for _, c := range ks.changesBetween(tok.from, tok.ver) {
		if !c.created && !c.removed {
			c.props = intersect(c.props, want)
			if len(c.props) == 0 {
				continue // no tracked property changed
			}
		}
		changes = append(changes, c)
	}
	pos := 0
	if len(tok.pos) == 1 {
		pos = min(tok.pos[0], len(changes))
	}
	end := min(pos+s.deltaSize, len(changes))
	items := make([]Object, 0, end-pos)
	for _, c := range changes[pos:end] {
		switch {
		case c.removed:
			reason := "changed"
			if c.os.permanent {
				reason = "deleted"
			}
			items = append(items, Object{{"id", c.os.id}, {"@removed", Object{{"reason", reason}}}})
		case c.created || full:
			items = append(items, projectDelta(c.os.o, want))
		default:
			it := Object{{"id", c.os.id}}
			for _, p := range c.props {
				v, _ := c.os.o.Get(p)
				it = append(it, Member{p, v})
			}
			items = append(items, it)
		}
	}
	return items, []int{end}, end < len(changes)
}

// projectDelta keeps id, @odata.type and the wanted properties (nil: all)
// that o carries, in o's order.
func projectDelta(o Object, want []string) Object {
	if want == nil {
		return copyObj(stripInternal(o))
	}
	out := make(Object, 0, len(want)+1)
	for _, m := range o {
		if m.Key == "id" || m.Key == "@odata.type" || validProp(want, m.Key) {
			out = append(out, m)
		}
	}
	return out
}

// intersect returns the elements of a that are in b (b nil: all of a).
func intersect(a, b []string) []string {
	if b == nil {
		return a
	}
	var out []string
	for _, x := range a {
		if validProp(b, x) {
			out = append(out, x)
		}
	}
	return out
}
