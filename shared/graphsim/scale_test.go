package graphsim_test

import (
	"encoding/json"
	"runtime"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/empty"
)

// TestHundredThousandUsers pages 100,000 synthetic users completely and
// reports what the simulator costs. Memory is asserted loosely (the
// synthetic users must not be materialised); time is only reported.
func TestHundredThousandUsers(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test")
	}
	const n = 100_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	sim := newSim(t, &graphsim.Options{Users: n, Scenario: empty.Scenario(), Seed: 5})
	runtime.GC()
	runtime.ReadMemStats(&after)
	retained := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap retained by New with %d synthetic users: %d KiB", n, retained/1024)
	if retained > 16<<20 {
		t.Errorf("New retains %d bytes: synthetic users are being materialised", retained)
	}
	h := sim.Handler()

	url := base + qUsersNoSIA
	seen := make(map[string]struct{}, n)
	pages := 0
	for url != "" {
		p := decodePage(t, get(t, h, url))
		for _, raw := range p.Value {
			var v struct {
				ID             string `json:"id"`
				AccountEnabled bool   `json:"accountEnabled"`
			}
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			if _, dup := seen[v.ID]; dup {
				t.Fatalf("user %s served twice", v.ID)
			}
			seen[v.ID] = struct{}{}
		}
		pages++
		url = p.NextLink
	}
	if len(seen) != n || pages != (n+998)/999 {
		t.Errorf("collected %d users in %d pages, want %d in %d", len(seen), pages, n, (n+998)/999)
	}
	if st := sim.Stats(); st.Items["/users"] != n || st.Requests["/users"] != pages {
		t.Errorf("stats: %d items in %d requests", st.Items["/users"], st.Requests["/users"])
	}

	// Allocation cost of one full page from the middle of the tenant.
	mid := decodePage(t, get(t, h, base+qUsersNoSIA))
	for i := 0; i < 50; i++ {
		mid = decodePage(t, get(t, h, mid.NextLink))
	}
	allocs := testing.AllocsPerRun(5, func() { get(t, h, mid.NextLink) })
	t.Logf("one page of 999 synthetic users: %.0f allocations (%.1f per user)", allocs, allocs/999)

	// Registrations and sign-ins of the same tenant page too.
	regs, _ := collect(t, h, base+qRegistrations)
	signIns, _ := collect(t, h, base+qSignIns)
	if len(regs) != n || len(signIns) != n/10 {
		t.Errorf("%d registration rows, %d sign-ins; want %d and %d", len(regs), len(signIns), n, n/10)
	}
}

func BenchmarkUsersPage(b *testing.B) {
	sim := newSim(b, &graphsim.Options{Users: 100_000, Scenario: empty.Scenario()})
	h := sim.Handler()
	p := decodePage(b, get(b, h, base+qUsers))
	next := p.NextLink
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		get(b, h, next)
	}
}
