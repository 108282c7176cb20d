package watch_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/blobstore"
	"github.com/tenantwatch/tenantwatch/shared/collect"
	"github.com/tenantwatch/tenantwatch/shared/config"
	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/graph"
	"github.com/tenantwatch/tenantwatch/shared/graph/webhook"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
	"github.com/tenantwatch/tenantwatch/shared/notify"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/store"
	"github.com/tenantwatch/tenantwatch/shared/watch"
)

// t0 is where every test's clock starts, and the simulated tenant's
// scenario anchor.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// Cursor names as the app stores them (shared/watch/app.go).
const (
	cursorUsers   = "delta-users"
	cursorSPs     = "delta-servicePrincipals"
	cursorApps    = "delta-applications"
	cursorAudits  = "audits"
	cursorSweep   = "sweep"
	cursorSignIns = "signins"
)

// clock is the tests' settable clock, shared by the app, the store and the
// simulated tenant.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// lockedBuffer collects the components' logs; they are printed when a test
// fails.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// receiver stands in for the Teams Workflows webhook: it accepts every
// message and keeps the bodies.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got [][]byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil || req.Method != http.MethodPost {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, body)
		r.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) URL() string {
	return r.srv.URL + "/workflows/test/triggers/manual/paths/invoke?sig=test-signature"
}

// Messages returns the bodies accepted so far.
func (r *receiver) Messages() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// endpoint stands in for the GraphNotifications and GraphLifecycle
// functions: it answers the validation handshake and records what Graph
// posts, by path.
type endpoint struct {
	srv         *httptest.Server
	mu          sync.Mutex
	got         map[string][][]byte
	validations []string // "path code token" of each validation request
}

// Validations returns the validation requests seen so far.
func (e *endpoint) Validations() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.validations)
}

func newEndpoint(t *testing.T) *endpoint {
	e := &endpoint{got: make(map[string][][]byte)}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok, ok := webhook.ValidationToken(r.URL.RawQuery); ok {
			e.mu.Lock()
			e.validations = append(e.validations, r.URL.Path+" "+r.URL.Query().Get("code")+" "+tok)
			e.mu.Unlock()
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, tok)
			return
		}
		body, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.got[r.URL.Path] = append(e.got[r.URL.Path], body)
		e.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

const (
	notificationPath = "/api/GraphNotifications"
	lifecyclePath    = "/api/GraphLifecycle"
)

// Posted returns the bodies posted to path.
func (e *endpoint) Posted(path string) [][]byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.got[path])
}

// envOptions configure newEnv.
type envOptions struct {
	Sim        graphsim.Options  // Clock and AllowHTTPNotificationURL are set by newEnv
	Settings   map[string]string // app settings added to (or replacing) the test's
	NoWebhooks bool              // no TENANTWATCH_NOTIFICATION_URL: PollDirectory polls users
	NoTeams    bool              // no TENANTWATCH_TEAMS_WEBHOOK_URL: alerts wait in the outbox
	// Graph, when set, wraps the simulated tenant's handler (a Graph that
	// misbehaves at times).
	Graph func(http.Handler) http.Handler
	// Exchange, when set, is the app's Management Activity API path.
	Exchange *watch.Exchange
	// Detectors, when set, replace the rules (detect.All()).
	Detectors []detect.Detector
	// Tenant, when set, wraps the app's reader (collect.Rounds).
	Tenant func(watch.TenantReader) watch.TenantReader
	// Incidents, when set, wraps the incident store (a store that fails
	// at times).
	Incidents func(watch.IncidentStore) watch.IncidentStore
}

// env is one app under test: the simulated tenant served over HTTP, the
// real Graph client, Table and Blob Storage on the package's Azurite (own
// prefix and container), the Teams receiver and the notification
// endpoint, all on one settable clock.
type env struct {
	t         *testing.T
	clk       *clock
	sim       *graphsim.Server
	gc        *graph.Client
	st        *store.Tables
	rep       *blobstore.Container
	teams     *receiver
	endpoint  *endpoint
	cfg       config.Config
	app       *watch.App
	exchange  *watch.Exchange
	detectors []detect.Detector
	tenant    func(watch.TenantReader) watch.TenantReader
	sentinel  watch.LogSink // the Log Analytics sink newApp wires, if set
	logs      *lockedBuffer
	wrapInc   func(watch.IncidentStore) watch.IncidentStore
}

// unique returns a name no other test uses: letters and digits, lower
// case, starting with a letter.
func unique(t *testing.T, first string) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return first + hex.EncodeToString(b[:])
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	ctx := t.Context()
	e := &env{t: t, clk: &clock{t: t0}, logs: &lockedBuffer{}, exchange: o.Exchange, detectors: o.Detectors, tenant: o.Tenant, wrapInc: o.Incidents}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", tail(e.logs.String(), 150))
		}
	})

	simOpts := o.Sim
	if simOpts.Scenario == nil {
		simOpts.Scenario = apt29.Scenario()
	}
	simOpts.Clock = e.clk.Now
	simOpts.AllowHTTPNotificationURL = true
	simOpts.Logger = log.With("component", "graphsim")
	sim, err := graphsim.New(&simOpts)
	if err != nil {
		t.Fatal(err)
	}
	e.sim = sim
	var graphHandler http.Handler = sim.Handler()
	if o.Graph != nil {
		graphHandler = o.Graph(graphHandler)
	}
	simSrv := httptest.NewServer(graphHandler)
	t.Cleanup(simSrv.Close)
	e.teams = newReceiver(t)
	e.endpoint = newEndpoint(t)

	settings := map[string]string{
		"AzureWebJobsStorage":             azurite.ConnectionString(),
		"TENANTWATCH_GRAPH_URL":           simSrv.URL + "/graph",
		"TENANTWATCH_GRAPH_AUTH":          "none",
		"TENANTWATCH_ALLOW_HTTP_LOOPBACK": "true",
		"TENANTWATCH_TEAMS_WEBHOOK_URL":   e.teams.URL(),
		"TENANTWATCH_NOTIFICATION_URL":    e.endpoint.srv.URL + notificationPath + "?code=test-function-key",
		"TENANTWATCH_LIFECYCLE_URL":       e.endpoint.srv.URL + lifecyclePath + "?code=test-function-key",
		"TENANTWATCH_TABLE_PREFIX":        unique(t, "w"),
		"TENANTWATCH_REPORT_CONTAINER":    unique(t, "r"),
	}
	if o.NoWebhooks {
		delete(settings, "TENANTWATCH_NOTIFICATION_URL")
		delete(settings, "TENANTWATCH_LIFECYCLE_URL")
	}
	if o.NoTeams {
		delete(settings, "TENANTWATCH_TEAMS_WEBHOOK_URL")
	}
	for k, v := range o.Settings {
		settings[k] = v
	}
	cfg, err := config.Load(func(k string) string { return settings[k] })
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = cfg

	// Wired as shared/app wires production, with the test clock.
	if e.gc, err = graph.NewClient(cfg.GraphURL, graph.AuthNone, &graph.ClientOptions{Logger: log.With("component", "graph"),
		DisableBeta: !cfg.Beta}); err != nil {
		t.Fatal(err)
	}
	e.st, err = store.NewTablesFromConnectionString(cfg.Storage.ConnectionString, &store.TablesOptions{
		Prefix: cfg.TablePrefix, Now: e.clk.Now, RetryDelay: 50 * time.Millisecond, Logger: log.With("component", "store"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if e.rep, err = blobstore.NewContainerFromConnectionString(cfg.Storage.ConnectionString, cfg.ReportContainer, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.rep.Init(ctx); err != nil {
		t.Fatal(err)
	}
	e.app = e.newApp(cfg)
	return e
}

// newApp wires an app as shared/app wires production, with the test
// clock, on e's Graph client and storage.
func (e *env) newApp(cfg config.Config) *watch.App {
	t := e.t
	t.Helper()
	e.cfg = cfg
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var (
		sender *notify.Sender
		err    error
	)
	if cfg.TeamsWebhookURL != "" {
		if sender, err = notify.NewSender(cfg.TeamsWebhookURL, &notify.SenderOptions{AllowHTTPLoopback: true}); err != nil {
			t.Fatal(err)
		}
	}
	tags := filepath.Join("..", "azureip", "testdata", "servicetags-sample.json")
	var reader watch.TenantReader = collect.NewRounds(e.gc, e.st, &collect.RoundsOptions{Now: e.clk.Now, Logger: log.With("component", "collect")})
	if e.tenant != nil {
		reader = e.tenant(reader)
	}
	var incidents watch.IncidentStore = e.st
	if e.wrapInc != nil {
		incidents = e.wrapInc(incidents)
	}
	app, err := watch.New(watch.Deps{
		Tenant:     reader,
		Subscriber: e.gc,
		Cursors:    e.st, Baselines: e.st, Findings: e.st, Outbox: e.st, Subscriptions: e.st, SignIns: e.st,
		Reports: e.rep, Incidents: incidents,
	}, &watch.Options{
		Config:      cfg,
		Sender:      sender,
		Version:     "test",
		Now:         e.clk.Now,
		Logger:      log.With("component", "watch"),
		Deliver:     &notify.DeliverOptions{BaseBackoff: cfg.DeliveryBackoff},
		ServiceTags: func(context.Context) ([]byte, error) { return os.ReadFile(tags) },
		Exchange:    e.exchange,
		Detectors:   e.detectors,
		Sentinel:    e.sentinel,
	})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func tail(s string, lines int) string {
	ls := strings.Split(s, "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// must fails the test on err, naming what failed.
func (e *env) must(what string, err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("%s: %v", what, err)
	}
}

// install runs what the timers run first: RenewSubscriptions (webhooks
// on), then PollDirectory (which runs the first sweep). It checks that
// installation alerted with one digest only, and forgets the cards.
func (e *env) install() {
	e.t.Helper()
	ctx := e.t.Context()
	e.must("RenewSubscriptions", e.app.RenewSubscriptions(ctx))
	e.must("PollDirectory", e.app.PollDirectory(ctx))
	items := e.outbox()
	if len(items) != 1 || items[0].Kind != state.OutboxDigest {
		e.t.Fatalf("installation queued %d outbox items %v, want the posture digest alone", len(items), describe(items))
	}
	if n := len(e.teams.Messages()); n != 1 {
		e.t.Fatalf("installation posted %d messages to Teams, want the digest alone", n)
	}
}

// outbox returns every outbox item, oldest first.
func (e *env) outbox() []state.OutboxItem {
	e.t.Helper()
	var out []state.OutboxItem
	e.must("outbox", e.st.Outbox(e.t.Context(), func(it state.OutboxItem) error {
		out = append(out, it)
		return nil
	}))
	return out
}

// carrying returns the outbox items whose FindingKeys hold key.
func (e *env) carrying(key string) []state.OutboxItem {
	e.t.Helper()
	var out []state.OutboxItem
	for _, it := range e.outbox() {
		if slices.Contains(it.FindingKeys, key) {
			out = append(out, it)
		}
	}
	return out
}

// findings returns the recorded findings by key.
func (e *env) findings() map[string]state.FindingRecord {
	e.t.Helper()
	out := make(map[string]state.FindingRecord)
	e.must("findings", e.st.Findings(e.t.Context(), func(r state.FindingRecord) error {
		out[r.Finding.Key] = r
		return nil
	}))
	return out
}

// findingFor returns the recorded finding of rule on subject id.
func (e *env) findingFor(rule, subjectID string) (state.FindingRecord, bool) {
	e.t.Helper()
	var got []state.FindingRecord
	for _, r := range e.findings() {
		if r.Finding.Rule == rule && strings.EqualFold(r.Finding.Subject.ID, subjectID) {
			got = append(got, r)
		}
	}
	if len(got) > 1 {
		e.t.Fatalf("%d findings of %s on %s, want at most one", len(got), rule, subjectID)
	}
	if len(got) == 0 {
		return state.FindingRecord{}, false
	}
	return got[0], true
}

func (e *env) cursor(name string) state.Cursor {
	e.t.Helper()
	c, err := e.st.Cursor(e.t.Context(), name)
	e.must("cursor "+name, err)
	return c
}

// stored returns the stored subscriptions by resource.
func (e *env) stored() map[string]state.Subscription {
	e.t.Helper()
	subs, err := e.st.Subscriptions(e.t.Context())
	e.must("stored subscriptions", err)
	out := make(map[string]state.Subscription)
	for _, s := range subs {
		if _, dup := out[s.Resource]; dup {
			e.t.Fatalf("two stored subscriptions for %s", s.Resource)
		}
		out[s.Resource] = s
	}
	return out
}

// live returns the simulated tenant's subscriptions by resource, failing on
// two for one resource.
func (e *env) live() map[string]graphsim.SubscriptionInfo {
	e.t.Helper()
	out := make(map[string]graphsim.SubscriptionInfo)
	for _, s := range e.sim.Subscriptions() {
		if _, dup := out[s.Resource]; dup {
			e.t.Fatalf("two live subscriptions for %s: %+v", s.Resource, e.sim.Subscriptions())
		}
		out[s.Resource] = s
	}
	return out
}

func (e *env) attack(step string) graphsim.AttackResult {
	e.t.Helper()
	res, err := e.sim.Attack(e.t.Context(), step)
	e.must("attack "+step, err)
	if len(res.Expected) == 0 {
		e.t.Fatalf("attack %s expects no finding", step)
	}
	return res
}

// expected returns the attack's expected finding of rule.
func expected(t *testing.T, res graphsim.AttackResult, rule string) graphsim.ExpectedFinding {
	t.Helper()
	for _, x := range res.Expected {
		if x.Rule == rule {
			return x
		}
	}
	t.Fatalf("attack %s does not expect %s: %+v", res.Step, rule, res.Expected)
	return graphsim.ExpectedFinding{}
}

// alerted checks that the expected finding x was recorded as new (queued
// or delivered), that exactly one outbox item carries it and that the
// item was posted to Teams.
func (e *env) alerted(x graphsim.ExpectedFinding) state.FindingRecord {
	e.t.Helper()
	rec, ok := e.findingFor(x.Rule, x.SubjectID)
	if !ok {
		e.t.Fatalf("no finding of %s on %s (%s)", x.Rule, x.SubjectName, x.SubjectID)
	}
	if rec.Status != state.FindingQueued && rec.Status != state.FindingDelivered {
		e.t.Errorf("%s on %s has status %s, want queued or delivered", x.Rule, x.SubjectName, rec.Status)
	}
	items := e.carrying(rec.Finding.Key)
	if len(items) != 1 {
		e.t.Fatalf("%d outbox items carry %s, want 1", len(items), rec.Finding.Key)
	}
	if items[0].Delivered.IsZero() {
		e.t.Errorf("the outbox item carrying %s was not delivered (attempts %d, last error %q)", rec.Finding.Key, items[0].Attempts, items[0].LastError)
	}
	return rec
}

// describe lists outbox items as kind[finding keys].
func describe(items []state.OutboxItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, string(it.Kind)+fmt.Sprint(it.FindingKeys))
	}
	return out
}
