package graphsim

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Names accepted in Options.Deny. Each makes the matching reads answer 403
// with the body Graph gives for a missing licence or permission.
const (
	SourceOrganization            = "organization"
	SourceSubscribedSkus          = "subscribedSkus"
	SourceUsers                   = "users"
	SourceSignInActivity          = "signInActivity" // /users with signInActivity selected
	SourceUserRegistrationDetails = "userRegistrationDetails"
	SourceServicePrincipals       = "servicePrincipals"
	SourceApplications            = "applications"
	SourceAppRoleAssignedTo       = "appRoleAssignedTo"
	SourceDirectoryAudits         = "directoryAudits"
	SourceSignIns                 = "signIns"
	SourceConditionalAccess       = "conditionalAccess" // policies and named locations
	SourceGroups                  = "groups"            // groups/delta
	SourceSubscriptions           = "subscriptions"     // every /subscriptions request
)

// Options configure a simulated tenant. Scenario is required; the other
// fields' zero values are the defaults.
type Options struct {
	// Scenario is the tenant's data and attack story (packages under
	// shared/graphsim/scenario; scenario.Get finds one by name).
	Scenario *Scenario
	// Now is the scenario anchor: every relative time in the scenario is
	// resolved against it (truncated to the second). Zero: Clock() at New.
	Now time.Time
	// Clock is the tenant's running clock: events appended at run time
	// (attack steps) carry its time, and it decides when subscriptions
	// and delta tokens expire. Nil: the clock starts at Now and runs with
	// the wall clock (time.Now when Now is zero too).
	Clock func() time.Time
	// Users adds that many synthetic benign users (E3, MFA registered,
	// signed in recently). They are generated from their index when served,
	// not held in memory. One in ten also gets a sign-in log entry.
	Users int
	// ThrottleRate is the fraction (0..1) of requests answered 429.
	ThrottleRate float64
	// RetryAfter is the Retry-After value of those answers in seconds.
	// 0 means the default, 1; a negative value sends "Retry-After: 0".
	RetryAfter int
	// Seed makes throttling, request ids and synthetic data deterministic.
	Seed int64
	// ReportLimits, when set, applies the identity and access reports
	// service's documented limits (reports.go): 5 requests per 10 seconds
	// over auditLogs/* and reports/authenticationMethods/*, and 10 per
	// minute for /users requests that select or filter signInActivity,
	// which count against both. Over a limit: 429 with Retry-After.
	ReportLimits *ReportLimits
	// RejectRegistrationTop makes $top on userRegistrationDetails answer
	// 400 (its v1.0 page documents only $filter and $orderby); otherwise
	// the report pages at $top up to 999 (default 100).
	RejectRegistrationTop bool
	// Deny lists sources answering 403 (see the Source constants).
	Deny []string
	// Permissions are the Microsoft Graph application permissions granted
	// to the caller ("User.Read.All", …). Nil grants all; otherwise a call
	// they do not allow answers Graph's 403 (see permissions.go for the
	// tables).
	Permissions []string
	// NoPremium makes a tenant without Entra ID P1 or P2: /subscribedSkus
	// lists no AAD_PREMIUM plans, and sign-in logs, signInActivity,
	// registration details and Conditional Access answer Graph's
	// non-premium 403 (after the permission check).
	NoPremium bool
	// Logger receives one debug line per request; nil discards.
	Logger *slog.Logger

	// DeltaTokenTTL is how long (on Clock) delta and skip tokens of the
	// delta endpoints stay valid; older ones answer 400 syncStateNotFound.
	// 0: Graph's seven days for directory objects.
	DeltaTokenTTL time.Duration
	// DeltaPageSize is the number of objects per delta page. 0: 200 (Graph
	// documents no size and no $top for delta; see README.md).
	DeltaPageSize int
	// EmptyDeltaPages starts every delta round with an empty page that
	// carries only a nextLink, as Graph may ("even if the current response
	// contains an empty result").
	EmptyDeltaPages bool
	// MinimalDeltaUpdates makes users/delta and groups/delta answer as if
	// every request carried "Prefer: return=minimal": an updated object
	// carries its id and only the changed properties.
	MinimalDeltaUpdates bool

	// AllowHTTPNotificationURL accepts http:// notification and lifecycle
	// URLs on 127.0.0.1, ::1 or localhost (Graph requires https).
	AllowHTTPNotificationURL bool
	// DuplicateNotifications sends every change and lifecycle notification
	// twice: Graph delivers at least once.
	DuplicateNotifications bool
	// NotificationClient makes the validation requests and deliveries.
	// Nil: a client of the standard library's defaults (per-request
	// timeouts below). Tests with TLS receivers pass srv.Client().
	NotificationClient *http.Client
	// ValidationTimeout bounds the validation handshake. 0: Graph's 10 s.
	ValidationTimeout time.Duration
	// DeliveryTimeout bounds one notification POST. 0: Graph's 3 s.
	DeliveryTimeout time.Duration

	// ActivityFault makes the simulated Management Activity API refuse
	// every request (ActivityForbidden, ActivityAuditingDisabled); ""
	// serves it.
	ActivityFault ActivityFault
	// ActivityUnsubscribed starts the Management Activity API with no
	// subscription (the scenario's activity.json lists the started ones):
	// content listings answer AF20022 until one is started.
	ActivityUnsubscribed bool
	// ActivityPageSize is the number of blobs per content listing page
	// (more: a NextPageUri header). 0: 100.
	ActivityPageSize int
}

// Server is a simulated Microsoft Graph v1.0 tenant. It is safe for
// concurrent use. Its data changes only through the mutation API (Update,
// Create, Delete, AppendLog, Attack) and subscriptions.
type Server struct {
	granted      map[string]bool // lower-cased granted permissions; nil: all
	noPremium    bool
	log          *slog.Logger
	now          time.Time
	started      time.Time
	clockFn      func() time.Time
	seed         uint64
	rate         float64
	retryAfter   int
	limits       *reportLimiter // nil: Options.ReportLimits off
	rejectRegTop bool
	deny         map[string]bool
	routes       []*route
	deltas       []*deltaRoute
	store        *store
	scenario     string // its name
	story        Story  // nil: the scenario has no attack steps

	deltaTTL     time.Duration
	deltaSize    int
	emptyDelta   bool
	minimalDelta bool
	tokenKey     []byte
	epoch        atomic.Uint64 // raised by ExpireDeltaTokens

	allowHTTP   bool
	dupNotes    bool
	client      *http.Client
	validateTTL time.Duration
	deliverTTL  time.Duration
	appID       string // the calling application, as subscriptions name it
	creatorID   string // its service principal

	reqs atomic.Uint64

	mu    sync.Mutex
	stats Stats

	subMu sync.Mutex
	subs  map[string]*subscription // lower-case id
	subN  uint64
	valN  atomic.Uint64 // validation tokens issued

	delMu      sync.Mutex
	deliveries []Delivery
	inflightN  int
	idle       chan struct{} // closed when inflightN drops to 0

	attackMu sync.Mutex // one attack step at a time

	activity *activityFeed // the Management Activity API
}

// Stats counts what a server answered.
type Stats struct {
	Total     int            // requests received
	Throttled int            // answered 429
	Requests  map[string]int // requests per route ("/users"); "(not simulated)" for 501
	Items     map[string]int // objects served per route
	Status    map[int]int    // answers per HTTP status code
	// SignInActivity counts the /users requests (also in Requests) that
	// selected or filtered signInActivity, whatever their answer;
	// SignInActivityItems the users they served.
	SignInActivity      int
	SignInActivityItems int
	// Notifications counts notification POSTs (change and lifecycle) per
	// answer status; 0 counts transport errors and timeouts.
	Notifications map[int]int
}

// New builds a server for opts. It fails without a scenario, on an unknown
// Deny name, a negative Users count or a ThrottleRate outside 0..1, and if
// the scenario's data is malformed or its story fails to start.
func New(opts *Options) (*Server, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Scenario == nil {
		return nil, errors.New("graphsim: Options.Scenario is nil (shared/graphsim/scenario.Get returns one by name)")
	}
	if o.Users < 0 {
		return nil, fmt.Errorf("graphsim: Users is negative (%d)", o.Users)
	}
	if o.ThrottleRate < 0 || o.ThrottleRate > 1 || o.ThrottleRate != o.ThrottleRate {
		return nil, fmt.Errorf("graphsim: ThrottleRate %v is outside 0..1", o.ThrottleRate)
	}
	deny := make(map[string]bool, len(o.Deny))
	for _, d := range o.Deny {
		if !validSource(d) {
			return nil, fmt.Errorf("graphsim: unknown Deny source %q (want one of %s)", d, strings.Join(sourceNames(), ", "))
		}
		deny[d] = true
	}
	now := o.Now
	if now.IsZero() {
		if o.Clock != nil {
			now = o.Clock()
		} else {
			now = time.Now()
		}
	}
	now = now.UTC().Truncate(time.Second)
	if o.DeltaTokenTTL < 0 || o.DeltaPageSize < 0 || o.ValidationTimeout < 0 || o.DeliveryTimeout < 0 {
		return nil, fmt.Errorf("graphsim: negative DeltaTokenTTL, DeltaPageSize, ValidationTimeout or DeliveryTimeout")
	}
	retry := o.RetryAfter
	switch {
	case retry == 0:
		retry = 1
	case retry < 0:
		retry = 0
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, err := loadScenario(o.Scenario, now, o.Users, uint64(o.Seed))
	if err != nil {
		return nil, fmt.Errorf("graphsim: scenario %q: %w", o.Scenario.Name, err)
	}
	if o.NoPremium {
		stripPremium(st)
	}
	switch o.ActivityFault {
	case "", ActivityForbidden, ActivityAuditingDisabled:
	default:
		return nil, fmt.Errorf("graphsim: unknown ActivityFault %q (want %q or %q)", o.ActivityFault, ActivityForbidden, ActivityAuditingDisabled)
	}
	if o.ActivityPageSize < 0 {
		return nil, fmt.Errorf("graphsim: negative ActivityPageSize")
	}
	feed, err := loadActivity(o.Scenario.Data, now, o.ActivityUnsubscribed)
	if err != nil {
		return nil, fmt.Errorf("graphsim: scenario %q: %w", o.Scenario.Name, err)
	}
	feed.fault = o.ActivityFault
	feed.pageSize = cmp.Or(o.ActivityPageSize, defaultActivityPageSize)
	var granted map[string]bool
	if o.Permissions != nil {
		granted = make(map[string]bool, len(o.Permissions))
		for _, p := range o.Permissions {
			granted[strings.ToLower(strings.TrimSpace(p))] = true
		}
	}
	s := &Server{
		granted:      granted,
		noPremium:    o.NoPremium,
		log:          log,
		now:          now,
		started:      time.Now(),
		clockFn:      o.Clock,
		seed:         uint64(o.Seed),
		rate:         o.ThrottleRate,
		retryAfter:   retry,
		rejectRegTop: o.RejectRegistrationTop,
		deny:         deny,
		routes:       routes(),
		deltas:       deltaRoutes(),
		store:        st,
		scenario:     o.Scenario.Name,
		deltaTTL:     orDefault(o.DeltaTokenTTL, 7*24*time.Hour),
		deltaSize:    o.DeltaPageSize,
		emptyDelta:   o.EmptyDeltaPages,
		minimalDelta: o.MinimalDeltaUpdates,
		allowHTTP:    o.AllowHTTPNotificationURL,
		dupNotes:     o.DuplicateNotifications,
		client:       o.NotificationClient,
		validateTTL:  orDefault(o.ValidationTimeout, 10*time.Second),
		deliverTTL:   orDefault(o.DeliveryTimeout, 3*time.Second),
		appID:        UUIDFrom(uint64(o.Seed), 1, 0x617070),
		creatorID:    UUIDFrom(uint64(o.Seed), 1, 0x737070),
		subs:         map[string]*subscription{},
		activity:     feed,
	}
	if o.ReportLimits != nil {
		s.limits = newReportLimiter(o.ReportLimits)
	}
	if s.deltaSize == 0 {
		s.deltaSize = defaultDeltaPageSize
	}
	if s.client == nil {
		s.client = &http.Client{}
	}
	key := sha256.New()
	key.Write([]byte("graphsim delta token key\x00" + st.tenantID + "\x00"))
	key.Write(binary.BigEndian.AppendUint64(nil, uint64(o.Seed)))
	s.tokenKey = key.Sum(nil)
	s.stats = newStats()
	if o.Scenario.Story != nil {
		if s.story, err = o.Scenario.Story(s); err != nil {
			return nil, fmt.Errorf("graphsim: scenario %q: story: %w", o.Scenario.Name, err)
		}
	}
	log.Debug("graphsim: tenant ready", "scenario", o.Scenario.Name, "now", now, "synthetic_users", o.Users,
		"throttle_rate", o.ThrottleRate, "deny", o.Deny)
	return s, nil
}

func newStats() Stats {
	return Stats{Requests: map[string]int{}, Items: map[string]int{}, Status: map[int]int{}, Notifications: map[int]int{}}
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func sourceNames() []string {
	return []string{SourceOrganization, SourceSubscribedSkus, SourceUsers, SourceSignInActivity,
		SourceUserRegistrationDetails, SourceServicePrincipals, SourceApplications,
		SourceAppRoleAssignedTo, SourceDirectoryAudits, SourceSignIns, SourceConditionalAccess,
		SourceGroups, SourceSubscriptions, SourceSignInsBeta, SourceDevices, SourceDomains, SourceDomainFederation, SourceAuthorizationPolicy,
		SourceDelegatedGrants, SourceGroupMembers, SourceFederatedCredentials}
}

func validSource(name string) bool {
	for _, n := range sourceNames() {
		if n == name {
			return true
		}
	}
	return false
}

// Handler returns the HTTP handler serving Graph v1.0 paths. The base URL
// may carry any path prefix: routing uses what follows "/v1.0/".
func (s *Server) Handler() http.Handler { return s }

// Seed returns Options.Seed: scenario steps derive their ids from it.
func (s *Server) Seed() int64 { return int64(s.seed) }

// Now returns the scenario anchor the data was resolved against.
func (s *Server) Now() time.Time { return s.now }

// Clock returns the tenant's current time (Options.Clock, or Now plus the
// time elapsed since New), in UTC.
func (s *Server) Clock() time.Time {
	if s.clockFn != nil {
		return s.clockFn().UTC()
	}
	return s.now.Add(time.Since(s.started)).UTC()
}

// Version returns the tenant's change counter: it increases with every
// change made after New.
func (s *Server) Version() uint64 {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	return s.store.version
}

// TenantID returns the simulated tenant's id (the organization object id).
func (s *Server) TenantID() string { return s.store.tenantID }

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := Stats{Total: s.stats.Total, Throttled: s.stats.Throttled,
		SignInActivity: s.stats.SignInActivity, SignInActivityItems: s.stats.SignInActivityItems,
		Requests:      make(map[string]int, len(s.stats.Requests)),
		Items:         make(map[string]int, len(s.stats.Items)),
		Status:        make(map[int]int, len(s.stats.Status)),
		Notifications: make(map[int]int, len(s.stats.Notifications))}
	for k, v := range s.stats.Notifications {
		c.Notifications[k] = v
	}
	for k, v := range s.stats.Requests {
		c.Requests[k] = v
	}
	for k, v := range s.stats.Items {
		c.Items[k] = v
	}
	for k, v := range s.stats.Status {
		c.Status[k] = v
	}
	return c
}

// Routes lists the simulated list paths the scanner reads (after /v1.0),
// sorted. ChangeRoutes lists the delta and subscription paths.
func (s *Server) Routes() []string {
	out := make([]string, len(s.routes))
	for i, r := range s.routes {
		out[i] = r.path
	}
	sort.Strings(out)
	return out
}

// ChangeRoutes lists the simulated delta and subscription paths (after
// /v1.0), sorted.
func (s *Server) ChangeRoutes() []string {
	out := []string{pathSubscriptions, pathSubscription, pathReauthorize}
	for _, d := range s.deltas {
		out = append(out, d.path)
	}
	sort.Strings(out)
	return out
}

// constError is an error that can be a constant (the package keeps no
// variables).
type constError string

func (e constError) Error() string { return string(e) }
