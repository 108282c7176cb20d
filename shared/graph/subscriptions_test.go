package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/golden"
	"github.com/tenantwatch/tenantwatch/shared/graph"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

const subID = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"

// expires is deliberately not UTC and not whole seconds: Graph must get
// 2026-03-20T18:23:45Z.
var expires = time.Date(2026, 3, 20, 19, 23, 45, 987654321, time.FixedZone("CET", 3600))

func newSubscription(resource string) state.Subscription {
	return state.Subscription{
		ID:                 "ignored-by-create",
		Resource:           resource,
		ChangeType:         "updated,deleted",
		NotificationURL:    "https://tenantwatch.azurewebsites.net/api/GraphNotifications?code=abc&x=<y>",
		LifecycleURL:       "https://tenantwatch.azurewebsites.net/api/GraphLifecycle?code=def",
		ClientState:        "s3cr3t-client-state",
		ExpirationDateTime: expires,
		ETag:               `W/"ignored"`,
	}
}

// TestSubscriptionRequests: the exact request each subscription call sends
// (method, path under the prefix, JSON body as a golden file) and what it
// makes of Graph's answer (golden).
func TestSubscriptionRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		serve  func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int)
		call   func(ctx context.Context, c *graph.Client) (any, error)
		method string
		path   string // after /v1.0, of the first request
		body   bool   // a JSON body is sent (checked against <name>-request.json)
		pages  int
	}{
		{
			name:  "subscription-create",
			serve: status(http.StatusCreated, "subscription.json"),
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				return c.CreateSubscription(ctx, newSubscription("users"))
			},
			method: http.MethodPost, path: "/subscriptions", body: true, pages: 1,
		},
		{
			name:  "subscription-create-no-lifecycle",
			serve: status(http.StatusCreated, "subscription.json"),
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				s := newSubscription("groups")
				s.LifecycleURL = ""
				return c.CreateSubscription(ctx, s)
			},
			method: http.MethodPost, path: "/subscriptions", body: true, pages: 1,
		},
		{
			name:  "subscription-renew",
			serve: status(http.StatusOK, "subscription.json"),
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				return c.RenewSubscription(ctx, subID, expires)
			},
			method: http.MethodPatch, path: "/subscriptions/" + subID, body: true, pages: 1,
		},
		{
			name:  "subscription-renew-no-body",
			serve: status(http.StatusNoContent, ""),
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				return c.RenewSubscription(ctx, subID, expires)
			},
			method: http.MethodPatch, path: "/subscriptions/" + subID, body: true, pages: 1,
		},
		{
			name:  "subscription-reauthorize",
			serve: status(http.StatusNoContent, ""),
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				return nil, c.ReauthorizeSubscription(ctx, subID)
			},
			method: http.MethodPost, path: "/subscriptions/" + subID + "/reauthorize", pages: 1,
		},
		{
			name:  "subscription-delete",
			serve: status(http.StatusNoContent, ""),
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				return nil, c.DeleteSubscription(ctx, subID)
			},
			method: http.MethodDelete, path: "/subscriptions/" + subID, pages: 1,
		},
		{
			name:  "subscription-list",
			serve: pages("subscriptions-p1.json", "subscriptions-p2.json"),
			call: func(ctx context.Context, c *graph.Client) (any, error) {
				return c.ListSubscriptions(ctx)
			},
			method: http.MethodGet, path: "/subscriptions", pages: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, tc.serve)
			got, err := tc.call(t.Context(), newClient(t, f, nil))
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			reqs := f.requests()
			if len(reqs) != tc.pages {
				t.Fatalf("server saw %d requests, want %d", len(reqs), tc.pages)
			}
			r := reqs[0]
			if r.Method != tc.method || r.Path != prefix+"/v1.0"+tc.path || r.RawQuery != "" {
				t.Errorf("request = %s %s?%s, want %s %s", r.Method, r.Path, r.RawQuery, tc.method, prefix+"/v1.0"+tc.path)
			}
			if !tc.body {
				if len(r.Body) != 0 {
					t.Errorf("body = %s, want none", r.Body)
				}
			} else {
				if ct := r.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q, want application/json", ct)
				}
				if ce := r.Header.Get("Content-Encoding"); ce != "" {
					t.Errorf("Content-Encoding = %q, want a plain body", ce)
				}
				var b bytes.Buffer
				if err := json.Indent(&b, r.Body, "", "  "); err != nil {
					t.Fatalf("body %q is not JSON: %v", r.Body, err)
				}
				golden.Check(t, filepath.Join("testdata", "golden", tc.name+"-request.json"), append(b.Bytes(), '\n'))
			}
			if got != nil {
				checkGolden(t, tc.name, got)
			}
		})
	}
}

// TestSubscriptionErrors: refused requests come back as *graph.Error with
// the sentinel, Graph's message and the permission the resource needs;
// calls that cannot be right are refused without a request.
func TestSubscriptionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		serve    func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int)
		call     func(ctx context.Context, c *graph.Client) error
		want     error
		msg      string // exact Error()
		requests int
	}{
		{
			name:  "create: validation failed",
			serve: status(http.StatusBadRequest, "error-400-validation.json"),
			call: func(ctx context.Context, c *graph.Client) error {
				_, err := c.CreateSubscription(ctx, newSubscription("users"))
				return err
			},
			want:     tenant.ErrBadRequest,
			msg:      "graph: POST /subscriptions: 400 ValidationError: Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.",
			requests: 1,
		},
		{
			// Graph's messages can quote the request: the function key and
			// the clientState must not reach the error.
			name: "create: the answer quotes the request",
			serve: func(f *fakeGraph, w http.ResponseWriter, r *http.Request, n int) {
				var req struct{ NotificationURL, LifecycleNotificationURL, ClientState string }
				_ = json.Unmarshal(f.requests()[n].Body, &req)
				msg := fmt.Sprintf("Subscription validation request to %s failed (lifecycle %s); clientState: %s", req.NotificationURL, req.LifecycleNotificationURL, req.ClientState)
				b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": "InvalidRequest", "message": msg}})
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				w.Write(b)
			},
			call: func(ctx context.Context, c *graph.Client) error {
				_, err := c.CreateSubscription(ctx, newSubscription("users"))
				var ge *graph.Error
				if errors.As(err, &ge) && (strings.Contains(ge.Message, "code=") || strings.Contains(ge.Message, "s3cr3t")) {
					return fmt.Errorf("Message shows a secret: %s", ge.Message)
				}
				return err
			},
			want: tenant.ErrBadRequest,
			msg: "graph: POST /subscriptions: 400 InvalidRequest: Subscription validation request to https://tenantwatch.azurewebsites.net/api/GraphNotifications failed " +
				"(lifecycle https://tenantwatch.azurewebsites.net/api/GraphLifecycle); clientState: [redacted]",
			requests: 1,
		},
		{
			name:  "create users: denied",
			serve: status(http.StatusForbidden, "error-403-denied.json"),
			call: func(ctx context.Context, c *graph.Client) error {
				_, err := c.CreateSubscription(ctx, newSubscription("users"))
				return err
			},
			want:     tenant.ErrAccessDenied,
			msg:      "graph: POST /subscriptions: 403 Authorization_RequestDenied: Insufficient privileges to complete the operation. (needs User.Read.All)",
			requests: 1,
		},
		{
			name:  "create groups: denied",
			serve: status(http.StatusForbidden, "error-403-denied.json"),
			call: func(ctx context.Context, c *graph.Client) error {
				_, err := c.CreateSubscription(ctx, newSubscription("groups"))
				return err
			},
			want:     tenant.ErrAccessDenied,
			msg:      "graph: POST /subscriptions: 403 Authorization_RequestDenied: Insufficient privileges to complete the operation. (needs Group.Read.All)",
			requests: 1,
		},
		{
			name:  "renew: gone",
			serve: status(http.StatusNotFound, "error-404-subscription.json"),
			call: func(ctx context.Context, c *graph.Client) error {
				_, err := c.RenewSubscription(ctx, subID, expires)
				return err
			},
			want:     tenant.ErrNotFound,
			msg:      "graph: PATCH /subscriptions/" + subID + ": 404 ResourceNotFound: The object was not found.",
			requests: 1,
		},
		{
			name:  "delete: gone",
			serve: status(http.StatusNotFound, "error-404-subscription.json"),
			call: func(ctx context.Context, c *graph.Client) error {
				return c.DeleteSubscription(ctx, subID)
			},
			want:     tenant.ErrNotFound,
			msg:      "graph: DELETE /subscriptions/" + subID + ": 404 ResourceNotFound: The object was not found.",
			requests: 1,
		},
		{
			name:  "reauthorize: gone, no body",
			serve: status(http.StatusNotFound, ""),
			call: func(ctx context.Context, c *graph.Client) error {
				return c.ReauthorizeSubscription(ctx, subID)
			},
			want:     tenant.ErrNotFound,
			msg:      "graph: POST /subscriptions/" + subID + "/reauthorize: 404: not found",
			requests: 1,
		},
		{
			name:  "reauthorize: denied",
			serve: status(http.StatusForbidden, "error-403-denied.json"),
			call: func(ctx context.Context, c *graph.Client) error {
				return c.ReauthorizeSubscription(ctx, subID)
			},
			want:     tenant.ErrAccessDenied,
			msg:      "graph: POST /subscriptions/" + subID + "/reauthorize: 403 Authorization_RequestDenied: Insufficient privileges to complete the operation. (needs User.Read.All (users) or Group.Read.All (groups))",
			requests: 1,
		},
		{
			name:  "list: denied",
			serve: status(http.StatusForbidden, "error-403-denied.json"),
			call: func(ctx context.Context, c *graph.Client) error {
				_, err := c.ListSubscriptions(ctx)
				return err
			},
			want:     tenant.ErrAccessDenied,
			msg:      "graph: GET /subscriptions: 403 Authorization_RequestDenied: Insufficient privileges to complete the operation. (needs User.Read.All (users) or Group.Read.All (groups))",
			requests: 1,
		},
		{
			name: "create: incomplete",
			call: func(ctx context.Context, c *graph.Client) error {
				s := newSubscription("users")
				s.NotificationURL, s.ExpirationDateTime = " ", time.Time{}
				_, err := c.CreateSubscription(ctx, s)
				return err
			},
			want: tenant.ErrBadRequest,
			msg:  "graph: POST /subscriptions: the subscription has no notificationUrl, expirationDateTime",
		},
		{
			name: "renew: path in the id",
			call: func(ctx context.Context, c *graph.Client) error {
				_, err := c.RenewSubscription(ctx, "../users", expires)
				return err
			},
			want: tenant.ErrBadRequest,
			msg:  `graph: PATCH /subscriptions/{id}: invalid subscription id "../users": want a GUID`,
		},
		{
			name: "delete: not a GUID",
			call: func(ctx context.Context, c *graph.Client) error {
				return c.DeleteSubscription(ctx, subID+"/reauthorize")
			},
			want: tenant.ErrBadRequest,
			msg:  `graph: DELETE /subscriptions/{id}: invalid subscription id "` + subID + `/reauthorize": want a GUID`,
		},
		{
			name: "reauthorize: empty id",
			call: func(ctx context.Context, c *graph.Client) error {
				return c.ReauthorizeSubscription(ctx, "")
			},
			want: tenant.ErrBadRequest,
			msg:  `graph: POST /subscriptions/{id}/reauthorize: invalid subscription id "": want a GUID`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			serve := tc.serve
			if serve == nil {
				serve = status(http.StatusNoContent, "")
			}
			f := newFake(t, serve)
			err := tc.call(t.Context(), newClient(t, f, nil))
			checkSentinel(t, err, tc.want)
			var ge *graph.Error
			if !errors.As(err, &ge) {
				t.Fatalf("err %T is not *graph.Error", err)
			}
			if err.Error() != tc.msg {
				t.Errorf("Error() =\n%s\nwant\n%s", err, tc.msg)
			}
			if n := len(f.requests()); n != tc.requests {
				t.Errorf("server saw %d requests, want %d", n, tc.requests)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Error("the client state leaked into an error message")
			}
		})
	}
}
