// Package app wires the deployed app from its configuration: the Graph
// client, Table and Blob Storage, the Teams sender and the watch engine. It
// is the only place that knows every adapter; `tenantwatch serve` and the
// demo use it.
package app

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/tenantwatch/tenantwatch/handlers"
	"github.com/tenantwatch/tenantwatch/shared/activityfeed/feedhook"
	"github.com/tenantwatch/tenantwatch/shared/azureip"
	"github.com/tenantwatch/tenantwatch/shared/blobstore"
	"github.com/tenantwatch/tenantwatch/shared/collect"
	"github.com/tenantwatch/tenantwatch/shared/config"
	"github.com/tenantwatch/tenantwatch/shared/doctor"
	"github.com/tenantwatch/tenantwatch/shared/graph"
	"github.com/tenantwatch/tenantwatch/shared/graph/webhook"
	"github.com/tenantwatch/tenantwatch/shared/identity"
	"github.com/tenantwatch/tenantwatch/shared/notify"
	"github.com/tenantwatch/tenantwatch/shared/redact"
	"github.com/tenantwatch/tenantwatch/shared/sentinel"
	"github.com/tenantwatch/tenantwatch/shared/store"
	"github.com/tenantwatch/tenantwatch/shared/watch"
)

// New wires the deployed app from its configuration: the Graph client,
// Table and Blob Storage, the Teams sender. It creates the tables and the
// report container if they are missing, on ctx: Lazy gives it a context of
// its own.
//
// The app signs in with one credential (shared/identity), built once, and
// only when something needs it: Graph with TENANTWATCH_GRAPH_AUTH=azure,
// identity-based storage, the Service Tag Discovery API. It is the
// user-assigned identity of AzureWebJobsStorage__clientId, or the default
// chain without one.
func New(ctx context.Context, cfg config.Config, version string, log *slog.Logger) (*Service, error) {
	return newService(ctx, cfg, version, log, identity.New)
}

// newService is New with the credential built by newCredential.
func newService(ctx context.Context, cfg config.Config, version string, log *slog.Logger, newCredential identity.Factory) (*Service, error) {
	auth := graph.AuthAzure
	if cfg.GraphAuth == "none" {
		auth = graph.AuthNone
	}
	// The Service Tags come from a file, else a blob, else the Service Tag
	// Discovery API (else signin.azure-ip is skipped).
	tagContainer, tagName, _ := strings.Cut(cfg.ServiceTagsBlob, "/")
	discovery := cfg.ServiceTagsFile == "" && tagContainer == "" && cfg.ServiceTagsSubscription != ""
	var cred azcore.TokenCredential
	sentinelOn := cfg.SentinelEndpoint != ""
	if auth == graph.AuthAzure || cfg.Storage.IdentityBased() || discovery || sentinelOn {
		var err error
		if cred, err = newCredential(cfg.Storage.ClientID); err != nil {
			return nil, err
		}
	}
	gc, err := graph.NewClient(cfg.GraphURL, auth, &graph.ClientOptions{Credential: cred, Logger: log, UserAgent: "tenantwatch/" + version,
		DisableBeta: !cfg.Beta})
	if err != nil {
		return nil, err
	}
	var (
		tables  *store.Tables
		reports *blobstore.Container
		tags    *blobstore.Container
	)
	topts := &store.TablesOptions{Prefix: cfg.TablePrefix, Logger: log}
	if cfg.Storage.IdentityBased() {
		if tables, err = store.NewTables(cfg.Storage.TableURL, cred, topts); err != nil {
			return nil, err
		}
		if reports, err = blobstore.NewContainer(cfg.Storage.BlobURL, cred, cfg.ReportContainer, &blobstore.ContainerOptions{Logger: log}); err != nil {
			return nil, err
		}
		if tagContainer != "" {
			if tags, err = blobstore.NewContainer(cfg.Storage.BlobURL, cred, tagContainer, &blobstore.ContainerOptions{Logger: log}); err != nil {
				return nil, err
			}
		}
	} else {
		if tables, err = store.NewTablesFromConnectionString(cfg.Storage.ConnectionString, topts); err != nil {
			return nil, err
		}
		if reports, err = blobstore.NewContainerFromConnectionString(cfg.Storage.ConnectionString, cfg.ReportContainer, &blobstore.ContainerOptions{Logger: log}); err != nil {
			return nil, err
		}
		if tagContainer != "" {
			if tags, err = blobstore.NewContainerFromConnectionString(cfg.Storage.ConnectionString, tagContainer, &blobstore.ContainerOptions{Logger: log}); err != nil {
				return nil, err
			}
		}
	}
	if err := tables.Init(ctx); err != nil {
		return nil, fmt.Errorf("table storage: %w", err)
	}
	if err := reports.Init(ctx); err != nil {
		return nil, fmt.Errorf("blob storage: %w", err)
	}
	var sender *notify.Sender
	if cfg.TeamsWebhookURL != "" {
		if sender, err = notify.NewSender(cfg.TeamsWebhookURL, &notify.SenderOptions{Logger: log, AllowHTTPLoopback: cfg.AllowHTTP}); err != nil {
			return nil, err
		}
	}
	opts := &watch.Options{Config: cfg, Sender: sender, Version: version, Logger: log,
		Deliver: &notify.DeliverOptions{BaseBackoff: cfg.DeliveryBackoff}}
	switch {
	case cfg.ServiceTagsFile != "":
		path := cfg.ServiceTagsFile
		opts.ServiceTags = func(context.Context) ([]byte, error) { return os.ReadFile(path) }
	case tags != nil:
		opts.ServiceTags = func(ctx context.Context) ([]byte, error) { return tags.Get(ctx, tagName) }
	case discovery:
		u := azureip.DiscoveryURL(cfg.ARMURL, cfg.ServiceTagsSubscription, cfg.ServiceTagsLocation)
		opts.ServiceTags = func(ctx context.Context) ([]byte, error) {
			tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{cfg.ARMURL + "/.default"}})
			if err != nil {
				return nil, fmt.Errorf("service tag discovery: token: %w", redact.Error(err))
			}
			return azureip.Fetch(ctx, nil, u, tok.Token)
		}
	}
	// The Management Activity API (the Exchange rules): its root, the
	// tenant of its URLs, the same credential (tokens for
	// https://manage.office.com).
	feed := newFeed(cfg.ActivityURL, cfg.TenantID, cred, gc, version, log)
	// The Log Analytics sink (off unless both settings are set): its own
	// outbox in the outbox table, the same credential (tokens for
	// https://monitor.azure.com/).
	la := &doctor.LogAnalytics{Endpoint: cfg.SentinelEndpoint, RuleID: cfg.SentinelRuleID}
	if sentinelOn {
		sink, err := newSentinel(cfg, tables, cred, log)
		if err != nil {
			return nil, err
		}
		opts.Sentinel, la.Pending = sink, sink.Pending
	}
	rounds := collect.NewRounds(gc, tables, &collect.RoundsOptions{Logger: log})
	opts.Exchange = &watch.Exchange{Feed: feed, Rounds: rounds, Store: exchangeStore{tables}}
	w, err := watch.New(watch.Deps{
		Tenant:     rounds,
		Subscriber: gc,
		Cursors:    tables, Baselines: tables, Findings: tables, Outbox: tables, Subscriptions: tables, SignIns: tables,
		Reports: reports, Incidents: tables,
	}, opts)
	if err != nil {
		return nil, err
	}
	var teams doctor.Teams
	if sender != nil {
		teams = sender
	}
	doc, err := doctor.New(gc, doctor.Facts{LicenceMissing: graph.LicenceMissing},
		&doctor.Options{Target: cfg.GraphURL, Teams: teams, NotificationURL: cfg.NotificationURL, Feed: feed,
			ActivityNotificationURL: cfg.ActivityNotificationURL, LogAnalytics: la, Logger: log})
	if err != nil {
		return nil, err
	}
	return &Service{App: w, doc: doc}, nil
}

// newSentinel builds the Log Analytics sink over its outbox in tables.
func newSentinel(cfg config.Config, tables *store.Tables, cred azcore.TokenCredential, log *slog.Logger) (*sentinel.Sink, error) {
	ob, err := tables.SinkOutbox("sentinel")
	if err != nil {
		return nil, err
	}
	c, err := sentinel.NewClient(cfg.SentinelEndpoint, cfg.SentinelRuleID, cred, nil)
	if err != nil {
		return nil, err
	}
	return sentinel.NewSink(ob, c, &sentinel.SinkOptions{TenantID: cfg.TenantID, Logger: log})
}

// Service is the deployed app: the functions of watch.App and the
// Doctor function, which runs doctor's checks as the app's own identity.
type Service struct {
	*watch.App
	doc *doctor.Doctor
}

// Doctor runs the checks and returns the report as JSON. The Teams webhook
// is not contacted (a GET must not post to a channel).
func (s *Service) Doctor(ctx context.Context) ([]byte, error) {
	return json.Marshal(s.doc.Run(ctx))
}

// Start-up defaults of Lazy.
const (
	// DefaultStartTimeout bounds one start-up attempt.
	DefaultStartTimeout = 2 * time.Minute
	// DefaultRetryAfter is the wait after a failed start-up before the
	// next attempt; it doubles with each further failure.
	DefaultRetryAfter = time.Second
	// DefaultMaxRetryAfter caps the wait between attempts.
	DefaultMaxRetryAfter = time.Minute
)

// Lazy builds the app on first use, so that the handler answers the
// host's readiness probe at once, before storage is touched.
//
// One build runs at a time, however many invocations arrive meanwhile. It
// runs on a context of its own: the values of the invocation that started
// it, not its cancellation or deadline, and a deadline of StartTimeout. An
// invocation waits for the build with its own context and, when that ends
// first (a notification POST within Graph's 3 s budget, say), fails alone
// while the build goes on for the next one. A failed build fails the
// invocations that waited for it; the next one starts with the first
// invocation RetryAfter later, a wait doubled after each further failure
// up to MaxRetryAfter, and the invocations in between fail at once with
// the failed build's error. A successful build is kept for the life of the
// process. Init is required; the other fields have defaults.
type Lazy struct {
	// Init builds the service (app.New).
	Init func(ctx context.Context) (handlers.Service, error)
	// StartTimeout bounds one build (default DefaultStartTimeout).
	StartTimeout time.Duration
	// RetryAfter is the wait after a failed build before the next one
	// (default DefaultRetryAfter), doubled after each further failure up
	// to MaxRetryAfter (default DefaultMaxRetryAfter).
	RetryAfter, MaxRetryAfter time.Duration
	// Now is the clock of the waits (default time.Now).
	Now func() time.Time
	// Logger receives a line per build: started, failed, panicked
	// (default: discard).
	Logger *slog.Logger

	mu       sync.Mutex
	svc      handlers.Service // the built service, once a build succeeded
	building *build           // the build running, or nil
	failed   *build           // the last failed build until one succeeds
	failures int              // builds failed in a row
	next     time.Time        // no build starts before this after a failure
	waiting  func()           // test hook: an invocation waits for a build
}

// build is one start-up attempt; done is closed when svc or err is set.
type build struct {
	done chan struct{}
	svc  handlers.Service
	err  error
}

func (l *Lazy) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Lazy) log() *slog.Logger {
	if l.Logger != nil {
		return l.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// get returns the service, building it first if needed. Errors start with
// "start-up:".
func (l *Lazy) get(ctx context.Context) (handlers.Service, error) {
	l.mu.Lock()
	if l.svc != nil {
		svc := l.svc
		l.mu.Unlock()
		return svc, nil
	}
	b := l.building
	if b == nil {
		if now := l.now(); l.failed != nil && now.Before(l.next) {
			err := fmt.Errorf("%w (next attempt in %s)", l.failed.err, l.next.Sub(now).Round(time.Millisecond))
			l.mu.Unlock()
			return nil, err
		}
		b = &build{done: make(chan struct{})}
		l.building = b
		go l.run(context.WithoutCancel(ctx), b)
	}
	waiting := l.waiting
	l.mu.Unlock()
	if waiting != nil {
		waiting()
	}
	select {
	case <-b.done:
		return b.svc, b.err
	case <-ctx.Done():
		return nil, fmt.Errorf("start-up: not finished when the invocation ended: %w", context.Cause(ctx))
	}
}

// run is one build: Init on ctx with the start-up deadline, its outcome
// recorded for the waiting invocations and the next ones.
func (l *Lazy) run(ctx context.Context, b *build) {
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(l.StartTimeout, DefaultStartTimeout))
	defer cancel()
	log := l.log()
	start := l.now()
	svc, err := l.init(ctx, log)
	l.mu.Lock()
	l.building = nil
	if err != nil {
		b.err = fmt.Errorf("start-up: %w", err)
		l.failed = b
		l.failures++
		wait := l.retryAfter(l.failures)
		l.next = l.now().Add(wait)
		log.Warn("start-up failed", "err", b.err, "failures", l.failures, "retry_after", wait.String())
	} else {
		b.svc, l.svc = svc, svc
		l.failed, l.failures = nil, 0
		log.Info("started", "duration", l.now().Sub(start).Round(time.Millisecond).String())
	}
	l.mu.Unlock()
	close(b.done)
}

// retryAfter is the wait after the n-th failed build in a row:
// RetryAfter doubled n-1 times, at most MaxRetryAfter.
func (l *Lazy) retryAfter(n int) time.Duration {
	limit := cmp.Or(l.MaxRetryAfter, DefaultMaxRetryAfter)
	wait := cmp.Or(l.RetryAfter, DefaultRetryAfter)
	for i := 1; i < n && wait < limit; i++ {
		wait *= 2
	}
	return min(wait, limit)
}

// init calls Init, turning a panic (the build runs on a goroutine of its
// own, outside the handler's recovery) and a nil service into errors.
func (l *Lazy) init(ctx context.Context, log *slog.Logger) (svc handlers.Service, err error) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("start-up panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			svc, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	svc, err = l.Init(ctx)
	if err == nil && svc == nil {
		err = errors.New("no service built")
	}
	return svc, err
}

func (l *Lazy) ClientState(ctx context.Context, id string) (string, bool, error) {
	s, err := l.get(ctx)
	if err != nil {
		return "", false, err
	}
	return s.ClientState(ctx, id)
}

func (l *Lazy) ProcessChanges(ctx context.Context, n webhook.Notification) error {
	s, err := l.get(ctx)
	if err != nil {
		return err
	}
	return s.ProcessChanges(ctx, n)
}

func (l *Lazy) Lifecycle(ctx context.Context, n webhook.Notification) error {
	s, err := l.get(ctx)
	if err != nil {
		return err
	}
	return s.Lifecycle(ctx, n)
}

func (l *Lazy) call(ctx context.Context, f func(handlers.Service, context.Context) error) error {
	s, err := l.get(ctx)
	if err != nil {
		return err
	}
	return f(s, ctx)
}

func (l *Lazy) PollDirectory(ctx context.Context) error {
	return l.call(ctx, handlers.Service.PollDirectory)
}
func (l *Lazy) PollSignIns(ctx context.Context) error {
	return l.call(ctx, handlers.Service.PollSignIns)
}
func (l *Lazy) DailySweep(ctx context.Context) error {
	return l.call(ctx, handlers.Service.DailySweep)
}
func (l *Lazy) RenewSubscriptions(ctx context.Context) error {
	return l.call(ctx, handlers.Service.RenewSubscriptions)
}
func (l *Lazy) DeliverAlerts(ctx context.Context) error {
	return l.call(ctx, handlers.Service.DeliverAlerts)
}

func (l *Lazy) ActivityAuthID(ctx context.Context) (string, error) {
	s, err := l.get(ctx)
	if err != nil {
		return "", err
	}
	return s.ActivityAuthID(ctx)
}

func (l *Lazy) ProcessActivity(ctx context.Context, n feedhook.Notification) error {
	s, err := l.get(ctx)
	if err != nil {
		return err
	}
	return s.ProcessActivity(ctx, n)
}

func (l *Lazy) PollActivity(ctx context.Context) error {
	return l.call(ctx, handlers.Service.PollActivity)
}

func (l *Lazy) Doctor(ctx context.Context) ([]byte, error) {
	svc, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return svc.Doctor(ctx)
}

var _ handlers.Service = (*Service)(nil)
