package audit

import (
	"slices"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// ReplyURLChange is an app update ("Update service principal", "Update
// application") that carries reply URLs: the object and its AppAddress and
// ReplyUrls properties (Graph's name for the service principal side is not
// documented, so both are read).
type ReplyURLChange struct {
	Record tenant.AuditEvent
	Object AppObject
	// AppAddress and ReplyUrls are the target's properties, nil when it
	// does not carry them (at least one is set). Addresses are trimmed,
	// non-empty and without repeats, in record order.
	AppAddress, ReplyUrls *Change[string]
}

func (ReplyURLChange) isEvent() {}

// Added returns the addresses the update adds (new minus old, compared
// exactly), sorted and without repeats, and the properties that add them
// as the record spells them.
func (c ReplyURLChange) Added() (addresses, properties []string) {
	for _, p := range []*Change[string]{c.AppAddress, c.ReplyUrls} {
		if p == nil {
			continue
		}
		if a := addedAddresses(p.Old, p.New); len(a) > 0 {
			addresses = append(addresses, a...)
			properties = append(properties, p.Property)
		}
	}
	return addedAddresses(nil, addresses), properties
}

// ReplyURLChanges decodes the app updates among records that carry reply
// URLs, in order.
func ReplyURLChanges(records []tenant.AuditEvent) []ReplyURLChange {
	return decodeAs[ReplyURLChange](records, familyReplyURLs)
}

// replyURLDecoder decodes an app update of an activity that implies type
// implied. A record without an app target, or whose target carries neither
// AppAddress nor ReplyUrls, gives nothing.
func replyURLDecoder(implied tenant.SubjectType) func(tenant.AuditEvent) []Event {
	return func(e tenant.AuditEvent) []Event {
		t, ok := appTarget(e)
		if !ok {
			return nil
		}
		c := ReplyURLChange{Record: e, Object: appObjectOf(t, implied)}
		if p, ok := findProp(t.Modified, "AppAddress"); ok {
			c.AppAddress = &Change[string]{Property: p.Name, Old: parseAddresses(p.Old), New: parseAddresses(p.New)}
		}
		if p, ok := findProp(t.Modified, "ReplyUrls"); ok {
			c.ReplyUrls = &Change[string]{Property: p.Name, Old: parseAddresses(p.Old), New: parseAddresses(p.New)}
		}
		if c.AppAddress == nil && c.ReplyUrls == nil {
			return nil
		}
		return []Event{c}
	}
}

// parseAddresses reads an AppAddress value (JSON array of objects with
// "Address") or a ReplyUrls value (JSON array of strings), returning the
// trimmed, non-empty addresses in order, without repeats.
func parseAddresses(raw string) []string {
	var out []string
	seen := make(map[string]bool)
	add := func(s string) {
		s = strings.TrimSpace(s)
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, el := range valueList(raw) {
		switch el := el.(type) {
		case string:
			add(el)
		case map[string]any:
			add(mapString(el, "Address"))
		}
	}
	return out
}

// addedAddresses returns the addresses in newVals that are not in oldVals,
// sorted and without repeats.
func addedAddresses(oldVals, newVals []string) []string {
	had := make(map[string]bool, len(oldVals))
	for _, a := range oldVals {
		had[a] = true
	}
	var out []string
	for _, a := range newVals {
		if !had[a] {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
