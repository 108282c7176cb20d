package tenant

import (
	"strings"
	"time"
)

// This file holds what the deployed app's incremental rounds add to the
// domain: what a delta round read (DeltaItem) and what it found different
// from the stored baselines (Change), which detectors read as events. The
// records of the app's state (cursors, baselines, subscriptions, finding
// records, the outbox) are in shared/state.

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
	// The daily sweep's federation baseline (issue 12): ObjectType
	// SubjectDomain, ObjectID the domain name.
	//
	// ChangeDomainFederated: a domain that was managed is federated. Value
	// is the new issuerUri.
	ChangeDomainFederated ChangeKind = "domainFederated"
	// ChangeFederationIssuer: a federated domain's issuerUri changed. Value
	// is "old -> new".
	ChangeFederationIssuer ChangeKind = "federationIssuerChanged"
	// ChangeFederationCertificate: a federated domain's signingCertificate
	// or nextSigningCertificate changed. Value is the SHA-256 (hex, lower
	// case) of the new certificate's DER bytes.
	ChangeFederationCertificate ChangeKind = "federationCertificateChanged"
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
