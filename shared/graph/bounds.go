package graph

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/serialization"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"

	"github.com/tenantwatch/tenantwatch/shared/httpbound"
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
)

// limits are a client's bounds, defaults applied, in Graph's words.
type limits struct{ httpbound.Bounds }

func newLimits(o *ClientOptions) limits {
	l := httpbound.Limits{Retries: o.MaxRetries, RetryBudget: o.RetryBudget, Attempt: o.AttemptTimeout,
		Idle: o.IdleTimeout, MaxBytes: o.MaxPageBytes}
	return limits{httpbound.Bounds{
		Limits: l.Or(httpbound.Limits{Retries: DefaultMaxRetries, RetryBudget: DefaultRetryBudget,
			Attempt: DefaultAttemptTimeout, Idle: DefaultIdleTimeout, MaxBytes: DefaultMaxPageBytes}, maxMaxRetries),
		Server: "Graph",
		TooLarge: func(limit string) string {
			return "a response page is larger than " + limit + " (the page size cap); Graph pages are a few MiB, so this is not Graph as expected"
		},
		Closed: errBodyClosed,
	}}
}

// errRepeatedLink ends a read whose pages would repeat forever. classify
// turns it, and every other bound met (an *httpbound.Error), into an *Error
// whose message is the bound's.
var errRepeatedLink = &httpbound.Error{Msg: "Graph sent an @odata.nextLink this read had already followed: the pages would repeat forever; try again later"}

var errBodyClosed = errors.New("graph: read on a closed response body")

// attempt runs one attempt of req through the rest of the pipeline under
// the client's per-attempt bounds: a deadline for headers and body
// together, the idle timeout and the size cap for the body.
func (l limits) attempt(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	return l.Do(req.Context(), func(ctx context.Context) (*http.Response, error) {
		return p.Next(req.WithContext(ctx), i)
	})
}

// retrier is the retry middleware: a request answered 429, 503 or 504 is
// sent again after the Retry-After the answer carries (seconds or an HTTP
// date), or after an exponential back-off without one, at most
// Limits.Retries times. The waits of one request (a page and its retries)
// share Limits.RetryBudget: an answer asking for a longer wait than what
// is left ends the read at once with an *httpbound.Error. It replaces
// kiota-http-go's retry handler, which checks its cumulative delay only
// before adding the next one and never caps a single wait.
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
		if err != nil || !retriable(req, resp) || attempt > r.l.Retries {
			return resp, err
		}
		wait, asked, header := httpbound.RetryDelay(resp, attempt, time.Now())
		left := r.l.RetryBudget - waited
		if asked && wait > left {
			httpbound.Drain(resp)
			return nil, r.l.WaitRefused(wait, header, left, resp.StatusCode, sentinel(resp.StatusCode, ""))
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
			slog.Int("maxRetries", r.l.Retries))
		httpbound.Drain(resp)
		if !httpbound.Sleep(ctx, wait) {
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
