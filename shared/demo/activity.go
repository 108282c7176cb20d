package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/activityfeed"
	"github.com/tenantwatch/tenantwatch/shared/store"
)

// WaitActivity waits until the app has installed its Exchange path: the
// first PollActivity recorded its watermark (the API's 7 days read as the
// baseline) and, when the app has a webhook, the Audit.Exchange
// subscription's webhook is enabled at ActivityNotifications. Content
// published before that would be part of the baseline, without cards.
func (e *Env) WaitActivity(ctx context.Context) error {
	t, err := store.NewTablesFromConnectionString(e.Azurite.ConnectionString(), &store.TablesOptions{Prefix: e.tablePrefix()})
	if err != nil {
		return err
	}
	for {
		c, err := t.Cursor(ctx, "activity-exchange")
		done := err == nil && c.Exists()
		if done && e.Settings["TENANTWATCH_ACTIVITY_NOTIFICATION_URL"] != "" {
			addr, status, ok := e.Sim.ActivityWebhook(activityfeed.ContentTypeExchange)
			done = ok && status == "enabled" && strings.Contains(addr, "/api/ActivityNotifications")
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: the app did not install its Exchange path (PollActivity's first run, the webhook): %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
