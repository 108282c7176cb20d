package graphsim_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/golden"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
)

const subsURL = base + "/v1.0/subscriptions"

func createSub(t testing.TB, h http.Handler, body string) (response, map[string]any) {
	t.Helper()
	r := send(t, h, http.MethodPost, subsURL, body, http.Header{"Content-Type": {"application/json"}})
	var m map[string]any
	_ = json.Unmarshal(r.body, &m)
	return r, m
}

func TestSubscriptionHandshake(t *testing.T) {
	cases := []struct {
		mode   string
		status int
		code   string
		msg    string
	}{
		{"echo", 201, "", ""},
		{"wrong-body", 400, "ValidationError", "Subscription validation request failed. Response must exactly match validationToken query parameter."},
		{"encoded", 400, "ValidationError", "Subscription validation request failed. Response must exactly match validationToken query parameter."},
		{"status-500", 400, "ValidationError", "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request."},
		{"html", 400, "ValidationError", "Subscription validation request failed. Response must have content type text/plain."},
		{"hang", 400, "InvalidRequest", "Subscription validation request timed out."},
	}
	for _, tc := range cases {
		t.Run(tc.mode, func(t *testing.T) {
			sim, _ := newClockedSim(t, &graphsim.Options{AllowHTTPNotificationURL: true, ValidationTimeout: 200 * time.Millisecond})
			h := sim.Handler()
			rc := newReceiver(t, tc.mode)
			r, m := createSub(t, h, subscriptionBody(rc, "users", nil))
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if rc.validationCount() != 1 {
				t.Errorf("%d validation requests, want 1", rc.validationCount())
			}
			if got := rc.validationTypes(); len(got) == 1 && got[0] != "text/plain; charset=utf-8" {
				t.Errorf("validation request Content-Type %q", got[0])
			}
			if tc.status != 201 {
				if e := decodeError(t, r); e.Error.Code != tc.code || e.Error.Message != tc.msg {
					t.Errorf("got %q %q, want %q %q", e.Error.Code, e.Error.Message, tc.code, tc.msg)
				}
				if subs := sim.Subscriptions(); len(subs) != 0 {
					t.Errorf("failed validation left subscriptions %v", subs)
				}
				return
			}
			if !uuidRE.MatchString(m["id"].(string)) || m["clientState"] != "s3cr3t-client-state" {
				t.Errorf("created %v", m)
			}
			if subs := sim.Subscriptions(); len(subs) != 1 || subs[0].NotificationURL != rc.srv.URL+"/api/GraphNotifications" {
				t.Errorf("subscriptions %+v", subs)
			}
		})
	}
	t.Run("lifecycle URL validated too", func(t *testing.T) {
		sim, _ := newClockedSim(t, &graphsim.Options{AllowHTTPNotificationURL: true})
		rc, bad := newReceiver(t, "echo"), newReceiver(t, "status-500")
		r, _ := createSub(t, sim.Handler(), subscriptionBody(rc, "users", map[string]any{"lifecycleNotificationUrl": bad.srv.URL + "/api/GraphLifecycle"}))
		if r.status != 400 || bad.validationCount() != 1 {
			t.Errorf("status %d, lifecycle validations %d: %s", r.status, bad.validationCount(), r.body)
		}
		r, _ = createSub(t, sim.Handler(), subscriptionBody(rc, "users", map[string]any{"lifecycleNotificationUrl": rc.srv.URL + "/api/GraphLifecycle"}))
		if r.status != 201 || rc.validationCount() != 3 {
			t.Errorf("status %d, validations %d: %s", r.status, rc.validationCount(), r.body)
		}
	})
}

func TestSubscriptionRequestErrors(t *testing.T) {
	rc := newReceiver(t, "echo")
	long := strings.Repeat("x", 129)
	cases := []struct {
		name     string
		resource string
		extra    map[string]any
		allow    bool
		status   int
		code     string
		msg      string // substring
	}{
		{"unsupported resource", "me/messages", nil, true, 400, "InvalidRequest", "only users and groups"},
		{"unsupported user path", "users/e938aa24-4f2a-4735-b38d-c431ab9db57c/memberOf", nil, true, 400, "InvalidRequest", "not simulated"},
		{"no resource", "", nil, true, 400, "InvalidRequest", "resource is required"},
		{"bad change type", "users", map[string]any{"changeType": "updated,renamed"}, true, 400, "InvalidRequest", "changeType"},
		{"http refused without the option", "users", nil, false, 400, "InvalidRequest", "HTTPS"},
		{"http on a public host refused", "users", map[string]any{"notificationUrl": "http://example.org/hook"}, true, 400, "InvalidRequest", "HTTPS"},
		{"relative URL", "users", map[string]any{"notificationUrl": "/hook"}, true, 400, "InvalidRequest", "absolute"},
		{"expiry too far", "users", map[string]any{"expirationDateTime": testNow.Add(41761 * time.Minute).Format(time.RFC3339)}, true,
			400, "ExtensionError", "Subscription expiration can only be 41760 minutes in the future."},
		{"expiry in the past", "users", map[string]any{"expirationDateTime": testNow.Add(-time.Minute).Format(time.RFC3339)}, true, 400, "InvalidRequest", "future"},
		{"expiry not a date", "users", map[string]any{"expirationDateTime": "tomorrow"}, true, 400, "InvalidRequest", "DateTimeOffset"},
		{"clientState too long", "users", map[string]any{"clientState": long}, true, 400, "InvalidRequest", "128"},
		{"lifecycle over http", "users", map[string]any{"lifecycleNotificationUrl": "http://example.org/lc"}, true, 400, "InvalidRequest", "lifecycleNotificationUrl"},
		{"resource data", "users", map[string]any{"includeResourceData": true}, true, 400, "InvalidRequest", "includeResourceData"},
		{"bad TLS version", "users", map[string]any{"latestSupportedTlsVersion": "v2"}, true, 400, "InvalidRequest", "latestSupportedTlsVersion"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim, _ := newClockedSim(t, &graphsim.Options{AllowHTTPNotificationURL: tc.allow})
			before := rc.validationCount()
			r, _ := createSub(t, sim.Handler(), subscriptionBody(rc, tc.resource, tc.extra))
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if e := decodeError(t, r); e.Error.Code != tc.code || !strings.Contains(e.Error.Message, tc.msg) {
				t.Errorf("got %q %q, want %q containing %q", e.Error.Code, e.Error.Message, tc.code, tc.msg)
			}
			if rc.validationCount() != before {
				t.Error("an invalid request reached the validation handshake")
			}
		})
	}
	t.Run("exactly the maximum is accepted", func(t *testing.T) {
		sim, _ := newClockedSim(t, &graphsim.Options{AllowHTTPNotificationURL: true})
		r, _ := createSub(t, sim.Handler(), subscriptionBody(rc, "/groups", map[string]any{
			"expirationDateTime": testNow.Add(41760 * time.Minute).Format(time.RFC3339)}))
		if r.status != 201 {
			t.Errorf("status %d: %s", r.status, r.body)
		}
	})
	t.Run("duplicate", func(t *testing.T) {
		sim, _ := newClockedSim(t, &graphsim.Options{AllowHTTPNotificationURL: true})
		_, first := createSub(t, sim.Handler(), subscriptionBody(rc, "users", nil))
		r, _ := createSub(t, sim.Handler(), subscriptionBody(rc, "/users", map[string]any{"changeType": "deleted,updated"}))
		if r.status != http.StatusConflict {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		e := decodeError(t, r)
		if e.Error.Code != "ObjectIdentifierInUse" || e.Error.Message != "Subscription Id "+first["id"].(string)+" already exists for the requested combination" {
			t.Errorf("%+v", e.Error)
		}
		if r, _ := createSub(t, sim.Handler(), subscriptionBody(rc, "users", map[string]any{"changeType": "updated"})); r.status != 201 {
			t.Errorf("another change type: status %d", r.status)
		}
	})
	t.Run("malformed body", func(t *testing.T) {
		sim, _ := newClockedSim(t, nil)
		if r, _ := createSub(t, sim.Handler(), "{"); r.status != 400 {
			t.Errorf("status %d", r.status)
		}
	})
	t.Run("permission of the resource", func(t *testing.T) {
		// Create: the permission that reads the resource (User.Read.All for
		// users, Group.Read.All for groups); List: either.
		sim, _ := newClockedSim(t, &graphsim.Options{AllowHTTPNotificationURL: true, Permissions: []string{"User.Read.All"}})
		if r, _ := createSub(t, sim.Handler(), subscriptionBody(rc, "users", nil)); r.status != http.StatusCreated {
			t.Errorf("users with User.Read.All: status %d: %s", r.status, r.body)
		}
		r, _ := createSub(t, sim.Handler(), subscriptionBody(rc, "groups", nil))
		if e := decodeError(t, r); r.status != http.StatusForbidden || e.Error.Code != "ExtensionError" {
			t.Errorf("groups without Group.Read.All: status %d %+v", r.status, e.Error)
		}
		if r := send(t, sim.Handler(), http.MethodGet, subsURL, "", nil); r.status != http.StatusOK {
			t.Errorf("list with User.Read.All: status %d", r.status)
		}
		sim, _ = newClockedSim(t, &graphsim.Options{AllowHTTPNotificationURL: true, Permissions: []string{"Application.Read.All"}})
		if r := send(t, sim.Handler(), http.MethodGet, subsURL, "", nil); r.status != http.StatusForbidden {
			t.Errorf("list without a users or groups permission: status %d", r.status)
		}
	})
	t.Run("denied", func(t *testing.T) {
		sim, _ := newClockedSim(t, &graphsim.Options{AllowHTTPNotificationURL: true, Deny: []string{graphsim.SourceSubscriptions}})
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			r := send(t, sim.Handler(), m, subsURL, subscriptionBody(rc, "users", nil), nil)
			if r.status != http.StatusForbidden {
				t.Errorf("%s: status %d", m, r.status)
			}
		}
	})
}

func TestSubscriptionLifetime(t *testing.T) {
	sim, clk := newClockedSim(t, &graphsim.Options{AllowHTTPNotificationURL: true, Seed: 1})
	h := sim.Handler()
	rc := newReceiver(t, "echo")
	r, created := createSub(t, h, subscriptionBody(rc, "users", map[string]any{"lifecycleNotificationUrl": rc.srv.URL + "/api/GraphLifecycle?code=k"}))
	if r.status != http.StatusCreated || r.header.Get("Content-Type") == "" {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	golden.Check(t, filepath.Join("testdata", "golden", "subscription-created.json"), scrub(t, r.body, rc))
	id := created["id"].(string)
	one := subsURL + "/" + id

	list := get(t, h, subsURL)
	golden.Check(t, filepath.Join("testdata", "golden", "subscription-list.json"), scrub(t, list.body, rc))
	if r := get(t, h, one); r.status != 200 {
		t.Fatalf("get: %d", r.status)
	}

	renew := testNow.Add(20 * 24 * time.Hour).UTC()
	r = send(t, h, http.MethodPatch, one, `{"expirationDateTime":"`+renew.Format(time.RFC3339)+`"}`, nil)
	var m map[string]any
	_ = json.Unmarshal(r.body, &m)
	if r.status != 200 || m["expirationDateTime"] != renew.Format("2006-01-02T15:04:05Z") {
		t.Fatalf("renew: %d %s", r.status, r.body)
	}
	for _, bad := range []string{`{"notificationUrl":"https://x.test"}`, `{}`,
		`{"expirationDateTime":"` + testNow.Add(30*24*time.Hour).Format(time.RFC3339) + `"}`} {
		if r := send(t, h, http.MethodPatch, one, bad, nil); r.status != 400 {
			t.Errorf("PATCH %s: status %d", bad, r.status)
		}
	}
	if r := send(t, h, http.MethodPost, one+"/reauthorize", "", nil); r.status != http.StatusNoContent {
		t.Errorf("reauthorize: %d %s", r.status, r.body)
	}
	if r := send(t, h, http.MethodPut, one, "", nil); r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET, PATCH, DELETE" {
		t.Errorf("PUT: %d %q", r.status, r.header.Get("Allow"))
	}

	// Expiry: the renewed subscription lives 20 days.
	clk.Advance(20*24*time.Hour - time.Second)
	if len(sim.Subscriptions()) != 1 {
		t.Fatal("subscription gone before its expiry")
	}
	clk.Advance(time.Second)
	if len(sim.Subscriptions()) != 0 {
		t.Error("expired subscription still listed")
	}
	for _, req := range []struct{ method, url string }{{http.MethodGet, one}, {http.MethodDelete, one}, {http.MethodPost, one + "/reauthorize"}} {
		if r := send(t, h, req.method, req.url, "", nil); r.status != http.StatusNotFound {
			t.Errorf("%s after expiry: %d", req.method, r.status)
		}
	}
	var l struct{ Value []any }
	_ = json.Unmarshal(get(t, h, subsURL).body, &l)
	if len(l.Value) != 0 {
		t.Errorf("list after expiry: %v", l.Value)
	}

	// Delete.
	clk.Advance(-20 * 24 * time.Hour)
	_, created = createSub(t, h, subscriptionBody(rc, "groups", nil))
	one = subsURL + "/" + created["id"].(string)
	if r := send(t, h, http.MethodDelete, one, "", nil); r.status != http.StatusNoContent {
		t.Errorf("delete: %d", r.status)
	}
	if r := get(t, h, one); r.status != http.StatusNotFound || decodeError(t, r).Error.Code != "ResourceNotFound" {
		t.Errorf("get after delete: %d", r.status)
	}
	st := sim.Stats()
	if st.Requests["/subscriptions"] == 0 || st.Requests["/subscriptions/{id}"] == 0 || st.Requests["/subscriptions/{id}/reauthorize"] == 0 {
		t.Errorf("stats %+v", st.Requests)
	}
}

func TestSubscriptionHTTPSReceiver(t *testing.T) {
	// Without AllowHTTPNotificationURL, an https endpoint the client trusts
	// validates.
	rc := newReceiver(t, "echo")
	rc.srv.Close()
	rc.srv = newTLSReceiver(t, rc)
	sim, _ := newClockedSim(t, &graphsim.Options{NotificationClient: rc.srv.Client()})
	r, _ := createSub(t, sim.Handler(), subscriptionBody(rc, "users", nil))
	if r.status != 201 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
}
