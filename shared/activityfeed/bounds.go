package activityfeed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Bounds of every request. Each is a field of ClientOptions; these are the
// defaults, the same as shared/graph's.
const (
	// DefaultMaxRetries is how often a throttled or failing request is
	// sent again.
	DefaultMaxRetries = 6
	maxMaxRetries     = 10
	// DefaultRetryBudget is how long one request (a listing page or a
	// blob, and its retries) may wait, in total, on Retry-After and
	// back-off. An answer asking for a longer wait than what is left ends
	// the call at once.
	DefaultRetryBudget = 3 * time.Minute
	// DefaultAttemptTimeout bounds one attempt, from sending the request
	// to the last byte of its body (for a blob: while fn reads it).
	DefaultAttemptTimeout = 2 * time.Minute
	// DefaultIdleTimeout is the longest a response body may send nothing.
	DefaultIdleTimeout = time.Minute
	// DefaultMaxResponseBytes caps one response body: a listing page or a
	// content blob. Audit.Exchange blobs are a few MiB at most.
	DefaultMaxResponseBytes = 64 << 20
	// headerTimeout is the default transport's wait for response headers.
	headerTimeout = 100 * time.Second
	// backoffBase is the first wait without Retry-After; it doubles on
	// each retry (plus up to 1 s of jitter).
	backoffBase = 3 * time.Second
	// maxErrorBody bounds how much of an error answer is kept.
	maxErrorBody = 64 << 10
)

// limits are a client's bounds, defaults applied.
type limits struct {
	retries     int
	retryBudget time.Duration
	perAttempt  time.Duration
	idle        time.Duration
	maxBody     int64
}

func newLimits(o *ClientOptions) limits {
	l := limits{retries: o.MaxRetries, retryBudget: o.RetryBudget, perAttempt: o.AttemptTimeout,
		idle: o.IdleTimeout, maxBody: o.MaxResponseBytes}
	switch {
	case l.retries == 0:
		l.retries = DefaultMaxRetries
	case l.retries > maxMaxRetries:
		l.retries = maxMaxRetries
	case l.retries < 0:
		l.retries = 0
	}
	if l.retryBudget <= 0 {
		l.retryBudget = DefaultRetryBudget
	}
	if l.perAttempt <= 0 {
		l.perAttempt = DefaultAttemptTimeout
	}
	if l.idle <= 0 {
		l.idle = DefaultIdleTimeout
	}
	if l.maxBody <= 0 {
		l.maxBody = DefaultMaxResponseBytes
	}
	return l
}

// limitError is a call ended by one of the client's bounds; the client
// turns it into an *Error whose message is msg.
type limitError struct {
	msg    string
	status int   // the HTTP status when the bound was met on an answer
	err    error // tenant sentinel, if one applies
}

func (e *limitError) Error() string { return e.msg }

func errIdle(d time.Duration) error {
	return &limitError{msg: fmt.Sprintf("the API sent no data for %v while answering (idle timeout); try again later", d)}
}

func errAttempt(d time.Duration) error {
	return &limitError{msg: fmt.Sprintf("the API did not finish answering within %v (per-request deadline); try again later", d)}
}

func errTooLarge(max int64) error {
	return &limitError{msg: fmt.Sprintf("a response is larger than %s (the size cap); listings and content blobs are a few MiB, so this is not the Management Activity API as expected", byteSize(max))}
}

var errRepeatedPage = &limitError{msg: "the API sent a NextPageUri this listing had already followed: the pages would repeat forever; try again later"}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// bodyBound wraps a response body for one attempt: it ends the read with a
// limitError when the attempt's deadline passes, when no byte arrives for
// the idle timeout, or when more than max bytes arrive. Closing it stops
// the timers and releases the attempt's context. Once a read has failed,
// every later read returns the same error.
type bodyBound struct {
	body   io.ReadCloser
	ctx    context.Context // the attempt's: its cause is the limit met
	cancel context.CancelCauseFunc
	stop   func() bool // stops the deadline timer
	idle   time.Duration
	timer  *time.Timer
	left   int64
	max    int64

	mu     sync.Mutex
	err    error
	closed bool
}

func (b *bodyBound) Read(p []byte) (int, error) {
	if err := b.failed(); err != nil {
		return 0, err
	}
	if int64(len(p))-1 > b.left {
		p = p[:b.left+1] // one more than allowed: enough to see the cap crossed
	}
	n, err := b.body.Read(p)
	if n > 0 {
		b.timer.Reset(b.idle)
	}
	if int64(n) > b.left {
		b.fail(errTooLarge(b.max))
		return 0, b.failed()
	}
	b.left -= int64(n)
	if err != nil && err != io.EOF {
		if cause := limitCause(b.ctx); cause != nil {
			err = cause
		}
		b.fail(err)
		return n, err
	}
	return n, err
}

// limitErr returns the limitError that ended reading, if one did.
func (b *bodyBound) limitErr() error {
	var le *limitError
	if err := b.failed(); errors.As(err, &le) {
		return le
	}
	return nil
}

func (b *bodyBound) fail(err error) {
	b.mu.Lock()
	if b.err == nil {
		b.err = err
	}
	b.mu.Unlock()
	b.release(err)
}

func (b *bodyBound) failed() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func (b *bodyBound) release(cause error) {
	b.timer.Stop()
	b.stop()
	b.cancel(cause)
}

func (b *bodyBound) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	if b.err == nil {
		b.err = errBodyClosed
	}
	b.mu.Unlock()
	err := b.body.Close()
	b.release(nil)
	return err
}

var errBodyClosed = errors.New("activityfeed: read on a closed response body")

func limitCause(ctx context.Context) error {
	var le *limitError
	if errors.As(context.Cause(ctx), &le) {
		return le
	}
	return nil
}

// attemptPolicy is the innermost policy of the pipeline (after the bearer
// token): it runs each attempt under the per-attempt bounds — a deadline
// for headers and body together, the idle timeout and the size cap for
// the body — sets the User-Agent, and keeps the start of an error body in
// memory so that the retrier and the error mapping can read it.
type attemptPolicy struct {
	l         limits
	userAgent string
}

func (a attemptPolicy) Do(req *policy.Request) (*http.Response, error) {
	if a.userAgent != "" {
		req.Raw().Header.Set("User-Agent", a.userAgent)
	}
	ctx, cancel := context.WithCancelCause(req.Raw().Context())
	deadline := time.AfterFunc(a.l.perAttempt, func() { cancel(errAttempt(a.l.perAttempt)) })
	resp, err := req.WithContext(ctx).Next()
	if err != nil {
		if cause := limitCause(ctx); cause != nil {
			err = fmt.Errorf("%w (%w)", cause, err)
		}
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		deadline.Stop()
		cancel(nil)
		return nil, err
	}
	if resp.ContentLength > a.l.maxBody {
		resp.Body.Close()
		deadline.Stop()
		cancel(nil)
		return nil, errTooLarge(a.l.maxBody)
	}
	b := &bodyBound{body: resp.Body, ctx: ctx, cancel: cancel, stop: deadline.Stop, idle: a.l.idle, left: a.l.maxBody, max: a.l.maxBody}
	b.timer = time.AfterFunc(a.l.idle, func() { cancel(errIdle(a.l.idle)) })
	resp.Body = b
	if resp.StatusCode >= 400 {
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		if le := b.limitErr(); le != nil && rerr != nil {
			return nil, le
		}
		resp.Body = newErrBody(body)
		resp.ContentLength = int64(len(body))
	}
	return resp, nil
}

// retrier is the retry policy, outermost: a request answered 429, 503,
// 504, 500 with AF50000 ("An internal error occurred. Retry the
// request.") or 403 with AF429 (the API's throttling answer, as the
// troubleshooting page shows it) is sent again after the Retry-After the
// answer carries, or after an exponential back-off without one, at most
// limits.retries times. The waits of one request share
// limits.retryBudget: an answer asking for a longer wait than what is left
// ends the call at once with a limitError naming the wait.
type retrier struct {
	l   limits
	log *slog.Logger
	now func() time.Time
}

func (r *retrier) Do(req *policy.Request) (*http.Response, error) {
	ctx := req.Raw().Context()
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		resp, err := req.Next()
		if err != nil || !retriable(resp) || attempt > r.l.retries {
			return resp, err
		}
		wait, asked, header := retryDelay(resp, attempt, r.now())
		left := r.l.retryBudget - waited
		if asked && wait > left {
			drain(resp)
			return nil, &limitError{
				msg: fmt.Sprintf("the API asked to wait %v (Retry-After: %s), more than the %v left of the retry budget; try again later",
					wait, header, max(left, 0).Truncate(time.Second)),
				status: resp.StatusCode, err: tenant.ErrThrottled,
			}
		}
		if wait > left {
			return resp, nil // our own back-off would overrun the budget: give up with the API's answer
		}
		waited += wait
		r.log.LogAttrs(ctx, slog.LevelInfo, "activityfeed: retrying",
			slog.String("method", req.Raw().Method),
			slog.String("path", req.Raw().URL.Path),
			slog.Int("status", resp.StatusCode),
			slog.String("retryAfter", header),
			slog.Duration("wait", wait),
			slog.Int("retry", attempt),
			slog.Int("maxRetries", r.l.retries))
		drain(resp)
		if !sleep(ctx, wait) {
			return nil, context.Cause(ctx)
		}
		if err := req.RewindBody(); err != nil {
			return nil, err
		}
	}
}

// retriable reports whether resp is a throttling, gateway or retry-me
// answer. Error bodies are in memory (attemptPolicy).
func retriable(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	case http.StatusForbidden:
		return errorCode(resp) == codeThrottled
	case http.StatusInternalServerError:
		return errorCode(resp) == codeRetry
	}
	return false
}

// errorCode peeks at the code of an error body attemptPolicy kept.
func errorCode(resp *http.Response) string {
	eb, ok := resp.Body.(*errBody)
	if !ok {
		return ""
	}
	code, _ := parseError(eb.b)
	return code
}

// errBody is the start of an error answer, in memory.
type errBody struct {
	*bytes.Reader
	b []byte
}

func newErrBody(b []byte) *errBody { return &errBody{Reader: bytes.NewReader(b), b: b} }

func (*errBody) Close() error { return nil }

// retryDelay is how long to wait before retry number attempt (1-based):
// Retry-After in seconds or as an HTTP date when the answer carries a
// valid one (asked is then true, and header is the value as sent, made
// safe for a message), else 3 s doubling per retry plus up to 1 s of
// jitter.
func retryDelay(resp *http.Response, attempt int, now time.Time) (wait time.Duration, asked bool, header string) {
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v != "" {
		header = strings.Join(strings.Fields(strings.Map(printable, v)), " ")
		if len(header) > 64 {
			header = header[:64] + "…"
		}
		if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 && !math.IsInf(secs, 0) && !math.IsNaN(secs) {
			return durationOf(secs), true, header
		}
		if t, err := http.ParseTime(v); err == nil {
			d := t.Sub(now)
			if d <= 0 {
				return 0, true, header
			}
			return (d + time.Second - 1).Truncate(time.Second), true, header
		}
	}
	backoff := backoffBase << min(attempt-1, 10)
	return backoff + time.Duration(rand.Int64N(int64(time.Second))), false, header
}

func durationOf(secs float64) time.Duration {
	if secs >= float64(math.MaxInt64/int64(time.Second)) {
		return time.Duration(math.MaxInt64/int64(time.Second)) * time.Second
	}
	return time.Duration(secs * float64(time.Second))
}

func printable(r rune) rune {
	if r < 0x20 || r == 0x7f {
		return -1
	}
	return r
}

// drain reads what little is left of a response that will not be used,
// so that its connection can be reused, and closes it.
func drain(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
