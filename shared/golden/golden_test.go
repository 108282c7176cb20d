package golden_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/golden"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }
func (r *recorder) Helper()               {}

func TestCheck(t *testing.T) {
	if golden.Updating() {
		t.Skip("comparing is what this test checks")
	}
	path := filepath.Join(t.TempDir(), "x.golden")
	if err := os.WriteFile(path, []byte("{\n  \"a\": 1\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		v    any
		fail bool
	}{{"same", map[string]int{"a": 1}, false}, {"different", map[string]int{"a": 2}, true}} {
		r := &recorder{TB: t}
		golden.CheckJSON(r, path, tc.v)
		if r.failed != tc.fail {
			t.Errorf("%s: failed = %v, want %v", tc.name, r.failed, tc.fail)
		}
	}
	r := &recorder{TB: t}
	golden.Check(r, filepath.Join(t.TempDir(), "missing"), nil)
	if !r.failed {
		t.Error("a missing golden file must fail")
	}
}
