package detect

import (
	"context"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// dormantUnregistered finds dormant member accounts that have no MFA method
// registered: the first person to sign in with the password can enrol their
// own MFA, as APT29 did with a guessed password.
type dormantUnregistered struct{}

func newDormantUnregistered() Detector { return dormantUnregistered{} }

func (dormantUnregistered) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "mfa.dormant-unregistered",
		Title: "Dormant account without MFA registered",
		Description: "An enabled member account that is not new has had no successful sign-in for the dormancy period " +
			"and has no MFA method registered. Whoever signs in next with its password can register their own MFA.",
		Severity: tenant.SeverityHigh,
		MITRE:    []string{"T1078.004", "T1098.005"},
		Sources:  []tenant.Source{tenant.SourceUsers, tenant.SourceSignInActivity, tenant.SourceRegistrations},
	}
}

func (d dormantUnregistered) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	regs := newRegistrationIndex(in.Snapshot.Registrations)
	var out []tenant.Finding
	for i := range in.Snapshot.Users {
		u := &in.Snapshot.Users[i]
		reg := unregisteredMember(u, regs)
		if reg == nil || u.ID == "" || !isDormantUnregistered(u, in.Now, in.Config) {
			continue
		}
		out = append(out, tenant.Finding{
			Subject:  userSubject(u),
			Evidence: unregisteredEvidence(u, reg, in),
			Key:      findingKey(d.Rule().ID, u.ID),
		})
	}
	return out, nil
}

// unregisteredEvidence is the evidence both MFA-registration state rules
// give.
func unregisteredEvidence(u *tenant.User, reg *tenant.Registration, in *Input) map[string]any {
	ev := map[string]any{
		"createdDateTime":      ts(u.Created),
		"isMfaRegistered":      reg.IsMfaRegistered,
		"isMfaCapable":         reg.IsMfaCapable,
		"isAdmin":              reg.IsAdmin,
		"methodsRegistered":    append([]string{}, reg.Methods...),
		"dormantAfterDays":     int(in.Config.DormantAfter.Hours() / 24),
		"newAccountWithinDays": int(in.Config.NewAccountWithin.Hours() / 24),
	}
	if u.Created.IsZero() {
		ev["createdDateTime"] = "unknown (treated as old)"
	}
	putAny(ev, "userPrincipalName", u.UPN)
	if in.Snapshot.Available(tenant.SourceSignInActivity) {
		if u.LastSuccessfulSignIn.IsZero() {
			ev["lastSuccessfulSignIn"] = "never"
		} else {
			ev["lastSuccessfulSignIn"] = ts(u.LastSuccessfulSignIn)
			ev["daysSinceLastSuccessfulSignIn"] = int(in.Now.Sub(u.LastSuccessfulSignIn).Hours() / 24)
		}
	}
	return ev
}
