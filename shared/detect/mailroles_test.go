package detect

import (
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

func TestMailCatalogue(t *testing.T) {
	t.Parallel()
	const customMailRead = "11111111-2222-4333-8444-555555555555" // a tenant-specific id, to prove resolution by value
	graph := tenant.ServicePrincipal{ID: "graph-sp", AppID: tenant.GraphAppID, AppRoles: []tenant.AppRole{
		{ID: customMailRead, Value: "Mail.Read"},
		{ID: "b633e1c5-b582-4048-a93e-9f11b44c7e96", Value: "Mail.Send"},
	}}
	exo := tenant.ServicePrincipal{ID: "exo-sp", AppID: tenant.ExchangeOnlineAppID} // appRoles not read
	in := &Input{Snapshot: &tenant.Snapshot{ServicePrincipals: []tenant.ServicePrincipal{graph, exo}}}
	cat := newMailCatalogue(in)

	tests := []struct {
		res, id   string
		wantValue string
	}{
		{tenant.GraphAppID, customMailRead, "Mail.Read"},                                             // from appRoles
		{tenant.GraphAppID, "810C84A8-4A9E-49E6-BF7D-12D183F40D01", ""},                              // the published id is replaced by the tenant's
		{tenant.GraphAppID, "e2a3a72e-5f79-4c64-b1b1-878b674786c9", "Mail.ReadWrite"},                // not in appRoles: published id
		{tenant.GraphAppID, "693c5e45-0940-467d-9b8a-1022fb9d42ef", "Mail.ReadBasic.All"},            // not in appRoles: published id
		{tenant.GraphAppID, "b633e1c5-b582-4048-a93e-9f11b44c7e96", ""},                              // Mail.Send
		{tenant.GraphAppID, "6be147d2-ea4f-4b5a-a3fa-3eab6f3c140a", ""},                              // Mail.ReadBasic
		{tenant.GraphAppID, "7d9f353d-a7bd-4fbb-822a-26d5dd39a3ce", ""},                              // MailboxItem.Read.All
		{tenant.ExchangeOnlineAppID, "dc890d15-9560-4a4c-9b7f-a736ec74ec40", "full_access_as_app"},   // fallback table
		{tenant.ExchangeOnlineAppID, "DC50A0FB-09A3-484D-BE87-E023B12C6440", "Exchange.ManageAsApp"}, // any case
		{tenant.ExchangeOnlineAppID, "810c84a8-4a9e-49e6-bf7d-12d183f40d01", ""},                     // EXO's legacy Mail.Read (Graph's GUID)
		{tenant.ExchangeOnlineAppID, "ea3d980d-ebc7-4be4-8298-a167e5b8797c", ""},                     // Exchange.ManageAsAppV2: not in the brief's list
		{"6f1c3b2a-0000-0000-0000-000000000000", "dc890d15-9560-4a4c-9b7f-a736ec74ec40", ""},         // another resource
	}
	for _, tt := range tests {
		r, ok := cat.role(tt.res, tt.id)
		if ok != (tt.wantValue != "") || r.Value != tt.wantValue {
			t.Errorf("role(%s, %s) = %q, %v; want %q", tt.res, tt.id, r.Value, ok, tt.wantValue)
		}
	}
	if r, ok := cat.roleOfEither("5e5addcd-3e8d-4e90-baf5-964efab2b20a"); !ok || r.ResourceAppID != tenant.ExchangeOnlineAppID {
		t.Errorf("roleOfEither(IMAP) = %+v, %v", r, ok)
	}
	if _, ok := cat.byValue(tenant.GraphAppID, "full_access_as_app"); ok {
		t.Error("byValue: an Exchange role matched on Graph")
	}
	if r, ok := cat.byValue("", "mail.readwrite"); !ok || r.ResourceAppID != tenant.GraphAppID {
		t.Errorf("byValue(either, mail.readwrite) = %+v, %v", r, ok)
	}
	if _, ok := cat.byValue("", "Mail.Send"); ok {
		t.Error("byValue: Mail.Send matched")
	}
}

func TestIsMicrosoftTenant(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{
		"f8cdef31-a31e-4b4a-93e4-5f571e91255a":   true,
		" 72F988BF-86F1-41AF-91AB-2D7CD011DB47 ": true,
		"4a7c2e19-5b3d-4c8e-9f60-1d2e3f4a5b6c":   false,
		"":                                       false,
	} {
		if got := isMicrosoftTenant(id); got != want {
			t.Errorf("isMicrosoftTenant(%q) = %v", id, got)
		}
	}
}
