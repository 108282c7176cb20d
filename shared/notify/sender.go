package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/redact"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// ErrWebhookURL is returned by NewSender for a webhook URL it does not
// accept. The error never contains the URL: its sig= parameter is the
// credential.
var ErrWebhookURL = errors.New("notify: invalid teams webhook url")

// Limits of Send.
const (
	// DefaultRate is Teams' limit for one webhook: 4 requests a second.
	DefaultRate = 4.0
	// maxErrorBody is how much of a failed response is read for the error.
	maxErrorBody = 64 << 10
	// maxErrorText is how much of that body the error shows, in runes.
	maxErrorText = 300
	// maxRedactedBody is how much of that body is redacted, then cut to
	// maxErrorText.
	maxRedactedBody = 4 << 10
	// maxRetryAfter bounds a Retry-After header.
	maxRetryAfter      = 24 * time.Hour
	defaultHTTPTimeout = 30 * time.Second
)

// SenderOptions configures a Sender. A nil *SenderOptions means the
// defaults.
type SenderOptions struct {
	// HTTPClient posts the messages (default: a client with a 30 s
	// timeout). The Sender uses a copy that does not follow redirects, so a
	// message is never re-sent to another host.
	HTTPClient *http.Client
	// Rate is the most requests per second the Sender makes, across all
	// goroutines (default and when ≤ 0: DefaultRate, Teams' limit).
	Rate   float64
	Logger *slog.Logger // default: discard; logs the webhook's host only
	// AllowHTTPLoopback accepts http URLs on a loopback host (localhost,
	// 127.0.0.0/8, ::1: tenant.IsLoopbackHost), for local runs and tests.
	AllowHTTPLoopback bool
	// Now and Sleep are the rate limiter's clock (defaults time.Now and a
	// timer that stops early, with ctx's error, when ctx is done). Tests
	// pass a virtual clock.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Sender posts Teams messages to one Workflows webhook ("When a Teams
// webhook request is received"), at most Rate requests a second. It is safe
// for concurrent use; all calls share one rate limiter.
type Sender struct {
	url    string // secret: the sig= query parameter is the credential
	host   string
	secret []string // values redact.Values removes from error text
	client *http.Client
	log    *slog.Logger
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
	lim    limiter
}

// NewSender returns a Sender for webhookURL, which must be an absolute
// https URL with a host (or, with AllowHTTPLoopback, an http URL on a
// loopback host) and no user information. The URL is a secret:
// it is never logged or put in an error; logs name its host only. A URL
// that is not accepted gives an error wrapping ErrWebhookURL.
func NewSender(webhookURL string, opts *SenderOptions) (*Sender, error) {
	var o SenderOptions
	if opts != nil {
		o = *opts
	}
	u, err := url.Parse(webhookURL)
	if err != nil {
		return nil, fmt.Errorf("%w: not a url", ErrWebhookURL) // url.Parse's error quotes the URL
	}
	switch {
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("%w: no host", ErrWebhookURL)
	case u.User != nil:
		return nil, fmt.Errorf("%w: user information not allowed", ErrWebhookURL)
	case strings.EqualFold(u.Scheme, "https"):
	case strings.EqualFold(u.Scheme, "http") && o.AllowHTTPLoopback && tenant.IsLoopbackHost(u.Hostname()):
	case strings.EqualFold(u.Scheme, "http"):
		return nil, fmt.Errorf("%w: http allowed only on a loopback host (localhost, 127.0.0.0/8, ::1) with AllowHTTPLoopback", ErrWebhookURL)
	default:
		return nil, fmt.Errorf("%w: scheme must be https", ErrWebhookURL)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: defaultHTTPTimeout}
	}
	client := *o.HTTPClient
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if !(o.Rate > 0) || math.IsInf(o.Rate, 0) {
		o.Rate = DefaultRate
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	s := &Sender{
		url:    webhookURL,
		host:   u.Host,
		client: &client,
		log:    o.Logger.With("webhook_host", u.Host),
		now:    o.Now,
		sleep:  o.Sleep,
		lim:    limiter{interval: max(time.Duration(float64(time.Second)/o.Rate), 1)},
	}
	s.secret = append(s.secret, webhookURL, u.RequestURI())
	if u.RawQuery != "" {
		s.secret = append(s.secret, u.RawQuery)
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			if len(v) >= 8 {
				s.secret = append(s.secret, v, url.QueryEscape(v))
			}
		}
	}
	return s, nil
}

// Host returns the webhook's host (and port), the only part of its URL that
// may be logged.
func (s *Sender) Host() string { return s.host }

// DeliveryError is the error Send returns when a message was not accepted.
// Status is the HTTP status (0 when there was no answer). Permanent means
// that sending the same payload again will fail the same way (413 Request
// Entity Too Large, other 4xx, redirects); otherwise the failure is
// transient (429, 408, 5xx, network errors). RetryAfter is the server's
// Retry-After on a 429 (seconds or an HTTP date; 0 when absent). Err
// describes the failure, with at most 300 characters of the response body;
// it never contains the webhook URL.
type DeliveryError struct {
	Status     int
	RetryAfter time.Duration
	Permanent  bool
	Err        error
}

func (e *DeliveryError) Error() string {
	var b strings.Builder
	b.WriteString("notify: teams delivery failed")
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.Permanent {
		b.WriteString(" (permanent)")
	}
	return b.String()
}

// Unwrap returns Err.
func (e *DeliveryError) Unwrap() error { return e.Err }

// Send posts payload (a complete Teams message) as application/json, after
// waiting for the rate limiter. A 2xx answer (Workflows answers 202
// Accepted) is success. Any other outcome is a *DeliveryError; when ctx
// ends first, the error wraps ctx's error. The payload is not logged.
func (s *Sender) Send(ctx context.Context, payload []byte) error {
	t := s.now()
	if d := s.lim.reserve(t).Sub(t); d > 0 {
		if err := s.sleep(ctx, d); err != nil {
			return &DeliveryError{Err: fmt.Errorf("waiting for the rate limit: %w", err)}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(payload))
	if err != nil {
		return &DeliveryError{Permanent: true, Err: fmt.Errorf("build request: %w", s.clean(err))}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tenantwatch")
	resp, err := s.client.Do(req)
	if err != nil {
		err = s.clean(err)
		s.log.Debug("teams webhook unreachable", "err", err)
		return &DeliveryError{Err: fmt.Errorf("post to %s: %w", s.host, err)}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	code := resp.StatusCode
	s.log.Debug("teams webhook answered", "status", code)
	if code >= 200 && code <= 299 {
		return nil
	}
	de := &DeliveryError{Status: code}
	msg := fmt.Sprintf("%s answered %d %s", s.host, code, http.StatusText(code))
	// The answer may quote the request's URL: redacted before it is cut.
	if text := plain(redact.Values(string(body[:min(len(body), maxRedactedBody)]), s.secret...), maxErrorText); text != "" {
		msg += ": " + text
	}
	de.Err = errors.New(msg)
	switch {
	case code == http.StatusTooManyRequests:
		de.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), s.now())
	case code == http.StatusRequestTimeout, code >= 500:
	default: // 413, other 4xx, 3xx, 1xx
		de.Permanent = true
	}
	return de
}

// clean returns err fit for an error or a log line: without *url.Error's
// wrapper, which quotes the webhook URL (the Sender names its host only),
// and redacted, the URL's secret values included (shared/redact). It
// unwraps to the cause (errors.Is still finds a context error).
func (s *Sender) clean(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return redact.Error(err, s.secret...)
}

// parseRetryAfter reads a Retry-After header: delay-seconds (a fraction is
// rounded up to the millisecond) or an HTTP date. Missing, malformed or past
// values give 0; values are capped at 24 hours.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if !(f > 0) {
			return 0
		}
		if f >= maxRetryAfter.Seconds() {
			return maxRetryAfter
		}
		d = time.Duration(math.Ceil(f*1000)) * time.Millisecond
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// limiter is a token bucket holding one token, refilled every interval:
// requests start at least interval apart. Callers reserve the next start
// time and sleep until it; a reservation is not returned when the caller
// gives up, which only makes the limiter more conservative.
type limiter struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time // earliest start of the next request
}

// reserve returns when a request asked for at now may start, and books
// that slot.
func (l *limiter) reserve(now time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	at := l.next
	if now.After(at) {
		at = now
	}
	l.next = at.Add(l.interval)
	return at
}

// sleepCtx sleeps for d or until ctx is done, returning ctx's error then.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
