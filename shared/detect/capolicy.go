package detect

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Conditional Access predicates shared by the posture rules and the event
// rules they raise (one definition each): who a policy applies to, which
// policies require MFA, which block the device-code flow.
//
// Scope is judged from conditions.users as Graph returns it: "All" and user
// ids in includeUsers/excludeUsers, group ids in includeGroups/
// excludeGroups, expanded through Snapshot.GroupMembers (the transitive
// user members collection reads for the groups CA policies name), and role
// template ids in includeRoles/excludeRoles. Roles are not expanded (that
// needs another read of every role's members): a policy that includes a
// user only through a role is not counted as covering them, a role
// exclusion is not counted as excluding them; both are named in evidence.

// caScope is how one policy applies to one user.
type caScope struct {
	Included bool     // includeUsers "All" or the user, or a group of includeGroups holding the user
	Excluded bool     // excludeUsers the user, or a group of excludeGroups holding the user
	Applies  bool     // Included && !Excluded
	Via      string   // how the user is excluded ("user", "group <id>"), when Excluded
	Roles    []string // role ids the policy includes or excludes (not expanded)
	Unknown  []string // groups the policy names whose members were not read
}

func policyEnabled(p tenant.CAPolicy) bool {
	return strings.EqualFold(strings.TrimSpace(p.State), "enabled")
}

func hasFold(list []string, v string) bool {
	v = strings.TrimSpace(v)
	return slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(strings.TrimSpace(s), v) })
}

// scopeOf says how policy p applies to the user userID.
func scopeOf(in *Input, p tenant.CAPolicy, userID string) caScope {
	var sc caScope
	uid := lowerID(userID)
	members := in.Snapshot.GroupMembers
	inGroup := func(groups []string) (string, bool) {
		for _, g := range groups {
			ms, read := members[lowerID(g)]
			if !read {
				sc.Unknown = append(sc.Unknown, lowerID(g))
				continue
			}
			if slices.ContainsFunc(ms, func(m string) bool { return lowerID(m) == uid }) {
				return lowerID(g), true
			}
		}
		return "", false
	}
	sc.Included = hasFold(p.IncludeUsers, "All") || hasFold(p.IncludeUsers, userID)
	if !sc.Included {
		_, sc.Included = inGroup(p.IncludeGroups)
	}
	if hasFold(p.ExcludeUsers, userID) {
		sc.Excluded, sc.Via = true, "user"
	} else if g, ok := inGroup(p.ExcludeGroups); ok {
		sc.Excluded, sc.Via = true, "group "+g
	}
	sc.Applies = sc.Included && !sc.Excluded
	for _, r := range append(slices.Clone(p.IncludeRoles), p.ExcludeRoles...) {
		sc.Roles = append(sc.Roles, lowerID(r))
	}
	slices.Sort(sc.Unknown)
	sc.Unknown = slices.Compact(sc.Unknown)
	return sc
}

// allResources reports whether p covers every resource: includeApplications
// "All" (or not read). A policy for some apps leaves the others, mail
// included, without it; a user-action policy (registering security info)
// covers no sign-in.
func allResources(p tenant.CAPolicy) bool {
	if len(p.IncludeUserActions) > 0 && len(p.IncludeApplications) == 0 {
		return false
	}
	return len(p.IncludeApplications) == 0 || hasFold(p.IncludeApplications, "All")
}

// requiresMFA reports whether p is an enabled policy for every resource
// whose grant controls require MFA: the built-in control "mfa" or an
// authentication strength (every built-in strength is multifactor). With
// the operator OR, MFA is one way to satisfy it; the other controls
// (compliant or joined device) are not open to a password alone either.
func requiresMFA(p tenant.CAPolicy) bool {
	return policyEnabled(p) && allResources(p) && !hasFold(p.BuiltInControls, "block") &&
		(hasFold(p.BuiltInControls, "mfa") || strings.TrimSpace(p.AuthStrengthID) != "")
}

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
func policyName(p tenant.CAPolicy) string { return cmp.Or(strings.TrimSpace(p.DisplayName), p.ID) }

// mfaGap is a user's standing against the MFA policies: the enabled
// policies for every resource that require MFA, those that apply to the
// user, and how the user escapes each of the others.
type mfaGap struct {
	Policies  int                 // enabled MFA policies
	Applying  []string            // the MFA policies that apply to the user
	Escapes   []map[string]string // one per other MFA policy: policy, reason
	Roles     []string            // role-scoped MFA policies (roles not expanded)
	Unknown   []string            // groups named by MFA policies whose members were not read
	Undecided []string            // MFA policies that may include the user through a group not read
	Uncovered bool                // no MFA policy applies to the user (and none may)
}

// mfaGapOf judges the user userID against the snapshot's policies. It is
// the definition of posture.dormant-excluded-from-mfa's exclusion and of
// signin.password-spray's "excluded from MFA".
func mfaGapOf(in *Input, userID string) mfaGap {
	var g mfaGap
	for _, p := range in.Snapshot.Policies {
		if !requiresMFA(p) {
			continue
		}
		g.Policies++
		sc := scopeOf(in, p, userID)
		g.Unknown = append(g.Unknown, sc.Unknown...)
		if len(sc.Roles) > 0 {
			g.Roles = append(g.Roles, policyName(p))
		}
		switch {
		case sc.Applies:
			g.Applying = append(g.Applying, policyName(p))
		case sc.Excluded:
			g.Escapes = append(g.Escapes, map[string]string{"policy": policyName(p), "policyId": p.ID, "excludedBy": sc.Via})
		case len(scopeOf(in, tenant.CAPolicy{IncludeGroups: p.IncludeGroups}, userID).Unknown) > 0:
			g.Undecided = append(g.Undecided, policyName(p))
		default:
			why := "not included"
			if len(p.IncludeRoles) > 0 {
				why = "not included (includes roles, not expanded)"
			}
			g.Escapes = append(g.Escapes, map[string]string{"policy": policyName(p), "policyId": p.ID, "excludedBy": why})
		}
	}
	g.Uncovered = len(g.Applying) == 0 && len(g.Undecided) == 0
	slices.Sort(g.Unknown)
	g.Unknown = slices.Compact(g.Unknown)
	return g
}

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
