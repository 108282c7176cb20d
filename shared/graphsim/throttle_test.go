package graphsim_test

import (
	"math"
	"net/http"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
)

func throttlePattern(t *testing.T, rate float64, seed int64, n int, retry int) ([]bool, *graphsim.Server) {
	t.Helper()
	sim := newSim(t, &graphsim.Options{ThrottleRate: rate, Seed: seed, RetryAfter: retry})
	h := sim.Handler()
	out := make([]bool, n)
	for i := range out {
		r := get(t, h, base+qOrganization)
		switch r.status {
		case http.StatusTooManyRequests:
			out[i] = true
			if e := decodeError(t, r); e.Error.Code != "TooManyRequests" {
				t.Fatalf("429 code %q", e.Error.Code)
			}
		case http.StatusOK:
		default:
			t.Fatalf("status %d", r.status)
		}
	}
	return out, sim
}

func TestThrottleRateAndDeterminism(t *testing.T) {
	const n = 2000
	for _, rate := range []float64{0, 0.1, 0.5, 1} {
		a, sim := throttlePattern(t, rate, 42, n, 0)
		hits := 0
		for _, x := range a {
			if x {
				hits++
			}
		}
		got := float64(hits) / n
		if math.Abs(got-rate) > 0.04 {
			t.Errorf("rate %.2f: observed %.3f", rate, got)
		}
		if st := sim.Stats(); st.Throttled != hits || st.Status[429] != hits {
			t.Errorf("stats count %d 429s, observed %d", st.Throttled, hits)
		}
		b, _ := throttlePattern(t, rate, 42, n, 0)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("rate %.2f: same seed, request %d differs", rate, i)
			}
		}
	}
	a, _ := throttlePattern(t, 0.3, 1, 200, 0)
	b, _ := throttlePattern(t, 0.3, 2, 200, 0)
	same := 0
	for i := range a {
		if a[i] == b[i] {
			same++
		}
	}
	if same == len(a) {
		t.Error("different seeds gave the same throttling pattern")
	}
}

func TestThrottleRetryAfterAndNextLinks(t *testing.T) {
	for _, tc := range []struct{ opt, want string }{{"0", "1"}, {"-1", "0"}, {"3", "3"}} {
		retry := map[string]int{"0": 0, "-1": -1, "3": 3}[tc.opt]
		sim := newSim(t, &graphsim.Options{ThrottleRate: 1, RetryAfter: retry})
		r := get(t, sim.Handler(), base+qUsers)
		if r.status != 429 || r.header.Get("Retry-After") != tc.want {
			t.Errorf("RetryAfter %s: status %d Retry-After %q, want %s", tc.opt, r.status, r.header.Get("Retry-After"), tc.want)
		}
	}
	// A client that retries 429s still collects everything, nextLinks included.
	sim := newSim(t, &graphsim.Options{ThrottleRate: 0.4, Seed: 9, Users: 300})
	h := sim.Handler()
	url, total, throttled := base+"/v1.0/users?%24select=id&%24top=50", 0, 0
	for url != "" {
		r := get(t, h, url)
		if r.status == 429 {
			throttled++
			continue
		}
		p := decodePage(t, r)
		total += len(p.Value)
		url = p.NextLink
	}
	if total != 36+300 || throttled == 0 {
		t.Errorf("collected %d users with %d retries", total, throttled)
	}
	if _, err := graphsim.New(&graphsim.Options{ThrottleRate: 1.5}); err == nil {
		t.Error("ThrottleRate 1.5 accepted")
	}
}
