package funchost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/redact"
)

// Sentinel errors callers can branch on.
var (
	// ErrUnknownFunction: Invoke was given a name the app does not have.
	ErrUnknownFunction = errors.New("funchost: unknown function")
	// ErrInvocationFailed: the handler answered non-2xx, could not be
	// reached, answered something that is not the invocation protocol, or
	// an output binding could not be written.
	ErrInvocationFailed = errors.New("funchost: invocation failed")
	// ErrHandlerStart: the custom handler did not answer GET / in time or
	// exited first; the error carries the end of its output.
	ErrHandlerStart = errors.New("funchost: custom handler did not start")
	// ErrNoStorage: a function needs storage and none was configured.
	ErrNoStorage = errors.New("funchost: no storage account")
	// ErrSetting: a %SETTING% reference names a missing app setting, or a
	// setting's value is not usable where it is referenced.
	ErrSetting = errors.New("funchost: app setting")
)

// HostVersion is the version funchost reports in X-Azure-Functions-HostVersion
// and User-Agent (Azure-Functions-Host/<HostVersion>).
const HostVersion = "4.0.0-funchost"

const (
	defaultHTTPAddr     = "127.0.0.1:7071"
	defaultStartTimeout = 60 * time.Second
	maxHTTPBody         = 100 << 20 // the host's request limit
	maxHandlerAnswer    = 100 << 20
	drainTimeout        = 10 * time.Second
	stopTimeout         = 5 * time.Second
)

// Options configure a Host. The zero value (or nil) is usable for apps
// without storage bindings.
type Options struct {
	// Settings are app settings: environment of the handler and values for
	// %SETTING% references. New also reads root/local.settings.json
	// "Values" (Settings win) and falls back to the process environment
	// for references, as the host resolves settings from its environment.
	// FUNCTIONS_KEY, when set, is the key HTTP functions with authLevel
	// function or admin and the /admin endpoints require.
	// AzureWebJobs.<Name>.Disabled=true disables a function.
	Settings map[string]string
	// Storage is the full storage connection string the queue output
	// bindings and queue triggers use (the bindings' "connection"
	// names are not looked up). Default: the AzureWebJobsStorage setting;
	// "UseDevelopmentStorage=true" means DevelopmentStorage. Required only
	// when a function has such a binding. The handler receives it as
	// AzureWebJobsStorage.
	Storage string
	// HTTPAddr is where HTTP triggers are served, at /api/<Name> (default
	// 127.0.0.1:7071; port 0 picks a free port).
	HTTPAddr string
	// HTTPListener, when set, serves the HTTP triggers instead of a new
	// listener on HTTPAddr: a caller that must know the URL before the
	// host starts (to put it in the settings) keeps the port reserved, so
	// that no other listener — the handler's own, for one — takes it
	// meanwhile. The host closes it when it stops.
	HTTPListener net.Listener
	// Command starts the handler. Default: host.json
	// customHandler.description (defaultExecutablePath resolved against the
	// app root, then PATH; arguments %SETTING% expanded).
	Command []string
	// HandlerURL is an already running handler (tests); Command is then
	// ignored and nothing is started.
	HandlerURL string
	// StartTimeout bounds the wait for the handler's first answer to GET /
	// (default 60 s, the host's limit).
	StartTimeout time.Duration
	// Logger receives the host's log and the handler's invocation Logs,
	// redacted (shared/redact): a storage error quotes the SAS of a SAS
	// connection string. Default: discard.
	Logger *slog.Logger
	// Now is the clock for schedules and timestamps (default time.Now).
	// Timers wait in real time for the next occurrence after Now, so a
	// replacement must advance (a fixed time suits tests whose timers
	// recur rarely).
	Now func() time.Time
	// Stdout and Stderr receive the handler's output (default: discarded;
	// the end of it is kept for start-up errors).
	Stdout, Stderr io.Writer
}

// Stats counts what the host did, per function.
type Stats struct {
	Functions map[string]FunctionStats `json:"functions"`
}

// FunctionStats counts one function's invocations.
type FunctionStats struct {
	// Invocations counts every invocation sent to the handler.
	Invocations int64 `json:"invocations"`
	// Failures counts invocations that failed (non-2xx, unreachable
	// handler, output binding error).
	Failures int64 `json:"failures"`
	// Poisoned counts queue messages moved to <queue>-poison.
	Poisoned int64 `json:"poisoned"`
	// Skipped counts timer ticks skipped because the previous run was
	// still going (timers are singletons).
	Skipped int64 `json:"skipped"`
}

// Host is a local stand-in for the Azure Functions host driving one custom
// handler. Create it with New, then Start; Close stops it.
type Host struct {
	app      *App
	opts     Options
	log      *slog.Logger
	now      func() time.Time
	settings map[string]string // local.settings.json Values overlaid by Options.Settings
	storage  *storage
	storConn string
	funcs    []*hostFunction
	byName   map[string]*hostFunction // lower-case name
	routes   map[string]*hostFunction // lower-case route below /api/
	client   *http.Client

	handlerURL string
	handler    *handlerProcess
	readyAfter time.Duration
	exited     chan error

	ln  net.Listener
	srv *http.Server

	listenCtx  context.Context
	stopListen context.CancelFunc
	runCtx     context.Context
	stopRun    context.CancelFunc
	listeners  sync.WaitGroup
	inflight   sync.WaitGroup

	mu      sync.Mutex
	stats   map[string]*FunctionStats
	started bool

	closeOnce sync.Once
	closeErr  error
}

// hostFunction is a function with its settings expanded.
type hostFunction struct {
	Function
	trigger  Binding
	schedule *Schedule
	route    string // path below /api/ (HTTP triggers), as declared

	running atomic.Bool // timer singleton
	mu      sync.Mutex
	lastRun time.Time // timer: the last occurrence that ran
}

// New prepares a host for app: it merges settings, expands %SETTING%
// references in the bindings (schedule, queueName, route and the handler
// arguments), parses the
// schedules and connects the storage clients (without network calls).
// Errors wrap ErrSetting, ErrSchedule or ErrNoStorage.
func New(app *App, opts *Options) (*Host, error) {
	if opts == nil {
		opts = &Options{}
	}
	h := &Host{app: app, opts: *opts, byName: map[string]*hostFunction{}, routes: map[string]*hostFunction{}, stats: map[string]*FunctionStats{}}
	h.log = cmpOrLogger(opts.Logger)
	h.now = opts.Now
	if h.now == nil {
		h.now = time.Now
	}
	if h.opts.HTTPAddr == "" {
		h.opts.HTTPAddr = defaultHTTPAddr
	}
	if h.opts.StartTimeout <= 0 {
		h.opts.StartTimeout = defaultStartTimeout
	}
	local, err := readLocalSettings(app.Root)
	if err != nil {
		return nil, err
	}
	h.settings = local
	maps.Copy(h.settings, opts.Settings)

	var errs []error
	var needStorage []string
	for _, f := range app.Functions {
		hf, needs, err := h.prepare(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.Name, err))
			continue
		}
		if needs && !hf.Disabled {
			needStorage = append(needStorage, f.Name)
		}
		h.funcs = append(h.funcs, hf)
		h.byName[strings.ToLower(f.Name)] = hf
		h.stats[f.Name] = &FunctionStats{}
		if key := strings.ToLower(hf.route); key != "" && !hf.Disabled {
			if other, dup := h.routes[key]; dup {
				errs = append(errs, fmt.Errorf("%s: route /api/%s is also %s's", f.Name, hf.route, other.Name))
			}
			h.routes[key] = hf
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	h.storConn = opts.Storage
	if h.storConn == "" {
		h.storConn, _ = h.lookup("AzureWebJobsStorage")
	}
	h.storConn = ExpandStorage(h.storConn)
	if h.storConn != "" {
		if h.storage, err = newStorage(h.storConn); err != nil {
			return nil, err
		}
	} else if len(needStorage) > 0 {
		return nil, fmt.Errorf("%w: %s use queue bindings: set Options.Storage or the AzureWebJobsStorage setting", ErrNoStorage, strings.Join(needStorage, ", "))
	}
	h.client = &http.Client{Transport: &http.Transport{
		Proxy:               nil, // the handler is local
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}}
	return h, nil
}

func cmpOrLogger(l *slog.Logger) *slog.Logger {
	if l != nil {
		return slog.New(redact.NewHandler(l.Handler()))
	}
	return slog.New(slog.DiscardHandler)
}

// lookup resolves an app setting: Options.Settings, local.settings.json,
// then the process environment.
func (h *Host) lookup(name string) (string, bool) {
	if v, ok := h.settings[name]; ok {
		return v, true
	}
	return os.LookupEnv(name)
}

// readLocalSettings returns local.settings.json's Values, or an empty map
// when the file does not exist.
func readLocalSettings(root string) (map[string]string, error) {
	raw, err := os.ReadFile(filepath.Join(root, "local.settings.json"))
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	var doc struct {
		IsEncrypted bool              `json:"IsEncrypted"`
		Values      map[string]string `json:"Values"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("funchost: local.settings.json: %w", err)
	}
	if doc.IsEncrypted {
		return nil, errors.New("funchost: local.settings.json: encrypted settings are not supported")
	}
	if doc.Values == nil {
		doc.Values = map[string]string{}
	}
	return doc.Values, nil
}

// prepare expands a function's bindings and reports whether it needs
// storage.
func (h *Host) prepare(f Function) (*hostFunction, bool, error) {
	hf := &hostFunction{Function: f}
	hf.Bindings = make([]Binding, len(f.Bindings))
	needs := false
	expand := func(field, v string) (string, error) {
		out, err := expandSettings(v, h.lookup)
		if err != nil {
			return "", fmt.Errorf("%w: %s: %v", ErrSetting, field, err)
		}
		return out, nil
	}
	for i, b := range f.Bindings {
		var err error
		fields := []struct {
			name string
			p    *string
		}{
			{"schedule", &b.Schedule}, {"queueName", &b.QueueName}, {"route", &b.Route},
		}
		for _, fl := range fields {
			if *fl.p == "" {
				continue
			}
			if *fl.p, err = expand(b.Name+"."+fl.name, *fl.p); err != nil {
				return nil, false, err
			}
		}
		switch b.Type {
		case TypeQueue, TypeQueueTrigger:
			needs = true
			if !validQueueName(b.QueueName) {
				return nil, false, fmt.Errorf("%w: %s.queueName %q is not a valid queue name (3-63 lower-case letters, digits and single hyphens)", ErrSetting, b.Name, b.QueueName)
			}
		case TypeTimerTrigger:
			s, err := ParseSchedule(b.Schedule)
			if err != nil {
				return nil, false, err
			}
			hf.schedule = s
		case TypeHTTPTrigger:
			hf.route = strings.Trim(cmpOr(b.Route, f.Name), "/")
		}
		hf.Bindings[i] = b
		if isTrigger(b.Type) {
			hf.trigger = b
		}
	}
	if v, ok := h.lookup("AzureWebJobs." + f.Name + ".Disabled"); ok {
		if d, err := strconv.ParseBool(v); err == nil && d {
			hf.Disabled = true
		}
	}
	return hf, needs, nil
}

func validQueueName(s string) bool {
	if len(s) < 3 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Start starts the handler (with FUNCTIONS_CUSTOMHANDLER_PORT set to a free
// port and the settings as environment) unless Options.HandlerURL names a
// running one, waits until it answers GET /, creates the queues the
// bindings name, and starts the HTTP listener, the timers (firing
// runOnStartup ones once) and the queue listeners. ctx bounds the start
// only; Close stops the host. On error everything started is stopped.
func (h *Host) Start(ctx context.Context) error {
	h.mu.Lock()
	if h.started {
		h.mu.Unlock()
		return errors.New("funchost: host already started")
	}
	h.started = true
	h.mu.Unlock()
	h.listenCtx, h.stopListen = context.WithCancel(context.Background())
	h.runCtx, h.stopRun = context.WithCancel(context.Background())

	if err := h.startHandler(ctx); err != nil {
		h.stopHandler()
		return err
	}
	if err := h.createQueues(ctx); err != nil {
		h.stopHandler()
		return err
	}
	ln := h.opts.HTTPListener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", h.opts.HTTPAddr); err != nil {
			h.stopHandler()
			return fmt.Errorf("funchost: listen for HTTP triggers: %w", err)
		}
	}
	h.ln = ln
	h.srv = &http.Server{Handler: http.HandlerFunc(h.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := h.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.log.Error("HTTP listener stopped", "err", err)
		}
	}()
	for _, f := range h.funcs {
		if f.Disabled {
			h.log.Info("function disabled", "function", f.Name)
			continue
		}
		switch f.trigger.Type {
		case TypeHTTPTrigger:
			methods := strings.Join(f.trigger.Methods, ",")
			h.log.Info("function", "function", f.Name, "trigger", "http", "methods", cmpOr(methods, "any"), "url", h.HTTPURL()+"/api/"+f.route)
		case TypeTimerTrigger:
			h.log.Info("function", "function", f.Name, "trigger", "timer", "schedule", f.schedule.String(), "next", f.schedule.Next(h.now()).Format(time.RFC3339))
			h.listeners.Add(1)
			go h.runTimer(f)
		case TypeQueueTrigger:
			h.log.Info("function", "function", f.Name, "trigger", "queue", "queue", f.trigger.QueueName)
			h.listeners.Add(1)
			go h.runQueue(f)
		}
	}
	return nil
}

// createQueues creates every queue a binding names.
func (h *Host) createQueues(ctx context.Context) error {
	if h.storage == nil {
		return nil
	}
	for _, f := range h.funcs {
		for _, b := range f.Bindings {
			if b.Type != TypeQueue && b.Type != TypeQueueTrigger {
				continue
			}
			if err := h.storage.ensureQueue(ctx, b.QueueName); err != nil {
				return fmt.Errorf("funchost: %s: %w", f.Name, err)
			}
		}
	}
	return nil
}

// HTTPURL returns the base URL of the HTTP triggers (functions are at
// HTTPURL()+"/api/<Name>"), or "" before Start.
func (h *Host) HTTPURL() string {
	if h.ln == nil {
		return ""
	}
	addr := h.ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(addr.Port))
}

// ReadyAfter returns how long the handler took from process start (or from
// Start, with Options.HandlerURL) to its first answer to GET /.
func (h *Host) ReadyAfter() time.Duration { return h.readyAfter }

// HandlerExited delivers the handler process's exit error (nil for a clean
// exit) if it ends before Close; it is nil with Options.HandlerURL.
func (h *Host) HandlerExited() <-chan error { return h.exited }

// Stats returns a snapshot of the counters.
func (h *Host) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := Stats{Functions: make(map[string]FunctionStats, len(h.stats))}
	for name, fs := range h.stats {
		s.Functions[name] = *fs
	}
	return s
}

func (h *Host) count(name string, f func(*FunctionStats)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if fs, ok := h.stats[name]; ok {
		f(fs)
	}
}

// Close stops the HTTP listener, the timers and the queue listeners, waits
// up to 10 s for running invocations (then cancels them), and stops the
// handler (SIGTERM, then kill after 5 s). It is safe to call more than once.
func (h *Host) Close() error {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		started := h.started
		h.mu.Unlock()
		if !started {
			return
		}
		h.stopListen()
		if h.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
			if err := h.srv.Shutdown(ctx); err != nil {
				_ = h.srv.Close()
			}
			cancel()
		}
		h.listeners.Wait()
		done := make(chan struct{})
		go func() { h.inflight.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(drainTimeout):
			h.log.Warn("invocations still running at close: cancelling them")
		}
		h.stopRun()
		<-done
		h.closeErr = h.stopHandler()
	})
	return h.closeErr
}
