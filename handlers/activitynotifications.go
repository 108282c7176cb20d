package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/activityfeed/feedhook"
)

// activityNotifications is the ActivityNotifications function: the webhook
// of the Office 365 Management Activity API's Audit.Exchange subscription.
// Every request must present the configured Webhook-AuthID (compared in
// constant time); one that does not is answered 401 and nothing else
// happens. The validation request (a body {"validationCode": …}) is
// answered 200. A notification (a JSON array of content blobs, at most
// feedhook.MaxNotificationBody bytes: 413 above, 400 when malformed)
// queues one activity-content message per Audit.Exchange blob — nothing is
// fetched inline — and is answered 200. Duplicates are queued as they
// come: ProcessActivity claims each blob once.
func (s *server) activityNotifications(ctx context.Context, inv *invocation) (InvokeResponse, error) {
	raw, ok := inv.req.Data[bindingReq]
	if !ok {
		return InvokeResponse{}, fmt.Errorf("no %q binding in invocation data", bindingReq)
	}
	var req HTTPRequest
	if err := decodeLoose(raw, &req); err != nil {
		return InvokeResponse{}, fmt.Errorf("decode http request: %w", err)
	}
	want, err := s.svc.ActivityAuthID(ctx)
	if err != nil {
		return InvokeResponse{}, fmt.Errorf("webhook auth id: %w", err)
	}
	if !feedhook.AuthIDEqual(header(req, "Webhook-AuthID"), want) {
		// Never log the presented value: it may be a near miss of the secret.
		inv.log.Warn("activity notification refused: Webhook-AuthID missing or wrong", "webhook_configured", want != "")
		return feedReply(textResponse(http.StatusUnauthorized, "unauthorized\n"), nil, "Webhook-AuthID refused: answered 401"), nil
	}
	if len(req.Body) > feedhook.MaxNotificationBody {
		inv.log.Warn("activity notification body too large; answered 413", "bytes", len(req.Body))
		return feedReply(textResponse(http.StatusRequestEntityTooLarge, "payload too large\n"), nil, "body too large: answered 413"), nil
	}
	if code, ok := feedhook.ValidationCode([]byte(req.Body)); ok {
		inv.log.Info("activity webhook validation answered", "code_bytes", len(code))
		return feedReply(textResponse(http.StatusOK, ""), nil, "webhook validation answered"), nil
	}
	ns, dropped, err := feedhook.ParseNotifications([]byte(req.Body))
	switch {
	case errors.Is(err, feedhook.ErrNotificationTooLarge):
		inv.log.Warn("activity notification batch too large; answered 413", "err", err)
		return feedReply(textResponse(http.StatusRequestEntityTooLarge, "payload too large\n"), nil, "batch too large: answered 413"), nil
	case err != nil:
		inv.log.Warn("malformed activity notification; answered 400", "err", err)
		return feedReply(textResponse(http.StatusBadRequest, "malformed notification\n"), nil, "malformed body: answered 400"), nil
	}
	var msgs []string
	other := 0
	for _, n := range ns {
		if !strings.EqualFold(n.ContentType, feedhook.ContentTypeExchange) {
			other++ // the app subscribes to Audit.Exchange only
			continue
		}
		// The queue keeps what ProcessActivity needs, not the tenant or
		// client ids.
		b, err := json.Marshal(feedhook.Notification{ContentType: n.ContentType, ContentID: n.ContentID,
			ContentURI: n.ContentURI, ContentCreated: n.ContentCreated})
		if err != nil {
			return InvokeResponse{}, fmt.Errorf("encode queue message: %w", err)
		}
		msgs = append(msgs, string(b))
	}
	inv.log.Info("activity notification accepted", "received", len(ns), "queued", len(msgs), "other_types", other, "dropped", dropped)
	return feedReply(textResponse(http.StatusOK, ""), msgs,
		fmt.Sprintf("queued %d of %d content blobs (%d of other types, %d malformed entries)", len(msgs), len(ns), other, dropped)), nil
}

// feedReply is reply with the activity-content queue.
func feedReply(res HTTPResponse, msgs []string, log string) InvokeResponse {
	out := InvokeResponse{Outputs: map[string]any{bindingRes: res}, Logs: []string{log}}
	if len(msgs) > 0 {
		out.Outputs[bindingBlobs] = msgs
	}
	return out
}

// header returns the first value of the named request header, whatever
// case the host gave its name.
func header(r HTTPRequest, name string) string {
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}
