package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/tenantwatch/tenantwatch/shared/activityfeed/feedhook"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/handlers"
	"github.com/tenantwatch/tenantwatch/shared/graph/webhook"
)

// Fixture identities shared by the tests and testdata/invoke.
const (
	subA   = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"
	stateA = "secretClientValue"
	subB   = "1b7e9a3c-5d2f-4c8e-a6b4-9f0e1d2c3b4a"
	stateB = "otherSecretValue"
	tenant = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
	// activityAuthID is the Management Activity API webhook's
	// Webhook-AuthID secret of the fixtures.
	activityAuthID = "webhookAuthIdValue-0123"
)

// call is one recorded Service call.
type call struct {
	Method string                 `json:"method"`
	Arg    *webhook.Notification  `json:"arg,omitempty"`
	Blob   *feedhook.Notification `json:"blob,omitempty"`
}

// fakeService is a handlers.Service whose methods are function fields. A nil
// field fails the call loudly (errUnfaked); every call is recorded.
type fakeService struct {
	ClientStateFunc        func(ctx context.Context, id string) (string, bool, error)
	ProcessChangesFunc     func(ctx context.Context, n webhook.Notification) error
	LifecycleFunc          func(ctx context.Context, n webhook.Notification) error
	PollDirectoryFunc      func(ctx context.Context) error
	PollSignInsFunc        func(ctx context.Context) error
	DailySweepFunc         func(ctx context.Context) error
	RenewSubscriptionsFunc func(ctx context.Context) error
	DeliverAlertsFunc      func(ctx context.Context) error
	DoctorFunc             func(ctx context.Context) ([]byte, error)
	ActivityAuthIDFunc     func(ctx context.Context) (string, error)
	ProcessActivityFunc    func(ctx context.Context, n feedhook.Notification) error
	PollActivityFunc       func(ctx context.Context) error

	mu    sync.Mutex
	calls []call
}

var _ handlers.Service = (*fakeService)(nil)

var errUnfaked = errors.New("fake: method not faked")

func (f *fakeService) record(method string, n *webhook.Notification) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{Method: method, Arg: n})
}

// Calls returns the recorded calls.
func (f *fakeService) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// CallNames returns the recorded method names (ClientState calls included).
func (f *fakeService) CallNames() []string {
	var out []string
	for _, c := range f.Calls() {
		out = append(out, c.Method)
	}
	return out
}

func (f *fakeService) ClientState(ctx context.Context, id string) (string, bool, error) {
	f.record("ClientState", &webhook.Notification{SubscriptionID: id})
	if f.ClientStateFunc == nil {
		return "", false, errUnfaked
	}
	return f.ClientStateFunc(ctx, id)
}

func (f *fakeService) ProcessChanges(ctx context.Context, n webhook.Notification) error {
	f.record("ProcessChanges", &n)
	if f.ProcessChangesFunc == nil {
		return errUnfaked
	}
	return f.ProcessChangesFunc(ctx, n)
}

func (f *fakeService) Lifecycle(ctx context.Context, n webhook.Notification) error {
	f.record("Lifecycle", &n)
	if f.LifecycleFunc == nil {
		return errUnfaked
	}
	return f.LifecycleFunc(ctx, n)
}

func (f *fakeService) timer(name string, fn func(context.Context) error, ctx context.Context) error {
	f.record(name, nil)
	if fn == nil {
		return errUnfaked
	}
	return fn(ctx)
}

func (f *fakeService) PollDirectory(ctx context.Context) error {
	return f.timer("PollDirectory", f.PollDirectoryFunc, ctx)
}
func (f *fakeService) PollSignIns(ctx context.Context) error {
	return f.timer("PollSignIns", f.PollSignInsFunc, ctx)
}
func (f *fakeService) DailySweep(ctx context.Context) error {
	return f.timer("DailySweep", f.DailySweepFunc, ctx)
}
func (f *fakeService) RenewSubscriptions(ctx context.Context) error {
	return f.timer("RenewSubscriptions", f.RenewSubscriptionsFunc, ctx)
}
func (f *fakeService) DeliverAlerts(ctx context.Context) error {
	return f.timer("DeliverAlerts", f.DeliverAlertsFunc, ctx)
}

func (f *fakeService) Doctor(ctx context.Context) ([]byte, error) {
	f.record("Doctor", nil)
	if f.DoctorFunc == nil {
		return nil, errUnfaked
	}
	return f.DoctorFunc(ctx)
}

func (f *fakeService) ActivityAuthID(ctx context.Context) (string, error) {
	f.record("ActivityAuthID", nil)
	if f.ActivityAuthIDFunc == nil {
		return "", errUnfaked
	}
	return f.ActivityAuthIDFunc(ctx)
}

func (f *fakeService) ProcessActivity(ctx context.Context, n feedhook.Notification) error {
	f.mu.Lock()
	f.calls = append(f.calls, call{Method: "ProcessActivity", Blob: &n})
	f.mu.Unlock()
	if f.ProcessActivityFunc == nil {
		return errUnfaked
	}
	return f.ProcessActivityFunc(ctx, n)
}

func (f *fakeService) PollActivity(ctx context.Context) error {
	return f.timer("PollActivity", f.PollActivityFunc, ctx)
}

// states fakes ClientState from a fixed table of known subscriptions.
func states(known map[string]string) func(context.Context, string) (string, bool, error) {
	return func(_ context.Context, id string) (string, bool, error) {
		s, ok := known[id]
		return s, ok, nil
	}
}

// okService accepts everything: subA and subB are known, work succeeds.
func okService() *fakeService {
	ok := func(context.Context) error { return nil }
	okN := func(context.Context, webhook.Notification) error { return nil }
	return &fakeService{
		ClientStateFunc:        states(map[string]string{subA: stateA, subB: stateB}),
		ProcessChangesFunc:     okN,
		LifecycleFunc:          okN,
		PollDirectoryFunc:      ok,
		PollSignInsFunc:        ok,
		DailySweepFunc:         ok,
		RenewSubscriptionsFunc: ok,
		DeliverAlertsFunc:      ok,
		ActivityAuthIDFunc:     func(context.Context) (string, error) { return activityAuthID, nil },
		ProcessActivityFunc:    func(context.Context, feedhook.Notification) error { return nil },
		PollActivityFunc:       ok,
		DoctorFunc: func(context.Context) ([]byte, error) {
			return []byte(`{"target":"https://graph.microsoft.com","checks":[{"name":"User.Read.All","status":"ok","detail":"GET /users answered"}]}`), nil
		},
	}
}

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newHandler returns the handler under test and its JSON log output.
func newHandler(svc handlers.Service) (http.Handler, *syncBuffer) {
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return handlers.New(svc, &handlers.Options{Logger: log}), logs
}

// result is the host's view of one invocation.
type result struct {
	Status  int
	Outputs map[string]json.RawMessage
	Logs    []string
}

const invocationID = "c0ffee00-1234-4abc-8def-0123456789ab"

// invoke POSTs body to /fn as the host does and decodes the answer. It
// fails the test if any non-HTTP output is not an array of JSON-object
// strings (the base64 trap: see doc.go, Results).
func invoke(t testing.TB, h http.Handler, fn string, body []byte) result {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/"+fn, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Azure-Functions-InvocationId", invocationID)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	defer res.Body.Close()
	var out struct {
		Outputs map[string]json.RawMessage
		Logs    []string
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatalf("%s: response is not an InvokeResponse: %v", fn, err)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", fn, ct)
	}
	for name, raw := range out.Outputs {
		if name == "res" {
			continue
		}
		var msgs []string
		if err := json.Unmarshal(raw, &msgs); err != nil {
			t.Errorf("%s: output %q is %s, want an array of strings", fn, name, raw)
			continue
		}
		for _, m := range msgs {
			if !strings.HasPrefix(m, "{") || !json.Valid([]byte(m)) {
				t.Errorf("%s: output %q holds %q, want a JSON object (base64 trap)", fn, name, m)
			}
		}
	}
	return result{Status: res.StatusCode, Outputs: out.Outputs, Logs: out.Logs}
}

// httpRes decodes the "res" output.
func (r result) httpRes(t testing.TB) handlers.HTTPResponse {
	t.Helper()
	raw, ok := r.Outputs["res"]
	if !ok {
		t.Fatalf("no res output (status %d, logs %q)", r.Status, r.Logs)
	}
	var res handlers.HTTPResponse
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("res output %s: %v", raw, err)
	}
	return res
}

// queued decodes the "changes" output (nil when absent).
func (r result) queued(t testing.TB) []webhook.Notification {
	t.Helper()
	raw, ok := r.Outputs["changes"]
	if !ok {
		return nil
	}
	var msgs []string
	if err := json.Unmarshal(raw, &msgs); err != nil {
		t.Fatalf("changes output %s: %v", raw, err)
	}
	out := make([]webhook.Notification, len(msgs))
	for i, m := range msgs {
		if strings.Contains(m, "clientState") {
			t.Errorf("queued message %d carries a clientState: %s", i, m)
		}
		if err := json.Unmarshal([]byte(m), &out[i]); err != nil {
			t.Fatalf("queued message %d %q: %v", i, m, err)
		}
	}
	return out
}

// httpInvoke builds an HTTP-trigger invocation. query is put in Data.req.Query
// as given (an object, the string "{}", …); url is the full request URL.
func httpInvoke(t testing.TB, url string, query any, body string) []byte {
	t.Helper()
	req := map[string]any{
		"Url":     url,
		"Method":  "POST",
		"Query":   query,
		"Headers": map[string][]string{"Content-Type": {"application/json"}},
		"Params":  map[string]string{},
	}
	if body != "" {
		req["Body"] = body
	}
	b, err := json.Marshal(map[string]any{"Data": map[string]any{"req": req}, "Metadata": map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const notificationURL = "https://tw.example.net/api/GraphNotifications?code=key"

// postNotifications is httpInvoke with the usual URL and query.
func postNotifications(t testing.TB, body string) []byte {
	t.Helper()
	return httpInvoke(t, notificationURL, map[string]string{"code": "key"}, body)
}

// change is one change notification item in Graph's wire shape.
func change(id, sub, state, user string) map[string]any {
	return map[string]any{
		"id": id, "subscriptionId": sub, "subscriptionExpirationDateTime": "2026-03-19T22:11:09.952Z",
		"clientState": state, "changeType": "updated", "resource": "Users/" + user, "tenantId": tenant,
		"resourceData": map[string]any{"@odata.type": "#Microsoft.Graph.User", "@odata.id": "Users/" + user, "id": user},
	}
}

// lifecycle is one lifecycle notification item in Graph's wire shape.
func lifecycle(sub, state, event string) map[string]any {
	return map[string]any{
		"subscriptionId": sub, "subscriptionExpirationDateTime": "2026-03-20T11:00:00.0000000Z",
		"tenantId": tenant, "clientState": state, "lifecycleEvent": event,
	}
}

// notifications renders items as a notification body.
func notifications(t testing.TB, items ...map[string]any) string {
	t.Helper()
	if items == nil {
		items = []map[string]any{}
	}
	b, err := json.Marshal(map[string]any{"value": items})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// queueInvoke builds a queue-trigger invocation whose message text is msg,
// serialised again as the host does (double encoding).
func queueInvoke(t testing.TB, msg string) []byte {
	t.Helper()
	once, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{
		"Data":     map[string]any{"msg": string(once)},
		"Metadata": map[string]any{"DequeueCount": 1, "Id": "m-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// timerInvoke builds a timer invocation; timer is put in Data.timer as given.
func timerInvoke(t testing.TB, timer any) []byte {
	t.Helper()
	data := map[string]any{}
	if timer != nil {
		data["timer"] = timer
	}
	b, err := json.Marshal(map[string]any{"Data": data, "Metadata": map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustJSON renders v as JSON text.
func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// notificationOf is the queued form Graph's change(...) item should take.
func notificationOf(id, sub, user string) webhook.Notification {
	return webhook.Notification{
		ID: id, SubscriptionID: sub, ChangeType: "updated", Resource: "Users/" + user, TenantID: tenant,
		ResourceID: user, ResourceType: "#Microsoft.Graph.User",
		SubscriptionExpiration: time.Date(2026, 3, 19, 22, 11, 9, 952_000_000, time.UTC),
	}
}
