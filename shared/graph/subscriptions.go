package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/serialization"
	khttp "github.com/microsoft/kiota-http-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/subscriptions"

	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Change-notification subscriptions (POST, PATCH, DELETE /subscriptions,
// POST /subscriptions/{id}/reauthorize, GET /subscriptions). Graph checks
// the permission that reading the subscribed resource needs: User.Read.All
// for users, Group.Read.All for groups. Errors are *Error values as for the
// reads: a failed validation handshake or another refused request body is
// 400 (tenant.ErrBadRequest, with Graph's message), a missing permission or
// a quota 403 (tenant.ErrAccessDenied), an unknown subscription id 404
// (tenant.ErrNotFound).

// CreateSubscription creates s (POST /subscriptions) and returns the
// subscription Graph made: its id, and the other properties as Graph
// echoes them. The body carries changeType, notificationUrl,
// lifecycleNotificationUrl (if set), resource, expirationDateTime (UTC,
// whole seconds) and clientState; s.ID and s.ETag are not sent. Graph
// validates notificationUrl (and lifecycleNotificationUrl) before it
// answers. A subscription without resource, changeType, notificationUrl or
// expiry fails with tenant.ErrBadRequest before any request.
func (c *Client) CreateSubscription(ctx context.Context, s state.Subscription) (state.Subscription, error) {
	const op = "POST /subscriptions"
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"resource", s.Resource}, {"changeType", s.ChangeType}, {"notificationUrl", s.NotificationURL},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if s.ExpirationDateTime.IsZero() {
		missing = append(missing, "expirationDateTime")
	}
	if len(missing) > 0 {
		return state.Subscription{}, &Error{Op: op, Message: "the subscription has no " + strings.Join(missing, ", "),
			Err: tenant.ErrBadRequest, kind: kindPlain, target: c.base}
	}
	body := models.NewSubscription()
	body.SetChangeType(ptr(s.ChangeType))
	body.SetNotificationUrl(ptr(s.NotificationURL))
	if s.LifecycleURL != "" {
		body.SetLifecycleNotificationUrl(ptr(s.LifecycleURL))
	}
	body.SetResource(ptr(s.Resource))
	body.SetExpirationDateTime(ptr(wireTime(s.ExpirationDateTime)))
	if s.ClientState != "" {
		body.SetClientState(ptr(s.ClientState))
	}
	var out state.Subscription
	err := c.call(ctx, op, subscriptionPermission(s.Resource), func(ctx context.Context) error {
		got, err := c.sdk.Subscriptions().Post(ctx, body,
			&subscriptions.SubscriptionsRequestBuilderPostRequestConfiguration{Options: plainBody()})
		if err != nil {
			return err
		}
		if got == nil || str(got.GetId()) == "" {
			return &Error{Op: op, Message: "the response carries no subscription id", kind: kindDecode, target: c.base}
		}
		out = subscriptionFromGraph(got)
		return nil
	})
	return out, err
}

// RenewSubscription sets the expiry of subscription id to expires
// (PATCH /subscriptions/{id} with {"expirationDateTime": …}, UTC, whole
// seconds) and returns the subscription as Graph answers it. If Graph
// answers without a body, the result carries id and the requested expiry.
func (c *Client) RenewSubscription(ctx context.Context, id string, expires time.Time) (state.Subscription, error) {
	op, err := c.subscriptionOp("PATCH /subscriptions/", id, "")
	if err != nil {
		return state.Subscription{}, err
	}
	exp := wireTime(expires)
	body := models.NewSubscription()
	body.SetExpirationDateTime(&exp)
	out := state.Subscription{ID: id, ExpirationDateTime: exp}
	err = c.call(ctx, op, subscriptionPermission(""), func(ctx context.Context) error {
		got, err := c.sdk.Subscriptions().BySubscriptionId(id).Patch(ctx, body,
			&subscriptions.SubscriptionItemRequestBuilderPatchRequestConfiguration{Options: plainBody()})
		if err != nil {
			return err
		}
		if got != nil && str(got.GetId()) != "" {
			out = subscriptionFromGraph(got)
		}
		return nil
	})
	if err != nil {
		return state.Subscription{}, err
	}
	return out, nil
}

// ReauthorizeSubscription answers a reauthorizationRequired lifecycle
// event (POST /subscriptions/{id}/reauthorize, no body; 204).
func (c *Client) ReauthorizeSubscription(ctx context.Context, id string) error {
	op, err := c.subscriptionOp("POST /subscriptions/", id, "/reauthorize")
	if err != nil {
		return err
	}
	return c.call(ctx, op, subscriptionPermission(""), func(ctx context.Context) error {
		return c.sdk.Subscriptions().BySubscriptionId(id).Reauthorize().Post(ctx, nil)
	})
}

// DeleteSubscription deletes subscription id (DELETE /subscriptions/{id};
// 204). A subscription Graph does not know (expired, deleted) is an error
// wrapping tenant.ErrNotFound.
func (c *Client) DeleteSubscription(ctx context.Context, id string) error {
	op, err := c.subscriptionOp("DELETE /subscriptions/", id, "")
	if err != nil {
		return err
	}
	return c.call(ctx, op, subscriptionPermission(""), func(ctx context.Context) error {
		return c.sdk.Subscriptions().BySubscriptionId(id).Delete(ctx, nil)
	})
}

// ListSubscriptions returns the app's live subscriptions in this tenant
// (GET /subscriptions, every page). Graph may not return clientState here.
func (c *Client) ListSubscriptions(ctx context.Context) ([]state.Subscription, error) {
	var out []state.Subscription
	err := stream(ctx, c, "GET /subscriptions", "",
		func(ctx context.Context) (serialization.Parsable, error) {
			return parsable(c.sdk.Subscriptions().Get(ctx, nil))
		},
		models.CreateSubscriptionCollectionResponseFromDiscriminatorValue,
		func(s models.Subscriptionable) error {
			if s != nil {
				out = append(out, subscriptionFromGraph(s))
			}
			return nil
		})
	if err != nil {
		return nil, withPermission(err, subscriptionPermission(""))
	}
	return out, nil
}

func subscriptionFromGraph(s models.Subscriptionable) state.Subscription {
	return state.Subscription{
		ID:                 str(s.GetId()),
		Resource:           str(s.GetResource()),
		ChangeType:         str(s.GetChangeType()),
		NotificationURL:    str(s.GetNotificationUrl()),
		LifecycleURL:       str(s.GetLifecycleNotificationUrl()),
		ClientState:        str(s.GetClientState()),
		ExpirationDateTime: toTime(s.GetExpirationDateTime()),
	}
}

// subscriptionOp checks a subscription id and returns the operation's name
// for messages. Graph's subscription ids are GUIDs; anything else is
// refused before any request (it would be a path segment), and is quoted
// in the message.
func (c *Client) subscriptionOp(before, id, after string) (string, error) {
	if !tenant.IsGUID(id) {
		return "", &Error{Op: before + "{id}" + after, Message: fmt.Sprintf("invalid subscription id %q: want a GUID", id),
			Err: tenant.ErrBadRequest, kind: kindPlain, target: c.base}
	}
	return before + id + after, nil
}

// call runs one request that is not a list read (do gets a context that
// records the exchange), logs it at debug level and classifies its error,
// naming permission.
func (c *Client) call(ctx context.Context, op, permission string, do func(context.Context) error) (err error) {
	start := time.Now()
	xctx, x := withExchange(ctx)
	defer func() {
		requests, retries, status := x.snapshot()
		attrs := []slog.Attr{slog.String("op", op), slog.Int("status", status), slog.Int("requests", requests),
			slog.Int("retries", retries), slog.Duration("took", time.Since(start))}
		if err != nil {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
		c.log.LogAttrs(ctx, slog.LevelDebug, "graph: call", attrs...)
	}()
	if err := do(xctx); err != nil {
		return withPermission(c.classify(ctx, op, "", x, err), permission)
	}
	return nil
}

// withPermission fills in the permission of an *Error that names none.
func withPermission(err error, permission string) error {
	var e *Error
	if errors.As(err, &e) && e.Permission == "" {
		e.Permission = permission
	}
	return err
}

// plainBody turns off the compression middleware's gzip of the request
// body: subscription bodies are a few hundred bytes, Graph's documentation
// only shows plain JSON bodies, and a server that does not take
// Content-Encoding: gzip may fail the request without the 415 that makes the
// middleware retry uncompressed.
func plainBody() []abstractions.RequestOption {
	return []abstractions.RequestOption{khttp.NewCompressionOptionsReference(false)}
}

// wireTime is t as Graph gets it: UTC, whole seconds.
func wireTime(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

func ptr[T any](v T) *T { return &v }
