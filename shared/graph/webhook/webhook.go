package webhook

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// MaxBody is the largest notification body Parse accepts, in bytes.
const MaxBody = 1 << 20

// MaxItems is the largest number of notifications Parse accepts in one body.
// Graph batches far fewer; the cap bounds the clientState look-ups one
// request can cause.
const MaxItems = 1000

// Errors returned by Parse. Callers branch on them with errors.Is: a body
// that is too large answers 413, a malformed one 400.
var (
	ErrTooLarge  = errors.New("webhook: notification body too large")
	ErrMalformed = errors.New("webhook: malformed notification body")
)

// Lifecycle events Graph sends to a lifecycleNotificationUrl. For users and
// groups only LifecycleReauthorizationRequired is documented; the others are
// handled defensively.
const (
	LifecycleReauthorizationRequired = "reauthorizationRequired"
	LifecycleSubscriptionRemoved     = "subscriptionRemoved"
	LifecycleMissed                  = "missed"
)

// Notification is one item of a change or lifecycle notification. A change
// notification has ChangeType set, a lifecycle notification LifecycleEvent;
// Graph never sets both. All strings are as Graph sent them (attacker
// controlled until ClientState has been checked).
//
// The JSON form is the graph-changes queue message, not Graph's wire shape:
// resourceData is flattened into resourceId and resourceType.
type Notification struct {
	ID                     string    `json:"id,omitempty"`             // notification id (change notifications only)
	SubscriptionID         string    `json:"subscriptionId"`           // the subscription that produced it
	ClientState            string    `json:"clientState,omitempty"`    // the secret presented; clear it before queueing
	ChangeType             string    `json:"changeType,omitempty"`     // "created", "updated" or "deleted"
	Resource               string    `json:"resource,omitempty"`       // e.g. "Users/7d2c…"
	TenantID               string    `json:"tenantId,omitempty"`       // the tenant the change happened in
	ResourceID             string    `json:"resourceId,omitempty"`     // resourceData.id
	ResourceType           string    `json:"resourceType,omitempty"`   // resourceData["@odata.type"], e.g. "#Microsoft.Graph.User"
	LifecycleEvent         string    `json:"lifecycleEvent,omitempty"` // lifecycle notifications only
	SubscriptionExpiration time.Time `json:"subscriptionExpirationDateTime,omitzero"`
}

// IsLifecycle reports whether n is a lifecycle notification.
func (n Notification) IsLifecycle() bool { return n.LifecycleEvent != "" }

// wireNotification is one item as Graph sends it (graph.md §1.5).
type wireNotification struct {
	ID                             string        `json:"id"`
	SubscriptionID                 string        `json:"subscriptionId"`
	SubscriptionExpirationDateTime string        `json:"subscriptionExpirationDateTime"`
	ClientState                    string        `json:"clientState"`
	ChangeType                     string        `json:"changeType"`
	Resource                       string        `json:"resource"`
	TenantID                       string        `json:"tenantId"`
	LifecycleEvent                 string        `json:"lifecycleEvent"`
	ResourceData                   *wireResource `json:"resourceData"`
}

type wireResource struct {
	ID        string `json:"id"`
	ODataType string `json:"@odata.type"`
}

// Parse reads a notification body: a JSON object whose "value" array holds
// change and/or lifecycle notifications. Unknown fields are ignored, and
// resourceData may be missing or null. An expiry Graph did not format as
// RFC 3339 (with or without a zone; none means UTC) is left zero rather than
// failing the batch. Times are UTC.
//
// It returns ErrTooLarge when body exceeds MaxBody or "value" holds more than
// MaxItems items, and an error wrapping ErrMalformed when body is not such an
// object (not JSON, no "value" array, an item that is not an object, a field
// of the wrong type). An empty "value" array is not an error.
func Parse(body []byte) ([]Notification, error) {
	if len(body) > MaxBody {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(body), MaxBody)
	}
	var coll struct {
		Value *[]json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(body, &coll); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if coll.Value == nil {
		return nil, fmt.Errorf("%w: no value array", ErrMalformed)
	}
	items := *coll.Value
	if len(items) > MaxItems {
		return nil, fmt.Errorf("%w: %d notifications, limit %d", ErrTooLarge, len(items), MaxItems)
	}
	out := make([]Notification, 0, len(items))
	for i, raw := range items {
		if len(raw) == 0 || raw[0] != '{' { // json.RawMessage holds the value without leading space
			return nil, fmt.Errorf("%w: item %d is not an object", ErrMalformed, i)
		}
		var w wireNotification
		if err := json.Unmarshal(raw, &w); err != nil {
			return nil, fmt.Errorf("%w: item %d: %v", ErrMalformed, i, err)
		}
		n := Notification{
			ID:                     w.ID,
			SubscriptionID:         w.SubscriptionID,
			ClientState:            w.ClientState,
			ChangeType:             w.ChangeType,
			Resource:               w.Resource,
			TenantID:               w.TenantID,
			LifecycleEvent:         w.LifecycleEvent,
			SubscriptionExpiration: parseTime(w.SubscriptionExpirationDateTime),
		}
		if w.ResourceData != nil {
			n.ResourceID, n.ResourceType = w.ResourceData.ID, w.ResourceData.ODataType
		}
		out = append(out, n)
	}
	return out, nil
}

// timeLayouts are the forms Graph uses for subscriptionExpirationDateTime:
// "2016-03-19T22:11:09.952Z", "2019-03-20T11:00:00.0000000Z", an offset
// ("+00:00"), and defensively none at all (read as UTC).
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"}

// parseTime returns s as a UTC time, or the zero time when s is empty,
// unparseable, or outside years 1–9999 once in UTC (JSON cannot encode it).
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	for _, layout := range timeLayouts {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		t = t.UTC()
		if y := t.Year(); y < 1 || y > 9999 {
			return time.Time{}
		}
		return t
	}
	return time.Time{}
}

// ClientStateEqual reports whether the clientState a notification presented
// (got) equals the one stored for its subscription (want), in time that does
// not depend on where they differ (crypto/subtle; the length of want may
// leak, its content does not). An empty want never matches: a subscription
// without a secret cannot authenticate anything.
func ClientStateEqual(got, want string) bool {
	if want == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// ValidationToken returns the validationToken parameter of rawQuery (a URL's
// query string as sent, still percent-encoded), decoded once, and whether it
// was present and non-empty. Graph's handshake must be answered with exactly
// this decoded value: decoding it twice would corrupt a token holding "%" or
// "+". The token is opaque; never render it as HTML.
func ValidationToken(rawQuery string) (string, bool) {
	q, _ := url.ParseQuery(rawQuery) // keeps the well-formed pairs even when others are not
	tok := q.Get("validationToken")
	return tok, tok != ""
}
