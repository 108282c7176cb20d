package detect

import (
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Conditional Access predicates shared by the posture rules and the event
// rules they raise (one definition each): who a policy applies to, which
// policies require MFA, which block the device-code flow. Scope and the
// MFA gap are shared/tenant's (tenant.CAView), which collection uses too,
// to read signInActivity for the users posture.dormant-excluded-from-mfa
// judges.

// caScope is how one policy applies to one user.
type caScope = tenant.CAScope

func policyEnabled(p tenant.CAPolicy) bool { return p.Enabled() }

func hasFold(list []string, v string) bool { return tenant.HasFold(list, v) }

// caView is the run's Conditional Access view, indexed once.
func (in *Input) caView() *tenant.CAView {
	x := in.index()
	if x.ca == nil {
		x.ca = tenant.NewCAView(in.Snapshot.Policies, in.Snapshot.GroupMembers)
	}
	return x.ca
}

// scopeOf says how policy p applies to the user userID.
func scopeOf(in *Input, p tenant.CAPolicy, userID string) caScope {
	return in.caView().Scope(p, userID)
}

// allResources reports whether p covers every resource
// (tenant.CAPolicy.AllResources).
func allResources(p tenant.CAPolicy) bool { return p.AllResources() }

// blocksDeviceCode reports whether p is an enabled policy for every
// resource that blocks the device-code flow
// (conditions.authenticationFlows.transferMethods holds deviceCodeFlow;
// grantControls.builtInControls holds block).
func blocksDeviceCode(p tenant.CAPolicy) bool {
	return policyEnabled(p) && allResources(p) && hasFold(p.BuiltInControls, "block") && hasTransferMethod(p, "deviceCodeFlow")
}

// hasTransferMethod reports whether p's transferMethods flag set holds m.
func hasTransferMethod(p tenant.CAPolicy, m string) bool {
	return hasFold(strings.Split(p.TransferMethods, ","), m)
}

// policyName names a policy for evidence.
func policyName(p tenant.CAPolicy) string { return p.PolicyName() }

// mfaGap is a user's standing against the MFA policies.
type mfaGap = tenant.MFAGap

// mfaGapOf judges the user userID against the snapshot's policies
// (tenant.CAView.MFAGap). It is the definition of
// posture.dormant-excluded-from-mfa's exclusion and of
// signin.password-spray's "excluded from MFA".
func mfaGapOf(in *Input, userID string) mfaGap { return in.caView().MFAGap(userID) }

// mfaPostureKnown reports whether the run can judge MFA exclusions: the
// policies and the members of the groups they name were read.
func mfaPostureKnown(in *Input) bool {
	return in.Snapshot.Available(tenant.SourceCAPolicies) && in.Snapshot.Available(tenant.SourceCAGroupMembers)
}

// deviceCodeBlockedFor reports whether an enabled policy blocking the
// device-code flow applies to the user userID. It is the definition of
// posture.device-code-unrestricted (for all users) and of the raise of
// signin.device-code (for the user).
func deviceCodeBlockedFor(in *Input, userID string) bool {
	for _, p := range in.Snapshot.Policies {
		if blocksDeviceCode(p) && scopeOf(in, p, userID).Applies {
			return true
		}
	}
	return false
}

// deviceCodeBlockedForAll reports whether an enabled policy blocks the
// device-code flow for all users (includeUsers "All"), and returns such
// policies' exclusions.
func deviceCodeBlockedForAll(in *Input) (bool, []string) {
	var excl []string
	blocked := false
	for _, p := range in.Snapshot.Policies {
		if !blocksDeviceCode(p) || !hasFold(p.IncludeUsers, "All") {
			continue
		}
		blocked = true
		for _, u := range p.ExcludeUsers {
			excl = append(excl, policyName(p)+": user "+lowerID(u))
		}
		for _, gr := range p.ExcludeGroups {
			excl = append(excl, policyName(p)+": group "+lowerID(gr))
		}
		for _, r := range p.ExcludeRoles {
			excl = append(excl, policyName(p)+": role "+lowerID(r))
		}
	}
	slices.Sort(excl)
	return blocked, excl
}

// raise returns s one step higher, at most critical.
func raise(s tenant.Severity) tenant.Severity { return min(s+1, tenant.SeverityCritical) }

// dormantKnown is the existing dormant definition (isDormantUnregistered:
// not new, no successful sign-in for DormantAfter before at), judged only
// when it is known: a zero last sign-in counts as "never" only when
// signInActivity was read for the user (collection reads it for some users
// only; tenant.User.SignInActivityRead).
func dormantKnown(u *tenant.User, at time.Time, cfg Config) bool {
	if u.LastSuccessfulSignIn.IsZero() && !u.SignInActivityRead {
		return false
	}
	return isDormantUnregistered(u, at, cfg)
}
