package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/tenantwatch/tenantwatch/shared/activityfeed"
	"github.com/tenantwatch/tenantwatch/shared/store"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// feed is the app's Management Activity API client, built on first use:
// the API's URLs name the tenant, whose id is TENANTWATCH_TENANT_ID when
// set, else the directory's id read from Graph's /organization. It
// satisfies watch.ActivityFeed and doctor's feed.
type feed struct {
	root, tenantID string
	cred           azcore.TokenCredential
	org            interface {
		Organization(ctx context.Context) (tenant.Organization, error)
	}
	opts activityfeed.ClientOptions

	mu sync.Mutex
	c  *activityfeed.Client
}

func (f *feed) client(ctx context.Context) (*activityfeed.Client, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.c != nil {
		return f.c, nil
	}
	id := f.tenantID
	if id == "" {
		org, err := f.org.Organization(ctx)
		if err != nil {
			// Not kept: the next run asks again.
			return nil, fmt.Errorf("activity feed: the tenant id (TENANTWATCH_TENANT_ID, or GET /organization): %w", err)
		}
		id = org.ID
	}
	c, err := activityfeed.NewClient(f.root, id, f.cred, &f.opts)
	if err != nil {
		return nil, err
	}
	f.c = c
	return c, nil
}

func (f *feed) Content(ctx context.Context, contentType string, start, end time.Time, fn func(string, io.Reader) error) error {
	c, err := f.client(ctx)
	if err != nil {
		return err
	}
	return c.Content(ctx, contentType, start, end, fn)
}

func (f *feed) List(ctx context.Context, contentType string, start, end time.Time, fn func(string, string) error) error {
	c, err := f.client(ctx)
	if err != nil {
		return err
	}
	return c.List(ctx, contentType, start, end, fn)
}

func (f *feed) Blob(ctx context.Context, id, uri string, fn func(string, io.Reader) error) error {
	c, err := f.client(ctx)
	if err != nil {
		return err
	}
	return c.Blob(ctx, id, uri, fn)
}

func (f *feed) Subscriptions(ctx context.Context) ([]activityfeed.Subscription, error) {
	c, err := f.client(ctx)
	if err != nil {
		return nil, err
	}
	return c.Subscriptions(ctx)
}

func (f *feed) StartSubscription(ctx context.Context, contentType string, w *activityfeed.Webhook) (activityfeed.Subscription, error) {
	c, err := f.client(ctx)
	if err != nil {
		return activityfeed.Subscription{}, err
	}
	return c.StartSubscription(ctx, contentType, w)
}

// exchangeStore adapts the store's blob claims to watch.ExchangeStore.
type exchangeStore struct{ *store.Tables }

func (s exchangeStore) ClaimBlob(ctx context.Context, id string, now time.Time, lease time.Duration) (bool, error) {
	c, err := s.Tables.ClaimBlob(ctx, id, now, lease)
	return c == store.BlobClaimed, err
}

func newFeed(root, tenantID string, cred azcore.TokenCredential, org interface {
	Organization(ctx context.Context) (tenant.Organization, error)
}, version string, log *slog.Logger) *feed {
	return &feed{root: root, tenantID: tenantID, cred: cred, org: org,
		opts: activityfeed.ClientOptions{Logger: log, UserAgent: "tenantwatch/" + version}}
}
