package tenant_test

import (
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestMFAExclusionCandidate: the users posture.dormant-excluded-from-mfa
// judges and collection reads signInActivity for — enabled members to
// whom no enabled MFA policy for all resources applies — judged from
// includeUsers/excludeUsers and the transitive members of the groups
// read; a policy that may include the user through a group not read
// leaves them undecided (not a candidate).
func TestMFAExclusionCandidate(t *testing.T) {
	const excl, incl, unread = "aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002", "aaaaaaaa-0000-0000-0000-000000000003"
	mfaAll := tenant.CAPolicy{ID: "all", State: "enabled", IncludeUsers: []string{"All"}, ExcludeUsers: []string{"Direct"},
		ExcludeGroups: []string{excl}, BuiltInControls: []string{"mfa"}}
	members := map[string][]string{excl: {"VIA-GROUP", "guest", "off"}, incl: {"in-group"}}
	tests := []struct {
		name     string
		policies []tenant.CAPolicy
		user     tenant.User
		want     bool
	}{
		{"covered", []tenant.CAPolicy{mfaAll}, tenant.User{ID: "u"}, false},
		{"excluded by id", []tenant.CAPolicy{mfaAll}, tenant.User{ID: "direct"}, true},
		{"excluded through a group", []tenant.CAPolicy{mfaAll}, tenant.User{ID: "via-group"}, true},
		{"a guest", []tenant.CAPolicy{mfaAll}, tenant.User{ID: "guest", UserType: "Guest"}, false},
		{"disabled", []tenant.CAPolicy{mfaAll}, tenant.User{ID: "off", AccountEnabled: false}, false},
		{"no MFA policy at all", nil, tenant.User{ID: "u"}, true},
		{"report-only MFA policy", []tenant.CAPolicy{{State: "enabledForReportingButNotEnforced", IncludeUsers: []string{"All"}, BuiltInControls: []string{"mfa"}}},
			tenant.User{ID: "u"}, true},
		{"MFA for some apps only", []tenant.CAPolicy{{State: "enabled", IncludeUsers: []string{"All"}, IncludeApplications: []string{"app"}, BuiltInControls: []string{"mfa"}}},
			tenant.User{ID: "u"}, true},
		{"authentication strength", []tenant.CAPolicy{{State: "enabled", IncludeUsers: []string{"All"}, AuthStrengthID: "00000000-0000-0000-0000-000000000002"}},
			tenant.User{ID: "u"}, false},
		{"included through a group", []tenant.CAPolicy{{State: "enabled", IncludeGroups: []string{incl}, BuiltInControls: []string{"mfa"}}},
			tenant.User{ID: "in-group"}, false},
		{"outside the included group", []tenant.CAPolicy{{State: "enabled", IncludeGroups: []string{incl}, BuiltInControls: []string{"mfa"}}},
			tenant.User{ID: "u"}, true},
		{"included group not read", []tenant.CAPolicy{{State: "enabled", IncludeGroups: []string{unread}, BuiltInControls: []string{"mfa"}}},
			tenant.User{ID: "u"}, false},
		{"included through a role only", []tenant.CAPolicy{{State: "enabled", IncludeRoles: []string{"62e90394-69f5-4237-9190-012177145e10"}, BuiltInControls: []string{"mfa"}}},
			tenant.User{ID: "u"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.user
			if u.UserType == "" {
				u.UserType = "Member"
			}
			if tc.name != "disabled" {
				u.AccountEnabled = true
			}
			if got := tenant.NewCAView(tc.policies, members).MFAExclusionCandidate(&u); got != tc.want {
				t.Errorf("MFAExclusionCandidate(%s) = %v, want %v", u.ID, got, tc.want)
			}
		})
	}
}
