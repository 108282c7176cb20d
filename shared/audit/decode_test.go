package audit_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/audit"
	goldenfile "github.com/tenantwatch/tenantwatch/shared/golden"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// decodeCase is testdata/decode/<name>.json: records as Graph's
// directoryAudits return them (tenant.AuditEvent's JSON tags) and the
// hand-checked summary of every event they decode to, in order.
type decodeCase struct {
	Description string              `json:"description"`
	Source      string              `json:"source"`
	Records     []tenant.AuditEvent `json:"records"`
	Want        []string            `json:"want"`
}

// summary is the hand-checked line of one event: its type, record and the
// facts a rule reads.
func summary(ev audit.Event) string {
	switch ev := ev.(type) {
	case audit.CredentialChange:
		var added []string
		for _, k := range ev.Added() {
			added = append(added, k.ID)
		}
		return fmt.Sprintf("credential %s: %s %s (type %q, implied %s) added [%s]", ev.Record.ID, ev.KeyDescription.Property,
			ev.Object.ID, ev.Object.Type, ev.Object.Implied, strings.Join(added, " "))
	case audit.ReplyURLChange:
		addrs, props := ev.Added()
		return fmt.Sprintf("replyURL %s: %s (type %q, implied %s) added [%s] via [%s]", ev.Record.ID, ev.Object.ID,
			ev.Object.Type, ev.Object.Implied, strings.Join(addrs, " "), strings.Join(props, " "))
	case audit.AppRoleGrant:
		return fmt.Sprintf("appRoleGrant %s: resource %q role %q %q client objectId %q appId %q name %q", ev.Record.ID, ev.ResourceID,
			ev.RoleValue, ev.RoleID, ev.Client.ObjectID, ev.Client.AppID, ev.Client.DisplayName)
	case audit.LicenceChange:
		var props []string
		if p := ev.AssignedLicense; p != nil {
			props = append(props, fmt.Sprintf("%s %d→%d", p.Property, len(p.Old), len(p.New)))
		}
		if p := ev.AssignedPlan; p != nil {
			props = append(props, fmt.Sprintf("%s %d→%d", p.Property, len(p.Old), len(p.New)))
		}
		return fmt.Sprintf("licence %s: user %s [%s] parts %d", ev.Record.ID, ev.User.ID, strings.Join(props, ", "), ev.Parts)
	case audit.SecurityInfoRegistration:
		return fmt.Sprintf("registration %s: user %s %q", ev.Record.ID, ev.UserID, ev.UserName)
	case audit.RoleMemberAdded:
		return fmt.Sprintf("roleMember %s: %s %q eligible %v role template %q name %q wellKnown %q targets %q", ev.Record.ID,
			ev.MemberType, ev.Member.ID, ev.Eligible, ev.Role.TemplateID, ev.Role.DisplayName, ev.Role.WellKnownObjectName, ev.Role.TargetIDs)
	case audit.DeviceEvent:
		return fmt.Sprintf("device %s: %s device %s %q user %q %q byDRS %v", ev.Record.ID, ev.Kind, ev.DeviceID, ev.DeviceName,
			ev.UserID, ev.UserName, ev.ByDRS)
	case audit.Consent:
		return fmt.Sprintf("consent %s: client %s (type %q) admin %s onBehalfOfAll %s appOnly %s allPrincipals %v added [%s] entries %d→%d names [%s]",
			ev.Record.ID, ev.Object.ID, ev.Object.Type, boolText(ev.AdminConsent), boolText(ev.OnBehalfOfAll), boolText(ev.AppOnly),
			ev.AllPrincipals(), strings.Join(ev.AddedScopes(), " "), len(ev.Old), len(ev.New), strings.Join(ev.ServicePrincipalNames, " "))
	case audit.DelegatedGrantAdded:
		return fmt.Sprintf("delegatedGrant %s: resource %q %q names [%s] consentType %q added [%s] client objectId %q appId %q name %q",
			ev.Record.ID, ev.ResourceID, ev.ResourceName, strings.Join(ev.ResourceNames, " "), ev.ConsentType,
			strings.Join(ev.AddedScopes(), " "), ev.Client.ObjectID, ev.Client.AppID, ev.Client.DisplayName)
	case audit.AppAdded:
		return fmt.Sprintf("appAdded %s: %s (type %q, implied %s) appId %q", ev.Record.ID, ev.Object.ID, ev.Object.Type, ev.Object.Implied, ev.AppID)
	case audit.DomainFederationChange:
		return fmt.Sprintf("domainFederation %s: domain %q settings %v federated %v liveType %s issuer %s cert %s next %s",
			ev.Record.ID, ev.Domain, ev.Settings, ev.Federated(), valuesText(ev.LiveType), valuesText(ev.IssuerURI),
			valuesText(ev.SigningCertificate), valuesText(ev.NextSigningCertificate))
	case audit.FederatedCredentialChange:
		var added []string
		for _, f := range ev.Added() {
			added = append(added, fmt.Sprintf("%s|%s|%s|%s", f.Name, f.Issuer, f.Subject, strings.Join(f.Audiences, ",")))
		}
		return fmt.Sprintf("federatedCredential %s: %s (type %q, implied %s) %d→%d added [%s]", ev.Record.ID, ev.Object.ID, ev.Object.Type,
			ev.Object.Implied, len(ev.Credentials.Old), len(ev.Credentials.New), strings.Join(added, " "))
	}
	return fmt.Sprintf("unknown event %T", ev)
}

func boolText(b *bool) string {
	if b == nil {
		return "nil"
	}
	return fmt.Sprint(*b)
}

func valuesText(v *audit.Values) string {
	if v == nil {
		return "nil"
	}
	return fmt.Sprintf("%q→%q", v.Old, v.New)
}

// view is an event as its golden file shows it: its type, the id of its
// record instead of the whole record, and every other field.
func view(t *testing.T, ev audit.Event) map[string]any {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	rec, ok := m["Record"].(map[string]any)
	if !ok {
		t.Fatalf("%T has no Record", ev)
	}
	m["Record"] = rec["id"]
	m["type"] = reflect.TypeOf(ev).Name()
	return m
}

// TestDecode decodes each case's records and checks the events against the
// hand-checked summaries and the golden file (go test -update rewrites it;
// review the diff). It also holds the accessors to Decode: each returns
// exactly Decode's events of its type, in the same order.
func TestDecode(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "decode", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no cases in testdata/decode")
	}
	for _, path := range paths {
		if strings.HasSuffix(path, ".golden.json") {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var tc decodeCase
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&tc); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if tc.Description == "" || len(tc.Records) == 0 {
				t.Fatalf("%s: want a description and records", path)
			}
			events := audit.Decode(tc.Records)
			var got []string
			views := make([]map[string]any, 0, len(events))
			for _, ev := range events {
				got = append(got, summary(ev))
				views = append(views, view(t, ev))
			}
			if diff := cmp.Diff(tc.Want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			goldenfile.CheckJSON(t, strings.TrimSuffix(path, ".json")+".golden.json", views)
			checkAccessors(t, tc.Records, events)
		})
	}
}

// checkAccessors: every accessor returns Decode's events of its type, in
// order, and together they return all of them.
func checkAccessors(t *testing.T, records []tenant.AuditEvent, events []audit.Event) {
	t.Helper()
	byType := make(map[string][]audit.Event)
	for _, ev := range events {
		n := reflect.TypeOf(ev).Name()
		byType[n] = append(byType[n], ev)
	}
	accessors := map[string][]audit.Event{
		"CredentialChange":          asEvents(audit.CredentialChanges(records)),
		"ReplyURLChange":            asEvents(audit.ReplyURLChanges(records)),
		"AppRoleGrant":              asEvents(audit.AppRoleGrants(records)),
		"LicenceChange":             asEvents(audit.LicenceChanges(records)),
		"SecurityInfoRegistration":  asEvents(audit.SecurityInfoRegistrations(records)),
		"RoleMemberAdded":           asEvents(audit.RoleMembersAdded(records)),
		"DeviceEvent":               asEvents(audit.DeviceEvents(records)),
		"Consent":                   asEvents(audit.Consents(records)),
		"DelegatedGrantAdded":       asEvents(audit.DelegatedGrantsAdded(records)),
		"AppAdded":                  asEvents(audit.AppsAdded(records)),
		"DomainFederationChange":    asEvents(audit.DomainFederationChanges(records)),
		"FederatedCredentialChange": asEvents(audit.FederatedCredentialChanges(records)),
	}
	for n := range byType {
		if _, ok := accessors[n]; !ok {
			t.Errorf("no accessor checked for %s", n)
		}
	}
	for n, got := range accessors {
		if diff := cmp.Diff(byType[n], got); diff != "" {
			t.Errorf("accessor of %s differs from Decode (-Decode +accessor):\n%s", n, diff)
		}
	}
}

func asEvents[T audit.Event](evs []T) []audit.Event {
	var out []audit.Event
	for _, ev := range evs {
		out = append(out, ev)
	}
	return out
}
