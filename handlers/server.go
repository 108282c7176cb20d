package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/activityfeed/feedhook"
	"github.com/tenantwatch/tenantwatch/shared/graph/webhook"
	"github.com/tenantwatch/tenantwatch/shared/redact"
)

// Service is what the functions call; the app (shared/watch) implements it.
// Every method may be called concurrently. An error fails the invocation:
// the queue message is retried (then poisoned), a timer run is recorded as
// failed, a notification POST is answered 500 so Graph retries it.
type Service interface {
	// ClientState returns the stored clientState of a subscription the app
	// created; ok is false for an unknown id. It is called for every
	// notification POST, within Graph's 3 s budget: it must answer from a
	// cache, and remember unknown ids too (forgers choose them).
	ClientState(ctx context.Context, subscriptionID string) (state string, ok bool, err error)
	// ProcessChanges handles one change notification taken from the queue
	// (its ClientState is empty: the secret is not queued).
	ProcessChanges(ctx context.Context, n webhook.Notification) error
	// Lifecycle handles one lifecycle event taken from the queue.
	Lifecycle(ctx context.Context, n webhook.Notification) error
	// PollDirectory, PollSignIns, DailySweep, RenewSubscriptions and
	// DeliverAlerts are the timer functions of the same names.
	PollDirectory(ctx context.Context) error
	PollSignIns(ctx context.Context) error
	DailySweep(ctx context.Context) error
	RenewSubscriptions(ctx context.Context) error
	DeliverAlerts(ctx context.Context) error
	// ActivityAuthID returns the configured Webhook-AuthID secret of the
	// Management Activity API webhook ("" when the webhook is off).
	ActivityAuthID(ctx context.Context) (string, error)
	// ProcessActivity reads the content blob a webhook notification
	// announced and runs the Exchange rules on it.
	ProcessActivity(ctx context.Context, n feedhook.Notification) error
	// PollActivity is the timer function of that name: the polling
	// fallback of the Management Activity API.
	PollActivity(ctx context.Context) error
	// Doctor runs the deployment's checks as the app's identity and
	// returns the report as JSON (shared/doctor.Report).
	Doctor(ctx context.Context) ([]byte, error)
}

// Options configures New. The zero value (or nil) means defaults.
type Options struct {
	// Logger receives one structured line per event, each carrying the
	// function name and the host's invocation id. Default: discard.
	Logger *slog.Logger
	// Now is the clock (used for durations). Default: time.Now.
	Now func() time.Time
	// RunTimeout is the deadline of every function run: its context ends
	// then, so that a run stuck on Graph or storage fails with an error
	// (logged, and answered 500) before the host's functionTimeout
	// (host.json, 10 minutes) kills it silently. 0 or less means
	// DefaultRunTimeout.
	RunTimeout time.Duration
}

// DefaultRunTimeout is a function run's deadline: a minute short of
// host.json's functionTimeout (00:10:00), to fail and log in time. A test
// holds it to host.json.
const DefaultRunTimeout = 9 * time.Minute

// Binding names used by the code; functions/<Name>/function.json must
// declare them (functions_test.go checks it).
const (
	bindingReq     = "req"     // httpTrigger input
	bindingRes     = "res"     // http output
	bindingChanges = "changes" // queue output, queue graph-changes
	bindingMsg     = "msg"     // queueTrigger input, queue graph-changes
	bindingTimer   = "timer"   // timerTrigger input
	bindingBlobs   = "blobs"   // queue output, queue activity-content
)

// binding is one binding a handler reads or writes.
type binding struct {
	name, typ, direction string
}

var (
	httpBindings  = []binding{{bindingReq, "httpTrigger", "in"}, {bindingRes, "http", "out"}, {bindingChanges, "queue", "out"}}
	queueBindings = []binding{{bindingMsg, "queueTrigger", "in"}}
	timerBindings = []binding{{bindingTimer, "timerTrigger", "in"}}
	getBindings   = []binding{{bindingReq, "httpTrigger", "in"}, {bindingRes, "http", "out"}}
	feedBindings  = []binding{{bindingReq, "httpTrigger", "in"}, {bindingRes, "http", "out"}, {bindingBlobs, "queue", "out"}}
)

// function is one row of the route table.
type function struct {
	name     string
	bindings []binding
	http     bool // HTTP-triggered: the caller is answered through "res"
	run      func(s *server, ctx context.Context, inv *invocation) (InvokeResponse, error)
}

// functions is the route table, in the design's order.
var functions = []function{
	{"GraphNotifications", httpBindings, true, (*server).graphNotifications},
	{"GraphLifecycle", httpBindings, true, (*server).graphLifecycle},
	{"ProcessChanges", queueBindings, false, (*server).processChanges},
	{"PollDirectory", timerBindings, false, (*server).pollDirectory},
	{"PollSignIns", timerBindings, false, (*server).pollSignIns},
	{"DailySweep", timerBindings, false, (*server).dailySweep},
	{"RenewSubscriptions", timerBindings, false, (*server).renewSubscriptions},
	{"DeliverAlerts", timerBindings, false, (*server).deliverAlerts},
	{"Doctor", getBindings, true, (*server).doctor},
	{"ActivityNotifications", feedBindings, true, (*server).activityNotifications},
	{"ProcessActivity", queueBindings, false, (*server).processActivity},
	{"PollActivity", timerBindings, false, (*server).pollActivity},
}

// Names returns the function names the route table serves, in a fixed order.
func Names() []string {
	out := make([]string, len(functions))
	for i, f := range functions {
		out[i] = f.name
	}
	return out
}

// maxInvocationBytes bounds what the handler reads from the host: a
// notification body of webhook.MaxBody, JSON-escaped inside the invocation,
// plus headers and metadata. Graph's bodies are mostly ASCII, so escaping
// rarely adds more than a fifth.
const maxInvocationBytes = 2*webhook.MaxBody + 64<<10

// server holds what the functions share. It has no mutable state.
type server struct {
	svc        Service
	log        *slog.Logger
	now        func() time.Time
	runTimeout time.Duration
}

// invocation is one call from the host.
type invocation struct {
	name string
	log  *slog.Logger // carries function and invocation_id
	req  InvokeRequest
}

// New returns the custom handler's HTTP handler: POST /{FunctionName} for
// each of Names(), GET / for the host's readiness probe (200), 404 for any
// other path and 405 for another method on a function's path. Pass nil opts
// for defaults. New panics if svc is nil (a wiring error).
func New(svc Service, opts *Options) http.Handler {
	if svc == nil {
		panic("handlers: New called with a nil Service")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RunTimeout <= 0 {
		o.RunTimeout = DefaultRunTimeout
	}
	s := &server{svc: svc, log: o.Logger, now: o.Now, runTimeout: o.RunTimeout}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok\n")
	})
	for _, f := range functions {
		mux.Handle("POST /"+f.name, s.handler(f))
	}
	return mux
}

// handler adapts one function to HTTP: bounded read, decode, log context,
// panic recovery, and the single place results and failures are written.
func (s *server) handler(f function) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		log := s.log.With("function", f.name, "invocation_id", r.Header.Get("X-Azure-Functions-InvocationId"))
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error("panic", "stack", string(debug.Stack()))
				fail(w, log, fmt.Errorf("panic: %v", p))
			}
		}()
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxInvocationBytes))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) && f.http {
				// Only a huge request body makes an HTTP invocation this big.
				log.Warn("invocation too large; answered 413", "limit_bytes", maxInvocationBytes)
				writeResult(w, log, http.StatusOK, InvokeResponse{
					Outputs: map[string]any{bindingRes: textResponse(http.StatusRequestEntityTooLarge, "payload too large\n")},
					Logs:    []string{"request too large: answered 413"},
				})
				return
			}
			fail(w, log, fmt.Errorf("read invocation: %w", err))
			return
		}
		inv := &invocation{name: f.name, log: log}
		if err := json.Unmarshal(body, &inv.req); err != nil {
			fail(w, log, fmt.Errorf("decode invocation: %w", err))
			return
		}
		// Every run has a deadline; its cause names it in the errors of
		// the reads it cuts.
		ctx, cancel := context.WithTimeoutCause(r.Context(), s.runTimeout,
			fmt.Errorf("%s ran past its %v deadline (the run is cut before the host's functionTimeout)", f.name, s.runTimeout))
		defer cancel()
		resp, err := f.run(s, ctx, inv)
		if err != nil {
			fail(w, log, err)
			return
		}
		writeResult(w, log, http.StatusOK, resp)
		log.Debug("invocation done", "elapsed_ms", s.now().Sub(start).Milliseconds())
	})
}

// fail is the one place an error becomes an invocation result: logged once,
// answered 500 so the host marks the invocation failed (and retries a queue
// message). The error also goes to the host's invocation log, and from
// there to Application Insights: it is redacted first (shared/redact), in
// case an adapter let a secret through.
func fail(w http.ResponseWriter, log *slog.Logger, err error) {
	err = redact.Error(err)
	log.Error("invocation failed", "err", err)
	writeResult(w, log, http.StatusInternalServerError, InvokeResponse{Logs: []string{"invocation failed: " + err.Error()}})
}
