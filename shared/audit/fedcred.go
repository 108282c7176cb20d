package audit

import (
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// FederatedCredentialChange is an app update ("Update application",
// "Update service principal") that carries FederatedIdentityCredentials:
// adding a federated identity credential to an application is audited as
// "Update application" with that property, whose values are JSON arrays of
// the credentials before and after ({"Name", "Issuer", "Subject",
// "Audiences", "Description"}; Elastic's rule "Entra ID Federated Identity
// Credential Issuer Modified" reads the same property). Microsoft's audit
// activity reference has no activity of its own for it.
type FederatedCredentialChange struct {
	Record      tenant.AuditEvent
	Object      AppObject
	Credentials Change[tenant.FederatedCredential]
}

func (FederatedCredentialChange) isEvent() {}

// Added returns the credentials the update adds: new items with no old
// item of the same name, issuer and subject (a credential whose issuer or
// subject changed is a new trust), in record order.
func (c FederatedCredentialChange) Added() []tenant.FederatedCredential {
	had := make(map[string]bool, len(c.Credentials.Old))
	for _, f := range c.Credentials.Old {
		had[fedKey(f)] = true
	}
	var out []tenant.FederatedCredential
	for _, f := range c.Credentials.New {
		if !had[fedKey(f)] {
			had[fedKey(f)] = true
			out = append(out, f)
		}
	}
	return out
}

func fedKey(f tenant.FederatedCredential) string {
	return strings.ToLower(f.Name) + "\x00" + f.Issuer + "\x00" + f.Subject
}

// FederatedCredentialChanges decodes the app updates among records that
// carry federated identity credentials, in order.
func FederatedCredentialChanges(records []tenant.AuditEvent) []FederatedCredentialChange {
	return decodeAs[FederatedCredentialChange](records, familyFederatedCredentials)
}

// federatedCredentialDecoder decodes an app update of an activity that
// implies type implied. A record without an app target or the property
// gives nothing.
func federatedCredentialDecoder(implied tenant.SubjectType) func(tenant.AuditEvent) []Event {
	return func(e tenant.AuditEvent) []Event {
		t, ok := appTarget(e)
		if !ok {
			return nil
		}
		p, ok := findProp(t.Modified, "FederatedIdentityCredentials")
		if !ok {
			return nil
		}
		return []Event{FederatedCredentialChange{
			Record:      e,
			Object:      appObjectOf(t, implied),
			Credentials: Change[tenant.FederatedCredential]{Property: p.Name, Old: parseFederatedCredentials(p.Old), New: parseFederatedCredentials(p.New)},
		}}
	}
}

// maxFederatedCredentials bounds the items read from one value (Entra
// allows 20 per application).
const maxFederatedCredentials = 100

// parseFederatedCredentials reads a FederatedIdentityCredentials value: a
// JSON array of objects (keys matched case-insensitively). Items without
// an issuer or subject are dropped.
func parseFederatedCredentials(raw string) []tenant.FederatedCredential {
	var out []tenant.FederatedCredential
	for _, el := range valueList(raw) {
		m, ok := el.(map[string]any)
		if !ok {
			continue
		}
		f := tenant.FederatedCredential{
			ID:          mapString(m, "Id"),
			Name:        mapString(m, "Name"),
			Issuer:      mapString(m, "Issuer"),
			Subject:     mapString(m, "Subject"),
			Description: mapString(m, "Description"),
		}
		if v, ok := mapGet(m, "Audiences"); ok {
			switch v := v.(type) {
			case []any:
				for _, a := range v {
					if s := scalarString(a); s != "" {
						f.Audiences = append(f.Audiences, s)
					}
				}
			default:
				if s := scalarString(v); s != "" {
					f.Audiences = []string{s}
				}
			}
		}
		if f.Issuer == "" && f.Subject == "" {
			continue
		}
		out = append(out, f)
		if len(out) == maxFederatedCredentials {
			break
		}
	}
	return out
}
