package httpbound

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// HeaderTimeout is DefaultTransport's wait for response headers.
	HeaderTimeout = 100 * time.Second
	// BackoffBase is the first wait of a retry without Retry-After; it
	// doubles on each retry (plus up to 1 s of jitter).
	BackoffBase = 3 * time.Second
	// MaxErrorBody bounds how much of an answer Drain reads.
	MaxErrorBody = 64 << 10
)

// Error is a request ended by one of the bounds. Callers turn it into
// their own error type whose message is Msg.
type Error struct {
	Msg    string
	Status int   // the HTTP status when the bound was met on an answer (429 for a refused wait)
	Err    error // tenant sentinel, if one applies
}

func (e *Error) Error() string { return e.Msg }

// Limits are a client's bounds of one request.
type Limits struct {
	Retries     int           // how often a throttled answer is sent again; < 1: never
	RetryBudget time.Duration // one request's waits on Retry-After and back-off, in total
	Attempt     time.Duration // one attempt, from sending the request to the last byte of its body
	Idle        time.Duration // the longest a body may send nothing
	MaxBytes    int64         // the cap of one body
}

// Or returns l with the defaults d applied: Retries 0 is d.Retries, more
// than maxRetries is maxRetries and negative is 0; a duration or cap not
// above zero is d's.
func (l Limits) Or(d Limits, maxRetries int) Limits {
	switch {
	case l.Retries == 0:
		l.Retries = d.Retries
	case l.Retries > maxRetries:
		l.Retries = maxRetries
	case l.Retries < 0:
		l.Retries = 0
	}
	if l.RetryBudget <= 0 {
		l.RetryBudget = d.RetryBudget
	}
	if l.Attempt <= 0 {
		l.Attempt = d.Attempt
	}
	if l.Idle <= 0 {
		l.Idle = d.Idle
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	return l
}

// Bounds are a client's limits and its words for them.
type Bounds struct {
	Limits
	// Server names who answers in messages: "Graph" gives "Graph sent no
	// data for 1m0s while answering (idle timeout); try again later".
	Server string
	// TooLarge is the message of a body over MaxBytes, given the cap in
	// words ("64 MiB").
	TooLarge func(limit string) string
	// Closed is what a read returns after Close.
	Closed error
}

// IdleError is the error of a body that sent nothing for the idle timeout.
func (b Bounds) IdleError() error {
	return &Error{Msg: fmt.Sprintf("%s sent no data for %v while answering (idle timeout); try again later", b.Server, b.Idle)}
}

// AttemptError is the error of an attempt that outlived its deadline.
func (b Bounds) AttemptError() error {
	return &Error{Msg: fmt.Sprintf("%s did not finish answering within %v (per-request deadline); try again later", b.Server, b.Attempt)}
}

// SizeError is the error of a body over the cap.
func (b Bounds) SizeError() error {
	return &Error{Msg: b.TooLarge(ByteSize(b.MaxBytes))}
}

// WaitRefused is the error of an answer asking to wait (Retry-After: header)
// longer than the left of a retry budget.
func (b Bounds) WaitRefused(wait time.Duration, header string, left time.Duration, status int, sentinel error) error {
	return &Error{
		Msg: fmt.Sprintf("%s asked to wait %v (Retry-After: %s), more than the %v left of the retry budget; try again later",
			b.Server, wait, header, max(left, 0).Truncate(time.Second)),
		Status: status, Err: sentinel,
	}
}

// Do runs one attempt: send sends the request under a context that the
// attempt's deadline ends, and the answer's body comes back bounded (a
// *Body). A body announced larger than the cap is refused at once.
func (b Bounds) Do(ctx context.Context, send func(context.Context) (*http.Response, error)) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	deadline := time.AfterFunc(b.Attempt, func() { cancel(b.AttemptError()) })
	resp, err := send(ctx)
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
	if resp.ContentLength > b.MaxBytes {
		resp.Body.Close()
		deadline.Stop()
		cancel(nil)
		return nil, b.SizeError()
	}
	body := &Body{body: resp.Body, ctx: ctx, cancel: cancel, stop: deadline.Stop, b: b, left: b.MaxBytes}
	body.timer = time.AfterFunc(b.Idle, func() { cancel(b.IdleError()) })
	resp.Body = body
	return resp, nil
}

// Body is a response body bounded for one attempt: it ends the read with an
// *Error when the attempt's deadline passes, when no byte arrives for the
// idle timeout, or when more than the cap arrives. Closing it stops the
// timers and releases the attempt's context; so does the deadline, should
// nobody close it. Once a read has failed, every later read returns the
// same error (an SDK may drain a body before closing it).
type Body struct {
	body   io.ReadCloser
	ctx    context.Context // the attempt's: its cause is the limit met
	cancel context.CancelCauseFunc
	stop   func() bool // stops the deadline timer
	b      Bounds
	timer  *time.Timer // idle timer
	left   int64       // bytes allowed before the cap

	mu     sync.Mutex
	err    error
	closed bool
}

func (b *Body) Read(p []byte) (int, error) {
	if err := b.failed(); err != nil {
		return 0, err
	}
	if int64(len(p))-1 > b.left {
		p = p[:b.left+1] // one more than allowed: enough to see the cap crossed
	}
	n, err := b.body.Read(p)
	if n > 0 {
		b.timer.Reset(b.b.Idle)
	}
	if int64(n) > b.left {
		b.fail(b.b.SizeError())
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

// LimitErr returns the *Error that ended reading, if one did.
func (b *Body) LimitErr() error {
	var le *Error
	if err := b.failed(); errors.As(err, &le) {
		return le
	}
	return nil
}

func (b *Body) fail(err error) {
	b.mu.Lock()
	if b.err == nil {
		b.err = err
	}
	b.mu.Unlock()
	b.release(err)
}

func (b *Body) failed() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// release stops the timers and cancels the attempt's context.
func (b *Body) release(cause error) {
	b.timer.Stop()
	b.stop()
	b.cancel(cause)
}

// Close closes the body and releases the attempt; later reads return
// Bounds.Closed.
func (b *Body) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	if b.err == nil {
		b.err = b.b.Closed
	}
	b.mu.Unlock()
	err := b.body.Close()
	b.release(nil)
	return err
}

// limitCause returns the *Error that ended ctx, if one did.
func limitCause(ctx context.Context) error {
	var le *Error
	if errors.As(context.Cause(ctx), &le) {
		return le
	}
	return nil
}

// ByteSize renders a byte count for messages: "64 MiB", "1 KiB", "100 bytes".
func ByteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// RetryDelay is how long to wait before retry number attempt (1-based):
// Retry-After in seconds or as an HTTP date when the answer carries a valid
// one (asked is then true, and header is the value as sent, made one
// printable line of at most 64 bytes and "…" for a message), else
// BackoffBase doubling per retry plus up to 1 s of jitter.
func RetryDelay(resp *http.Response, attempt int, now time.Time) (wait time.Duration, asked bool, header string) {
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v != "" {
		header = OneLine(strings.Map(printable, v))
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
			return (d + time.Second - 1).Truncate(time.Second), true, header // whole seconds, rounded up
		}
	}
	backoff := BackoffBase << min(attempt-1, 10)
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

// OneLine folds s's white space (newlines included) into single spaces.
func OneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Drain reads what little is left of a response that will not be used (at
// most MaxErrorBody), so that its connection can be reused, and closes it.
func Drain(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxErrorBody))
	resp.Body.Close()
}

// Sleep waits d or until ctx ends; it reports whether d passed.
func Sleep(ctx context.Context, d time.Duration) bool {
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

// Reason is a short description of a transport failure: "connection
// refused", "no such host x", "timeout", else the error on one line.
func Reason(err error) string {
	var dnsErr *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "no such host " + dnsErr.Name
		}
		return OneLine(dnsErr.Error())
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return OneLine(ue.Err.Error())
	}
	return OneLine(err.Error())
}

// DefaultTransport is a clone of http.DefaultTransport that gives up on a
// server that sends no response headers for HeaderTimeout.
func DefaultTransport() http.RoundTripper {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultTransport
	}
	t = t.Clone()
	t.ResponseHeaderTimeout = HeaderTimeout
	return t
}
