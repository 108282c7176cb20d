package sentinel

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/ingestion/azlogs"
	"github.com/tenantwatch/tenantwatch/shared/httpbound"
	"github.com/tenantwatch/tenantwatch/shared/redact"
)

// Default bounds of one upload.
const (
	DefaultAttempt = 60 * time.Second
	DefaultIdle    = 30 * time.Second
	// maxAnswer caps the body of an answer (an error is a small JSON).
	maxAnswer = 64 << 10
)

// ClientOptions tune a Client; nil means the defaults.
type ClientOptions struct {
	// Transport sends the requests (default: httpbound.DefaultTransport).
	// Tests pass their TLS server's client transport.
	Transport http.RoundTripper
	// Attempt bounds one upload from sending to the answer's last byte;
	// Idle the longest the answer may send nothing.
	Attempt, Idle time.Duration
	// Now is the clock of Retry-After dates (default time.Now).
	Now func() time.Time
}

// Client uploads batches of rows to a data collection rule through its
// endpoint (the data collection endpoint's logs ingestion URL), with the
// azlogs client: bearer tokens for https://monitor.azure.com/ (so https
// only), gzip, the API's own retries off (the outbox retries), every
// attempt bounded.
type Client struct {
	c        *azlogs.Client
	ruleID   string
	endpoint string
	now      func() time.Time
}

// NewClient returns a Client for the rule with immutable id ruleID
// (dcr-…) behind endpoint, signing in with cred.
func NewClient(endpoint, ruleID string, cred azcore.TokenCredential, opts *ClientOptions) (*Client, error) {
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || u.Scheme != "https" || u.User != nil || u.RawQuery != "" {
		return nil, fmt.Errorf("sentinel: the logs ingestion endpoint %s must be an https URL without a query or user (the data collection endpoint's logsIngestion endpoint)", redact.URL(endpoint))
	}
	if ruleID == "" || strings.ContainsAny(ruleID, "/?#% ") {
		return nil, fmt.Errorf("sentinel: the data collection rule id %.80q must be the rule's immutable id (dcr-…)", ruleID)
	}
	if cred == nil {
		return nil, errors.New("sentinel: no credential")
	}
	if o.Transport == nil {
		o.Transport = httpbound.DefaultTransport()
	}
	if o.Attempt <= 0 {
		o.Attempt = DefaultAttempt
	}
	if o.Idle <= 0 {
		o.Idle = DefaultIdle
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	b := httpbound.Bounds{
		Limits: httpbound.Limits{Attempt: o.Attempt, Idle: o.Idle, MaxBytes: maxAnswer},
		Server: "the Logs Ingestion API",
		TooLarge: func(limit string) string {
			return "the Logs Ingestion API answered with more than " + limit + "; try again later"
		},
		Closed: errors.New("sentinel: answer body closed"),
	}
	hc := &http.Client{
		Transport: o.Transport,
		// A redirect would take the token elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c, err := azlogs.NewClient(strings.TrimSuffix(u.String(), "/"), cred, &azlogs.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport:        hc,
		Retry:            policy.RetryOptions{MaxRetries: -1}, // the outbox retries, with stored attempts
		Telemetry:        policy.TelemetryOptions{Disabled: true},
		PerRetryPolicies: []policy.Policy{boundPolicy{b}},
	}})
	if err != nil {
		return nil, fmt.Errorf("sentinel: %w", err)
	}
	return &Client{c: c, ruleID: ruleID, endpoint: u.Scheme + "://" + u.Host, now: o.Now}, nil
}

// boundPolicy bounds each attempt (deadline, idle read, size) with
// httpbound.
type boundPolicy struct{ b httpbound.Bounds }

func (p boundPolicy) Do(req *policy.Request) (*http.Response, error) {
	return p.b.Do(req.Raw().Context(), func(ctx context.Context) (*http.Response, error) {
		return req.Clone(ctx).Next()
	})
}

// UploadError is a failed upload: the status (0 for a network failure or
// a bound met), how long the service asked to wait (Retry-After, on 429
// and 503), and a one-line message without secrets.
type UploadError struct {
	Status     int
	RetryAfter time.Duration
	Msg        string
}

func (e *UploadError) Error() string { return e.Msg }

// Permanent reports whether sending the same bytes again cannot succeed
// by itself (a 4xx other than 408 and 429): the rule, the stream, the
// role or the schema needs fixing.
func (e *UploadError) Permanent() bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != 408 && e.Status != 429
}

// Upload sends one batch (a JSON array of rows) to stream, gzipped. Errors
// are *UploadError.
func (c *Client) Upload(ctx context.Context, stream string, rows []byte) error {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(rows); err != nil {
		return &UploadError{Msg: "sentinel: gzip: " + err.Error()}
	}
	if err := zw.Close(); err != nil {
		return &UploadError{Msg: "sentinel: gzip: " + err.Error()}
	}
	if buf.Len() > MaxCallBytes || len(rows) > MaxCallBytes {
		return &UploadError{Status: 413, Msg: fmt.Sprintf("sentinel: a batch of %d bytes is over the API's %d per call", len(rows), MaxCallBytes)}
	}
	enc := "gzip"
	_, err := c.c.Upload(ctx, c.ruleID, stream, buf.Bytes(), &azlogs.UploadOptions{ContentEncoding: &enc})
	if err == nil {
		return nil
	}
	op := "POST " + c.endpoint + "/dataCollectionRules/" + c.ruleID + "/streams/" + stream
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		ue := &UploadError{Status: re.StatusCode}
		detail := re.ErrorCode
		if re.RawResponse != nil {
			if re.StatusCode == 429 || re.StatusCode == 503 {
				if wait, asked, _ := httpbound.RetryDelay(re.RawResponse, 1, c.now()); asked {
					ue.RetryAfter = wait
				}
			}
			if detail == "" && re.RawResponse.Body != nil {
				b, _ := io.ReadAll(io.LimitReader(re.RawResponse.Body, 512))
				detail = httpbound.OneLine(string(b))
			}
		}
		ue.Msg = redact.Text(fmt.Sprintf("sentinel: %s: %d %s %s", op, re.StatusCode, http.StatusText(re.StatusCode), detail))
		ue.Msg = strings.TrimSpace(ue.Msg)
		return ue
	}
	var be *httpbound.Error
	if errors.As(err, &be) {
		return &UploadError{Status: be.Status, Msg: "sentinel: " + op + ": " + be.Msg}
	}
	return &UploadError{Msg: redact.Text("sentinel: " + op + ": " + httpbound.Reason(err))}
}
