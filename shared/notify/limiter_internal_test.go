package notify

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// TestLimiterShared reserves slots from many goroutines at one instant: all
// slots are distinct and spaced by the interval.
func TestLimiterShared(t *testing.T) {
	now := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	l := limiter{interval: 250 * time.Millisecond}
	var mu sync.Mutex
	var slots []time.Time
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			at := l.reserve(now)
			mu.Lock()
			slots = append(slots, at)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.SortFunc(slots, time.Time.Compare)
	for i, at := range slots {
		if want := now.Add(time.Duration(i) * 250 * time.Millisecond); !at.Equal(want) {
			t.Fatalf("slot %d at %v, want %v", i, at, want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{"30", 30 * time.Second},
		{" 2 ", 2 * time.Second},
		{"0.25", 250 * time.Millisecond},
		{"NaN", 0},
		{"Inf", 24 * time.Hour},
		{"86401", 24 * time.Hour},
		{"Wed, 01 May 2024 00:01:00 GMT", time.Minute},
		{"Tue, 30 Apr 2024 00:00:00 GMT", 0},
		{"Sat, 01 Jun 2024 00:00:00 GMT", 24 * time.Hour},
		{"tomorrow", 0},
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
