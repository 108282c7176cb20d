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
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/azureip"
	"github.com/tenantwatch/tenantwatch/shared/cli"
	"github.com/tenantwatch/tenantwatch/shared/graph"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/pipeline"
)

// simEnv, when set, makes the test binary run `tenantwatch <args>` instead
// of the tests: the benchmark starts the simulated tenant in a process of
// its own so that the heap it measures is the scanner's alone.
const simEnv = "TENANTWATCH_TEST_RUN"

func TestMain(m *testing.M) {
	if args := os.Getenv(simEnv); args != "" {
		os.Exit(cli.Run(context.Background(), strings.Fields(args), &cli.Env{Stdout: os.Stdout, Stderr: os.Stderr}))
	}
	os.Exit(m.Run())
}

// maxPage is the largest page each route serves, from Microsoft's
// documentation (userRegistrationDetails takes no $top: its page size is
// the server's, 1,000 in the simulator). The organization, SKUs and
// Conditional Access collections are small and unpaged in practice: one
// request each.
var maxPage = map[string]int{
	"/organization":   math.MaxInt32,
	"/subscribedSkus": math.MaxInt32,
	"/users":          500, // with signInActivity selected
	"/reports/authenticationMethods/userRegistrationDetails": 1000,
	"/servicePrincipals":                         999,
	"/applications":                              999,
	"/servicePrincipals/{id}/appRoleAssignedTo":  999,
	"/auditLogs/directoryAudits":                 1000,
	"/auditLogs/signIns":                         1000,
	"/identity/conditionalAccess/policies":       math.MaxInt32,
	"/identity/conditionalAccess/namedLocations": math.MaxInt32,
}

// lowerBound is the fewest requests that can read what the simulator
// served: every collection in pages of the maximum size (one request for an
// empty or single-object one; two collections of app-role grants).
func lowerBound(items map[string]int) int {
	n := 0
	for route, size := range maxPage {
		calls := 1
		if route == "/servicePrincipals/{id}/appRoleAssignedTo" {
			calls = 2
		}
		pages := int(math.Ceil(float64(items[route]) / float64(size)))
		n += max(calls, pages)
	}
	return n
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

type scanMeasure struct {
	requests, lowerBound int
	peakHeap             uint64
	findings             int
}

// measureScan scans the tenant at root once, counting requests and sampling
// the heap, and reads the simulator's counters to compute the lower bound.
func measureScan(tb testing.TB, root string) scanMeasure {
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
	res, err := pipeline.Scan(context.Background(), client, &pipeline.ScanOptions{Azure: ranges})
	peak := stop()
	if err != nil {
		tb.Fatal(err)
	}
	after := simStats(tb, root)
	items := map[string]int{}
	for r, n := range after.Items {
		items[r] = n - before.Items[r]
	}
	return scanMeasure{requests: int(ct.n.Load()), lowerBound: lowerBound(items), peakHeap: peak, findings: len(res.Findings)}
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

// startSimProcess runs `tenantwatch sim` in a child process.
func startSimProcess(tb testing.TB, users int) string {
	tb.Helper()
	urlFile := filepath.Join(tb.TempDir(), "url")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=sim --addr 127.0.0.1:0 --url-file %s --users %d", simEnv, urlFile, users))
	cmd.Stderr = os.Stderr
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

// TestScanRequestsNearLowerBound keeps the request budget honest in every
// test run: a scan of a 20,000-user tenant issues at most 1.1 times the
// requests that pages of the maximum size need — no per-object calls.
func TestScanRequestsNearLowerBound(t *testing.T) {
	url, _ := startSim(t, &graphsim.Options{Users: 20000})
	m := measureScan(t, url)
	if float64(m.requests) > 1.1*float64(m.lowerBound) {
		t.Errorf("%d requests for a lower bound of %d (ratio %.2f > 1.1)", m.requests, m.lowerBound, float64(m.requests)/float64(m.lowerBound))
	}
	t.Logf("%d requests, lower bound %d", m.requests, m.lowerBound)
}

// BenchmarkScan100kUsers scans a simulated tenant of 100,000 synthetic
// users plus the APT29 cast, served from another process, and reports the
// requests issued against the lower bound and the scanner's peak live heap.
// Run: go test -run '^$' -bench Scan100k -benchtime 3x ./shared/cli/
func BenchmarkScan100kUsers(b *testing.B) {
	root := startSimProcess(b, 100000)
	var last scanMeasure
	var peak uint64
	for b.Loop() {
		last = measureScan(b, root)
		peak = max(peak, last.peakHeap)
	}
	b.ReportMetric(float64(last.requests), "requests/op")
	b.ReportMetric(float64(last.lowerBound), "lowerbound/op")
	b.ReportMetric(float64(last.requests)/float64(last.lowerBound), "ratio")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	if float64(last.requests) > 1.1*float64(last.lowerBound) {
		b.Errorf("%d requests for a lower bound of %d: over 1.1x", last.requests, last.lowerBound)
	}
}
