package graph_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graph"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

var sentinels = []error{
	tenant.ErrAccessDenied, tenant.ErrNotFound, tenant.ErrThrottled,
	tenant.ErrUnreachable, tenant.ErrBadRequest, tenant.ErrDeltaExpired,
}

// checkSentinel asserts err matches want and no other sentinel (want nil:
// none at all).
func checkSentinel(t *testing.T, err, want error) {
	t.Helper()
	if err == nil {
		t.Fatal("err = nil")
	}
	for _, s := range sentinels {
		if got := errors.Is(err, s); got != (s == want) {
			t.Errorf("errors.Is(err, %q) = %v; err = %v", s, got, err)
		}
	}
}

func signIns(ctx context.Context, c *graph.Client) error {
	return c.SignIns(ctx, since, func(tenant.SignIn) error { return nil })
}

func servicePrincipals(ctx context.Context, c *graph.Client) error {
	return c.ServicePrincipals(ctx, func(tenant.ServicePrincipal) error { return nil })
}

func usersWithActivity(ctx context.Context, c *graph.Client) error {
	return c.Users(ctx, true, func(tenant.User) error { return nil })
}

func grants(ctx context.Context, c *graph.Client) error {
	return c.AppRoleAssignedTo(ctx, "00000000-0000-0000-0000-000000000001", func(tenant.AppRoleAssignment) error { return nil })
}

// TestErrorStatuses: every failed answer comes back as *graph.Error with
// the matching sentinel and a one-line message that says what to do.
func TestErrorStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		serve       func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int)
		read        func(context.Context, *graph.Client) error
		want        error // sentinel; nil for none
		status      int
		code        string
		msg         string   // exact Error(), if set
		contains    []string // substrings of Error()
		permissions string
	}{
		{
			name:   "403 licence",
			serve:  status(http.StatusForbidden, "error-403-nonpremium.json"),
			read:   signIns,
			want:   tenant.ErrAccessDenied,
			status: 403,
			code:   "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
			msg: "graph: GET /auditLogs/signIns: 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant: " +
				"Neither tenant is B2C or tenant doesn't have premium license (needs AuditLog.Read.All and an Entra ID P1 or P2 licence)",
			permissions: "AuditLog.Read.All",
		},
		{
			name:   "403 permission",
			serve:  status(http.StatusForbidden, "error-403-denied.json"),
			read:   servicePrincipals,
			want:   tenant.ErrAccessDenied,
			status: 403,
			code:   "Authorization_RequestDenied",
			msg: "graph: GET /servicePrincipals: 403 Authorization_RequestDenied: " +
				"Insufficient privileges to complete the operation. (needs Application.Read.All)",
			permissions: "Application.Read.All",
		},
		{
			name: "403 not json",
			serve: func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusForbidden)
				w.Write([]byte("<html><body>Forbidden by proxy</body></html>"))
			},
			read:     servicePrincipals,
			want:     tenant.ErrAccessDenied,
			status:   403,
			contains: []string{"403: forbidden (needs Application.Read.All)"},
		},
		{
			name: "403 empty body",
			serve: func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
				w.WriteHeader(http.StatusForbidden)
			},
			read:   servicePrincipals,
			want:   tenant.ErrAccessDenied,
			status: 403,
		},
		{
			name: "403 on second page",
			serve: func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
				if n == 0 {
					f.file(w, http.StatusOK, "users-signin-p1.json")
					return
				}
				f.file(w, http.StatusForbidden, "error-403-denied.json")
			},
			read:     usersWithActivity,
			want:     tenant.ErrAccessDenied,
			status:   403,
			code:     "Authorization_RequestDenied",
			contains: []string{"GET /users: 403 Authorization_RequestDenied", "needs User.Read.All and AuditLog.Read.All and an Entra ID P1 or P2 licence"},
		},
		{
			name:     "404",
			serve:    status(http.StatusNotFound, "error-404.json"),
			read:     grants,
			want:     tenant.ErrNotFound,
			status:   404,
			code:     "Request_ResourceNotFound",
			contains: []string{"graph: GET /servicePrincipals/00000000-0000-0000-0000-000000000001/appRoleAssignedTo: 404 Request_ResourceNotFound: Resource"},
		},
		{
			name:   "400",
			serve:  status(http.StatusBadRequest, "error-400.json"),
			read:   signIns,
			want:   tenant.ErrBadRequest,
			status: 400,
			code:   "BadRequest",
			msg:    "graph: GET /auditLogs/signIns: 400 BadRequest: Invalid filter clause",
		},
		{
			name:     "410",
			serve:    status(http.StatusGone, ""),
			read:     servicePrincipals,
			want:     tenant.ErrDeltaExpired,
			status:   410,
			contains: []string{"410: gone (the delta link expired; run a full round)"},
		},
		{
			name:   "syncStateNotFound",
			serve:  status(http.StatusBadRequest, "error-syncstatenotfound.json"),
			read:   servicePrincipals,
			want:   tenant.ErrDeltaExpired,
			status: 400,
			code:   "syncStateNotFound",
		},
		{
			name:     "401",
			serve:    status(http.StatusUnauthorized, "error-401.json"),
			read:     servicePrincipals,
			want:     nil,
			status:   401,
			code:     "InvalidAuthenticationToken",
			contains: []string{"401 InvalidAuthenticationToken: Access token is empty. (check the credential"},
		},
		{
			name: "500",
			serve: func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
				http.Error(w, "boom", http.StatusInternalServerError)
			},
			read:     servicePrincipals,
			want:     nil,
			status:   500,
			contains: []string{"500: internal server error (graph server error; try again later)"},
		},
		{
			name: "200 not json",
			serve: func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("Content-Type", "text/html")
				w.Write([]byte("<html>captive portal</html>"))
			},
			read:     servicePrincipals,
			want:     nil,
			contains: []string{"graph: GET /servicePrincipals: cannot decode the response:", "(is --graph-url a microsoft graph endpoint?)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, tc.serve)
			err := tc.read(t.Context(), newClient(t, f, nil))
			checkSentinel(t, err, tc.want)
			var ge *graph.Error
			if !errors.As(err, &ge) {
				t.Fatalf("err %T is not *graph.Error", err)
			}
			if ge.Status != tc.status || ge.Code != tc.code {
				t.Errorf("Status, Code = %d, %q; want %d, %q", ge.Status, ge.Code, tc.status, tc.code)
			}
			if tc.permissions != "" && ge.Permission != tc.permissions {
				t.Errorf("Permission = %q, want %q", ge.Permission, tc.permissions)
			}
			msg := err.Error()
			if tc.msg != "" && msg != tc.msg {
				t.Errorf("Error() =\n%s\nwant\n%s", msg, tc.msg)
			}
			for _, s := range tc.contains {
				if !strings.Contains(msg, s) {
					t.Errorf("Error() = %q, want it to contain %q", msg, s)
				}
			}
			if strings.ContainsAny(msg, "\n\r") || !strings.HasPrefix(msg, "graph: ") {
				t.Errorf("Error() is not one graph: line: %q", msg)
			}
		})
	}
}

func status(code int, file string) func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
	return func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
		if file == "" {
			w.WriteHeader(code)
			return
		}
		f.file(w, code, file)
	}
}

// throttle answers 429 (or 503) with Retry-After for the first n requests,
// then serves ok.
func throttle(code, n int, retryAfter, ok string) func(f *fakeGraph, w http.ResponseWriter, r *http.Request, i int) {
	return func(f *fakeGraph, w http.ResponseWriter, r *http.Request, i int) {
		if n < 0 || i < n {
			w.Header().Set("Retry-After", retryAfter)
			f.file(w, code, "error-429.json")
			return
		}
		f.file(w, http.StatusOK, ok)
	}
}

// TestRetry: 429/503 are retried after Retry-After, and the read succeeds.
func TestRetry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		code       int
		failures   int
		retryAfter string
		minElapsed time.Duration
	}{
		{"429 Retry-After 0 twice", http.StatusTooManyRequests, 2, "0", 0},
		{"503 Retry-After 0", http.StatusServiceUnavailable, 1, "0", 0},
		{"429 Retry-After 1", http.StatusTooManyRequests, 1, "1", time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, throttle(tc.code, tc.failures, tc.retryAfter, "signIns.json"))
			rt := &counting{base: http.DefaultTransport}
			c := newClient(t, f, &graph.ClientOptions{Transport: rt})
			start := time.Now()
			got, err := collect(func(fn func(tenant.SignIn) error) error { return c.SignIns(t.Context(), since, fn) })
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if len(got) != 3 {
				t.Errorf("got %d sign-ins, want 3", len(got))
			}
			if n := rt.n.Load(); n != int64(tc.failures+1) {
				t.Errorf("transport saw %d requests, want %d", n, tc.failures+1)
			}
			if el := time.Since(start); el < tc.minElapsed {
				t.Errorf("took %v: Retry-After %s not honoured", el, tc.retryAfter)
			}
			reqs := f.requests()
			if a := reqs[len(reqs)-1].Header.Get("Retry-Attempt"); a != strconv.Itoa(tc.failures) {
				t.Errorf("last Retry-Attempt = %q, want %d", a, tc.failures)
			}
		})
	}
}

// TestThrottledForever: still 429 after the retries allowed is
// ErrThrottled; MaxRetries bounds the attempts.
func TestThrottledForever(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		maxRetries int
		requests   int64
		hint       string
	}{
		{"two retries", 2, 3, "(still throttled after 2 retries; try again later)"},
		{"retries disabled", -1, 1, "(throttled and not retried; try again later)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, throttle(http.StatusTooManyRequests, -1, "0", ""))
			rt := &counting{base: http.DefaultTransport}
			err := signIns(t.Context(), newClient(t, f, &graph.ClientOptions{Transport: rt, MaxRetries: tc.maxRetries}))
			checkSentinel(t, err, tenant.ErrThrottled)
			if n := rt.n.Load(); n != tc.requests {
				t.Errorf("transport saw %d requests, want %d", n, tc.requests)
			}
			want := "graph: GET /auditLogs/signIns: 429 TooManyRequests: Too many requests, please retry later. " + tc.hint
			if err.Error() != want {
				t.Errorf("Error() =\n%s\nwant\n%s", err, want)
			}
		})
	}
}

// TestUnreachable: no HTTP answer at all is ErrUnreachable.
func TestUnreachable(t *testing.T) {
	t.Parallel()

	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		c, err := graph.NewClient("http://"+addr, graph.AuthNone, &graph.ClientOptions{Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Organization(t.Context())
		checkSentinel(t, err, tenant.ErrUnreachable)
		want := "graph: cannot reach http://" + addr + "/v1.0: connection refused (check --graph-url)"
		if err.Error() != want {
			t.Errorf("Error() = %q, want %q", err, want)
		}
		var ne *net.OpError
		if !errors.As(err, &ne) {
			t.Errorf("cause %v is not reachable with errors.As", err)
		}
	})

	t.Run("dns", func(t *testing.T) {
		t.Parallel()
		rt := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nil, &net.DNSError{Err: "no such host", Name: "graph.tenantwatch.invalid", IsNotFound: true}
		}}
		c, err := graph.NewClient("https://graph.tenantwatch.invalid", graph.AuthAzure,
			&graph.ClientOptions{Credential: &fakeCredential{}, Transport: rt})
		if err != nil {
			t.Fatal(err)
		}
		err = servicePrincipals(t.Context(), c)
		checkSentinel(t, err, tenant.ErrUnreachable)
		if want := "graph: cannot reach https://graph.tenantwatch.invalid/v1.0: no such host graph.tenantwatch.invalid (check --graph-url)"; err.Error() != want {
			t.Errorf("Error() = %q, want %q", err, want)
		}
	})

	t.Run("tls", func(t *testing.T) {
		t.Parallel()
		srv := newTLSServer(t)
		c, err := graph.NewClient(srv, graph.AuthAzure, &graph.ClientOptions{Credential: &fakeCredential{}})
		if err != nil {
			t.Fatal(err)
		}
		err = servicePrincipals(t.Context(), c)
		checkSentinel(t, err, tenant.ErrUnreachable)
		if !strings.Contains(err.Error(), "certificate") {
			t.Errorf("Error() = %q, want it to name the certificate problem", err)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		})
		rt := http.DefaultTransport.(*http.Transport).Clone()
		rt.ResponseHeaderTimeout = 50 * time.Millisecond
		err := servicePrincipals(t.Context(), newClient(t, f, &graph.ClientOptions{Transport: rt}))
		checkSentinel(t, err, tenant.ErrUnreachable)
		if !strings.Contains(err.Error(), ": timeout (check --graph-url)") {
			t.Errorf("Error() = %q", err)
		}
	})
}

// TestContextCanceled: a cancelled read is the context's error, not
// ErrUnreachable.
func TestContextCanceled(t *testing.T) {
	t.Parallel()
	f := newFake(t, pages("users.json"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := newClient(t, f, nil).Users(ctx, false, func(tenant.User) error { return nil })
	checkSentinel(t, err, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if want := "graph: GET /users: context canceled"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
}

// TestPermission: the permission table, as error messages use it.
func TestPermission(t *testing.T) {
	t.Parallel()
	f := newFake(t, pages())
	c := newClient(t, f, nil)
	tests := map[tenant.Source]string{
		tenant.SourceOrganization:      "Organization.Read.All",
		tenant.SourceSubscribedSkus:    "Organization.Read.All",
		tenant.SourceUsers:             "User.Read.All",
		tenant.SourceSignInActivity:    "User.Read.All and AuditLog.Read.All (and an Entra ID P1 or P2 licence)",
		tenant.SourceRegistrations:     "AuditLog.Read.All (and an Entra ID P1 or P2 licence)",
		tenant.SourceServicePrincipals: "Application.Read.All",
		tenant.SourceApplications:      "Application.Read.All",
		tenant.SourceResourceGrants:    "Application.Read.All",
		tenant.SourceDirectoryAudits:   "AuditLog.Read.All and Directory.Read.All",
		tenant.SourceSignIns:           "AuditLog.Read.All (and an Entra ID P1 or P2 licence)",
		tenant.SourceCAPolicies:        "Policy.Read.All (and an Entra ID P1 licence)",
		tenant.SourceNamedLocations:    "Policy.Read.All (and an Entra ID P1 licence)",
		tenant.SourceAzureRanges:       "",
	}
	for src, want := range tests {
		if got := c.Permission(src); got != want {
			t.Errorf("Permission(%s) = %q, want %q", src, got, want)
		}
	}
}
