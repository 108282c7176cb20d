package doctor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/activityfeed"
	"github.com/tenantwatch/tenantwatch/shared/config"
	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/permission"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Status is the outcome of one check.
type Status string

// Statuses, from best to worst.
const (
	StatusOK   Status = "ok"
	StatusSkip Status = "skip" // not checked; Detail says why
	StatusWarn Status = "warn" // works, with a gap worth fixing
	StatusFail Status = "FAIL" // something tenantwatch needs is missing
)

// Check is one line of the report. Detail and Fix are one line each; Fix
// says what to do and is empty when there is nothing to do.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Report is the outcome of Run, in check order.
type Report struct {
	Target  string    `json:"target"` // the Graph root checked
	Checked time.Time `json:"checked"`
	Checks  []Check   `json:"checks"`
}

// Failed reports whether any check failed.
func (r Report) Failed() bool {
	return slices.ContainsFunc(r.Checks, func(c Check) bool { return c.Status == StatusFail })
}

// Count returns how many checks ended with s.
func (r Report) Count(s Status) int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == s {
			n++
		}
	}
	return n
}

// Graph is what doctor reads (satisfied by *graph.Client). Every method
// only reads; errors are classified as the client's reads are (a 403
// wraps tenant.ErrAccessDenied).
type Graph interface {
	// Probe makes the smallest read of src (one item, its id).
	Probe(ctx context.Context, src tenant.Source) error
	// ActiveSKUs returns the subscribed SKUs in force.
	ActiveSKUs(ctx context.Context) ([]tenant.SKU, error)
	NamedLocations(ctx context.Context) ([]tenant.NamedLocation, error)
	ListSubscriptions(ctx context.Context) ([]state.Subscription, error)
}

// Facts is what the Graph client knows about its answers
// (shared/graph.LicenceMissing); doctor stays free of the SDK. The
// permissions it checks, and the sources each gates, are the catalogue's
// (shared/permission).
type Facts struct {
	// LicenceMissing reports whether err is Graph's answer for data the
	// tenant's licences do not include (no Entra ID P1/P2).
	LicenceMissing func(err error) bool
}

// Feed is the Office 365 Management Activity API as doctor reads it
// (satisfied by *activityfeed.Client). It only lists; errors wrap the
// tenant sentinels (tenant.ErrAccessDenied, tenant.ErrAuditingDisabled, …).
type Feed interface {
	Subscriptions(ctx context.Context) ([]activityfeed.Subscription, error)
}

// Teams posts one message to the webhook (satisfied by *notify.Sender,
// whose errors never contain the webhook URL).
type Teams interface {
	Send(ctx context.Context, payload []byte) error
}

// Options configure a Doctor. A nil *Options means the defaults.
type Options struct {
	// Target names the Graph root in the report (for example
	// https://graph.microsoft.com).
	Target string
	// Teams is the configured webhook; nil when none is configured.
	Teams Teams
	// PostTestCard posts a test card through Teams; without it the
	// webhook is not contacted (posting is the only proof it answers, and
	// it shows in the channel).
	PostTestCard bool
	// NotificationURL is the app's TENANTWATCH_NOTIFICATION_URL; empty:
	// webhooks are off. Only its host and path are compared with the
	// subscriptions Graph lists, and only they are printed (its query
	// holds the function key).
	NotificationURL string
	// ExpiryWarning warns about a subscription expiring sooner (default
	// 72 h, the app's renewal margin).
	ExpiryWarning time.Duration
	// Feed is the Management Activity API client; nil: its checks are
	// skipped (the report says so).
	Feed Feed
	// ActivityNotificationURL is the deployed app's
	// TENANTWATCH_ACTIVITY_NOTIFICATION_URL: the Audit.Exchange
	// subscription's webhook must be enabled at its host and path (only
	// they are compared and printed: the query holds the function key).
	// Empty: no webhook is expected.
	ActivityNotificationURL string
	// LogAnalytics describes the deployed app's Log Analytics sink
	// (shared/sentinel); nil: no line about it (the CLI's own checks).
	LogAnalytics *LogAnalytics
	// Detectors name the rules each gap skips (default detect.All()).
	Detectors []detect.Detector
	Now       func() time.Time
	Logger    *slog.Logger
}

// Doctor runs the checks.
type Doctor struct {
	g Graph
	f Facts
	o Options
	// permissions are the Microsoft Graph permissions to check, in report
	// order (sorted).
	permissions []string
}

// New returns a Doctor that reads through g. facts must be complete.
func New(g Graph, facts Facts, opts *Options) (*Doctor, error) {
	if g == nil || facts.LicenceMissing == nil {
		return nil, errors.New("doctor: a Graph and complete Facts are required")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.ExpiryWarning <= 0 {
		o.ExpiryWarning = 72 * time.Hour
	}
	if o.Detectors == nil {
		o.Detectors = detect.All()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Doctor{g: g, f: facts, o: o, permissions: permission.Required(permission.Graph)}, nil
}

// probeFor is the read each permission is tried with: one that needs it
// and, where possible, no licence. The directory audit log needs
// AuditLog.Read.All and Directory.Read.All together and no licence, so it
// tries both; when it is refused, the sign-in log (AuditLog.Read.All
// alone) tells which of the two is missing.
var probeFor = map[string]tenant.Source{
	"Organization.Read.All": tenant.SourceOrganization,
	"User.Read.All":         tenant.SourceUsers,
	"Group.Read.All":        tenant.SourceGroups,
	"Application.Read.All":  tenant.SourceServicePrincipals,
	"AuditLog.Read.All":     tenant.SourceDirectoryAudits,
	"Directory.Read.All":    tenant.SourceDirectoryAudits,
	"Policy.Read.All":       tenant.SourceNamedLocations,
	"Device.Read.All":       tenant.SourceDevices,
	"Domain.Read.All":       tenant.SourceDomains,
}

// premiumSources returns the data an Entra ID Free tenant does not get:
// the sources that need an Entra ID licence.
func premiumSources() []tenant.Source {
	var out []tenant.Source
	for _, src := range permission.Sources() {
		if _, l := permission.Needs(src); l != permission.NoLicence {
			out = append(out, src)
		}
	}
	return out
}

// premiumPlans are the service plans of Entra ID P1 and P2.
var premiumPlans = map[string]string{
	"41781fb2-bc02-4b7c-bd55-b576c07bb09d": "AAD_PREMIUM",
	"eec0eb4f-6444-4f95-aba0-50c24d67f998": "AAD_PREMIUM_P2",
}

// Check names that are not permissions.
const (
	checkGraph         = "Microsoft Graph"
	checkLicence       = "Entra ID P1/P2 licence"
	checkLocations     = "trusted named locations"
	checkTeams         = "Teams webhook"
	checkSubscriptions = "subscriptions"
)

// Run runs every check and returns the report; it only reads, except the
// test card with PostTestCard. A failed check does not stop the others;
// when Graph cannot be asked at all (unreachable, no token, 401, a server
// error) one line says why and the Graph checks stop there.
func (d *Doctor) Run(ctx context.Context) Report {
	r := Report{Target: d.o.Target, Checked: d.o.Now().UTC()}
	add := func(c Check) { r.Checks = append(r.Checks, c) }

	// One probe per source, in permission order, then the sign-in log
	// (the licence and the AuditLog.Read.All / Directory.Read.All split).
	var order []tenant.Source
	for _, p := range d.permissions {
		if src, ok := probeFor[p]; ok && !slices.Contains(order, src) {
			order = append(order, src)
		}
	}
	if !slices.Contains(order, tenant.SourceSignIns) {
		order = append(order, tenant.SourceSignIns)
	}
	results := make(map[tenant.Source]error, len(order))
	for _, src := range order {
		err := d.g.Probe(ctx, src)
		d.o.Logger.Debug("doctor: probe", "source", src, "err", err)
		if err != nil && !errors.Is(err, tenant.ErrAccessDenied) {
			add(Check{Name: checkGraph, Status: StatusFail, Detail: oneLine(err.Error()),
				Fix: "check the Graph URL, the network and the credential, then rerun: the permission, licence, named-location and subscription checks need Graph"})
			add(d.teams(ctx))
			if d.o.LogAnalytics != nil {
				add(d.logAnalytics(ctx))
			}
			return r
		}
		results[src] = err
	}

	for _, p := range d.permissions {
		add(d.permission(p, results))
	}
	feedPermission, feedSubscription := d.feed(ctx)
	add(feedPermission)
	add(d.licence(ctx, results[tenant.SourceSignIns]))
	add(d.namedLocations(ctx, results[tenant.SourceNamedLocations]))
	add(d.teams(ctx))
	if d.o.LogAnalytics != nil {
		add(d.logAnalytics(ctx))
	}
	r.Checks = append(r.Checks, d.subscriptions(ctx)...)
	add(feedSubscription)
	return r
}

// signInsPermitted reports whether the sign-in log probe shows
// AuditLog.Read.All granted: it answered, or refused for the licence,
// which Graph checks after the permission.
func (d *Doctor) signInsPermitted(results map[tenant.Source]error) bool {
	err, ok := results[tenant.SourceSignIns]
	return ok && (err == nil || d.f.LicenceMissing(err))
}

func (d *Doctor) permission(p string, results map[tenant.Source]error) Check {
	c := Check{Name: p}
	src, ok := probeFor[p]
	if !ok {
		c.Status, c.Detail = StatusSkip, "no read to try it with"
		return c
	}
	err := results[src]
	what := graphRead(src)
	switch {
	case err == nil:
		c.Status, c.Detail = StatusOK, what+" answered"
		return c
	case d.f.LicenceMissing(err):
		c.Status, c.Detail = StatusOK, what+": Graph checked the permission and answered that the tenant has no Entra ID P1/P2 (see the licence line)"
		return c
	case p == "AuditLog.Read.All" && d.signInsPermitted(results):
		c.Status, c.Detail = StatusOK, "GET /auditLogs/signIns passed the permission check; "+what+" was refused (see Directory.Read.All)"
		return c
	case p == "Directory.Read.All" && !d.signInsPermitted(results):
		c.Status, c.Detail = StatusSkip, what+" needs AuditLog.Read.All too, which is missing: grant that, then rerun"
		return c
	}
	c.Status = StatusFail
	c.Detail = "not granted: " + what + " answered " + graphAnswer(err)
	c.Fix = "grant " + p + " (application) with admin consent"
	e, _ := permission.Lookup(permission.Graph, p)
	rules := d.rulesNeeding(e.Sources)
	switch {
	case len(rules) > 0 && len(e.Subscriptions) > 0:
		c.Fix += "; needed by rules " + strings.Join(rules, ", ") + ", and by the deployed app's change-notification subscriptions"
	case len(rules) > 0:
		c.Fix += "; needed by rules " + strings.Join(rules, ", ")
	default:
		c.Fix += "; no rule needs it, but the deployed app's change-notification subscriptions do"
	}
	return c
}

func (d *Doctor) licence(ctx context.Context, signIns error) Check {
	c := Check{Name: checkLicence}
	skus, skuErr := d.g.ActiveSKUs(ctx)
	var found []string
	for _, s := range skus {
		for _, p := range s.ServicePlans {
			if name, ok := premiumPlans[strings.ToLower(p.ID)]; ok {
				found = append(found, name+" in "+s.SkuPartNumber)
			}
		}
	}
	slices.Sort(found)
	found = slices.Compact(found)
	plans := strings.Join(found, ", ")
	skipped := strings.Join(d.rulesNeeding(premiumSources()), ", ")
	fix := "license Entra ID P1 or P2 (Microsoft 365 E3/E5, EMS, or Entra ID P1/P2 on its own)"
	switch {
	case d.f.LicenceMissing(signIns):
		c.Status = StatusFail
		c.Detail = "no Entra ID P1/P2: GET /auditLogs/signIns answered " + graphAnswer(signIns) +
			"; sign-in logs, signInActivity, registration details and Conditional Access are unavailable"
		if len(found) > 0 {
			c.Detail += " (yet /subscribedSkus lists " + plans + ": a new licence can take a while to apply)"
		}
		c.Fix = fix + "; rules skipped: " + skipped
	case signIns == nil && len(found) > 0:
		c.Status, c.Detail = StatusOK, plans+"; GET /auditLogs/signIns answered"
	case signIns == nil && skuErr != nil:
		c.Status, c.Detail = StatusOK, "GET /auditLogs/signIns answered, so the tenant has P1 or P2 (/subscribedSkus unreadable: see Organization.Read.All)"
	case signIns == nil:
		c.Status = StatusWarn
		c.Detail = "GET /auditLogs/signIns answered, but no SKU in force in /subscribedSkus has AAD_PREMIUM or AAD_PREMIUM_P2 (a trial, or a licence about to go?)"
		c.Fix = "check the tenant's Entra ID P1/P2 subscription in the Microsoft 365 admin center"
	case skuErr != nil:
		c.Status, c.Detail = StatusSkip, "cannot tell: the sign-in log is refused for a missing permission (see AuditLog.Read.All) and /subscribedSkus is unreadable (see Organization.Read.All)"
	case len(found) == 0:
		c.Status = StatusFail
		c.Detail = "no Entra ID P1/P2: no SKU in force in /subscribedSkus has AAD_PREMIUM or AAD_PREMIUM_P2; sign-in logs, signInActivity, registration details and Conditional Access are unavailable"
		c.Fix = fix + "; rules skipped: " + skipped
	default:
		c.Status, c.Detail = StatusOK, plans+" (the sign-in log itself is refused: see AuditLog.Read.All)"
	}
	return c
}

func (d *Doctor) namedLocations(ctx context.Context, policyErr error) Check {
	c := Check{Name: checkLocations}
	const rule = "mfa.registration-untrusted-location"
	if policyErr != nil {
		c.Status, c.Detail = StatusSkip, "named locations unreadable (see Policy.Read.All and the licence)"
		return c
	}
	locs, err := d.g.NamedLocations(ctx)
	if err != nil {
		c.Status, c.Detail = StatusSkip, "cannot read named locations: "+graphAnswer(err)
		return c
	}
	// As the rule reads them: valid CIDRs of trusted IP locations.
	n, ranges := 0, 0
	for _, l := range locs {
		if !l.Trusted || !strings.EqualFold(strings.TrimSpace(l.Kind), "ip") {
			continue
		}
		valid := 0
		for _, cidr := range l.CIDRs {
			if _, err := netip.ParsePrefix(strings.TrimSpace(cidr)); err == nil {
				valid++
			}
		}
		if valid > 0 {
			n, ranges = n+1, ranges+valid
		}
	}
	if n == 0 {
		c.Status = StatusWarn
		c.Detail = fmt.Sprintf("%d named locations, none a trusted IP location with a valid range: %s cannot tell trusted from untrusted addresses and is skipped", len(locs), rule)
		c.Fix = "mark your offices' egress ranges as a trusted IP named location (Entra admin center › Conditional Access › Named locations)"
		return c
	}
	c.Status = StatusOK
	c.Detail = fmt.Sprintf("%d trusted IP named locations (%d ranges): %s flags registrations from anywhere else", n, ranges, rule)
	return c
}

// testCard is the Teams message --post-test-card posts: an Adaptive Card
// 1.4 in the envelope Workflows webhooks take, with fixed text only.
const testCard = `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","contentUrl":null,` +
	`"content":{"$schema":"http://adaptivecards.io/schemas/adaptive-card.json","type":"AdaptiveCard","version":"1.4",` +
	`"body":[{"type":"TextBlock","text":"tenantwatch doctor: this channel receives tenantwatch alerts","weight":"Bolder","wrap":true},` +
	`{"type":"TextBlock","text":"Posted by tenantwatch doctor --post-test-card. Nothing to do.","isSubtle":true,"wrap":true}]}}]}`

// LogAnalytics is what doctor says about the Log Analytics sink. Doctor
// never uploads a row: it says whether the sink is configured and how many
// uploads wait in its outbox.
type LogAnalytics struct {
	// Endpoint and RuleID are the settings; both empty: not configured.
	Endpoint, RuleID string
	// Pending counts the uploads waiting in the sink's outbox (nil: not
	// counted).
	Pending func(ctx context.Context) (int, error)
}

const checkLogAnalytics = "Log Analytics sink"

func (d *Doctor) logAnalytics(ctx context.Context) Check {
	la := d.o.LogAnalytics
	c := Check{Name: checkLogAnalytics}
	if la.Endpoint == "" || la.RuleID == "" {
		c.Status = StatusSkip
		c.Detail = "not configured: findings and incidents go to Teams and the reports only (TENANTWATCH_SENTINEL_ENDPOINT, TENANTWATCH_SENTINEL_RULE_ID; azd: TENANTWATCH_SENTINEL_WORKSPACE)"
		return c
	}
	host := la.Endpoint
	if u, err := url.Parse(la.Endpoint); err == nil {
		host = u.Host
	}
	c.Status = StatusOK
	c.Detail = fmt.Sprintf("configured: rule %s at %s; no rows sent by doctor", oneLine(la.RuleID), oneLine(host))
	if la.Pending != nil {
		n, err := la.Pending(ctx)
		switch {
		case err != nil:
			c.Status, c.Detail = StatusWarn, c.Detail+"; its outbox could not be read: "+oneLine(err.Error())
		case n > 0:
			c.Detail += fmt.Sprintf("; %d uploads waiting (DeliverAlerts retries them; the app's log says why)", n)
		default:
			c.Detail += "; nothing waiting"
		}
	}
	return c
}

func (d *Doctor) teams(ctx context.Context) Check {
	c := Check{Name: checkTeams}
	switch {
	case d.o.Teams == nil:
		c.Status = StatusWarn
		c.Detail = "no webhook configured: alerts wait in the outbox"
		c.Fix = `set TENANTWATCH_TEAMS_WEBHOOK_URL to a Workflows "When a Teams webhook request is received" URL`
	case !d.o.PostTestCard:
		c.Status, c.Detail = StatusSkip, "configured; not posted (rerun with --post-test-card)"
	default:
		if err := d.o.Teams.Send(ctx, []byte(testCard)); err != nil {
			c.Status, c.Detail = StatusFail, "the test card was not accepted: "+oneLine(err.Error())
			c.Fix = "check that the Workflows flow is on and its URL current (a new flow has a new URL)"
			return c
		}
		c.Status, c.Detail = StatusOK, "the test card was accepted; check that it shows in the channel"
	}
	return c
}

func (d *Doctor) subscriptions(ctx context.Context) []Check {
	if d.o.NotificationURL == "" {
		return []Check{{Name: checkSubscriptions, Status: StatusWarn,
			Detail: "no notification URL: webhooks are off and PollDirectory polls users instead (licence changes are seen in minutes, not seconds)",
			Fix:    "set TENANTWATCH_NOTIFICATION_URL (the deployment does)"}}
	}
	want, err := url.Parse(d.o.NotificationURL)
	if err != nil || want.Host == "" {
		return []Check{{Name: checkSubscriptions, Status: StatusFail, Detail: "the notification URL is not an absolute URL",
			Fix: "check TENANTWATCH_NOTIFICATION_URL"}}
	}
	live, err := d.g.ListSubscriptions(ctx)
	if err != nil {
		return []Check{{Name: checkSubscriptions, Status: StatusFail, Detail: "cannot list subscriptions: " + graphAnswer(err),
			Fix: "grant User.Read.All and Group.Read.All: Graph lists an app's subscriptions with the permissions that created them"}}
	}
	now := d.o.Now()
	var out []Check
	for _, res := range config.WatchedResources() {
		c := Check{Name: res + " subscription"}
		var best *state.Subscription
		for i, s := range live {
			u, err := url.Parse(s.NotificationURL)
			if err != nil || !strings.EqualFold(strings.Trim(s.Resource, "/"), res) ||
				!strings.EqualFold(u.Host, want.Host) || u.Path != want.Path {
				continue
			}
			if best == nil || s.ExpirationDateTime.After(best.ExpirationDateTime) {
				best = &live[i]
			}
		}
		switch {
		case best == nil:
			c.Status = StatusFail
			c.Detail = "no subscription delivering to " + want.Host + want.Path
			c.Fix = "RenewSubscriptions creates it; check that TENANTWATCH_NOTIFICATION_URL is set and the function app is running"
		case !best.ExpirationDateTime.After(now):
			c.Status, c.Detail = StatusFail, "expired at "+best.ExpirationDateTime.UTC().Format(time.RFC3339)
			c.Fix = "RenewSubscriptions recreates it; check that the function app is running"
		default:
			left := best.ExpirationDateTime.Sub(now)
			c.Detail = fmt.Sprintf("%s, expires %s (in %s)", best.ID, best.ExpirationDateTime.UTC().Format(time.RFC3339), roundDuration(left))
			c.Status = StatusOK
			if left < d.o.ExpiryWarning {
				c.Status = StatusWarn
				c.Fix = fmt.Sprintf("RenewSubscriptions renews it %gh before expiry, every 6 hours: check that the function app is running", d.o.ExpiryWarning.Hours())
			}
		}
		out = append(out, c)
	}
	return out
}

// rulesNeeding returns the ids of the rules that need any of srcs, sorted.
func (d *Doctor) rulesNeeding(srcs []tenant.Source) []string {
	var out []string
	for _, det := range d.o.Detectors {
		r := det.Rule()
		if slices.ContainsFunc(r.Sources, func(s tenant.Source) bool { return slices.Contains(srcs, s) }) {
			out = append(out, r.ID)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// graphRead names the read a source is probed with.
func graphRead(src tenant.Source) string {
	switch src {
	case tenant.SourceOrganization:
		return "GET /organization"
	case tenant.SourceUsers:
		return "GET /users"
	case tenant.SourceGroups:
		return "GET /groups"
	case tenant.SourceServicePrincipals:
		return "GET /servicePrincipals"
	case tenant.SourceSignIns:
		return "GET /auditLogs/signIns"
	case tenant.SourceDirectoryAudits:
		return "GET /auditLogs/directoryAudits"
	case tenant.SourceNamedLocations:
		return "GET /identity/conditionalAccess/namedLocations"
	case tenant.SourceDevices:
		return "GET /devices"
	case tenant.SourceDomains:
		return "GET /domains"
	}
	return "GET " + string(src)
}

// graphAnswer is Graph's answer for err, on one line, without the
// client's "graph: GET /path: " prefix (the line names the read).
func graphAnswer(err error) string {
	s := oneLine(err.Error())
	if rest, ok := strings.CutPrefix(s, "graph: GET "); ok {
		if _, answer, ok := strings.Cut(rest, ": "); ok {
			return answer
		}
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func roundDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	case d >= time.Hour:
		return d.Truncate(time.Minute).String()
	}
	return d.Truncate(time.Second).String()
}
