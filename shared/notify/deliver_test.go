package notify_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/notify"
	"github.com/tenantwatch/tenantwatch/shared/state"
)

// rig is one webhook, sender, store and virtual clock, with logs captured.
type rig struct {
	c    *clock
	w    *webhook
	s    *notify.Sender
	st   *memStore
	logs interface{ String() string }
	opts *notify.DeliverOptions
}

func newRig(t *testing.T, items []state.OutboxItem, script ...reply) *rig {
	t.Helper()
	c := newClock()
	w := newWebhook(t, c, script...)
	log, buf := logBuffer()
	s, err := notify.NewSender(w.URL(), &notify.SenderOptions{AllowHTTPLoopback: true, Now: c.Now, Sleep: c.Sleep, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{c: c, w: w, s: s, st: newMemStore(items...), logs: buf}
	r.opts = &notify.DeliverOptions{Now: c.Now, Sleep: c.Sleep, Logger: log}
	t.Cleanup(func() {
		// The webhook URL is a secret: no log line and no stored error may
		// contain it. The host is logged, so the check cannot pass vacuously.
		out := buf.String()
		if strings.Contains(out, secretSig) || strings.Contains(out, webhookPath) || strings.Contains(out, "sig=") {
			t.Errorf("logs reveal the webhook URL:\n%s", out)
		}
		if !strings.Contains(out, s.Host()) {
			t.Errorf("logs never name the webhook host:\n%s", out)
		}
		for id, it := range r.st.items {
			if strings.Contains(it.LastError, secretSig) || strings.Contains(it.LastError, webhookPath) {
				t.Errorf("item %s: stored error %q reveals the webhook URL", id, it.LastError)
			}
		}
	})
	return r
}

func (r *rig) deliver(t *testing.T) notify.DeliverStats {
	t.Helper()
	stats, err := notify.Deliver(t.Context(), r.st, r.s, r.opts)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	return stats
}

// sentBodies lists the payloads the webhook accepted or refused, in order.
func (r *rig) sentBodies() []string {
	var out []string
	for _, q := range r.w.requests() {
		out = append(out, q.body)
	}
	return out
}

func payloads(ids ...string) []string {
	var out []string
	for _, id := range ids {
		out = append(out, `{"item":"`+id+`"}`)
	}
	return out
}

func TestDeliverAccepted(t *testing.T) {
	r := newRig(t, []state.OutboxItem{item("c"), item("a"), item("b")}, reply{status: 200}, reply{status: 202}, reply{status: 202})
	got := r.deliver(t)
	if diff := cmp.Diff(notify.DeliverStats{Delivered: 3}, got); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(payloads("a", "b", "c"), r.sentBodies()); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	for _, id := range []string{"a", "b", "c"} {
		if it := r.st.get(id); it.Delivered.IsZero() {
			t.Errorf("item %s not marked delivered", id)
		}
	}
	// A second run finds nothing to send.
	if got := r.deliver(t); got != (notify.DeliverStats{}) || len(r.w.requests()) != 3 {
		t.Errorf("second run: %+v, %d requests in all; want nothing sent again", got, len(r.w.requests()))
	}
}

func TestDeliver429ThenAccepted(t *testing.T) {
	r := newRig(t, []state.OutboxItem{item("a"), item("b"), item("c")},
		reply{status: 429, header: map[string]string{"Retry-After": "10"}})
	got := r.deliver(t)
	if diff := cmp.Diff(notify.DeliverStats{Delivered: 3, Retried: 1}, got); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	// a was throttled; b and c were not sent until Retry-After had passed.
	reqs := r.w.requests()
	if diff := cmp.Diff(payloads("a", "a", "b", "c"), r.sentBodies()); diff != "" {
		t.Fatalf("sent (-want +got):\n%s", diff)
	}
	if wait := reqs[1].at.Sub(reqs[0].at); wait < 10*time.Second {
		t.Errorf("resent %v after a 429 with Retry-After 10, want ≥ 10s", wait)
	}
	for _, id := range []string{"a", "b", "c"} {
		if it := r.st.get(id); it.Delivered.IsZero() {
			t.Errorf("item %s lost", id)
		}
	}
	if a := r.st.get("a"); a.Attempts != 1 || !strings.Contains(a.LastError, "429") {
		t.Errorf("item a: attempts %d, last error %q; want the 429 recorded", a.Attempts, a.LastError)
	}
	if b := r.st.get("b"); b.Attempts != 0 {
		t.Errorf("item b: attempts %d, want 0 (released unsent)", b.Attempts)
	}
}

func TestDeliver429LongRetryAfterEndsRun(t *testing.T) {
	r := newRig(t, []state.OutboxItem{item("a"), item("b")},
		reply{status: 429, header: map[string]string{"Retry-After": "3600"}})
	if got, want := r.deliver(t), (notify.DeliverStats{Retried: 1}); got != want {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
	if n := len(r.w.requests()); n != 1 {
		t.Fatalf("%d requests, want 1: the rest of the batch must wait", n)
	}
	// Everything waits until the Retry-After time, capped at MaxBackoff.
	for _, id := range []string{"a", "b"} {
		if it := r.st.get(id); !it.NextAttempt.Equal(t0.Add(30*time.Minute)) || !it.LeaseUntil.IsZero() {
			t.Errorf("item %s: next attempt %v, lease %v; want released until %v", id, it.NextAttempt, it.LeaseUntil, t0.Add(30*time.Minute))
		}
	}
	if got := r.deliver(t); got != (notify.DeliverStats{}) {
		t.Errorf("run before the retry time: %+v, want nothing", got)
	}
	r.c.Advance(30 * time.Minute)
	if got, want := r.deliver(t), (notify.DeliverStats{Delivered: 2}); got != want {
		t.Errorf("run after the retry time: %+v, want %+v", got, want)
	}
}

func TestDeliverTransientThenAccepted(t *testing.T) {
	r := newRig(t, []state.OutboxItem{item("a")}, reply{status: 500}, reply{status: 503}, reply{status: 500}, reply{status: 200})
	var total notify.DeliverStats
	for attempt := 1; attempt <= 4; attempt++ {
		failedAt := r.c.Now()
		got := r.deliver(t)
		total.Delivered += got.Delivered
		total.Retried += got.Retried
		total.Failed += got.Failed
		it := r.st.get("a")
		if attempt == 4 {
			if it.Delivered.IsZero() {
				t.Fatal("not delivered after the fourth attempt")
			}
			break
		}
		// Back-off: 5s, 10s, 20s, each with jitter between half and all.
		full := 5 * time.Second << (attempt - 1)
		if d := it.NextAttempt.Sub(failedAt); d < full/2 || d > full {
			t.Errorf("attempt %d: next attempt after %v, want between %v and %v", attempt, d, full/2, full)
		}
		if it.Attempts != attempt || !strings.Contains(it.LastError, "answered 5") {
			t.Errorf("attempt %d: attempts %d, last error %q", attempt, it.Attempts, it.LastError)
		}
		r.c.Advance(it.NextAttempt.Sub(r.c.Now()))
	}
	if want := (notify.DeliverStats{Delivered: 1, Retried: 3}); total != want {
		t.Errorf("stats = %+v, want %+v", total, want)
	}
	if n := len(r.w.requests()); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

func TestDeliverPermanent(t *testing.T) {
	r := newRig(t, []state.OutboxItem{item("a"), item("b")}, reply{status: 413, body: "Request entity too large"}, reply{status: 202})
	if got, want := r.deliver(t), (notify.DeliverStats{Delivered: 1, Failed: 1}); got != want {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
	a := r.st.get("a")
	if !a.Delivered.IsZero() || !a.NextAttempt.Equal(t0.Add(30*time.Minute)) || !strings.Contains(a.LastError, "413") || !strings.Contains(a.LastError, "Request entity too large") {
		t.Errorf("item a = %+v; want kept, retried after MaxBackoff, with the 413 recorded", a)
	}
	if r.st.get("b").Delivered.IsZero() {
		t.Error("item b: a permanent failure must not hold back the rest")
	}
	if !strings.Contains(r.logs.String(), `"level":"ERROR"`) {
		t.Error("a refused alert is not logged at error level")
	}
}

func TestDeliverNetworkError(t *testing.T) {
	r := newRig(t, []state.OutboxItem{item("a")})
	r.w.srv.Close()
	if got, want := r.deliver(t), (notify.DeliverStats{Retried: 1}); got != want {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
	if a := r.st.get("a"); a.Attempts != 1 || !strings.Contains(a.LastError, r.s.Host()) {
		t.Errorf("item a = %+v; want one attempt and the error naming the host", a)
	}
}

func TestDeliverRate(t *testing.T) {
	var items []state.OutboxItem
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		items = append(items, item(id))
	}
	r := newRig(t, items)
	r.opts.Batch = 3 // several claims share the Sender's limiter
	if got := r.deliver(t); got.Delivered != 8 {
		t.Fatalf("stats = %+v", got)
	}
	reqs := r.w.requests()
	for i := 1; i < len(reqs); i++ {
		if gap := reqs[i].at.Sub(reqs[i-1].at); gap < 250*time.Millisecond {
			t.Errorf("request %d started %v after the previous one, want ≥ 250ms", i, gap)
		}
	}
}

func TestDeliverNeverResendsDelivered(t *testing.T) {
	done := item("a")
	done.Delivered = t0.Add(-time.Minute)
	r := newRig(t, []state.OutboxItem{done, item("b")})
	r.st.ignoreDue = true // a store that hands out a delivered item
	if got, want := r.deliver(t), (notify.DeliverStats{Delivered: 1}); got != want {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
	if diff := cmp.Diff(payloads("b"), r.sentBodies()); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	if !contains(r.st.completes, "a") {
		t.Error("the delivered item was not completed again")
	}
}

func TestDeliverTerminatesWhenStoreReturnsUndueItems(t *testing.T) {
	r := newRig(t, []state.OutboxItem{item("a")}, reply{status: 500})
	r.st.ignoreDue = true
	if got, want := r.deliver(t), (notify.DeliverStats{Retried: 1}); got != want {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
	if n := len(r.w.requests()); n != 1 {
		t.Errorf("%d requests, want the item sent once per run", n)
	}
}

func TestDeliverCompleteFails(t *testing.T) {
	boom := errors.New("etag mismatch")
	r := newRig(t, []state.OutboxItem{item("a")})
	r.st.completeErr = boom
	stats, err := notify.Deliver(t.Context(), r.st, r.s, r.opts)
	if !errors.Is(err, boom) || stats.Delivered != 1 {
		t.Errorf("Deliver = %+v, %v; want the send counted and the store error returned", stats, err)
	}
	if !strings.Contains(r.logs.String(), "may be posted again") {
		t.Error("at-least-once duplicate risk not logged")
	}
}

func TestDeliverCanceled(t *testing.T) {
	r := newRig(t, []state.OutboxItem{item("a")})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	stats, err := notify.Deliver(ctx, r.st, r.s, r.opts)
	if !errors.Is(err, context.Canceled) || stats != (notify.DeliverStats{}) || len(r.w.requests()) != 0 {
		t.Errorf("Deliver = %+v, %v after %d requests; want nothing sent and context.Canceled", stats, err, len(r.w.requests()))
	}
	r.s.Send(t.Context(), []byte("{}")) // so the host is logged once (the rig checks it)
}

func TestDeliverNeedsStoreAndSender(t *testing.T) {
	if _, err := notify.Deliver(t.Context(), nil, nil, nil); err == nil {
		t.Error("Deliver(nil, nil) succeeded")
	}
}
