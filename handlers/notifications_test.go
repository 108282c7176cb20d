package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tenantwatch/tenantwatch/handlers"
	"github.com/tenantwatch/tenantwatch/shared/graph/webhook"
)

func TestNotificationFunctions(t *testing.T) {
	t.Parallel()
	const forged = "forged-near-miss-of-secretClientValue"
	big := `{"value":[]}` + strings.Repeat(" ", webhook.MaxBody+1-len(`{"value":[]}`))
	manyItems := make([]map[string]any, webhook.MaxItems+1)
	for i := range manyItems {
		manyItems[i] = change(fmt.Sprint("n", i), subA, stateA, "u")
	}
	manySubs := make([]map[string]any, 70)
	for i := range manySubs {
		manySubs[i] = change(fmt.Sprint("n", i), fmt.Sprintf("random-%02d", i), "x", "u")
	}
	manySubs = append(manySubs, change("real", subA, stateA, "u1")) // past the cap: dropped too
	var firstSubs []string
	for i := range 64 {
		firstSubs = append(firstSubs, fmt.Sprintf("random-%02d", i))
	}

	tests := []struct {
		name        string
		fn          string // default GraphNotifications
		body        string
		known       map[string]string // default subA, subB
		wantStatus  string
		wantQueued  []webhook.Notification
		wantLookups []string // subscription ids passed to ClientState, in order
	}{
		{
			name:        "valid change is queued without its clientState",
			body:        notifications(t, change("n1", subA, stateA, "u1")),
			wantStatus:  "202",
			wantQueued:  []webhook.Notification{notificationOf("n1", subA, "u1")},
			wantLookups: []string{subA},
		},
		{
			name:        "forged clientState: nothing queued, still 202",
			body:        notifications(t, change("n1", subA, forged, "u1")),
			wantStatus:  "202",
			wantLookups: []string{subA},
		},
		{
			name:        "unknown subscription: nothing queued, still 202",
			body:        notifications(t, change("n1", "not-ours", stateA, "u1")),
			wantStatus:  "202",
			wantLookups: []string{"not-ours"},
		},
		{
			name:        "missing clientState is a mismatch",
			body:        `{"value":[{"id":"n1","subscriptionId":"` + subA + `","changeType":"updated"}]}`,
			wantStatus:  "202",
			wantLookups: []string{subA},
		},
		{
			name:        "stored clientState empty never matches",
			body:        notifications(t, change("n1", "sub-empty", "", "u1")),
			known:       map[string]string{"sub-empty": ""},
			wantStatus:  "202",
			wantLookups: []string{"sub-empty"},
		},
		{
			name:       "missing subscription id is dropped without a look-up",
			body:       `{"value":[{"id":"n1","clientState":"x","changeType":"updated"}]}`,
			wantStatus: "202",
		},
		{
			name: "mixed batch: only the valid items are queued",
			body: notifications(t,
				change("n1", subA, stateA, "u1"),
				change("n2", subA, forged, "u2"),
				change("n3", subB, stateB, "u3"),
				change("n4", "not-ours", stateA, "u4"),
				change("n5", subB, stateA, "u5"), // another subscription's secret
			),
			wantStatus:  "202",
			wantQueued:  []webhook.Notification{notificationOf("n1", subA, "u1"), notificationOf("n3", subB, "u3")},
			wantLookups: []string{subA, subB, "not-ours"},
		},
		{
			name:        "duplicate in one POST is queued twice (dedupe happens downstream)",
			body:        notifications(t, change("n1", subA, stateA, "u1"), change("n1", subA, stateA, "u1")),
			wantStatus:  "202",
			wantQueued:  []webhook.Notification{notificationOf("n1", subA, "u1"), notificationOf("n1", subA, "u1")},
			wantLookups: []string{subA},
		},
		{
			name:       "empty batch",
			body:       notifications(t),
			wantStatus: "202",
		},
		{
			name:       "malformed body: 400, nothing queued",
			body:       `{"value":[{"subscriptionId":`,
			wantStatus: "400",
		},
		{
			name:       "no body and no validation token: 400",
			body:       "",
			wantStatus: "400",
		},
		{
			name:       "body of MaxBody+1 bytes: 413, nothing queued, nothing looked up",
			body:       big,
			wantStatus: "413",
		},
		{
			name:       "more than MaxItems items: 413",
			body:       notifications(t, manyItems...),
			wantStatus: "413",
		},
		{
			name:        "distinct subscriptions beyond the per-POST cap are dropped unchecked",
			body:        notifications(t, manySubs...),
			wantStatus:  "202",
			wantLookups: firstSubs,
		},
		{
			name:        "lifecycle event on the notification URL is authenticated and queued",
			body:        notifications(t, lifecycle(subA, stateA, webhook.LifecycleReauthorizationRequired)),
			wantStatus:  "202",
			wantQueued:  []webhook.Notification{{SubscriptionID: subA, TenantID: tenant, LifecycleEvent: webhook.LifecycleReauthorizationRequired, SubscriptionExpiration: lifecycleExpiry}},
			wantLookups: []string{subA},
		},
		{
			name:        "GraphLifecycle queues valid lifecycle events with lifecycleEvent set",
			fn:          "GraphLifecycle",
			body:        notifications(t, lifecycle(subA, stateA, webhook.LifecycleReauthorizationRequired), lifecycle(subB, stateB, webhook.LifecycleMissed)),
			wantStatus:  "202",
			wantQueued:  []webhook.Notification{{SubscriptionID: subA, TenantID: tenant, LifecycleEvent: webhook.LifecycleReauthorizationRequired, SubscriptionExpiration: lifecycleExpiry}, {SubscriptionID: subB, TenantID: tenant, LifecycleEvent: webhook.LifecycleMissed, SubscriptionExpiration: lifecycleExpiry}},
			wantLookups: []string{subA, subB},
		},
		{
			name:        "GraphLifecycle drops a forged lifecycle event, still 202",
			fn:          "GraphLifecycle",
			body:        notifications(t, lifecycle(subA, forged, webhook.LifecycleSubscriptionRemoved)),
			wantStatus:  "202",
			wantLookups: []string{subA},
		},
		{
			name:       "GraphLifecycle malformed body: 400",
			fn:         "GraphLifecycle",
			body:       `[]`,
			wantStatus: "400",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fn := tc.fn
			if fn == "" {
				fn = "GraphNotifications"
			}
			known := tc.known
			if known == nil {
				known = map[string]string{subA: stateA, subB: stateB}
			}
			svc := &fakeService{ClientStateFunc: states(known)}
			h, logs := newHandler(svc)
			r := invoke(t, h, fn, postNotifications(t, tc.body))
			if r.Status != http.StatusOK {
				t.Fatalf("host status %d, want 200 (the caller's status goes in res); logs %q", r.Status, r.Logs)
			}
			res := r.httpRes(t)
			if res.StatusCode != tc.wantStatus || res.Status != tc.wantStatus {
				t.Errorf("res statusCode/status = %q/%q, want %q", res.StatusCode, res.Status, tc.wantStatus)
			}
			if res.Headers == nil {
				t.Error("res headers are null; the host requires them")
			}
			if diff := cmp.Diff(tc.wantQueued, r.queued(t)); diff != "" {
				t.Errorf("queued mismatch (-want +got):\n%s", diff)
			}
			var lookups []string
			for _, c := range svc.Calls() {
				if c.Method != "ClientState" {
					t.Errorf("unexpected Service call %s from %s", c.Method, fn)
					continue
				}
				lookups = append(lookups, c.Arg.SubscriptionID)
			}
			if diff := cmp.Diff(tc.wantLookups, lookups); diff != "" {
				t.Errorf("ClientState look-ups mismatch (-want +got):\n%s", diff)
			}
			if out := logs.String(); strings.Contains(out, forged) || strings.Contains(out, stateA) || strings.Contains(out, stateB) {
				t.Errorf("a clientState reached the log:\n%s", out)
			}
			if strings.Contains(strings.Join(r.Logs, "\n"), stateA) {
				t.Errorf("a clientState reached the invocation log: %q", r.Logs)
			}
		})
	}
}

// lifecycleExpiry is the expiry lifecycle(...) items carry.
var lifecycleExpiry = time.Date(2026, 3, 20, 11, 0, 0, 0, time.UTC)

// handlerResponse is the plain-text res output the handlers write.
func handlerResponse(code, body string) handlers.HTTPResponse {
	return handlers.HTTPResponse{StatusCode: code, Status: code, Body: body, Headers: map[string]string{
		"Content-Type": "text/plain", "X-Content-Type-Options": "nosniff",
	}}
}

func TestValidationHandshake(t *testing.T) {
	t.Parallel()
	const (
		encoded = "Validation%3A+Testing+client+application+reachability+for+subscription+Request-Id%3A+0a1b%2B2c%25"
		decoded = "Validation: Testing client application reachability for subscription Request-Id: 0a1b+2c%"
	)
	tests := []struct {
		name  string
		url   string
		query any
		body  string
		want  string
	}{
		{"URL-encoded token in the URL is decoded once", notificationURL + "&validationToken=" + encoded, map[string]string{"code": "key", "validationToken": decoded}, "", decoded},
		{"Query as the string \"{}\", token only in the URL", notificationURL + "&validationToken=" + encoded, "{}", "", decoded},
		{"Query as a JSON string holding the object", "https://tw.example.net/api/GraphNotifications", `{"validationToken":"tok+en%41"}`, "", "tok+en%41"},
		{"token only in Query (already decoded) is not decoded again", "https://tw.example.net/api/GraphNotifications", map[string]string{"validationToken": "a%2Bb+c"}, "", "a%2Bb+c"},
		{"a body does not turn the handshake into a notification", notificationURL + "&validationToken=tok", map[string]string{"validationToken": "tok"}, `{"value":[]}`, "tok"},
		{"markup is echoed as text/plain, not rendered", notificationURL + "&validationToken=%3Cscript%3Ealert(1)%3C%2Fscript%3E", nil, "", "<script>alert(1)</script>"},
	}
	for _, fn := range []string{"GraphNotifications", "GraphLifecycle"} {
		for _, tc := range tests {
			t.Run(fn+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				svc := &fakeService{} // any Service call fails loudly
				h, _ := newHandler(svc)
				r := invoke(t, h, fn, httpInvoke(t, tc.url, tc.query, tc.body))
				if r.Status != http.StatusOK {
					t.Fatalf("host status %d, logs %q", r.Status, r.Logs)
				}
				want := handlerResponse("200", tc.want)
				if diff := cmp.Diff(want, r.httpRes(t)); diff != "" {
					t.Errorf("res mismatch (-want +got):\n%s", diff)
				}
				if q := r.queued(t); q != nil {
					t.Errorf("handshake queued %v", q)
				}
				if calls := svc.CallNames(); calls != nil {
					t.Errorf("handshake called the Service: %v", calls)
				}
			})
		}
	}
}

// TestClientStateLookupFails: when the stored clientState cannot be read,
// nothing is queued and the invocation fails (500 to the host, which answers
// Graph 5xx so it retries the batch).
func TestClientStateLookupFails(t *testing.T) {
	t.Parallel()
	for _, fn := range []string{"GraphNotifications", "GraphLifecycle"} {
		t.Run(fn, func(t *testing.T) {
			t.Parallel()
			svc := &fakeService{ClientStateFunc: func(_ context.Context, id string) (string, bool, error) {
				if id == subB {
					return "", false, errors.New("table unavailable")
				}
				return stateA, true, nil
			}}
			h, _ := newHandler(svc)
			r := invoke(t, h, fn, postNotifications(t, notifications(t, change("n1", subA, stateA, "u1"), change("n2", subB, stateB, "u2"))))
			if r.Status != http.StatusInternalServerError {
				t.Fatalf("host status %d, want 500", r.Status)
			}
			if len(r.Outputs) != 0 {
				t.Errorf("failed invocation has outputs %v", r.Outputs)
			}
			if !strings.Contains(strings.Join(r.Logs, "\n"), "table unavailable") {
				t.Errorf("invocation log %q does not carry the error", r.Logs)
			}
		})
	}
}
