package demo

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/handlers"
	"github.com/tenantwatch/tenantwatch/shared/app"
	"github.com/tenantwatch/tenantwatch/shared/azurite"
	"github.com/tenantwatch/tenantwatch/shared/config"
	"github.com/tenantwatch/tenantwatch/shared/funchost"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
	"github.com/tenantwatch/tenantwatch/shared/redact"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Options configure a demo environment.
type Options struct {
	// Root holds host.json and functions/ (the repository root).
	Root string
	// Command starts the handler (default: host.json's, i.e.
	// <Root>/tenantwatch serve). Ignored when InProcess is set.
	Command []string
	// InProcess serves the handler from this process (tests): the same
	// handlers and app, without building the binary.
	InProcess bool
	// Version is passed to an in-process app.
	Version string
	// ServiceTags is a Service Tags file for signin.azure-ip.
	ServiceTags string
	// Settings override the demo's app settings (schedules, severity).
	Settings map[string]string
	// Sim tweaks the simulated tenant (throttling, duplicates); Clock,
	// Scenario and AllowHTTPNotificationURL are set by the demo.
	Sim graphsim.Options
	// GraphProxy, when set, wraps the simulated tenant's HTTP handler:
	// tests put a Graph that misbehaves (or records) in front of it.
	GraphProxy func(http.Handler) http.Handler
	// FunctionKey is the key the host requires of HTTP functions and the
	// notification URLs carry in code= (default "demo-function-key").
	FunctionKey string
	// TeamsFail makes the webhook receiver fail request n with the status
	// returned (0 accepts).
	TeamsFail func(n int) int
	// Azurite reuses a running emulator (tests restart it); nil starts one
	// in DataDir.
	Azurite *azurite.Azurite
	// DataDir holds Azurite's data when the demo starts it.
	DataDir string
	// Log receives the components' logs (default: discarded).
	Log io.Writer
}

// DefaultSettings are the demo's app settings: fast schedules so that a
// polled attack shows within seconds.
func DefaultSettings() map[string]string {
	return map[string]string{
		"PollDirectorySchedule":      "*/5 * * * * *",
		"PollSignInsSchedule":        "*/5 * * * * *",
		"DailySweepSchedule":         "0 30 2 * * *",
		"RenewSubscriptionsSchedule": "0 0 */6 * * *",
		"DeliverAlertsSchedule":      "*/2 * * * * *",
		"PollActivitySchedule":       "*/5 * * * * *",
		"TENANTWATCH_ALERT_SEVERITY": "medium",
		"TENANTWATCH_AUDIT_OVERLAP":  "2m",
		"TENANTWATCH_SIGNIN_OVERLAP": "2m",
	}
}

// DemoActivityAuthID is the demo's Webhook-AuthID secret of the
// Management Activity API webhook (a secret: it never reaches a log).
const DemoActivityAuthID = "local-demo-activity-auth-id"

// ProductionSchedules are the schedules a deployment uses (infra sets
// them as app settings): the demo can run with them to show real
// attack-to-card times.
func ProductionSchedules() map[string]string {
	return map[string]string{
		"PollDirectorySchedule":      "0 */2 * * * *",
		"PollSignInsSchedule":        "0 */5 * * * *",
		"DailySweepSchedule":         "0 30 2 * * *",
		"RenewSubscriptionsSchedule": "0 0 */6 * * *",
		"DeliverAlertsSchedule":      "0 */1 * * * *",
		"PollActivitySchedule":       "0 */5 * * * *",
	}
}

// Env is a running demo environment.
type Env struct {
	Azurite  *azurite.Azurite
	Sim      *graphsim.Server
	SimURL   string
	Receiver *Receiver
	Host     *funchost.Host
	Settings map[string]string

	ownAzurite bool
	simSrv     *http.Server
	inproc     *httptest.Server
	hostLn     net.Listener // the host's HTTP listener, open before the host serves it
	log        *slog.Logger
}

// Start starts Azurite (unless given), the simulated tenant, the webhook
// receiver and the host with its handler.
func Start(ctx context.Context, o Options) (_ *Env, err error) {
	logw := o.Log
	if logw == nil {
		logw = io.Discard
	}
	// Redacted as a deployment's logs are (shared/redact): the demo's own
	// settings hold a function key and a webhook signature.
	e := &Env{log: slog.New(redact.NewHandler(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelInfo})))}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	e.Azurite = o.Azurite
	if e.Azurite == nil {
		dir := o.DataDir
		if dir == "" {
			if dir, err = os.MkdirTemp("", "tenantwatch-demo-"); err != nil {
				return nil, err
			}
		}
		if e.Azurite, err = azurite.Launch(dir); err != nil {
			return nil, err
		}
		e.ownAzurite = true
	}

	simOpts := o.Sim
	simOpts.Clock = time.Now
	simOpts.AllowHTTPNotificationURL = true
	if simOpts.Scenario == nil {
		simOpts.Scenario = apt29.Scenario()
	}
	simOpts.Logger = e.log.With("component", "graphsim")
	if e.Sim, err = graphsim.New(&simOpts); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.SimURL = "http://" + ln.Addr().String()
	graph := e.Sim.Handler()
	if o.GraphProxy != nil {
		graph = o.GraphProxy(graph)
	}
	e.simSrv = &http.Server{Handler: graph, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = e.simSrv.Serve(ln) }()

	if e.Receiver, err = NewReceiver(o.TeamsFail); err != nil {
		return nil, err
	}

	// The host's listener is opened now and handed to it: its URL goes in
	// the settings, and the port stays reserved until the host serves it
	// (a port found free and closed again could be taken meanwhile — the
	// handler's own listener took it once).
	if e.hostLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, err
	}
	hostURL := "http://" + e.hostLn.Addr().String()
	key := cmp.Or(o.FunctionKey, "demo-function-key")
	e.Settings = DefaultSettings()
	for k, v := range map[string]string{
		"AzureWebJobsStorage":             e.Azurite.ConnectionString(),
		"TENANTWATCH_GRAPH_URL":           e.SimURL,
		"TENANTWATCH_GRAPH_AUTH":          "none",
		"TENANTWATCH_TEAMS_WEBHOOK_URL":   e.Receiver.URL(),
		"TENANTWATCH_ALLOW_HTTP_LOOPBACK": "true",
		"TENANTWATCH_NOTIFICATION_URL":    hostURL + "/api/GraphNotifications?code=" + url.QueryEscape(key),
		"TENANTWATCH_LIFECYCLE_URL":       hostURL + "/api/GraphLifecycle?code=" + url.QueryEscape(key),
		"FUNCTIONS_KEY":                   key,
		// The Management Activity API's webhook (the simulator serves the
		// API at the Graph URL).
		"TENANTWATCH_ACTIVITY_NOTIFICATION_URL": hostURL + "/api/ActivityNotifications?code=" + url.QueryEscape(key),
		"TENANTWATCH_ACTIVITY_AUTH_ID":          DemoActivityAuthID,
	} {
		e.Settings[k] = v
	}
	if o.ServiceTags != "" {
		abs, err := filepath.Abs(o.ServiceTags)
		if err != nil {
			return nil, err
		}
		e.Settings["TENANTWATCH_SERVICE_TAGS_FILE"] = abs
	}
	for k, v := range o.Settings {
		e.Settings[k] = v
	}

	fa, err := funchost.Load(o.Root)
	if err != nil {
		return nil, err
	}
	// The host's bindings use the app's AzureWebJobsStorage, as the
	// Functions host does. An in-process handler reads its settings
	// directly, so there the host keeps Azurite's development string: tests
	// give the app a storage the host could not start with.
	hostStorage := e.Settings["AzureWebJobsStorage"]
	if o.InProcess {
		hostStorage = e.Azurite.ConnectionString()
	}
	hopts := &funchost.Options{
		Settings:     e.Settings,
		Storage:      hostStorage,
		HTTPListener: e.hostLn,
		Command:      o.Command,
		Logger:       e.log.With("component", "host"),
		Stdout:       logw,
		Stderr:       logw,
	}
	if o.InProcess {
		cfg, err := config.Load(func(k string) string { return e.Settings[k] })
		if err != nil {
			return nil, err
		}
		handlerLog := e.log.With("component", "handler")
		svc := &app.Lazy{Logger: handlerLog, Init: func(ctx context.Context) (handlers.Service, error) {
			return app.New(ctx, cfg, o.Version, handlerLog)
		}}
		e.inproc = httptest.NewServer(handlers.New(svc, &handlers.Options{Logger: handlerLog}))
		hopts.HandlerURL = e.inproc.URL
	}
	if e.Host, err = funchost.New(fa, hopts); err != nil {
		return nil, err
	}
	if err := e.Host.Start(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// Close stops everything the demo started.
func (e *Env) Close() {
	if e.Host != nil {
		_ = e.Host.Close()
	}
	if e.hostLn != nil {
		_ = e.hostLn.Close() // the host closed it, unless it never served it
	}
	if e.inproc != nil {
		e.inproc.Close()
	}
	if e.Receiver != nil {
		_ = e.Receiver.Close()
	}
	if e.simSrv != nil {
		_ = e.simSrv.Close()
	}
	if e.ownAzurite && e.Azurite != nil {
		e.Azurite.Stop()
	}
}

// WaitCard waits until a card satisfying match has arrived (looking at
// cards from index from on) and returns it.
func (e *Env) WaitCard(ctx context.Context, from int, match func(Card) bool) (Card, error) {
	for {
		cards := e.Receiver.Cards()
		for _, c := range cards[min(from, len(cards)):] {
			if match(c) {
				return c, nil
			}
		}
		select {
		case <-ctx.Done():
			return Card{}, ctx.Err()
		case <-e.Receiver.Changed():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// WaitSubscriptions waits until the app has subscribed to users and groups.
func (e *Env) WaitSubscriptions(ctx context.Context) error {
	for {
		var res []string
		for _, s := range e.Sim.Subscriptions() {
			res = append(res, strings.TrimPrefix(strings.ToLower(s.Resource), "/"))
		}
		if slices.Contains(res, "users") && slices.Contains(res, "groups") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: the app did not subscribe to users and groups: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// StepResult is what one attack step produced.
type StepResult struct {
	Step     string
	Attack   graphsim.AttackResult
	Cards    []StepCard                 // one per expected finding at or above the alert threshold (an incident card may serve several)
	Digested []graphsim.ExpectedFinding // expected findings below the threshold (they go to a digest)
}

// StepCard is an expected finding and the card that showed it.
type StepCard struct {
	Expected graphsim.ExpectedFinding
	Card     Card
	Latency  time.Duration // attack → card
}

// Play runs an attack step and waits for a card for each expected finding
// at or above threshold: its own card, or the card of the incident it
// makes or joins (Card.Announces).
func (e *Env) Play(ctx context.Context, step string, threshold tenant.Severity) (StepResult, error) {
	from := len(e.Receiver.Cards())
	start := time.Now()
	res, err := e.Sim.Attack(ctx, step)
	if err != nil {
		return StepResult{}, err
	}
	out := StepResult{Step: step, Attack: res}
	for _, x := range res.Expected {
		sev, err := tenant.ParseSeverity(x.Severity)
		if err != nil {
			return out, err
		}
		if sev < threshold {
			out.Digested = append(out.Digested, x)
			continue
		}
		c, err := e.WaitCard(ctx, from, func(c Card) bool { return c.Announces(x.Rule, x.SubjectID) })
		if err != nil {
			return out, fmt.Errorf("demo: %s: no card for %s on %s: %w", step, x.Rule, x.SubjectName, err)
		}
		out.Cards = append(out.Cards, StepCard{Expected: x, Card: c, Latency: c.At.Sub(start)})
	}
	return out, nil
}
