package doctor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/notify"
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

// Graph is what doctor reads (satisfied by *graph.Client).
type Graph interface {
	Probe(ctx context.Context, src tenant.Source) error
	SubscribedSKUs(ctx context.Context) ([]tenant.SKU, error)
	NamedLocations(ctx context.Context) ([]tenant.NamedLocation, error)
	ListSubscriptions(ctx context.Context) ([]tenant.Subscription, error)
}

// Facts is what the Graph client knows about permissions and answers
// (shared/graph: RequiredPermissions, PermissionSources, LicenceMissing);
// doctor stays free of the SDK.
type Facts struct {
	// Permissions are the application permissions to check, in report
	// order.
	Permissions []string
	// PermissionSources returns the sources whose reads need permission.
	PermissionSources func(permission string) []tenant.Source
	// LicenceMissing reports whether err is Graph's answer for data the
	// tenant's licences do not include (no Entra ID P1/P2).
	LicenceMissing func(err error) bool
}

// Teams posts one message to the webhook (satisfied by *notify.Sender).
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
	// subscriptions Graph lists, and it is never printed with its query.
	NotificationURL string
	// ExpiryWarning warns about a subscription expiring sooner (default
	// 72 h, the app's renewal margin).
	ExpiryWarning time.Duration
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
}

// New returns a Doctor that reads through g. facts must be complete.
func New(g Graph, facts Facts, opts *Options) (*Doctor, error) {
	if g == nil || len(facts.Permissions) == 0 || facts.PermissionSources == nil || facts.LicenceMissing == nil {
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
	return &Doctor{g: g, f: facts, o: o}, nil
}

// probeFor is the read each permission is tried with: the one read that
// needs it and, where possible, nothing else. AuditLog.Read.All is tried on
// the sign-in log (Graph answers a tenant without P1/P2 with its licence
// error only once the permission is there); Directory.Read.All on the
// directory audit log, the read that needs it.
var probeFor = map[string]tenant.Source{
	"Organization.Read.All": tenant.SourceOrganization,
	"User.Read.All":         tenant.SourceUsers,
	"Group.Read.All":        tenant.SourceGroups,
	"Application.Read.All":  tenant.SourceServicePrincipals,
	"AuditLog.Read.All":     tenant.SourceSignIns,
	"Directory.Read.All":    tenant.SourceDirectoryAudits,
	"Policy.Read.All":       tenant.SourceNamedLocations,
}

// premiumSources are the data an Entra ID Free tenant does not get.
var premiumSources = []tenant.Source{tenant.SourceSignIns, tenant.SourceSignInActivity,
	tenant.SourceRegistrations, tenant.SourceCAPolicies, tenant.SourceNamedLocations}

// premiumPlans are the service plans of Entra ID P1 and P2.
var premiumPlans = map[string]string{
	"41781fb2-bc02-4b7c-bd55-b576c07bb09d": "AAD_PREMIUM",
	"eec0eb4f-6444-4f95-aba0-50c24d67f998": "AAD_PREMIUM_P2",
}

// Run runs every check and returns the report. It never returns early on
// a failed check; when Graph cannot be reached at all the Graph checks are
// skipped after one line that says why.
func (d *Doctor) Run(ctx context.Context) Report {
	r := Report{Target: d.o.Target, Checked: d.o.Now().UTC()}
	add := func(c Check) { r.Checks = append(r.Checks, c) }

	// Reachability and credentials first: every other Graph check depends
	// on them.
	results := make(map[string]error)
	var fatal error
	for _, p := range d.f.Permissions {
		src, ok := probeFor[p]
		if !ok {
			continue
		}
		err := d.g.Probe(ctx, src)
		if err != nil && !errors.Is(err, tenant.ErrAccessDenied) {
			fatal = err
			break
		}
		results[p] = err
	}
	if fatal != nil {
		add(Check{Name: "Microsoft Graph", Status: StatusFail, Detail: oneLine(fatal.Error()),
			Fix: "check the Graph URL, the network and the credential; the other Graph checks need it"})
		for _, name := range []string{"permissions", "Entra ID P1/P2 licence", "trusted named locations", "subscriptions"} {
			add(Check{Name: name, Status: StatusSkip, Detail: "Graph did not answer"})
		}
		add(d.teams(ctx))
		return r
	}

	// A permission without a probe gets a line saying so, not silence.
	for _, p := range d.f.Permissions {
		add(d.permission(p, results))
	}
	add(d.licence(ctx, results["AuditLog.Read.All"]))
	add(d.namedLocations(ctx, results["Policy.Read.All"]))
	add(d.teams(ctx))
	r.Checks = append(r.Checks, d.subscriptions(ctx)...)
	return r
}

func (d *Doctor) permission(p string, results map[string]error) Check {
	c := Check{Name: p}
	src, ok := probeFor[p]
	if !ok {
		c.Status, c.Detail = StatusSkip, "no probe for this permission"
		return c
	}
	err := results[p]
	what := graphRead(src)
	switch {
	case err == nil:
		c.Status, c.Detail = StatusOK, what+" answered"
	case d.f.LicenceMissing(err):
		c.Status, c.Detail = StatusOK, what+": Graph answered that the tenant has no Entra ID P1/P2, which it says only once the permission is granted (see the licence line)"
	case p == "Directory.Read.All" && results["AuditLog.Read.All"] != nil && !d.f.LicenceMissing(results["AuditLog.Read.All"]):
		c.Status, c.Detail = StatusSkip, what+" also needs AuditLog.Read.All, which is missing: grant that first"
	default:
		c.Status = StatusFail
		c.Detail = "not granted: " + what + " answered " + graphAnswer(err)
		c.Fix = "grant " + p + " (application permission, admin consent) to the app's identity"
		if rules := d.rulesNeeding(d.f.PermissionSources(p)); len(rules) > 0 {
			c.Fix += "; until then these rules are skipped: " + strings.Join(rules, ", ")
		} else {
			c.Fix += "; the deployed app needs it for its change-notification subscription"
		}
	}
	return c
}

func (d *Doctor) licence(ctx context.Context, signIns error) Check {
	c := Check{Name: "Entra ID P1/P2 licence"}
	skus, skuErr := d.g.SubscribedSKUs(ctx)
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
	skipped := strings.Join(d.rulesNeeding(premiumSources), ", ")
	gated := d.f.LicenceMissing(signIns)
	switch {
	case gated:
		c.Status = StatusFail
		c.Detail = "Graph refuses the sign-in log: the tenant has no Entra ID P1 or P2"
		if len(found) > 0 {
			c.Detail += " (yet /subscribedSkus lists " + strings.Join(found, ", ") + ": a new licence can take a while to apply)"
		}
		c.Fix = "license Entra ID P1 or P2; without it sign-in logs, signInActivity, registration details and Conditional Access are unavailable and these rules are skipped: " + skipped
	case skuErr != nil:
		c.Status, c.Detail = StatusSkip, "cannot read /subscribedSkus: "+graphAnswer(skuErr)
	case len(found) == 0 && signIns != nil:
		c.Status = StatusFail
		c.Detail = "no AAD_PREMIUM or AAD_PREMIUM_P2 service plan in /subscribedSkus: the tenant has no Entra ID P1 or P2"
		c.Fix = "license Entra ID P1 or P2; without it these rules are skipped: " + skipped
	case len(found) == 0:
		c.Status = StatusWarn
		c.Detail = "no AAD_PREMIUM or AAD_PREMIUM_P2 service plan in /subscribedSkus, though the sign-in log answered"
	default:
		c.Status, c.Detail = StatusOK, strings.Join(found, ", ")
	}
	return c
}

func (d *Doctor) namedLocations(ctx context.Context, policyErr error) Check {
	c := Check{Name: "trusted named locations"}
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
	n, ranges := 0, 0
	for _, l := range locs {
		if l.Trusted && strings.EqualFold(l.Kind, "ip") && len(l.CIDRs) > 0 {
			n++
			ranges += len(l.CIDRs)
		}
	}
	if n == 0 {
		c.Status = StatusWarn
		c.Detail = fmt.Sprintf("%d named locations, none a trusted IP location", len(locs))
		c.Fix = "mark your offices' egress ranges as a trusted IP named location in Conditional Access; until then " + rule + " is skipped (no address is known to be trusted)"
		return c
	}
	c.Status = StatusOK
	c.Detail = fmt.Sprintf("%d trusted IP named locations (%d ranges): registrations from elsewhere are flagged", n, ranges)
	return c
}

func (d *Doctor) teams(ctx context.Context) Check {
	c := Check{Name: "Teams webhook"}
	switch {
	case d.o.Teams == nil:
		c.Status = StatusWarn
		c.Detail = "no webhook configured: alerts wait in the outbox"
		c.Fix = "set TENANTWATCH_TEAMS_WEBHOOK_URL (a Workflows \"When a Teams webhook request is received\" URL)"
	case !d.o.PostTestCard:
		c.Status, c.Detail = StatusSkip, "configured, not contacted (rerun with --post-test-card to post a test card)"
	default:
		card, err := notify.DigestCard(notify.Digest{
			Title: "tenantwatch doctor: test message",
			Note:  "This channel receives tenantwatch alerts. Posted by tenantwatch doctor --post-test-card; nothing to do.",
		}, &notify.CardOptions{Now: d.o.Now})
		if err == nil {
			err = d.o.Teams.Send(ctx, card)
		}
		if err != nil {
			c.Status, c.Detail = StatusFail, "the test card was not accepted: "+oneLine(err.Error())
			c.Fix = "check the Workflows flow is on and its URL is current (a new flow has a new URL)"
			return c
		}
		c.Status, c.Detail = StatusOK, "the test card was accepted; check that it shows in the channel"
	}
	return c
}

func (d *Doctor) subscriptions(ctx context.Context) []Check {
	if d.o.NotificationURL == "" {
		return []Check{{Name: "subscriptions", Status: StatusWarn,
			Detail: "no notification URL: webhooks are off and PollDirectory polls users instead (licence changes are seen in minutes, not seconds)",
			Fix:    "set TENANTWATCH_NOTIFICATION_URL (the deployment does)"}}
	}
	want, err := url.Parse(d.o.NotificationURL)
	if err != nil || want.Host == "" {
		return []Check{{Name: "subscriptions", Status: StatusFail, Detail: "the notification URL is not a URL", Fix: "check TENANTWATCH_NOTIFICATION_URL"}}
	}
	live, err := d.g.ListSubscriptions(ctx)
	if err != nil {
		return []Check{{Name: "subscriptions", Status: StatusFail, Detail: "cannot list subscriptions: " + graphAnswer(err),
			Fix: "grant User.Read.All and Group.Read.All; subscriptions are listed with the permissions that create them"}}
	}
	now := d.o.Now()
	var out []Check
	for _, res := range []string{"users", "groups"} {
		c := Check{Name: res + " subscription"}
		var best *tenant.Subscription
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
		switch left := time.Duration(0); {
		case best == nil:
			c.Status = StatusFail
			c.Detail = "no live subscription delivering to " + want.Host + want.Path
			c.Fix = "RenewSubscriptions (and the first PollDirectory) creates it: check the function app runs and Graph can reach the URL"
		case best.ExpirationDateTime.Before(now):
			c.Status, c.Detail = StatusFail, "expired at "+best.ExpirationDateTime.UTC().Format(time.RFC3339)
			c.Fix = "RenewSubscriptions recreates it: check the function app runs"
		default:
			left = best.ExpirationDateTime.Sub(now)
			c.Detail = fmt.Sprintf("%s, expires %s (in %s)", best.ID, best.ExpirationDateTime.UTC().Format(time.RFC3339), roundDuration(left))
			c.Status = StatusOK
			if left < d.o.ExpiryWarning {
				c.Status = StatusWarn
				c.Fix = "RenewSubscriptions renews it within " + roundDuration(d.o.ExpiryWarning) + " of expiry: check it runs (every 6 hours)"
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
	}
	return "GET " + string(src)
}

// graphAnswer is Graph's answer for err, on one line, without the
// client's "graph: GET /path: " prefix (the line names the read).
func graphAnswer(err error) string {
	s := oneLine(err.Error())
	if i := strings.Index(s, ": "); strings.HasPrefix(s, "graph: ") && i >= 0 {
		if j := strings.Index(s[i+2:], ": "); j >= 0 {
			return s[i+2+j+2:]
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
