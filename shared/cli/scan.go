package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/tenantwatch/tenantwatch/shared/accept"
	"github.com/tenantwatch/tenantwatch/shared/azureip"
	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/graph"
	"github.com/tenantwatch/tenantwatch/shared/identity"
	"github.com/tenantwatch/tenantwatch/shared/incident"
	"github.com/tenantwatch/tenantwatch/shared/pipeline"
	"github.com/tenantwatch/tenantwatch/shared/redact"
	"github.com/tenantwatch/tenantwatch/shared/report"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

type scanFlags struct {
	graphURL    string
	activityURL string
	tenantID    string
	startSubs   bool
	auth        string
	since       string
	azureRanges string
	out         string
	failOn      string
	compare     string
	failOnNew   string
	accept      string
	dormantDays int64
	newDays     int64
	verbose     bool
	progress    string
	timeout     time.Duration
	beta        bool
}

func runScan(ctx context.Context, args []string, env *Env) int {
	var f scanFlags
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.StringVar(&f.graphURL, "graph-url", "https://graph.microsoft.com", "Microsoft Graph root; requests go to `URL`/v1.0/…")
	fs.StringVar(&f.activityURL, "activity-url", "", "Office 365 Management Activity API root; requests go to `URL`/api/v1.0/{tenantId}/activity/feed/… (default https://manage.office.com; with --auth none, the --graph-url: tenantwatch sim serves both)")
	fs.StringVar(&f.tenantID, "tenant-id", "", "the tenant (directory) `id` the Management Activity API's URLs name (default $AZURE_TENANT_ID, else read from Graph's /organization)")
	fs.BoolVar(&f.startSubs, "start-subscriptions", false, "start the Management Activity API's Audit.Exchange subscription if it is not started: a one-time write (without it, a missing subscription skips the Exchange audit rules with the reason)")
	fs.StringVar(&f.auth, "auth", "azure", "authentication: azure (DefaultAzureCredential) or none (loopback --graph-url and --activity-url only)")
	fs.StringVar(&f.since, "since", "720h", "audit and sign-in look-back, a Go `duration` or days (30d)")
	fs.StringVar(&f.azureRanges, "azure-ip-ranges", "", "Azure Service Tags JSON `file` (ServiceTags_Public_*.json); without it signin.azure-ip is skipped")
	fs.StringVar(&f.out, "out", "", "write findings.json, findings.csv, report.html and findings.ocsf.jsonl to `dir`")
	fs.StringVar(&f.failOn, "fail-on", "", "exit 3 when a finding at or above `severity` (info|low|medium|high|critical) exists")
	fs.StringVar(&f.compare, "compare", "", "an earlier scan's findings.json `file`: mark each finding new or still open, list the earlier findings no longer found as resolved, and lead the reports with what changed")
	fs.StringVar(&f.failOnNew, "fail-on-new", "", "with --compare: exit 3 when a new finding at or above `severity` exists")
	fs.StringVar(&f.accept, "accept", "", "an accept `file` of accepted risks (JSON, README: Accepted risks): findings an unexpired entry names are still reported, marked accepted, and ignored by --fail-on and --fail-on-new; expired entries are listed")
	fs.Int64Var(&f.dormantDays, "dormant-days", 90, "a user with no successful sign-in for this many `days` is dormant")
	fs.Int64Var(&f.newDays, "new-account-days", 14, "an account created less than this many `days` ago is new")
	fs.BoolVar(&f.beta, "beta", true, "read the sign-in log from Graph's beta endpoint (authenticationProtocol: signin.device-code); --beta=false reads v1.0 and skips the rules that need beta, with the reason (Microsoft does not support beta in production)")
	fs.BoolVar(&f.verbose, "verbose", false, "log each source read on stderr")
	fs.StringVar(&f.progress, "progress", "auto", "progress on stderr: auto (when stderr is a terminal), always, never")
	fs.DurationVar(&f.timeout, "timeout", time.Hour, "give up (exit 1) when the scan has not finished after this `duration`")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, "Usage: tenantwatch scan [flags]")
		fmt.Fprintln(w, "\nScans a tenant once over Microsoft Graph and the Office 365 Management Activity API (read-only,")
		fmt.Fprintln(w, "except --start-subscriptions) and reports every APT29 technique found.")
		fmt.Fprintln(w, "Exit codes: 0 scan completed; 1 error; 2 usage error (also a --compare file that cannot be read or is not a findings.json, or an --accept file that cannot be read or is invalid); 3 --fail-on or --fail-on-new threshold reached.\n\nFlags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, env); !ok {
		return code
	}

	since, err := parseLookback(f.since)
	if err != nil {
		return usageError(env, "scan", "--since: %v", err)
	}
	var failOn tenant.Severity
	if f.failOn != "" {
		if failOn, err = tenant.ParseSeverity(f.failOn); err != nil {
			return usageError(env, "scan", "--fail-on: %v", err)
		}
	}
	var failOnNew tenant.Severity
	if f.failOnNew != "" {
		if failOnNew, err = tenant.ParseSeverity(f.failOnNew); err != nil {
			return usageError(env, "scan", "--fail-on-new: %v", err)
		}
		if f.compare == "" {
			return usageError(env, "scan", "--fail-on-new needs --compare PREVIOUS/findings.json (without an earlier scan every finding is new: use --fail-on)")
		}
	}
	// The earlier scan is read first: a wrong path fails before an hour of
	// scanning.
	var earlier *report.Document
	if f.compare != "" {
		if earlier, err = readPrevious(f.compare); err != nil {
			return usageError(env, "scan", "--compare: %v", err)
		}
	}
	var accepted *accept.File
	if f.accept != "" {
		if accepted, err = readAccept(f.accept); err != nil {
			return usageError(env, "scan", "--accept: %v", err)
		}
	}
	dormantAfter, err := days(f.dormantDays)
	if err != nil {
		return usageError(env, "scan", "--dormant-days: %v", err)
	}
	newWithin, err := days(f.newDays)
	if err != nil {
		return usageError(env, "scan", "--new-account-days: %v", err)
	}
	auth, err := parseAuth(f.auth, f.graphURL)
	if err != nil {
		return usageError(env, "scan", "%v", err)
	}
	activityURL, err := activityURLFor(f.activityURL, f.graphURL, auth == graph.AuthAzure)
	if err != nil {
		return usageError(env, "scan", "%v", err)
	}
	if f.timeout <= 0 {
		return usageError(env, "scan", "--timeout: want a positive duration such as 1h or 90m, got %v", f.timeout)
	}
	if f.progress != "auto" && f.progress != "always" && f.progress != "never" {
		return usageError(env, "scan", "--progress: want auto, always or never, got %q", f.progress)
	}
	showProgress := f.progress == "always" || (f.progress == "auto" && env.stderrIsTerminal())

	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelDebug
	}
	log := newLogger(env.Stderr, level)

	var ranges *azureip.Set
	noAzure := ""
	if f.azureRanges != "" {
		if ranges, err = azureip.Load(f.azureRanges); err != nil {
			return fail(env, "scan", fmt.Errorf("--azure-ip-ranges: %w", err))
		}
	} else {
		noAzure = "no Azure IP ranges file was given (--azure-ip-ranges ServiceTags_Public_*.json)"
	}

	cred, err := env.credential(auth)
	if err != nil {
		return fail(env, "scan", err)
	}
	client, err := graph.NewClient(f.graphURL, auth, &graph.ClientOptions{Credential: cred, Logger: log, UserAgent: "tenantwatch/" + Version,
		DisableBeta: !f.beta})
	if err != nil {
		return fail(env, "scan", err)
	}
	// The Exchange audit source (issue 11): the Management Activity API,
	// built on first use.
	activity := newActivitySource(activityURL, tenantIDFor(f.tenantID, auth, env), cred, client, log, env.Now)

	var prog *progressLine
	opts := &pipeline.ScanOptions{
		Since:   since,
		Azure:   ranges,
		NoAzure: noAzure,
		Config: detect.Config{
			DormantAfter:     dormantAfter,
			NewAccountWithin: newWithin,
		},
		Logger: log,
		Now:    env.Now,
	}
	if showProgress {
		prog = newProgressLine(env.Stderr)
		opts.Progress = prog.update
	}
	// The whole scan has one deadline; a read it cuts names itself and this
	// cause ("collect: read users: graph: GET /users: …").
	scanCtx, cancel := context.WithTimeoutCause(ctx, f.timeout,
		fmt.Errorf("the scan did not finish within --timeout %v (a larger tenant may need more; --verbose shows each read)", f.timeout))
	defer cancel()
	if f.startSubs {
		if err := startExchangeSubscription(scanCtx, env, activity); err != nil {
			return fail(env, "scan", err)
		}
	}
	// Collection reads the Exchange audit records through the feed with
	// the other sources.
	opts.Activity = activity
	res, scanErr := pipeline.Scan(scanCtx, client, opts)
	if prog != nil {
		prog.finish()
	}
	if res == nil {
		return fail(env, "scan", scanErr)
	}

	doc := report.NewDocument(res.Snapshot, res.Rules, res.Findings, res.Skipped, Version)
	doc.Incidents = incident.Correlate(res.Findings, nil)
	if earlier != nil {
		doc.Changes = report.Compare(earlier, res.Findings)
		if earlier.TenantID != "" && doc.TenantID != "" && !strings.EqualFold(earlier.TenantID, doc.TenantID) {
			fmt.Fprintf(env.Stderr, "tenantwatch scan: warning: --compare %s is a scan of tenant %s, not of %s: every finding is new\n",
				redact.Text(f.compare), redact.Text(strconv.Quote(earlier.TenantID)), doc.TenantID)
		}
	}
	if accepted != nil {
		// Entries expire against the report's own time.
		at := doc.GeneratedAt
		if at.IsZero() {
			at = time.Now()
		}
		doc.Acceptance = accept.Apply(accepted, res.Findings, at)
	}
	if f.out != "" {
		if err := report.WriteDir(f.out, doc); err != nil {
			return fail(env, "scan", err)
		}
	}
	if err := report.WriteText(env.Stdout, doc); err != nil {
		return fail(env, "scan", err)
	}
	if f.out != "" {
		fmt.Fprintf(env.Stderr, "tenantwatch scan: wrote %s, %s, %s and %s\n",
			joinPath(f.out, report.JSONFile), joinPath(f.out, report.CSVFile), joinPath(f.out, report.HTMLFile), joinPath(f.out, report.OCSFFile))
	}
	if n := len(res.Skipped); n > 0 && n == len(res.Rules) {
		fmt.Fprintf(env.Stderr, "tenantwatch scan: warning: all %d rules were skipped: grant the Graph permissions listed under 'skipped' (README: Graph permissions)\n", n)
	}
	if scanErr != nil {
		return fail(env, "scan", scanErr)
	}
	// Accepted findings count for neither threshold.
	if failOn.Valid() {
		for i, fd := range res.Findings {
			if fd.Severity >= failOn && doc.Acceptance.MarkOf(i) == nil {
				return ExitFindings
			}
		}
	}
	if failOnNew.Valid() && doc.Changes != nil {
		for i, fc := range doc.Changes.Findings {
			if fc.Change == report.ChangeNew && res.Findings[i].Severity >= failOnNew && doc.Acceptance.MarkOf(i) == nil {
				return ExitFindings
			}
		}
	}
	return ExitOK
}

// readPrevious reads --compare's file: an earlier findings.json, strictly
// and at most report.MaxPreviousBytes (report.ReadPrevious).
func readPrevious(path string) (*report.Document, error) {
	// Not a FIFO or device, whose open or read could block the scan.
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the earlier findings.json: %w", err)
	}
	defer fh.Close()
	d, err := report.ReadPrevious(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (give the findings.json of an earlier tenantwatch scan --out)", path, err)
	}
	return d, nil
}

// readAccept reads --accept's file: at most accept.MaxFileBytes, strictly
// (accept.Parse).
func readAccept(path string) (*accept.File, error) {
	// Not a FIFO or device, whose open or read could block the scan.
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the accept file: %w", err)
	}
	defer fh.Close()
	af, err := accept.Parse(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return af, nil
}

// tenantIDFor is the tenant id of the Management Activity API's URLs:
// --tenant-id, else $AZURE_TENANT_ID (the credential's tenant; not with
// --auth none), else "" (read from Graph's /organization on first use).
func tenantIDFor(flagValue string, auth graph.Auth, env *Env) string {
	if v := strings.TrimSpace(flagValue); v != "" {
		return v
	}
	if auth == graph.AuthAzure {
		return strings.TrimSpace(env.getenv("AZURE_TENANT_ID"))
	}
	return ""
}

func joinPath(dir, name string) string { return strings.TrimSuffix(dir, "/") + "/" + name }

// maxDays is the most whole days a time.Duration holds (106,751: about
// 292 years). A larger count would wrap around: 213504d once became a
// 25-minute look-back.
const maxDays = math.MaxInt64 / int64(24*time.Hour)

// days converts a count of whole days, refusing counts that are not
// positive or that a time.Duration cannot hold.
func days(n int64) (time.Duration, error) {
	switch {
	case n <= 0:
		return 0, fmt.Errorf("%d must be a positive number of days", n)
	case n > maxDays:
		return 0, fmt.Errorf("%d days is too long (at most %d)", n, maxDays)
	}
	return time.Duration(n) * 24 * time.Hour, nil
}

// parseLookback accepts a Go duration ("720h") or whole days ("30d"),
// positive and no longer than a time.Duration holds (time.ParseDuration
// refuses overflow itself; days are checked here).
func parseLookback(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if ds, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(ds, 10, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%q is not a duration (720h) or a number of days (30d)", s)
		}
		if err != nil || n > maxDays {
			return 0, fmt.Errorf("%q is too long (at most %dd)", s, maxDays)
		}
		if d, err = days(n); err != nil {
			return 0, fmt.Errorf("%q must be positive", s)
		}
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a duration (720h) or a number of days (30d), or is longer than %dd", s, maxDays)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q must be positive", s)
	}
	return d, nil
}

// credential builds the command's one credential when auth signs in
// (AuthAzure): the default chain, DefaultAzureCredential (shared/identity),
// or Env.NewCredential's; nil for AuthNone.
func (e *Env) credential(auth graph.Auth) (azcore.TokenCredential, error) {
	if auth != graph.AuthAzure {
		return nil, nil
	}
	build := e.NewCredential
	if build == nil {
		build = identity.New
	}
	return build("")
}

// parseAuth checks --auth against --graph-url: "none" sends no credential
// and is only allowed to a loopback address.
func parseAuth(auth, graphURL string) (graph.Auth, error) {
	u, err := url.Parse(graphURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return 0, fmt.Errorf("--graph-url: %q is not an http(s) URL", graphURL)
	}
	switch auth {
	case "azure":
		return graph.AuthAzure, nil
	case "none":
		if !tenant.IsLoopbackHost(u.Hostname()) {
			return 0, fmt.Errorf("--auth none is only allowed for a loopback --graph-url (got host %q); use --auth azure", u.Hostname())
		}
		return graph.AuthNone, nil
	default:
		return 0, fmt.Errorf("--auth: want azure or none, got %q", auth)
	}
}
