package graph_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/graph"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// usersPage is a page of n users numbered from first, with a next link to
// $skiptoken=next when next > 0.
func usersPage(f *fakeGraph, first, n, next int) string {
	var b strings.Builder
	b.WriteString(`{`)
	if next > 0 {
		fmt.Fprintf(&b, `"@odata.nextLink":%q,`, f.api()+"/users?$skiptoken="+strconv.Itoa(next))
	}
	b.WriteString(`"value":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"6ea91a8d-e32e-41a1-b7bd-%012d","displayName":"User %d"}`, first+i, first+i)
	}
	b.WriteString(`]}`)
	return b.String()
}

// pageNo is the page a request asks for: its $skiptoken, 0 for the first.
func pageNo(r *http.Request) int {
	n, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
	return n
}

// barriers are channels closed once each: the n-th when page n is asked for.
type barriers struct {
	mu sync.Mutex
	ch map[int]chan struct{}
}

func (b *barriers) get(n int) chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = map[int]chan struct{}{}
	}
	if b.ch[n] == nil {
		b.ch[n] = make(chan struct{})
	}
	return b.ch[n]
}

func (b *barriers) open(n int) { close(b.get(n)) }

// await waits for barrier n; the read's deadline failing it fails the test.
func (b *barriers) await(ctx context.Context, n int) error {
	select {
	case <-b.get(n):
		return nil
	case <-ctx.Done():
		return fmt.Errorf("page %d was never requested while the items before it were handed over: %w", n, ctx.Err())
	}
}

// TestReadAhead: the next page is requested while the current one's items
// are handed over: on the first page once the callback has accepted an
// item, on later pages before their first item. The callback waits for the
// request, so a read that does not request ahead never finishes (the
// test's deadline fails it).
func TestReadAhead(t *testing.T) {
	t.Parallel()
	var asked barriers
	f := newFake(t, func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
		p := pageNo(r)
		asked.open(p)
		switch p {
		case 0:
			writeJSON(w, http.StatusOK, usersPage(f, 0, 2, 1))
		case 1:
			writeJSON(w, http.StatusOK, usersPage(f, 2, 2, 2))
		default:
			writeJSON(w, http.StatusOK, usersPage(f, 4, 1, 0))
		}
	})
	c := newClient(t, f, nil)
	ctx := boundedCtx(t)
	var got []string
	err := c.Users(ctx, false, func(u tenant.User) error {
		got = append(got, u.DisplayName)
		switch len(got) {
		case 2: // page 0's second item: page 1 is being fetched
			return asked.await(ctx, 1)
		case 3: // page 1's first item: page 2 is being fetched
			return asked.await(ctx, 2)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "User 0,User 1,User 2,User 3,User 4"; strings.Join(got, ",") != want {
		t.Errorf("items %q, want %s", got, want)
	}
	if n := len(f.requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	if n := graph.AheadRunning(c); n != 0 {
		t.Errorf("%d requests ahead still running after the read", n)
	}
}

// TestReadAheadStopped: when the callback returns an error, or a page
// cannot be decoded, while the next page is on its way, the request ahead
// is cancelled and its body closed before the read returns, and no
// goroutine of it is left; the callback's error comes back unchanged.
func TestReadAheadStopped(t *testing.T) {
	t.Parallel()
	stop := errors.New("stop here")
	tests := []struct {
		name string
		// stopAt is the item whose callback returns stop, once page 1's
		// answer is coming in; 0: none, and page 1 cannot be decoded
		// while page 2 is on its way.
		stopAt  int
		wantErr func(error) bool
	}{
		{
			name:   "callback error",
			stopAt: 2,
			wantErr: func(err error) bool {
				return err == stop //nolint:errorlint // unchanged means the same value
			},
		},
		{
			name: "undecodable page",
			wantErr: func(err error) bool {
				var ge *graph.Error
				return errors.As(err, &ge) && strings.Contains(err.Error(), "cannot decode the response")
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var (
				asked    barriers
				canceled = make(chan struct{})
			)
			f := newFake(t, func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
				p := pageNo(r)
				asked.open(p)
				switch p {
				case 0:
					writeJSON(w, http.StatusOK, usersPage(f, 0, 2, 1))
				case 1:
					if tc.stopAt > 0 {
						// Half a page, then nothing until the client goes.
						w.Header().Set("Content-Type", "application/json")
						io.WriteString(w, `{"value":[{"id":"6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0"},`)
						w.(http.Flusher).Flush()
						<-r.Context().Done()
						close(canceled)
						return
					}
					// A page that links on, whose item cannot be decoded.
					w.Header().Set("Content-Type", "application/json")
					io.WriteString(w, `{"@odata.nextLink":"`+f.api()+`/users?$skiptoken=2","value":[{"accountEnabled":"yes"}]}`)
				default:
					w.Header().Set("Content-Type", "application/json")
					io.WriteString(w, `{"value":[`)
					w.(http.Flusher).Flush()
					<-r.Context().Done()
				}
			})
			got := newResponded(1)
			c := newClient(t, f, &graph.ClientOptions{Transport: got})
			ctx := boundedCtx(t)
			calls := 0
			err := c.Users(ctx, false, func(tenant.User) error {
				calls++
				if calls == tc.stopAt {
					// Page 1's answer has arrived: its body is on its way.
					if err := got.await(ctx); err != nil {
						return err
					}
					return stop
				}
				return nil
			})
			if !tc.wantErr(err) {
				t.Fatalf("err = %v", err)
			}
			if open := got.base.open(); len(open) > 0 {
				t.Errorf("bodies left open when the read returned: %v", open)
			}
			if n := graph.AheadRunning(c); n != 0 {
				t.Errorf("%d requests ahead still running when the read returned", n)
			}
			if tc.stopAt > 0 {
				select {
				case <-canceled:
				case <-ctx.Done():
					t.Fatal("the server never saw the request ahead cancelled")
				}
			}
		})
	}
}

// TestProbeCostsOneRequest: a read whose callback stops at the first item
// does not request the next page.
func TestProbeCostsOneRequest(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, http.StatusOK, usersPage(f, 0, 3, pageNo(r)+1))
	})
	enough := errors.New("enough")
	c := newClient(t, f, nil)
	err := c.SignInActivity(boundedCtx(t), func(tenant.SignInActivity) error { return enough })
	if !errors.Is(err, enough) {
		t.Fatalf("err = %v", err)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// responded is a base transport that tells when the answer to the request
// for a given page has come back (headers in, body on its way).
type responded struct {
	base *closeTracking
	page int
	once sync.Once
	got  chan struct{}
}

func newResponded(page int) *responded {
	return &responded{base: &closeTracking{base: http.DefaultTransport}, page: page, got: make(chan struct{})}
}

func (r *responded) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err == nil && pageNo(req) == r.page {
		r.once.Do(func() { close(r.got) })
	}
	return resp, err
}

// await waits for the answer.
func (r *responded) await(ctx context.Context) error {
	select {
	case <-r.got:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("no answer to the request for page %d: %w", r.page, ctx.Err())
	}
}
