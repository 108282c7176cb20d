package activityfeed

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"

	"github.com/tenantwatch/tenantwatch/shared/httpbound"
	"github.com/tenantwatch/tenantwatch/shared/redact"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// DefaultURL is the API root of the enterprise plan, used when NewClient
// gets "". (GCC: https://manage-gcc.office.com; GCC High:
// https://manage.office365.us; DoD: https://manage.protection.apps.mil.)
const DefaultURL = "https://manage.office.com"

// Scope is the OAuth scope requested: the application permissions
// (ActivityFeed.Read) granted on the Office 365 Management APIs.
const Scope = "https://manage.office.com/.default"

// ContentTypeExchange is the content type of Exchange's audit records.
const ContentTypeExchange = "Audit.Exchange"

// MaxLookback is how far back content can be listed: the start time is
// "no more than 7 days in the past", and content expires 7 days after it
// became available.
const MaxLookback = 7 * 24 * time.Hour

// sliceLength is the longest window one listing may ask for.
const sliceLength = 24 * time.Hour

// lookbackMargin keeps the first slice's start inside the 7 days when the
// request arrives a little after it was built.
const lookbackMargin = 5 * time.Minute

// ClientOptions configures NewClient. The zero value is usable.
type ClientOptions struct {
	// Transport is the base transport (tests count requests with it).
	// nil: a clone of http.DefaultTransport with a 100 s response-header
	// timeout.
	Transport http.RoundTripper
	// MaxRetries is how often a throttled or failing request (429, 503,
	// 504, 403 AF429, 500 AF50000) is sent again. 0 means
	// DefaultMaxRetries; more than 10 means 10; negative disables retries.
	MaxRetries int
	// RetryBudget is the total one request may wait before retries; an
	// answer asking for a longer wait than what is left ends the call at
	// once. 0 or less means DefaultRetryBudget.
	RetryBudget time.Duration
	// AttemptTimeout bounds each attempt, headers and body together. 0 or
	// less means DefaultAttemptTimeout.
	AttemptTimeout time.Duration
	// IdleTimeout ends a body that sends nothing for that long. 0 or less
	// means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxResponseBytes caps each response body (a listing page, a blob).
	// 0 or less means DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// PublisherID is sent as PublisherIdentifier on every request, which
	// gives the calls the tenant's own throttling quota. "" means the
	// tenant id (the troubleshooting page: "If you're implementing a
	// client for your company's tenant, the PublisherIdentifier is the
	// Tenant GUID").
	PublisherID string
	// Logger receives retry and per-call debug records; nil discards them.
	Logger *slog.Logger
	// UserAgent is the User-Agent header ("" means "tenantwatch").
	UserAgent string
	// Now is the clock that bounds the 7-day look-back; nil is time.Now.
	Now func() time.Time
}

// Client reads one tenant's Office 365 Management Activity API. It is safe
// for concurrent use.
type Client struct {
	pl        runtime.Pipeline
	origin    *url.URL // scheme and host of the root: the only one sent tokens
	feed      string   // root + /api/v1.0/{tenant}/activity/feed
	publisher string
	lim       limits
	log       *slog.Logger
	now       func() time.Time
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// NewClient returns a Client for the API root baseURL ("" means
// DefaultURL) and the tenant tenantID (a GUID); requests go to baseURL +
// "/api/v1.0/{tenantID}/activity/feed/…", keeping any path prefix baseURL
// has. cred gets tokens for Scope; a nil cred sends no Authorization
// header, which only a loopback baseURL (127.0.0.0/8, ::1, localhost)
// accepts: the simulated tenant and tests. Tokens go over https only, or
// plain http to a loopback host.
func NewClient(baseURL, tenantID string, cred azcore.TokenCredential, opts *ClientOptions) (*Client, error) {
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	if baseURL == "" {
		baseURL = DefaultURL
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("activityfeed: bad activity url %q: want an absolute http(s) url such as %s", redact.URL(baseURL), DefaultURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("activityfeed: bad activity url %q: no user, query or fragment allowed", redact.URL(baseURL))
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	if strings.Contains(strings.ToLower(u.Path), "/api/") || strings.HasSuffix(strings.ToLower(u.Path), "/api") {
		return nil, fmt.Errorf("activityfeed: bad activity url %q: give the API root without /api/v1.0 (the client adds it)", u.String())
	}
	if !guidRE.MatchString(tenantID) {
		return nil, fmt.Errorf("activityfeed: tenant id %q is not a GUID (the directory id, as Graph's /organization lists it)", clean(tenantID, 80))
	}
	loopback := tenant.IsLoopbackHost(u.Hostname())
	if cred == nil && !loopback {
		return nil, fmt.Errorf("activityfeed: refusing unauthenticated requests to %s: no credential is only for loopback hosts (127.0.0.0/8, ::1, localhost)", u.String())
	}
	if cred != nil && u.Scheme != "https" && !loopback {
		return nil, fmt.Errorf("activityfeed: %s: tokens are only sent over https (or to a loopback host)", u.String())
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	lim := newLimits(&o)
	ua := o.UserAgent
	if ua == "" {
		ua = "tenantwatch"
	}
	publisher := o.PublisherID
	if publisher == "" {
		publisher = tenantID
	}

	var perRetry []policy.Policy
	if cred != nil {
		perRetry = append(perRetry, runtime.NewBearerTokenPolicy(credential{cred}, []string{Scope},
			&policy.BearerTokenOptions{InsecureAllowCredentialWithHTTP: loopback}))
	}
	perRetry = append(perRetry, attemptPolicy{l: lim, userAgent: ua})
	base := o.Transport
	if base == nil {
		base = httpbound.DefaultTransport()
	}
	hc := &http.Client{
		Transport: base,
		// A redirect would take the token elsewhere: the API does not
		// redirect, so one is an answer like any other.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	pl := runtime.NewPipeline("activityfeed", "v1.0.0", runtime.PipelineOptions{
		PerCall:  []policy.Policy{&retrier{l: lim, log: log, now: now}},
		PerRetry: perRetry,
	}, &policy.ClientOptions{
		Transport: hc,
		Retry:     policy.RetryOptions{MaxRetries: -1}, // the retrier above retries, within its budget
		Telemetry: policy.TelemetryOptions{Disabled: true},
	})
	root := u.String()
	return &Client{
		pl:        pl,
		origin:    &url.URL{Scheme: u.Scheme, Host: u.Host},
		feed:      root + "/api/v1.0/" + strings.ToLower(tenantID) + "/activity/feed",
		publisher: publisher,
		lim:       lim,
		log:       log,
		now:       now,
	}, nil
}

// credential marks the credential's errors, so that they read as a token
// failure rather than a network one.
type credential struct{ azcore.TokenCredential }

func (c credential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := c.TokenCredential.GetToken(ctx, opts)
	if err != nil {
		return tok, &tokenError{err: err}
	}
	return tok, nil
}

// Webhook is a subscription's webhook, as the API lists it.
type Webhook struct {
	Address string `json:"address"`
	// AuthID is sent back in the Webhook-AuthID header of notifications.
	AuthID string `json:"authId,omitempty"`
	// Expiration is "" or the API's datetime text.
	Expiration string `json:"expiration,omitempty"`
	// Status is enabled, disabled or expired (listings only).
	Status string `json:"status,omitempty"`
}

// Subscription is one content type's subscription.
type Subscription struct {
	ContentType string   `json:"contentType"`
	Status      string   `json:"status"` // "enabled" or "disabled"
	Webhook     *Webhook `json:"webhook"`
}

// Enabled reports whether content can be listed (an enabled
// subscription).
func (s Subscription) Enabled() bool { return strings.EqualFold(s.Status, "enabled") }

// Subscriptions lists the tenant's subscriptions (GET
// /subscriptions/list). It only reads.
func (c *Client) Subscriptions(ctx context.Context) ([]Subscription, error) {
	const op = "GET /subscriptions/list"
	var out []Subscription
	err := c.do(ctx, op, http.MethodGet, c.feed+"/subscriptions/list", nil, "", func(resp *http.Response) error {
		return json.NewDecoder(resp.Body).Decode(&out)
	})
	return out, err
}

// StartSubscription starts the subscription to contentType (POST
// /subscriptions/start), or updates it when it exists; webhook is
// optional (nil: none). It is the one write of this package: scan does it
// only when asked (--start-subscriptions). The first content can take up
// to 12 hours to become available after a subscription starts.
func (c *Client) StartSubscription(ctx context.Context, contentType string, webhook *Webhook) (Subscription, error) {
	op := "POST /subscriptions/start?contentType=" + contentType
	var body []byte
	var secrets []string
	if webhook != nil {
		w := struct {
			Address    string  `json:"address"`
			AuthID     string  `json:"authId,omitempty"`
			Expiration *string `json:"expiration"`
		}{Address: webhook.Address, AuthID: webhook.AuthID}
		if webhook.Expiration != "" {
			w.Expiration = &webhook.Expiration
		}
		body, _ = json.Marshal(map[string]any{"webhook": w})
		secrets = []string{webhook.AuthID, webhook.Address}
	}
	var out Subscription
	err := c.do(ctx, op, http.MethodPost, c.feed+"/subscriptions/start?contentType="+url.QueryEscape(contentType), body, "application/json", func(resp *http.Response) error {
		return json.NewDecoder(resp.Body).Decode(&out)
	})
	if err != nil {
		return Subscription{}, redact.Error(err, secrets...)
	}
	return out, nil
}

// listing is one entry of a content listing.
type listing struct {
	ContentType       string `json:"contentType"`
	ContentID         string `json:"contentId"`
	ContentURI        string `json:"contentUri"`
	ContentCreated    string `json:"contentCreated"`
	ContentExpiration string `json:"contentExpiration"`
}

// parseListing decodes a listing page: a JSON array of entries (null is
// an empty page).
func parseListing(r io.Reader) ([]listing, error) {
	var out []listing
	dec := json.NewDecoder(r)
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("the content listing is not the API's JSON array: %w", err)
	}
	return out, nil
}

// parseTime reads the API's datetimes: "2015-05-23T17:35:00.000Z" in
// listings; records use "2015-06-29T20:03:19" (UTC, no zone).
func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// apiTime formats a listing bound as the API takes it
// (YYYY-MM-DDTHH:MM:SS, UTC).
func apiTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }

// Content streams the body of each content blob of contentType whose
// contentCreated lies in [start, end), one at a time, each blob once per
// call; fn must consume body before it returns (the body is bounded like
// every response: deadline, idle timeout, size cap). The window is listed
// in 24-hour slices (the API's limit), each followed through its
// NextPageUri pages; a start more than 7 days back is moved to the oldest
// time the API lists (MaxLookback): older content has expired. Listings
// are by the time content became available, not by when its events
// happened, and blobs are not in event order.
//
// Errors are *Error values that wrap tenant.ErrAccessDenied (401/403,
// with the API's message), tenant.ErrNotSubscribed (no started or a
// disabled subscription for contentType), tenant.ErrAuditingDisabled
// (the tenant's unified audit log is off), tenant.ErrThrottled,
// tenant.ErrUnreachable, tenant.ErrBadRequest or tenant.ErrNotFound; an
// error fn returns comes back wrapped with the blob's id.
func (c *Client) Content(ctx context.Context, contentType string, start, end time.Time, fn func(contentID string, body io.Reader) error) error {
	return c.walk(ctx, contentType, start, end, func(b listing) error { return c.blob(ctx, b, fn) })
}

// walk lists the window's blobs, slice by slice and page by page, and
// hands each new one to each.
func (c *Client) walk(ctx context.Context, contentType string, start, end time.Time, each func(listing) error) error {
	start, end = start.UTC(), end.UTC()
	if oldest := c.now().UTC().Add(-MaxLookback + lookbackMargin); start.Before(oldest) {
		c.log.LogAttrs(ctx, slog.LevelDebug, "activityfeed: start moved to the API's 7-day limit",
			slog.Time("asked", start), slog.Time("start", oldest))
		start = oldest
	}
	if !start.Before(end) {
		return nil
	}
	seen := make(map[string]struct{})
	// Slices run on whole seconds (the API's resolution) from start
	// rounded down; what they list beyond [start, end) is dropped.
	for s := start.Truncate(time.Second); s.Before(end); s = s.Add(sliceLength) {
		e := s.Add(sliceLength)
		if end.Before(e) {
			e = end
		}
		if e.Truncate(time.Second) != e {
			e = e.Truncate(time.Second).Add(time.Second)
		}
		q := url.Values{}
		q.Set("contentType", contentType)
		q.Set("startTime", apiTime(s))
		q.Set("endTime", apiTime(e))
		if err := c.slice(ctx, contentType, c.feed+"/subscriptions/content?"+q.Encode(), start, end, seen, each); err != nil {
			return err
		}
	}
	return nil
}

// List streams the id and URI of each content blob of contentType whose
// contentCreated lies in [start, end), each once per call, without
// fetching it: the caller reads the ones it wants with Blob. Windows,
// pages and errors are Content's; an error fn returns ends the listing
// and is returned as is.
func (c *Client) List(ctx context.Context, contentType string, start, end time.Time, fn func(contentID, contentURI string) error) error {
	var fnErr error
	err := c.walk(ctx, contentType, start, end, func(b listing) error {
		if err := fn(b.ContentID, b.ContentURI); err != nil {
			fnErr = err
			return err
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// slice lists one window, page by page, and reads each new blob.
func (c *Client) slice(ctx context.Context, contentType, first string, start, end time.Time, seen map[string]struct{}, each func(listing) error) error {
	const op = "GET /subscriptions/content"
	pages := make(map[[sha256.Size]byte]struct{})
	for next := first; next != ""; {
		k := sha256.Sum256([]byte(next))
		if _, ok := pages[k]; ok {
			return &Error{Op: op, Message: errRepeatedPage.Msg, cause: errRepeatedPage}
		}
		pages[k] = struct{}{}
		var page []listing
		var nextPage string
		err := c.do(ctx, op, http.MethodGet, next, nil, "", func(resp *http.Response) error {
			var err error
			page, err = parseListing(resp.Body)
			// The reference names the header NextPageUri; the
			// troubleshooting page calls it NextPageUrl.
			nextPage = strings.TrimSpace(cmp.Or(resp.Header.Get("NextPageUri"), resp.Header.Get("NextPageUrl")))
			return err
		})
		if err != nil {
			return err
		}
		if nextPage != "" {
			if nextPage, err = c.sameOrigin(nextPage); err != nil {
				return &Error{Op: op, Message: "NextPageUri " + err.Error(), Err: tenant.ErrBadRequest}
			}
		}
		for _, b := range page {
			if b.ContentID == "" || b.ContentURI == "" {
				continue
			}
			if !strings.EqualFold(b.ContentType, contentType) && b.ContentType != "" {
				continue
			}
			if t, ok := parseTime(b.ContentCreated); ok && (t.Before(start) || !t.Before(end)) {
				continue
			}
			if _, dup := seen[b.ContentID]; dup {
				continue
			}
			seen[b.ContentID] = struct{}{}
			if err := each(b); err != nil {
				return err
			}
		}
		next = nextPage
	}
	return nil
}

// blob fetches one content blob and hands its body to fn.
func (c *Client) blob(ctx context.Context, b listing, fn func(string, io.Reader) error) error {
	op := "GET /audit/" + clean(b.ContentID, 200)
	u, err := c.sameOrigin(b.ContentURI)
	if err != nil {
		return &Error{Op: op, Message: "contentUri " + err.Error(), Err: tenant.ErrBadRequest}
	}
	var fnErr error
	err = c.do(ctx, op, http.MethodGet, u, nil, "", func(resp *http.Response) error {
		fnErr = fn(b.ContentID, resp.Body)
		if bb, ok := resp.Body.(*httpbound.Body); ok {
			if le := bb.LimitErr(); le != nil {
				return le // the bound, not fn's view of it
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if fnErr != nil {
		return fmt.Errorf("activity feed: content %s: %w", clean(b.ContentID, 200), fnErr)
	}
	return nil
}

// sameOrigin checks that a URL the API sent (a NextPageUri, a contentUri)
// is on the root's scheme and host — the token goes nowhere else — and
// returns it with PublisherIdentifier set.
func (c *Client) sameOrigin(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", errors.New("is not an absolute URL")
	}
	if !strings.EqualFold(u.Scheme, c.origin.Scheme) || !strings.EqualFold(u.Host, c.origin.Host) || u.User != nil {
		return "", fmt.Errorf("points to %s, not %s: refusing to send the token there", redact.URL(u.Scheme+"://"+u.Host), c.origin.String())
	}
	q := u.Query()
	if q.Get("PublisherIdentifier") == "" {
		q.Set("PublisherIdentifier", c.publisher)
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// do sends one request through the pipeline and hands a 2xx answer's
// body to read; anything else is an *Error.
func (c *Client) do(ctx context.Context, op, method, rawURL string, body []byte, contentType string, read func(*http.Response) error) error {
	if !strings.Contains(rawURL, "PublisherIdentifier=") {
		sep := "?"
		if strings.Contains(rawURL, "?") {
			sep = "&"
		}
		rawURL += sep + "PublisherIdentifier=" + url.QueryEscape(c.publisher)
	}
	req, err := runtime.NewRequest(ctx, method, rawURL)
	if err != nil {
		return &Error{Op: op, Message: "bad request URL: " + oneLine(err.Error()), Err: tenant.ErrBadRequest, cause: err}
	}
	runtime.SkipBodyDownload(req) // bodies are streamed through the bounds
	req.Raw().Header.Set("Accept", "application/json")
	if method == http.MethodPost {
		if body == nil {
			body = []byte{}
		}
		if err := req.SetBody(streaming.NopCloser(bytes.NewReader(body)), contentType); err != nil {
			return &Error{Op: op, Message: oneLine(err.Error()), cause: err}
		}
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "activityfeed: request", slog.String("op", op))
	resp, err := c.pl.Do(req)
	if err != nil {
		return redact.Error(callError(ctx, op, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return httpError(op, resp)
	}
	if err := read(resp); err != nil {
		var le *httpbound.Error
		if errors.As(err, &le) {
			return callError(ctx, op, le)
		}
		if bb, ok := resp.Body.(*httpbound.Body); ok {
			if le := bb.LimitErr(); le != nil {
				return callError(ctx, op, le)
			}
		}
		if ctx.Err() != nil {
			return callError(ctx, op, err)
		}
		return &Error{Op: op, Status: resp.StatusCode, Message: "cannot decode the answer: " + oneLine(err.Error()), cause: err}
	}
	return nil
}

// Blob fetches the one content blob at contentURI — the contentUri a
// webhook notification announced — and hands its body to fn, bounded like
// every read. The URI must lie under this tenant's feed (root +
// /api/v1.0/{tenant}/activity/feed/audit/…): a notification body is
// untrusted, and the token goes nowhere else. contentID names the blob in
// errors (and is passed to fn). Errors are those of Content; a URI outside
// the feed wraps tenant.ErrBadRequest and sends nothing.
func (c *Client) Blob(ctx context.Context, contentID, contentURI string, fn func(contentID string, body io.Reader) error) error {
	op := "GET /audit/" + clean(contentID, 200)
	if !c.inFeed(contentURI) {
		return &Error{Op: op, Message: "contentUri is not a blob of this tenant's feed", Err: tenant.ErrBadRequest}
	}
	return c.blob(ctx, listing{ContentID: contentID, ContentURI: contentURI}, fn)
}

// inFeed reports whether raw is a blob URL of this tenant's feed: the
// root's scheme and host, the path root + /api/v1.0/{tenant}/activity/feed/audit/
// and one segment, no query but PublisherIdentifier, no fragment.
func (c *Client) inFeed(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Fragment != "" || !strings.EqualFold(u.Scheme, c.origin.Scheme) || !strings.EqualFold(u.Host, c.origin.Host) {
		return false
	}
	for k := range u.Query() {
		if k != "PublisherIdentifier" {
			return false
		}
	}
	f, _ := url.Parse(c.feed)
	id, ok := strings.CutPrefix(u.Path, f.Path+"/audit/") // unescaped: %2e%2e and %2f are seen as what they are
	return ok && id != "" && !strings.Contains(id, "/") && id != "." && id != ".."
}
