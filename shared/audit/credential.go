package audit

import (
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// CredentialChange is a credential event ("Add service principal
// credentials", "Update application – Certificates and secrets
// management"): the object whose keys changed and its KeyDescription.
type CredentialChange struct {
	Record tenant.AuditEvent
	Object AppObject
	// KeyDescription is read from the object's target, else from the
	// first target that carries it.
	KeyDescription Change[Key]
}

func (CredentialChange) isEvent() {}

// Added returns the keys the change adds: new items whose key identifier
// (case-insensitive) is not among the old ones, first occurrence only.
func (c CredentialChange) Added() []Key { return newKeys(c.KeyDescription.Old, c.KeyDescription.New) }

// CredentialChanges decodes the credential events among records, in order.
func CredentialChanges(records []tenant.AuditEvent) []CredentialChange {
	return decodeAs[CredentialChange](records, familyCredentials)
}

// credentialDecoder decodes a credential event of an activity that implies
// type implied. A record without an app target or a KeyDescription gives
// nothing.
func credentialDecoder(implied tenant.SubjectType) func(tenant.AuditEvent) []Event {
	return func(e tenant.AuditEvent) []Event {
		t, ok := appTarget(e)
		if !ok {
			return nil
		}
		p, ok := findProp(t.Modified, "KeyDescription")
		if !ok {
			if p, ok = eventProp(e, "KeyDescription"); !ok {
				return nil
			}
		}
		return []Event{CredentialChange{
			Record:         e,
			Object:         appObjectOf(t, implied),
			KeyDescription: Change[Key]{Property: p.Name, Old: parseKeyDescriptions(p.Old), New: parseKeyDescriptions(p.New)},
		}}
	}
}

// Key is one item of a KeyDescription value:
// "[KeyIdentifier=<guid>,KeyType=AsymmetricX509Cert,KeyUsage=Verify,DisplayName=CN=Foo, Inc]".
type Key struct {
	ID          string // KeyIdentifier (or KeyId); never empty
	Type        string // AsymmetricX509Cert, Password, …
	Usage       string // Verify, Sign, …
	DisplayName string // attacker-chosen: may hold commas, '=' and brackets
}

// parseKeyDescriptions reads a KeyDescription old or new value: normally a
// JSON array of item strings inside the string. Each array element is one
// item, whatever its display name holds. A bare string is split into items
// at each "[KeyIdentifier=". Items without a key identifier are dropped.
func parseKeyDescriptions(raw string) []Key {
	var out []Key
	add := func(k Key, ok bool) {
		if ok {
			out = append(out, k)
		}
	}
	switch v := decodeValue(raw).(type) {
	case []any:
		for _, el := range v {
			switch el := el.(type) {
			case string:
				add(parseKeyItem(el))
			case map[string]any:
				add(keyItemFromMap(el))
			}
		}
	case string:
		for _, part := range splitKeyItems(v) {
			add(parseKeyItem(part))
		}
	case map[string]any:
		add(keyItemFromMap(v))
	}
	return out
}

func keyItemFromMap(m map[string]any) (Key, bool) {
	k := Key{
		ID:          mapString(m, "KeyIdentifier"),
		Type:        mapString(m, "KeyType"),
		Usage:       mapString(m, "KeyUsage"),
		DisplayName: mapString(m, "DisplayName"),
	}
	if k.ID == "" {
		k.ID = mapString(m, "KeyId")
	}
	return k, k.ID != ""
}

// splitKeyItems splits a bare string holding several items.
func splitKeyItems(s string) []string {
	const marker = "[KeyIdentifier="
	s = strings.TrimSpace(s)
	var starts []int
	for i := indexFold(s, marker, 0); i >= 0; i = indexFold(s, marker, i+1) {
		starts = append(starts, i)
	}
	if len(starts) < 2 {
		return []string{s}
	}
	if strings.HasPrefix(s, "[[") && strings.HasSuffix(s, "]]") && starts[0] == 1 {
		s = s[:len(s)-1] // the outer list's closing bracket
	}
	parts := make([]string, 0, len(starts))
	for i, st := range starts {
		end := len(s)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		parts = append(parts, strings.TrimRight(s[st:end], " ,\t\r\n"))
	}
	return parts
}

// parseKeyItem reads one item. DisplayName is the last field and may hold
// commas, '=' and brackets: everything after the first "DisplayName=" at a
// field boundary belongs to it, less the item's closing bracket.
func parseKeyItem(s string) (Key, bool) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		s = strings.TrimPrefix(s, "[")
		s = strings.TrimSuffix(s, "]")
	}
	head, name, found := s, "", false
	for i := indexFold(s, "DisplayName=", 0); i >= 0; i = indexFold(s, "DisplayName=", i+1) {
		if atFieldStart(s, i) {
			head, name, found = s[:i], s[i+len("DisplayName="):], true
			break
		}
	}
	var k Key
	if found {
		k.DisplayName = name
	}
	for _, f := range strings.Split(head, ",") {
		key, val, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch {
		case strings.EqualFold(key, "KeyIdentifier"), strings.EqualFold(key, "KeyId"):
			if k.ID == "" {
				k.ID = val
			}
		case strings.EqualFold(key, "KeyType"):
			k.Type = val
		case strings.EqualFold(key, "KeyUsage"):
			k.Usage = val
		}
	}
	return k, k.ID != ""
}

// atFieldStart reports whether position i of s starts a field: the start of
// s, or after a comma and optional spaces.
func atFieldStart(s string, i int) bool {
	j := i - 1
	for j >= 0 && s[j] == ' ' {
		j--
	}
	return j < 0 || s[j] == ','
}

// newKeys returns the items of newItems whose key identifier is not among
// oldItems (case-insensitive), first occurrence only.
func newKeys(oldItems, newItems []Key) []Key {
	had := make(map[string]bool, len(oldItems))
	for _, k := range oldItems {
		had[strings.ToLower(k.ID)] = true
	}
	var out []Key
	for _, k := range newItems {
		id := strings.ToLower(k.ID)
		if had[id] {
			continue
		}
		had[id] = true
		out = append(out, k)
	}
	return out
}
