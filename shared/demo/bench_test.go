package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/tenantwatch/tenantwatch/shared/demo"
	"github.com/tenantwatch/tenantwatch/shared/funchost"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/store"
)

// Benchmarks of the deployed app end to end: the real handler process
// (this test binary re-executed as `tenantwatch serve`, see TestMain)
// behind funchost, with a private Azurite. The test binary carries the
// test dependencies, so its start-up is a little slower than the release
// binary's.

// neverSchedule is a timer schedule that does not fire during a benchmark
// (midnight on 1 January).
const neverSchedule = "0 0 0 1 1 *"

const (
	// notifyRate is the open-loop request rate of the notification
	// benchmark.
	notifyRate = 200
	// notifyInFlight bounds the requests in flight: at the target p99 of
	// 50 ms, 200/s keeps about 10 in flight.
	notifyInFlight = 64
	// notifyWarmup requests (one second at notifyRate) are sent before the
	// measured ones: the app's clientState cache, the host's connections
	// to the handler and the queue are warm, and ProcessChanges (when on)
	// is already consuming.
	notifyWarmup = notifyRate
	// notifySendFor bounds a run: once it has passed, the remaining
	// requests are not sent (reported as unsent), so an overloaded app
	// cannot stretch the benchmark to minutes. 2000 requests take 10 s at
	// 200/s.
	notifySendFor = 30 * time.Second
	// changesQueue is GraphNotifications' queue output (graph-changes).
	changesQueue = "graph-changes"
)

// BenchmarkGraphNotifications200rps posts Graph change notifications to
// GraphNotifications through the host at 200 requests/s on loopback:
// POST /api/GraphNotifications?code=<key> with a Graph batch of 1 or 10
// items whose subscriptionId and clientState are the app's own (read from
// Table Storage), so every item is validated and queued to Azurite (one
// queue message per item).
//
// One op is one request: run it with -benchtime 2000x (10 s at 200/s);
// ns/op is then the pacing interval (5 ms), not a latency. Requests are
// sent open loop, on a fixed schedule (request i is due at start+i×5 ms;
// the sender never waits for a response, and a late sender catches up
// rather than skipping ticks), with at most 64 in flight. Each latency
// runs from the request's due time to the end of its response, so a late
// sender or a full in-flight bound counts against the result (no
// coordinated omission). Reported: p50-ms, p99-ms and max-ms of those
// latencies, req/s (responses divided by the time from the first due time
// to the last response), errors (answers other than 202, and transport
// errors) and unsent (requests not sent because the run had lasted 30 s
// already: the app could not keep up, the sender was held by the in-flight
// bound).
//
// Every timer but RenewSubscriptions (six-hourly) is set to a schedule
// that does not fire; before it measures, the benchmark runs PollDirectory
// once through the host and waits for it, as the first poll of a new
// installation runs: it subscribes to users and groups, builds the
// baselines and runs the first sweep. consumer=on leaves ProcessChanges
// on: it consumes the queued messages while the benchmark runs (a users
// delta round against the simulated tenant per message, each reading and
// writing Azurite), on the same two cores and the same single Azurite, as
// the queue trigger does in production. consumer=off disables it
// (AzureWebJobs.ProcessChanges.Disabled), measuring the HTTP path alone;
// the run then checks that the queue holds exactly one message per item
// sent.
func BenchmarkGraphNotifications200rps(b *testing.B) {
	for _, items := range []int{1, 10} {
		for _, consumer := range []bool{true, false} {
			b.Run(fmt.Sprintf("items=%d/consumer=%s", items, onOff(consumer)), func(b *testing.B) {
				benchNotifications(b, items, consumer)
			})
		}
	}
}

func onOff(v bool) string {
	if v {
		return "on"
	}
	return "off"
}

func benchNotifications(b *testing.B, items int, consumer bool) {
	settings := map[string]string{}
	if !consumer {
		settings["AzureWebJobs.ProcessChanges.Disabled"] = "true"
	}
	e := startBench(b, settings)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The installation's first poll subscribes (RenewSubscriptions' own
	// schedule is six-hourly).
	firstPoll(ctx, b, e)
	if err := e.WaitSubscriptions(ctx); err != nil {
		b.Fatal(err)
	}
	subs := storedSubscriptions(ctx, b, e)
	users := simIDs(ctx, b, e.SimURL+"/v1.0/users?$select=id&$top=10")
	groups := simIDs(ctx, b, e.SimURL+"/v1.0/groups/delta?$select=id")
	body := notificationBatch(b, items, e.Sim.TenantID(), subs["users"], subs["groups"], users, groups)
	url := e.Host.HTTPURL() + "/api/GraphNotifications?code=" + e.Settings["FUNCTIONS_KEY"]
	queue, err := azqueue.NewServiceClientFromConnectionString(e.Azurite.ConnectionString(), nil)
	if err != nil {
		b.Fatal(err)
	}
	changes := queue.NewQueueClient(changesQueue)

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: notifyInFlight,
		MaxConnsPerHost:     notifyInFlight,
	}}
	defer client.CloseIdleConnections()
	p := &pacer{client: client, url: url, body: body, interval: time.Second / notifyRate, sem: make(chan struct{}, notifyInFlight)}

	// Warm up, and check that the items are queued (not dropped as
	// forged): ProcessChanges runs, or the queue holds them.
	p.start = time.Now()
	for i := range notifyWarmup {
		p.send(i)
	}
	p.wg.Wait()
	if p.errors > 0 {
		b.Fatalf("warm-up: %d of %d requests were not answered 202: %v", p.errors, notifyWarmup, p.firstErr)
	}
	if consumer {
		for e.Host.Stats().Functions["ProcessChanges"].Invocations == 0 {
			select {
			case <-ctx.Done():
				b.Fatal("ProcessChanges never ran: the notifications were not queued (wrong clientState?)")
			case <-time.After(100 * time.Millisecond):
			}
		}
	} else if n := queueLength(ctx, b, changes); n != notifyWarmup*items {
		b.Fatalf("warm-up: %d messages queued, want %d (one per item)", n, notifyWarmup*items)
	}
	before := e.Host.Stats().Functions["ProcessChanges"].Invocations

	p.reset()
	p.start = time.Now()
	sendUntil := p.start.Add(notifySendFor)
	i, unsent := 0, 0
	for b.Loop() {
		if time.Now().After(sendUntil) {
			unsent++
			continue
		}
		p.send(i)
		i++
	}
	p.wg.Wait()
	elapsed := p.last.Sub(p.start)

	lat := p.latencies
	slices.Sort(lat)
	b.ReportMetric(ms(percentile(lat, 0.50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
	b.ReportMetric(ms(percentile(lat, 1)), "max-ms")
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(p.errors), "errors")
	b.ReportMetric(float64(unsent), "unsent")
	st := e.Host.Stats().Functions
	b.Logf("%d requests of %d items (%d bytes) in %s, %d unsent; %d errors (first: %v); ProcessChanges ran %d times meanwhile; host: GraphNotifications %+v",
		len(lat), items, len(body), elapsed.Round(time.Millisecond), unsent, p.errors, p.firstErr,
		st["ProcessChanges"].Invocations-before, st["GraphNotifications"])
	if !consumer {
		if n, want := queueLength(ctx, b, changes), (notifyWarmup+len(lat)-p.errors)*items; n != want {
			b.Errorf("%d messages queued, want %d (one per item answered 202)", n, want)
		}
	}
	if len(lat) < 1000 && unsent == 0 {
		b.Logf("only %d requests: use -benchtime 2000x for a meaningful p99", len(lat))
	}
}

// firstPoll runs PollDirectory once through the host, as the first tick
// of its timer does after an installation, and waits for it to end: it
// subscribes to users and groups, builds the baselines and runs the first
// sweep, none of which should run while the benchmark measures.
func firstPoll(ctx context.Context, b *testing.B, e *demo.Env) {
	b.Helper()
	timer := map[string]any{"timer": map[string]any{"Schedule": map[string]any{"AdjustForDST": true}, "IsPastDue": false}}
	if _, err := e.Host.Invoke(ctx, "PollDirectory", timer, nil); err != nil {
		b.Fatalf("the first PollDirectory: %v", err)
	}
}

// queueLength returns the number of messages in q.
func queueLength(ctx context.Context, b *testing.B, q *azqueue.QueueClient) int {
	b.Helper()
	props, err := q.GetProperties(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	if props.ApproximateMessagesCount == nil {
		b.Fatal("queue properties without a message count")
	}
	return int(*props.ApproximateMessagesCount)
}

// pacer sends POSTs on a fixed open-loop schedule and records latencies
// from each request's due time.
type pacer struct {
	client   *http.Client
	url      string
	body     []byte
	interval time.Duration
	sem      chan struct{}
	start    time.Time
	wg       sync.WaitGroup

	mu        sync.Mutex
	latencies []time.Duration
	errors    int
	firstErr  error
	last      time.Time // end of the last response
}

// send sends request i at its due time (at once when the sender is late)
// without waiting for the answer; it blocks only while the in-flight
// bound is reached.
func (p *pacer) send(i int) {
	due := p.start.Add(time.Duration(i) * p.interval)
	if d := time.Until(due); d > 0 {
		time.Sleep(d)
	}
	p.sem <- struct{}{}
	p.wg.Add(1)
	go func() {
		defer func() { <-p.sem; p.wg.Done() }()
		err := p.post()
		end := time.Now()
		p.mu.Lock()
		defer p.mu.Unlock()
		p.latencies = append(p.latencies, end.Sub(due))
		if end.After(p.last) {
			p.last = end
		}
		if err != nil {
			p.errors++
			if p.firstErr == nil {
				p.firstErr = err
			}
		}
	}()
}

func (p *pacer) post() error {
	resp, err := p.client.Post(p.url, "application/json", bytes.NewReader(p.body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("status %d, want 202", resp.StatusCode)
	}
	return nil
}

func (p *pacer) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latencies, p.errors, p.firstErr, p.last = nil, 0, nil, time.Time{}
}

// percentile returns the q-quantile of sorted (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// startBench starts the demo environment with the handler as a child
// process and every timer but RenewSubscriptions silenced; extra settings
// are added.
func startBench(b *testing.B, extra map[string]string) *demo.Env {
	b.Helper()
	r, err := filepath.Abs("../..")
	if err != nil {
		b.Fatal(err)
	}
	logs := &logBuffer{}
	o := demo.Options{
		Root:    r,
		Command: []string{os.Args[0]},
		Log:     logs,
		DataDir: b.TempDir(),
		Settings: map[string]string{
			serveEnv:                "1",
			"PollDirectorySchedule": neverSchedule,
			"PollSignInsSchedule":   neverSchedule,
			"DailySweepSchedule":    neverSchedule,
			"DeliverAlertsSchedule": neverSchedule,
		},
	}
	maps.Copy(o.Settings, extra)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, err := demo.Start(ctx, o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		e.Close()
		if b.Failed() {
			logs.mu.Lock()
			b.Logf("component logs:\n%s", tail(logs.b.String(), 200))
			logs.mu.Unlock()
		}
	})
	return e
}

// storedSubscriptions waits until the app has stored its users and groups
// subscriptions (with their clientState) and returns them by resource.
func storedSubscriptions(ctx context.Context, b *testing.B, e *demo.Env) map[string]state.Subscription {
	b.Helper()
	st, err := store.NewTablesFromConnectionString(e.Azurite.ConnectionString(), nil)
	if err != nil {
		b.Fatal(err)
	}
	for {
		subs, err := st.Subscriptions(ctx)
		out := make(map[string]state.Subscription)
		for _, s := range subs {
			out[strings.ToLower(strings.TrimPrefix(s.Resource, "/"))] = s
		}
		if err == nil && out["users"].ClientState != "" && out["groups"].ClientState != "" {
			return out
		}
		select {
		case <-ctx.Done():
			b.Fatalf("the subscriptions were not stored: %v (last error: %v)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// simIDs returns the object ids on the first page of a simulated Graph
// collection.
func simIDs(ctx context.Context, b *testing.B, url string) []string {
	b.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: status %d, %v", url, resp.StatusCode, err)
	}
	var ids []string
	for _, v := range page.Value {
		ids = append(ids, v.ID)
	}
	if len(ids) == 0 {
		b.Fatalf("GET %s: no objects", url)
	}
	return ids
}

// notificationBatch is a POST body as Graph sends it: n change
// notifications, alternating between the users and the groups
// subscription (both share the notification URL, so Graph may batch them
// together).
func notificationBatch(b *testing.B, n int, tenantID string, users, groups state.Subscription, userIDs, groupIDs []string) []byte {
	b.Helper()
	type resourceData struct {
		Type           string `json:"@odata.type"`
		ODataID        string `json:"@odata.id"`
		ID             string `json:"id"`
		OrganizationID string `json:"organizationId"`
	}
	type item struct {
		SubscriptionID                 string       `json:"subscriptionId"`
		SubscriptionExpirationDateTime string       `json:"subscriptionExpirationDateTime"`
		ChangeType                     string       `json:"changeType"`
		Resource                       string       `json:"resource"`
		ResourceData                   resourceData `json:"resourceData"`
		ClientState                    string       `json:"clientState"`
		TenantID                       string       `json:"tenantId"`
	}
	var doc struct {
		Value []item `json:"value"`
	}
	for i := range n {
		sub, typ, coll, id := users, "#Microsoft.Graph.User", "Users", userIDs[(i/2)%len(userIDs)]
		if i%2 == 1 {
			sub, typ, coll, id = groups, "#Microsoft.Graph.Group", "Groups", groupIDs[(i/2)%len(groupIDs)]
		}
		res := coll + "/" + id
		doc.Value = append(doc.Value, item{
			SubscriptionID:                 sub.ID,
			SubscriptionExpirationDateTime: sub.ExpirationDateTime.UTC().Format("2006-01-02T15:04:05.0000000Z"),
			ChangeType:                     "updated",
			Resource:                       res,
			ResourceData:                   resourceData{Type: typ, ODataID: res, ID: id, OrganizationID: tenantID},
			ClientState:                    sub.ClientState,
			TenantID:                       tenantID,
		})
	}
	body, err := json.Marshal(doc)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkServeReady starts the real handler process through funchost
// and measures how long it takes from process start to its first answer
// to the host's GET / (Host.ReadyAfter). One op is one start: Load, New,
// Start, ReadyAfter, Close; run it with -benchtime 30x or more.
//
// funchost probes GET / every 50 ms after a refused connection, so
// ReadyAfter is quantised by that interval; listen-ms is therefore
// reported too: the time from Start until the handler logs that it is
// listening (its log line arrives through the stderr pipe), which is not
// quantised. The app is a small one (the repository's host.json and its
// four timer functions without storage bindings, on schedules that do not
// fire), so no invocation runs and no storage is touched: the handler
// builds its app lazily, on the first invocation.
func BenchmarkServeReady(b *testing.B) {
	root := readyApp(b)
	settings := map[string]string{
		serveEnv:                 "1",
		"AzureWebJobsStorage":    "UseDevelopmentStorage=true",
		"TENANTWATCH_GRAPH_AUTH": "none",
		"PollDirectorySchedule":  neverSchedule,
		"PollSignInsSchedule":    neverSchedule,
		"DailySweepSchedule":     neverSchedule,
		"DeliverAlertsSchedule":  neverSchedule,
	}
	app, err := funchost.Load(root)
	if err != nil {
		b.Fatal(err)
	}
	var ready, listen []time.Duration
	for b.Loop() {
		w := &lineWatch{match: []byte("handler listening"), seen: make(chan time.Time, 1)}
		h, err := funchost.New(app, &funchost.Options{
			Settings: settings,
			HTTPAddr: "127.0.0.1:0",
			Command:  []string{os.Args[0]},
			Stderr:   w,
		})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		start := time.Now()
		err = h.Start(ctx)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		ready = append(ready, h.ReadyAfter())
		select {
		case at := <-w.seen:
			listen = append(listen, at.Sub(start))
		case <-time.After(5 * time.Second):
			b.Fatal("the handler answered but never logged \"handler listening\"")
		}
		if err := h.Close(); err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(ready)
	slices.Sort(listen)
	b.ReportMetric(ms(percentile(ready, 0.50)), "ready-p50-ms")
	b.ReportMetric(ms(percentile(ready, 1)), "ready-max-ms")
	b.ReportMetric(ms(percentile(listen, 0.50)), "listen-p50-ms")
	b.ReportMetric(ms(percentile(listen, 1)), "listen-max-ms")
	if len(ready) < 10 {
		b.Logf("only %d starts: use -benchtime 30x for a meaningful p50", len(ready))
	}
}

// readyApp writes a function app for BenchmarkServeReady: the
// repository's host.json and timer functions (those without storage
// bindings, and without runOnStartup).
func readyApp(b *testing.B) string {
	b.Helper()
	src, err := filepath.Abs("../..")
	if err != nil {
		b.Fatal(err)
	}
	dst := b.TempDir()
	copyFile := func(rel string) {
		raw, err := os.ReadFile(filepath.Join(src, rel))
		if err != nil {
			b.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, rel), raw, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	copyFile("host.json")
	for _, f := range []string{"PollDirectory", "PollSignIns", "DailySweep", "DeliverAlerts"} {
		copyFile(filepath.Join("functions", f, "function.json"))
	}
	return dst
}

// lineWatch is a writer that reports when a line containing match was
// first written.
type lineWatch struct {
	match []byte
	seen  chan time.Time
	mu    sync.Mutex
	buf   []byte
	done  bool
}

func (w *lineWatch) Write(p []byte) (int, error) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	if bytes.Contains(w.buf, w.match) {
		w.done = true
		w.seen <- now
		w.buf = nil
	}
	return len(p), nil
}
