package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/tenantwatch/tenantwatch/shared/activityfeed"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// activityURLFor returns the Management Activity API root a command uses:
// the --activity-url given, else the API's public root with a credential,
// else (--auth none) the --graph-url, where `tenantwatch sim` serves the
// API too. With --auth none the root must be loopback, like --graph-url.
func activityURLFor(given, graphURL string, withCredential bool) (string, error) {
	root := given
	switch {
	case root == "" && withCredential:
		root = activityfeed.DefaultURL
	case root == "":
		root = graphURL
	}
	u, err := url.Parse(root)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--activity-url: %q is not an http(s) URL", root)
	}
	if !withCredential && !tenant.IsLoopbackHost(u.Hostname()) {
		return "", fmt.Errorf("--auth none is only allowed when --graph-url and --activity-url are both loopback (got --activity-url host %q); use --auth azure", u.Hostname())
	}
	return root, nil
}

// orgReader is what the activity source reads from Graph to learn the
// tenant id (satisfied by *graph.Client).
type orgReader interface {
	Organization(ctx context.Context) (tenant.Organization, error)
}

// activitySource is the Management Activity API client of scan and
// doctor, built on first use: the API's URLs name the tenant, whose id is
// --tenant-id ($AZURE_TENANT_ID) when given, else the directory's id read
// from Graph's /organization. A scan that never reads the feed makes no
// request for it. Content has the method set of collect.ActivityFeed
// (issue 11's contract).
type activitySource struct {
	root, tenantID string
	cred           azcore.TokenCredential
	org            orgReader
	opts           activityfeed.ClientOptions

	mu  sync.Mutex
	c   *activityfeed.Client
	err error
}

// now is the run's clock (Env.Now): it bounds the feed's 7-day look-back,
// as it bounds every other window of the run.
func newActivitySource(root, tenantID string, cred azcore.TokenCredential, org orgReader, log *slog.Logger, now func() time.Time) *activitySource {
	return &activitySource{root: root, tenantID: strings.TrimSpace(tenantID), cred: cred, org: org,
		opts: activityfeed.ClientOptions{Logger: log, UserAgent: "tenantwatch/" + Version, Now: now}}
}

// client returns the client, building it once. A failure to learn the
// tenant id is returned as Graph classified it (a refused /organization
// wraps tenant.ErrAccessDenied), and again on every later call.
func (s *activitySource) client(ctx context.Context) (*activityfeed.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil || s.err != nil {
		return s.c, s.err
	}
	id := s.tenantID
	if id == "" {
		org, err := s.org.Organization(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err // not sticky: the caller's context ended
			}
			s.err = fmt.Errorf("activity feed: the tenant id (--tenant-id, or GET /organization): %w", err)
			return nil, s.err
		}
		id = org.ID
	}
	s.c, s.err = activityfeed.NewClient(s.root, id, s.cred, &s.opts)
	return s.c, s.err
}

// Content reads the feed (collect.ActivityFeed).
func (s *activitySource) Content(ctx context.Context, contentType string, start, end time.Time, fn func(contentID string, body io.Reader) error) error {
	c, err := s.client(ctx)
	if err != nil {
		return err
	}
	return c.Content(ctx, contentType, start, end, fn)
}

// Subscriptions lists the feed's subscriptions (doctor.Feed).
func (s *activitySource) Subscriptions(ctx context.Context) ([]activityfeed.Subscription, error) {
	c, err := s.client(ctx)
	if err != nil {
		return nil, err
	}
	return c.Subscriptions(ctx)
}

// startExchangeSubscription is scan's --start-subscriptions: it starts the
// Audit.Exchange subscription unless an enabled one exists (starting an
// existing one would drop its webhook), and says what it did on stderr.
// A refusal (403, auditing off) is reported and the scan goes on: the
// source is then unavailable with that reason. Other failures end the
// scan.
func startExchangeSubscription(ctx context.Context, env *Env, src *activitySource) error {
	subs, err := src.Subscriptions(ctx)
	if err == nil {
		for _, s := range subs {
			if strings.EqualFold(s.ContentType, activityfeed.ContentTypeExchange) && s.Enabled() {
				fmt.Fprintf(env.Stderr, "tenantwatch scan: the %s subscription is already started\n", activityfeed.ContentTypeExchange)
				return nil
			}
		}
		c, cerr := src.client(ctx)
		if cerr != nil {
			return cerr
		}
		if _, err = c.StartSubscription(ctx, activityfeed.ContentTypeExchange, nil); err == nil {
			fmt.Fprintf(env.Stderr, "tenantwatch scan: started the %s subscription of the Management Activity API (a one-time write); its first content can take up to 12 hours to appear\n", activityfeed.ContentTypeExchange)
			return nil
		}
	}
	if errors.Is(err, tenant.ErrAccessDenied) || errors.Is(err, tenant.ErrAuditingDisabled) {
		fmt.Fprintf(env.Stderr, "tenantwatch scan: warning: --start-subscriptions: %s\n", oneLine(err.Error()))
		return nil
	}
	return fmt.Errorf("--start-subscriptions: %w", err)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
