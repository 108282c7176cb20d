package detect

import (
	"context"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// firstPartyCredential finds credentials on the service principals of
// Microsoft's own applications, which normally carry none in a customer
// tenant.
type firstPartyCredential struct{}

func newFirstPartyCredential() Detector { return firstPartyCredential{} }

func (firstPartyCredential) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "sp.first-party-credential",
		Title: "Credential on a Microsoft first-party service principal",
		Description: "A service principal of an application owned by Microsoft carries a certificate or secret. " +
			"Microsoft's apps authenticate with Microsoft's own credentials; one added in the tenant lets its holder act as the app, with the app's permissions.",
		Severity: tenant.SeverityHigh,
		MITRE:    []string{"T1098.001"},
		Sources:  []tenant.Source{tenant.SourceServicePrincipals},
	}
}

func (d firstPartyCredential) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	var out []tenant.Finding
	for i := range in.Snapshot.ServicePrincipals {
		sp := &in.Snapshot.ServicePrincipals[i]
		if len(spCredentials(sp)) == 0 || !isMicrosoftTenant(sp.AppOwnerOrganizationID) || sp.ID == "" {
			continue
		}
		creds := make([]map[string]string, 0, len(spCredentials(sp)))
		for _, c := range spCredentials(sp) {
			creds = append(creds, credentialRecord(c))
		}
		ev := map[string]any{
			"credentials":            creds,
			"credentialCount":        len(creds),
			"appOwnerOrganizationId": sp.AppOwnerOrganizationID,
		}
		putAny(ev, "appId", sp.AppID)
		out = append(out, tenant.Finding{
			Subject:  spObject(in, sp).subject(),
			Evidence: ev,
			Key:      findingKey(d.Rule().ID, sp.ID),
		})
	}
	return out, nil
}
