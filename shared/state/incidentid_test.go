package state_test

import (
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/state"
)

func TestParseIncidentItemID(t *testing.T) {
	t.Parallel()
	if got := state.IncidentItemID("inc-37fdf08463667eb7", 2); got != "inc-37fdf08463667eb7-r0002" {
		t.Errorf("IncidentItemID = %q", got)
	}
	for _, tc := range []struct {
		in  string
		inc string
		rev int
		ok  bool
	}{
		{"inc-37fdf08463667eb7-r0002", "inc-37fdf08463667eb7", 2, true},
		{"inc-37fdf08463667eb7-r12345", "inc-37fdf08463667eb7", 12345, true},
		{"inc-a-b-r0001", "inc-a-b", 1, true},
		{"inc-37fdf08463667eb7-r0000", "", 0, false}, // revisions start at 1
		{"inc-37fdf08463667eb7-r02", "", 0, false},   // four digits at least
		{"inc-37fdf08463667eb7-rabcd", "", 0, false},
		{"inc-37fdf08463667eb7", "", 0, false},
		{"20261207T091500Z-0001", "", 0, false}, // a finding card's ID
		{"x-inc-1-r0001", "", 0, false},
		{"", "", 0, false},
	} {
		inc, rev, ok := state.ParseIncidentItemID(tc.in)
		if inc != tc.inc || rev != tc.rev || ok != tc.ok {
			t.Errorf("ParseIncidentItemID(%q) = %q, %d, %v; want %q, %d, %v", tc.in, inc, rev, ok, tc.inc, tc.rev, tc.ok)
		}
	}
}

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	const base, max = 5 * time.Second, time.Minute
	for _, tc := range []struct {
		attempts int
		full     time.Duration
	}{{1, 5 * time.Second}, {2, 10 * time.Second}, {3, 20 * time.Second}, {4, 40 * time.Second}, {5, time.Minute}, {50, time.Minute}} {
		for range 50 {
			if d := state.RetryDelay(base, max, tc.attempts); d < tc.full/2 || d > tc.full {
				t.Fatalf("RetryDelay(attempt %d) = %v, want within [%v, %v]", tc.attempts, d, tc.full/2, tc.full)
			}
		}
	}
}
