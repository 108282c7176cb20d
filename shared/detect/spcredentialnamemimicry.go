package detect

import (
	"context"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// credentialNameMimicry finds certificates named after the object they sit
// on ("CN=<app name>"), the way APT29 disguised added certificates as the
// portal's own self-signed ones.
type credentialNameMimicry struct{}

func newCredentialNameMimicry() Detector { return credentialNameMimicry{} }

func (credentialNameMimicry) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "sp.credential-name-mimicry",
		Title: "Certificate named after its own application",
		Description: "A certificate that started in the window is named \"CN=<the object's display name>\". " +
			"Attackers name added certificates this way so they pass for the application's own.",
		Severity: tenant.SeverityMedium,
		MITRE:    []string{"T1036", "T1098.001"},
		Sources:  []tenant.Source{tenant.SourceServicePrincipals},
	}
}

func (d credentialNameMimicry) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	s := in.Snapshot
	var out []tenant.Finding
	check := func(o appObject, creds []tenant.Credential) {
		name := strings.TrimSpace(o.Name)
		if name == "" || o.ID == "" {
			return
		}
		for _, c := range creds {
			if c.Kind != tenant.KeyCredential || c.KeyID == "" {
				continue
			}
			// In the window, or new to the object's baseline whatever its
			// (attacker-chosen) start date.
			change, changed := in.Change(tenant.ChangeCredentialAdded, o.ID, c.KeyID)
			if !changed && (c.Start.Before(s.Since) || c.Start.After(in.Now)) {
				continue
			}
			if !strings.EqualFold(strings.TrimSpace(c.DisplayName), "CN="+name) {
				continue
			}
			ev := map[string]any{
				"keyId":             c.KeyID,
				"keyDisplayName":    c.DisplayName,
				"objectDisplayName": o.Name,
				"start":             ts(c.Start),
			}
			putAny(ev, "end", ts(c.End))
			putAny(ev, "keyType", c.Type)
			putAny(ev, "keyUsage", c.Usage)
			putAny(ev, "appId", o.AppID)
			if changed {
				ev["baselineChangeSeenAt"] = ts(change.SeenAt)
			}
			out = append(out, tenant.Finding{
				Subject:  o.subject(),
				Evidence: ev,
				Key:      findingKey(d.Rule().ID, o.ID, c.KeyID),
			})
		}
	}
	for i := range s.ServicePrincipals {
		check(spObject(in, &s.ServicePrincipals[i]), spCredentials(&s.ServicePrincipals[i]))
	}
	for i := range s.Applications {
		check(applicationObject(in, &s.Applications[i]), s.Applications[i].Credentials)
	}
	return out, nil
}
