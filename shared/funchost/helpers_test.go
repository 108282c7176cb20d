package funchost_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/azuritetest"
	"github.com/tenantwatch/tenantwatch/shared/funchost"
)

// handlerEnv, when set in the environment, makes the test binary run as a
// custom handler (the child-process tests) instead of running the tests.
const handlerEnv = "FUNCHOST_TEST_HANDLER"

var (
	azuriteOnce sync.Once
	azurite     *azuritetest.Azurite
	azuriteErr  error
	azuriteDir  string
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(handlerEnv); mode != "" {
		os.Exit(runTestHandler(mode))
	}
	code := m.Run()
	if azurite != nil {
		azurite.Stop()
	}
	if azuriteDir != "" {
		_ = os.RemoveAll(azuriteDir)
	}
	os.Exit(code)
}

var runs atomic.Int64

// sharedStorage returns the connection string of an Azurite shared by the
// package's tests, and a function replacing RUN in names with a number of
// this test's own, so that tests (and -count reruns) use distinct queues,
// containers and tables.
func sharedStorage(t *testing.T) (string, func(string) string) {
	t.Helper()
	azuriteOnce.Do(func() {
		azuriteDir, azuriteErr = os.MkdirTemp("", "funchost-azurite-")
		if azuriteErr == nil {
			azurite, azuriteErr = azuritetest.Launch(azuriteDir)
		}
	})
	if azuriteErr != nil {
		t.Fatal(azuriteErr)
	}
	return azurite.ConnectionString(), strings.NewReplacer("RUN", strconv.FormatInt(runs.Add(1), 10)).Replace
}

// withRun applies run to every file's content.
func withRun(run func(string) string, files map[string]string) map[string]string {
	out := make(map[string]string, len(files))
	for p, c := range files {
		out[p] = run(c)
	}
	return out
}

// runTestHandler is a minimal custom handler: it serves GET / and POST
// /Echo on FUNCTIONS_CUSTOMHANDLER_PORT and stops on SIGTERM.
func runTestHandler(mode string) int {
	if mode == "crash" {
		fmt.Fprintln(os.Stderr, "testhandler: cannot start: boom")
		return 3
	}
	time.Sleep(300 * time.Millisecond) // the host must poll until the handler listens
	port := os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /Echo", func(w http.ResponseWriter, r *http.Request) {
		echo, _ := json.Marshal(map[string]any{
			"port":         port,
			"pid":          os.Getpid(),
			"args":         os.Args[1:],
			"greeting":     os.Getenv("GREETING"),
			"invocationId": r.Header.Get("X-Azure-Functions-InvocationId"),
			"userAgent":    r.Header.Get("User-Agent"),
		})
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"Outputs": map[string]any{"res": map[string]any{"statusCode": "200", "body": string(echo), "headers": map[string]string{"Content-Type": "application/json"}}},
			"Logs":    []string{"echoed"},
		})
	})
	srv := &http.Server{Addr: "127.0.0.1:" + port, Handler: mux}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "testhandler:", err)
		return 1
	}
	return 0
}

// writeApp writes files (path relative to a new temporary app root →
// content) and returns the root.
func writeApp(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// fastHostJSON is host.json with tiny polling intervals so queue tests
// finish quickly.
const fastHostJSON = `{
  "version": "2.0",
  "functionTimeout": "00:00:30",
  "customHandler": {"description": {"defaultExecutablePath": "handler", "arguments": ["serve"]}},
  "extensions": {"queues": {"maxPollingInterval": "00:00:00.200", "visibilityTimeout": "00:00:00", "batchSize": 4, "maxDequeueCount": 3}}
}`

// invocation is one request the fake handler received.
type invocation struct {
	Function string
	Header   http.Header
	Data     map[string]json.RawMessage
	Metadata map[string]json.RawMessage
	Raw      []byte
}

// fakeHandler speaks the custom handler protocol in-process. respond
// decides each answer (default: 200 with no outputs).
type fakeHandler struct {
	srv     *httptest.Server
	calls   chan invocation
	mu      sync.Mutex
	respond map[string]func(invocation) (int, any)
}

func newFakeHandler(t *testing.T) *fakeHandler {
	t.Helper()
	fh := &fakeHandler{calls: make(chan invocation, 256), respond: map[string]func(invocation) (int, any){}}
	fh.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/" {
			return
		}
		raw, _ := io.ReadAll(r.Body)
		inv := invocation{Function: strings.TrimPrefix(r.URL.Path, "/"), Header: r.Header.Clone(), Raw: raw}
		var body struct {
			Data     map[string]json.RawMessage
			Metadata map[string]json.RawMessage
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		inv.Data, inv.Metadata = body.Data, body.Metadata
		fh.mu.Lock()
		f := fh.respond[inv.Function]
		fh.mu.Unlock()
		status, answer := http.StatusOK, any(map[string]any{"Outputs": map[string]any{}, "Logs": []string{"handled " + inv.Function}})
		if f != nil {
			status, answer = f(inv)
		}
		fh.calls <- inv
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(answer)
	}))
	t.Cleanup(fh.srv.Close)
	return fh
}

func (fh *fakeHandler) on(function string, f func(invocation) (int, any)) {
	fh.mu.Lock()
	defer fh.mu.Unlock()
	fh.respond[function] = f
}

// next waits for the next invocation of function (others are skipped).
func (fh *fakeHandler) next(t *testing.T, function string) invocation {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case inv := <-fh.calls:
			if inv.Function == function {
				return inv
			}
		case <-deadline:
			t.Fatalf("no invocation of %s within 30 s", function)
		}
	}
}

// startHost loads root and starts a host on a free port with the fake
// handler; the host is closed when the test ends.
func startHost(t *testing.T, root string, opts *funchost.Options) *funchost.Host {
	t.Helper()
	app, err := funchost.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	if opts.HTTPAddr == "" {
		opts.HTTPAddr = "127.0.0.1:0"
	}
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	h, err := funchost.New(app, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return h
}

// testLogger logs to the test's output (shown with -v or on failure).
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// unwrapString decodes a JSON string value (once).
func unwrapString(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s is not a JSON string: %v", raw, err)
	}
	return s
}
