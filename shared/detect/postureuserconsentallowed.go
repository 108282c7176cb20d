package detect

import (
	"cmp"
	"context"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// userConsentAllowed reports the tenant's authorization policy when it lets
// users consent to apps or register apps.
type userConsentAllowed struct{}

func newUserConsentAllowed() Detector { return userConsentAllowed{} }

func (userConsentAllowed) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "posture.user-consent-allowed",
		Title: "Users may consent to applications or register them",
		Description: "The authorization policy lets users consent to apps on their own behalf (a ManagePermissionGrantsForSelf " +
			"policy: legacy or custom) or lets every user register applications (allowedToCreateApps): a phished user can hand " +
			"an app their mail, the consent-phishing path. Medium; low when the only consent policies are the low-risk ones " +
			"(microsoft-user-default-low, microsoft-user-default-recommended) and users cannot register apps. While it holds, " +
			"app.consent-mail-scopes reports user consents one step higher.",
		Severity: tenant.SeverityMedium,
		MITRE:    []string{"T1528", "T1566.002"},
		// The subject and the key are the tenant's id (/organization): a
		// tenant-wide finding without it would have no stable key.
		Sources: []tenant.Source{tenant.SourceAuthorizationPolicy, tenant.SourceOrganization},
	}
}

func (d userConsentAllowed) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	c := consentPostureOf(in.Snapshot.AuthorizationPolicy)
	if !c.Read {
		// Not read by this run (a partial round of the deployed app, or a
		// collection that does not read it yet); a policy that could not
		// be read marks the source unavailable and the rule is skipped
		// with Graph's reason before it gets here.
		return nil, nil
	}
	if len(c.Self) == 0 && !c.CreateApps {
		return nil, nil
	}
	org := in.Snapshot.Organization
	id := cmp.Or(strings.TrimSpace(org.ID), "unknown-tenant")
	ev := map[string]any{
		"userConsentPolicies": c.Self,
		"allowedToCreateApps": c.CreateApps,
		"usersMayConsent":     c.usersMayConsent(),
	}
	if len(c.Self) == 0 {
		ev["userConsentPolicies"] = []string{}
	}
	var why []string
	if len(c.Broad) > 0 {
		ev["broadConsentPolicies"] = c.Broad
		why = append(why, "users may consent to apps under "+strings.Join(c.Broad, ", "))
	} else if len(c.Self) > 0 {
		why = append(why, "users may consent under low-risk policies only: "+strings.Join(c.Self, ", "))
	}
	if c.CreateApps {
		why = append(why, "every user may register applications")
	}
	ev["reasons"] = why
	f := tenant.Finding{
		Subject:  tenant.Subject{Type: tenant.SubjectTenant, ID: id, Name: cmp.Or(org.DisplayName, id)},
		Evidence: ev,
		Key:      findingKey(d.Rule().ID, id),
	}
	if !c.usersMayConsent() && !c.CreateApps {
		f.Severity = tenant.SeverityLow
	}
	return []tenant.Finding{f}, nil
}
