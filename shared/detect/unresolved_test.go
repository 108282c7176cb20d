package detect_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestUnresolved: on the deployed app's partial snapshots, Unresolved lists
// exactly what the rules need to name the objects of the audit events and
// applications and the snapshot does not hold; once the collecting side has
// added those AppRefs, only what nothing resolves is left.
func TestUnresolved(t *testing.T) {
	tests := []struct {
		fixture     string
		want        detect.References // without the case's AppRefs
		wantWithRef detect.References // with them
	}{
		{
			fixture: "app.mail-permission-granted/partial-snapshot",
			want: detect.References{
				ObjectIDs: []string{"8df8712d-4958-5235-a646-e33510a7ef86"},                                         // ServicePrincipal.ObjectID alone
				AppIDs:    []string{"2d316abf-a39e-5bfe-ac15-aa9a948ea3ab", "914cb978-f367-5557-a798-609213c9bbf5"}, // DisplayName + AppId
				Names:     []string{"Contoso Intranet"},                                                             // DisplayName alone
			},
			wantWithRef: detect.References{AppIDs: []string{"914cb978-f367-5557-a798-609213c9bbf5"}}, // a deleted app: nothing has it
		},
		{
			fixture: "sp.credential-added/partial-snapshot",
			want: detect.References{
				// Service principal targets not in the snapshot, and the
				// service principals of the applications that are.
				ObjectIDs: []string{"13ee668b-b2f9-5c62-8982-5c080e97630b", "ff46456b-7c3f-5681-887a-9c0ed43757eb"},
				AppIDs:    []string{"419f85cf-276b-5dad-90d2-6c3940dee072", "0f43954a-b9db-5785-bcbb-f486eba30db5"},
			},
		},
		{
			// The client of a consent with mail scopes.
			fixture: "app.consent-mail-scopes/partial-snapshot",
			want:    detect.References{ObjectIDs: []string{"9a1d2c3b-4e5f-4a6b-8c7d-1e2f3a4b5c62"}},
		},
		{
			// A service principal created: its object and its app id.
			fixture: "app.new-app-with-credential-and-mail/chain-prior",
			want: detect.References{
				ObjectIDs: []string{"9a1d2c3b-4e5f-4a6b-8c7d-1e2f3a4b5c62"},
				AppIDs:    []string{"c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e63"},
			},
		},
		{
			// An application given a federated identity credential.
			fixture: "app.federated-credential-added/prior-mail",
			want:    detect.References{ObjectIDs: []string{"9a1d2c3b-4e5f-4a6b-8c7d-1e2f3a4b5c61"}},
		},
		{
			// A one-shot scan holds every object: only what nothing has is
			// worth a look-up (an unknown name, an unknown app id), not a
			// name two service principals share.
			fixture: "app.mail-permission-granted/client-shapes",
			want: detect.References{
				Names:  []string{"Ghost Mailer"},
				AppIDs: []string{"fec49a4a-ea2f-566d-9921-63aec38b58f7"},
			},
			wantWithRef: detect.References{
				Names:  []string{"Ghost Mailer"},
				AppIDs: []string{"fec49a4a-ea2f-566d-9921-63aec38b58f7"},
			},
		},
	}
	sorted := func(r detect.References) detect.References {
		for _, l := range []*[]string{&r.ObjectIDs, &r.AppIDs, &r.Names} {
			*l = slices.Sorted(slices.Values(*l))
		}
		return r
	}
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			in, _ := loadInput(t, filepath.Join("testdata", tc.fixture+".json"))
			s := in.Snapshot
			if diff := cmp.Diff(sorted(tc.wantWithRef), sorted(detect.Unresolved(s)), cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })); diff != "" {
				t.Errorf("with the AppRefs (-want +got):\n%s", diff)
			}
			refs := s.AppRefs
			s.AppRefs = nil
			if diff := cmp.Diff(sorted(tc.want), sorted(detect.Unresolved(s)), cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })); diff != "" {
				t.Errorf("without the AppRefs (-want +got):\n%s", diff)
			}
			if len(refs) > 0 && detect.Unresolved(s).Empty() {
				t.Error("Empty() on a snapshot with references to resolve")
			}
		})
	}
}

// TestUnresolvedOnlyWhatRulesRead: events no rule reports (failed; a
// credential event that adds no key; an app update that adds no reply URL,
// whatever other property it carries) cost no look-ups.
func TestUnresolvedOnlyWhatRulesRead(t *testing.T) {
	at := fixedNow.Add(-time.Hour)
	target := func(id, typ string, props ...tenant.ModifiedProperty) []tenant.Target {
		return []tenant.Target{{ID: id, Type: typ, DisplayName: "x", Modified: props}}
	}
	keys := tenant.ModifiedProperty{Name: "KeyDescription", Old: "[]", New: `["[KeyIdentifier=k1,KeyType=Password,KeyUsage=Verify,DisplayName=s]"]`}
	urls := tenant.ModifiedProperty{Name: "AppAddress", Old: "[]", New: `[{"Address":"https://a.example/cb"}]`}
	other := tenant.ModifiedProperty{Name: "DisplayName", Old: `["a"]`, New: `["b"]`}
	s := &tenant.Snapshot{CollectedAt: fixedNow, Since: fixedNow.Add(-24 * time.Hour), Audits: []tenant.AuditEvent{
		{Activity: "Add service principal credentials", Result: "failure", Time: at, Targets: target("sp-failed", "ServicePrincipal", keys)},
		{Activity: "Update application", Result: "success", Time: at, Targets: target("app-renamed", "Application", other)},
		{Activity: "Update application", Result: "success", Time: at, Targets: target("app-urls", "Application", urls)},
		{Activity: "Add service principal credentials", Result: "success", Time: at, Targets: target("sp-keys", "ServicePrincipal", keys)},
		{Activity: "Add app role assignment to service principal", Result: "failure", Time: at, Targets: target("res", "ServicePrincipal",
			tenant.ModifiedProperty{Name: "ServicePrincipal.AppId", New: `"app-failed"`})},
		// Properties no rule reads on that activity.
		{Activity: "Update application", Result: "success", Time: at, Targets: target("app-keys", "Application", keys)},
		{Activity: "Add service principal credentials", Result: "success", Time: at, Targets: target("sp-urls", "ServicePrincipal", urls)},
		// Nothing added: the same key, the same address before and after.
		{Activity: "Add service principal credentials", Result: "success", Time: at, Targets: target("sp-same-key", "ServicePrincipal",
			tenant.ModifiedProperty{Name: "KeyDescription", Old: keys.New, New: keys.New})},
		{Activity: "Update service principal", Result: "success", Time: at, Targets: target("sp-url-removed", "ServicePrincipal",
			tenant.ModifiedProperty{Name: "AppAddress", Old: urls.New, New: "[]"})},
	}}
	got := detect.Unresolved(s)
	want := detect.References{ObjectIDs: []string{"app-urls", "sp-keys"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Unresolved (-want +got):\n%s", diff)
	}
}
