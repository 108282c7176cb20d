package graphsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Delivery of change and lifecycle notifications
// (concepts/change-notifications-delivery-webhooks.md,
// concepts/change-notifications-lifecycle-events.md):
//
//   - A change to a user (group) is POSTed to every live subscription on
//     users (groups) whose changeType includes it: creation, updates and
//     soft deletion as "updated", permanent deletion as "deleted". The body
//     is a changeNotificationCollection with one item:
//     {"value":[{"subscriptionId","subscriptionExpirationDateTime",
//     "changeType","resource":"Users/<id>","resourceData":{"@odata.type":
//     "#Microsoft.Graph.User","@odata.id":"Users/<id>","id":"<id>",
//     "organizationId":"<tenant id>"},"clientState","tenantId"}]}
//     ("resourceData carries only the id": fetch the object or run delta).
//   - Each POST runs on its own goroutine with the publishing client's 3 s
//     timeout ("Reply 2xx within 3 s"), and is recorded (Deliveries,
//     Stats.Notifications). The simulator does not retry a failed POST.
//   - Options.DuplicateNotifications sends each one twice: Graph delivers at
//     least once.
//   - Lifecycle notifications ({"value":[{"lifecycleEvent","subscriptionId",
//     "subscriptionExpirationDateTime","clientState","tenantId"}]}, the
//     documented reauthorizationRequired example) go to
//     lifecycleNotificationUrl. After reauthorizationRequired the
//     subscription's change notifications are held ("change notifications
//     remain paused") until POST /reauthorize or a renewal, and dropped if
//     held over four hours ("Microsoft Graph will drop the notifications
//     four hours after they are paused"). subscriptionRemoved deletes the
//     subscription after the notification is sent; missed changes nothing.

// Lifecycle events accepted by SendLifecycle.
const (
	LifecycleReauthorizationRequired = "reauthorizationRequired"
	LifecycleSubscriptionRemoved     = "subscriptionRemoved"
	LifecycleMissed                  = "missed"
)

// ErrNoLifecycleURL: the subscription was created without a
// lifecycleNotificationUrl.
const ErrNoLifecycleURL = constError("graphsim: the subscription has no lifecycleNotificationUrl")

// pausedDropAfter is how long Graph holds the notifications of a paused
// subscription.
const pausedDropAfter = 4 * time.Hour

// Delivery is one notification POST the tenant made.
type Delivery struct {
	Kind           string          `json:"kind"` // "change" or "lifecycle"
	SubscriptionID string          `json:"subscriptionId"`
	URL            string          `json:"url"`  // without its query (it may hold a function key)
	Copy           int             `json:"copy"` // 1, or 2 for the duplicate of Options.DuplicateNotifications
	Sent           time.Time       `json:"sent"` // tenant clock
	Status         int             `json:"status"`
	Error          string          `json:"error,omitempty"`
	Latency        time.Duration   `json:"latency"`
	Body           json.RawMessage `json:"body"`
}

// Deliveries returns every notification POST finished so far, in the
// order they finished.
func (s *Server) Deliveries() []Delivery {
	s.delMu.Lock()
	defer s.delMu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// WaitDeliveries waits until no notification POST is in flight, or ctx is
// done.
func (s *Server) WaitDeliveries(ctx context.Context) error {
	s.delMu.Lock()
	if s.inflightN == 0 {
		s.delMu.Unlock()
		return nil
	}
	ch := s.idle
	s.delMu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) startDelivery() {
	s.delMu.Lock()
	if s.inflightN == 0 {
		s.idle = make(chan struct{})
	}
	s.inflightN++
	s.delMu.Unlock()
}

func (s *Server) finishDelivery(d Delivery) {
	s.delMu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.inflightN--
	if s.inflightN == 0 {
		close(s.idle)
	}
	s.delMu.Unlock()
	s.mu.Lock()
	s.stats.Notifications[d.Status]++
	s.mu.Unlock()
}

// post sends body to target asynchronously (twice with
// DuplicateNotifications) and records the outcome.
func (s *Server) post(kind, subID, target string, body []byte) {
	s.postWith(kind, subID, target, body, nil)
}

// postWith is post with extra request headers (the Management Activity
// API's Webhook-AuthID).
func (s *Server) postWith(kind, subID, target string, body []byte, header http.Header) {
	copies := 1
	if s.dupNotes {
		copies = 2
	}
	for c := 1; c <= copies; c++ {
		s.startDelivery()
		go func(c int) {
			d := Delivery{Kind: kind, SubscriptionID: subID, URL: stripQuery(target), Copy: c, Sent: s.Clock(), Body: body}
			ctx, cancel := context.WithTimeout(context.Background(), s.deliverTTL)
			defer cancel()
			start := time.Now()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
			if err == nil {
				req.Header.Set("Content-Type", "application/json; charset=utf-8")
				for k, vs := range header {
					req.Header[k] = vs
				}
				var res *http.Response
				if res, err = s.client.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
					res.Body.Close()
					d.Status = res.StatusCode
				}
			}
			d.Latency = time.Since(start)
			if err != nil {
				d.Error = err.Error()
			}
			s.log.Debug("graphsim: notification", "kind", kind, "subscription", subID, "url", d.URL, "status", d.Status, "err", d.Error)
			s.finishDelivery(d)
		}(c)
	}
}

// resumeLocked ends a pause: held notifications younger than four hours
// are sent, older ones dropped. The caller holds subMu.
func (s *Server) resumeLocked(sub *subscription, now time.Time) {
	if !sub.paused {
		return
	}
	sub.paused = false
	for _, p := range sub.pending {
		if now.Sub(p.queued) > pausedDropAfter {
			s.startDelivery()
			s.finishDelivery(Delivery{Kind: "change", SubscriptionID: sub.id, URL: stripQuery(sub.notificationURL),
				Copy: 1, Sent: now, Error: "dropped: held over four hours while the subscription was paused", Body: p.body})
			continue
		}
		s.post("change", sub.id, sub.notificationURL, p.body)
	}
	sub.pending = nil
}

// notify sends a change notification for object id of kind to every live
// subscription that asked for changeType, and returns their ids.
func (s *Server) notify(kind ObjectKind, id, changeType string) []string {
	if kind != KindUser && kind != KindGroup {
		return nil
	}
	typ, res := "#Microsoft.Graph.User", "Users/"+id
	if kind == KindGroup {
		typ, res = "#Microsoft.Graph.Group", "Groups/"+id
	}
	now := s.Clock()
	s.subMu.Lock()
	defer s.subMu.Unlock()
	s.pruneLocked(now)
	var ids []string
	for _, sub := range s.sortedLocked() {
		if sub.kind != kind || !sub.types[changeType] {
			continue
		}
		var cs any
		if sub.clientState != "" {
			cs = sub.clientState
		}
		body := appendJSON(nil, Object{{"value", []any{Object{
			{"subscriptionId", sub.id},
			{"subscriptionExpirationDateTime", FormatTime(sub.expires)},
			{"changeType", changeType},
			{"resource", res},
			{"resourceData", Object{
				{"@odata.type", typ},
				{"@odata.id", res},
				{"id", id},
				{"organizationId", s.store.tenantID},
			}},
			{"clientState", cs},
			{"tenantId", s.store.tenantID},
		}}}})
		ids = append(ids, sub.id)
		if sub.paused {
			sub.pending = append(sub.pending, pendingNote{body: body, queued: now})
			continue
		}
		s.post("change", sub.id, sub.notificationURL, body)
	}
	return ids
}

// SendLifecycle posts a lifecycle notification (reauthorizationRequired,
// subscriptionRemoved or missed) for a live subscription to its
// lifecycleNotificationUrl, asynchronously. It fails with ErrNotFound,
// ErrNoLifecycleURL or ErrInvalid (unknown event).
func (s *Server) SendLifecycle(subscriptionID, event string) error {
	switch event {
	case LifecycleReauthorizationRequired, LifecycleSubscriptionRemoved, LifecycleMissed:
	default:
		return fmt.Errorf("%w: lifecycle event %q (want %s, %s or %s)", ErrInvalid, event,
			LifecycleReauthorizationRequired, LifecycleSubscriptionRemoved, LifecycleMissed)
	}
	now := s.Clock()
	s.subMu.Lock()
	defer s.subMu.Unlock()
	s.pruneLocked(now)
	sub := s.subs[strings.ToLower(subscriptionID)]
	if sub == nil {
		return fmt.Errorf("%w: subscription %s", ErrNotFound, subscriptionID)
	}
	if sub.lifecycleURL == "" {
		return fmt.Errorf("%w: %s", ErrNoLifecycleURL, sub.id)
	}
	var cs any
	if sub.clientState != "" {
		cs = sub.clientState
	}
	body := appendJSON(nil, Object{{"value", []any{Object{
		{"lifecycleEvent", event},
		{"subscriptionId", sub.id},
		{"subscriptionExpirationDateTime", FormatTime(sub.expires)},
		{"clientState", cs},
		{"tenantId", s.store.tenantID},
	}}}})
	s.post("lifecycle", sub.id, sub.lifecycleURL, body)
	switch event {
	case LifecycleReauthorizationRequired:
		sub.paused = true
	case LifecycleSubscriptionRemoved:
		delete(s.subs, sub.id)
	}
	return nil
}
