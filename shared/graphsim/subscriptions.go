package graphsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Change-notification subscriptions (POST/GET /subscriptions,
// GET/PATCH/DELETE /subscriptions/{id}, POST /subscriptions/{id}/reauthorize)
// as documented in microsoft-graph-docs-contrib
// api-reference/v1.0/resources/subscription.md,
// api-reference/v1.0/api/subscription-post-subscriptions.md and
// concepts/change-notifications-delivery-webhooks.md:
//
//   - resource "users" or "groups" (a leading "/" is accepted). Graph has
//     answered 201 for paths it never delivers on (microsoft-graph-docs
//     issue #8454); the simulator refuses every other resource with 400 so
//     a client cannot rely on one.
//   - changeType: a comma-separated subset of created, updated, deleted.
//     "User and group change notifications support updated and deleted";
//     creation and soft deletion arrive as updated.
//   - expirationDateTime in the future and at most 41,760 minutes ahead
//     ("user, group, other directory resources: 41760 minutes (under 29
//     days)"); beyond: 400 ExtensionError "Subscription expiration can only
//     be 41760 minutes in the future." (the wording Graph uses, issue #7726).
//   - clientState at most 128 characters; notificationUrl and
//     lifecycleNotificationUrl "must make use of the HTTPS protocol" (http
//     on loopback with Options.AllowHTTPNotificationURL).
//   - "Duplicate subscriptions aren't allowed. When a subscription request
//     contains the same values for changeType and resource as an existing
//     subscription, the request fails with an HTTP error code 409 Conflict,
//     and the error message Subscription Id <> already exists for the
//     requested combination" (code ObjectIdentifierInUse, as Graph sends).
//   - Validation: "Microsoft Graph encodes a validation token and includes
//     it in a POST request to the notification URL" with "Content-Type:
//     text/plain; charset=utf-8"; the endpoint must answer "within 10
//     seconds" with "A status code of HTTP 200 OK", "A content type of
//     text/plain" and "A body that includes the URL decoded plain text
//     validation token"; "If you're subscribing to lifecycle notifications
//     as well, the subscription service also validates the
//     lifecycleNotificationUrl". A failure answers 400 with Graph's
//     messages ("Subscription validation request failed. Notification
//     endpoint must respond with 200 OK to validation request.",
//     "... Response must exactly match validationToken query parameter.",
//     InvalidRequest "Subscription validation request timed out.") and
//     creates nothing.
//   - 201 with the subscription object; renewal by PATCH of
//     expirationDateTime (200); DELETE (204); reauthorize (204). "Once this
//     time passes, Microsoft Graph deletes the subscription": expired
//     subscriptions disappear on the tenant clock.

// Paths of the subscription routes (Stats keys).
const (
	pathSubscriptions = "/subscriptions"
	pathSubscription  = "/subscriptions/{id}"
	pathReauthorize   = "/subscriptions/{id}/reauthorize"
)

// maxExpiryMinutes is the longest subscription lifetime for users and
// groups.
const maxExpiryMinutes = 41760

// maxClientState is the longest clientState Graph accepts.
const maxClientState = 128

// subscription is one live subscription.
type subscription struct {
	id, resource, changeType, clientState string
	notificationURL, lifecycleURL, tls    string
	kind                                  ObjectKind
	types                                 map[string]bool
	expires                               time.Time
	paused                                bool // reauthorizationRequired sent, not yet answered
	pending                               []pendingNote
}

type pendingNote struct {
	body   []byte
	queued time.Time
}

// SubscriptionInfo describes a live subscription. The URLs are given
// without their query (it may hold a function key); clientState is not
// given.
type SubscriptionInfo struct {
	ID                       string    `json:"id"`
	Resource                 string    `json:"resource"`
	ChangeType               string    `json:"changeType"`
	NotificationURL          string    `json:"notificationUrl"`
	LifecycleNotificationURL string    `json:"lifecycleNotificationUrl,omitempty"`
	ExpirationDateTime       time.Time `json:"expirationDateTime"`
	// Paused: a reauthorizationRequired lifecycle notification was sent;
	// change notifications wait for POST /reauthorize or a renewal.
	Paused bool `json:"paused"`
}

// Subscriptions lists the live subscriptions, oldest first.
func (s *Server) Subscriptions() []SubscriptionInfo {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	s.pruneLocked(s.Clock())
	out := make([]SubscriptionInfo, 0, len(s.subs))
	for _, sub := range s.sortedLocked() {
		out = append(out, SubscriptionInfo{
			ID: sub.id, Resource: sub.resource, ChangeType: sub.changeType,
			NotificationURL: stripQuery(sub.notificationURL), LifecycleNotificationURL: stripQuery(sub.lifecycleURL),
			ExpirationDateTime: sub.expires, Paused: sub.paused,
		})
	}
	return out
}

func stripQuery(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}

// sortedLocked returns the subscriptions in creation order. The caller
// holds subMu.
func (s *Server) sortedLocked() []*subscription {
	out := make([]*subscription, 0, len(s.subs))
	for _, sub := range s.subs {
		out = append(out, sub)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// pruneLocked deletes expired subscriptions. The caller holds subMu.
func (s *Server) pruneLocked(now time.Time) {
	for k, sub := range s.subs {
		if !now.Before(sub.expires) {
			delete(s.subs, k)
			s.log.Debug("graphsim: subscription expired", "subscription", sub.id)
		}
	}
}

// subscriptions answers the /subscriptions routes. segs[0] is
// "subscriptions".
func (s *Server) subscriptions(w http.ResponseWriter, r *http.Request, ri *reqInfo, segs []string, prefix string) {
	base := scheme(r) + "://" + r.Host + prefix + "/v1.0/"
	switch {
	case len(segs) == 1 && r.Method == http.MethodGet:
		s.listSubscriptions(w, ri, base)
	case len(segs) == 1 && r.Method == http.MethodPost:
		s.createSubscription(w, r, ri, base)
	case len(segs) == 2 && r.Method == http.MethodGet:
		s.getSubscription(w, ri, base, segs[1])
	case len(segs) == 2 && r.Method == http.MethodPatch:
		s.renewSubscription(w, r, ri, base, segs[1])
	case len(segs) == 2 && r.Method == http.MethodDelete:
		s.deleteSubscription(w, ri, segs[1])
	case len(segs) == 3 && r.Method == http.MethodPost:
		s.reauthorize(w, ri, segs[1])
	default:
		allow := map[int]string{1: "GET, POST", 2: "GET, PATCH, DELETE", 3: "POST"}[len(segs)]
		w.Header().Set("Allow", allow)
		s.fail(w, ri, http.StatusMethodNotAllowed, "Request_BadRequest",
			fmt.Sprintf("graphsim: %s is not allowed on %s", r.Method, r.URL.Path))
	}
}

// subscriptionRoute returns the Stats key of segs (after /v1.0), or "" if
// segs do not address a subscription route.
func subscriptionRoute(segs []string) string {
	if len(segs) == 0 || !strings.EqualFold(segs[0], "subscriptions") {
		return ""
	}
	switch {
	case len(segs) == 1:
		return pathSubscriptions
	case len(segs) == 2 && segs[1] != "":
		return pathSubscription
	case len(segs) == 3 && segs[1] != "" && (strings.EqualFold(segs[2], "reauthorize") || strings.EqualFold(segs[2], "microsoft.graph.reauthorize")):
		return pathReauthorize
	}
	return ""
}

func (s *Server) subJSON(sub *subscription) Object {
	str := func(v string) any {
		if v == "" {
			return nil
		}
		return v
	}
	return Object{
		{"id", sub.id},
		{"resource", sub.resource},
		{"applicationId", s.appID},
		{"changeType", sub.changeType},
		{"clientState", str(sub.clientState)},
		{"notificationUrl", sub.notificationURL},
		{"notificationQueryOptions", nil},
		{"lifecycleNotificationUrl", str(sub.lifecycleURL)},
		{"expirationDateTime", FormatTime(sub.expires)},
		{"creatorId", s.creatorID},
		{"includeResourceData", false},
		{"latestSupportedTlsVersion", sub.tls},
		{"encryptionCertificate", nil},
		{"encryptionCertificateId", nil},
		{"notificationUrlAppId", nil},
	}
}

func (s *Server) writeJSON(w http.ResponseWriter, ri *reqInfo, status int, body any) {
	w.Header().Set("Content-Type", contentTypeJSON)
	w.WriteHeader(status)
	_, _ = w.Write(appendJSON(nil, body))
	s.record(ri, status, 0)
}

func (s *Server) listSubscriptions(w http.ResponseWriter, ri *reqInfo, base string) {
	s.subMu.Lock()
	s.pruneLocked(s.Clock())
	var items []any
	for _, sub := range s.sortedLocked() {
		items = append(items, s.subJSON(sub))
	}
	s.subMu.Unlock()
	if items == nil {
		items = []any{}
	}
	s.writeJSON(w, ri, http.StatusOK, Object{{"@odata.context", base + "$metadata#subscriptions"}, {"value", items}})
}

func (s *Server) notFoundSub(w http.ResponseWriter, ri *reqInfo, id string) {
	s.fail(w, ri, http.StatusNotFound, "ResourceNotFound",
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
}

func (s *Server) getSubscription(w http.ResponseWriter, ri *reqInfo, base, id string) {
	s.subMu.Lock()
	s.pruneLocked(s.Clock())
	sub := s.subs[strings.ToLower(id)]
	var body Object
	if sub != nil {
		body = append(Object{{"@odata.context", base + "$metadata#subscriptions/$entity"}}, s.subJSON(sub)...)
	}
	s.subMu.Unlock()
	if sub == nil {
		s.notFoundSub(w, ri, id)
		return
	}
	s.writeJSON(w, ri, http.StatusOK, body)
}

func (s *Server) deleteSubscription(w http.ResponseWriter, ri *reqInfo, id string) {
	s.subMu.Lock()
	s.pruneLocked(s.Clock())
	sub := s.subs[strings.ToLower(id)]
	delete(s.subs, strings.ToLower(id))
	s.subMu.Unlock()
	if sub == nil {
		s.notFoundSub(w, ri, id)
		return
	}
	w.WriteHeader(http.StatusNoContent)
	s.record(ri, http.StatusNoContent, 0)
}

func (s *Server) reauthorize(w http.ResponseWriter, ri *reqInfo, id string) {
	now := s.Clock()
	s.subMu.Lock()
	s.pruneLocked(now)
	sub := s.subs[strings.ToLower(id)]
	if sub != nil {
		s.resumeLocked(sub, now)
	}
	s.subMu.Unlock()
	if sub == nil {
		s.notFoundSub(w, ri, id)
		return
	}
	w.WriteHeader(http.StatusNoContent)
	s.record(ri, http.StatusNoContent, 0)
}

// checkExpiry validates a requested expiration against now.
func checkExpiry(raw string, now time.Time) (time.Time, string, string) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(raw))
	if err != nil {
		return time.Time{}, "InvalidRequest", fmt.Sprintf("graphsim: expirationDateTime %q is not a DateTimeOffset.", raw)
	}
	t = t.UTC()
	if !t.After(now) {
		return time.Time{}, "InvalidRequest", "graphsim: expirationDateTime must be in the future."
	}
	if t.Sub(now) > maxExpiryMinutes*time.Minute {
		return time.Time{}, "ExtensionError", fmt.Sprintf("Subscription expiration can only be %d minutes in the future.", maxExpiryMinutes)
	}
	return t, "", ""
}

func (s *Server) renewSubscription(w http.ResponseWriter, r *http.Request, ri *reqInfo, base, id string) {
	var body map[string]json.RawMessage
	if err := readJSONBody(r, &body); err != nil {
		s.fail(w, ri, http.StatusBadRequest, "BadRequest", "graphsim: invalid request body: "+err.Error())
		return
	}
	var raw string
	for k, v := range body {
		if k != "expirationDateTime" {
			s.fail(w, ri, http.StatusBadRequest, "InvalidRequest",
				fmt.Sprintf("graphsim: only expirationDateTime can be updated, not %q.", k))
			return
		}
		if err := json.Unmarshal(v, &raw); err != nil {
			s.fail(w, ri, http.StatusBadRequest, "BadRequest", "graphsim: expirationDateTime must be a string.")
			return
		}
	}
	if raw == "" {
		s.fail(w, ri, http.StatusBadRequest, "InvalidRequest", "graphsim: the request must set expirationDateTime.")
		return
	}
	now := s.Clock()
	exp, code, msg := checkExpiry(raw, now)
	if code != "" {
		s.fail(w, ri, http.StatusBadRequest, code, msg)
		return
	}
	s.subMu.Lock()
	s.pruneLocked(now)
	sub := s.subs[strings.ToLower(id)]
	var out Object
	if sub != nil {
		sub.expires = exp
		s.resumeLocked(sub, now) // renewing also reauthorizes
		out = append(Object{{"@odata.context", base + "$metadata#subscriptions/$entity"}}, s.subJSON(sub)...)
	}
	s.subMu.Unlock()
	if sub == nil {
		s.notFoundSub(w, ri, id)
		return
	}
	s.writeJSON(w, ri, http.StatusOK, out)
}

// maxBody bounds request bodies.
const maxBody = 64 << 10

func readJSONBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return err
	}
	if len(b) > maxBody {
		return errors.New("body larger than 64 KiB")
	}
	return json.Unmarshal(b, v)
}

type subscriptionRequest struct {
	ChangeType                string  `json:"changeType"`
	NotificationURL           string  `json:"notificationUrl"`
	LifecycleNotificationURL  *string `json:"lifecycleNotificationUrl"`
	Resource                  string  `json:"resource"`
	ExpirationDateTime        string  `json:"expirationDateTime"`
	ClientState               *string `json:"clientState"`
	LatestSupportedTLSVersion string  `json:"latestSupportedTlsVersion"`
	IncludeResourceData       bool    `json:"includeResourceData"`
}

// checkNotificationURL returns "" if u may receive notifications.
func (s *Server) checkNotificationURL(field, u string) string {
	p, err := url.Parse(u)
	if err != nil || !p.IsAbs() || p.Host == "" {
		return fmt.Sprintf("graphsim: %s %q is not an absolute URL.", field, u)
	}
	switch strings.ToLower(p.Scheme) {
	case "https":
		return ""
	case "http":
		if s.allowHTTP && tenant.IsLoopbackHost(p.Hostname()) {
			return ""
		}
	}
	return fmt.Sprintf("graphsim: %s must use the HTTPS protocol (subscription resource: \"This URL must make use of the HTTPS protocol\").", field)
}

func (s *Server) createSubscription(w http.ResponseWriter, r *http.Request, ri *reqInfo, base string) {
	var req subscriptionRequest
	if err := readJSONBody(r, &req); err != nil {
		s.fail(w, ri, http.StatusBadRequest, "BadRequest", "graphsim: invalid request body: "+err.Error())
		return
	}
	bad := func(code, msg string) { s.fail(w, ri, http.StatusBadRequest, code, msg) }
	var kind ObjectKind
	switch strings.ToLower(strings.TrimPrefix(strings.TrimSpace(req.Resource), "/")) {
	case "users":
		kind = KindUser
	case "groups":
		kind = KindGroup
	case "":
		bad("InvalidRequest", "graphsim: resource is required.")
		return
	default:
		bad("InvalidRequest", fmt.Sprintf("graphsim: resource %q is not simulated for change notifications: only users and groups "+
			"(real Graph has answered 201 for some unsupported paths and then never delivered).", req.Resource))
		return
	}
	types := map[string]bool{}
	var order []string
	for _, t := range strings.Split(req.ChangeType, ",") {
		t = strings.TrimSpace(t)
		switch t {
		case "created", "updated", "deleted":
			if !types[t] {
				types[t] = true
				order = append(order, t)
			}
		default:
			bad("InvalidRequest", fmt.Sprintf("graphsim: changeType %q: want a comma-separated subset of created, updated, deleted.", req.ChangeType))
			return
		}
	}
	if s.missing(subscriptionNeeds(req.Resource)) != "" {
		s.fail(w, ri, http.StatusForbidden, "ExtensionError", "Operation: Create; Exception: [Status Code: Forbidden; Reason: Insufficient privileges to complete the operation.]")
		return
	}
	if msg := s.checkNotificationURL("notificationUrl", req.NotificationURL); msg != "" {
		bad("InvalidRequest", msg)
		return
	}
	now := s.Clock()
	exp, code, msg := checkExpiry(req.ExpirationDateTime, now)
	if code != "" {
		bad(code, msg)
		return
	}
	clientState := ""
	if req.ClientState != nil {
		clientState = *req.ClientState
	}
	if len([]rune(clientState)) > maxClientState {
		bad("InvalidRequest", fmt.Sprintf("graphsim: clientState is longer than %d characters.", maxClientState))
		return
	}
	lifecycle := ""
	if req.LifecycleNotificationURL != nil && *req.LifecycleNotificationURL != "" {
		lifecycle = *req.LifecycleNotificationURL
		if msg := s.checkNotificationURL("lifecycleNotificationUrl", lifecycle); msg != "" {
			bad("InvalidRequest", msg)
			return
		}
	}
	tls := req.LatestSupportedTLSVersion
	switch tls {
	case "":
		tls = "v1_2"
	case "v1_0", "v1_1", "v1_2", "v1_3":
	default:
		bad("InvalidRequest", fmt.Sprintf("graphsim: latestSupportedTlsVersion %q: want v1_0, v1_1, v1_2 or v1_3.", tls))
		return
	}
	if req.IncludeResourceData {
		bad("InvalidRequest", "graphsim: includeResourceData is not simulated (users and groups notifications carry the id only).")
		return
	}
	sort.Strings(order)
	changeKey := strings.Join(order, ",")
	if dup := s.duplicateOf(kind, changeKey, now); dup != "" {
		s.fail(w, ri, http.StatusConflict, "ObjectIdentifierInUse",
			fmt.Sprintf("Subscription Id %s already exists for the requested combination", dup))
		return
	}
	for _, target := range []string{req.NotificationURL, lifecycle} {
		if target == "" {
			continue
		}
		if code, msg := s.validateEndpoint(r.Context(), target); code != "" {
			bad(code, msg)
			return
		}
	}
	s.subMu.Lock()
	s.pruneLocked(now)
	if dup := s.duplicateLocked(kind, changeKey); dup != "" {
		s.subMu.Unlock()
		s.fail(w, ri, http.StatusConflict, "ObjectIdentifierInUse",
			fmt.Sprintf("Subscription Id %s already exists for the requested combination", dup))
		return
	}
	s.subN++
	sub := &subscription{
		id:       UUIDFrom(s.seed, s.subN, 0x737562),
		resource: req.Resource, changeType: strings.Join(typesInOrder(req.ChangeType), ","),
		clientState: clientState, notificationURL: req.NotificationURL, lifecycleURL: lifecycle,
		tls: tls, kind: kind, types: types, expires: exp,
	}
	s.subs[sub.id] = sub
	body := append(Object{{"@odata.context", base + "$metadata#subscriptions/$entity"}}, s.subJSON(sub)...)
	s.subMu.Unlock()
	s.log.Debug("graphsim: subscription created", "subscription", sub.id, "resource", sub.resource, "expires", exp)
	s.writeJSON(w, ri, http.StatusCreated, body)
}

// typesInOrder returns the change types as the client wrote them, trimmed
// and without repeats.
func typesInOrder(raw string) []string {
	var out []string
	for _, t := range strings.Split(raw, ",") {
		t = strings.TrimSpace(t)
		if !validProp(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func (s *Server) duplicateOf(kind ObjectKind, changeKey string, now time.Time) string {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	s.pruneLocked(now)
	return s.duplicateLocked(kind, changeKey)
}

func (s *Server) duplicateLocked(kind ObjectKind, changeKey string) string {
	for _, sub := range s.sortedLocked() {
		if sub.kind != kind {
			continue
		}
		var t []string
		for k := range sub.types {
			t = append(t, k)
		}
		sort.Strings(t)
		if strings.Join(t, ",") == changeKey {
			return sub.id
		}
	}
	return ""
}

// validationTokenPrefix is what Graph's validation tokens have looked like
// (an opaque text with spaces and colons, so it must be URL-decoded).
const validationTokenPrefix = "Validation: Testing client application reachability for subscription Request-Id: "

// validateEndpoint performs the validation handshake with target. It
// returns Graph's error code and message, or "" when it succeeded.
func (s *Server) validateEndpoint(ctx context.Context, target string) (string, string) {
	n := s.valN.Add(1)
	token := validationTokenPrefix + UUIDFrom(s.seed, n, 0x76616c)
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	ctx, cancel := context.WithTimeout(ctx, s.validateTTL)
	defer cancel()
	failed := func(reason string) (string, string) {
		return "ValidationError", "Subscription validation request failed. " + reason
	}
	notOK := "Notification endpoint must respond with 200 OK to validation request."
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target+sep+"validationToken="+url.QueryEscape(token), nil)
	if err != nil {
		return failed(notOK)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	res, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			s.log.Debug("graphsim: validation timed out", "url", stripQuery(target))
			return "InvalidRequest", "Subscription validation request timed out."
		}
		s.log.Debug("graphsim: validation failed", "url", stripQuery(target), "err", err)
		return failed(notOK)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 4096))
	if err != nil {
		if ctx.Err() != nil {
			return "InvalidRequest", "Subscription validation request timed out."
		}
		return failed(notOK)
	}
	if res.StatusCode != http.StatusOK {
		return failed(notOK)
	}
	if mt, _, err := mime.ParseMediaType(res.Header.Get("Content-Type")); err != nil || mt != "text/plain" {
		return failed("Response must have content type text/plain.")
	}
	if string(body) != token {
		return failed("Response must exactly match validationToken query parameter.")
	}
	return "", ""
}
