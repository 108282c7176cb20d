// Package feedhook reads what the Office 365 Management Activity API sends
// to a subscription's webhook: the validation request and the notification
// bodies, and compares the Webhook-AuthID header in constant time. It
// imports only the standard library, so that the custom handler
// (handlers/) can use it without the API client.
package feedhook

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Webhook notifications (office-365-management-activity-api-reference.md,
// "Receiving notifications"): the API POSTs to a subscription's webhook a
// JSON array of entries, one per content blob that became available, with
// the Webhook-AuthID header set to the authId given when the subscription
// started. Its first POST is the validation request: a body
// {"validationCode": "…"} (and the Webhook-ValidationCode header), to be
// answered 200.

// Notification is one entry of a notification body: a content blob that
// became available.
type Notification struct {
	TenantID          string `json:"tenantId,omitempty"`
	ClientID          string `json:"clientId,omitempty"`
	ContentType       string `json:"contentType"`
	ContentID         string `json:"contentId"`
	ContentURI        string `json:"contentUri"`
	ContentCreated    string `json:"contentCreated,omitempty"`
	ContentExpiration string `json:"contentExpiration,omitempty"`
}

// Bounds of a notification body.
const (
	// MaxNotificationBody is the largest body ParseNotifications accepts.
	MaxNotificationBody = 1 << 20
	// MaxNotifications is the most entries one body may hold.
	MaxNotifications = 1000
	// maxNotificationField bounds each entry's strings (content ids are
	// about 100 characters, URIs under 300).
	maxNotificationField = 2048
)

// Errors of ParseNotifications.
var (
	ErrNotificationTooLarge  = errors.New("feedhook: notification body too large")
	ErrNotificationMalformed = errors.New("feedhook: malformed notification body")
)

// ValidationCode returns the code of a webhook validation request body
// ({"validationCode": "…"}), and whether body is one.
func ValidationCode(body []byte) (string, bool) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || b[0] != '{' || len(b) > 64<<10 {
		return "", false
	}
	var v struct {
		ValidationCode *string `json:"validationCode"`
	}
	if json.Unmarshal(b, &v) != nil || v.ValidationCode == nil {
		return "", false
	}
	return *v.ValidationCode, true
}

// ParseNotifications reads a notification body: a JSON array of entries.
// An entry without contentId or contentUri, or with a field over 2 KiB, is
// dropped (dropped counts them); a body over MaxNotificationBody or with
// more than MaxNotifications entries is ErrNotificationTooLarge; anything
// but an array of objects is ErrNotificationMalformed.
func ParseNotifications(body []byte) (ns []Notification, dropped int, err error) {
	if len(body) > MaxNotificationBody {
		return nil, 0, fmt.Errorf("%w: %d bytes, limit %d", ErrNotificationTooLarge, len(body), MaxNotificationBody)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrNotificationMalformed, err)
	}
	if len(raw) > MaxNotifications {
		return nil, 0, fmt.Errorf("%w: %d entries, limit %d", ErrNotificationTooLarge, len(raw), MaxNotifications)
	}
	for _, r := range raw {
		var n Notification
		if err := json.Unmarshal(r, &n); err != nil {
			if bytes.HasPrefix(bytes.TrimSpace(r), []byte("{")) {
				dropped++ // an object with fields of the wrong type
				continue
			}
			return nil, 0, fmt.Errorf("%w: an entry is not an object", ErrNotificationMalformed)
		}
		if n.ContentID == "" || n.ContentURI == "" || tooLong(n) {
			dropped++
			continue
		}
		ns = append(ns, n)
	}
	return ns, dropped, nil
}

func tooLong(n Notification) bool {
	for _, s := range []string{n.TenantID, n.ClientID, n.ContentType, n.ContentID, n.ContentURI, n.ContentCreated, n.ContentExpiration} {
		if len(s) > maxNotificationField {
			return true
		}
	}
	return false
}

// ContentTypeExchange is the content type of Exchange's audit records.
const ContentTypeExchange = "Audit.Exchange"

// AuthIDEqual compares a presented Webhook-AuthID with the configured one
// in constant time (of the digests: the lengths leak nothing). An empty
// configured value matches nothing.
func AuthIDEqual(got, want string) bool {
	if want == "" {
		return false
	}
	g, w := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
