package incident_test

import (
	"slices"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/incident"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestStatesJoinNothing: a finding that describes a state of the tenant
// (the posture.* rules: a dormant account excluded from MFA, an
// unrestricted device-code flow, user consent allowed) is posture: two
// states of one account are no incident (the midnight scenario's
// test.kiosk01, dormant, unregistered and excluded from MFA, made one
// before), and a state attaches to the attack that names its subject.
func TestStatesJoinNothing(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	kiosk := tenant.Subject{Type: tenant.SubjectUser, ID: "11040d4a-2c57-5147-baa3-26711c21246f", Name: "test.kiosk01@veldhaven.example"}
	org := tenant.Subject{Type: tenant.SubjectTenant, ID: "9a9277c3-3667-5d76-80ee-62e8f0e6bb1d", Name: "Veldhaven Port Authority"}
	excluded := tenant.Finding{Rule: "posture.dormant-excluded-from-mfa", Key: "excluded", Subject: kiosk, Severity: tenant.SeverityHigh,
		MITRE: []string{"T1078.004", "T1556.006"}, ObservedAt: at,
		Evidence: map[string]any{"userPrincipalName": kiosk.Name, "dormantDays": 90}}
	unregistered := tenant.Finding{Rule: "mfa.dormant-unregistered", Key: "unregistered", Subject: kiosk, Severity: tenant.SeverityHigh,
		MITRE: []string{"T1098.005"}, ObservedAt: at,
		Evidence: map[string]any{"userPrincipalName": kiosk.Name}}
	deviceCode := tenant.Finding{Rule: "posture.device-code-unrestricted", Key: "device-code", Subject: org, Severity: tenant.SeverityMedium,
		ObservedAt: at, Evidence: map[string]any{"transferMethod": "deviceCodeFlow"}}
	consent := tenant.Finding{Rule: "posture.user-consent-allowed", Key: "consent", Subject: org, Severity: tenant.SeverityMedium,
		ObservedAt: at, Evidence: map[string]any{"allowedToCreateApps": true}}
	spray := tenant.Finding{Rule: "signin.password-spray", Key: "spray", Subject: kiosk, Severity: tenant.SeverityHigh,
		MITRE: []string{"T1110.003"}, ObservedAt: at.Add(-2 * time.Hour),
		Evidence: map[string]any{"successes": []any{map[string]any{"ip": "198.51.100.185", "userPrincipalName": kiosk.Name}}}}

	tests := []struct {
		name     string
		findings []tenant.Finding
		want     [][]string // each incident's finding keys, in timeline order
	}{
		{name: "two states of one account", findings: []tenant.Finding{excluded, unregistered}},
		{name: "states of one account and of the tenant", findings: []tenant.Finding{excluded, unregistered, deviceCode, consent}},
		{name: "a state attaches to the attack on its subject", findings: []tenant.Finding{excluded, unregistered, deviceCode, consent, spray},
			want: [][]string{{"spray", "excluded", "unregistered"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [][]string
			for _, inc := range incident.Correlate(tt.findings, nil) {
				got = append(got, inc.Findings)
				// A user's UPN is both its subject name and evidence
				// userPrincipalName: one entity, never an empty one.
				if !slices.IsSorted(inc.Entities) || len(slices.Compact(slices.Clone(inc.Entities))) != len(inc.Entities) ||
					slices.Contains(inc.Entities, "") {
					t.Errorf("entities %q: want them sorted, unique and none empty", inc.Entities)
				}
			}
			if !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("incidents %q, want %q", got, tt.want)
			}
		})
	}
	for _, r := range []string{"posture.dormant-excluded-from-mfa", "posture.device-code-unrestricted", "posture.user-consent-allowed"} {
		if !incident.IsPosture(r) {
			t.Errorf("%s is not posture", r)
		}
	}
}
