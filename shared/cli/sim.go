//go:build !deploy

package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	simscenario "github.com/tenantwatch/tenantwatch/shared/graphsim/scenario"
)

func runSim(ctx context.Context, args []string, env *Env) int {
	var (
		addr       string
		users      int
		throttle   float64
		retryAfter int
		seed       int64
		deny       string
		grant      string
		noPremium  bool
		scenario   string
		urlFile    string
		verbose    bool

		live            bool
		allowHTTP       bool
		dupNotes        bool
		deltaTTL        time.Duration
		deltaPageSize   int
		emptyDeltaPages bool
		reportLimits    bool
		rejectRegTop    bool

		activityFault        string
		activityUnsubscribed bool
		activityPageSize     int
	)
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.StringVar(&addr, "addr", "127.0.0.1:8080", "listen `address` (port 0 picks a free port)")
	fs.IntVar(&users, "users", 0, "add `N` synthetic benign users (for scale)")
	fs.Float64Var(&throttle, "throttle", 0, "answer this `fraction` of requests with 429 + Retry-After")
	fs.IntVar(&retryAfter, "retry-after", 1, "Retry-After `seconds` on throttled answers")
	fs.Int64Var(&seed, "seed", 1, "random `seed` (throttling and synthetic data)")
	fs.StringVar(&deny, "deny", "", "comma-separated `sources` answering 403 (signIns, signInActivity, userRegistrationDetails, directoryAudits, conditionalAccess, …)")
	fs.StringVar(&grant, "permissions", "", "comma-separated Graph application `permissions` granted to callers (default: all); other reads answer 403 as Graph does")
	fs.BoolVar(&noPremium, "no-premium", false, "a tenant without Entra ID P1/P2: no AAD_PREMIUM plans; sign-ins, signInActivity, registration details and Conditional Access answer Graph's non-premium 403")
	fs.StringVar(&scenario, "scenario", simscenario.Default, "`name` of the seeded scenario: "+strings.Join(simscenario.Names(), " or "))
	fs.StringVar(&urlFile, "url-file", "", "write the Graph root URL to `file` once listening (for scripts)")
	fs.BoolVar(&verbose, "verbose", false, "log every request on stderr")
	fs.BoolVar(&live, "live", false, "run the tenant clock in real time (subscriptions and delta tokens expire, attack events carry the time they happen); "+
		"without it the clock stays at the start time. The scenario is anchored at the start either way")
	fs.BoolVar(&allowHTTP, "allow-http-notifications", false, "accept http:// notification and lifecycle URLs on 127.0.0.1, ::1 or localhost (Graph requires https)")
	fs.BoolVar(&dupNotes, "duplicate-notifications", false, "send every change and lifecycle notification twice (Graph delivers at least once)")
	fs.DurationVar(&deltaTTL, "delta-token-ttl", 7*24*time.Hour, "lifetime of delta tokens on the tenant clock (Graph: 7 days for directory objects)")
	fs.IntVar(&deltaPageSize, "delta-page-size", 200, "objects per delta page")
	fs.BoolVar(&emptyDeltaPages, "empty-delta-pages", false, "start every delta round with an empty page that has a nextLink, as Graph may")
	fs.BoolVar(&reportLimits, "report-limits", false, "apply the identity and access reports service's documented limits: 5 requests per 10 s over the audit logs and "+
		"authentication-method reports, 10 per minute for /users reads of signInActivity (counting against both); 429 with Retry-After above them")
	fs.BoolVar(&rejectRegTop, "reject-registration-top", false, "answer $top on userRegistrationDetails with 400 (its page documents only $filter and $orderby)")
	fs.StringVar(&activityFault, "activity-fault", "", "make the Management Activity API refuse every request: `forbidden` (403 AF10001, no ActivityFeed.Read) or auditingDisabled (the tenant's unified audit log is off)")
	fs.BoolVar(&activityUnsubscribed, "activity-unsubscribed", false, "start the Management Activity API with no subscription (content listings answer AF20022 until scan --start-subscriptions)")
	fs.IntVar(&activityPageSize, "activity-page-size", 100, "content blobs per Management Activity API listing page (more: a NextPageUri header)")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, "Usage: tenantwatch sim [flags]")
		fmt.Fprintln(w, "\nServes a simulated Microsoft Graph v1.0 tenant with the APT29 scenario, and its Office 365 Management")
		fmt.Fprintln(w, "Activity API at the same URL (/api/v1.0/{tenantId}/activity/feed/…), for demos and tests.")
		fmt.Fprintln(w, "Scan it with: tenantwatch scan --graph-url <printed URL> --auth none\n\nFlags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, env); !ok {
		return code
	}
	if throttle < 0 || throttle > 1 {
		return usageError(env, "sim", "--throttle must be between 0 and 1")
	}
	if users < 0 {
		return usageError(env, "sim", "--users must not be negative")
	}
	if deltaTTL <= 0 || deltaPageSize <= 0 {
		return usageError(env, "sim", "--delta-token-ttl and --delta-page-size must be positive")
	}
	if activityPageSize <= 0 {
		return usageError(env, "sim", "--activity-page-size must be positive")
	}
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	log := newLogger(env.Stderr, level)
	var denied []string
	for _, d := range strings.Split(deny, ",") {
		if d = strings.TrimSpace(d); d != "" {
			denied = append(denied, d)
		}
	}
	var granted []string
	if grant != "" {
		granted = []string{}
		for _, p := range strings.Split(grant, ",") {
			if p = strings.TrimSpace(p); p != "" {
				granted = append(granted, p)
			}
		}
	}
	start := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time { return start }
	if live {
		clock = time.Now
	}
	sc, err := simscenario.Get(scenario)
	if err != nil {
		return usageError(env, "sim", "--scenario: %v", err)
	}
	var limits *graphsim.ReportLimits
	if reportLimits {
		limits = &graphsim.ReportLimits{}
	}
	srv, err := graphsim.New(&graphsim.Options{
		ReportLimits: limits, RejectRegistrationTop: rejectRegTop,
		Users: users, ThrottleRate: throttle, RetryAfter: retryAfter, Seed: seed,
		Deny: denied, Permissions: granted, NoPremium: noPremium, Scenario: sc, Logger: log,
		Now: start, Clock: clock, DeltaTokenTTL: deltaTTL, DeltaPageSize: deltaPageSize, EmptyDeltaPages: emptyDeltaPages,
		AllowHTTPNotificationURL: allowHTTP, DuplicateNotifications: dupNotes,
		ActivityFault: graphsim.ActivityFault(activityFault), ActivityUnsubscribed: activityUnsubscribed, ActivityPageSize: activityPageSize,
	})
	if err != nil {
		return usageError(env, "sim", "%v", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fail(env, "sim", err)
	}
	root := "http://" + ln.Addr().String()
	if urlFile != "" {
		if err := os.WriteFile(urlFile, []byte(root+"\n"), 0o644); err != nil {
			ln.Close()
			return fail(env, "sim", err)
		}
	}
	fmt.Fprintf(env.Stderr, "tenantwatch sim: simulated tenant (%s) at %s\n  scan it: tenantwatch scan --graph-url %s --auth none\n", scenario, root, root)
	fmt.Fprintf(env.Stderr, "  its Management Activity API: %s/api/v1.0/%s/activity/feed (scan's --activity-url defaults to --graph-url with --auth none)\n", root, srv.TenantID())
	if steps := srv.AttackSteps(); len(steps) > 0 {
		fmt.Fprintf(env.Stderr, "  attack it: curl -X POST %s%s<step>  (steps: %s)\n", root, graphsim.AdminAttackPath, strings.Join(steps, ", "))
	}
	fmt.Fprintf(env.Stderr, "  admin: %s/_graphsim/{stats,subscriptions,deliveries}, POST %s%s?subscription=<id>&event=<event>, POST %s%s\n",
		root, root, graphsim.AdminLifecyclePath, root, graphsim.AdminExpireDeltaPath)
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	return serveUntilDone(ctx, env, "sim", hs, ln)
}
