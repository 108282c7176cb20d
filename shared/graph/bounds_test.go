package graph_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graph"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Each fake Graph here misbehaves in one way; each read must end with a
// one-line *graph.Error that names the endpoint. A read that the client
// does not end is cut by the test's own deadline (safety), which then fails
// the test on the error text: no test here waits for a limit of the
// defaults.
const safety = 60 * time.Second

func boundedCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), safety)
	t.Cleanup(cancel)
	return ctx
}

func readUsers(ctx context.Context, c *graph.Client) error {
	return c.Users(ctx, false, func(tenant.User) error { return nil })
}

// userPage is a page of one user, with a next link when next is not "".
func userPage(f *fakeGraph, next string) string {
	link := ""
	if next != "" {
		link = fmt.Sprintf(`"@odata.nextLink":%q,`, f.api()+next)
	}
	return `{` + link + `"value":[{"id":"6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0","userPrincipalName":"a@contoso.com","createdDateTime":""}]}`
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// checkOneLine checks that err is a one-line *graph.Error with text want
// (exact when exact, else a prefix) and the sentinel wantIs.
func checkOneLine(t *testing.T, err error, want string, exact bool, wantIs error) {
	t.Helper()
	checkSentinel(t, err, wantIs)
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error is not one line: %q", msg)
	}
	if exact && msg != want || !exact && !strings.HasPrefix(msg, want) {
		t.Errorf("Error() =\n%s\nwant %s\n%s", msg, map[bool]string{true: "exactly", false: "a prefix"}[exact], want)
	}
	if strings.Contains(msg, "skiptoken") || strings.Contains(msg, "http://") {
		t.Errorf("error names a URL: %q", msg)
	}
}

// TestRetryAfterBeyondBudget: an answer that asks for a longer wait than
// what is left of the read's retry budget ends the read at once, naming the
// endpoint and the wait asked for.
func TestRetryAfterBeyondBudget(t *testing.T) {
	t.Parallel()
	const date = "Wed, 21 Oct 2037 07:28:00 GMT"
	tests := []struct {
		name     string
		budget   time.Duration
		serve    func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int)
		want     string
		exact    bool
		suffix   string
		requests int
	}{
		{
			name: "seconds",
			serve: func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("Retry-After", "999999")
				f.file(w, http.StatusTooManyRequests, "error-429.json")
			},
			want:     "graph: GET /users: Graph asked to wait 277h46m39s (Retry-After: 999999), more than the 3m0s left of the retry budget; try again later",
			exact:    true,
			requests: 1,
		},
		{
			name: "http date, 503",
			serve: func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("Retry-After", date)
				f.file(w, http.StatusServiceUnavailable, "error-429.json")
			},
			want:     "graph: GET /users: Graph asked to wait ",
			suffix:   "s (Retry-After: " + date + "), more than the 3m0s left of the retry budget; try again later",
			requests: 1,
		},
		{
			// A request's retries share the budget: the second wait is
			// refused because the first used most of it.
			name:   "budget spent by the same page's earlier wait",
			budget: 1500 * time.Millisecond,
			serve: func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("Retry-After", "1")
				f.file(w, http.StatusTooManyRequests, "error-429.json")
			},
			want:     "graph: GET /users: Graph asked to wait 1s (Retry-After: 1), more than the 0s left of the retry budget; try again later",
			exact:    true,
			requests: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, tc.serve)
			err := readUsers(boundedCtx(t), newClient(t, f, &graph.ClientOptions{RetryBudget: tc.budget}))
			checkOneLine(t, err, tc.want, tc.exact, tenant.ErrThrottled)
			if !strings.HasSuffix(err.Error(), tc.suffix) {
				t.Errorf("Error() = %q, want suffix %q", err, tc.suffix)
			}
			var ge *graph.Error
			if errors.As(err, &ge) && ge.Status != http.StatusTooManyRequests && ge.Status != http.StatusServiceUnavailable {
				t.Errorf("Status = %d, want Graph's", ge.Status)
			}
			if n := len(f.requests()); n != tc.requests {
				t.Errorf("server saw %d requests, want %d", n, tc.requests)
			}
		})
	}
}

// TestRetryBudgetPerPage: the budget is a page's, not the read's. A read
// whose pages each wait less than the budget, but more than it in all —
// as a long read behind Graph's reports limits does — completes.
func TestRetryBudgetPerPage(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
		switch n {
		case 0, 2: // each page is throttled once, for 1 s
			w.Header().Set("Retry-After", "1")
			f.file(w, http.StatusTooManyRequests, "error-429.json")
		case 1:
			writeJSON(w, http.StatusOK, userPage(f, "/users?$skiptoken=2"))
		default:
			writeJSON(w, http.StatusOK, userPage(f, ""))
		}
	})
	if err := readUsers(boundedCtx(t), newClient(t, f, &graph.ClientOptions{RetryBudget: 1500 * time.Millisecond})); err != nil {
		t.Fatalf("a read that waited 2 s over two pages, each under the 1.5 s budget: %v", err)
	}
	if n := len(f.requests()); n != 4 {
		t.Errorf("server saw %d requests, want 4 (two pages, each retried once)", n)
	}
}

// maxLoop is how many requests a looping fake serves before it answers 400,
// so that a client without the check fails the test instead of looping.
const maxLoop = 50

// TestRepeatedNextLink: a next link equal to a link the read already
// requested ends the read (lists and delta rounds).
func TestRepeatedNextLink(t *testing.T) {
	t.Parallel()
	const self = "/users?$skiptoken=1"
	tests := []struct {
		name     string
		read     func(ctx context.Context, c *graph.Client, f *fakeGraph) error
		next     func(path string, n int) string // the next link of the n-th answer
		delta    bool
		requests int
		op       string
	}{
		{
			name: "a page links to itself",
			read: func(ctx context.Context, c *graph.Client, _ *fakeGraph) error { return readUsers(ctx, c) },
			next: func(string, int) string { return self },
			// first page, the page, the page again is refused
			requests: 2, op: "GET /users",
		},
		{
			name: "two pages link to each other",
			read: func(ctx context.Context, c *graph.Client, _ *fakeGraph) error { return readUsers(ctx, c) },
			next: func(_ string, n int) string {
				if n%2 == 0 {
					return "/users?$skiptoken=1"
				}
				return "/users?$skiptoken=2"
			},
			requests: 3, op: "GET /users",
		},
		{
			name: "a delta page links to itself",
			read: func(ctx context.Context, c *graph.Client, _ *fakeGraph) error {
				_, err := c.UsersDelta(ctx, "", func(tenant.DeltaItem[tenant.User]) error { return nil })
				return err
			},
			next:     func(string, int) string { return "/users/delta?$skiptoken=1" },
			delta:    true,
			requests: 2, op: "GET /users/delta",
		},
		{
			name: "a delta round's next link is its stored link",
			read: func(ctx context.Context, c *graph.Client, f *fakeGraph) error {
				_, err := c.UsersDelta(ctx, f.api()+"/users/delta?$deltatoken=stored", func(tenant.DeltaItem[tenant.User]) error { return nil })
				return err
			},
			next:     func(string, int) string { return "/users/delta?$deltatoken=stored" },
			delta:    true,
			requests: 1, op: "GET /users/delta",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
				if n >= maxLoop {
					f.file(w, http.StatusBadRequest, "error-400.json")
					return
				}
				writeJSON(w, http.StatusOK, userPage(f, tc.next(r.URL.Path, n)))
			})
			err := tc.read(boundedCtx(t), newClient(t, f, nil), f)
			checkOneLine(t, err, "graph: "+tc.op+": Graph sent an @odata.nextLink this read had already followed: the pages would repeat forever; try again later", true, nil)
			if n := len(f.requests()); n != tc.requests {
				t.Errorf("server saw %d requests, want %d", n, tc.requests)
			}
		})
	}
}

// TestSlowAndHugeBodies: the per-attempt deadline (headers and body), the
// idle timeout and the page size cap each end a read, with small limits.
func TestSlowAndHugeBodies(t *testing.T) {
	t.Parallel()
	page := func(f *fakeGraph) string { return userPage(f, "") }
	tests := []struct {
		name  string
		opts  graph.ClientOptions
		serve func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int)
		want  string
	}{
		{
			// One byte every 10 ms: never idle, never done.
			name: "trickled body",
			opts: graph.ClientOptions{AttemptTimeout: 300 * time.Millisecond, IdleTimeout: 10 * time.Second},
			serve: func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusOK)
				trickle(r.Context(), w, 10*time.Millisecond)
			},
			want: "graph: GET /users: Graph did not finish answering within 300ms (per-request deadline); try again later",
		},
		{
			name: "body stalls",
			opts: graph.ClientOptions{IdleTimeout: 200 * time.Millisecond},
			serve: func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusOK)
				io.WriteString(w, page(f)[:20])
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			},
			want: "graph: GET /users: Graph sent no data for 200ms while answering (idle timeout); try again later",
		},
		{
			name: "headers never come",
			opts: graph.ClientOptions{AttemptTimeout: 300 * time.Millisecond},
			serve: func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
				<-r.Context().Done()
			},
			want: "graph: GET /users: Graph did not finish answering within 300ms (per-request deadline); try again later",
		},
		{
			name: "page over the cap, declared",
			opts: graph.ClientOptions{MaxPageBytes: 4 << 10},
			serve: func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
				writeJSON(w, http.StatusOK, bigPage(f, 8<<10))
			},
			want: "graph: GET /users: a response page is larger than 4 KiB (the page size cap)",
		},
		{
			name: "page over the cap, streamed",
			opts: graph.ClientOptions{MaxPageBytes: 4 << 10},
			serve: func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusOK)
				body := bigPage(f, 64<<10)
				for len(body) > 0 && r.Context().Err() == nil { // no Content-Length: chunked
					k := min(len(body), 1000)
					io.WriteString(w, body[:k])
					w.(http.Flusher).Flush()
					body = body[k:]
				}
			},
			want: "graph: GET /users: a response page is larger than 4 KiB (the page size cap)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, tc.serve)
			opts := tc.opts
			opts.MaxRetries = -1
			err := readUsers(boundedCtx(t), newClient(t, f, &opts))
			checkOneLine(t, err, tc.want, false, nil)
			if n := len(f.requests()); n != 1 {
				t.Errorf("server saw %d requests, want 1", n)
			}
		})
	}
}

// trickle writes a valid page's opening, then a space every period until
// the client goes.
func trickle(ctx context.Context, w http.ResponseWriter, period time.Duration) {
	io.WriteString(w, `{"value":[`)
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		w.(http.Flusher).Flush()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			io.WriteString(w, " ")
		}
	}
}

// bigPage is a valid page of users of at least size bytes.
func bigPage(f *fakeGraph, size int) string {
	var b strings.Builder
	b.WriteString(`{"value":[`)
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"6ea91a8d-e32e-41a1-b7bd-%012d","displayName":"User %d"}`, i, i)
	}
	b.WriteString(`]}`)
	return b.String()
}

// closeTracking is a base transport that records whether every response
// body it handed out was closed.
type closeTracking struct {
	base   http.RoundTripper
	mu     sync.Mutex
	bodies []*trackedBody
}

type trackedBody struct {
	io.ReadCloser
	path   string
	status int
	closed atomic.Bool
}

func (b *trackedBody) Close() error {
	b.closed.Store(true)
	return b.ReadCloser.Close()
}

func (c *closeTracking) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	tb := &trackedBody{ReadCloser: resp.Body, path: r.URL.Path, status: resp.StatusCode}
	resp.Body = tb
	c.mu.Lock()
	c.bodies = append(c.bodies, tb)
	c.mu.Unlock()
	return resp, nil
}

func (c *closeTracking) open() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, b := range c.bodies {
		if !b.closed.Load() {
			out = append(out, fmt.Sprintf("%d %s", b.status, b.path))
		}
	}
	return out
}

// TestBodiesClosed: every response body is closed when the read returns,
// on every path: pages, retried answers, redirects, errors and each bound.
func TestBodiesClosed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    graph.ClientOptions
		serve   func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int)
		wantErr bool
	}{
		{"pages", graph.ClientOptions{}, func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
			next := ""
			if n == 0 {
				next = "/users?$skiptoken=1"
			}
			writeJSON(w, http.StatusOK, userPage(f, next))
		}, false},
		{"retried 429 and 503", graph.ClientOptions{}, func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
			if n < 2 {
				w.Header().Set("Retry-After", "0")
				f.file(w, []int{http.StatusTooManyRequests, http.StatusServiceUnavailable}[n], "error-429.json")
				return
			}
			writeJSON(w, http.StatusOK, userPage(f, ""))
		}, false},
		{"redirect", graph.ClientOptions{}, func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
			if n == 0 {
				w.Header().Set("Location", f.api()+"/users?moved=1")
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusFound)
				io.WriteString(w, "<a>moved</a>")
				return
			}
			writeJSON(w, http.StatusOK, userPage(f, ""))
		}, false},
		{"error", graph.ClientOptions{}, func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
			f.file(w, http.StatusForbidden, "error-403-denied.json")
		}, true},
		{"throttled past the budget", graph.ClientOptions{}, func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Retry-After", "999999")
			f.file(w, http.StatusTooManyRequests, "error-429.json")
		}, true},
		{"repeated link", graph.ClientOptions{}, func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
			if n >= maxLoop {
				f.file(w, http.StatusBadRequest, "error-400.json")
				return
			}
			writeJSON(w, http.StatusOK, userPage(f, "/users?$skiptoken=1"))
		}, true},
		{"page over the cap", graph.ClientOptions{MaxPageBytes: 1 << 10}, func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, bigPage(f, 4<<10)) // chunked: found while reading
			w.(http.Flusher).Flush()
			io.WriteString(w, bigPage(f, 4<<10))
		}, true},
		{"idle", graph.ClientOptions{IdleTimeout: 100 * time.Millisecond}, func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"value":[`)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, tc.serve)
			rt := &closeTracking{base: http.DefaultTransport}
			opts := tc.opts
			opts.Transport = rt
			err := readUsers(boundedCtx(t), newClient(t, f, &opts))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tc.wantErr)
			}
			if open := rt.open(); len(open) > 0 {
				t.Errorf("bodies left open after the read: %v", open)
			}
			if len(rt.bodies) == 0 {
				t.Error("no response seen")
			}
		})
	}
}

// TestEmptyTypedValuesStreamed: "" dates and GUIDs, split across many small
// writes, become null on the way to the SDK; the read succeeds.
func TestEmptyTypedValuesStreamed(t *testing.T) {
	t.Parallel()
	const body = `{"value":[{"id":"6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0","displayName":"\"createdDateTime\": \"\"",` +
		`"createdDateTime":"","assignedLicenses":[{"skuId":"","disabledPlans":[]}],` +
		`"signInActivity":{"lastSignInDateTime":"","lastSuccessfulSignInDateTime" : "" ,"lastSignInRequestId":""}}]}`
	f := newFake(t, func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		for i := 0; i < len(body); i += 3 {
			io.WriteString(w, body[i:min(i+3, len(body))])
			w.(http.Flusher).Flush()
		}
	})
	users, err := collect(func(fn func(tenant.User) error) error { return newClient(t, f, nil).Users(boundedCtx(t), true, fn) })
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 {
		t.Fatalf("got %d users", len(users))
	}
	u := users[0]
	if u.DisplayName != `"createdDateTime": ""` {
		t.Errorf("DisplayName = %q: text inside a value changed", u.DisplayName)
	}
	if !u.Created.IsZero() || !u.LastSuccessfulSignIn.IsZero() {
		t.Errorf("dates = %v %v, want zero", u.Created, u.LastSuccessfulSignIn)
	}
	if len(u.Licenses) != 1 || u.Licenses[0].SkuID != "" {
		t.Errorf("licences = %+v, want one without a SKU id", u.Licenses)
	}
}
