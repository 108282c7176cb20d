package httpbound_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/httpbound"
)

var errClosed = errors.New("test: read on a closed response body")

func bounds(attempt, idle time.Duration, maxBytes int64) httpbound.Bounds {
	return httpbound.Bounds{
		Limits: httpbound.Limits{Attempt: attempt, Idle: idle, MaxBytes: maxBytes}, Server: "Graph",
		TooLarge: func(limit string) string { return "a response is larger than " + limit },
		Closed:   errClosed,
	}
}

// stalled is a body that sends its data, then nothing until the attempt's
// context ends.
type stalled struct {
	ctx    context.Context
	data   *strings.Reader
	closed bool
}

func (s *stalled) Read(p []byte) (int, error) {
	if s.data.Len() > 0 {
		return s.data.Read(p)
	}
	<-s.ctx.Done()
	return 0, s.ctx.Err()
}

func (s *stalled) Close() error { s.closed = true; return nil }

// eofBody is a body of data that ends.
type eofBody struct {
	*strings.Reader
	closed bool
}

func (e *eofBody) Close() error { e.closed = true; return nil }

func TestBody(t *testing.T) {
	const long = time.Hour
	for _, tc := range []struct {
		name    string
		b       httpbound.Bounds
		data    string
		stall   bool  // the body stalls after data
		length  int64 // Content-Length; -1 unknown
		wantDo  string
		wantRd  string // the read's error; "" reads to EOF
		wantAll string // what was read
	}{
		{name: "at the cap", b: bounds(long, long, 5), data: "12345", length: -1, wantAll: "12345"},
		{name: "over the cap", b: bounds(long, long, 5), data: "123456", length: -1, wantRd: "a response is larger than 5 bytes"},
		{name: "over the cap in KiB", b: bounds(long, long, 1<<10), data: strings.Repeat("x", 1<<10+1), length: -1, wantRd: "a response is larger than 1 KiB"},
		{name: "announced over the cap", b: bounds(long, long, 64<<20), data: "x", length: 64<<20 + 1, wantDo: "a response is larger than 64 MiB"},
		{name: "idle", b: bounds(long, time.Millisecond, 100), data: "12", stall: true, length: -1,
			wantRd: "Graph sent no data for 1ms while answering (idle timeout); try again later"},
		{name: "attempt deadline", b: bounds(time.Millisecond, long, 100), data: "12", stall: true, length: -1,
			wantRd: "Graph did not finish answering within 1ms (per-request deadline); try again later"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.ReadCloser
			resp, err := tc.b.Do(t.Context(), func(ctx context.Context) (*http.Response, error) {
				if tc.stall {
					body = &stalled{ctx: ctx, data: strings.NewReader(tc.data)}
				} else {
					body = &eofBody{Reader: strings.NewReader(tc.data)}
				}
				return &http.Response{StatusCode: http.StatusOK, Body: body, ContentLength: tc.length}, nil
			})
			if tc.wantDo != "" {
				var le *httpbound.Error
				if !errors.As(err, &le) || err.Error() != tc.wantDo {
					t.Fatalf("Do: %v, want *Error %q", err, tc.wantDo)
				}
				if e, ok := body.(*eofBody); !ok || !e.closed {
					t.Error("the refused body was not closed")
				}
				return
			}
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			bb, ok := resp.Body.(*httpbound.Body)
			if !ok {
				t.Fatalf("body %T, want *httpbound.Body", resp.Body)
			}
			got, err := io.ReadAll(resp.Body)
			if tc.wantRd == "" {
				if err != nil || string(got) != tc.wantAll || bb.LimitErr() != nil {
					t.Fatalf("read %q, %v (limit %v), want %q", got, err, bb.LimitErr(), tc.wantAll)
				}
			} else {
				var le *httpbound.Error
				if !errors.As(err, &le) || err.Error() != tc.wantRd {
					t.Fatalf("read error %v, want *Error %q", err, tc.wantRd)
				}
				if bb.LimitErr() == nil || bb.LimitErr().Error() != tc.wantRd {
					t.Errorf("LimitErr %v, want %q", bb.LimitErr(), tc.wantRd)
				}
				if _, again := resp.Body.Read(make([]byte, 8)); again == nil || again.Error() != tc.wantRd {
					t.Errorf("a later read: %v, want the same error", again)
				}
			}
			if err := resp.Body.Close(); err != nil {
				t.Fatal(err)
			}
			if err := resp.Body.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if _, err := resp.Body.Read(make([]byte, 8)); tc.wantRd == "" && !errors.Is(err, errClosed) {
				t.Errorf("read after Close: %v, want %v", err, errClosed)
			}
		})
	}
}

// TestDoReleases: the attempt's context ends when the body is closed, and a
// send the deadline ends says so.
func TestDoReleases(t *testing.T) {
	b := bounds(time.Hour, time.Hour, 10)
	var attempt context.Context
	resp, err := b.Do(t.Context(), func(ctx context.Context) (*http.Response, error) {
		attempt = ctx
		return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("x")), ContentLength: -1}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if attempt.Err() != nil {
		t.Fatal("the attempt ended before the body was closed")
	}
	resp.Body.Close()
	if attempt.Err() == nil {
		t.Error("closing the body did not release the attempt's context")
	}

	b = bounds(time.Millisecond, time.Hour, 10)
	_, err = b.Do(t.Context(), func(ctx context.Context) (*http.Response, error) {
		<-ctx.Done()
		return nil, &url.Error{Op: "Get", URL: "http://x", Err: ctx.Err()}
	})
	var le *httpbound.Error
	want := "Graph did not finish answering within 1ms (per-request deadline); try again later (Get \"http://x\": context canceled)"
	if !errors.As(err, &le) || err.Error() != want {
		t.Errorf("send past the deadline: %v, want *Error %q", err, want)
	}
}

func TestLimitsOr(t *testing.T) {
	d := httpbound.Limits{Retries: 6, RetryBudget: 3 * time.Minute, Attempt: 2 * time.Minute, Idle: time.Minute, MaxBytes: 64 << 20}
	for _, tc := range []struct {
		name    string
		in, out httpbound.Limits
	}{
		{"zero: the defaults", httpbound.Limits{}, d},
		{"negative: the defaults, no retries", httpbound.Limits{Retries: -1, RetryBudget: -1, Attempt: -1, Idle: -1, MaxBytes: -1}, httpbound.Limits{Retries: 0, RetryBudget: d.RetryBudget, Attempt: d.Attempt, Idle: d.Idle, MaxBytes: d.MaxBytes}},
		{"retries capped", httpbound.Limits{Retries: 11}, httpbound.Limits{Retries: 10, RetryBudget: d.RetryBudget, Attempt: d.Attempt, Idle: d.Idle, MaxBytes: d.MaxBytes}},
		{"set: kept", httpbound.Limits{Retries: 10, RetryBudget: 1, Attempt: 2, Idle: 3, MaxBytes: 4}, httpbound.Limits{Retries: 10, RetryBudget: 1, Attempt: 2, Idle: 3, MaxBytes: 4}},
	} {
		if got := tc.in.Or(d, 10); got != tc.out {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.out)
		}
	}
}

func TestWaitRefused(t *testing.T) {
	sentinel := errors.New("throttled")
	for _, tc := range []struct {
		server string
		left   time.Duration
		want   string
	}{
		{"Graph", 90*time.Second + 500*time.Millisecond, "Graph asked to wait 2m0s (Retry-After: 120), more than the 1m30s left of the retry budget; try again later"},
		{"the API", -time.Second, "the API asked to wait 2m0s (Retry-After: 120), more than the 0s left of the retry budget; try again later"},
	} {
		b := httpbound.Bounds{Server: tc.server}
		err := b.WaitRefused(2*time.Minute, "120", tc.left, http.StatusTooManyRequests, sentinel)
		var le *httpbound.Error
		if !errors.As(err, &le) || err.Error() != tc.want || le.Status != 429 || le.Err != sentinel {
			t.Errorf("%v (%+v), want %q", err, le, tc.want)
		}
	}
}

func TestRetryDelay(t *testing.T) {
	now := time.Date(2026, 12, 7, 6, 0, 0, 250e6, time.UTC)
	maxWait := time.Duration(math.MaxInt64/int64(time.Second)) * time.Second
	for _, tc := range []struct {
		header  string
		attempt int
		want    time.Duration // with asked; else the back-off's floor
		asked   bool
		shown   string
	}{
		{"120", 1, 2 * time.Minute, true, "120"},
		{" 0 ", 1, 0, true, "0"},
		{"1.5", 1, 1500 * time.Millisecond, true, "1.5"},
		{"1e300", 1, maxWait, true, "1e300"},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 1, 90 * time.Second, true, now.Add(90 * time.Second).Format(http.TimeFormat)}, // 89.75 s rounded up
		{now.Add(-time.Hour).Format(http.TimeFormat), 1, 0, true, now.Add(-time.Hour).Format(http.TimeFormat)},
		{"", 1, 3 * time.Second, false, ""},
		{"", 3, 12 * time.Second, false, ""},
		{"", 50, 3 * time.Second << 10, false, ""},
		{"-1", 2, 6 * time.Second, false, "-1"},
		{"NaN", 1, 3 * time.Second, false, "NaN"},
		{"+Inf", 1, 3 * time.Second, false, "+Inf"},
		{"soon", 1, 3 * time.Second, false, "soon"},
		{"12\r\n\x1b[31m0", 1, 3 * time.Second, false, "12[31m0"},
		{"a  \t b", 1, 3 * time.Second, false, "a b"},
		{strings.Repeat("9", 70) + "x", 1, 3 * time.Second, false, strings.Repeat("9", 64) + "…"},
	} {
		resp := &http.Response{Header: http.Header{}}
		if tc.header != "" {
			resp.Header.Set("Retry-After", tc.header)
		}
		wait, asked, shown := httpbound.RetryDelay(resp, tc.attempt, now)
		if asked != tc.asked || shown != tc.shown {
			t.Errorf("%q: asked %v, shown %q; want %v, %q", tc.header, asked, shown, tc.asked, tc.shown)
		}
		if tc.asked && wait != tc.want || !tc.asked && (wait < tc.want || wait >= tc.want+time.Second) {
			t.Errorf("%q (retry %d): wait %v, want %v (+ jitter < 1 s unless asked)", tc.header, tc.attempt, wait, tc.want)
		}
	}
}

func TestByteSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 bytes", 100: "100 bytes", 1 << 10: "1 KiB", 1<<10 + 1: "1025 bytes",
		3 << 10: "3 KiB", 64 << 20: "64 MiB", 1<<20 + 1<<10: "1025 KiB",
	} {
		if got := httpbound.ByteSize(n); got != want {
			t.Errorf("ByteSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// counted is a body that counts what was read of it.
type counted struct {
	io.Reader
	n      int64
	closed bool
}

func (c *counted) Read(p []byte) (int, error) {
	n, err := c.Reader.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *counted) Close() error { c.closed = true; return nil }

func TestDrain(t *testing.T) {
	for _, size := range []int64{0, 10, httpbound.MaxErrorBody, httpbound.MaxErrorBody + 1, 10 << 20} {
		c := &counted{Reader: io.LimitReader(zeros{}, size)}
		httpbound.Drain(&http.Response{Body: c})
		if want := min(size, httpbound.MaxErrorBody); c.n != want || !c.closed {
			t.Errorf("%d bytes: read %d, closed %v; want %d read and closed", size, c.n, c.closed, want)
		}
	}
	httpbound.Drain(nil)
	httpbound.Drain(&http.Response{})
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestSleep(t *testing.T) {
	ended, cancel := context.WithCancel(t.Context())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		d    time.Duration
		want bool
	}{
		{"no wait", t.Context(), 0, true},
		{"negative", t.Context(), -time.Second, true},
		{"no wait, ended", ended, 0, false},
		{"ended", ended, time.Hour, false},
		{"a wait", t.Context(), time.Nanosecond, true},
	} {
		if got := httpbound.Sleep(tc.ctx, tc.d); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var _ net.Error = timeoutErr{}

func TestReason(t *testing.T) {
	wrap := func(err error) error { return &url.Error{Op: "Get", URL: "https://x/y?secret=1", Err: err} }
	for _, tc := range []struct {
		err  error
		want string
	}{
		{wrap(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), "connection refused"},
		{wrap(fmt.Errorf("read: %w", syscall.ECONNRESET)), "connection reset"},
		{wrap(&net.DNSError{Name: "graph.example", Err: "no such host", IsNotFound: true}), "no such host graph.example"},
		{wrap(&net.DNSError{Name: "graph.example", Err: "server\nmisbehaving"}), "lookup graph.example: server misbehaving"},
		{wrap(timeoutErr{}), "timeout"},
		{wrap(errors.New("tls:\n bad   certificate")), "tls: bad certificate"},
		{errors.New("plain\terror"), "plain error"},
	} {
		if got := httpbound.Reason(tc.err); got != tc.want {
			t.Errorf("Reason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestDefaultTransport(t *testing.T) {
	tr, ok := httpbound.DefaultTransport().(*http.Transport)
	if !ok || tr.ResponseHeaderTimeout != httpbound.HeaderTimeout || tr == http.DefaultTransport {
		t.Errorf("DefaultTransport: %T, header timeout %v; want a clone with %v", tr, tr.ResponseHeaderTimeout, httpbound.HeaderTimeout)
	}
}
