package watch_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/collect"
	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
	"github.com/tenantwatch/tenantwatch/shared/watch"
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

// withChain is the app's reader with a sign-in that starts a device chain
// added to the next sign-in round's update, as collect sets it from beta's
// log (decoding beta is Graph's client's, tested there).
type withChain struct {
	watch.TenantReader
	mu    sync.Mutex
	chain []tenant.SignIn
}

func (w *withChain) SignIns(ctx context.Context, win collect.Window) (*collect.SignInsUpdate, error) {
	u, err := w.TenantReader.SignIns(ctx, win)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	u.Chain, w.chain = append(u.Chain, w.chain...), nil
	return u, nil
}

// TestPollDirectoryJudgesWithChainSignIns: the broker's sign-in to the
// Device Registration Service, read by PollSignIns before the registration
// is in the audit log, is kept; the directory poll that sees the
// registration judges it with that sign-in (Snapshot.SignIns), as the scan
// does, and the next day's poll no longer has it.
func TestPollDirectoryJudgesWithChainSignIns(t *testing.T) {
	t.Parallel()
	d := &seer{}
	var reader *withChain
	e := newEnv(t, envOptions{Detectors: []detect.Detector{d}, Tenant: func(r watch.TenantReader) watch.TenantReader {
		reader = &withChain{TenantReader: r}
		return reader
	}})
	ctx := t.Context()
	e.install()
	e.must("PollSignIns (history)", e.app.PollSignIns(ctx))

	const victim = "5a7a0000-0000-4000-8000-0000000000e1"
	_, err := e.sim.Create(graphsim.KindUser, map[string]any{"id": victim, "displayName": "User e1",
		"userPrincipalName": "usere1@northbridge-policy.org", "accountEnabled": true})
	e.must("create user", err)
	broker := tenant.SignIn{ID: "b7a0c0de-0000-4000-8000-000000000001", UserID: victim, UPN: "usere1@northbridge-policy.org",
		Time: e.clk.Now().Add(-time.Minute), AppID: "29d9ed98-a469-4536-ade2-f981bc1d605e", ResourceID: "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9",
		IP: "203.0.113.200"}
	reader.mu.Lock()
	reader.chain = []tenant.SignIn{broker}
	reader.mu.Unlock()
	e.clk.Advance(5 * time.Minute)
	e.must("PollSignIns", e.app.PollSignIns(ctx))

	register := func(id string) {
		rec := auditRecord(id, e.clk.Now(), "Add registered owner to device",
			map[string]any{"id": "0d0d0d0d-0000-4000-8000-0000000000e1", "displayName": "DESKTOP-E1", "type": "Device", "modifiedProperties": []any{}})
		rec["category"] = "Device"
		rec["initiatedBy"] = map[string]any{"user": nil, "app": map[string]any{"appId": "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9",
			"displayName": "Device Registration Service", "servicePrincipalId": "0d0d0d0d-0000-4000-8000-0000000000aa"}}
		rec["targetResources"] = append(rec["targetResources"].([]any), map[string]any{"id": victim, "displayName": nil,
			"type": "User", "userPrincipalName": "usere1@northbridge-policy.org", "modifiedProperties": []any{}})
		e.must("append audit record", e.sim.AppendLog(graphsim.LogDirectoryAudits, rec))
	}
	judged := func() []string {
		var out []string
		for _, r := range d.Runs() {
			if r.audits > 0 {
				out = r.signIns
			}
		}
		return out
	}
	e.clk.Advance(time.Minute)
	register("7e0c1d2a-5b6f-4e8a-9c1d-0000000000e1")
	e.clk.Advance(time.Minute)
	e.must("PollDirectory", e.app.PollDirectory(ctx))
	if got := judged(); !slices.Contains(got, broker.ID) {
		t.Errorf("the registration was judged with sign-ins %v, want the broker's %s", got, broker.ID)
	}

	// A day later the kept sign-in is gone: a new registration is judged
	// without it.
	e.clk.Advance(26 * time.Hour)
	e.must("PollSignIns (prune)", e.app.PollSignIns(ctx))
	register("7e0c1d2a-5b6f-4e8a-9c1d-0000000000e2")
	e.clk.Advance(time.Minute)
	e.must("PollDirectory a day later", e.app.PollDirectory(ctx))
	if got := judged(); slices.Contains(got, broker.ID) {
		t.Errorf("a day later the registration was judged with the pruned sign-in %s", broker.ID)
	}
}
