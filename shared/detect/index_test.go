package detect

import (
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

func TestIndexLookups(t *testing.T) {
	t.Parallel()
	in := &Input{Snapshot: &tenant.Snapshot{
		Users:             []tenant.User{{ID: "AbC"}, {ID: ""}},
		ServicePrincipals: []tenant.ServicePrincipal{{ID: "Sp1", AppID: "App1"}, {ID: "sp2"}},
		Applications:      []tenant.Application{{ID: "A1", AppID: "APP1"}, {ID: "a2"}},
	}}
	if u := in.User(" abc "); u == nil || u.ID != "AbC" {
		t.Errorf("User(abc) = %v", u)
	}
	if sp := in.ServicePrincipalByAppID("app1"); sp == nil || sp.ID != "Sp1" {
		t.Errorf("ServicePrincipalByAppID(app1) = %v", sp)
	}
	if a := in.ApplicationByAppID("app1"); a == nil || a.ID != "A1" {
		t.Errorf("ApplicationByAppID(app1) = %v", a)
	}
	// Objects without an id or app id are not found by "".
	if in.User("") != nil || in.ServicePrincipalByAppID("") != nil || in.ApplicationByAppID(" ") != nil {
		t.Error("a lookup by an empty id found an object")
	}
}
