package watch_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Objects of the simulated tenant (shared/graphsim/scenario/apt29) the
// tests below point audit records at. None of them changes in the tests'
// directory round, so none is in the round's partial snapshot: the app
// must find them through the data it holds.
const (
	exoResourceSP = "28b8acae-e834-4284-bf0b-133cef9efbe8" // Office 365 Exchange Online
	legacySyncSP  = "39f251dd-f17b-4bd0-a048-5ae598f31873" // Northbridge Legacy Mail Sync
	legacySyncApp = "e82d0828-8deb-46ab-aefa-392b55c9addf" // its app id
	legacySync    = "Northbridge Legacy Mail Sync"
	archiverApp   = "7ab81c44-c18c-4f93-a8dc-fc9eb484623e" // Northbridge Records Archiver (application object)
	archiverSP    = "085f1a8d-c570-4cb1-81c9-196bb010274d" // its service principal, holding Graph Mail.Read
)

// mod is one modified property as Graph writes it: JSON text in a string.
func mod(name string, v any) map[string]any {
	b, _ := json.Marshal(v)
	return map[string]any{"displayName": name, "oldValue": "", "newValue": string(b)}
}

// auditRecord is a directory audit entry as Graph serves it.
func auditRecord(id string, at time.Time, activity string, target map[string]any) map[string]any {
	return map[string]any{
		"id": "Directory_" + id, "category": "ApplicationManagement", "correlationId": id,
		"result": "success", "resultReason": "", "activityDisplayName": activity,
		"activityDateTime": at.UTC().Format(time.RFC3339), "loggedByService": "Core Directory", "operationType": "Assign",
		"initiatedBy": map[string]any{"app": nil, "user": map[string]any{
			"id": "d1dac9de-fcf2-4686-9c98-4778bbd06fbc", "displayName": "Viktor Lindqvist",
			"userPrincipalName": "viktor.lindqvist@northbridge-policy.org", "ipAddress": "20.43.66.12"}},
		"targetResources":   []any{target},
		"additionalDetails": []any{},
	}
}

// TestPollDirectoryNamesTheGrantee: the deployed app judges the audit log
// over a partial snapshot (the objects its delta rounds saw change). An
// Exchange Online full_access_as_app grant whose record names the client
// only by display name and app id must still produce a finding on the
// client's object id, as the scan does: the app resolves the client
// through its stored baselines or one bulk read. Each shape of the record
// is tried.
func TestPollDirectoryNamesTheGrantee(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		client []map[string]any // the client's modified properties
	}{
		{"display name and app id", []map[string]any{mod("ServicePrincipal.DisplayName", legacySync), mod("ServicePrincipal.AppId", legacySyncApp)}},
		{"object id alone", []map[string]any{mod("ServicePrincipal.ObjectID", legacySyncSP)}},
		{"display name alone", []map[string]any{mod("ServicePrincipal.DisplayName", legacySync)}},
		{"every property", []map[string]any{mod("ServicePrincipal.ObjectID", legacySyncSP), mod("ServicePrincipal.DisplayName", legacySync),
			mod("ServicePrincipal.AppId", legacySyncApp), mod("ServicePrincipal.Name", legacySyncApp)}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{})
			ctx := t.Context()
			e.install()
			e.clk.Advance(2 * time.Minute)
			props := append([]map[string]any{
				mod("AppRole.Id", "dc890d15-9560-4a4c-9b7f-a736ec74ec40"), mod("AppRole.Value", "full_access_as_app"),
			}, tt.client...)
			target := map[string]any{"id": exoResourceSP, "displayName": "Office 365 Exchange Online", "type": "ServicePrincipal",
				"userPrincipalName": nil, "groupType": nil, "modifiedProperties": props}
			e.must("append audit record", e.sim.AppendLog(graphsim.LogDirectoryAudits,
				auditRecord(fmt.Sprintf("7e0c1d2a-5b6f-4e8a-9c1d-00000000000%d", i), e.clk.Now(), "Add app role assignment to service principal", target)))
			e.clk.Advance(time.Minute)
			e.must("PollDirectory", e.app.PollDirectory(ctx))

			rec, ok := e.findingFor("app.mail-permission-granted", legacySyncSP)
			if !ok {
				var got []string
				for k, r := range e.findings() {
					if r.Finding.Rule == "app.mail-permission-granted" {
						got = append(got, fmt.Sprintf("%s subject %+v", k, r.Finding.Subject))
					}
				}
				t.Fatalf("no app.mail-permission-granted finding on %s (%s); the grant findings are:\n%s", legacySync, legacySyncSP, strings.Join(got, "\n"))
			}
			f := rec.Finding
			if want := "app.mail-permission-granted:" + legacySyncSP + ":full_access_as_app"; f.Key != want {
				t.Errorf("key %s, want %s", f.Key, want)
			}
			if f.Subject.Name != legacySync || f.Evidence["appId"] != legacySyncApp {
				t.Errorf("subject %+v, evidence appId %v; want %s, app id %s", f.Subject, f.Evidence["appId"], legacySync, legacySyncApp)
			}
			if _, flagged := f.Evidence["objectIdResolved"]; flagged {
				t.Errorf("evidence objectIdResolved = %v on a resolved client", f.Evidence["objectIdResolved"])
			}
			if n := len(e.carrying(f.Key)); n != 1 {
				t.Errorf("%d outbox items carry %s, want 1: the grant is a new high finding", n, f.Key)
			}
			for k, r := range e.findings() {
				if strings.EqualFold(r.Finding.Subject.ID, legacySyncApp) {
					t.Errorf("finding %s has the app id %s as its subject id", k, legacySyncApp)
				}
			}
		})
	}
}

// TestPollDirectoryApplicationCredentialOfMailApp: a secret added to an
// application whose service principal holds a mail role is high, on the
// deployed path too, where the round's snapshot holds the application (its
// delta changed) but not its service principal (unchanged).
func TestPollDirectoryApplicationCredentialOfMailApp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := t.Context()
	e.install()
	e.clk.Advance(2 * time.Minute)

	app, ok := e.sim.Get(graphsim.KindApplication, archiverApp)
	if !ok {
		t.Fatalf("application %s not in the simulated tenant", archiverApp)
	}
	keyID := "5d1f6a2e-9b3c-4e7d-8a1f-2c3b4d5e6f70"
	now := e.clk.Now().UTC()
	secret := map[string]any{"customKeyIdentifier": nil, "displayName": "sync-2026", "endDateTime": now.AddDate(1, 0, 0).Format(time.RFC3339),
		"hint": "s9X", "keyId": keyID, "secretText": nil, "startDateTime": now.Format(time.RFC3339)}
	passwords, _ := app["passwordCredentials"].([]any)
	_, err := e.sim.Update(graphsim.KindApplication, archiverApp, map[string]any{"passwordCredentials": append(passwords, secret)})
	e.must("add the secret", err)
	target := map[string]any{"id": archiverApp, "displayName": "Northbridge Records Archiver", "type": "Application", "modifiedProperties": []any{
		map[string]any{"displayName": "KeyDescription", "oldValue": "[]",
			"newValue": `["[KeyIdentifier=` + keyID + `,KeyType=Password,KeyUsage=Verify,DisplayName=sync-2026]"]`},
		mod("Included Updated Properties", "KeyDescription"),
	}}
	e.must("append audit record", e.sim.AppendLog(graphsim.LogDirectoryAudits,
		auditRecord("3c2b1a09-8f7e-4d6c-b5a4-938271605f4e", now, "Update application – Certificates and secrets management ", target)))
	e.clk.Advance(time.Minute)
	e.must("PollDirectory", e.app.PollDirectory(ctx))

	key := "sp.credential-added:" + archiverApp + ":" + keyID
	rec, ok := e.findings()[key]
	if !ok {
		t.Fatalf("no finding %s", key)
	}
	f := rec.Finding
	if f.Subject.Type != tenant.SubjectApplication || f.Subject.ID != archiverApp {
		t.Errorf("subject %+v, want the application %s", f.Subject, archiverApp)
	}
	if f.Severity != tenant.SeverityHigh {
		t.Errorf("severity %s, want high: the application's service principal %s holds Graph Mail.Read (evidence %v)", f.Severity, archiverSP, f.Evidence)
	}
	if why := fmt.Sprint(f.Evidence["highBecause"]); !strings.Contains(why, "Mail.Read") {
		t.Errorf("evidence highBecause = %s, want the service principal's Mail.Read", why)
	}
	if n := len(e.carrying(key)); n != 1 {
		t.Errorf("%d outbox items carry %s, want 1 card", n, key)
	}
}
