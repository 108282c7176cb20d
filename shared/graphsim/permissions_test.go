package graphsim_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
)

// TestPermissions: with Options.Permissions, each read answers 403 unless
// a permission Microsoft's tables accept is granted; directoryAudits needs
// AuditLog.Read.All and Directory.Read.All together.
func TestPermissions(t *testing.T) {
	all := []string{"Organization.Read.All", "User.Read.All", "AuditLog.Read.All", "Application.Read.All",
		"Policy.Read.All", "Group.Read.All", "Directory.Read.All"}
	without := func(p ...string) []string {
		var out []string
		for _, g := range all {
			if !strings.Contains(strings.Join(p, " "), g) {
				out = append(out, g)
			}
		}
		return out
	}
	paths := map[string]string{
		"organization": qOrganization, "skus": qSkus, "users": qUsersNoSIA, "signInActivity": qUsers,
		"groups": "/v1.0/groups?%24top=1&%24select=id", "groupsDelta": "/v1.0/groups/delta?%24select=id",
		"registrations": qRegistrations, "sps": qSPs, "apps": qApps, "spsDelta": "/v1.0/servicePrincipals/delta?%24select=id",
		"audits": qAudits, "signIns": qSignIns, "policies": qPolicies, "locations": qLocations,
		"subscriptions": "/v1.0/subscriptions",
	}
	cases := []struct {
		name    string
		granted []string
		denied  map[string]string // path name → error code
	}{
		{"all granted", all, nil},
		{"nil grants all", nil, nil},
		{"Directory.Read.All stands in for the object reads", []string{"Directory.Read.All", "AuditLog.Read.All", "Policy.Read.All"}, nil},
		{"no User.Read.All", without("User.Read.All", "Directory.Read.All"), map[string]string{
			"users": "Authorization_RequestDenied", "signInActivity": "Authorization_RequestDenied",
			"audits": "Authentication_MSGraphPermissionMissing"}},
		{"no AuditLog.Read.All", without("AuditLog.Read.All"), map[string]string{
			"signInActivity": "Authorization_RequestDenied", "registrations": "Authentication_MSGraphPermissionMissing",
			"audits": "Authentication_MSGraphPermissionMissing", "signIns": "Authentication_MSGraphPermissionMissing"}},
		{"no Directory.Read.All: only the directory audits", without("Directory.Read.All"), map[string]string{
			"audits": "Authentication_MSGraphPermissionMissing"}},
		{"Directory.Read.All stands in for Application.Read.All", without("Application.Read.All"), nil},
		{"no Application.Read.All", without("Application.Read.All", "Directory.Read.All"), map[string]string{
			"sps": "Authorization_RequestDenied", "apps": "Authorization_RequestDenied", "spsDelta": "Authorization_RequestDenied",
			"audits": "Authentication_MSGraphPermissionMissing"}},
		{"no Policy.Read.All", without("Policy.Read.All"), map[string]string{"policies": "AccessDenied", "locations": "AccessDenied"}},
		{"Policy.ReadWrite.ConditionalAccess does not stand in", append(without("Policy.Read.All"), "Policy.ReadWrite.ConditionalAccess"),
			map[string]string{"policies": "AccessDenied", "locations": "AccessDenied"}},
		{"no Organization.Read.All", without("Organization.Read.All", "Directory.Read.All"), map[string]string{
			"organization": "Authorization_RequestDenied", "skus": "Authorization_RequestDenied",
			"audits": "Authentication_MSGraphPermissionMissing"}},
		{"no Group.Read.All", without("Group.Read.All", "Directory.Read.All"), map[string]string{
			"groups": "Authorization_RequestDenied", "groupsDelta": "Authorization_RequestDenied",
			"audits": "Authentication_MSGraphPermissionMissing"}},
		{"nothing", []string{}, map[string]string{
			"organization": "Authorization_RequestDenied", "skus": "Authorization_RequestDenied", "users": "Authorization_RequestDenied",
			"signInActivity": "Authorization_RequestDenied", "groups": "Authorization_RequestDenied", "groupsDelta": "Authorization_RequestDenied",
			"registrations": "Authentication_MSGraphPermissionMissing", "sps": "Authorization_RequestDenied", "apps": "Authorization_RequestDenied",
			"spsDelta": "Authorization_RequestDenied", "audits": "Authentication_MSGraphPermissionMissing",
			"signIns": "Authentication_MSGraphPermissionMissing", "policies": "AccessDenied", "locations": "AccessDenied",
			"subscriptions": "Authorization_RequestDenied"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newSim(t, &graphsim.Options{Permissions: tc.granted}).Handler()
			for name, path := range paths {
				r := get(t, h, base+path)
				code, denied := tc.denied[name]
				switch {
				case denied && r.status != http.StatusForbidden:
					t.Errorf("%s: status %d, want 403 %s", name, r.status, code)
				case denied:
					if e := decodeError(t, r); e.Error.Code != code {
						t.Errorf("%s: code %q, want %q", name, e.Error.Code, code)
					}
				case r.status != http.StatusOK:
					t.Errorf("%s: status %d, want 200: %s", name, r.status, r.body)
				}
			}
		})
	}
}

// TestNoPremium: a tenant without Entra ID P1/P2 lists no AAD_PREMIUM
// plan and answers the premium 403 on the gated data only, after the
// permission check.
func TestNoPremium(t *testing.T) {
	h := newSim(t, &graphsim.Options{NoPremium: true}).Handler()
	for _, path := range []string{qSignIns, qUsers, qRegistrations, qPolicies, qLocations} {
		r := get(t, h, base+path)
		if r.status != http.StatusForbidden || decodeError(t, r).Error.Code != "Authentication_RequestFromNonPremiumTenantOrB2CTenant" {
			t.Errorf("%s: status %d %s, want the non-premium 403", path, r.status, r.body)
		}
	}
	for _, path := range []string{qUsersNoSIA, qAudits, qSPs, qOrganization} {
		if r := get(t, h, base+path); r.status != http.StatusOK {
			t.Errorf("%s: status %d, want 200", path, r.status)
		}
	}
	var skus struct {
		Value []struct {
			SkuPartNumber string `json:"skuPartNumber"`
			ServicePlans  []struct {
				ID string `json:"servicePlanId"`
			} `json:"servicePlans"`
		} `json:"value"`
	}
	plans := func(h http.Handler) (n int, premium int) {
		if err := json.Unmarshal(get(t, h, base+qSkus).body, &skus); err != nil {
			t.Fatal(err)
		}
		for _, s := range skus.Value {
			for _, p := range s.ServicePlans {
				n++
				if p.ID == "41781fb2-bc02-4b7c-bd55-b576c07bb09d" || p.ID == "eec0eb4f-6444-4f95-aba0-50c24d67f998" {
					premium++
				}
			}
		}
		return n, premium
	}
	if n, p := plans(newSim(t, nil).Handler()); p == 0 || n == 0 {
		t.Fatalf("the default tenant lists %d plans, %d premium; want some of each", n, p)
	}
	if n, p := plans(h); p != 0 || n == 0 {
		t.Errorf("NoPremium lists %d plans, %d premium; want plans and no premium", n, p)
	}
	// Permission first: without AuditLog.Read.All sign-ins say so, not the licence.
	h = newSim(t, &graphsim.Options{NoPremium: true, Permissions: []string{"User.Read.All"}}).Handler()
	if e := decodeError(t, get(t, h, base+qSignIns)); e.Error.Code != "Authentication_MSGraphPermissionMissing" {
		t.Errorf("no permission and no licence: code %q, want the permission's", e.Error.Code)
	}
}
