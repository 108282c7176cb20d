package graph_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/golden"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/tenantwatch/tenantwatch/shared/graph"
)

// prefix is put in front of /v1.0 on every test server: a client that
// builds absolute URLs from the host alone, or drops the prefix when it
// follows a next link, hits a 404.
const prefix = "/tw/graph-root"

// seen is one request as the fake Graph received it.
type seen struct {
	Method   string
	Path     string
	RawQuery string // as sent, undecoded
	Query    url.Values
	Header   http.Header
	Body     []byte
}

// fakeGraph is an httptest server that plays Graph v1.0 under prefix.
type fakeGraph struct {
	t     *testing.T
	srv   *httptest.Server
	serve func(w http.ResponseWriter, r *http.Request, n int)

	mu   sync.Mutex
	reqs []seen
}

// newFake starts a server; serve answers the n-th request (0-based).
func newFake(t *testing.T, serve func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int)) *fakeGraph {
	t.Helper()
	f := &fakeGraph{t: t}
	f.serve = func(w http.ResponseWriter, r *http.Request, n int) { serve(f, w, r, n) }
	f.srv = httptest.NewServer(http.HandlerFunc(f.handle))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGraph) handle(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("reading the request body: %v", err)
	}
	f.mu.Lock()
	n := len(f.reqs)
	f.reqs = append(f.reqs, seen{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Query: r.URL.Query(),
		Header: r.Header.Clone(), Body: body})
	f.mu.Unlock()
	if !strings.HasPrefix(r.URL.Path, prefix+"/v1.0/") && !strings.HasPrefix(r.URL.Path, prefix+"/beta/") {
		f.t.Errorf("request outside %s/v1.0 and %s/beta: %s %s", prefix, prefix, r.Method, r.URL)
		http.NotFound(w, r)
		return
	}
	f.serve(w, r, n)
}

// root is the graphURL to give NewClient; api the Graph base URL.
func (f *fakeGraph) root() string { return f.srv.URL + prefix }
func (f *fakeGraph) api() string  { return f.root() + "/v1.0" }

func (f *fakeGraph) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

// file answers with testdata/name, {{base}} replaced by the API base URL.
func (f *fakeGraph) file(w http.ResponseWriter, status int, name string) {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.t.Errorf("testdata: %v", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	b = bytes.ReplaceAll(b, []byte("{{base}}"), []byte(f.api()))
	b = bytes.ReplaceAll(b, []byte("{{beta}}"), []byte(f.root()+"/beta"))
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

// pages serves files[0] for the first request and files[i] for
// $skiptoken=i (the next links in testdata count pages that way).
func pages(files ...string) func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
	return func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
		i := 0
		if tok := r.URL.Query().Get("$skiptoken"); tok != "" {
			var err error
			if i, err = strconv.Atoi(tok); err != nil || i >= len(files) {
				f.t.Errorf("unexpected $skiptoken %q", tok)
				http.NotFound(w, r)
				return
			}
		}
		f.file(w, http.StatusOK, files[i])
	}
}

// newClient returns an AuthNone client for f that logs to t.
func newClient(t *testing.T, f *fakeGraph, opts *graph.ClientOptions) *graph.Client {
	t.Helper()
	var o graph.ClientOptions
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	c, err := graph.NewClient(f.root(), graph.AuthNone, &o)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// counting is a base transport that counts round trips.
type counting struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// collect gathers what a streaming read sends to its callback.
func collect[T any](read func(func(T) error) error) ([]T, error) {
	var out []T
	err := read(func(v T) error {
		out = append(out, v)
		return nil
	})
	return out, err
}

// checkGolden compares v, as indented JSON, with testdata/golden/name.json.
func checkGolden(t *testing.T, name string, v any) {
	t.Helper()
	golden.CheckJSON(t, filepath.Join("testdata", "golden", name+".json"), v)
}

// flatQuery turns a query into one value per key, failing on repeats.
func flatQuery(t *testing.T, q url.Values) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, vs := range q {
		if len(vs) != 1 {
			t.Errorf("query parameter %s repeated: %q", k, vs)
		}
		out[k] = vs[0]
	}
	return out
}

// fakeCredential hands out a fixed token and records the scopes asked for.
type fakeCredential struct {
	err error

	mu     sync.Mutex
	scopes [][]string
}

func (c *fakeCredential) GetToken(_ context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	c.scopes = append(c.scopes, opts.Scopes)
	c.mu.Unlock()
	if c.err != nil {
		return azcore.AccessToken{}, c.err
	}
	return azcore.AccessToken{Token: "test-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}
