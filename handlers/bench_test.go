package handlers_test

import (
	"bytes"
	"context"
	"fmt"
	"github.com/tenantwatch/tenantwatch/shared/activityfeed/feedhook"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tenantwatch/tenantwatch/handlers"
	"github.com/tenantwatch/tenantwatch/shared/graph/webhook"
)

// benchService answers clientState look-ups from a map, as the app's cache
// would, and records nothing (the fake's call log would grow and contend).
type benchService struct{ states map[string]string }

func (s benchService) ClientState(_ context.Context, id string) (string, bool, error) {
	v, ok := s.states[id]
	return v, ok, nil
}
func (benchService) ProcessChanges(context.Context, webhook.Notification) error   { return nil }
func (benchService) Lifecycle(context.Context, webhook.Notification) error        { return nil }
func (benchService) PollDirectory(context.Context) error                          { return nil }
func (benchService) Doctor(context.Context) ([]byte, error)                       { return []byte("{}"), nil }
func (benchService) PollSignIns(context.Context) error                            { return nil }
func (benchService) DailySweep(context.Context) error                             { return nil }
func (benchService) RenewSubscriptions(context.Context) error                     { return nil }
func (benchService) DeliverAlerts(context.Context) error                          { return nil }
func (benchService) ActivityAuthID(context.Context) (string, error)               { return "", nil }
func (benchService) ProcessActivity(context.Context, feedhook.Notification) error { return nil }
func (benchService) PollActivity(context.Context) error                           { return nil }

// benchHandler logs JSON to io.Discard, so formatting is paid as in
// production but nothing accumulates.
func benchHandler() http.Handler {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	return handlers.New(benchService{states: map[string]string{subA: stateA, subB: stateB}}, &handlers.Options{Logger: log})
}

// benchBatch is a 10-item notification POST from two known subscriptions.
func benchBatch(b *testing.B) []byte {
	items := make([]map[string]any, 10)
	for i := range items {
		sub, state := subA, stateA
		if i%2 == 1 {
			sub, state = subB, stateB
		}
		items[i] = change(fmt.Sprintf("n%d", i), sub, state, fmt.Sprintf("7d2c1a5e-8f3b-4e1a-9c2d-%012d", i))
	}
	return postNotifications(b, notifications(b, items...))
}

func serveBatch(b *testing.B, h http.Handler, body []byte) {
	req := httptest.NewRequest(http.MethodPost, "/GraphNotifications", bytes.NewReader(body))
	req.Header.Set("X-Azure-Functions-InvocationId", invocationID)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(`"statusCode":"202"`)) || bytes.Count(rec.Body.Bytes(), []byte(`\"subscriptionId\"`)) != 10 {
		b.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
}

// BenchmarkGraphNotifications: one 10-item batch through the full handler
// (invocation decode, parse, 2 clientState look-ups, 10 queue messages).
func BenchmarkGraphNotifications(b *testing.B) {
	h := benchHandler()
	body := benchBatch(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		serveBatch(b, h, body)
	}
}

// BenchmarkGraphNotificationsParallel: the same batch from GOMAXPROCS
// goroutines at once; ns/op is the throughput cost per batch.
func BenchmarkGraphNotificationsParallel(b *testing.B) {
	h := benchHandler()
	body := benchBatch(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			serveBatch(b, h, body)
		}
	})
}
