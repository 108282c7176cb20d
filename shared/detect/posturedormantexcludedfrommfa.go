package detect

import (
	"context"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// dormantExcludedFromMFA finds enabled dormant members no MFA policy
// applies to: the gap behind the January 2024 breach of Microsoft's
// corporate tenant, a password-sprayed legacy test account without MFA.
type dormantExcludedFromMFA struct{}

func newDormantExcludedFromMFA() Detector { return dormantExcludedFromMFA{} }

func (dormantExcludedFromMFA) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "posture.dormant-excluded-from-mfa",
		Title: "Dormant account outside every MFA policy",
		Description: "An enabled member account, not new, with no successful sign-in for the dormancy period, to which no enabled " +
			"Conditional Access policy requiring MFA for all resources applies: excluded from each, directly or through a group, or " +
			"included by none. A guessed password is then enough. Roles are not expanded: a policy that includes the user only " +
			"through a role does not count as covering them, and role exclusions are listed, not applied. A user whose " +
			"signInActivity was not read is not judged. " +
			"It also raises signin.password-spray to critical when the spray's success is on such an account.",
		Severity: tenant.SeverityHigh,
		MITRE:    []string{"T1078.004", "T1556"},
		Sources: []tenant.Source{tenant.SourceUsers, tenant.SourceSignInActivity, tenant.SourceCAPolicies,
			tenant.SourceCAGroupMembers},
	}
}

func (d dormantExcludedFromMFA) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	var out []tenant.Finding
	for i := range in.Snapshot.Users {
		u := &in.Snapshot.Users[i]
		// The candidates are collection's too: it reads signInActivity
		// for them (tenant.CAView.MFAExclusionCandidate).
		if !dormantKnown(u, in.Now, in.Config) || !in.caView().MFAExclusionCandidate(u) {
			continue
		}
		g := mfaGapOf(in, u.ID)
		ev := map[string]any{
			"mfaPolicyCount":       g.Policies,
			"dormantDays":          int(in.Config.DormantAfter.Hours() / 24),
			"lastSuccessfulSignIn": ts(u.LastSuccessfulSignIn),
			"createdDateTime":      ts(u.Created),
		}
		if u.LastSuccessfulSignIn.IsZero() {
			ev["lastSuccessfulSignIn"] = "never"
		}
		if u.Created.IsZero() {
			ev["createdDateTime"] = "unknown (treated as old)"
		}
		putAny(ev, "userPrincipalName", u.UPN)
		if g.Policies == 0 {
			ev["note"] = "no enabled Conditional Access policy requires MFA for all resources"
		} else {
			ev["mfaPolicies"] = g.Escapes[:min(len(g.Escapes), maxListed)]
		}
		if len(g.Roles) > 0 {
			ev["roleScopedPolicies"] = capStrings(g.Roles)
		}
		if len(g.Unknown) > 0 {
			ev["groupsNotExpanded"] = capStrings(g.Unknown)
		}
		out = append(out, tenant.Finding{
			Subject:  userSubject(u),
			Evidence: ev,
			Key:      findingKey(d.Rule().ID, u.ID),
		})
	}
	return out, nil
}
