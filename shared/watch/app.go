package watch

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/azureip"
	"github.com/tenantwatch/tenantwatch/shared/config"
	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/incident"
	"github.com/tenantwatch/tenantwatch/shared/notify"
	"github.com/tenantwatch/tenantwatch/shared/redact"
	"github.com/tenantwatch/tenantwatch/shared/sentinel"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Options tune an App. Config is required; the rest have defaults.
type Options struct {
	Config    config.Config
	Detectors []detect.Detector // nil = detect.All()
	Rules     detect.Config     // rule definitions; zero = defaults
	// ServiceTags fetches a Service Tags JSON file (from Blob Storage or a
	// local file). Nil, or an error, leaves signin.azure-ip skipped with
	// the reason; the rest keeps working.
	ServiceTags func(ctx context.Context) ([]byte, error)
	// Sender posts to the Teams webhook; nil when none is configured (alerts
	// then wait in the outbox).
	Sender  *notify.Sender
	Version string
	Now     func() time.Time
	Logger  *slog.Logger
	// InlineDelivery bounds the delivery a round attempts right after it
	// queued alerts (default 20 s; negative disables it).
	InlineDelivery time.Duration
	// Deliver tunes delivery (back-off, lease).
	Deliver *notify.DeliverOptions
	// HTTPClient warms the app's own notification endpoint before it
	// subscribes (default: a client with a 30 s timeout).
	HTTPClient *http.Client
	// Exchange is the Management Activity API path (ActivityNotifications,
	// ProcessActivity, PollActivity); nil leaves the Exchange rules to the
	// scan.
	Exchange *Exchange
	// Sentinel is the optional Log Analytics sink (shared/sentinel): new
	// findings and the daily sweep's incidents are queued in its outbox,
	// DeliverAlerts uploads them. Nil: off.
	Sentinel LogSink
}

// LogSink queues rows for Log Analytics and delivers them;
// *sentinel.Sink satisfies it.
type LogSink interface {
	AddFindings(ctx context.Context, fs []tenant.Finding, change string) error
	AddIncidents(ctx context.Context, incs []incident.Incident) error
	Deliver(ctx context.Context) (sentinel.Stats, error)
}

// Cursor names.
const (
	cursorUsers   = "delta-users"
	cursorSPs     = "delta-servicePrincipals"
	cursorApps    = "delta-applications"
	cursorAudits  = "audits"
	cursorSignIns = "signins"
	cursorSweep   = "sweep"
)

// App implements the functions. It is safe for concurrent use.
type App struct {
	d       Deps
	o       Options
	log     *slog.Logger
	now     func() time.Time
	outbox  *notify.Outbox
	streams sync.Map // stream name → *sync.Mutex: one round per stream per process
	// roundStarted: stream name → time.Time the latest round began.
	roundStarted sync.Map

	subscribed atomic.Bool // every watched resource has a stored subscription (seen once)
	statesMu   sync.Mutex
	states     map[string]cachedState // subscription id → clientState

	rangesMu sync.Mutex
	ranges   *azureip.Set
	rangesAt time.Time
	noRanges string
}

type cachedState struct {
	state string
	at    time.Time
}

// New returns an App over d. It fails when a role of d is missing.
func New(d Deps, opts *Options) (*App, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Detectors == nil {
		o.Detectors = detect.All()
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if o.InlineDelivery == 0 {
		o.InlineDelivery = 20 * time.Second
	}
	if !o.Config.AlertSeverity.Valid() {
		o.Config.AlertSeverity = tenant.SeverityHigh
	}
	a := &App{d: d, o: o, log: o.Logger, now: func() time.Time { return o.Now().UTC() }, states: make(map[string]cachedState)}
	a.outbox = notify.NewOutbox(d.Outbox, &notify.OutboxOptions{Threshold: o.Config.AlertSeverity, Now: a.now, Logger: o.Logger})
	return a, nil
}

// lock serialises rounds of one stream within this process (invocations in
// other processes are kept apart by the cursors' ETags).
func (a *App) lock(stream string) func() {
	m, _ := a.streams.LoadOrStore(stream, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// ClientState returns the stored clientState of one of the app's
// subscriptions, cached for five minutes.
func (a *App) ClientState(ctx context.Context, subscriptionID string) (string, bool, error) {
	now := a.now()
	a.statesMu.Lock()
	c, ok := a.states[subscriptionID]
	a.statesMu.Unlock()
	if ok && now.Sub(c.at) < 5*time.Minute {
		return c.state, c.state != "", nil
	}
	s, found, err := a.d.Subscriptions.SubscriptionByID(ctx, subscriptionID)
	if err != nil {
		return "", false, fmt.Errorf("watch: client state: %w", err)
	}
	state := ""
	if found {
		state = s.ClientState
	}
	a.statesMu.Lock()
	if len(a.states) > 1000 { // unknown ids are cached too: bound the map
		clear(a.states)
	}
	a.states[subscriptionID] = cachedState{state: state, at: now}
	a.statesMu.Unlock()
	return state, found && state != "", nil
}

func (a *App) forgetState(id string) {
	a.statesMu.Lock()
	delete(a.states, id)
	a.statesMu.Unlock()
}

// newClientState returns 32 random bytes, base64url: a secret of 43
// characters (Graph allows 128).
func newClientState() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// azureRanges returns the Azure IP ranges, reloaded daily, or nil with the
// reason they are unavailable.
func (a *App) azureRanges(ctx context.Context) (*azureip.Set, string) {
	a.rangesMu.Lock()
	defer a.rangesMu.Unlock()
	now := a.now()
	if a.ranges != nil && now.Sub(a.rangesAt) < 24*time.Hour {
		return a.ranges, ""
	}
	if a.o.ServiceTags == nil {
		return nil, "no Service Tags file is configured (TENANTWATCH_SERVICE_TAGS_BLOB)"
	}
	if a.noRanges != "" && now.Sub(a.rangesAt) < 10*time.Minute {
		return nil, a.noRanges
	}
	a.rangesAt = now
	b, err := a.o.ServiceTags(ctx)
	if err == nil {
		var set *azureip.Set
		if set, err = azureip.Parse(bytes.NewReader(b)); err == nil {
			a.ranges, a.noRanges = set, ""
			return set, ""
		}
	}
	a.noRanges = "the Service Tags file could not be read: " + redact.Text(err.Error()) // shown on cards
	a.log.Warn("azure ip ranges unavailable: signin.azure-ip is skipped until they load", "err", err)
	if a.ranges != nil {
		return a.ranges, "" // keep yesterday's ranges
	}
	return nil, a.noRanges
}
