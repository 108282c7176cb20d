package tenant

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// This file holds the aggregate of failed sign-ins that password-spray
// detection reads (signin.password-spray): a spray is thousands of failed
// sign-ins, and neither a scan nor the deployed app keeps them one by one.
// Each failure is counted in 10-minute buckets under three keys — its
// address, its network (/24 for IPv4, /48 for IPv6) and its account — with
// the distinct accounts an address or network failed for, and the distinct
// addresses an account failed from, up to a cap. The aggregate is the same
// in both paths: a scan builds it from the window it reads; the deployed
// app stores the tallies in Table Storage (one partition per bucket) and
// merges them back for the window the rule looks at.

// FailureBucketWidth is the width of one bucket of the aggregate.
const FailureBucketWidth = 10 * time.Minute

// FailureMembersMax caps the distinct members a tally keeps; beyond it a
// tally only counts (Dropped). A rule threshold above the cap cannot be met
// by one bucket's members alone, so the configuration refuses one.
const FailureMembersMax = 100

// FailureKind says what a tally's key is.
type FailureKind string

// Failure tally kinds.
const (
	FailureByIP      FailureKind = "ip"      // Key: an address; Members: accounts
	FailureByNet     FailureKind = "net"     // Key: a network ("203.0.113.0/24"); Members: accounts
	FailureByAccount FailureKind = "account" // Key: an account; Members: addresses
)

// FailureTally is what one bucket holds under one key.
type FailureTally struct {
	Kind   FailureKind `json:"kind"`
	Key    string      `json:"key"`
	Bucket time.Time   `json:"bucket"` // start of the bucket, UTC
	// Count is the failed sign-ins counted. The deployed app may count a
	// sign-in twice when its polls overlap; rules decide on Members, which
	// a repeat does not change.
	Count int `json:"count"`
	// Members are the distinct accounts (ip, net) or addresses (account),
	// sorted, at most FailureMembersMax. An account is the lower-case user
	// id, or the lower-case UPN when the sign-in has no user id.
	Members []string `json:"members"`
	// Dropped counts members that did not fit (an upper bound: merging
	// tallies may count one twice).
	Dropped int `json:"dropped,omitempty"`
	// Legacy counts the failures by legacy client (IsLegacyClient), by
	// clientAppUsed.
	Legacy map[string]int `json:"legacy,omitempty"`
	// UPN is the account's user principal name (kind account), for naming.
	UPN   string    `json:"upn,omitempty"`
	First time.Time `json:"first"` // the earliest and latest failure counted
	Last  time.Time `json:"last"`
}

// IsSprayError reports whether a sign-in error code is one a password
// spray produces: 50126 (invalid user name or password) and 50053 (account
// locked, including Smart Lockout).
func IsSprayError(code int) bool { return code == 50126 || code == 50053 }

// legacyClients are the clientAppUsed values of the legacy authentication
// protocols, which do not do MFA.
var legacyClients = []string{
	"Authenticated SMTP", "AutoDiscover", "Exchange ActiveSync", "Exchange Online PowerShell",
	"Exchange Web Services", "IMAP4", "MAPI Over HTTP", "Offline Address Book", "Other clients",
	"Outlook Anywhere (RPC over HTTP)", "POP3", "Reporting Web Services", "Universal Outlook",
}

// IsLegacyClient reports whether clientAppUsed names a legacy
// authentication protocol (case-insensitive).
func IsLegacyClient(clientApp string) bool {
	return slices.ContainsFunc(legacyClients, func(c string) bool { return strings.EqualFold(c, clientApp) })
}

// FailureNetwork returns the network an address is counted under: its /24
// (IPv4, IPv4-mapped IPv6 included) or /48 (IPv6); "" when ip is not an
// address.
func FailureNetwork(ip string) string {
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return ""
	}
	a = a.Unmap().WithZone("")
	bits := 24
	if a.Is6() {
		bits = 48
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

// SignInFailures is the aggregate. The zero value is empty and ready.
type SignInFailures struct {
	tallies map[failureID]*FailureTally
}

type failureID struct {
	kind   FailureKind
	key    string
	bucket int64 // unix seconds
}

// Add counts s when it is a failure with a spray error code and a parsable
// address; it reports whether it did.
func (f *SignInFailures) Add(s SignIn) bool {
	if !IsSprayError(s.ErrorCode) {
		return false
	}
	a, err := netip.ParseAddr(strings.TrimSpace(s.IP))
	if err != nil {
		return false
	}
	ip := a.Unmap().WithZone("").String()
	account := strings.ToLower(strings.TrimSpace(cmp.Or(s.UserID, s.UPN)))
	if account == "" {
		return false
	}
	bucket := s.Time.UTC().Truncate(FailureBucketWidth)
	t := s.Time.UTC()
	var legacy map[string]int
	if IsLegacyClient(s.ClientApp) {
		legacy = map[string]int{s.ClientApp: 1}
	}
	for _, one := range []FailureTally{
		{Kind: FailureByIP, Key: ip, Members: []string{account}},
		{Kind: FailureByNet, Key: FailureNetwork(ip), Members: []string{account}},
		{Kind: FailureByAccount, Key: account, Members: []string{ip}, UPN: s.UPN},
	} {
		one.Bucket, one.Count, one.Legacy, one.First, one.Last = bucket, 1, legacy, t, t
		f.Merge(one)
	}
	return true
}

// Merge adds a tally (read back from storage, or built by Add) to the
// aggregate: counts add up, members are united up to the cap.
func (f *SignInFailures) Merge(t FailureTally) {
	if f.tallies == nil {
		f.tallies = make(map[failureID]*FailureTally)
	}
	t.Bucket = t.Bucket.UTC().Truncate(FailureBucketWidth)
	id := failureID{t.Kind, t.Key, t.Bucket.Unix()}
	cur := f.tallies[id]
	if cur == nil {
		cur = &FailureTally{Kind: t.Kind, Key: t.Key, Bucket: t.Bucket}
		f.tallies[id] = cur
	}
	cur.Count += t.Count
	cur.Dropped += t.Dropped
	cur.UPN = cmp.Or(cur.UPN, t.UPN)
	if cur.First.IsZero() || (!t.First.IsZero() && t.First.Before(cur.First)) {
		cur.First = t.First
	}
	if t.Last.After(cur.Last) {
		cur.Last = t.Last
	}
	for k, n := range t.Legacy {
		if cur.Legacy == nil {
			cur.Legacy = make(map[string]int)
		}
		cur.Legacy[k] += n
	}
	for _, m := range t.Members {
		i, found := slices.BinarySearch(cur.Members, m)
		switch {
		case found:
		case len(cur.Members) >= FailureMembersMax:
			cur.Dropped++
		default:
			cur.Members = slices.Insert(cur.Members, i, m)
		}
	}
}

// Prune drops the buckets that start before before.
func (f *SignInFailures) Prune(before time.Time) {
	for id := range f.tallies {
		if id.bucket < before.Unix() {
			delete(f.tallies, id)
		}
	}
}

// Len returns the number of tallies.
func (f *SignInFailures) Len() int { return len(f.tallies) }

// Tallies returns copies of the tallies ordered by kind, key and bucket.
func (f *SignInFailures) Tallies() []FailureTally {
	out := make([]FailureTally, 0, len(f.tallies))
	for _, t := range f.tallies {
		c := *t
		c.Members = slices.Clone(t.Members)
		if t.Legacy != nil {
			c.Legacy = make(map[string]int, len(t.Legacy))
			for k, v := range t.Legacy {
				c.Legacy[k] = v
			}
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b FailureTally) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Key, b.Key), a.Bucket.Compare(b.Bucket))
	})
	return out
}
