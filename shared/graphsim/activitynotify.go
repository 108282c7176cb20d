package graphsim

import (
	"errors"
	"net/http"
	"strings"
	"time"
)

// Webhook notifications of the simulated Management Activity API
// (office-365-management-activity-api-reference.md, "Receiving
// notifications"): when a content blob becomes available, the webhook of
// its content type's subscription, if it has an enabled one, gets a POST
// with the Webhook-AuthID header (the authId given at start, when there
// was one) and a JSON array of one entry per blob, each
// {tenantId, clientId, contentType, contentId, contentUri, contentCreated,
// contentExpiration}. Like Graph's, the POST is not retried, is recorded
// (Deliveries, Kind "activity", SubscriptionID the content type) and is
// sent twice with Options.DuplicateNotifications: a receiver must expect
// duplicates and missing notifications, and poll as the reference advises.
// A blob appended with a contentCreated after Clock is announced when
// that time comes on the wall clock (at most maxAnnounceDelay later): the
// late blob of the story. An expired webhook (ExpireActivityWebhook, or its
// expiration passed) is listed with status "expired" and notified no more,
// until the subscription is started again.

// maxAnnounceDelay bounds how long a future blob's announcement waits.
const maxAnnounceDelay = time.Hour

// ErrNoActivityWebhook: the content type has no subscription with a webhook.
const ErrNoActivityWebhook = constError("graphsim: no subscription with a webhook for this content type")

// announceActivity notifies the webhook of contentType's subscription of
// blob id, now or when it becomes available.
func (s *Server) announceActivity(contentType, id string, created time.Time) {
	if wait := created.Sub(s.Clock()); wait > 0 {
		time.AfterFunc(min(wait, maxAnnounceDelay), func() { s.announceActivity(contentType, id, s.Clock()) })
		return
	}
	a := s.activity
	a.mu.Lock()
	sub := a.subs[strings.ToLower(contentType)]
	var blob *ActivityBlob
	for i := range a.blobs {
		if a.blobs[i].ContentID == id {
			b := a.blobs[i]
			blob = &b
		}
	}
	if sub == nil || sub.webhook == nil || sub.webhook.expired || blob == nil || s.webhookExpiredLocked(sub.webhook) {
		a.mu.Unlock()
		return
	}
	address, authID, feed := sub.webhook.address, sub.webhook.authID, sub.feed
	a.mu.Unlock()
	entry := listingEntry(feed, *blob)
	entry = append(Object{{"tenantId", s.store.tenantID}, {"clientId", s.appID}}, entry...)
	h := http.Header{}
	if authID != "" {
		h.Set("Webhook-AuthID", authID)
	}
	s.postWith("activity", contentType, address, appendJSON(nil, []any{entry}), h)
}

// webhookExpiredLocked reports whether w's expiration has passed. The
// caller holds activity.mu.
func (s *Server) webhookExpiredLocked(w *activityWebhook) bool {
	if w.expiration == "" {
		return false
	}
	t, err := time.Parse(time.RFC3339Nano, w.expiration)
	return err == nil && !t.After(s.Clock())
}

// ExpireActivityWebhook expires the webhook of contentType's subscription:
// it is listed with status "expired" and notified no more until the
// subscription is started again (with a webhook, validated anew).
func (s *Server) ExpireActivityWebhook(contentType string) error {
	a := s.activity
	a.mu.Lock()
	defer a.mu.Unlock()
	sub := a.subs[strings.ToLower(contentType)]
	if sub == nil || sub.webhook == nil {
		return ErrNoActivityWebhook
	}
	sub.webhook.expired = true
	return nil
}

// ActivityWebhook returns the address and status ("enabled", "expired") of
// the webhook of contentType's subscription; ok is false without one.
func (s *Server) ActivityWebhook(contentType string) (address, status string, ok bool) {
	a := s.activity
	a.mu.Lock()
	defer a.mu.Unlock()
	sub := a.subs[strings.ToLower(contentType)]
	if sub == nil || sub.webhook == nil {
		return "", "", false
	}
	status = "enabled"
	if sub.webhook.expired || s.webhookExpiredLocked(sub.webhook) {
		status = "expired"
	}
	return sub.webhook.address, status, true
}

// expireWebhookAdmin answers POST /_graphsim/activity/expire-webhook?contentType=….
func (s *Server) expireWebhookAdmin(w http.ResponseWriter, r *http.Request) {
	err := s.ExpireActivityWebhook(r.URL.Query().Get("contentType"))
	switch {
	case errors.Is(err, ErrNoActivityWebhook):
		adminError(w, http.StatusNotFound, err.Error())
	case err != nil:
		adminError(w, http.StatusBadRequest, err.Error())
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
