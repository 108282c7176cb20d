package audit

import (
	"slices"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Consent is a "Consent to application" record: a user or an admin
// consented to delegated permissions for a client app. The target is the
// client's service principal; the grant is in modified properties
// (Microsoft's Entra security operations guide for applications, and
// published records: see shared/detect/testdata/README.md):
//
//   - ConsentContext.IsAdminConsent, .OnBehalfOfAll, .IsAppOnly: "True" or
//     "False". IsAdminConsent says an admin accepted; OnBehalfOfAll says
//     the grant covers every user (an admin consenting for themselves
//     logs IsAdminConsent True and OnBehalfOfAll False).
//   - ConsentAction.Permissions: the grant before and after, as text:
//     "[] => [[Id: …, ClientId: …, PrincipalId: …, ResourceId: …,
//     ConsentType: AllPrincipals, Scope:  User.Read Mail.Read, …]]; ".
//   - TargetId.ServicePrincipalNames: the client's names (its app id).
type Consent struct {
	Record tenant.AuditEvent
	Object AppObject // the client service principal
	// AdminConsent, OnBehalfOfAll and AppOnly are the ConsentContext
	// flags; nil when the record does not carry one or it is not a bool.
	AdminConsent, OnBehalfOfAll, AppOnly *bool
	// Old and New are the grant entries of ConsentAction.Permissions
	// before and after the consent.
	Old, New []ConsentEntry
	// ServicePrincipalNames is TargetId.ServicePrincipalNames, split on
	// ';', trimmed.
	ServicePrincipalNames []string
}

func (Consent) isEvent() {}

// ConsentEntry is one delegated grant of ConsentAction.Permissions. Any
// field may be empty (the client id is often the zero GUID: the client is
// the record's target).
type ConsentEntry struct {
	ID, ClientID, PrincipalID, ResourceID string
	ConsentType                           string // "AllPrincipals" or "Principal"
	Scopes                                []string
}

// AddedScopes returns the scopes of the new entries that no old entry held
// (compared case-insensitively), sorted and without repeats: a re-consent
// lists every scope again on both sides.
func (c Consent) AddedScopes() []string { return addedScopes(entryScopes(c.Old), entryScopes(c.New)) }

// AllPrincipals reports whether a new entry's consent type is
// "AllPrincipals": the grant covers every user of the tenant.
func (c Consent) AllPrincipals() bool {
	for _, e := range c.New {
		if strings.EqualFold(e.ConsentType, "AllPrincipals") {
			return true
		}
	}
	return false
}

// Consents decodes the "Consent to application" records, in order.
func Consents(records []tenant.AuditEvent) []Consent {
	return decodeAs[Consent](records, familyConsents)
}

// decodeConsent decodes a consent record. A record without an app target
// gives nothing.
func decodeConsent(e tenant.AuditEvent) []Event {
	t, ok := appTarget(e)
	if !ok {
		return nil
	}
	c := Consent{
		Record:        e,
		Object:        appObjectOf(t, tenant.SubjectServicePrincipal),
		AdminConsent:  newBool(e, "ConsentContext.IsAdminConsent"),
		OnBehalfOfAll: newBool(e, "ConsentContext.OnBehalfOfAll"),
		AppOnly:       newBool(e, "ConsentContext.IsAppOnly"),
	}
	if p, ok := eventProp(e, "ConsentAction.Permissions"); ok {
		// The value is "<old> => <new>" in newValue; oldValue, when set,
		// is a second spelling of the old side.
		text := consentText(p.New)
		oldText, newText, found := strings.Cut(text, "=>")
		if !found {
			oldText, newText = "", text
		}
		c.Old = parseConsentEntries(oldText)
		c.New = parseConsentEntries(newText)
		if len(c.Old) == 0 {
			c.Old = parseConsentEntries(consentText(p.Old))
		}
	}
	c.ServicePrincipalNames = splitNames(newString(e, "TargetId.ServicePrincipalNames"))
	return []Event{c}
}

// DelegatedGrantAdded is an "Add delegated permission grant" record (the
// unified audit log: "Add OAuth2PermissionGrant."): delegated scopes a
// client may use on a resource. The target is the resource's service
// principal (Microsoft Graph, Exchange Online); the client is only in
// ServicePrincipal.* properties, as in app role grants.
// DelegatedPermissionGrant.Scope and .ConsentType carry the grant.
type DelegatedGrantAdded struct {
	Record tenant.AuditEvent
	// ResourceID and ResourceName are the first ServicePrincipal target's
	// id and display name.
	ResourceID, ResourceName string
	// ResourceNames is TargetId.ServicePrincipalNames: the resource's
	// names, its app id among them (Graph's
	// "00000003-0000-0000-c000-000000000000").
	ResourceNames []string
	Scope         Change[string] // DelegatedPermissionGrant.Scope, split on white space
	ConsentType   string         // DelegatedPermissionGrant.ConsentType (new value)
	Client        GrantClient
}

func (DelegatedGrantAdded) isEvent() {}

// AddedScopes returns the scopes the grant adds (new minus old,
// case-insensitive), sorted and without repeats.
func (g DelegatedGrantAdded) AddedScopes() []string { return addedScopes(g.Scope.Old, g.Scope.New) }

// DelegatedGrantsAdded decodes the delegated permission grants among
// records, in order.
func DelegatedGrantsAdded(records []tenant.AuditEvent) []DelegatedGrantAdded {
	return decodeAs[DelegatedGrantAdded](records, familyDelegatedGrants)
}

// decodeDelegatedGrant decodes every record of the activity that carries
// DelegatedPermissionGrant.Scope.
func decodeDelegatedGrant(e tenant.AuditEvent) []Event {
	p, ok := eventProp(e, "DelegatedPermissionGrant.Scope")
	if !ok {
		return nil
	}
	g := DelegatedGrantAdded{
		Record:        e,
		ResourceNames: splitNames(newString(e, "TargetId.ServicePrincipalNames")),
		Scope:         Change[string]{Property: p.Name, Old: strings.Fields(valueString(p.Old)), New: strings.Fields(valueString(p.New))},
		ConsentType:   newString(e, "DelegatedPermissionGrant.ConsentType"),
		Client: GrantClient{
			ObjectID:    newString(e, "ServicePrincipal.ObjectID"),
			AppID:       newString(e, "ServicePrincipal.AppId"),
			DisplayName: newString(e, "ServicePrincipal.DisplayName"),
		},
	}
	if t, ok := firstTarget(e, "ServicePrincipal"); ok {
		g.ResourceID, g.ResourceName = strings.TrimSpace(t.ID), strings.TrimSpace(t.DisplayName)
	}
	return []Event{g}
}

// newBool returns the new value of the property called name as a bool, or
// nil when it is absent or not "true"/"false" (any case).
func newBool(e tenant.AuditEvent, name string) *bool {
	p, ok := eventProp(e, name)
	if !ok {
		return nil
	}
	var b bool
	switch strings.ToLower(valueString(p.New)) {
	case "true":
		b = true
	case "false":
	default:
		return nil
	}
	return &b
}

// consentText returns a ConsentAction.Permissions value as text: the
// decoded string (Graph wraps it in JSON quotes), else the raw text.
func consentText(raw string) string {
	if s, ok := decodeValue(raw).(string); ok {
		return s
	}
	return strings.TrimSpace(raw)
}

// consentLabels are the fields of a ConsentAction.Permissions entry the
// decoder reads.
var consentLabels = []string{"Id", "ClientId", "PrincipalId", "ResourceId", "ConsentType", "Scope"}

// maxConsentEntries bounds the entries read from one value.
const maxConsentEntries = 100

// parseConsentEntries reads the entries of one side of a
// ConsentAction.Permissions value: "[[Id: a, ClientId: b, …, Scope: x
// y, …], [Id: …]]". Each entry starts at "[Id:"; a field's value runs to
// the next ',' or ']'. Text without entries gives nil.
func parseConsentEntries(s string) []ConsentEntry {
	var out []ConsentEntry
	for from := 0; len(out) < maxConsentEntries; {
		i := indexFold(s, "[Id:", from)
		if i < 0 {
			break
		}
		end := strings.IndexByte(s[i+1:], ']')
		body := s[i+1:]
		if end >= 0 {
			body = s[i+1 : i+1+end]
		}
		var e ConsentEntry
		for _, label := range consentLabels {
			v := consentField(body, label)
			switch label {
			case "Id":
				e.ID = v
			case "ClientId":
				e.ClientID = v
			case "PrincipalId":
				e.PrincipalID = v
			case "ResourceId":
				e.ResourceID = v
			case "ConsentType":
				e.ConsentType = v
			case "Scope":
				e.Scopes = strings.Fields(v)
			}
		}
		out = append(out, e)
		if end < 0 {
			break
		}
		from = i + 1 + end
	}
	return out
}

// consentField returns the value of "label:" in an entry body: the text
// after it up to the next ',' (or the end), trimmed. The label must start
// the body or follow ", " so that "Id" does not match inside "ClientId".
func consentField(body, label string) string {
	for from := 0; ; {
		i := indexFold(body, label+":", from)
		if i < 0 {
			return ""
		}
		if i == 0 || (i >= 2 && body[i-2:i] == ", ") {
			v := body[i+len(label)+1:]
			if j := strings.IndexByte(v, ','); j >= 0 {
				v = v[:j]
			}
			return strings.TrimSpace(v)
		}
		from = i + 1
	}
}

// entryScopes returns every scope of entries.
func entryScopes(es []ConsentEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Scopes...)
	}
	return out
}

// addedScopes returns the scopes in newS not in oldS (case-insensitive),
// sorted and without repeats.
func addedScopes(oldS, newS []string) []string {
	had := make(map[string]bool, len(oldS))
	for _, s := range oldS {
		had[strings.ToLower(s)] = true
	}
	var out []string
	for _, s := range newS {
		if s = strings.TrimSpace(s); s != "" && !had[strings.ToLower(s)] {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// splitNames splits a ';'-separated list of service principal names.
func splitNames(s string) []string {
	var out []string
	for _, n := range strings.Split(s, ";") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}
