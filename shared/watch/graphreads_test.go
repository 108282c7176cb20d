package watch_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// The tests below run the issue-12 paths through the real Graph client
// and the simulated tenant's endpoints, end to end.

// TestDailySweepFederationThroughGraph: the sweep reads the simulated
// tenant's /domains and federationConfiguration; the first stores the
// baseline, the next reports the domain federated to an unknown issuer.
func TestDailySweepFederationThroughGraph(t *testing.T) {
	t.Parallel()
	d := &changeSeer{}
	e := newEnv(t, envOptions{NoWebhooks: true, Detectors: []detect.Detector{d}})
	ctx := t.Context()
	e.must("first DailySweep", e.app.DailySweep(ctx))
	if got, runs := d.Last(); runs != 1 || len(got) != 0 {
		t.Fatalf("first sweep: %d runs, changes %v; want one run, no change", runs, got)
	}

	const evil = "http://any.sts/B1F3"
	cert := base64.StdEncoding.EncodeToString([]byte("DER of the attacker's token-signing certificate"))
	_, err := e.sim.Update(graphsim.KindDomain, "northbridge-policy.org", map[string]any{
		"authenticationType": "Federated",
		graphsim.FederationConfigs: []any{map[string]any{
			"id": "7a1c3e00-0000-4000-8000-000000000001", "displayName": "northbridge-policy.org", "issuerUri": evil,
			"passiveSignInUri": "https://any.sts/B1F3/", "signingCertificate": cert, "preferredAuthenticationProtocol": "wsFed",
			"federatedIdpMfaBehavior": "acceptIfMfaDoneByFederatedIdp",
		}},
	})
	e.must("federate the domain", err)
	e.clk.Advance(24 * time.Hour)
	e.must("second DailySweep", e.app.DailySweep(ctx))
	got, runs := d.Last()
	want := []tenant.Change{{Kind: tenant.ChangeDomainFederated, ObjectType: tenant.SubjectDomain, ObjectID: "northbridge-policy.org", Value: evil}}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(tenant.Change{}, "SeenAt")); runs != 2 || diff != "" {
		t.Errorf("second sweep (%d runs): domain changes (-want +got):\n%s", runs, diff)
	}
}

// deviceCodeChain plays Storm-2372's chain on e: a device-code sign-in
// of a new user (beta log), read by PollSignIns; then the rogue device's
// registration ("Add device" and "Add registered owner to device" by the
// Device Registration Service, the device in /devices, unmanaged), read by
// PollDirectory. It returns the user, the device and the sign-in ids.
func deviceCodeChain(e *env) (victim, device, signIn string) {
	e.t.Helper()
	ctx := e.t.Context()
	victim, device, signIn = "5a7a0000-0000-4000-8000-0000000000f1", "0d0d0d0d-0000-4000-8000-0000000000f1", "dc0de000-0000-4000-8000-0000000000f1"
	_, err := e.sim.Create(graphsim.KindUser, map[string]any{"id": victim, "displayName": "User f1",
		"userPrincipalName": "userf1@northbridge-policy.org", "accountEnabled": true})
	e.must("create user", err)
	e.must("append sign-in", e.sim.AppendLog(graphsim.LogSignIns, map[string]any{
		"id": signIn, "createdDateTime": e.clk.Now().Add(-time.Minute).Format(time.RFC3339), "userId": victim,
		"userPrincipalName": "userf1@northbridge-policy.org", "appId": "29d9ed98-a469-4536-ade2-f981bc1d605e",
		"appDisplayName": "Microsoft Authentication Broker", "ipAddress": "203.0.113.201",
		"authenticationProtocol": "deviceCode", "originalTransferMethod": "deviceCodeFlow",
		"status": map[string]any{"errorCode": 0},
	}))
	e.clk.Advance(5 * time.Minute)
	e.must("PollSignIns", e.app.PollSignIns(ctx))

	_, err = e.sim.Create(graphsim.KindDevice, map[string]any{"id": device, "deviceId": "f1f1f1f1-0000-4000-8000-000000000001",
		"displayName": "DESKTOP-F1", "operatingSystem": "Windows", "operatingSystemVersion": "10.0.22631", "trustType": "Workplace",
		"isManaged": false, "isCompliant": false, "accountEnabled": true,
		"registrationDateTime": e.clk.Now().Format(time.RFC3339), graphsim.RegisteredOwnerIDs: []any{victim}})
	e.must("create device", err)
	drs := map[string]any{"user": nil, "app": map[string]any{"appId": "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9",
		"displayName": "Device Registration Service", "servicePrincipalId": "0d0d0d0d-0000-4000-8000-0000000000aa"}}
	target := map[string]any{"id": device, "displayName": "DESKTOP-F1", "type": "Device", "modifiedProperties": []any{}}
	add := auditRecord("7e0c1d2a-5b6f-4e8a-9c1d-0000000000f0", e.clk.Now(), "Add device", target)
	add["category"], add["initiatedBy"] = "Device", drs
	owner := auditRecord("7e0c1d2a-5b6f-4e8a-9c1d-0000000000f1", e.clk.Now(), "Add registered owner to device", target)
	owner["category"], owner["initiatedBy"] = "Device", drs
	owner["targetResources"] = append(owner["targetResources"].([]any), map[string]any{"id": victim, "displayName": nil,
		"type": "User", "userPrincipalName": "userf1@northbridge-policy.org", "modifiedProperties": []any{}})
	for _, rec := range []map[string]any{add, owner} {
		e.must("append audit record", e.sim.AppendLog(graphsim.LogDirectoryAudits, rec))
	}
	e.clk.Advance(time.Minute)
	e.must("PollDirectory", e.app.PollDirectory(ctx))
	return victim, device, signIn
}

// TestDeviceCodeChainThroughGraph: a device-code sign-in read from the
// simulated tenant's beta log by PollSignIns is kept; the directory poll
// that reads the device registration lists the device from /devices and
// judges the registration with that sign-in.
func TestDeviceCodeChainThroughGraph(t *testing.T) {
	t.Parallel()
	d := &seer{}
	var devices []tenant.Device
	dd := deviceSeer{seer: d, devices: &devices}
	e := newEnv(t, envOptions{Detectors: []detect.Detector{dd}})
	e.install()
	e.must("PollSignIns (history)", e.app.PollSignIns(t.Context()))
	runs := len(d.Runs())
	victim, device, signIn := deviceCodeChain(e)

	var judged []string
	for _, r := range d.Runs()[runs:] {
		if r.audits > 0 {
			judged = r.signIns
		}
	}
	if !slices.Contains(judged, signIn) {
		t.Errorf("the registration was judged with sign-ins %v, want the device-code one %s", judged, signIn)
	}
	if len(devices) != 1 || devices[0].ID != device || devices[0].TrustType != "Workplace" || !slices.Contains(devices[0].OwnerIDs, victim) {
		t.Errorf("devices handed to the rules: %+v; want %s, Workplace, owned by %s", devices, device, victim)
	}
}

// TestDeviceCodeChainCards: with the rules, the chain is a
// signin.device-code finding from PollSignIns (medium alone: in that
// round's digest of lower-severity findings) and a high
// device.rogue-registration card from the PollDirectory that reads the
// registration, preceded by that sign-in.
func TestDeviceCodeChainCards(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.install()
	e.must("PollSignIns (history)", e.app.PollSignIns(t.Context()))
	victim, device, signIn := deviceCodeChain(e)

	code, ok := e.findingFor("signin.device-code", victim)
	if !ok {
		t.Fatalf("no signin.device-code finding on %s", victim)
	}
	items := e.carrying(code.Finding.Key)
	wantKind := state.OutboxCard
	if code.Finding.Severity < e.cfg.AlertSeverity {
		wantKind = state.OutboxDigest // the round's lower-severity findings, grouped
	}
	if len(items) != 1 || items[0].Kind != wantKind || items[0].Delivered.IsZero() {
		t.Errorf("signin.device-code %s: outbox items %v, want one delivered %s", code.Finding.Severity, describe(items), wantKind)
	}
	rogue := e.alerted(graphsim.ExpectedFinding{Rule: "device.rogue-registration", SubjectID: victim, SubjectName: "userf1"})
	if rogue.Finding.Severity != tenant.SeverityHigh {
		t.Errorf("device.rogue-registration %s, want high: preceded by a device-code sign-in", rogue.Finding.Severity)
	}
	if ev := fmt.Sprint(rogue.Finding.Evidence); !strings.Contains(ev, signIn) || !strings.Contains(ev, device) {
		t.Errorf("device.rogue-registration evidence does not name the sign-in %s and the device %s: %s", signIn, device, ev)
	}
}

// deviceSeer is a seer that also keeps the devices of the last run that
// had some.
type deviceSeer struct {
	*seer
	devices *[]tenant.Device
}

func (d deviceSeer) Detect(ctx context.Context, in *detect.Input) ([]tenant.Finding, error) {
	d.mu.Lock()
	if len(in.Snapshot.Devices) > 0 {
		*d.devices = slices.Clone(in.Snapshot.Devices)
	}
	d.mu.Unlock()
	return d.seer.Detect(ctx, in)
}

// TestPollSignInsBetaSetting: PollSignIns reads the sign-in log from beta
// by default (the rules that need authenticationProtocol run); with
// TENANTWATCH_BETA=false it sends nothing to beta, reads v1.0, and the
// beta source is unavailable with the reason.
func TestPollSignInsBetaSetting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		settings map[string]string
		reason   string
	}{
		{name: "default"},
		{name: "TENANTWATCH_BETA=false", settings: map[string]string{"TENANTWATCH_BETA": "false"}, reason: tenant.BetaDisabledReason},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := &seer{}
			var mu sync.Mutex
			var beta, v1 int
			count := func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					switch {
					case strings.Contains(r.URL.Path, "/beta/auditLogs/signIns"):
						beta++
					case strings.Contains(r.URL.Path, "/v1.0/auditLogs/signIns"):
						v1++
					}
					mu.Unlock()
					h.ServeHTTP(w, r)
				})
			}
			e := newEnv(t, envOptions{Settings: tc.settings, Detectors: []detect.Detector{d}, Graph: count})
			e.must("PollSignIns", e.app.PollSignIns(t.Context()))
			runs := d.Runs()
			if len(runs) != 1 {
				t.Fatalf("the rules ran %d times, want once", len(runs))
			}
			if runs[0].beta != tc.reason {
				t.Errorf("signInsBeta unavailable because %q, want %q", runs[0].beta, tc.reason)
			}
			mu.Lock()
			defer mu.Unlock()
			if (tc.reason == "") != (beta > 0) || (tc.reason == "") != (v1 == 0) {
				t.Errorf("requests to the beta log %d, to v1.0's %d: want only %s", beta, v1, map[bool]string{true: "beta", false: "v1.0"}[tc.reason == ""])
			}
		})
	}
}

// TestDailySweepFederationCard: with the rules, a domain federated to an
// unknown issuer between two sweeps is one domain.federation-changed card
// from the second sweep, on the domain; the first sweep, the baseline, has
// none, and the third, nothing having changed, adds none.
func TestDailySweepFederationCard(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{NoWebhooks: true})
	ctx := t.Context()
	const domain = "northbridge-policy.org"
	e.must("first DailySweep", e.app.DailySweep(ctx))
	if _, ok := e.findingFor("domain.federation-changed", domain); ok {
		t.Fatal("the baseline sweep reported a federation change")
	}
	_, err := e.sim.Update(graphsim.KindDomain, domain, map[string]any{
		"authenticationType": "Federated",
		graphsim.FederationConfigs: []any{map[string]any{
			"id": "7a1c3e00-0000-4000-8000-000000000001", "displayName": domain, "issuerUri": "http://any.sts/B1F3",
			"passiveSignInUri": "https://any.sts/B1F3/", "preferredAuthenticationProtocol": "wsFed",
			"signingCertificate": base64.StdEncoding.EncodeToString([]byte("DER of the attacker's token-signing certificate")),
		}},
	})
	e.must("federate the domain", err)
	e.clk.Advance(24 * time.Hour)
	e.must("second DailySweep", e.app.DailySweep(ctx))
	rec, ok := e.findingFor("domain.federation-changed", domain)
	if !ok {
		t.Fatal("the second sweep reported no domain.federation-changed on the domain")
	}
	cards := func() int {
		n := 0
		for _, it := range e.carrying(rec.Finding.Key) {
			if it.Kind == state.OutboxCard && !it.Delivered.IsZero() {
				n++
			}
		}
		return n
	}
	if n := cards(); n != 1 {
		t.Errorf("%d delivered cards carry %s, want 1 (and the sweep's digest lists it)", n, rec.Finding.Key)
	}
	if rec.Finding.Subject.Type != tenant.SubjectDomain || rec.Finding.Severity != tenant.SeverityCritical {
		t.Errorf("finding on %s %s, severity %s; want the domain, critical", rec.Finding.Subject.Type, rec.Finding.Subject.ID, rec.Finding.Severity)
	}
	items := len(e.outbox())
	e.clk.Advance(24 * time.Hour)
	e.must("third DailySweep", e.app.DailySweep(ctx))
	if n := cards(); n != 1 {
		t.Errorf("%d cards carry the federation change after the third sweep, want still 1", n)
	}
	if got := len(e.outbox()) - items; got != 1 {
		t.Errorf("the third sweep queued %d items, want its digest alone", got)
	}
}
