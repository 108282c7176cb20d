package tenant

import (
	"cmp"
	"slices"
	"strings"
)

// Conditional Access predicates: who a policy applies to and which
// policies require MFA. They are pure functions of the policies and the
// group members a snapshot holds, shared by the rules (shared/detect:
// posture.dormant-excluded-from-mfa, signin.password-spray) and by
// collection, which reads signInActivity for the users those rules judge
// (shared/collect) — one definition for both.
//
// Scope is judged from conditions.users as Graph returns it: "All" and user
// ids in includeUsers/excludeUsers, group ids in includeGroups/
// excludeGroups, expanded through Snapshot.GroupMembers (the transitive
// user members collection reads for the groups CA policies name), and role
// template ids in includeRoles/excludeRoles. Roles are not expanded (that
// needs another read of every role's members): a policy that includes a
// user only through a role is not counted as covering them, a role
// exclusion is not counted as excluding them.

// CAScope is how one policy applies to one user.
type CAScope struct {
	Included bool     // includeUsers "All" or the user, or a group of includeGroups holding the user
	Excluded bool     // excludeUsers the user, or a group of excludeGroups holding the user
	Applies  bool     // Included && !Excluded
	Via      string   // how the user is excluded ("user", "group <id>"), when Excluded
	Roles    []string // role ids the policy includes or excludes (not expanded)
	Unknown  []string // groups the policy names whose members were not read
}

// Enabled reports whether the policy is enforced (state "enabled";
// report-only policies enforce nothing).
func (p CAPolicy) Enabled() bool {
	return strings.EqualFold(strings.TrimSpace(p.State), "enabled")
}

// AllResources reports whether p covers every resource: includeApplications
// "All" (or not read). A policy for some apps leaves the others, mail
// included, without it; a user-action policy (registering security info)
// covers no sign-in.
func (p CAPolicy) AllResources() bool {
	if len(p.IncludeUserActions) > 0 && len(p.IncludeApplications) == 0 {
		return false
	}
	return len(p.IncludeApplications) == 0 || HasFold(p.IncludeApplications, "All")
}

// RequiresMFA reports whether p is an enabled policy for every resource
// whose grant controls require MFA: the built-in control "mfa" or an
// authentication strength (every built-in strength is multifactor). With
// the operator OR, MFA is one way to satisfy it; the other controls
// (compliant or joined device) are not open to a password alone either.
func (p CAPolicy) RequiresMFA() bool {
	return p.Enabled() && p.AllResources() && !HasFold(p.BuiltInControls, "block") &&
		(HasFold(p.BuiltInControls, "mfa") || strings.TrimSpace(p.AuthStrengthID) != "")
}

// PolicyName names a policy for evidence: its display name, else its id.
func (p CAPolicy) PolicyName() string { return cmp.Or(strings.TrimSpace(p.DisplayName), p.ID) }

// HasFold reports whether list holds v, ignoring case and surrounding
// space.
func HasFold(list []string, v string) bool {
	v = strings.TrimSpace(v)
	return slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(strings.TrimSpace(s), v) })
}

func lowerTrim(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// CAView judges users against a snapshot's Conditional Access policies and
// the transitive user members of the groups they name, indexed once.
type CAView struct {
	policies []CAPolicy
	members  map[string]map[string]bool // lower-case group id → lower-case user ids; absent: not read
}

// NewCAView indexes policies and groupMembers (Snapshot.GroupMembers:
// lower-case group id → user ids; a group absent from it was not read).
func NewCAView(policies []CAPolicy, groupMembers map[string][]string) *CAView {
	v := &CAView{policies: policies, members: make(map[string]map[string]bool, len(groupMembers))}
	for g, ms := range groupMembers {
		set := make(map[string]bool, len(ms))
		for _, m := range ms {
			set[lowerTrim(m)] = true
		}
		v.members[lowerTrim(g)] = set
	}
	return v
}

// Scope says how policy p applies to the user userID.
func (v *CAView) Scope(p CAPolicy, userID string) CAScope {
	var sc CAScope
	uid := lowerTrim(userID)
	inGroup := func(groups []string) (string, bool) {
		for _, g := range groups {
			ms, read := v.members[lowerTrim(g)]
			if !read {
				sc.Unknown = append(sc.Unknown, lowerTrim(g))
				continue
			}
			if ms[uid] {
				return lowerTrim(g), true
			}
		}
		return "", false
	}
	sc.Included = HasFold(p.IncludeUsers, "All") || HasFold(p.IncludeUsers, userID)
	if !sc.Included {
		_, sc.Included = inGroup(p.IncludeGroups)
	}
	if HasFold(p.ExcludeUsers, userID) {
		sc.Excluded, sc.Via = true, "user"
	} else if g, ok := inGroup(p.ExcludeGroups); ok {
		sc.Excluded, sc.Via = true, "group "+g
	}
	sc.Applies = sc.Included && !sc.Excluded
	for _, r := range append(slices.Clone(p.IncludeRoles), p.ExcludeRoles...) {
		sc.Roles = append(sc.Roles, lowerTrim(r))
	}
	slices.Sort(sc.Unknown)
	sc.Unknown = slices.Compact(sc.Unknown)
	return sc
}

// MFAGap is a user's standing against the MFA policies: the enabled
// policies for every resource that require MFA, those that apply to the
// user, and how the user escapes each of the others.
type MFAGap struct {
	Policies  int                 // enabled MFA policies
	Applying  []string            // the MFA policies that apply to the user
	Escapes   []map[string]string // one per other MFA policy: policy, policyId, excludedBy
	Roles     []string            // role-scoped MFA policies (roles not expanded)
	Unknown   []string            // groups named by MFA policies whose members were not read
	Undecided []string            // MFA policies that may include the user through a group not read
	Uncovered bool                // no MFA policy applies to the user (and none may)
}

// MFAGap judges the user userID against the policies. It is the
// definition of posture.dormant-excluded-from-mfa's exclusion and of
// signin.password-spray's "excluded from MFA".
func (v *CAView) MFAGap(userID string) MFAGap {
	var g MFAGap
	for _, p := range v.policies {
		if !p.RequiresMFA() {
			continue
		}
		g.Policies++
		sc := v.Scope(p, userID)
		g.Unknown = append(g.Unknown, sc.Unknown...)
		if len(sc.Roles) > 0 {
			g.Roles = append(g.Roles, p.PolicyName())
		}
		switch {
		case sc.Applies:
			g.Applying = append(g.Applying, p.PolicyName())
		case sc.Excluded:
			g.Escapes = append(g.Escapes, map[string]string{"policy": p.PolicyName(), "policyId": p.ID, "excludedBy": sc.Via})
		case len(v.Scope(CAPolicy{IncludeGroups: p.IncludeGroups}, userID).Unknown) > 0:
			g.Undecided = append(g.Undecided, p.PolicyName())
		default:
			why := "not included"
			if len(p.IncludeRoles) > 0 {
				why = "not included (includes roles, not expanded)"
			}
			g.Escapes = append(g.Escapes, map[string]string{"policy": p.PolicyName(), "policyId": p.ID, "excludedBy": why})
		}
	}
	g.Uncovered = len(g.Applying) == 0 && len(g.Undecided) == 0
	slices.Sort(g.Unknown)
	g.Unknown = slices.Compact(g.Unknown)
	return g
}

// MFAExclusionCandidate reports whether posture.dormant-excluded-from-mfa
// judges u by its last sign-in: an enabled member with an id to whom no
// enabled MFA policy applies (MFAGap.Uncovered). Whether u is new or
// dormant is the rule's to decide (its thresholds are detection
// configuration); collection reads signInActivity for these users.
func (v *CAView) MFAExclusionCandidate(u *User) bool {
	return u.AccountEnabled && strings.TrimSpace(u.ID) != "" &&
		strings.EqualFold(strings.TrimSpace(u.UserType), "Member") && v.MFAGap(u.ID).Uncovered
}
