package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/azureip"
	"github.com/tenantwatch/tenantwatch/shared/cli"
	"github.com/tenantwatch/tenantwatch/shared/graph"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/pipeline"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// simEnv, when set, makes the test binary run `tenantwatch <args>` instead
// of the tests: the benchmark starts the simulated tenant (and a scan) in
// processes of their own, so that what it measures is the scanner's alone.
const simEnv = "TENANTWATCH_TEST_RUN"

func TestMain(m *testing.M) {
	if args := os.Getenv(simEnv); args != "" {
		os.Exit(cli.Run(context.Background(), strings.Fields(args), &cli.Env{Stdout: os.Stdout, Stderr: os.Stderr}))
	}
	os.Exit(m.Run())
}

// maxPage is the largest page each route serves, from Microsoft's
// documentation (graphsim's README cites it): /users at 999 without
// signInActivity, userRegistrationDetails at the 999 Graph takes although
// its page documents no $top. The organization, SKUs and Conditional
// Access collections are small and unpaged in practice: one request each.
// Reads of signInActivity are bounded apart (activityBound).
var maxPage = map[string]int{
	"/organization":   math.MaxInt32,
	"/subscribedSkus": math.MaxInt32,
	"/users":          999,
	"/reports/authenticationMethods/userRegistrationDetails": 999,
	"/servicePrincipals":                         999,
	"/applications":                              999,
	"/servicePrincipals/{id}/appRoleAssignedTo":  999,
	"/auditLogs/directoryAudits":                 1000,
	"/auditLogs/signIns":                         1000,
	"/identity/conditionalAccess/policies":       math.MaxInt32,
	"/identity/conditionalAccess/namedLocations": math.MaxInt32,
	// The reads of issue 12. The sign-in log is read once, from beta by
	// default (its items are counted under /auditLogs/signIns: see
	// lowerBound). List domains and List oauth2PermissionGrants document
	// no $top: Graph's default page (100) is their maximum here.
	"/devices":                      999,
	"/domains":                      100,
	"/oauth2PermissionGrants":       100,
	"/policies/authorizationPolicy": math.MaxInt32,
}

// perObject are the reads made once per object of a kind, and the objects
// the scan must read them for (perObjectNeeded): the federation
// configuration of each federated domain, the members of each group an
// enabled Conditional Access policy names, the federated credentials of
// each mail-capable application. Each is one page at most here.
var perObject = []string{"/domains/{id}/federationConfiguration", "/groups/{id}/transitiveMembers/microsoft.graph.user",
	"/applications/{id}/federatedIdentityCredentials"}

// reportRoutes are the identity and access reports service's routes the
// scan reads (signInActivity reads of /users count too).
var reportRoutes = []string{"/reports/authenticationMethods/userRegistrationDetails", "/auditLogs/directoryAudits", "/auditLogs/signIns"}

func pagesOf(items, size int) int { return int(math.Ceil(float64(items) / float64(size))) }

// activityBound is the fewest requests that read the signInActivity of
// needed users out of users: 15 ids a request, or every user at 500 a
// page, whichever is fewer; one request when none is needed (it still
// tells whether signInActivity can be read).
func activityBound(needed, users int) int {
	if needed == 0 {
		return 1
	}
	return min(pagesOf(needed, 15), max(1, pagesOf(users, 500)))
}

// bound is what a scan served and the fewest requests that could read it.
type bound struct {
	items      map[string]int // served per route; "/users" without the signInActivity reads
	needed     int            // users whose signInActivity a rule reads
	users      int
	total      int // the lower bound of requests
	reports    int // of which to the reports service
	activities int // of which signInActivity reads
}

// lowerBound is the fewest requests that can read what the simulator
// served: every collection in pages of the maximum size (one request for an
// empty or single-object one; two collections of app-role grants), and
// signInActivity for the needed users by the cheaper read.
func lowerBound(items map[string]int, activityItems, needed int, objects map[string]int) bound {
	b := bound{items: map[string]int{}, needed: needed}
	for route, n := range items {
		b.items[route] = n
	}
	// One sign-in log, whichever endpoint served it.
	b.items["/auditLogs/signIns"] += b.items["/beta/auditLogs/signIns"]
	delete(b.items, "/beta/auditLogs/signIns")
	for _, route := range perObject {
		b.total += objects[route]
	}
	b.items["/users"] -= activityItems
	b.users = b.items["/users"]
	for route, size := range maxPage {
		calls := 1
		if route == "/servicePrincipals/{id}/appRoleAssignedTo" {
			calls = 2
		}
		b.total += max(calls, pagesOf(b.items[route], size))
	}
	b.activities = activityBound(needed, b.users)
	b.total += b.activities
	b.reports = b.activities
	for _, r := range reportRoutes {
		b.reports += max(1, pagesOf(b.items[r], maxPage[r]))
	}
	return b
}

// reportFloor is the least time the reports service's documented limits
// allow for reports requests, activities of them reading signInActivity:
// five every ten seconds, ten signInActivity reads a minute, the first of
// each at once.
func reportFloor(reports, activities int) time.Duration {
	r := time.Duration(max(0, pagesOf(reports, 5)-1)) * 10 * time.Second
	a := time.Duration(max(0, pagesOf(activities, 10)-1)) * time.Minute
	return max(r, a)
}

// perObjectNeeded counts, for each perObject read, the objects the scan
// must read it for, from the snapshot and the definitions: federated
// domains; groups enabled policies include or exclude; applications whose
// service principal holds a mail application role on Graph or Exchange
// Online or a delegated grant with a mail scope.
func perObjectNeeded(s *tenant.Snapshot) map[string]int {
	out := map[string]int{}
	for _, d := range s.Domains {
		if strings.EqualFold(d.AuthenticationType, "Federated") {
			out[perObject[0]]++
		}
	}
	groups := map[string]bool{}
	for _, p := range s.Policies {
		if p.State == "enabled" {
			for _, g := range append(slices.Clone(p.IncludeGroups), p.ExcludeGroups...) {
				groups[strings.ToLower(g)] = true
			}
		}
	}
	out[perObject[1]] = len(groups)
	mailRole := map[string]bool{}
	for _, ids := range tenant.MailRoleIDs {
		for _, id := range ids {
			mailRole[id] = true
		}
	}
	for _, sp := range s.ServicePrincipals {
		for _, r := range sp.AppRoles {
			if tenant.IsMailResource(sp.AppID) && tenant.IsMailRole(r.Value) {
				mailRole[strings.ToLower(r.ID)] = true
			}
		}
	}
	holders := map[string]bool{}
	for _, g := range s.ResourceGrants {
		if mailRole[strings.ToLower(g.AppRoleID)] {
			holders[strings.ToLower(g.PrincipalID)] = true
		}
	}
	for _, g := range s.DelegatedGrants {
		holders[strings.ToLower(g.ClientID)] = true
	}
	apps := map[string]bool{}
	for _, sp := range s.ServicePrincipals {
		if holders[strings.ToLower(sp.ID)] {
			apps[strings.ToLower(sp.AppID)] = true
		}
	}
	for _, a := range s.Applications {
		if apps[strings.ToLower(a.AppID)] {
			out[perObject[2]]++
		}
	}
	return out
}

// activityNeeded counts the users whose signInActivity a rule reads, from
// the rules' own definitions: enabled or not, every user whose registration
// row says MFA is not registered (mfa.dormant-unregistered,
// mfa.not-registered), and the users that successful "User registered
// security info" and "User registered all required security info" events
// in the window register (mfa.dormant-registration).
func activityNeeded(s *tenant.Snapshot) int {
	need := map[string]bool{}
	byUPN := map[string]string{}
	for _, u := range s.Users {
		byUPN[strings.ToLower(u.UPN)] = strings.ToLower(u.ID)
	}
	for _, r := range s.Registrations {
		if r.IsMfaRegistered {
			continue
		}
		need[strings.ToLower(r.UserID)] = true
		if id, ok := byUPN[strings.ToLower(r.UPN)]; ok && r.UPN != "" {
			need[id] = true
		}
	}
	for _, e := range s.Audits {
		if !e.Succeeded() || e.Time.Before(s.Since) ||
			(e.Activity != "User registered security info" && e.Activity != "User registered all required security info") {
			continue
		}
		id := e.Initiator.UserID
		for _, t := range e.Targets {
			if strings.EqualFold(t.Type, "User") && t.ID != "" {
				id = t.ID
				break
			}
		}
		if id != "" {
			need[strings.ToLower(id)] = true
		}
	}
	return len(need)
}

type countingTransport struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// heapPeak samples the live heap until stop is called and returns the peak.
func heapPeak() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak }
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type scanMeasure struct {
	requests int
	bound    bound
	stats    graphsim.Stats // what the scan made the simulator do
	peakHeap uint64
	cpu      time.Duration // the scanner's (the simulator runs elsewhere)
	wall     time.Duration
	result   *pipeline.ScanResult
}

// measureScan scans the tenant at root once, counting requests, sampling
// the heap and the CPU time, and reads the simulator's counters to compute
// the lower bound.
func measureScan(tb testing.TB, root string, now time.Time) scanMeasure {
	tb.Helper()
	ranges, err := azureip.Load(serviceTags)
	if err != nil {
		tb.Fatal(err)
	}
	before := simStats(tb, root)
	ct := &countingTransport{next: http.DefaultTransport.(*http.Transport).Clone()}
	client, err := graph.NewClient(root, graph.AuthNone, &graph.ClientOptions{Transport: ct})
	if err != nil {
		tb.Fatal(err)
	}
	runtime.GC()
	stop := heapPeak()
	cpu, start := cpuTime(), time.Now()
	res, err := pipeline.Scan(context.Background(), client, &pipeline.ScanOptions{Azure: ranges, Now: func() time.Time { return now }})
	wall, cpu := time.Since(start), cpuTime()-cpu
	peak := stop()
	if err != nil {
		tb.Fatal(err)
	}
	st := diffStats(before, simStats(tb, root))
	return scanMeasure{requests: int(ct.n.Load()), bound: lowerBound(st.Items, st.SignInActivityItems, activityNeeded(res.Snapshot), perObjectNeeded(res.Snapshot)),
		stats: st, peakHeap: peak, cpu: cpu, wall: wall, result: res}
}

// diffStats is what happened between two readings of the counters.
func diffStats(a, b graphsim.Stats) graphsim.Stats {
	d := graphsim.Stats{Total: b.Total - a.Total, Throttled: b.Throttled - a.Throttled,
		SignInActivity: b.SignInActivity - a.SignInActivity, SignInActivityItems: b.SignInActivityItems - a.SignInActivityItems,
		Requests: map[string]int{}, Items: map[string]int{}}
	for r, n := range b.Requests {
		d.Requests[r] = n - a.Requests[r]
	}
	for r, n := range b.Items {
		d.Items[r] = n - a.Items[r]
	}
	return d
}

func simStats(tb testing.TB, root string) graphsim.Stats {
	tb.Helper()
	resp, err := http.Get(root + graphsim.StatsPath)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var st graphsim.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		tb.Fatal(err)
	}
	return st
}

// child starts this test binary as `tenantwatch <args>`.
func child(args string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), simEnv+"="+args)
	cmd.Stderr = os.Stderr
	return cmd
}

// startSimProcess runs `tenantwatch sim` in a child process, anchored at
// now.
func startSimProcess(tb testing.TB, users int, extra string) string {
	tb.Helper()
	urlFile := filepath.Join(tb.TempDir(), "url")
	cmd := child(fmt.Sprintf("sim --addr 127.0.0.1:0 --url-file %s --users %d %s", urlFile, users, extra))
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for range 200 {
		if b, err := os.ReadFile(urlFile); err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b))
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatal("the simulated tenant did not start")
	return ""
}

// scanProcess runs `tenantwatch scan` against root in a child process and
// returns its maximum resident set and CPU time.
func scanProcess(tb testing.TB, root string) (maxRSS uint64, cpu time.Duration) {
	tb.Helper()
	cmd := child(fmt.Sprintf("scan --graph-url %s --auth none --azure-ip-ranges %s --out %s --progress never", root, serviceTags, tb.TempDir()))
	cmd.Stdout = nil
	if err := cmd.Run(); err != nil {
		tb.Fatalf("tenantwatch scan: %v", err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		tb.Fatal("no resource usage for the scan process")
	}
	return uint64(ru.Maxrss) << 10, time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestScanRequestsNearLowerBound keeps the request budget honest in every
// test run: a scan of a 20,000-user tenant issues at most 1.1 times the
// requests that pages of the maximum size need — no per-object calls, the
// registration report at 999 a page, /users at 999 without signInActivity
// — and reads signInActivity with the fewest requests for the users the
// rules need it for.
func TestScanRequestsNearLowerBound(t *testing.T) {
	t.Parallel()
	url, _ := startSim(t, &graphsim.Options{Users: 20000})
	m := measureScan(t, url, time.Now())
	b := m.bound
	if float64(m.requests) > 1.1*float64(b.total) {
		t.Errorf("%d requests for a lower bound of %d (ratio %.2f > 1.1): %v", m.requests, b.total, float64(m.requests)/float64(b.total), m.stats.Requests)
	}
	if b.needed == 0 || b.needed > 100 {
		t.Fatalf("%d users need signInActivity; the scenario should give a few", b.needed)
	}
	if m.stats.SignInActivity != b.activities {
		t.Errorf("%d requests read signInActivity (%d users) for %d users; want %d", m.stats.SignInActivity, m.stats.SignInActivityItems, b.needed, b.activities)
	}
	for _, route := range []string{"/users", "/reports/authenticationMethods/userRegistrationDetails"} {
		want := pagesOf(b.items[route], 999)
		if route == "/users" {
			want += b.activities
		}
		if got := m.stats.Requests[route]; got != want {
			t.Errorf("%s: %d requests, want %d (%d items, 999 a page)", route, got, want, b.items[route])
		}
	}
	t.Logf("%d requests, lower bound %d; signInActivity for %d users in %d requests", m.requests, b.total, b.needed, m.stats.SignInActivity)
}

// reportLimitsWindow shortens the reports service's windows in the test
// (five requests a second, ten signInActivity reads in six seconds), so
// that a scan that waits out every 429 finishes in seconds.
const reportLimitsWindow = time.Second

// holdClock is the report limiter's clock in the test: it stands still for
// its first hold readings (one per report request), then runs with the
// wall clock from there. The sixth report request is then refused whatever
// the machine's speed, so the test always exercises a 429.
type holdClock struct {
	mu    sync.Mutex
	hold  int
	at    time.Time
	since time.Time
}

func (c *holdClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hold > 0 {
		c.hold--
		if c.hold == 0 {
			c.since = time.Now()
		}
		return c.at
	}
	return c.at.Add(time.Since(c.since))
}

// TestScanUnderReportLimits: behind the reports service's limits a scan
// of a 22,000-user tenant is throttled, waits Graph's Retry-After, and
// finishes with the findings and skipped rules of an unthrottled scan of
// the same tenant, in no more report requests than the lower bound
// (throttled answers aside). Its time is BenchmarkScan22kReportLimits'.
func TestScanUnderReportLimits(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	o := graphsim.Options{Users: 22000, Now: now, Seed: 3}
	free, _ := startSim(t, &o)
	o.ReportLimits = &graphsim.ReportLimits{Window: reportLimitsWindow, Now: (&holdClock{hold: 6, at: now}).Now}
	limited, _ := startSim(t, &o)

	want := measureScan(t, free, now)
	got := measureScan(t, limited, now)
	if got.stats.Throttled == 0 {
		t.Fatal("no request was throttled: the report limits were not exercised")
	}
	if diff := cmp.Diff(want.result.Findings, got.result.Findings); diff != "" {
		t.Errorf("findings behind the report limits differ (-unthrottled +throttled):\n%s", diff)
	}
	var graphSkips []tenant.Skipped // the Exchange source is not configured here
	for _, x := range got.result.Skipped {
		if !exchangeNotConfigured(x.Reason) {
			graphSkips = append(graphSkips, x)
		}
	}
	if diff := cmp.Diff(want.result.Skipped, got.result.Skipped); diff != "" || len(graphSkips) != 0 {
		t.Errorf("skipped rules %+v; want none, as without limits (-unthrottled +throttled):\n%s", got.result.Skipped, diff)
	}
	delete(got.result.Snapshot.Unavailable, tenant.SourceExchangeAudit)
	if len(got.result.Snapshot.Unavailable) != 0 {
		t.Errorf("sources unavailable behind the report limits: %v", got.result.Snapshot.Unavailable)
	}
	// Every 429 here is the report limits' (no other throttling is on).
	admitted := got.stats.SignInActivity - got.stats.Throttled
	for _, r := range reportRoutes {
		admitted += got.stats.Requests[r]
	}
	if admitted > got.bound.reports {
		t.Errorf("%d report requests answered (besides %d 429s) for a lower bound of %d", admitted, got.stats.Throttled, got.bound.reports)
	}
	t.Logf("%d report requests (bound %d), %d answered 429; %s (floor at the scaled limits %s)",
		admitted, got.bound.reports, got.stats.Throttled, got.wall.Round(time.Millisecond),
		time.Duration(float64(reportFloor(got.bound.reports, got.bound.activities))*float64(reportLimitsWindow)/float64(10*time.Second)))
}

// BenchmarkScan100kUsers scans a simulated tenant of 100,000 synthetic
// users plus the APT29 cast, served from another process, and reports the
// requests issued against the lower bound, the scanner's peak live heap
// and CPU time per user, and — from one more scan run as a process of its
// own — the maximum resident set of `tenantwatch scan`.
// Run: go test -run '^$' -bench Scan100k -benchtime 3x ./shared/cli/
func BenchmarkScan100kUsers(b *testing.B) {
	const users = 100000
	root := startSimProcess(b, users, "")
	now := time.Now()
	var last scanMeasure
	var peak uint64
	var cpu time.Duration
	for b.Loop() {
		last = measureScan(b, root, now)
		peak = max(peak, last.peakHeap)
		cpu += last.cpu
	}
	rss, childCPU := scanProcess(b, root)
	b.ReportMetric(float64(last.requests), "requests/op")
	b.ReportMetric(float64(last.bound.total), "lowerbound/op")
	b.ReportMetric(float64(last.requests)/float64(last.bound.total), "ratio")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N)/float64(users), "cpu-µs/user")
	b.ReportMetric(float64(rss)/(1<<20), "scan-rss-MB")
	b.ReportMetric(childCPU.Seconds(), "scan-process-cpu-s")
	b.Logf("requests by route: %v; signInActivity: %d requests for %d users", last.stats.Requests, last.stats.SignInActivity, last.bound.needed)
	if float64(last.requests) > 1.1*float64(last.bound.total) {
		b.Errorf("%d requests for a lower bound of %d: over 1.1x", last.requests, last.bound.total)
	}
}

// BenchmarkScan22kReportLimits scans a 22,000-user tenant through the
// reports service's documented limits (5 requests per 10 s, 10
// signInActivity reads per minute, counting against both), served from
// another process, and reports the scan's time against the floor those
// limits set for the fewest report requests (pages at their maximum size).
// One op takes about a minute.
// Run: go test -run '^$' -bench Scan22kReportLimits -benchtime 1x ./shared/cli/
func BenchmarkScan22kReportLimits(b *testing.B) {
	root := startSimProcess(b, 22000, "--report-limits")
	now := time.Now()
	var last scanMeasure
	for b.Loop() {
		last = measureScan(b, root, now)
	}
	floor := reportFloor(last.bound.reports, last.bound.activities)
	b.ReportMetric(last.wall.Seconds(), "scan-s")
	b.ReportMetric(floor.Seconds(), "floor-s")
	b.ReportMetric(last.wall.Seconds()/floor.Seconds(), "scan/floor")
	b.ReportMetric(float64(last.stats.Throttled), "429s")
	if limit := floor*5/4 + 10*time.Second; last.wall > limit {
		b.Logf("the scan took %s, over 1.25 x the floor + 10 s (%s)", last.wall.Round(time.Second), limit)
	}
	b.Logf("%d report requests at best (%d signInActivity), %d requests in all, %d answered 429; skipped %v",
		last.bound.reports, last.bound.activities, last.requests, last.stats.Throttled, last.result.Skipped)
	if len(last.result.Skipped) != 0 {
		b.Errorf("rules skipped behind the report limits: %+v", last.result.Skipped)
	}
}
