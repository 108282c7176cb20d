package tenant_test

import (
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestIsGUID: only the 8-4-4-4-12 hex form passes, so that nothing else
// can reach a filter literal or a path segment.
func TestIsGUID(t *testing.T) {
	for s, want := range map[string]bool{
		"6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0":   true,
		"6EA91A8D-E32E-41A1-B7BD-D2D185EED0E0":   true,
		"00000002-0000-0ff1-ce00-000000000000":   true,
		"":                                       false,
		"6ea91a8d-e32e-41a1-b7bd-d2d185eed0e":    false,
		"6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0a":  false,
		"{6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0}": false,
		"6ea91a8de32e41a1b7bdd2d185eed0e0":       false,
		"6ea91a8d-e32e-41a1-b7bd-d2d185eed0g0":   false,
		"6ea91a8d-e32e-41a1-b7bd-d2d185eed'0)":   false,
		"6ea91a8d+e32e-41a1-b7bd-d2d185eed0e0":   false,
	} {
		if got := tenant.IsGUID(s); got != want {
			t.Errorf("IsGUID(%q) = %v, want %v", s, got, want)
		}
	}
}
