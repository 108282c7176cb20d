package graphsim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
)

// hookRecorder is a webhook endpoint that answers 200 and keeps every
// notification POST (validation requests apart).
type hookRecorder struct {
	mu    sync.Mutex
	posts []hookPost
}

type hookPost struct {
	authID string
	body   []map[string]string
}

func (h *hookRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Webhook-ValidationCode") == "" {
		var body []map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		h.mu.Lock()
		h.posts = append(h.posts, hookPost{authID: r.Header.Get("Webhook-AuthID"), body: body})
		h.mu.Unlock()
	}
	w.WriteHeader(http.StatusOK)
}

func (h *hookRecorder) got() []hookPost {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookPost(nil), h.posts...)
}

// TestActivityNotifications: a blob that becomes available is announced
// to the subscription's webhook with Webhook-AuthID and the documented
// entry (tenantId, clientId, contentType, contentId, contentUri,
// contentCreated, contentExpiration) whose contentUri serves the blob;
// DuplicateNotifications sends it twice; an expired webhook is listed as
// such and gets nothing more, until the subscription is started again.
func TestActivityNotifications(t *testing.T) {
	rec := &hookRecorder{}
	hook := httptest.NewServer(rec)
	t.Cleanup(hook.Close)
	sim := activitySim(t, &graphsim.Options{AllowHTTPNotificationURL: true, DuplicateNotifications: true})
	h := sim.Handler()
	start := feedBase + "/subscriptions/start?contentType=Audit.Exchange"
	if r := post(t, h, http.MethodPost, start, `{"webhook":{"address":"`+hook.URL+`/hook","authId":"secret-a"}}`); r.status != 200 {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	id, err := sim.AppendActivityContent("Audit.Exchange", testNow, []graphsim.Object{{{"CreationTime", testNow}, {"Id", "n1"}, {"Operation", "MailItemsAccessed"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.WaitDeliveries(t.Context()); err != nil {
		t.Fatal(err)
	}
	posts := rec.got()
	if len(posts) != 2 {
		t.Fatalf("%d notification posts, want 2 (duplicated): %+v", len(posts), posts)
	}
	for _, p := range posts {
		if p.authID != "secret-a" || len(p.body) != 1 {
			t.Fatalf("post %+v", p)
		}
		e := p.body[0]
		for _, k := range []string{"tenantId", "clientId", "contentType", "contentId", "contentUri", "contentCreated", "contentExpiration"} {
			if e[k] == "" {
				t.Errorf("notification lacks %s: %v", k, e)
			}
		}
		if e["contentId"] != id || e["tenantId"] != tinyTenantID || !strings.HasSuffix(e["contentUri"], "/activity/feed/audit/"+id) {
			t.Errorf("entry %v (blob %s)", e, id)
		}
	}
	// The contentUri serves the blob (the simulator's URL as the start
	// request reached it).
	if r := get(t, h, posts[0].body[0]["contentUri"]); r.status != 200 || !strings.Contains(string(r.body), `"n1"`) {
		t.Errorf("contentUri: %d %s", r.status, r.body)
	}
	if d := sim.Deliveries(); len(d) != 2 || d[0].Kind != "activity" || d[0].SubscriptionID != "Audit.Exchange" {
		t.Errorf("deliveries %+v", d)
	}

	if err := sim.ExpireActivityWebhook("Audit.Exchange"); err != nil {
		t.Fatal(err)
	}
	if _, status, ok := sim.ActivityWebhook("Audit.Exchange"); !ok || status != "expired" {
		t.Errorf("webhook status %q %v, want expired", status, ok)
	}
	if l := get(t, h, feedBase+"/subscriptions/list"); !strings.Contains(string(l.body), `"webhook":{"status":"expired"`) {
		t.Errorf("list: %s", l.body)
	}
	if _, err := sim.AppendActivityContent("Audit.Exchange", testNow, []graphsim.Object{{{"Id", "n2"}}}); err != nil {
		t.Fatal(err)
	}
	if err := sim.WaitDeliveries(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.got()); n != 2 {
		t.Errorf("%d posts after the webhook expired, want still 2", n)
	}
	// Started again: enabled, notified.
	if r := post(t, h, http.MethodPost, start, `{"webhook":{"address":"`+hook.URL+`/hook","authId":"secret-b"}}`); r.status != 200 {
		t.Fatalf("restart: %d %s", r.status, r.body)
	}
	if _, err := sim.AppendActivityContent("Audit.Exchange", testNow, []graphsim.Object{{{"Id", "n3"}}}); err != nil {
		t.Fatal(err)
	}
	if err := sim.WaitDeliveries(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ps := rec.got(); len(ps) != 4 || ps[3].authID != "secret-b" {
		t.Errorf("after restart: %+v", ps)
	}
	if r := post(t, h, http.MethodPost, "http://graph.test"+graphsim.AdminExpireWebhookPath+"?contentType=Audit.General", ""); r.status != 404 {
		t.Errorf("expire without a webhook: %d %s", r.status, r.body)
	}
	if r := post(t, h, http.MethodPost, "http://graph.test"+graphsim.AdminExpireWebhookPath+"?contentType=Audit.Exchange", ""); r.status != 204 {
		t.Errorf("admin expire: %d %s", r.status, r.body)
	}
}
