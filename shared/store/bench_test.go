package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// BenchmarkRecordFindings records 1,000 findings per iteration against the
// package's Azurite: "new" inserts them, "seen" updates LastSeen of stored
// ones (a sweep that finds what it found before).
func BenchmarkRecordFindings(b *testing.B) {
	st := open(b, nil, nil)
	ctx := b.Context()
	batch := func(round int) []tenant.Finding {
		fs := make([]tenant.Finding, 1000)
		for i := range fs {
			fs[i] = finding(fmt.Sprintf("bench.rule%d", i%14), fmt.Sprintf("%d-%d", round, i), map[string]any{"i": i})
		}
		return fs
	}
	b.Run("new", func(b *testing.B) {
		for n := 0; b.Loop(); n++ {
			fresh, err := st.RecordFindings(ctx, batch(n), state.FindingQueued, t0)
			if err != nil || len(fresh) != 1000 {
				b.Fatalf("%d fresh, %v", len(fresh), err)
			}
		}
	})
	b.Run("seen", func(b *testing.B) {
		fs := batch(-1)
		if _, err := st.RecordFindings(ctx, fs, state.FindingQueued, t0); err != nil {
			b.Fatal(err)
		}
		for n := 1; b.Loop(); n++ {
			fresh, err := st.RecordFindings(ctx, fs, state.FindingQueued, t0.Add(time.Duration(n)*time.Minute))
			if err != nil || len(fresh) != 0 {
				b.Fatalf("%d fresh, %v", len(fresh), err)
			}
		}
	})
}

// BenchmarkPutBaselines writes 1,000 baselines (two types) per iteration.
func BenchmarkPutBaselines(b *testing.B) {
	st := open(b, nil, nil)
	ctx := b.Context()
	bs := make([]state.Baseline, 1000)
	for i := range bs {
		if i%2 == 0 {
			bs[i] = spBaseline(i)
		} else {
			bs[i] = userBaseline(i)
		}
	}
	for b.Loop() {
		if err := st.PutBaselines(ctx, bs); err != nil {
			b.Fatal(err)
		}
	}
}
