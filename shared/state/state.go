// Package state holds the records of the deployed app's state: where each
// incremental stream resumes (Cursor), what a delta round compares for one
// watched object (Baseline), the Graph subscriptions the app keeps
// (Subscription), the findings it has already reported (FindingRecord) and
// what it still has to deliver to Teams (OutboxItem).
//
// They are not the domain: detection and reporting never see them (those
// trade in shared/tenant). They are the vocabulary between the packages
// that keep state (shared/store persists them in Table Storage) and those
// that use it (shared/watch, shared/collect, shared/notify), so that the
// users declare the small interfaces they need in these terms without
// importing a storage SDK. A record that Table Storage writes under
// optimistic concurrency carries its ETag; a write with a stale one fails
// with an error wrapping tenant.ErrConflict.
//
// The package has no dependencies beyond the standard library and
// shared/tenant.
package state

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Baseline is what detection compares for one watched object, and nothing
// else: the key ids and names of its credentials, its reply URLs, for a
// user the service plans disabled in its licences and, for a domain
// (tenant.SubjectDomain, ID the lower-case domain name), its federation.
type Baseline struct {
	Type tenant.SubjectType `json:"type"`
	ID   string             `json:"id"`
	Name string             `json:"name,omitempty"`
	// AppID, Owner (appOwnerOrganizationId) and SPType
	// (servicePrincipalType) identify an app object when a delta item
	// carries only what changed.
	AppID         string               `json:"appId,omitempty"`
	Owner         string               `json:"owner,omitempty"`
	SPType        string               `json:"spType,omitempty"`
	Credentials   []BaselineCredential `json:"credentials,omitempty"`
	ReplyURLs     []string             `json:"replyUrls,omitempty"`
	DisabledPlans []string             `json:"disabledPlans,omitempty"` // "skuId/servicePlanId", lower case
	// Federation is a domain's federation fingerprint: the daily sweep's
	// federation baseline.
	Federation *FederationPrint `json:"federation,omitempty"`
}

// FederationPrint is what the daily sweep compares of a domain's
// federation: its authenticationType, the issuerUri of each of its
// federation configurations, and the SHA-256 of each signing and next
// signing certificate (hex, lower case, of the DER bytes), both sorted.
type FederationPrint struct {
	AuthenticationType string   `json:"authenticationType"`
	Issuers            []string `json:"issuers,omitempty"`
	Certificates       []string `json:"certificates,omitempty"`
}

// BaselineCredential is one credential as a baseline remembers it.
type BaselineCredential struct {
	KeyID string                `json:"keyId"`
	Kind  tenant.CredentialKind `json:"kind,omitempty"`
	Name  string                `json:"name,omitempty"`
}

// Cursor is where one incremental stream resumes: a delta link, or a
// watermark time for the audit and sign-in logs. ETag is the store's
// optimistic-concurrency token ("" for a cursor that does not exist yet).
type Cursor struct {
	Name      string    `json:"name"`
	DeltaLink string    `json:"deltaLink,omitempty"`
	Watermark time.Time `json:"watermark,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
	ETag      string    `json:"-"`
}

// Exists reports whether the cursor was loaded from the store (as opposed to
// being the zero cursor of a stream that never ran).
func (c Cursor) Exists() bool { return c.ETag != "" }

// Subscription is a Graph change-notification subscription the app keeps.
type Subscription struct {
	ID                 string    `json:"id"`
	Resource           string    `json:"resource"`   // "users" or "groups"
	ChangeType         string    `json:"changeType"` // "updated,deleted"
	NotificationURL    string    `json:"notificationUrl"`
	LifecycleURL       string    `json:"lifecycleNotificationUrl,omitempty"`
	ClientState        string    `json:"clientState"` // secret, compared in constant time
	ExpirationDateTime time.Time `json:"expirationDateTime"`
	ETag               string    `json:"-"`
}

// FindingStatus is where a recorded finding stands.
type FindingStatus string

// Finding statuses.
const (
	// FindingBaseline: seen while building a baseline (installation or a
	// first scan); reported in the daily digest, never alerted alone.
	FindingBaseline FindingStatus = "baseline"
	// FindingQueued: new, and an outbox item carries it.
	FindingQueued FindingStatus = "queued"
	// FindingDelivered: its card (or the digest listing it) was posted.
	FindingDelivered FindingStatus = "delivered"
	// FindingResolved: a full sweep no longer finds it; seeing it again
	// makes it new again.
	FindingResolved FindingStatus = "resolved"
)

// FindingRecord is a finding as the store remembers it, keyed by
// Finding.Key.
type FindingRecord struct {
	Finding   tenant.Finding `json:"finding"`
	FirstSeen time.Time      `json:"firstSeen"`
	LastSeen  time.Time      `json:"lastSeen"`
	Status    FindingStatus  `json:"status"`
	ETag      string         `json:"-"`
}

// OutboxKind says what an outbox item delivers.
type OutboxKind string

// Outbox kinds.
const (
	OutboxCard   OutboxKind = "card"   // one finding's card
	OutboxDigest OutboxKind = "digest" // one digest card
	// OutboxIncident is one card of an incident: its first card
	// (revision 1) or a follow-up. Its ID is the incident id and the
	// revision (IncidentItemID), so that the same card is never queued
	// twice, and a follow-up is never delivered before the incident's
	// earlier cards (the outbox holds it back while one is pending).
	OutboxIncident OutboxKind = "incident"
)

// IncidentItemID is the outbox item ID of revision rev of incident id's
// cards: "inc-37fdf08463667eb7-r0002". It is the same every time it is
// computed, so a card queued again (a retried round, two rounds racing to
// the same revision) collides with the first instead of posting twice; and
// the revisions of one incident sort in order.
func IncidentItemID(id string, rev int) string { return fmt.Sprintf("%s-r%04d", id, rev) }

// RetryDelay is how long an outbox item waits after its attempts-th
// failed delivery: base doubled for each attempt after the first, capped
// at max, with equal jitter (a random delay between half and all of it),
// so that items failed together do not retry together. Every outbox's
// delivery (Teams, the Log Analytics sink) uses it.
func RetryDelay(base, max time.Duration, attempts int) time.Duration {
	d := base
	for i := 1; i < attempts && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	half := d / 2
	return half + rand.N(d-half+1)
}

// ParseIncidentItemID returns the incident id and revision of an
// IncidentItemID; ok is false for any other outbox ID.
func ParseIncidentItemID(itemID string) (incident string, rev int, ok bool) {
	i := strings.LastIndex(itemID, "-r")
	if !strings.HasPrefix(itemID, "inc-") || i < 0 || len(itemID)-i-2 < 4 {
		return "", 0, false
	}
	n, err := strconv.Atoi(itemID[i+2:])
	if err != nil || n < 1 {
		return "", 0, false
	}
	return itemID[:i], n, true
}

// OutboxItem is one pending delivery to Teams. Payload is the complete JSON
// body to POST (a Teams message with one Adaptive Card). Items are delivered
// at least once: a claim (lease) keeps two invocations from posting the
// same item at the same time.
type OutboxItem struct {
	ID          string     `json:"id"` // sorts by creation time
	Kind        OutboxKind `json:"kind"`
	FindingKeys []string   `json:"findingKeys,omitempty"`
	Payload     []byte     `json:"payload"`
	Created     time.Time  `json:"created"`
	Attempts    int        `json:"attempts"`
	NextAttempt time.Time  `json:"nextAttempt"`
	LeaseUntil  time.Time  `json:"leaseUntil,omitzero"`
	Delivered   time.Time  `json:"delivered,omitzero"`
	LastError   string     `json:"lastError,omitempty"`
	ETag        string     `json:"-"`
}

// IncidentRecord is an incident as the deployed app remembers it, keyed by
// the id of its first card: which findings its cards have covered, how
// many cards it has had, when it was first seen and when its last card
// was queued. A later correlation that yields a different id for the same
// findings (an earlier finding joined) keeps the stored record: an
// incident is matched by the findings it shares, not by its id alone.
type IncidentRecord struct {
	ID string `json:"id"`
	// Revision counts the incident's cards queued so far: 1 after its
	// first card, 2 after its first follow-up.
	Revision int `json:"revision"`
	// Members are the keys of the findings the incident's cards covered
	// (accepted findings included, so that they do not count as new
	// steps again), in the order they joined.
	Members   []string  `json:"members"`
	FirstSeen time.Time `json:"firstSeen"`
	LastCard  time.Time `json:"lastCard"`
	ETag      string    `json:"-"`
}
