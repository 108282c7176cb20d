package handlers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/graph/webhook"
)

// errMalformedMessage marks a graph-changes message that cannot be read.
var errMalformedMessage = errors.New("malformed queue message")

// processChanges is the ProcessChanges function: one graph-changes message
// (a webhook.Notification as JSON, usually double-encoded by the host). A
// lifecycle event goes to Service.Lifecycle, a change notification to
// Service.ProcessChanges; a Service error fails the invocation (500), so the
// host retries the message and, after maxDequeueCount attempts, moves it to
// graph-changes-poison.
//
// A malformed message is logged at error level and acknowledged (200), not
// failed: only GraphNotifications and GraphLifecycle write this queue, so an
// unreadable message is a bug or tampering that no retry can fix, and the
// poison queue, which nothing reads, would only hide it after five wasted
// attempts. The log line (and the host's invocation log) is where it shows.
func (s *server) processChanges(ctx context.Context, inv *invocation) (InvokeResponse, error) {
	md := queueMetadata(inv.req.Metadata)
	log := inv.log.With("message_id", md.ID, "dequeue_count", md.DequeueCount)
	n, err := decodeMessage(inv.req.Data[bindingMsg])
	if err != nil {
		log.Error("queue message dropped", "err", err)
		return InvokeResponse{Logs: []string{"dropped: " + err.Error()}}, nil
	}
	log = log.With("subscription_id", clip(n.SubscriptionID))
	if n.IsLifecycle() {
		log.Info("lifecycle event", "event", n.LifecycleEvent)
		if err := s.svc.Lifecycle(ctx, n); err != nil {
			return InvokeResponse{}, fmt.Errorf("lifecycle event %s: %w", n.LifecycleEvent, err)
		}
		return InvokeResponse{Logs: []string{"lifecycle event " + n.LifecycleEvent + " handled"}}, nil
	}
	log.Info("change notification", "change_type", n.ChangeType, "resource_type", n.ResourceType)
	if err := s.svc.ProcessChanges(ctx, n); err != nil {
		return InvokeResponse{}, fmt.Errorf("change notification: %w", err)
	}
	return InvokeResponse{Logs: []string{"change notification handled"}}, nil
}

// decodeMessage reads a queue message: the Notification object, as is or as
// a JSON string once or twice encoded (decodeLoose), or, should the host hand
// the message over as bytes, as the base64 of that object. A message without
// a subscription id is malformed.
func decodeMessage(raw json.RawMessage) (webhook.Notification, error) {
	var n webhook.Notification
	if len(raw) == 0 {
		return n, fmt.Errorf("%w: no %q binding in invocation data", errMalformedMessage, bindingMsg)
	}
	err := decodeLoose(raw, &n)
	if err != nil {
		var s string
		if decodeLoose(raw, &s) == nil {
			if b, berr := base64.StdEncoding.DecodeString(strings.TrimSpace(s)); berr == nil && decodeLoose(b, &n) == nil {
				err = nil
			}
		}
	}
	if err != nil {
		return webhook.Notification{}, fmt.Errorf("%w: %v", errMalformedMessage, err)
	}
	if n.SubscriptionID == "" {
		return webhook.Notification{}, fmt.Errorf("%w: no subscriptionId", errMalformedMessage)
	}
	return n, nil
}
