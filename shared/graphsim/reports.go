package graphsim

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The identity and access reports service's own limits (Options.ReportLimits).
//
// Microsoft documents them in microsoft-graph-docs-contrib
// includes/throttling-entra-logs-reports.md, the table that
// concepts/throttling-limits.md includes under "Identity and access reports
// service limits":
//
//	Any request                    5 requests per 10 seconds per app per tenant
//	                               (122 per 10 seconds per app for all tenants)
//	GET signInActivity             10 requests per minute per app per tenant
//
// applying to the audit log root (directoryAudits, signIns, provisioning)
// and the authentication-methods reports (userRegistrationDetails among
// them). Reads of /users that select or filter signInActivity are reads of
// that service too: they count against both limits. The simulated tenant
// is one app in one tenant, so only the per-app-per-tenant limits apply.
//
// Each limit is a sliding window: a request is admitted when fewer than
// the limit's requests were admitted in the window before it; otherwise it
// is answered 429 and not counted (a client that waits Retry-After is then
// admitted). Retry-After is the whole number of seconds until the oldest
// admitted request leaves the window (at least 1), as in the current
// throttling guidance's sample ("Retry-After: 10"; an older revision showed
// a fraction, "2.128", which kiota's retry handler truncates).

// Documented limits.
const (
	reportsPerWindow        = 5
	reportsWindow           = 10 * time.Second
	signInActivityPerWindow = 10
	signInActivityWindow    = time.Minute
)

// ReportLimits turns on the reports service's limits. The zero value
// applies them as Graph documents them, on the wall clock.
type ReportLimits struct {
	// Window is the reports window: 0 means Graph's 10 seconds. The
	// signInActivity window is always six times it (Graph: one minute),
	// so a test can run the documented ratios faster.
	Window time.Duration
	// Now is the limiter's clock; nil means time.Now. It is separate from
	// Options.Clock because a client waits Retry-After in real time.
	Now func() time.Time
}

// window is one sliding-window limit.
type window struct {
	limit int
	span  time.Duration
	at    []time.Time // admission times, oldest first, within span
}

// wait returns how long until the window admits one more request at now,
// dropping admissions that left it: 0 if it admits at once.
func (w *window) wait(now time.Time) time.Duration {
	keep := 0
	for keep < len(w.at) && !w.at[keep].After(now.Add(-w.span)) {
		keep++
	}
	w.at = w.at[keep:]
	if len(w.at) < w.limit {
		return 0
	}
	return w.at[len(w.at)-w.limit].Add(w.span).Sub(now)
}

// reportLimiter applies the two limits.
type reportLimiter struct {
	now func() time.Time

	mu        sync.Mutex
	reports   window
	activity  window
	admitted  int // requests admitted
	refused   int // requests answered 429
	activityN int // admitted requests that read signInActivity
}

func newReportLimiter(o *ReportLimits) *reportLimiter {
	w := o.Window
	if w <= 0 {
		w = reportsWindow
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &reportLimiter{
		now:      now,
		reports:  window{limit: reportsPerWindow, span: w},
		activity: window{limit: signInActivityPerWindow, span: w * (signInActivityWindow / reportsWindow)},
	}
}

// admit decides one request of the reports service; activity marks a read
// of signInActivity. It returns 0 when admitted, else the wait to send
// with the 429.
func (l *reportLimiter) admit(activity bool) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	wait := l.reports.wait(now)
	if activity {
		wait = max(wait, l.activity.wait(now))
	}
	if wait > 0 {
		l.refused++
		return wait
	}
	l.reports.at = append(l.reports.at, now)
	if activity {
		l.activity.at = append(l.activity.at, now)
		l.activityN++
	}
	l.admitted++
	return 0
}

// reportsRequest says whether a request to rt (with raw query rawQuery)
// is one of the reports service, and whether it reads signInActivity.
func reportsRequest(rt *route, rawQuery string) (reports, activity bool) {
	switch rt.source {
	case SourceDirectoryAudits, SourceSignIns, SourceUserRegistrationDetails:
		return true, false
	case SourceUsers:
		if readsSignInActivity(rawQuery) {
			return true, true
		}
	}
	return false, false
}

// readsSignInActivity reports whether a query selects or filters
// signInActivity.
func readsSignInActivity(rawQuery string) bool {
	vals, err := url.ParseQuery(rawQuery)
	if err != nil {
		return false
	}
	for k, vs := range vals {
		if lk := strings.ToLower(k); lk != "$select" && lk != "$filter" {
			continue
		}
		for _, v := range vs {
			if strings.Contains(strings.ToLower(v), "signinactivity") {
				return true
			}
		}
	}
	return false
}

// retryAfterSeconds renders a wait as Graph's Retry-After: whole seconds,
// rounded up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	return strconv.Itoa(max(s, 1))
}

// reportThrottled applies Options.ReportLimits to a request for rt and
// answers 429 when it is over a limit; it reports whether it answered.
func (s *Server) reportThrottled(w http.ResponseWriter, r *http.Request, ri *reqInfo, rt *route) bool {
	if s.limits == nil {
		return false
	}
	reports, activity := reportsRequest(rt, r.URL.RawQuery)
	if !reports {
		return false
	}
	wait := s.limits.admit(activity)
	if wait == 0 {
		return false
	}
	s.throttle(w, ri, retryAfterSeconds(wait))
	return true
}
