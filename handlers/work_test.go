package handlers_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tenantwatch/tenantwatch/handlers"
	"github.com/tenantwatch/tenantwatch/shared/graph/webhook"
)

func TestProcessChanges(t *testing.T) {
	t.Parallel()
	changeMsg := mustJSON(t, notificationOf("n1", subA, "u1"))
	lifecycleMsg := `{"subscriptionId":"` + subA + `","tenantId":"` + tenant + `","lifecycleEvent":"reauthorizationRequired"}`
	boom := errors.New("delta round failed")
	tests := []struct {
		name       string
		body       []byte
		svcErr     error
		wantStatus int
		wantCalls  []call
		wantLog    string // substring of the invocation log
	}{
		{
			name:       "change notification goes to ProcessChanges",
			body:       queueInvoke(t, changeMsg),
			wantStatus: http.StatusOK,
			wantCalls:  []call{{Method: "ProcessChanges", Arg: ptr(notificationOf("n1", subA, "u1"))}},
		},
		{
			name:       "lifecycle event goes to Lifecycle",
			body:       queueInvoke(t, lifecycleMsg),
			wantStatus: http.StatusOK,
			wantCalls:  []call{{Method: "Lifecycle", Arg: &webhook.Notification{SubscriptionID: subA, TenantID: tenant, LifecycleEvent: webhook.LifecycleReauthorizationRequired}}},
		},
		{
			name:       "single-encoded message",
			body:       []byte(`{"Data":{"msg":` + mustJSON(t, changeMsg) + `},"Metadata":{}}`),
			wantStatus: http.StatusOK,
			wantCalls:  []call{{Method: "ProcessChanges", Arg: ptr(notificationOf("n1", subA, "u1"))}},
		},
		{
			name:       "message as an object",
			body:       []byte(`{"Data":{"msg":` + changeMsg + `},"Metadata":{}}`),
			wantStatus: http.StatusOK,
			wantCalls:  []call{{Method: "ProcessChanges", Arg: ptr(notificationOf("n1", subA, "u1"))}},
		},
		{
			name:       "message handed over as base64 bytes",
			body:       []byte(`{"Data":{"msg":` + mustJSON(t, base64.StdEncoding.EncodeToString([]byte(changeMsg))) + `},"Metadata":{}}`),
			wantStatus: http.StatusOK,
			wantCalls:  []call{{Method: "ProcessChanges", Arg: ptr(notificationOf("n1", subA, "u1"))}},
		},
		{
			name:       "ProcessChanges error: 500 so the host retries, error in Logs",
			body:       queueInvoke(t, changeMsg),
			svcErr:     boom,
			wantStatus: http.StatusInternalServerError,
			wantCalls:  []call{{Method: "ProcessChanges", Arg: ptr(notificationOf("n1", subA, "u1"))}},
			wantLog:    "delta round failed",
		},
		{
			name:       "Lifecycle error: 500",
			body:       queueInvoke(t, lifecycleMsg),
			svcErr:     boom,
			wantStatus: http.StatusInternalServerError,
			wantCalls:  []call{{Method: "Lifecycle", Arg: &webhook.Notification{SubscriptionID: subA, TenantID: tenant, LifecycleEvent: webhook.LifecycleReauthorizationRequired}}},
			wantLog:    "delta round failed",
		},
		{
			name:       "malformed: not JSON — acknowledged, not retried",
			body:       queueInvoke(t, "hello"),
			wantStatus: http.StatusOK,
			wantLog:    "malformed queue message",
		},
		{
			name:       "malformed: JSON without subscriptionId",
			body:       queueInvoke(t, `{"changeType":"updated"}`),
			wantStatus: http.StatusOK,
			wantLog:    "no subscriptionId",
		},
		{
			name:       "malformed: wrong field type",
			body:       queueInvoke(t, `{"subscriptionId":42}`),
			wantStatus: http.StatusOK,
			wantLog:    "malformed queue message",
		},
		{
			name:       "malformed: JSON null",
			body:       queueInvoke(t, `null`),
			wantStatus: http.StatusOK,
			wantLog:    "malformed queue message",
		},
		{
			name:       "malformed: encoded three times",
			body:       []byte(`{"Data":{"msg":` + mustJSON(t, mustJSON(t, mustJSON(t, changeMsg))) + `},"Metadata":{}}`),
			wantStatus: http.StatusOK,
			wantLog:    "malformed queue message",
		},
		{
			name:       "malformed: no msg binding",
			body:       []byte(`{"Data":{},"Metadata":{}}`),
			wantStatus: http.StatusOK,
			wantLog:    "malformed queue message",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svcFn := func(context.Context, webhook.Notification) error { return tc.svcErr }
			svc := &fakeService{ProcessChangesFunc: svcFn, LifecycleFunc: svcFn}
			h, _ := newHandler(svc)
			r := invoke(t, h, "ProcessChanges", tc.body)
			if r.Status != tc.wantStatus {
				t.Errorf("host status %d, want %d (logs %q)", r.Status, tc.wantStatus, r.Logs)
			}
			if diff := cmp.Diff(tc.wantCalls, svc.Calls()); diff != "" {
				t.Errorf("Service calls mismatch (-want +got):\n%s", diff)
			}
			if len(r.Outputs) != 0 {
				t.Errorf("ProcessChanges has outputs %v", r.Outputs)
			}
			if !strings.Contains(strings.Join(r.Logs, "\n"), tc.wantLog) {
				t.Errorf("invocation log %q lacks %q", r.Logs, tc.wantLog)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestTimers(t *testing.T) {
	t.Parallel()
	status := map[string]any{"Last": "2026-03-18T09:58:00+00:00", "Next": "2026-03-18T10:00:00+00:00", "LastUpdated": "2026-03-18T09:58:00+00:00"}
	object := map[string]any{"Schedule": map[string]any{"AdjustForDST": true}, "ScheduleStatus": status, "IsPastDue": false}
	payloads := []struct {
		name  string
		timer any
	}{
		{"object", object},
		{"JSON string", mustJSON(t, object)},
		{"null ScheduleStatus", map[string]any{"Schedule": map[string]any{"AdjustForDST": true}, "ScheduleStatus": nil, "IsPastDue": true}},
		{"unreadable timer data still runs", "not a timer"},
		{"no timer data still runs", nil},
	}
	for _, fn := range []string{"PollDirectory", "PollSignIns", "DailySweep", "RenewSubscriptions", "DeliverAlerts"} {
		for _, p := range payloads {
			t.Run(fn+"/"+p.name, func(t *testing.T) {
				t.Parallel()
				svc := okService()
				h, logs := newHandler(svc)
				r := invoke(t, h, fn, timerInvoke(t, p.timer))
				if r.Status != http.StatusOK {
					t.Fatalf("host status %d, logs %q", r.Status, r.Logs)
				}
				if diff := cmp.Diff([]string{fn}, svc.CallNames()); diff != "" {
					t.Errorf("Service calls mismatch (-want +got):\n%s", diff)
				}
				if len(r.Outputs) != 0 {
					t.Errorf("timer has outputs %v", r.Outputs)
				}
				if !strings.Contains(logs.String(), `"past_due":`) {
					t.Errorf("IsPastDue not logged:\n%s", logs)
				}
			})
		}
		t.Run(fn+"/service error is a failed invocation", func(t *testing.T) {
			t.Parallel()
			svc := &fakeService{} // unfaked: every work method fails
			h, _ := newHandler(svc)
			r := invoke(t, h, fn, timerInvoke(t, object))
			if r.Status != http.StatusInternalServerError {
				t.Fatalf("host status %d, want 500", r.Status)
			}
			if diff := cmp.Diff([]string{fn}, svc.CallNames()); diff != "" {
				t.Errorf("Service calls mismatch (-want +got):\n%s", diff)
			}
			if got := strings.Join(r.Logs, "\n"); !strings.Contains(got, errUnfaked.Error()) || !strings.Contains(got, fn) {
				t.Errorf("invocation log %q lacks the error", got)
			}
		})
	}
}

func TestRouting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/", http.StatusOK},
		{http.MethodHead, "/", http.StatusOK},
		{http.MethodPost, "/", http.StatusMethodNotAllowed},
		{http.MethodGet, "/GraphNotifications", http.StatusMethodNotAllowed},
		{http.MethodPut, "/PollDirectory", http.StatusMethodNotAllowed},
		{http.MethodPost, "/NoSuchFunction", http.StatusNotFound},
		{http.MethodPost, "/graphnotifications", http.StatusNotFound},
		{http.MethodPost, "/api/GraphNotifications", http.StatusNotFound},
		{http.MethodPost, "/GraphNotifications/extra", http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			t.Parallel()
			h, _ := newHandler(okService())
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, strings.NewReader("{}")))
			if got := rec.Result().StatusCode; got != tc.want {
				t.Errorf("%s %s = %d, want %d", tc.method, tc.path, got, tc.want)
			}
		})
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	want := []string{"GraphNotifications", "GraphLifecycle", "ProcessChanges", "PollDirectory", "PollSignIns", "DailySweep", "RenewSubscriptions", "DeliverAlerts", "Doctor", "ActivityNotifications", "ProcessActivity", "PollActivity"}
	if diff := cmp.Diff(want, handlers.Names()); diff != "" {
		t.Errorf("Names() mismatch (-want +got):\n%s", diff)
	}
	names := handlers.Names()
	names[0] = "changed"
	if handlers.Names()[0] != want[0] {
		t.Error("Names() returns the route table itself; callers can change it")
	}
	h, _ := newHandler(okService())
	for _, name := range want {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+name, strings.NewReader(`{"Data":{},"Metadata":{}}`)))
		if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed {
			t.Errorf("POST /%s = %d: not routed", name, rec.Code)
		}
	}
}

// TestInvocationLimits: the handler reads at most about 2 MiB from the host.
// An HTTP function answers its caller 413 (the host gets 200); any other
// function fails the invocation. A body that is not an InvokeRequest fails.
func TestInvocationLimits(t *testing.T) {
	t.Parallel()
	huge := postNotifications(t, `{"value":[]}`+strings.Repeat(`\u0001`, 1<<20)) // 6 MiB once escaped
	tests := []struct {
		name, fn    string
		body        []byte
		wantStatus  int
		wantRes     string // "" = no res output expected
		wantService bool
	}{
		{"HTTP function, oversized invocation", "GraphNotifications", huge, http.StatusOK, "413", false},
		{"lifecycle function, oversized invocation", "GraphLifecycle", huge, http.StatusOK, "413", false},
		{"timer, oversized invocation", "PollDirectory", append([]byte(`{"Data":{"timer":"`), append([]byte(strings.Repeat("x", 3<<20)), []byte(`"}}`)...)...), http.StatusInternalServerError, "", false},
		{"not an InvokeRequest", "PollDirectory", []byte(`not json`), http.StatusInternalServerError, "", false},
		{"req binding missing", "GraphNotifications", []byte(`{"Data":{},"Metadata":{}}`), http.StatusInternalServerError, "", false},
		{"req binding not a request", "GraphNotifications", []byte(`{"Data":{"req":42},"Metadata":{}}`), http.StatusInternalServerError, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc := okService()
			h, _ := newHandler(svc)
			r := invoke(t, h, tc.fn, tc.body)
			if r.Status != tc.wantStatus {
				t.Fatalf("host status %d, want %d (logs %q)", r.Status, tc.wantStatus, r.Logs)
			}
			if tc.wantRes != "" {
				if got := r.httpRes(t).StatusCode; got != tc.wantRes {
					t.Errorf("res status %s, want %s", got, tc.wantRes)
				}
			} else if _, ok := r.Outputs["res"]; ok {
				t.Errorf("unexpected res output")
			}
			if q := r.queued(t); q != nil {
				t.Errorf("queued %v", q)
			}
			if calls := svc.CallNames(); calls != nil {
				t.Errorf("Service called: %v", calls)
			}
		})
	}
}

func TestPanicIsRecovered(t *testing.T) {
	t.Parallel()
	svc := okService()
	svc.DailySweepFunc = func(context.Context) error { panic("nil map somewhere") }
	svc.ClientStateFunc = func(context.Context, string) (string, bool, error) { panic("cache corrupted") }
	h, logs := newHandler(svc)
	for fn, body := range map[string][]byte{
		"DailySweep":         timerInvoke(t, nil),
		"GraphNotifications": postNotifications(t, notifications(t, change("n1", subA, stateA, "u1"))),
	} {
		r := invoke(t, h, fn, body)
		if r.Status != http.StatusInternalServerError {
			t.Errorf("%s: host status %d after a panic, want 500", fn, r.Status)
		}
		if !strings.Contains(strings.Join(r.Logs, "\n"), "panic") {
			t.Errorf("%s: invocation log %q does not mention the panic", fn, r.Logs)
		}
	}
	if !strings.Contains(logs.String(), `"stack":`) {
		t.Errorf("panic stack not logged:\n%s", logs)
	}
	if r := invoke(t, h, "PollDirectory", timerInvoke(t, nil)); r.Status != http.StatusOK {
		t.Errorf("handler unusable after a panic: %d", r.Status)
	}
}

// TestLogLines: every line logged during an invocation names the function
// and the host's invocation id.
func TestLogLines(t *testing.T) {
	t.Parallel()
	svc := okService()
	svc.ProcessChangesFunc = func(context.Context, webhook.Notification) error { return errors.New("boom") }
	h, logs := newHandler(svc)
	invoke(t, h, "GraphNotifications", postNotifications(t, notifications(t, change("n1", subA, stateA, "u1"), change("n2", subA, "bad", "u2"))))
	invoke(t, h, "GraphNotifications", postNotifications(t, `{`))
	invoke(t, h, "ProcessChanges", queueInvoke(t, mustJSON(t, notificationOf("n1", subA, "u1"))))
	invoke(t, h, "ProcessChanges", queueInvoke(t, "junk"))
	invoke(t, h, "PollSignIns", timerInvoke(t, map[string]any{"IsPastDue": true}))
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) < 8 {
		t.Fatalf("only %d log lines:\n%s", len(lines), logs)
	}
	for _, l := range lines {
		if !strings.Contains(l, `"invocation_id":"`+invocationID+`"`) || !strings.Contains(l, `"function":"`) {
			t.Errorf("log line lacks function or invocation_id: %s", l)
		}
	}
	for _, want := range []string{`"msg":"notification dropped"`, `"reason":"clientState mismatch"`, `"msg":"malformed notification body; answered 400"`, `"msg":"invocation failed"`, `"msg":"queue message dropped"`, `"past_due":true`, `"level":"WARN","msg":"timer fired"`, `"dequeue_count":1`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	h := handlers.New(okService(), nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("GET / with nil options = %d", rec.Code)
	}
	h = handlers.New(okService(), &handlers.Options{Now: func() time.Time { return time.Unix(0, 0) }})
	if r := invoke(t, h, "DeliverAlerts", timerInvoke(t, nil)); r.Status != http.StatusOK {
		t.Errorf("DeliverAlerts with a fixed clock = %d", r.Status)
	}
	defer func() {
		if recover() == nil {
			t.Error("New(nil, nil) did not panic")
		}
	}()
	handlers.New(nil, nil)
}

// TestFailureRedacted: a Service error that quotes a signed URL, a
// connection string or a clientState (an adapter that let one through) is
// redacted before it is logged or put in the invocation result the host
// forwards to Application Insights; the host and path stay.
func TestFailureRedacted(t *testing.T) {
	t.Parallel()
	const (
		sig   = "PlantedSasSig0123456789"
		key   = "PlantedFunctionKey0123"
		acct  = "UGxhbnRlZEFjY291bnRLZXk="
		state = "PlantedClientState0123"
	)
	leak := fmt.Errorf("store: create table: unreachable: %w", &url.Error{Op: "Post",
		URL: "https://acct.table.core.windows.net/Tables?sv=2019-02-02&sig=" + sig, Err: errors.New("dial tcp: i/o timeout")})
	svc := okService()
	svc.PollDirectoryFunc = func(context.Context) error { return leak }
	svc.DailySweepFunc = func(context.Context) error {
		return fmt.Errorf("config: AccountName=acct;AccountKey=%s; notification http://h/api/GraphNotifications?code=%s; {\"clientState\":%q}", acct, key, state)
	}
	svc.ClientStateFunc = func(context.Context, string) (string, bool, error) { return "", false, leak }
	svc.ProcessChangesFunc = func(context.Context, webhook.Notification) error { return leak }
	h, logs := newHandler(svc)
	var results []string
	for _, inv := range []struct {
		fn   string
		body []byte
	}{
		{"PollDirectory", timerInvoke(t, nil)},
		{"DailySweep", timerInvoke(t, nil)},
		{"GraphNotifications", postNotifications(t, notifications(t, change("n1", subA, stateA, "u1")))},
		{"ProcessChanges", queueInvoke(t, mustJSON(t, notificationOf("n1", subA, "u1")))},
	} {
		r := invoke(t, h, inv.fn, inv.body)
		if r.Status != http.StatusInternalServerError {
			t.Errorf("%s: status %d, want 500", inv.fn, r.Status)
		}
		results = append(results, strings.Join(r.Logs, "\n"))
	}
	all := logs.String() + strings.Join(results, "\n")
	for _, s := range []string{sig, key, acct, state} {
		if strings.Contains(all, s) {
			t.Errorf("%q reached a log or an invocation result:\n%s", s, all)
		}
	}
	if !strings.Contains(results[0], `Post "https://acct.table.core.windows.net/Tables": dial tcp: i/o timeout`) {
		t.Errorf("the invocation log lost the host and path: %q", results[0])
	}
}
