package graph

import (
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

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/serialization"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
)

// Bounds of every read. Each is a field of ClientOptions; these are the
// defaults.
const (
	// DefaultRetryBudget is how long one request (one page and its
	// retries) may wait, in total, on Retry-After and back-off before
	// retrying. A wait longer than what is left ends the read at once. It
	// is the page's, not the read's: a long read behind Graph's reports
	// limits (5 requests per 10 s) waits a little on many pages, and the
	// whole read is bounded by the caller's context (scan --timeout, a
	// function run's deadline).
	DefaultRetryBudget = 3 * time.Minute
	// DefaultAttemptTimeout bounds one attempt of one request, from
	// sending it to the last byte of its body; the waits between attempts
	// are not counted.
	DefaultAttemptTimeout = 2 * time.Minute
	// DefaultIdleTimeout is the longest a response body may send nothing.
	DefaultIdleTimeout = time.Minute
	// DefaultMaxPageBytes caps one response body (a page). Graph's largest
	// pages (999 objects with every selected property) are a few MiB.
	DefaultMaxPageBytes = 64 << 20
	// headerTimeout is the default transport's wait for response headers.
	headerTimeout = 100 * time.Second
	// backoffBase is the first wait of a throttled answer without
	// Retry-After; it doubles on each retry (plus up to 1 s of jitter).
	backoffBase = 3 * time.Second
)

// limits are a client's bounds, defaults applied.
type limits struct {
	retries     int // < 1: no retries
	retryBudget time.Duration
	perAttempt  time.Duration
	idle        time.Duration
	maxPage     int64
}

func newLimits(o *ClientOptions) limits {
	l := limits{
		retries:     o.MaxRetries,
		retryBudget: o.RetryBudget,
		perAttempt:  o.AttemptTimeout,
		idle:        o.IdleTimeout,
		maxPage:     o.MaxPageBytes,
	}
	switch {
	case l.retries == 0:
		l.retries = DefaultMaxRetries
	case l.retries > maxMaxRetries:
		l.retries = maxMaxRetries
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
	if l.maxPage <= 0 {
		l.maxPage = DefaultMaxPageBytes
	}
	return l
}

// limitError is a read ended by one of the client's bounds. classify turns
// it into an *Error whose message is msg.
type limitError struct {
	msg    string
	status int   // the HTTP status when the bound was met on an answer (429 for a refused wait)
	err    error // tenant sentinel, if one applies
}

func (e *limitError) Error() string { return e.msg }

func errIdle(d time.Duration) error {
	return &limitError{msg: fmt.Sprintf("Graph sent no data for %v while answering (idle timeout); try again later", d)}
}

func errAttempt(d time.Duration) error {
	return &limitError{msg: fmt.Sprintf("Graph did not finish answering within %v (per-request deadline); try again later", d)}
}

func errPageSize(max int64) error {
	return &limitError{msg: fmt.Sprintf("a response page is larger than %s (the page size cap); Graph pages are a few MiB, so this is not Graph as expected", byteSize(max))}
}

var errRepeatedLink = &limitError{msg: "Graph sent an @odata.nextLink this read had already followed: the pages would repeat forever; try again later"}

// byteSize renders a byte count for messages: "64 MiB", "1 KiB", "100 bytes".
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
// the idle timeout, or when more than max bytes arrive. Closing it stops the
// timers and releases the attempt's context; so does the deadline, should
// nobody close it. Once a read has failed, every later read returns the
// same error (the SDK drains a body before closing it).
type bodyBound struct {
	body   io.ReadCloser
	ctx    context.Context // the attempt's: its cause is the limit met
	cancel context.CancelCauseFunc
	stop   func() bool // stops the deadline timer
	idle   time.Duration
	timer  *time.Timer // idle timer
	left   int64       // bytes allowed before the cap
	max    int64

	mu     sync.Mutex
	err    error
	closed bool
}

func (b *bodyBound) Read(p []byte) (int, error) {
	b.mu.Lock()
	err := b.err
	b.mu.Unlock()
	if err != nil {
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
		b.fail(errPageSize(b.max))
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

// release stops the timers and cancels the attempt's context.
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

var errBodyClosed = errors.New("graph: read on a closed response body")

// limitCause returns the limitError that ended ctx, if one did.
func limitCause(ctx context.Context) error {
	var le *limitError
	if errors.As(context.Cause(ctx), &le) {
		return le
	}
	return nil
}

// attempt runs one attempt of req through the rest of the pipeline under
// the client's per-attempt bounds: a deadline for headers and body
// together, the idle timeout and the size cap for the body.
func (l limits) attempt(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	deadline := time.AfterFunc(l.perAttempt, func() { cancel(errAttempt(l.perAttempt)) })
	resp, err := p.Next(req.WithContext(ctx), i)
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
	if resp.ContentLength > l.maxPage {
		resp.Body.Close()
		deadline.Stop()
		cancel(nil)
		return nil, errPageSize(l.maxPage)
	}
	b := &bodyBound{body: resp.Body, ctx: ctx, cancel: cancel, stop: deadline.Stop, idle: l.idle, left: l.maxPage, max: l.maxPage}
	b.timer = time.AfterFunc(l.idle, func() { cancel(errIdle(l.idle)) })
	resp.Body = b
	return resp, nil
}

// retrier is the retry middleware: a request answered 429, 503 or 504 is
// sent again after the Retry-After the answer carries (seconds or an HTTP
// date), or after an exponential back-off without one, at most
// limits.retries times. The waits of one request (a page and its retries)
// share limits.retryBudget: an answer asking for a longer wait than what is
// left ends the read at once with a limitError. It replaces kiota-http-go's
// retry handler, which checks its cumulative delay only before adding the
// next one and never caps a single wait.
type retrier struct {
	l   limits
	log *slog.Logger
}

func (r *retrier) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	x := exchangeFrom(ctx)
	if x == nil { // not a read of this package: a budget of its own
		ctx, x = withExchange(ctx)
		req = req.WithContext(ctx)
	}
	resp, err := p.Next(req, i)
	var waited time.Duration // this request's waits, against the budget
	for attempt := 1; ; attempt++ {
		if err != nil || !retriable(req, resp) || attempt > r.l.retries {
			return resp, err
		}
		wait, asked, header := retryDelay(resp, attempt, time.Now())
		left := r.l.retryBudget - waited
		if asked && wait > left {
			drain(resp)
			return nil, &limitError{
				msg: fmt.Sprintf("Graph asked to wait %v (Retry-After: %s), more than the %v left of the retry budget; try again later",
					wait, header, max(left, 0).Truncate(time.Second)),
				status: resp.StatusCode, err: sentinel(resp.StatusCode, ""),
			}
		}
		if wait > left { // our own back-off would overrun the budget: give up with Graph's answer
			return resp, nil
		}
		waited += wait
		x.retried()
		r.log.LogAttrs(ctx, slog.LevelInfo, "graph: retrying",
			slog.String("method", req.Method),
			slog.String("path", req.URL.Path),
			slog.Int("status", resp.StatusCode),
			slog.String("retryAfter", header),
			slog.Duration("wait", wait),
			slog.Int("retry", attempt),
			slog.Int("maxRetries", r.l.retries))
		drain(resp)
		if !sleep(ctx, wait) {
			return nil, ctx.Err()
		}
		if req, err = rewind(req); err != nil {
			return nil, err
		}
		req.Header.Set("Retry-Attempt", strconv.Itoa(attempt))
		resp, err = p.Next(req, i)
	}
}

// retriable reports whether resp is a throttling or gateway answer and
// req can be sent again.
func retriable(req *http.Request, resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
	default:
		return false
	}
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil || isSeeker(req.Body)
}

func isSeeker(r io.Reader) bool {
	_, ok := r.(io.Seeker)
	return ok
}

// rewind returns req ready to be sent again: a new body from GetBody, or the
// same body sought back to its start (kiota's request bodies are seekable).
func rewind(req *http.Request) (*http.Request, error) {
	switch {
	case req.Body == nil || req.Body == http.NoBody:
		return req, nil
	case req.GetBody != nil:
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = body
		return req, nil
	}
	if s, ok := req.Body.(io.Seeker); ok {
		if _, err := s.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// retryDelay is how long to wait before retry number attempt (1-based):
// Retry-After in seconds or as an HTTP date when the answer carries a valid
// one (asked is then true, and header is the value as sent, made safe for
// a message), else 3 s doubling per retry plus up to 1 s of jitter.
func retryDelay(resp *http.Response, attempt int, now time.Time) (wait time.Duration, asked bool, header string) {
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v != "" {
		header = oneLine(strings.Map(printable, v))
		if len(header) > 64 {
			header = header[:64] + "…"
		}
		if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 && !math.IsInf(secs, 0) {
			return durationOf(secs), true, header
		}
		if t, err := http.ParseTime(v); err == nil {
			d := t.Sub(now)
			if d <= 0 {
				return 0, true, header
			}
			return (d + time.Second - 1).Truncate(time.Second), true, header // whole seconds, rounded up
		}
	}
	backoff := backoffBase << min(attempt-1, 10)
	return backoff + time.Duration(rand.Int64N(int64(time.Second))), false, header
}

// durationOf converts seconds to a Duration without overflowing.
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

// drain reads what little is left of a response that will not be used, so
// that its connection can be reused, and closes it.
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

// pager is the request adapter a read's page loop sends through: it ends
// the read with errRepeatedLink when a page asks for a URL the read has
// already requested through it, which would make the pages repeat forever.
type pager struct {
	*msgraphcore.GraphRequestAdapterBase
	seen linkSet
}

func newPager(a *msgraphcore.GraphRequestAdapterBase) *pager {
	return &pager{GraphRequestAdapterBase: a, seen: make(linkSet)}
}

func (p *pager) Send(ctx context.Context, ri *abstractions.RequestInformation, f serialization.ParsableFactory, em abstractions.ErrorMappings) (serialization.Parsable, error) {
	if err := p.seen.add(ri); err != nil {
		return nil, err
	}
	return p.GraphRequestAdapterBase.Send(ctx, ri, f, em)
}
