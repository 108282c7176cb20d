package graphsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// The simulated Office 365 Management Activity API (ACTIVITY.md describes
// it and cites Microsoft's pages). It is served from the same listener as
// Graph, under {prefix}/api/v1.0/{tenantId}/activity/feed/…, so that a
// client given the simulator's URL as its API root reaches it.

// ActivityFault makes the simulated Management Activity API refuse every
// request the way the real one refuses a tenant it cannot serve.
type ActivityFault string

// Activity faults (Options.ActivityFault).
const (
	// ActivityForbidden answers 403 AF10001: the token lacks
	// ActivityFeed.Read.
	ActivityForbidden ActivityFault = "forbidden"
	// ActivityAuditingDisabled answers as for a tenant whose unified audit
	// log is off: 400 with
	// "Microsoft.Office.Compliance.Audit.DataServiceException: Tenant <id>
	// does not exist." (troubleshooting page).
	ActivityAuditingDisabled ActivityFault = "auditingDisabled"
)

// ActivityFile is the scenario file that holds the Management Activity
// API's subscriptions and content blobs.
const ActivityFile = "activity.json"

// activityContentTypes are the content types the API accepts
// (office-365-management-activity-api-reference.md, "Working with the
// Office 365 Management Activity API").
var activityContentTypes = []string{"Audit.AzureActiveDirectory", "Audit.Exchange", "Audit.SharePoint", "Audit.General", "DLP.All"}

// defaultActivityPageSize is how many blobs one listing page holds: the
// reference says only that the number is "limited to prevent response
// timeouts".
const defaultActivityPageSize = 100

// activityRetention is how long a blob can be fetched after it became
// available ("Content older than 7 days cannot be retrieved").
const activityRetention = 7 * 24 * time.Hour

// activityPathRE matches the API's paths: the prefix, the tenant and the
// operation.
var activityPathRE = regexp.MustCompile(`^(.*)/api/v1\.0/([^/]+)/activity/feed(/.*)?$`)

// ActivityBlob is one content blob of the simulated feed.
type ActivityBlob struct {
	ContentType string
	ContentID   string
	Created     time.Time // contentCreated: when it became available
	Records     []Object  // the audit records, in the blob's order
}

// activitySub is one content type's subscription.
type activitySub struct {
	contentType string
	webhook     *activityWebhook
	feed        string // the feed's URL as the start request reached it: notifications' contentUri
}

type activityWebhook struct {
	address, authID, expiration string
	expired                     bool // ExpireActivityWebhook: no notifications, listed as "expired"
}

// activityFeed is the simulated feed's state.
type activityFeed struct {
	fault    ActivityFault
	pageSize int

	mu    sync.Mutex
	subs  map[string]*activitySub // lower-case content type
	blobs []ActivityBlob          // in the order they became available
	n     int                     // blobs created, for ids
}

// activityData is the scenario's activity.json.
type activityData struct {
	Subscriptions []struct {
		ContentType string `json:"contentType"`
	} `json:"subscriptions"`
	Content []json.RawMessage `json:"content"`
}

// loadActivity reads the scenario's activity.json (none: no subscriptions,
// no content). Relative times resolve against now; records' CreationTime
// is written as the API does (UTC, no zone, whole seconds).
func loadActivity(fsys fs.FS, now time.Time, unsubscribed bool) (*activityFeed, error) {
	f := &activityFeed{subs: map[string]*activitySub{}}
	if fsys == nil {
		return f, nil
	}
	b, err := fs.ReadFile(fsys, ActivityFile)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, err
	}
	var d activityData
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", ActivityFile, err)
	}
	if !unsubscribed {
		for _, s := range d.Subscriptions {
			if !slices.Contains(activityContentTypes, s.ContentType) {
				return nil, fmt.Errorf("%s: subscription to unknown content type %q", ActivityFile, s.ContentType)
			}
			f.subs[strings.ToLower(s.ContentType)] = &activitySub{contentType: s.ContentType}
		}
	}
	l := &loader{fsys: fsys, now: now}
	for i, raw := range d.Content {
		v, err := decodeJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: content %d: %w", ActivityFile, i, err)
		}
		r, err := l.resolve(v, "")
		if err != nil {
			return nil, fmt.Errorf("%s: content %d: %w", ActivityFile, i, err)
		}
		o, ok := r.(Object)
		if !ok {
			return nil, fmt.Errorf("%s: content %d is not an object", ActivityFile, i)
		}
		created, err := time.Parse(time.RFC3339Nano, o.Str("contentCreated"))
		if err != nil {
			return nil, fmt.Errorf("%s: content %d: contentCreated: %w", ActivityFile, i, err)
		}
		recs, _ := o.Get("records")
		arr, ok := recs.([]any)
		if !ok || len(arr) == 0 {
			return nil, fmt.Errorf("%s: content %d: no records", ActivityFile, i)
		}
		var records []Object
		for j, rv := range arr {
			rec, ok := rv.(Object)
			if !ok {
				return nil, fmt.Errorf("%s: content %d: record %d is not an object", ActivityFile, i, j)
			}
			records = append(records, recordTimes(rec))
		}
		if _, err := f.add(o.Str("contentType"), created, records); err != nil {
			return nil, fmt.Errorf("%s: content %d: %w", ActivityFile, i, err)
		}
	}
	return f, nil
}

// recordTimes writes a record's CreationTime as the API does:
// "2015-06-29T20:03:19".
func recordTimes(rec Object) Object {
	if t, err := time.Parse(time.RFC3339Nano, rec.Str("CreationTime")); err == nil {
		rec.Set("CreationTime", t.UTC().Format("2006-01-02T15:04:05"))
	}
	return rec
}

// add appends a blob; the feed lists blobs in the order they became
// available. The caller holds f.mu or owns f.
func (f *activityFeed) add(contentType string, created time.Time, records []Object) (string, error) {
	if !slices.Contains(activityContentTypes, contentType) {
		return "", fmt.Errorf("unknown content type %q", contentType)
	}
	f.n++
	// The form of the ids the API hands out: a timestamp with a sequence,
	// twice, then the content type.
	stamp := created.UTC().Format("20060102150405") + fmt.Sprintf("%03d%06d", created.Nanosecond()/1e6, f.n)
	ct := strings.ToLower(strings.ReplaceAll(contentType, ".", "_"))
	id := stamp + "$" + stamp + "$" + ct + "$" + strings.ReplaceAll(contentType, ".", "_") + "$emea0026"
	b := ActivityBlob{ContentType: contentType, ContentID: id, Created: created.UTC(), Records: records}
	i, _ := slices.BinarySearchFunc(f.blobs, b.Created, func(x ActivityBlob, t time.Time) int { return x.Created.Compare(t) })
	for i < len(f.blobs) && !f.blobs[i].Created.After(b.Created) {
		i++
	}
	f.blobs = slices.Insert(f.blobs, i, b)
	return id, nil
}

// AppendActivityContent makes a content blob of contentType available at
// created (Clock's time for a blob that arrives now; a time after Clock
// for one that arrives later) with records, and returns its contentId.
// Records' CreationTime may be a time.Time or the API's text. Scenario
// steps use it to add Exchange audit records.
func (s *Server) AppendActivityContent(contentType string, created time.Time, records []Object) (string, error) {
	recs := make([]Object, len(records))
	for i, r := range records {
		r = copyObj(r)
		if v, ok := r.Get("CreationTime"); ok {
			if t, ok := v.(time.Time); ok {
				r.Set("CreationTime", t.UTC().Format("2006-01-02T15:04:05"))
			}
		}
		recs[i] = r
	}
	s.activity.mu.Lock()
	id, err := s.activity.add(contentType, created, recs)
	s.activity.mu.Unlock()
	if err == nil {
		s.announceActivity(contentType, id, created)
	}
	return id, err
}

// ActivityContent returns copies of the feed's blobs, in the order they
// became available (those after Clock included).
func (s *Server) ActivityContent() []ActivityBlob {
	s.activity.mu.Lock()
	defer s.activity.mu.Unlock()
	out := make([]ActivityBlob, len(s.activity.blobs))
	for i, b := range s.activity.blobs {
		b.Records = slices.Clone(b.Records)
		for j := range b.Records {
			b.Records[j] = copyObj(b.Records[j])
		}
		out[i] = b
	}
	return out
}

// ActivitySubscriptions returns the content types with a started
// subscription, sorted.
func (s *Server) ActivitySubscriptions() []string {
	s.activity.mu.Lock()
	defer s.activity.mu.Unlock()
	var out []string
	for _, sub := range s.activity.subs {
		out = append(out, sub.contentType)
	}
	slices.Sort(out)
	return out
}

// serveActivity answers a Management Activity API request; it reports
// false when the path is not one.
func (s *Server) serveActivity(w http.ResponseWriter, r *http.Request, ri *reqInfo, n uint64) bool {
	m := activityPathRE.FindStringSubmatch(r.URL.Path)
	if m == nil {
		return false
	}
	prefix, tenantID, op := m[1], m[2], strings.TrimSuffix(m[3], "/")
	route := "/activity/feed" + op
	if strings.HasPrefix(op, "/audit/") {
		route = "/activity/feed/audit"
	}
	ri.route = route
	a := s.activity
	switch {
	case !strings.EqualFold(tenantID, s.store.tenantID):
		if !guidText.MatchString(tenantID) {
			s.activityFail(w, ri, http.StatusBadRequest, "AF20013", fmt.Sprintf("The tenant ID passed in the URL (%s) is not a valid GUID.", tenantID))
			return true
		}
		s.activityFail(w, ri, http.StatusBadRequest, "AF20011", fmt.Sprintf("Specified tenant ID (%s) does not exist in the system or has been deleted.", tenantID))
		return true
	case a.fault == ActivityForbidden || (s.granted != nil && !s.granted["activityfeed.read"]):
		s.activityFail(w, ri, http.StatusForbidden, "AF10001", "The permission set () sent in the request did not include the expected permission ActivityFeed.Read.")
		return true
	case a.fault == ActivityAuditingDisabled:
		// The shape of the answers reported in MicrosoftDocs/office-365-management-api
		// issue 89: the operation in the code, a .NET exception in the message.
		opName := map[string]string{"/subscriptions/start": "StartSubscription", "/subscriptions/list": "ListSubscriptions",
			"/subscriptions/stop": "StopSubscription", "/subscriptions/content": "ListContent"}[op]
		if opName == "" {
			opName = "GetBlob"
		}
		s.activityFail(w, ri, http.StatusBadRequest,
			fmt.Sprintf("%s [TenantId=%s,ContentType=%s,ApplicationId=%s,PublisherId=%s] failed. Exception", opName, s.store.tenantID,
				r.URL.Query().Get("contentType"), s.appID, r.URL.Query().Get("PublisherIdentifier")),
			"Microsoft.Office.Compliance.Audit.DataServiceException: Tenant "+s.store.tenantID+" does not exist.\r\n"+
				"   at Microsoft.Office.Compliance.Audit.API.AzureManager.GetSubscriptionTableClientForTenant(Guid tenantID, Boolean throwIfTenantNull)")
		return true
	case s.throttled(n):
		// The troubleshooting page's throttling answer: 403 with AF429.
		w.Header().Set("Retry-After", strconv.Itoa(s.retryAfter))
		s.activityFail(w, ri, http.StatusForbidden, "AF429", "Too many requests. Method="+r.Method+", PublisherId="+r.URL.Query().Get("PublisherIdentifier"))
		s.mu.Lock()
		s.stats.Throttled++
		s.mu.Unlock()
		return true
	}
	allow := func(method string) bool {
		if r.Method == method {
			return true
		}
		w.Header().Set("Allow", method)
		s.activityFail(w, ri, http.StatusMethodNotAllowed, "", fmt.Sprintf("The requested resource does not support http method '%s'.", r.Method))
		return false
	}
	switch {
	case op == "/subscriptions/start":
		if allow(http.MethodPost) {
			s.activityStart(w, r, ri, prefix, tenantID)
		}
	case op == "/subscriptions/stop":
		if allow(http.MethodPost) {
			s.activityStop(w, r, ri)
		}
	case op == "/subscriptions/list":
		if allow(http.MethodGet) {
			a.mu.Lock()
			var subs []*activitySub
			for _, sub := range a.subs {
				subs = append(subs, sub)
			}
			a.mu.Unlock()
			slices.SortFunc(subs, func(x, y *activitySub) int { return strings.Compare(x.contentType, y.contentType) })
			out := make([]any, 0, len(subs))
			for _, sub := range subs {
				out = append(out, sub.object())
			}
			s.activityJSON(w, ri, http.StatusOK, out, len(out))
		}
	case op == "/subscriptions/content":
		if allow(http.MethodGet) {
			s.activityList(w, r, ri, prefix, tenantID)
		}
	case strings.HasPrefix(op, "/audit/"):
		if allow(http.MethodGet) {
			id, _ := url.PathUnescape(strings.TrimPrefix(op, "/audit/"))
			s.activityBlob(w, ri, id)
		}
	default:
		s.activityFail(w, ri, http.StatusNotFound, "", "graphsim: not simulated: "+r.Method+" "+r.URL.Path)
	}
	return true
}

var guidText = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func (sub *activitySub) object() Object {
	o := Object{{"contentType", sub.contentType}, {"status", "enabled"}}
	if sub.webhook == nil {
		o = append(o, Member{"webhook", nil})
		return o
	}
	var exp any
	if sub.webhook.expiration != "" {
		exp = sub.webhook.expiration
	}
	status := "enabled"
	if sub.webhook.expired {
		status = "expired"
	}
	return append(o, Member{"webhook", Object{{"status", status}, {"address", sub.webhook.address},
		{"authId", sub.webhook.authID}, {"expiration", exp}}})
}

// contentTypeOf checks the contentType parameter: AF20001 when missing,
// AF20020 when not one of the API's.
func (s *Server) contentTypeOf(w http.ResponseWriter, r *http.Request, ri *reqInfo) (string, bool) {
	ct := r.URL.Query().Get("contentType")
	switch {
	case ct == "":
		s.activityFail(w, ri, http.StatusBadRequest, "AF20001", "Missing parameter: contentType.")
		return "", false
	case !slices.Contains(activityContentTypes, ct):
		s.activityFail(w, ri, http.StatusBadRequest, "AF20020", "The specified content type is not valid.")
		return "", false
	}
	return ct, true
}

// activityStart starts (or updates) a subscription. A webhook is
// validated first, as the reference's "Webhook validation" describes: a
// POST with Webhook-ValidationCode (and Webhook-AuthID when set) that must
// answer 200; otherwise AF20021 and nothing changes.
func (s *Server) activityStart(w http.ResponseWriter, r *http.Request, ri *reqInfo, prefix, tenantID string) {
	ct, ok := s.contentTypeOf(w, r, ri)
	if !ok {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		s.activityFail(w, ri, http.StatusBadRequest, "AF20002", "Invalid parameter type: webhook. Expected type: object")
		return
	}
	var req struct {
		Webhook *struct {
			Address    string  `json:"address"`
			AuthID     string  `json:"authId"`
			Expiration *string `json:"expiration"`
		} `json:"webhook"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			s.activityFail(w, ri, http.StatusBadRequest, "AF20002", "Invalid parameter type: webhook. Expected type: object")
			return
		}
	}
	sub := &activitySub{contentType: ct, feed: feedURL(r, prefix, tenantID)}
	if wh := req.Webhook; wh != nil && wh.Address != "" {
		if why := s.validateActivityWebhook(r.Context(), wh.Address, wh.AuthID); why != "" {
			s.activityFail(w, ri, http.StatusBadRequest, "AF20021", fmt.Sprintf("The webhook endpoint {%s} could not be validated. %s", wh.Address, why))
			return
		}
		sub.webhook = &activityWebhook{address: wh.Address, authID: wh.AuthID}
		if wh.Expiration != nil {
			if *wh.Expiration != "" {
				t, err := time.Parse(time.RFC3339Nano, *wh.Expiration)
				if err != nil {
					s.activityFail(w, ri, http.StatusBadRequest, "AF20002", "Invalid parameter type: expiration. Expected type: datetime")
					return
				}
				if !t.After(s.Clock()) {
					s.activityFail(w, ri, http.StatusBadRequest, "AF20003", fmt.Sprintf("Expiration %s provided is set to past date and time.", *wh.Expiration))
					return
				}
			}
			sub.webhook.expiration = *wh.Expiration
		}
	}
	s.activity.mu.Lock()
	s.activity.subs[strings.ToLower(ct)] = sub
	s.activity.mu.Unlock()
	s.activityJSON(w, ri, http.StatusOK, sub.object(), 1)
}

// validateActivityWebhook sends the validation request; it returns why the
// endpoint failed, or "".
func (s *Server) validateActivityWebhook(ctx context.Context, address, authID string) string {
	u, err := url.Parse(address)
	if err != nil || u.Host == "" {
		return "The address must begin with HTTPS."
	}
	if u.Scheme != "https" && !(s.allowHTTP && u.Scheme == "http" && tenant.IsLoopbackHost(u.Hostname())) {
		return "The address must begin with HTTPS."
	}
	ctx, cancel := context.WithTimeout(ctx, s.validateTTL)
	defer cancel()
	code := UUIDFrom(s.seed, s.valN.Add(1), 0x61637476)
	body, _ := json.Marshal(map[string]string{"validationCode": code})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, address, bytes.NewReader(body))
	if err != nil {
		return "The endpoint did not return HTTP 200."
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Webhook-ValidationCode", code)
	if authID != "" {
		req.Header.Set("Webhook-AuthID", authID)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return "The endpoint did not return HTTP 200."
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "The endpoint did not return HTTP 200."
	}
	return ""
}

func (s *Server) activityStop(w http.ResponseWriter, r *http.Request, ri *reqInfo) {
	ct, ok := s.contentTypeOf(w, r, ri)
	if !ok {
		return
	}
	s.activity.mu.Lock()
	_, had := s.activity.subs[strings.ToLower(ct)]
	delete(s.activity.subs, strings.ToLower(ct))
	s.activity.mu.Unlock()
	if !had {
		s.activityFail(w, ri, http.StatusBadRequest, "AF20022", "No subscription found for the specified content type")
		return
	}
	w.WriteHeader(http.StatusOK)
	s.record(ri, http.StatusOK, 0)
}

// activityTime parses startTime and endTime in the forms the reference
// lists: YYYY-MM-DD, YYYY-MM-DDTHH:MM, YYYY-MM-DDTHH:MM:SS (UTC); a
// trailing Z or fraction is tolerated.
func activityTime(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

const badWindow = "Start time and end time must both be specified (or both omitted) and must be less than or equal to 24 hours apart, with the start time no more than 7 days in the past."

// activityList lists the blobs of a content type that became available in
// [startTime, endTime) and no later than Clock, a page at a time; the
// NextPageUri header carries the same window and a nextPage id.
func (s *Server) activityList(w http.ResponseWriter, r *http.Request, ri *reqInfo, prefix, tenantID string) {
	ct, ok := s.contentTypeOf(w, r, ri)
	if !ok {
		return
	}
	q := r.URL.Query()
	now := s.Clock()
	a := s.activity
	a.mu.Lock()
	_, subscribed := a.subs[strings.ToLower(ct)]
	a.mu.Unlock()
	if !subscribed {
		s.activityFail(w, ri, http.StatusBadRequest, "AF20022", "No subscription found for the specified content type")
		return
	}
	st, et := q.Get("startTime"), q.Get("endTime")
	var start, end time.Time
	switch {
	case st == "" && et == "":
		end = now
		start = now.Add(-24 * time.Hour)
		st, et = start.Format("2006-01-02T15:04:05"), end.Format("2006-01-02T15:04:05")
	case st == "" || et == "":
		s.activityFail(w, ri, http.StatusBadRequest, "AF20030", badWindow)
		return
	default:
		var ok1, ok2 bool
		start, ok1 = activityTime(st)
		end, ok2 = activityTime(et)
		if !ok1 || !ok2 {
			s.activityFail(w, ri, http.StatusBadRequest, "AF20002", "Invalid parameter type: startTime. Expected type: datetime")
			return
		}
		if end.Sub(start) > 24*time.Hour || !start.Before(end) || start.Before(now.Add(-activityRetention)) {
			s.activityFail(w, ri, http.StatusBadRequest, "AF20030", badWindow)
			return
		}
	}
	from := 0
	if np := q.Get("nextPage"); np != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(np, "R"))
		if !strings.HasPrefix(np, "R") || err != nil || n <= 0 {
			s.activityFail(w, ri, http.StatusBadRequest, "AF20031", fmt.Sprintf("Invalid nextPage Input: %s.", np))
			return
		}
		from = n
	}
	a.mu.Lock()
	var match []ActivityBlob
	for _, b := range a.blobs {
		if b.ContentType == ct && !b.Created.Before(start) && b.Created.Before(end) && !b.Created.After(now) {
			match = append(match, b)
		}
	}
	a.mu.Unlock()
	size := a.pageSize
	if from > len(match) {
		from = len(match)
	}
	to := min(from+size, len(match))
	feed := feedURL(r, prefix, tenantID)
	out := make([]any, 0, to-from)
	for _, b := range match[from:to] {
		out = append(out, listingEntry(feed, b))
	}
	if to < len(match) {
		// As the reference shows it: the window as given, then the page.
		esc := func(v string) string { return strings.ReplaceAll(url.QueryEscape(v), "%3A", ":") }
		next := feed + "/subscriptions/content?contentType=" + esc(ct) + "&startTime=" + esc(st) + "&endTime=" + esc(et) +
			fmt.Sprintf("&nextPage=R%d", to)
		if p := q.Get("PublisherIdentifier"); p != "" {
			next += "&PublisherIdentifier=" + esc(p)
		}
		w.Header().Set("NextPageUri", next)
	}
	s.activityJSON(w, ri, http.StatusOK, out, len(out))
}

// feedURL is the feed's root as request r reached it.
func feedURL(r *http.Request, prefix, tenantID string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + prefix + "/api/v1.0/" + tenantID + "/activity/feed"
}

// listingEntry is a blob as a listing (and a notification) shows it.
func listingEntry(feed string, b ActivityBlob) Object {
	return Object{
		{"contentUri", feed + "/audit/" + b.ContentID},
		{"contentId", b.ContentID},
		{"contentType", b.ContentType},
		{"contentCreated", b.Created.Format("2006-01-02T15:04:05.000Z")},
		{"contentExpiration", b.Created.Add(activityRetention).Format("2006-01-02T15:04:05.000Z")},
	}
}

// activityBlob serves one blob's records: a JSON array.
func (s *Server) activityBlob(w http.ResponseWriter, ri *reqInfo, id string) {
	now := s.Clock()
	a := s.activity
	a.mu.Lock()
	var blob *ActivityBlob
	for i := range a.blobs {
		if a.blobs[i].ContentID == id {
			b := a.blobs[i]
			blob = &b
			break
		}
	}
	var subscribed bool
	if blob != nil {
		_, subscribed = a.subs[strings.ToLower(blob.ContentType)]
	}
	a.mu.Unlock()
	switch {
	case blob == nil || blob.Created.After(now):
		s.activityFail(w, ri, http.StatusNotFound, "AF20050", fmt.Sprintf("The specified content (%s) does not exist.", id))
	case !subscribed:
		s.activityFail(w, ri, http.StatusBadRequest, "AF20022", "No subscription found for the specified content type")
	case now.Sub(blob.Created) > activityRetention:
		s.activityFail(w, ri, http.StatusBadRequest, "AF20051", fmt.Sprintf("Content requested with the key %s has already expired. Content older than 7 days cannot be retrieved.", id))
	default:
		out := make([]any, len(blob.Records))
		for i, rec := range blob.Records {
			out[i] = rec
		}
		s.activityJSON(w, ri, http.StatusOK, out, len(out))
	}
}

func (s *Server) activityJSON(w http.ResponseWriter, ri *reqInfo, status int, v any, items int) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(appendJSON(nil, v))
	s.record(ri, status, items)
}

// activityFail answers the API's error body: {"error":{"code","message"}}.
func (s *Server) activityFail(w http.ResponseWriter, ri *reqInfo, status int, code, msg string) {
	s.activityJSON(w, ri, status, Object{{"error", Object{{"code", code}, {"message", msg}}}}, 0)
	s.log.Debug("graphsim: activity error", "route", ri.route, "status", status, "code", code)
}

// activityExpectedFile lists the findings a scan must report from the
// scenario's Management Activity API content (activity.json), apart from
// expected.json while the scan does not read the feed yet (issue 11: the
// rules and the collection join it).
const activityExpectedFile = "activity-expected.json"

// ActivityExpected returns the findings a scan that reads the scenario's
// Exchange audit records must report (activity-expected.json; none when
// the scenario has none). It fails only if the file is malformed.
func (sc *Scenario) ActivityExpected() ([]ExpectedFinding, error) {
	out := []ExpectedFinding{}
	if err := readJSONFile(sc.Data, activityExpectedFile, &out); err != nil {
		return nil, fmt.Errorf("graphsim: scenario %s: activity findings: %w", sc.Name, err)
	}
	return out, nil
}
