package activityfeed

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/tenantwatch/tenantwatch/shared/httpbound"
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
	// maxErrorBody bounds how much of an error answer is kept.
	maxErrorBody = 64 << 10
)

// limits are a client's bounds, defaults applied, in the API's words.
type limits struct{ httpbound.Bounds }

func newLimits(o *ClientOptions) limits {
	l := httpbound.Limits{Retries: o.MaxRetries, RetryBudget: o.RetryBudget, Attempt: o.AttemptTimeout,
		Idle: o.IdleTimeout, MaxBytes: o.MaxResponseBytes}
	return limits{httpbound.Bounds{
		Limits: l.Or(httpbound.Limits{Retries: DefaultMaxRetries, RetryBudget: DefaultRetryBudget,
			Attempt: DefaultAttemptTimeout, Idle: DefaultIdleTimeout, MaxBytes: DefaultMaxResponseBytes}, maxMaxRetries),
		Server: "the API",
		TooLarge: func(limit string) string {
			return "a response is larger than " + limit + " (the size cap); listings and content blobs are a few MiB, so this is not the Management Activity API as expected"
		},
		Closed: errBodyClosed,
	}}
}

// errRepeatedPage ends a listing whose pages would repeat forever. The
// client turns it, and every other bound met (an *httpbound.Error), into an
// *Error whose message is the bound's.
var errRepeatedPage = &httpbound.Error{Msg: "the API sent a NextPageUri this listing had already followed: the pages would repeat forever; try again later"}

var errBodyClosed = errors.New("activityfeed: read on a closed response body")

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
	resp, err := a.l.Do(req.Raw().Context(), func(ctx context.Context) (*http.Response, error) {
		return req.WithContext(ctx).Next()
	})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		if bb, ok := resp.Body.(*httpbound.Body); ok && rerr != nil {
			if le := bb.LimitErr(); le != nil {
				return nil, le
			}
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
// Limits.Retries times. The waits of one request share
// Limits.RetryBudget: an answer asking for a longer wait than what is left
// ends the call at once with an *httpbound.Error naming the wait.
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
		if err != nil || !retriable(resp) || attempt > r.l.Retries {
			return resp, err
		}
		wait, asked, header := httpbound.RetryDelay(resp, attempt, r.now())
		left := r.l.RetryBudget - waited
		if asked && wait > left {
			httpbound.Drain(resp)
			return nil, r.l.WaitRefused(wait, header, left, resp.StatusCode, tenant.ErrThrottled)
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
			slog.Int("maxRetries", r.l.Retries))
		httpbound.Drain(resp)
		if !httpbound.Sleep(ctx, wait) {
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
