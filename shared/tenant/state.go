package tenant

import (
	"strings"
	"time"
)

// This file holds the domain types of the deployed app's incremental state:
// what a delta round compares (Baseline), what it found different (Change),
// where each stream resumes (Cursor), the Graph subscriptions the app keeps
// (Subscription), what it has already reported (FindingRecord) and what it
// still has to deliver to Teams (OutboxItem). The store package persists
// them; the watch, notify and handlers packages trade in them.

// ChangeKind names one kind of difference between a stored baseline and the
// object's current state.
type ChangeKind string

// Change kinds.
const (
	// ChangeCredentialAdded: a key or password credential whose key id was
	// not in the baseline. Value is the key id.
	ChangeCredentialAdded ChangeKind = "credentialAdded"
	// ChangeReplyURLAdded: a reply (redirect) URL not in the baseline. Value
	// is the URL.
	ChangeReplyURLAdded ChangeKind = "replyUrlAdded"
	// ChangePlanDisabled: a service plan newly disabled in one of a user's
	// licences. Value is "skuId/servicePlanId" (lower case).
	ChangePlanDisabled ChangeKind = "planDisabled"
)

// Change is one difference a delta round found between an object's stored
// baseline and its current state. Detectors read changes as events: they
// do not depend on timestamps an attacker can set (a credential's
// startDateTime, for example).
type Change struct {
	Kind       ChangeKind  `json:"kind"`
	ObjectType SubjectType `json:"objectType"`
	ObjectID   string      `json:"objectId"`
	Value      string      `json:"value"`
	SeenAt     time.Time   `json:"seenAt"` // when the round saw it (UTC)
}

// Baseline is what detection compares for one watched object, and nothing
// else: the key ids and names of its credentials, its reply URLs and, for a
// user, the service plans disabled in its licences.
type Baseline struct {
	Type SubjectType `json:"type"`
	ID   string      `json:"id"`
	Name string      `json:"name,omitempty"`
	// AppID, Owner (appOwnerOrganizationId) and SPType
	// (servicePrincipalType) identify an app object when a delta item
	// carries only what changed.
	AppID         string               `json:"appId,omitempty"`
	Owner         string               `json:"owner,omitempty"`
	SPType        string               `json:"spType,omitempty"`
	Credentials   []BaselineCredential `json:"credentials,omitempty"`
	ReplyURLs     []string             `json:"replyUrls,omitempty"`
	DisabledPlans []string             `json:"disabledPlans,omitempty"` // "skuId/servicePlanId", lower case
}

// BaselineCredential is one credential as a baseline remembers it.
type BaselineCredential struct {
	KeyID string         `json:"keyId"`
	Kind  CredentialKind `json:"kind,omitempty"`
	Name  string         `json:"name,omitempty"`
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

// WatchedResources returns the only resources the deployed app subscribes
// to: Graph notifies about users and groups, and not about service
// principals, applications or the logs (it has accepted such
// subscriptions and never delivered). Group notifications matter for
// group-based licences.
func WatchedResources() []string { return []string{"users", "groups"} }

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
	Finding   Finding       `json:"finding"`
	FirstSeen time.Time     `json:"firstSeen"`
	LastSeen  time.Time     `json:"lastSeen"`
	Status    FindingStatus `json:"status"`
	ETag      string        `json:"-"`
}

// OutboxKind says what an outbox item delivers.
type OutboxKind string

// Outbox kinds.
const (
	OutboxCard   OutboxKind = "card"   // one finding's card
	OutboxDigest OutboxKind = "digest" // one digest card
)

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

// DeltaItem is one object of a delta round. Graph may send an updated object
// with only its id and the properties that changed: Present then lists the
// JSON property names the item carried, and absent properties must be taken
// from what was known before. A nil Present means the item is complete.
type DeltaItem[T any] struct {
	Object  T
	Removed bool     // "@removed": deleted, or moved out of the round's scope
	Present []string // property names present in the item; nil = all
}

// Has reports whether the item carried property name (case-insensitive).
func (d DeltaItem[T]) Has(name string) bool {
	if d.Present == nil {
		return true
	}
	for _, p := range d.Present {
		if strings.EqualFold(p, name) {
			return true
		}
	}
	return false
}
