package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/handlers"
	"github.com/tenantwatch/tenantwatch/shared/graph/webhook"
)

// TestDefaultRunTimeoutUnderFunctionTimeout: a run's deadline ends it
// before the host's functionTimeout, read from host.json.
func TestDefaultRunTimeoutUnderFunctionTimeout(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "host.json"))
	if err != nil {
		t.Fatal(err)
	}
	var host struct {
		FunctionTimeout string `json:"functionTimeout"`
	}
	if err := json.Unmarshal(b, &host); err != nil {
		t.Fatal(err)
	}
	var h, m, s int
	if _, err := fmt.Sscanf(host.FunctionTimeout, "%d:%d:%d", &h, &m, &s); err != nil {
		t.Fatalf("functionTimeout %q is not hh:mm:ss: %v", host.FunctionTimeout, err)
	}
	limit := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second
	if handlers.DefaultRunTimeout <= 0 || handlers.DefaultRunTimeout >= limit {
		t.Errorf("DefaultRunTimeout %v, want positive and under host.json's functionTimeout %v", handlers.DefaultRunTimeout, limit)
	}
}

// TestRunDeadline: a run stuck until its context ends is cut at the run's
// deadline: the invocation fails (500) with the deadline in its log and the
// handler's, and the next run of the same function goes ahead normally.
func TestRunDeadline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fn   string
		body func(t *testing.T) []byte
		set  func(svc *fakeService, work func(context.Context) error)
	}{
		{"PollDirectory", timerBody, func(s *fakeService, w func(context.Context) error) { s.PollDirectoryFunc = w }},
		{"PollSignIns", timerBody, func(s *fakeService, w func(context.Context) error) { s.PollSignInsFunc = w }},
		{"DailySweep", timerBody, func(s *fakeService, w func(context.Context) error) { s.DailySweepFunc = w }},
		{"RenewSubscriptions", timerBody, func(s *fakeService, w func(context.Context) error) { s.RenewSubscriptionsFunc = w }},
		{"DeliverAlerts", timerBody, func(s *fakeService, w func(context.Context) error) { s.DeliverAlertsFunc = w }},
		{"ProcessChanges", func(t *testing.T) []byte { return queueInvoke(t, mustJSON(t, notificationOf("n1", subA, "u1"))) },
			func(s *fakeService, w func(context.Context) error) {
				s.ProcessChangesFunc = func(ctx context.Context, _ webhook.Notification) error { return w(ctx) }
			}},
	}
	for _, tc := range tests {
		t.Run(tc.fn, func(t *testing.T) {
			t.Parallel()
			var runs atomic.Int32
			svc := okService()
			tc.set(svc, func(ctx context.Context) error {
				if runs.Add(1) == 1 { // the first run is stuck until its context ends
					<-ctx.Done()
					return context.Cause(ctx)
				}
				return ctx.Err()
			})
			logs := &syncBuffer{}
			h := handlers.New(svc, &handlers.Options{
				Logger:     slog.New(slog.NewJSONHandler(logs, nil)),
				RunTimeout: 50 * time.Millisecond,
			})
			r := invokeBounded(t, h, tc.fn, tc.body(t))
			if r.Status != http.StatusInternalServerError {
				t.Fatalf("stuck run: host status %d, want 500", r.Status)
			}
			want := tc.fn + " ran past its 50ms deadline"
			if got := strings.Join(r.Logs, "\n"); !strings.Contains(got, want) {
				t.Errorf("invocation log %q lacks %q", got, want)
			}
			if !strings.Contains(logs.String(), `"msg":"invocation failed"`) || !strings.Contains(logs.String(), want) {
				t.Errorf("handler log lacks the failure:\n%s", logs)
			}
			r = invokeBounded(t, h, tc.fn, tc.body(t))
			if r.Status != http.StatusOK {
				t.Fatalf("next run: host status %d, logs %q", r.Status, r.Logs)
			}
			if n := runs.Load(); n != 2 {
				t.Errorf("%d runs, want 2", n)
			}
		})
	}
}

func timerBody(t *testing.T) []byte { return timerInvoke(t, nil) }

// invokeBounded POSTs an invocation whose request ends after a minute:
// without a run deadline of its own, a stuck run then fails on the
// request's, and the test sees the wrong error instead of hanging.
func invokeBounded(t *testing.T, h http.Handler, fn string, body []byte) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/"+fn, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out struct{ Logs []string }
	if err := json.NewDecoder(rec.Result().Body).Decode(&out); err != nil {
		t.Fatalf("%s: response is not an InvokeResponse: %v", fn, err)
	}
	return result{Status: rec.Code, Logs: out.Logs}
}
