package graph_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/graph"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestErrorWithoutMessage: a Graph error document without a message (the
// SDK's ODataError.Error() dereferences it unchecked: doc.go, "SDK
// workarounds") is classified from its code and status, without a panic.
func TestErrorWithoutMessage(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"error":{"code":"Authorization_RequestDenied"}}`))
	})
	err := servicePrincipals(t.Context(), newClient(t, f, nil))
	checkSentinel(t, err, tenant.ErrAccessDenied)
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.Code != "Authorization_RequestDenied" || ge.Status != http.StatusForbidden {
		t.Fatalf("err = %#v, want a 403 Authorization_RequestDenied *graph.Error", err)
	}
	if want := "graph: GET /servicePrincipals: 403 Authorization_RequestDenied: forbidden (needs Application.Read.All)"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
}
