package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/tenantwatch/tenantwatch/shared/graph/webhook"
)

// maxSubscriptionsPerPost bounds the distinct subscription ids one POST may
// make the handler look up. The app keeps a handful of subscriptions (users,
// groups); items naming further ids are dropped unchecked, so a forged batch
// of a thousand random ids costs a bounded number of look-ups.
const maxSubscriptionsPerPost = 64

// maxDropLogs bounds the warnings logged for dropped items per POST; the
// rest are counted in the summary line.
const maxDropLogs = 10

// maxLoggedID bounds how much of a presented subscription id is logged.
const maxLoggedID = 64

// graphNotifications is the GraphNotifications function: Graph's
// notificationUrl. See acceptNotifications.
func (s *server) graphNotifications(ctx context.Context, inv *invocation) (InvokeResponse, error) {
	return s.acceptNotifications(ctx, inv)
}

// acceptNotifications serves both notification URLs. It answers Graph's
// validation handshake (200, the decoded token as text/plain, no Service
// call); otherwise it parses the body (413 when over webhook.MaxBody, 400
// when malformed), checks each item's clientState against the stored one,
// queues the valid items to "changes" as JSON objects without their
// clientState, and answers 202 whatever it dropped, so a forger learns
// nothing. Duplicates are queued as they come: dedupe happens downstream.
// A failed clientState look-up fails the invocation (500: Graph retries).
func (s *server) acceptNotifications(ctx context.Context, inv *invocation) (InvokeResponse, error) {
	raw, ok := inv.req.Data[bindingReq]
	if !ok {
		return InvokeResponse{}, fmt.Errorf("no %q binding in invocation data", bindingReq)
	}
	var req HTTPRequest
	if err := decodeLoose(raw, &req); err != nil {
		return InvokeResponse{}, fmt.Errorf("decode http request: %w", err)
	}
	if tok, ok := req.ValidationToken(); ok {
		// The token is opaque and single-use; log its length, not its text.
		inv.log.Info("validation handshake answered", "token_bytes", len(tok))
		return reply(textResponse(http.StatusOK, tok), nil, "validation handshake answered"), nil
	}
	if len(req.Body) > webhook.MaxBody {
		inv.log.Warn("notification body too large; answered 413", "bytes", len(req.Body))
		return reply(textResponse(http.StatusRequestEntityTooLarge, "payload too large\n"), nil, "body too large: answered 413"), nil
	}
	ns, err := webhook.Parse([]byte(req.Body))
	switch {
	case errors.Is(err, webhook.ErrTooLarge):
		inv.log.Warn("notification batch too large; answered 413", "err", err)
		return reply(textResponse(http.StatusRequestEntityTooLarge, "payload too large\n"), nil, "batch too large: answered 413"), nil
	case err != nil:
		inv.log.Warn("malformed notification body; answered 400", "err", err)
		return reply(textResponse(http.StatusBadRequest, "malformed notification\n"), nil, "malformed body: answered 400"), nil
	}

	type stored struct {
		state string
		ok    bool
	}
	states := make(map[string]stored)
	var msgs []string
	dropped, lifecycle := 0, 0
	for _, n := range ns {
		reason := ""
		st, seen := states[n.SubscriptionID]
		switch {
		case n.SubscriptionID == "":
			reason = "no subscription id"
		case !seen && len(states) >= maxSubscriptionsPerPost:
			reason = "too many subscriptions in one post"
		case !seen:
			state, ok, err := s.svc.ClientState(ctx, n.SubscriptionID)
			if err != nil {
				return InvokeResponse{}, fmt.Errorf("clientState of subscription %q: %w", clip(n.SubscriptionID), err)
			}
			st = stored{state, ok}
			states[n.SubscriptionID] = st
		}
		if reason == "" {
			switch {
			case !st.ok:
				reason = "unknown subscription"
			case !webhook.ClientStateEqual(n.ClientState, st.state):
				reason = "clientState mismatch"
			}
		}
		if reason != "" {
			dropped++
			if dropped <= maxDropLogs {
				// Never log the presented clientState: it may be a near miss of the secret.
				inv.log.Warn("notification dropped", "reason", reason, "subscription_id", clip(n.SubscriptionID))
			}
			continue
		}
		if n.IsLifecycle() {
			lifecycle++
		}
		n.ClientState = "" // the secret is not persisted in the queue
		b, err := json.Marshal(n)
		if err != nil {
			return InvokeResponse{}, fmt.Errorf("encode queue message: %w", err)
		}
		msgs = append(msgs, string(b))
	}
	summary := fmt.Sprintf("queued %d of %d notifications (%d lifecycle, %d dropped)", len(msgs), len(ns), lifecycle, dropped)
	inv.log.Info("notifications accepted", "received", len(ns), "queued", len(msgs), "lifecycle", lifecycle, "dropped", dropped)
	return reply(textResponse(http.StatusAccepted, ""), msgs, summary), nil
}

// reply builds the result of a notification function: the HTTP answer and,
// when there are any, the queue messages (an array of JSON-object strings:
// never a bare word the host would read as base64).
func reply(res HTTPResponse, msgs []string, log string) InvokeResponse {
	out := InvokeResponse{Outputs: map[string]any{bindingRes: res}, Logs: []string{log}}
	if len(msgs) > 0 {
		out.Outputs[bindingChanges] = msgs
	}
	return out
}

// clip shortens an attacker-chosen string before it is logged.
func clip(s string) string {
	if len(s) <= maxLoggedID {
		return s
	}
	return s[:maxLoggedID] + "…"
}
