package detect

import (
	"context"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// notRegistered finds enabled member accounts without MFA registered that
// mfa.dormant-unregistered does not already report.
type notRegistered struct{}

func newNotRegistered() Detector { return notRegistered{} }

func (notRegistered) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "mfa.not-registered",
		Title: "Account without MFA registered",
		Description: "An enabled member account has no MFA method registered. Until it registers one, " +
			"anyone with its password can register theirs. Dormant accounts are reported by mfa.dormant-unregistered instead.",
		Severity: tenant.SeverityLow,
		MITRE:    []string{"T1078.004"},
		Sources:  []tenant.Source{tenant.SourceUsers, tenant.SourceRegistrations},
	}
}

func (d notRegistered) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	regs := newRegistrationIndex(in.Snapshot.Registrations)
	activity := in.Snapshot.Available(tenant.SourceSignInActivity)
	var out []tenant.Finding
	for i := range in.Snapshot.Users {
		u := &in.Snapshot.Users[i]
		reg := unregisteredMember(u, regs)
		if reg == nil || u.ID == "" {
			continue
		}
		if activity && isDormantUnregistered(u, in.Now, in.Config) {
			continue // mfa.dormant-unregistered reports it
		}
		ev := unregisteredEvidence(u, reg, in)
		ev["newAccount"] = isNewAccount(u, in.Now, in.Config)
		if !activity {
			ev["dormancyChecked"] = false
			ev["note"] = "sign-in activity was not available (" + in.Snapshot.Unavailable[tenant.SourceSignInActivity] +
				"), so dormant accounts could not be told apart and every unregistered member is listed here"
		}
		out = append(out, tenant.Finding{
			Subject:  userSubject(u),
			Evidence: ev,
			Key:      findingKey(d.Rule().ID, u.ID),
		})
	}
	return out, nil
}
