package graphsim

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

const (
	contentTypeJSON  = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
	contentTypeError = "application/json"
	notSimulatedKey  = "(not simulated)"
	apiVersionMarker = "/v1.0/"
	betaMarker       = "/beta/"
)

// reqInfo carries what every answer to one request needs.
type reqInfo struct {
	requestID   string
	clientReqID string
	route       string // Stats key
	activity    bool   // a /users read that selects or filters signInActivity
}

// ServeHTTP answers one request as Graph v1.0 would (see the package
// documentation for what is simulated); everything else answers 501.
// StatsPath serves the simulator's Stats as JSON (GET, under any path
// prefix). It is outside /v1.0, so no Graph client reaches it by accident.
const StatsPath = "/_graphsim/stats"

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if i := strings.Index(r.URL.Path, adminPrefix); i >= 0 {
		// Not Graph: the simulator's own admin API (stats, attacks,
		// lifecycle events), for tests, benchmarks and scripts that drive
		// a sim in another process. Not counted.
		s.serveAdmin(w, r, r.URL.Path[i+len(adminPrefix):])
		return
	}
	n := s.reqs.Add(1)
	ri := &reqInfo{requestID: UUIDFrom(s.seed, n, 0x72657175657374)}
	ri.clientReqID = r.Header.Get("client-request-id")
	if ri.clientReqID == "" {
		ri.clientReqID = ri.requestID
	}
	h := w.Header()
	h.Set("request-id", ri.requestID)
	h.Set("client-request-id", ri.clientReqID)

	if s.serveActivity(w, r, ri, n) {
		return
	}
	esc := r.URL.EscapedPath()
	version, marker := "v1.0", apiVersionMarker
	i := strings.Index(esc, marker)
	if i < 0 {
		version, marker = "beta", betaMarker
		i = strings.Index(esc, marker)
	}
	if i < 0 {
		s.notSimulated(w, r, ri)
		return
	}
	beta := version == "beta"
	prefix, rest := esc[:i], esc[i+len(marker):]
	rest = strings.TrimSuffix(rest, "/")
	segs := strings.Split(rest, "/")
	for k, sg := range segs {
		if u, err := url.PathUnescape(sg); err == nil {
			segs[k] = u
		}
	}
	for _, d := range s.deltas {
		if beta || !d.match(segs) {
			continue
		}
		ri.route = d.path
		if r.Method != http.MethodGet {
			h.Set("Allow", http.MethodGet)
			s.fail(w, ri, http.StatusMethodNotAllowed, "Request_BadRequest",
				fmt.Sprintf("graphsim: %s is not allowed on %s; delta is a GET function", r.Method, r.URL.Path))
			return
		}
		if s.throttled(n) {
			s.tooMany(w, ri)
			return
		}
		s.delta(w, r, ri, d, prefix, rest)
		return
	}
	if p := subscriptionRoute(segs); p != "" && !beta {
		ri.route = p
		if s.throttled(n) {
			s.tooMany(w, ri)
			return
		}
		if s.deny[SourceSubscriptions] || s.missing(subscriptionNeeds("")) != "" {
			s.fail(w, ri, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
			return
		}
		s.subscriptions(w, r, ri, segs, prefix)
		return
	}
	var rt *route
	var id string
	for _, cand := range s.routes {
		if cand.beta != beta {
			continue
		}
		if v, ok := cand.match(segs); ok {
			rt, id = cand, v
			break
		}
	}
	if rt == nil {
		s.notSimulated(w, r, ri)
		return
	}
	ri.route = rt.path
	if r.Method != http.MethodGet {
		h.Set("Allow", http.MethodGet)
		s.fail(w, ri, http.StatusMethodNotAllowed, "Request_BadRequest",
			fmt.Sprintf("graphsim: %s is not allowed on %s; the simulator serves GET only", r.Method, r.URL.Path))
		return
	}
	ri.activity = rt.source == SourceUsers && readsSignInActivity(r.URL.RawQuery)
	if s.throttled(n) {
		s.tooMany(w, ri)
		return
	}
	if s.reportThrottled(w, r, ri, rt) {
		return
	}
	s.list(w, r, ri, rt, id, prefix, rest)
}

// tooMany answers 429 with Retry-After (Options.ThrottleRate).
func (s *Server) tooMany(w http.ResponseWriter, ri *reqInfo) {
	s.throttle(w, ri, strconv.Itoa(s.retryAfter))
}

// throttle answers 429 as the throttling guidance's sample response shows
// it (microsoft-graph-docs-contrib concepts/throttling.md, "Sample
// response"): Retry-After in seconds and
//
//	{"error":{"code":"TooManyRequests","innerError":{"code":"429","date":…,
//	 "message":"Please retry after","request-id":…,"status":"429"},
//	 "message":"Please retry again later."}}
//
// (with client-request-id in innerError, as every error here).
func (s *Server) throttle(w http.ResponseWriter, ri *reqInfo, retryAfter string) {
	date := s.Clock().Format("2006-01-02T15:04:05")
	body := Object{{"error", Object{
		{"code", "TooManyRequests"},
		{"innerError", Object{
			{"code", "429"},
			{"date", date},
			{"message", "Please retry after"},
			{"request-id", ri.requestID},
			{"client-request-id", ri.clientReqID},
			{"status", "429"},
		}},
		{"message", "Please retry again later."},
	}}}
	w.Header().Set("Retry-After", retryAfter)
	w.Header().Set("Content-Type", contentTypeError)
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write(appendJSON(nil, body))
	s.record(ri, http.StatusTooManyRequests, 0)
	s.log.Debug("graphsim: throttled", "route", ri.route, "retry_after", retryAfter, "request_id", ri.requestID)
}

// throttled decides request n's fate from the seed alone, so a run with the
// same seed and request order sees the same 429s.
func (s *Server) throttled(n uint64) bool {
	if s.rate <= 0 {
		return false
	}
	x := splitmix64(s.seed ^ (n * 0x9e3779b97f4a7c15))
	return float64(x>>11)/(1<<53) < s.rate
}

func (s *Server) notSimulated(w http.ResponseWriter, r *http.Request, ri *reqInfo) {
	ri.route = notSimulatedKey
	msg := "graphsim: not simulated: " + r.Method + " " + r.URL.Path
	s.log.Warn(msg)
	s.fail(w, ri, http.StatusNotImplemented, "NotImplemented", msg)
}

// query is a parsed request.
type query struct {
	sel     []string // canonical names; nil: no $select
	top     int
	filter  *filterExpr
	skip    string
	rawKeep string // raw query without $skiptoken, for nextLink
	expand  []expansion
}

// expansion is one navigation property of $expand, with its nested
// $select (nil: the related type's default set).
type expansion struct {
	rule *expandRule
	sel  []string
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, ri *reqInfo, rt *route, id, prefix, rest string) {
	q, status, code, msg := s.parseQuery(r, rt)
	if status != 0 {
		s.fail(w, ri, status, code, msg)
		return
	}
	if status, code, msg := s.denied(rt, q); status != 0 {
		s.fail(w, ri, status, code, msg)
		return
	}
	filterText := ""
	if q.filter != nil {
		filterText = q.filter.String()
	}
	fpParts := []string{rt.path, strings.ToLower(id), filterText, strings.Join(q.sel, ","), strconv.Itoa(q.top)}
	if q.expand != nil {
		fpParts = append(fpParts, q.expandText())
	}
	fp := fingerprint(fpParts...)
	st := s.store
	st.mu.RLock()
	ver := st.version
	var cur cursor
	if q.skip != "" {
		v, c, err := decodeSkipToken(q.skip, fp)
		if err != nil || v > st.version {
			st.mu.RUnlock()
			s.fail(w, ri, http.StatusBadRequest, "BadRequest", "Invalid $skiptoken: it does not belong to this query.")
			return
		}
		ver, cur = v, c
	}
	coll, ok := rt.coll(st, id, ver)
	if !ok {
		st.mu.RUnlock()
		s.fail(w, ri, http.StatusNotFound, "Request_ResourceNotFound",
			fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
		return
	}
	if cur == nil {
		cur = make(cursor, len(coll.sources))
	} else if len(cur) != len(coll.sources) {
		st.mu.RUnlock()
		s.fail(w, ri, http.StatusBadRequest, "BadRequest", "Invalid $skiptoken: it does not belong to this query.")
		return
	}
	var recs []record
	var next cursor
	if ids, ok := idLookup(rt, q, ver, st.version); ok {
		// A filter on id alone, from the first page of the current state:
		// look the objects up (the order is the filter's; Graph's is its
		// own, and no client may rely on it).
		for _, lid := range ids {
			if o, found := rt.byID(st, lid); found {
				recs = append(recs, record{o: o})
			}
		}
	} else {
		recs, next = coll.page(cur, q.top, q.filter)
	}

	version := "/v1.0/"
	if rt.beta {
		version = betaMarker
	}
	base := scheme(r) + "://" + r.Host + prefix + version
	ctx := base + "$metadata#" + strings.ReplaceAll(rt.context, "{id}", id)
	if sel, ok := q.contextSelect(); ok {
		ctx += "(" + sel + ")"
	}
	if rt.single {
		if len(recs) == 0 {
			st.mu.RUnlock()
			s.fail(w, ri, http.StatusNotFound, "Request_ResourceNotFound",
				fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", strings.TrimPrefix(rt.path, "/")))
			return
		}
		o := append(Object{{"@odata.context", ctx + "/$entity"}}, rt.project(recs[0].o, q.sel)...)
		b := appendJSON(nil, o)
		st.mu.RUnlock()
		w.Header().Set("Content-Type", contentTypeJSON)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
		s.record(ri, http.StatusOK, 1)
		return
	}
	b := make([]byte, 0, 256+len(recs)*512)
	b = append(b, `{"@odata.context":`...)
	b = appendString(b, ctx)
	if next != nil {
		link := base + rest + "?"
		if q.rawKeep != "" {
			link += q.rawKeep + "&"
		}
		link += "$skiptoken=" + encodeSkipToken(fp, ver, next)
		b = append(b, `,"@odata.nextLink":`...)
		b = appendString(b, link)
	}
	b = append(b, `,"value":[`...)
	for i, rec := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		o := rt.project(rec.o, q.sel)
		for _, ex := range q.expand {
			o = append(o, Member{ex.rule.name, ex.objects(st, rec.o)})
		}
		b = appendJSON(b, o)
	}
	b = append(b, "]}"...)
	st.mu.RUnlock()

	w.Header().Set("Content-Type", contentTypeJSON)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	s.record(ri, http.StatusOK, len(recs))
	s.log.Debug("graphsim: served", "route", rt.path, "items", len(recs), "more", next != nil, "request_id", ri.requestID)
}

// idLookup returns the ids of a request that rt can answer by lookups:
// a filter on id alone, no skip token, the tenant's current version, and
// a page large enough for every id.
func idLookup(rt *route, q query, ver, current uint64) ([]string, bool) {
	if rt.byID == nil || q.filter == nil || q.skip != "" || ver != current {
		return nil, false
	}
	ids, ok := q.filter.onlyIDs()
	if !ok || len(ids) > q.top {
		return nil, false
	}
	return ids, true
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// parseQuery validates the OData query options. A non-zero status is the
// error answer.
func (s *Server) parseQuery(r *http.Request, rt *route) (q query, status int, code, msg string) {
	raw := r.URL.RawQuery
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return q, http.StatusBadRequest, "BadRequest", "Malformed query string: " + err.Error()
	}
	get := map[string]string{}
	for k, v := range vals {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, "$") {
			continue
		}
		switch lk {
		case "$select", "$filter", "$top", "$skiptoken", "$expand":
			if lk == "$expand" && rt.expand == nil {
				return q, http.StatusNotImplemented, "NotImplemented",
					fmt.Sprintf("graphsim: not simulated: query option %s on %s %s", k, r.Method, r.URL.Path)
			}
			if len(v) > 1 {
				return q, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Query option '%s' was specified more than once.", k)
			}
			get[lk] = v[0]
		default:
			return q, http.StatusNotImplemented, "NotImplemented",
				fmt.Sprintf("graphsim: not simulated: query option %s on %s %s", k, r.Method, r.URL.Path)
		}
	}
	// $select
	if v, ok := get["$select"]; ok {
		q.sel = []string{}
		seen := map[string]bool{}
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			c, ok := rt.canonicalProp(p)
			if !ok {
				return q, http.StatusBadRequest, "BadRequest",
					fmt.Sprintf("Parsing OData Select and Expand failed: Could not find a property named '%s' on type 'microsoft.graph.%s'.", p, rt.entity)
			}
			for _, no := range rt.notInCollection {
				if no == c {
					return q, http.StatusNotImplemented, "NotImplemented",
						fmt.Sprintf("The property '%s' can be returned only when retrieving a single %s.", c, rt.entity)
				}
			}
			if !seen[c] {
				seen[c] = true
				q.sel = append(q.sel, c)
			}
		}
	}
	// $top
	q.top = rt.page.def
	if _, ok := get["$top"]; ok && rt.page.topRefusable && s.rejectRegTop {
		// The message ASP.NET OData's query validator gives for an option
		// the endpoint does not allow (Graph documents no page size or
		// $top for this report).
		return q, http.StatusBadRequest, "BadRequest",
			"Query option 'Top' is not allowed. To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings."
	}
	if v, ok := get["$top"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return q, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Invalid $top value '%s'.", v)
		}
		if n < 1 || (n > rt.page.max && rt.page.rejectOver) {
			return q, http.StatusBadRequest, "Request_UnsupportedQuery",
				fmt.Sprintf("Invalid page size specified: '%d'. Must be between 1 and %d inclusive.", n, rt.page.max)
		}
		q.top = min(n, rt.page.max)
	}
	for _, p := range q.sel {
		if c, ok := rt.page.capWith[strings.ToLower(p)]; ok && q.top > c {
			q.top = c
		}
	}
	// $filter
	if v, ok := get["$filter"]; ok {
		f, err := parseFilter(v)
		if err != nil {
			fe := err.(*filterError)
			return q, http.StatusBadRequest, fe.code, fe.msg
		}
		if rt.filter == nil {
			return q, http.StatusBadRequest, "Request_UnsupportedQuery",
				fmt.Sprintf("Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", f.terms[0].prop, rt.entity)
		}
		if err := f.validate(rt.filter); err != nil {
			fe := err.(*filterError)
			return q, http.StatusBadRequest, fe.code, fe.msg
		}
		q.filter = &f
	}
	if v, ok := get["$expand"]; ok {
		ex, msg := parseExpand(v, rt)
		if msg != "" {
			return q, http.StatusBadRequest, "BadRequest", msg
		}
		q.expand = ex
	}
	if rt.single && (get["$top"] != "" || get["$filter"] != "" || get["$skiptoken"] != "") {
		return q, http.StatusBadRequest, "BadRequest", "Query option '$top', '$filter' or '$skiptoken' is not allowed on a single " + rt.entity + "."
	}
	q.skip = get["$skiptoken"]
	var keep []string
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k := part
		if i := strings.IndexByte(part, '='); i >= 0 {
			k = part[:i]
		}
		if uk, err := url.QueryUnescape(k); err == nil && strings.EqualFold(uk, "$skiptoken") {
			continue
		}
		keep = append(keep, part)
	}
	q.rawKeep = strings.Join(keep, "&")
	return q, 0, "", ""
}

// denied applies Options.Deny with the bodies Graph sends.
func (s *Server) denied(rt *route, q query) (int, string, string) {
	source := rt.source
	for _, p := range q.sel {
		if rt.source == SourceUsers && p == "signInActivity" {
			source = SourceSignInActivity
		}
	}
	if p := s.missing(required(source)); p != "" {
		return permissionDenied(source, p)
	}
	if s.noPremium && needsPremium(source) {
		return premiumDenied()
	}
	if source == SourceSignInActivity && s.deny[SourceSignInActivity] {
		return premiumDenied()
	}
	if !s.deny[rt.source] && !(rt.source == SourceSignInsBeta && s.deny[SourceSignIns]) &&
		!(rt.source == SourceDomainFederation && s.deny[SourceDomains]) {
		return 0, "", ""
	}
	switch rt.source {
	case SourceSignIns, SourceSignInsBeta, SourceUserRegistrationDetails:
		return premiumDenied()
	case SourceDirectoryAudits:
		return http.StatusForbidden, "Authentication_MSGraphPermissionMissing",
			"Calling principal does not have required MSGraph permissions AuditLog.Read.All"
	case SourceConditionalAccess:
		return http.StatusForbidden, "AccessDenied",
			"You cannot perform the requested operation, required scopes are missing in the token."
	default:
		return http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
	}
}

// project returns the properties a response carries: the selected ones
// (null when absent, unless the route omits them), or the default set.
// "@odata.type" (derived types) and, on directory objects, "id" always go
// along.
func (rt *route) project(o Object, sel []string) Object {
	want := sel
	if want == nil {
		if rt.defaultSelect == nil {
			return stripInternal(o)
		}
		want = rt.defaultSelect
	}
	out := make(Object, 0, len(want)+2)
	has := func(k string) bool {
		for _, w := range want {
			if w == k {
				return true
			}
		}
		return rt.alwaysID && k == "id"
	}
	for _, m := range o {
		if m.Key == "@odata.type" || has(m.Key) {
			out = append(out, m)
		}
	}
	for _, w := range want {
		if _, ok := o.Get(w); ok {
			continue
		}
		omit := false
		for _, a := range rt.omitAbsent {
			if a == w {
				omit = true
			}
		}
		if !omit {
			out = append(out, Member{w, nil})
		}
	}
	return out
}

// fail writes Graph's error body.
func (s *Server) fail(w http.ResponseWriter, ri *reqInfo, status int, code, msg string) {
	date := s.Clock().Format("2006-01-02T15:04:05")
	body := Object{{"error", Object{
		{"code", code},
		{"message", msg},
		{"innerError", Object{
			{"date", date},
			{"request-id", ri.requestID},
			{"client-request-id", ri.clientReqID},
		}},
	}}}
	w.Header().Set("Content-Type", contentTypeError)
	w.WriteHeader(status)
	_, _ = w.Write(appendJSON(nil, body))
	s.record(ri, status, 0)
	s.log.Debug("graphsim: error", "route", ri.route, "status", status, "code", code, "request_id", ri.requestID)
}

func (s *Server) record(ri *reqInfo, status, items int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Total++
	s.stats.Status[status]++
	if ri.route != "" {
		s.stats.Requests[ri.route]++
		if items > 0 {
			s.stats.Items[ri.route] += items
		}
	}
	if status == http.StatusTooManyRequests {
		s.stats.Throttled++
	}
	if ri.activity {
		s.stats.SignInActivity++
		s.stats.SignInActivityItems += items
	}
}

// splitmix64 is a small, good 64-bit mixer (Steele et al.).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// UUIDFrom derives a version-4-shaped UUID from seed, n and a salt: how the
// tenant, its synthetic users and scenario steps make reproducible ids.
func UUIDFrom(seed, n, salt uint64) string {
	a := splitmix64(seed ^ salt ^ (n * 0xd1b54a32d192ed03))
	b := splitmix64(a ^ n)
	var buf [36]byte
	const hx = "0123456789abcdef"
	put := func(v uint64, from, count int, at int) {
		for i := 0; i < count; i++ {
			buf[at+i] = hx[(v>>(uint(from-i-1)*4))&0xf]
		}
	}
	put(a>>32, 8, 8, 0)
	buf[8] = '-'
	put(a>>16, 4, 4, 9)
	buf[13] = '-'
	buf[14] = '4'
	put(a, 3, 3, 15)
	buf[18] = '-'
	buf[19] = hx[8+(b>>62)]
	put(b>>48, 3, 3, 20)
	buf[23] = '-'
	put(b, 12, 12, 24)
	return string(buf[:])
}
