package graph

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	absauth "github.com/microsoft/kiota-abstractions-go/authentication"
	kauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"

	"github.com/tenantwatch/tenantwatch/shared/graph/internal/typednull"
	"github.com/tenantwatch/tenantwatch/shared/httpbound"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// DefaultURL is the Microsoft Graph root used when NewClient gets "".
const DefaultURL = "https://graph.microsoft.com"

// Scope is the OAuth scope requested for Graph tokens: the application
// permissions granted to the app.
const Scope = "https://graph.microsoft.com/.default"

// Retry limits.
const (
	DefaultMaxRetries = 6
	maxMaxRetries     = 10
)

// Auth selects how requests are authenticated.
type Auth int

const (
	// AuthAzure attaches a bearer token from ClientOptions.Credential
	// (shared/identity builds it), which it requires.
	AuthAzure Auth = iota
	// AuthNone sends no Authorization header. Only loopback hosts
	// (127.0.0.0/8, ::1, localhost) are accepted: the simulated tenant and
	// tests.
	AuthNone
)

// String returns "azure" or "none".
func (a Auth) String() string {
	switch a {
	case AuthAzure:
		return "azure"
	case AuthNone:
		return "none"
	}
	return fmt.Sprintf("auth(%d)", int(a))
}

// ClientOptions configures NewClient. The zero value is usable.
type ClientOptions struct {
	// Credential gets the tokens when Auth is AuthAzure, which requires it:
	// the process's one credential (shared/identity).
	Credential azcore.TokenCredential
	// Transport is the base transport under the Graph middleware (tests and
	// benchmarks count requests with it). nil means a clone of
	// http.DefaultTransport with a 100 s response-header timeout.
	Transport http.RoundTripper
	// MaxRetries is how often a request answered 429, 503 or 504 is retried,
	// waiting Retry-After (or backing off exponentially without it).
	// 0 means DefaultMaxRetries; more than 10 means 10; negative disables
	// retries.
	MaxRetries int
	// RetryBudget is the total one request (a page and its retries) may wait before
	// retries; an answer asking for a longer wait than what is left ends
	// the read at once. 0 or less means DefaultRetryBudget.
	RetryBudget time.Duration
	// AttemptTimeout bounds each attempt of each request, headers and body
	// together (not the waits between attempts). 0 or less means
	// DefaultAttemptTimeout.
	AttemptTimeout time.Duration
	// IdleTimeout ends a read whose response body sends nothing for that
	// long. 0 or less means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxPageBytes caps each response body. 0 or less means
	// DefaultMaxPageBytes.
	MaxPageBytes int64
	// Logger receives retry and per-read debug records; nil discards them.
	Logger *slog.Logger
	// UserAgent, if set, is put in front of the SDK's User-Agent value.
	UserAgent string
	// DisableBeta switches off the reads of Graph's beta endpoint
	// (SignInsBeta), which Microsoft does not support in production: they
	// then send nothing and fail with tenant.ErrBetaDisabled. The zero
	// value reads beta (scan --beta, TENANTWATCH_BETA default on).
	DisableBeta bool
}

// Client reads a tenant through Microsoft Graph v1.0. It is safe for
// concurrent use.
type Client struct {
	sdk     api // the request builders' root
	adapter *msgraphcore.GraphRequestAdapterBase
	base    string // graphURL + "/v1.0", for messages
	log     *slog.Logger
	noBeta  bool // ClientOptions.DisableBeta
	// ahead counts the pages requested ahead (pages.go) whose goroutine
	// has not finished: none outlives its read.
	ahead atomic.Int64
}

// NewClient returns a Client for the Graph root graphURL ("" means
// DefaultURL); requests go to graphURL + "/v1.0/…", keeping any path prefix
// graphURL has. It fails when graphURL is not an absolute http(s) URL, ends
// in a version segment, when AuthNone is asked for a non-loopback host, when
// AuthAzure is asked for plain http to a non-local host or without a
// ClientOptions.Credential.
func NewClient(graphURL string, auth Auth, opts *ClientOptions) (*Client, error) {
	// msgraph-sdk-go-core fills a package-level error registry on first
	// use without a lock: building clients one at a time keeps concurrent
	// callers (parallel tests, a wiring that builds several) from racing
	// on it.
	newClientMu.Lock()
	defer newClientMu.Unlock()
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	root, u, err := parseRoot(graphURL)
	if err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	var provider absauth.AuthenticationProvider
	switch auth {
	case AuthNone:
		if !tenant.IsLoopbackHost(u.Hostname()) {
			return nil, fmt.Errorf("graph: refusing unauthenticated requests to %s: auth none is only for loopback hosts (127.0.0.0/8, ::1, localhost)", root)
		}
		provider = &absauth.AnonymousAuthenticationProvider{}
	case AuthAzure:
		if u.Scheme != "https" && !isLocalName(u.Hostname()) {
			return nil, fmt.Errorf("graph: %s: tokens are only sent over https (or to localhost)", root)
		}
		cred := o.Credential
		if cred == nil {
			return nil, fmt.Errorf("graph: auth azure needs a credential (ClientOptions.Credential)")
		}
		// Valid hosts = the graphURL host: the provider attaches tokens to
		// no other host, and attaches them there even when it is not one
		// of the public Graph hosts.
		provider, err = kauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(
			credential{cred}, []string{Scope}, []string{u.Hostname()})
		if err != nil {
			return nil, fmt.Errorf("graph: azure authentication provider: %w", err)
		}
	default:
		return nil, fmt.Errorf("graph: unknown auth %v", auth)
	}

	c := &Client{base: root + "/v1.0", log: log, noBeta: o.DisableBeta}
	lim := newLimits(&o)

	gopts := clientOptions
	base := o.Transport
	if base == nil {
		base = httpbound.DefaultTransport()
	}
	hc := &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(base, c.middleware(&gopts, lim, o.UserAgent)...),
		// The redirect middleware follows redirects; net/http must not.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		// No client timeout: it would cut the Retry-After waits. Each
		// attempt has its own deadline (the tracker), the waits a budget
		// (the retrier), and callers bound a read with its context.
	}
	parse, serialize := serializers()
	adapter, err := msgraphcore.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		provider, clientOptions, parse, serialize, hc)
	if err != nil {
		return nil, fmt.Errorf("graph: request adapter: %w", err)
	}
	adapter.SetBaseUrl(c.base)
	c.adapter = adapter
	c.sdk = api{adapter: adapter, baseURL: c.base}
	// msgraph-sdk-go-core creates its error-mapping registry lazily, with an
	// unsynchronised check, on the first NewPageIterator. Create it here, so
	// that reads run concurrently on this client do not race to create it.
	msgraphcore.GetErrorFactoryFromRegistry(msgraphcore.PageIteratorErrorRegistryKey)
	return c, nil
}

// parseRoot validates graphURL and returns it without a trailing slash.
func parseRoot(graphURL string) (string, *url.URL, error) {
	if graphURL == "" {
		graphURL = DefaultURL
	}
	u, err := url.Parse(graphURL)
	if err != nil {
		return "", nil, fmt.Errorf("graph: bad graph url %q: %w", graphURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return "", nil, fmt.Errorf("graph: bad graph url %q: want an absolute http(s) url such as %s", graphURL, DefaultURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", nil, fmt.Errorf("graph: bad graph url %q: no user, query or fragment allowed", graphURL)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	if p := strings.ToLower(u.Path); strings.HasSuffix(p, "/v1.0") || strings.HasSuffix(p, "/beta") {
		return "", nil, fmt.Errorf("graph: bad graph url %q: give the graph root without the version (the client adds /v1.0)", graphURL)
	}
	return u.String(), u, nil
}

// isLocalName reports whether the kiota Azure provider accepts plain http
// for host.
func isLocalName(host string) bool {
	return strings.EqualFold(host, "localhost") || host == "127.0.0.1" || host == "::1"
}

// middleware returns the Graph default middleware with the retry handler
// replaced by this package's retrier, in a fixed order (the kiota defaults
// come out of a map in random order), followed by this package's tracker.
func (c *Client) middleware(gopts *msgraphcore.GraphClientOptions, lim limits, userAgent string) []khttp.Middleware {
	mws := msgraphcore.GetDefaultMiddlewaresWithOptions(gopts)
	for i, m := range mws {
		switch m.(type) {
		case *khttp.RetryHandler, khttp.RetryHandler:
			mws[i] = &retrier{l: lim, log: c.log}
		}
	}
	slices.SortStableFunc(mws, func(a, b khttp.Middleware) int { return cmp.Compare(rank(a), rank(b)) })
	return append(mws, tracker{userAgent: userAgent, l: lim})
}

// rank orders middleware outermost first: telemetry, URL replacement,
// retry (each retry re-runs everything inside it), redirect, parameter-name
// decoding, user agent, compression, header inspection.
func rank(m khttp.Middleware) int {
	switch m.(type) {
	case *msgraphcore.GraphTelemetryHandler:
		return 0
	case *khttp.UrlReplaceHandler:
		return 1
	case *retrier:
		return 2
	case *khttp.RedirectHandler:
		return 3
	case *khttp.ParametersNameDecodingHandler:
		return 4
	case *khttp.UserAgentHandler:
		return 5
	case *khttp.CompressionHandler:
		return 6
	case *khttp.HeadersInspectionHandler:
		return 7
	}
	return 8
}

// tracker is the innermost middleware. It runs each attempt under the
// client's per-attempt bounds (limits.attempt), sets the User-Agent prefix,
// records each attempt's status on the read's exchange, so that classify
// knows the HTTP status even when the SDK could not parse the error body,
// and puts typednull on successful JSON bodies. Bodies stay streams: the SDK
// reads them through the bounds and the rewriting.
type tracker struct {
	userAgent string
	l         limits
}

func (t tracker) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	if t.userAgent != "" {
		if ua := req.Header.Get("User-Agent"); !strings.HasPrefix(ua, t.userAgent) {
			req.Header.Set("User-Agent", strings.TrimSpace(t.userAgent+" "+ua))
		}
	}
	resp, err := t.l.attempt(p, i, req)
	x := exchangeFrom(req.Context())
	if err != nil {
		if x != nil {
			x.record(nil, nil)
		}
		return nil, err
	}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		// A redirect's body is never read (the redirect handler follows
		// the Location): let go of it and of the attempt now.
		httpbound.Drain(resp)
		resp.Body = http.NoBody
	case resp.StatusCode >= 400 && x != nil:
		// Keep (the start of) an error body: the page iterator has no
		// error mapping for next pages, and a non-JSON body is not
		// parsed at all, so classify may have to read it itself.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		x.record(resp, body)
		return resp, nil
	case resp.StatusCode >= 200 && resp.StatusCode <= 299 && strings.Contains(resp.Header.Get("Content-Type"), "json"):
		// `"…DateTime": ""` (and empty GUIDs) become null; the length
		// changes.
		resp.Body = typednull.NewReader(resp.Body)
		resp.ContentLength = -1
		resp.Header.Del("Content-Length")
	}
	if x != nil {
		x.record(resp, nil)
	}
	return resp, nil
}

// maxErrorBody bounds how much of an error response is kept.
const maxErrorBody = 64 << 10

// exchange is what one read (all its pages and retries) saw on the wire.
type exchange struct {
	mu       sync.Mutex
	requests int
	retries  int
	status   int    // status of the last response; 0 if none
	ctype    string // Content-Type of the last response
	body     []byte // body of the last response if it was an error
}

type exchangeKey struct{}

func withExchange(ctx context.Context) (context.Context, *exchange) {
	x := &exchange{}
	return context.WithValue(ctx, exchangeKey{}, x), x
}

func exchangeFrom(ctx context.Context) *exchange {
	x, _ := ctx.Value(exchangeKey{}).(*exchange)
	return x
}

func (x *exchange) record(resp *http.Response, body []byte) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.requests++
	x.status, x.ctype, x.body = 0, "", body
	if resp != nil {
		x.status, x.ctype = resp.StatusCode, resp.Header.Get("Content-Type")
	}
}

// contentType is the Content-Type of the last response.
func (x *exchange) contentType() string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.ctype
}

// retried records a retry.
func (x *exchange) retried() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.retries++
}

func (x *exchange) snapshot() (requests, retries, status int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.requests, x.retries, x.status
}

func (x *exchange) errorBody() []byte {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.body
}

// credential marks errors from getting a token, so that classify can tell
// them from transport errors (a credential failure is often itself a
// network error, against the identity endpoint rather than Graph).
type credential struct{ azcore.TokenCredential }

func (c credential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := c.TokenCredential.GetToken(ctx, opts)
	if err != nil {
		return tok, &tokenError{err: err}
	}
	return tok, nil
}

type tokenError struct{ err error }

func (e *tokenError) Error() string { return "get token: " + e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

// newClientMu serialises NewClient (doc.go, "SDK workarounds").
var newClientMu sync.Mutex
