package activityfeed_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/tenantwatch/tenantwatch/shared/activityfeed"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// activityFeed is issue 11's contract (collect.ActivityFeed, declared by
// the consumer in shared/collect): the client must have exactly this
// method.
type activityFeed interface {
	Content(ctx context.Context, contentType string, start, end time.Time,
		fn func(contentID string, body io.Reader) error) error
}

var _ activityFeed = (*activityfeed.Client)(nil)

const tenantID = "11111111-2222-4333-8444-555555555555"

// now is the tests' clock: the 7-day limit is measured from it.
var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// fake is a Management Activity API server whose answers a test sets per
// request; it records what it was asked.
type fake struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []*http.Request
	handle func(w http.ResponseWriter, r *http.Request)
}

func newFake(t *testing.T, h func(f *fake, w http.ResponseWriter, r *http.Request)) *fake {
	f := &fake{t: t}
	f.handle = func(w http.ResponseWriter, r *http.Request) { h(f, w, r) }
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.reqs = append(f.reqs, r)
		f.mu.Unlock()
		f.handle(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// root is the API root the client is given: with a path prefix, so that an
// absolute-URL bug shows.
func (f *fake) root() string { return f.srv.URL + "/prefix" }

func (f *fake) feed() string { return "/prefix/api/v1.0/" + tenantID + "/activity/feed" }

func (f *fake) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

func newClient(t *testing.T, root string, opts *activityfeed.ClientOptions) *activityfeed.Client {
	t.Helper()
	var o activityfeed.ClientOptions
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = func() time.Time { return now }
	}
	c, err := activityfeed.NewClient(root, tenantID, nil, &o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func entry(f *fake, id string, created time.Time) map[string]string {
	return map[string]string{
		"contentType":       "Audit.Exchange",
		"contentId":         id,
		"contentUri":        f.srv.URL + f.feed() + "/audit/" + id,
		"contentCreated":    created.Format("2006-01-02T15:04:05.000Z"),
		"contentExpiration": created.Add(7 * 24 * time.Hour).Format("2006-01-02T15:04:05.000Z"),
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiErr(code, msg string) map[string]any {
	return map[string]any{"error": map[string]string{"code": code, "message": msg}}
}

// collect reads every blob of the window and returns id → body.
func collect(t *testing.T, c *activityfeed.Client, start, end time.Time) (map[string]string, []string, error) {
	t.Helper()
	got := map[string]string{}
	var order []string
	err := c.Content(t.Context(), "Audit.Exchange", start, end, func(id string, body io.Reader) error {
		b, err := io.ReadAll(body)
		if err != nil {
			return err
		}
		if _, dup := got[id]; dup {
			t.Errorf("blob %s handed over twice", id)
		}
		got[id] = string(b)
		order = append(order, id)
		return nil
	})
	return got, order, err
}

// TestContentSlicesPagesAndDeduplicates lists a 30-hour window: two slices
// of at most 24 hours, the first in two pages joined by NextPageUri; a blob
// listed on both pages and in both slices is read once, blobs created
// outside the window are not read, and every request carries
// PublisherIdentifier and no Authorization (no credential on loopback).
func TestContentSlicesPagesAndDeduplicates(t *testing.T) {
	start := now.Add(-30 * time.Hour).Add(500 * time.Millisecond)
	end := now
	var windows [][2]string
	f := newFake(t, func(f *fake, w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == f.feed()+"/subscriptions/content":
			q := r.URL.Query()
			if q.Get("contentType") != "Audit.Exchange" {
				writeJSON(w, 400, apiErr("AF20020", "The specified content type is not valid."))
				return
			}
			s, _ := time.Parse("2006-01-02T15:04:05", q.Get("startTime"))
			e, _ := time.Parse("2006-01-02T15:04:05", q.Get("endTime"))
			if e.Sub(s) > 24*time.Hour {
				writeJSON(w, 400, apiErr("AF20030", "Start time and end time must both be specified (or both omitted) and must be less than or equal to 24 hours apart, with the start time no more than 7 days in the past."))
				return
			}
			if q.Get("nextPage") == "" {
				windows = append(windows, [2]string{q.Get("startTime"), q.Get("endTime")})
			}
			switch {
			case s.Before(now.Add(-24*time.Hour)) && q.Get("nextPage") == "":
				// Documented form: absolute URL, same start and end, a nextPage id.
				w.Header().Set("NextPageUri", f.srv.URL+f.feed()+"/subscriptions/content?contentType=Audit.Exchange&startTime="+q.Get("startTime")+"&endTime="+q.Get("endTime")+"&nextPage=2")
				writeJSON(w, 200, []any{entry(f, "a", start.Add(time.Hour)), entry(f, "dup", start.Add(2*time.Hour)),
					entry(f, "before", start.Add(-time.Second))})
			case s.Before(now.Add(-24 * time.Hour)):
				writeJSON(w, 200, []any{entry(f, "dup", start.Add(2*time.Hour)), entry(f, "b", start.Add(3*time.Hour))})
			default:
				writeJSON(w, 200, []any{entry(f, "c", now.Add(-time.Hour)), entry(f, "dup", start.Add(2*time.Hour)),
					entry(f, "late", now)})
			}
		case strings.HasPrefix(r.URL.Path, f.feed()+"/audit/"):
			id := strings.TrimPrefix(r.URL.Path, f.feed()+"/audit/")
			writeJSON(w, 200, []map[string]any{{"Id": id, "RecordType": 1}})
		default:
			http.NotFound(w, r)
		}
	})
	c := newClient(t, f.root(), nil)
	got, order, err := collect(t, c, start, end)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "dup", "b", "c"}; !slices.Equal(order, want) {
		t.Errorf("blobs read %v, want %v", order, want)
	}
	if !strings.Contains(got["b"], `"Id":"b"`) {
		t.Errorf("blob b body %q", got["b"])
	}
	wantWindows := [][2]string{
		{apiTime(start.Truncate(time.Second)), apiTime(start.Truncate(time.Second).Add(24 * time.Hour))},
		{apiTime(start.Truncate(time.Second).Add(24 * time.Hour)), apiTime(end)},
	}
	if !slices.Equal(windows, wantWindows) {
		t.Errorf("listed windows %v, want %v", windows, wantWindows)
	}
	for _, r := range f.requests() {
		if r.URL.Query().Get("PublisherIdentifier") != tenantID {
			t.Errorf("%s %s without PublisherIdentifier=%s", r.Method, r.URL, tenantID)
		}
		if r.Header.Get("Authorization") != "" {
			t.Errorf("%s sent Authorization without a credential", r.URL.Path)
		}
	}
}

func apiTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }

// TestContentStartsWithinSevenDays: a window reaching further back than
// the API lists starts at its 7-day limit.
func TestContentStartsWithinSevenDays(t *testing.T) {
	var first string
	f := newFake(t, func(f *fake, w http.ResponseWriter, r *http.Request) {
		if first == "" {
			first = r.URL.Query().Get("startTime")
		}
		writeJSON(w, 200, []any{})
	})
	c := newClient(t, f.root(), nil)
	if _, _, err := collect(t, c, now.Add(-30*24*time.Hour), now); err != nil {
		t.Fatal(err)
	}
	s, err := time.Parse("2006-01-02T15:04:05", first)
	if err != nil {
		t.Fatalf("first startTime %q: %v", first, err)
	}
	if s.Before(now.Add(-activityfeed.MaxLookback)) || s.After(now.Add(-activityfeed.MaxLookback+10*time.Minute)) {
		t.Errorf("first startTime %v, want just inside 7 days before %v", s, now)
	}
	if n := len(f.requests()); n != 7 {
		t.Errorf("%d listings for 7 days, want 7", n)
	}
}

// TestContentMisbehaviour: each way the server can misbehave ends the call
// with one line naming what happened, wrapping the right sentinel.
func TestContentMisbehaviour(t *testing.T) {
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	tests := []struct {
		name     string
		opts     activityfeed.ClientOptions
		list     func(f *fake, w http.ResponseWriter, r *http.Request)
		blob     func(f *fake, w http.ResponseWriter, r *http.Request)
		sentinel error
		want     []string
	}{
		{name: "Retry-After beyond the budget",
			list: func(f *fake, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "7200")
				writeJSON(w, 429, apiErr("AF429", "Too many requests. Method=ListContent, PublisherId="+tenantID))
			},
			sentinel: tenant.ErrThrottled,
			want:     []string{"GET /subscriptions/content", "asked to wait 2h0m0s", "Retry-After: 7200", "retry budget"}},
		{name: "AF429 as 403 beyond the budget",
			list: func(f *fake, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "600")
				writeJSON(w, 403, apiErr("AF429", "Too many requests. Method=GetBlob, PublisherId="+tenantID))
			},
			sentinel: tenant.ErrThrottled,
			want:     []string{"asked to wait 10m0s"}},
		{name: "repeated NextPageUri",
			list: func(f *fake, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("NextPageUri", f.srv.URL+f.feed()+"/subscriptions/content?contentType=Audit.Exchange&nextPage=same&PublisherIdentifier="+tenantID)
				writeJSON(w, 200, []any{})
			},
			want: []string{"NextPageUri", "already followed"}},
		{name: "NextPageUri on another host",
			list: func(f *fake, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("NextPageUri", "https://attacker.example/api/v1.0/x/activity/feed/subscriptions/content?token=SECRETVALUE")
				writeJSON(w, 200, []any{})
			},
			sentinel: tenant.ErrBadRequest,
			want:     []string{"refusing to send the token", "https://attacker.example"}},
		{name: "contentUri on another host",
			list: func(f *fake, w http.ResponseWriter, r *http.Request) {
				e := entry(f, "x", now.Add(-time.Hour))
				e["contentUri"] = "http://127.0.0.2:1/api/v1.0/x/activity/feed/audit/x"
				writeJSON(w, 200, []any{e})
			},
			sentinel: tenant.ErrBadRequest,
			want:     []string{"contentUri points to http://127.0.0.2:1"}},
		{name: "trickled blob",
			opts: activityfeed.ClientOptions{IdleTimeout: 50 * time.Millisecond},
			blob: func(f *fake, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte("["))
				w.(http.Flusher).Flush()
				select {
				case <-block:
				case <-r.Context().Done():
				}
			},
			want: []string{"GET /audit/x", "no data for 50ms", "idle timeout"}},
		{name: "oversized blob, streamed",
			opts: activityfeed.ClientOptions{MaxResponseBytes: 1 << 10},
			blob: func(f *fake, w http.ResponseWriter, r *http.Request) {
				w.Write([]byte("["))
				w.(http.Flusher).Flush()
				w.Write([]byte(strings.Repeat(`{"Id":"x"},`, 1000) + "{}]"))
			},
			want: []string{"GET /audit/x", "larger than 1 KiB"}},
		{name: "oversized blob, declared",
			opts: activityfeed.ClientOptions{MaxResponseBytes: 1 << 10},
			blob: func(f *fake, w http.ResponseWriter, r *http.Request) {
				b := "[" + strings.Repeat(`{"Id":"x"},`, 1000) + "{}]"
				w.Header().Set("Content-Length", fmt.Sprint(len(b)))
				w.Write([]byte(b))
			},
			want: []string{"GET /audit/x", "larger than 1 KiB"}},
		{name: "oversized listing",
			opts: activityfeed.ClientOptions{MaxResponseBytes: 1 << 10},
			list: func(f *fake, w http.ResponseWriter, r *http.Request) {
				var es []any
				for i := range 50 {
					es = append(es, entry(f, fmt.Sprint(i), now.Add(-time.Hour)))
				}
				writeJSON(w, 200, es)
			},
			want: []string{"GET /subscriptions/content", "larger than 1 KiB"}},
		{name: "403 without ActivityFeed.Read",
			list: func(f *fake, w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 403, apiErr("AF10001", "The permission set (Mail.Read) sent in the request did not include the expected permission ActivityFeed.Read."))
			},
			sentinel: tenant.ErrAccessDenied,
			want:     []string{"403 AF10001", "did not include the expected permission ActivityFeed.Read", "grant ActivityFeed.Read"}},
		{name: "401",
			list: func(f *fake, w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 401, apiErr("", "Authorization has been denied for this request."))
			},
			sentinel: tenant.ErrAccessDenied,
			want:     []string{"401", "Authorization has been denied"}},
		{name: "no subscription",
			list: func(f *fake, w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 400, apiErr("AF20022", "No subscription found for the specified content type"))
			},
			sentinel: tenant.ErrNotSubscribed,
			want:     []string{"AF20022", "No subscription found", "--start-subscriptions"}},
		{name: "subscription disabled",
			list: func(f *fake, w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 400, apiErr("AF20023", "The subscription was disabled by a tenant admin."))
			},
			sentinel: tenant.ErrNotSubscribed,
			want:     []string{"AF20023", "disabled by a tenant admin"}},
		{name: "tenant not enabled for auditing",
			list: func(f *fake, w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 400, apiErr("ListContent [TenantId="+tenantID+",ContentType=Audit.Exchange] failed. Exception",
					"Microsoft.Office.Compliance.Audit.DataServiceException: Tenant "+tenantID+" does not exist.\r\n   at Microsoft.Office.Compliance.Audit.API.AzureManager.GetSubscriptionTableClientForTenant(Guid tenantID)"))
			},
			sentinel: tenant.ErrAuditingDisabled,
			want:     []string{"DataServiceException: Tenant " + tenantID + " does not exist.", "turn on audit log search"}},
		{name: "invalid content type",
			list: func(f *fake, w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 400, apiErr("AF20020", "The specified content type is not valid."))
			},
			sentinel: tenant.ErrBadRequest,
			want:     []string{"AF20020"}},
		{name: "expired blob",
			blob: func(f *fake, w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 400, apiErr("AF20051", "Content requested with the key x has already expired. Content older than 7 days cannot be retrieved."))
			},
			sentinel: tenant.ErrNotFound,
			want:     []string{"GET /audit/x", "AF20051"}},
		{name: "listing not JSON",
			list: func(f *fake, w http.ResponseWriter, r *http.Request) {
				w.Write([]byte("<html>proxy login</html>"))
			},
			want: []string{"cannot decode", "not the API's JSON array"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(f *fake, w http.ResponseWriter, r *http.Request) {
				switch {
				case r.URL.Path == f.feed()+"/subscriptions/content":
					if tc.list != nil {
						tc.list(f, w, r)
						return
					}
					if r.URL.Query().Get("nextPage") != "" || !strings.HasPrefix(r.URL.Query().Get("startTime"), apiTime(now.Add(-2 * time.Hour))[:10]) {
						writeJSON(w, 200, []any{})
						return
					}
					writeJSON(w, 200, []any{entry(f, "x", now.Add(-time.Hour))})
				case r.URL.Path == f.feed()+"/audit/x" && tc.blob != nil:
					tc.blob(f, w, r)
				default:
					writeJSON(w, 200, []any{})
				}
			})
			c := newClient(t, f.root(), &tc.opts)
			_, _, err := collect(t, c, now.Add(-2*time.Hour), now)
			if err == nil {
				t.Fatal("no error")
			}
			var ae *activityfeed.Error
			if !errors.As(err, &ae) {
				t.Errorf("%T is no *activityfeed.Error: %v", err, err)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("error does not wrap %v: %v", tc.sentinel, err)
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if strings.ContainsAny(msg, "\r\n") || strings.Contains(msg, "SECRETVALUE") || strings.Contains(msg, "PublisherIdentifier") {
				t.Errorf("error is not one redacted line: %q", msg)
			}
		})
	}
}

// TestRetriesThenAnswers: throttling answers (429, 403 AF429, 503, 500
// AF50000) within the budget are retried and the call succeeds.
func TestRetriesThenAnswers(t *testing.T) {
	answers := []func(w http.ResponseWriter){
		func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "0")
			writeJSON(w, 429, apiErr("AF429", "Too many requests."))
		},
		func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "0")
			writeJSON(w, 403, apiErr("AF429", "Too many requests. Method=GetBlob"))
		},
		func(w http.ResponseWriter) { w.Header().Set("Retry-After", "0"); w.WriteHeader(503) },
		func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "0")
			writeJSON(w, 500, apiErr("AF50000", "An internal error occurred. Retry the request."))
		},
	}
	n := 0
	f := newFake(t, func(f *fake, w http.ResponseWriter, r *http.Request) {
		if n < len(answers) {
			answers[n](w)
			n++
			return
		}
		writeJSON(w, 200, []map[string]any{{"contentType": "Audit.Exchange", "status": "enabled", "webhook": nil}})
	})
	c := newClient(t, f.root(), nil)
	subs, err := c.Subscriptions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 1 || !subs[0].Enabled() || subs[0].Webhook != nil {
		t.Errorf("subscriptions %+v", subs)
	}
	if got := len(f.requests()); got != 5 {
		t.Errorf("%d requests, want 5 (4 retried answers and the answer)", got)
	}
}

// TestNoRetryOnRefusal: a 403 that is not AF429 and a 500 without AF50000
// are answers, not retried.
func TestNoRetryOnRefusal(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   string
	}{{403, "AF10001"}, {500, ""}} {
		f := newFake(t, func(f *fake, w http.ResponseWriter, r *http.Request) {
			writeJSON(w, tc.status, apiErr(tc.code, "no"))
		})
		c := newClient(t, f.root(), nil)
		if _, err := c.Subscriptions(t.Context()); err == nil {
			t.Fatalf("%d %s: no error", tc.status, tc.code)
		}
		if got := len(f.requests()); got != 1 {
			t.Errorf("%d %s: %d requests, want 1", tc.status, tc.code, got)
		}
	}
}

// TestStartSubscription sends the documented body and reads the answer;
// the webhook's authId never shows in an error.
func TestStartSubscription(t *testing.T) {
	var got map[string]map[string]any
	var query string
	fail := false
	f := newFake(t, func(f *fake, w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != f.feed()+"/subscriptions/start" {
			http.NotFound(w, r)
			return
		}
		query = r.URL.Query().Get("contentType")
		b, _ := io.ReadAll(r.Body)
		got = nil
		if len(b) > 0 {
			_ = json.Unmarshal(b, &got)
		}
		if fail {
			writeJSON(w, 400, apiErr("AF20021", "The webhook endpoint {https://hook.example/api/x?code=FUNCTIONKEY1}) could not be validated. authId s3cr3t-auth-id-value"))
			return
		}
		writeJSON(w, 200, map[string]any{"contentType": query, "status": "enabled", "webhook": nil})
	})
	c := newClient(t, f.root(), nil)
	sub, err := c.StartSubscription(t.Context(), "Audit.Exchange", nil)
	if err != nil {
		t.Fatal(err)
	}
	if query != "Audit.Exchange" || got != nil || sub.ContentType != "Audit.Exchange" || !sub.Enabled() {
		t.Errorf("start without webhook: query %q body %v answer %+v", query, got, sub)
	}
	fail = true
	_, err = c.StartSubscription(t.Context(), "Audit.Exchange", &activityfeed.Webhook{Address: "https://hook.example/api/x?code=FUNCTIONKEY1", AuthID: "s3cr3t-auth-id-value"})
	if err == nil {
		t.Fatal("no error")
	}
	if got["webhook"]["address"] != "https://hook.example/api/x?code=FUNCTIONKEY1" || got["webhook"]["authId"] != "s3cr3t-auth-id-value" {
		t.Errorf("webhook body %v", got)
	}
	if msg := err.Error(); strings.Contains(msg, "s3cr3t-auth-id-value") || strings.Contains(msg, "FUNCTIONKEY1") || !strings.Contains(msg, "AF20021") {
		t.Errorf("error %q", msg)
	}
	if !errors.Is(err, tenant.ErrBadRequest) {
		t.Errorf("error does not wrap ErrBadRequest: %v", err)
	}
}

// staticCred is a credential that hands out one token.
type staticCred struct{ scopes []string }

func (c *staticCred) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.scopes = o.Scopes
	return azcore.AccessToken{Token: "tok-123", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TestBearerToken: with a credential, each request carries a token for
// the Management API's scope.
func TestBearerToken(t *testing.T) {
	f := newFake(t, func(f *fake, w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, []any{}) })
	cred := &staticCred{}
	c, err := activityfeed.NewClient(f.root(), tenantID, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscriptions(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := f.requests()[0].Header.Get("Authorization"); got != "Bearer tok-123" {
		t.Errorf("Authorization %q", got)
	}
	if !slices.Equal(cred.scopes, []string{"https://manage.office.com/.default"}) {
		t.Errorf("scopes %v", cred.scopes)
	}
}

func TestNewClientRefuses(t *testing.T) {
	tests := []struct {
		name, url, tenant string
		cred              azcore.TokenCredential
		want              string
	}{
		{"no credential off loopback", "https://manage.office.com", tenantID, nil, "only for loopback"},
		{"token over http", "http://manage.example", tenantID, &staticCred{}, "only sent over https"},
		{"version in the root", "https://manage.office.com/api/v1.0", tenantID, &staticCred{}, "without /api/v1.0"},
		{"tenant not a GUID", "https://manage.office.com", "contoso.onmicrosoft.com", &staticCred{}, "not a GUID"},
		{"query", "https://manage.office.com?x=1", tenantID, &staticCred{}, "no user, query"},
		{"not a URL", "manage.office.com", tenantID, &staticCred{}, "absolute http(s) url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := activityfeed.NewClient(tc.url, tc.tenant, tc.cred, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := activityfeed.NewClient("", tenantID, &staticCred{}, nil); err != nil {
		t.Errorf("default URL with a credential: %v", err)
	}
}

// TestUnreachable: no answer is tenant.ErrUnreachable, one line, no
// query.
func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	root := srv.URL
	srv.Close()
	c := newClient(t, root, nil)
	_, err := c.Subscriptions(t.Context())
	if !errors.Is(err, tenant.ErrUnreachable) {
		t.Fatalf("err %v", err)
	}
	if msg := err.Error(); strings.Contains(msg, "PublisherIdentifier") || strings.Contains(msg, "\n") || !strings.Contains(msg, "GET /subscriptions/list") {
		t.Errorf("error %q", msg)
	}
}

// TestFnErrorNamesTheBlob: an error of fn ends the call, wrapped with the
// blob's id.
func TestFnErrorNamesTheBlob(t *testing.T) {
	f := newFake(t, func(f *fake, w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/subscriptions/content") && r.URL.Query().Get("startTime") == apiTime(now.Add(-time.Hour)) {
			writeJSON(w, 200, []any{entry(f, "x", now.Add(-time.Minute)), entry(f, "y", now.Add(-time.Minute))})
			return
		}
		writeJSON(w, 200, []any{})
	})
	c := newClient(t, f.root(), nil)
	boom := errors.New("boom")
	n := 0
	err := c.Content(t.Context(), "Audit.Exchange", now.Add(-time.Hour), now, func(id string, body io.Reader) error {
		n++
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "content x") || n != 1 {
		t.Errorf("err %v after %d calls", err, n)
	}
}

// TestNextPageUrlSpelling: the troubleshooting page's spelling of the
// paging header (NextPageUrl) is followed too.
func TestNextPageUrlSpelling(t *testing.T) {
	f := newFake(t, func(f *fake, w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/subscriptions/content") && r.URL.Query().Get("nextPage") == "":
			w.Header().Set("NextPageUrl", f.srv.URL+f.feed()+"/subscriptions/content?contentType=Audit.Exchange&nextPage=2")
			writeJSON(w, 200, []any{entry(f, "a", now.Add(-time.Minute))})
		case strings.HasSuffix(r.URL.Path, "/subscriptions/content"):
			writeJSON(w, 200, []any{entry(f, "b", now.Add(-time.Minute))})
		default:
			writeJSON(w, 200, []any{})
		}
	})
	_, order, err := collect(t, newClient(t, f.root(), nil), now.Add(-time.Hour), now)
	if err != nil || !slices.Equal(order, []string{"a", "b"}) {
		t.Errorf("read %v, %v; want a then b", order, err)
	}
}
