package handlers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/activityfeed/feedhook"
)

// processActivity is the ProcessActivity function: one activity-content
// message (an feedhook.Notification as JSON, usually double-encoded by
// the host) → Service.ProcessActivity, which fetches the blob, runs the
// Exchange rules and queues the cards. A Service error fails the
// invocation: the host retries the message, then poisons it (the poll
// reads the blob anyway). A malformed message is logged and acknowledged,
// as in ProcessChanges: only ActivityNotifications writes this queue.
func (s *server) processActivity(ctx context.Context, inv *invocation) (InvokeResponse, error) {
	md := queueMetadata(inv.req.Metadata)
	log := inv.log.With("message_id", md.ID, "dequeue_count", md.DequeueCount)
	n, err := decodeActivityMessage(inv.req.Data[bindingMsg])
	if err != nil {
		log.Error("queue message dropped", "err", err)
		return InvokeResponse{Logs: []string{"dropped: " + err.Error()}}, nil
	}
	log.Info("content blob announced", "content_id", clip(n.ContentID), "content_created", clip(n.ContentCreated))
	if err := s.svc.ProcessActivity(ctx, n); err != nil {
		return InvokeResponse{}, fmt.Errorf("content blob %s: %w", clip(n.ContentID), err)
	}
	return InvokeResponse{Logs: []string{"content blob handled"}}, nil
}

// decodeActivityMessage reads a queue message as decodeMessage does; one
// without contentId or contentUri is malformed.
func decodeActivityMessage(raw json.RawMessage) (feedhook.Notification, error) {
	var n feedhook.Notification
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
		return feedhook.Notification{}, fmt.Errorf("%w: %v", errMalformedMessage, err)
	}
	if n.ContentID == "" || n.ContentURI == "" {
		return feedhook.Notification{}, fmt.Errorf("%w: no contentId or contentUri", errMalformedMessage)
	}
	return n, nil
}

// pollActivity is the PollActivity timer: Service.PollActivity lists the
// Management Activity API content since the watermark (the fallback of the
// notifications) and reconciles the subscription and its webhook.
func (s *server) pollActivity(ctx context.Context, inv *invocation) (InvokeResponse, error) {
	return s.runTimer(ctx, inv, s.svc.PollActivity)
}
