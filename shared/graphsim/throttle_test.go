package graphsim_test

import (
	"encoding/json"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
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
	if _, err := graphsim.New(&graphsim.Options{Scenario: apt29.Scenario(), ThrottleRate: 1.5}); err == nil {
		t.Error("ThrottleRate 1.5 accepted")
	}
}

// fakeClock is a settable clock for the report limits.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

// TestReportLimits: the identity and access reports service's limits —
// five requests per ten seconds over the audit logs and the
// authentication-methods reports, ten per minute for /users reads of
// signInActivity, which count against both — answered as Graph answers
// throttling (429, Retry-After in seconds, TooManyRequests), on a clock
// the test moves.
func TestReportLimits(t *testing.T) {
	const (
		reg      = base + qRegistrations
		audits   = base + "/v1.0/auditLogs/directoryAudits?%24top=5"
		signIns  = base + "/v1.0/auditLogs/signIns?%24top=5"
		activity = base + "/v1.0/users?%24select=id,signInActivity&%24top=5"
		filtered = base + "/v1.0/users?%24filter=signInActivity/lastSuccessfulSignInDateTime%20le%202026-01-01T00:00:00Z"
		plain    = base + "/v1.0/users?%24select=id&%24top=5"
	)
	type step struct {
		advance    time.Duration
		url        string
		status     int    // 0: not 429 (the route's own answer)
		retryAfter string // for 429
	}
	cases := []struct {
		name   string
		window time.Duration
		steps  []step
	}{
		{name: "five report requests per ten seconds, shared by the logs and the report", steps: []step{
			{0, reg, 0, ""}, {0, audits, 0, ""}, {0, signIns, 0, ""}, {time.Second, reg, 0, ""}, {0, audits, 0, ""},
			{0, signIns, 429, "9"},
			{0, plain, 0, ""}, // /users without signInActivity is not a report read
			{8500 * time.Millisecond, reg, 429, "1"},
			{500 * time.Millisecond, reg, 0, ""}, // the first three left the window
			{0, audits, 0, ""},
			{0, signIns, 0, ""},
			{0, reg, 429, "1"}, // the two of second 1 are still in it
			{time.Second, reg, 0, ""},
		}},
		{name: "signInActivity reads count against the reports limit", steps: []step{
			{0, reg, 0, ""}, {0, reg, 0, ""}, {0, reg, 0, ""}, {0, reg, 0, ""}, {0, activity, 0, ""},
			{0, activity, 429, "10"},
			{0, filtered, 429, "10"}, // filtering on signInActivity counts too
			{0, reg, 429, "10"},
		}},
		{name: "ten signInActivity reads per minute", steps: []step{
			{0, activity, 0, ""}, {0, filtered, 0, ""}, {10 * time.Second, activity, 0, ""}, {0, activity, 0, ""},
			{10 * time.Second, activity, 0, ""}, {0, activity, 0, ""}, {10 * time.Second, activity, 0, ""}, {0, activity, 0, ""},
			{10 * time.Second, activity, 0, ""}, {0, activity, 0, ""},
			{10 * time.Second, activity, 429, "10"}, // ten in the minute: the first two leave at 60 s
			{0, reg, 0, ""},                         // the reports limit still has room
			{9 * time.Second, activity, 429, "1"},
			{time.Second, activity, 0, ""},
		}},
		{name: "scaled window", window: time.Second, steps: []step{
			{0, activity, 0, ""}, {0, activity, 0, ""}, {0, activity, 0, ""}, {0, activity, 0, ""}, {0, activity, 0, ""},
			{0, activity, 429, "1"},
			{time.Second, activity, 0, ""}, {0, activity, 0, ""}, {0, activity, 0, ""}, {0, activity, 0, ""}, {0, activity, 0, ""},
			{time.Second, activity, 429, "4"}, // ten in six seconds
			{4 * time.Second, activity, 0, ""},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
			sim := newSim(t, &graphsim.Options{Users: 20, ReportLimits: &graphsim.ReportLimits{Window: tc.window, Now: clk.Now}})
			h := sim.Handler()
			throttled, activities := 0, 0
			for i, s := range tc.steps {
				clk.Advance(s.advance)
				r := get(t, h, s.url)
				if s.url == activity || s.url == filtered {
					activities++
				}
				if s.status == 0 {
					if r.status == http.StatusTooManyRequests {
						t.Fatalf("step %d (%s): throttled (Retry-After %s), want admitted", i, s.url, r.header.Get("Retry-After"))
					}
					continue
				}
				throttled++
				if r.status != http.StatusTooManyRequests {
					t.Fatalf("step %d (%s): status %d, want 429", i, s.url, r.status)
				}
				if got := r.header.Get("Retry-After"); got != s.retryAfter {
					t.Errorf("step %d: Retry-After %q, want %q", i, got, s.retryAfter)
				}
				var e struct {
					Error struct {
						Code, Message string
						InnerError    struct{ Code, Status, Message string } `json:"innerError"`
					} `json:"error"`
				}
				if err := json.Unmarshal(r.body, &e); err != nil {
					t.Fatal(err)
				}
				if e.Error.Code != "TooManyRequests" || e.Error.Message != "Please retry again later." ||
					e.Error.InnerError.Code != "429" || e.Error.InnerError.Status != "429" {
					t.Errorf("step %d: 429 body %s", i, r.body)
				}
			}
			st := sim.Stats()
			if st.Throttled != throttled {
				t.Errorf("Stats.Throttled %d, want %d", st.Throttled, throttled)
			}
			if st.SignInActivity != activities {
				t.Errorf("Stats.SignInActivity %d, want %d", st.SignInActivity, activities)
			}
		})
	}
}
