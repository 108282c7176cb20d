package watch_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestPollDirectoryJoinsEarlierFindings: a device registration seen by
// PollDirectory is judged with what earlier polls recorded on the same
// user — a device-code sign-in, an Azure-address sign-in — read from the
// findings table (Snapshot.Prior): only the rules the device chain joins,
// of the last seven days, on the users the registration names.
func TestPollDirectoryJoinsEarlierFindings(t *testing.T) {
	t.Parallel()
	d := &seer{}
	e := newEnv(t, envOptions{Detectors: []detect.Detector{d}})
	ctx := t.Context()
	e.install()

	const victim, bystander = "5a7a0000-0000-4000-8000-0000000000d1", "5a7a0000-0000-4000-8000-0000000000d2"
	for _, id := range []string{victim, bystander} {
		_, err := e.sim.Create(graphsim.KindUser, map[string]any{"id": id, "displayName": "User " + id[len(id)-2:],
			"userPrincipalName": "user" + id[len(id)-2:] + "@northbridge-policy.org", "accountEnabled": true})
		e.must("create user", err)
	}
	now := e.clk.Now()
	earlier := func(rule, subject, key string, ev map[string]any, at time.Time) {
		f := tenant.Finding{Rule: rule, Severity: tenant.SeverityMedium, Title: rule, Key: key, ObservedAt: at, Evidence: ev,
			Subject: tenant.Subject{Type: tenant.SubjectUser, ID: subject}}
		_, err := e.st.RecordFindings(ctx, []tenant.Finding{f}, state.FindingQueued, at)
		e.must("record "+key, err)
	}
	earlier("signin.device-code", victim, "signin.device-code:victim", nil, now.Add(-30*time.Minute))
	earlier("signin.azure-ip", "other", "signin.azure-ip:other", map[string]any{"userId": victim}, now.Add(-time.Hour))
	earlier("signin.device-code", victim, "signin.device-code:victim:last-week", nil, now.Add(-8*24*time.Hour))
	earlier("signin.device-code", bystander, "signin.device-code:bystander", nil, now.Add(-time.Hour))
	earlier("mfa.dormant-registration", victim, "mfa.dormant-registration:victim", nil, now.Add(-time.Hour))

	e.clk.Advance(2 * time.Minute)
	rec := auditRecord("7e0c1d2a-5b6f-4e8a-9c1d-0000000000d1", e.clk.Now(), "Add registered owner to device",
		map[string]any{"id": "0d0d0d0d-0000-4000-8000-000000000001", "displayName": "DESKTOP-7Q2", "type": "Device", "modifiedProperties": []any{}})
	rec["category"] = "Device"
	rec["initiatedBy"] = map[string]any{"user": nil, "app": map[string]any{"appId": "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9",
		"displayName": "Device Registration Service", "servicePrincipalId": "0d0d0d0d-0000-4000-8000-0000000000aa"}}
	rec["targetResources"] = append(rec["targetResources"].([]any), map[string]any{"id": victim, "displayName": nil,
		"type": "User", "userPrincipalName": "userd1@northbridge-policy.org", "modifiedProperties": []any{}})
	e.must("append audit record", e.sim.AppendLog(graphsim.LogDirectoryAudits, rec))
	e.clk.Advance(time.Minute)
	runs := len(d.Runs())
	e.must("PollDirectory", e.app.PollDirectory(ctx))

	var got []string
	found := false
	for _, r := range d.Runs()[runs:] {
		if r.audits == 0 {
			continue
		}
		found = true
		for _, f := range r.prior {
			got = append(got, f.Key)
		}
	}
	if !found {
		t.Fatal("no directory round judged the registration event")
	}
	slices.Sort(got)
	if diff := cmp.Diff([]string{"signin.azure-ip:other", "signin.device-code:victim"}, got); diff != "" {
		t.Errorf("earlier findings joined (-want +got):\n%s", diff)
	}
}
