package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/doctor"
	"github.com/tenantwatch/tenantwatch/shared/graph"
	"github.com/tenantwatch/tenantwatch/shared/notify"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// runDoctor checks a tenant or deployment. Flags not given fall back on
// the app settings of the same meaning, so that it runs with a
// deployment's values. Exit 0: no check failed; 1: a check failed or Graph
// could not be asked; 2: usage.
func runDoctor(ctx context.Context, args []string, env *Env) int {
	var (
		graphURL, auth, teamsURL, notificationURL string
		activityURL, tenantID                     string
		appURL, functionKey                       string
		postCard, asJSON, allowHTTP, verbose      bool
		timeout                                   time.Duration
	)
	orEnv := func(k, def string) string {
		if v := env.getenv(k); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.StringVar(&graphURL, "graph-url", orEnv("TENANTWATCH_GRAPH_URL", "https://graph.microsoft.com"), "Microsoft Graph root `URL` (default $TENANTWATCH_GRAPH_URL or https://graph.microsoft.com)")
	fs.StringVar(&activityURL, "activity-url", orEnv("TENANTWATCH_ACTIVITY_URL", ""), "Office 365 Management Activity API root `URL` (default $TENANTWATCH_ACTIVITY_URL, else https://manage.office.com; with --auth none, the --graph-url)")
	fs.StringVar(&tenantID, "tenant-id", "", "the tenant `id` of the Management Activity API's URLs (default $AZURE_TENANT_ID with --auth azure, else read from Graph's /organization)")
	fs.StringVar(&auth, "auth", orEnv("TENANTWATCH_GRAPH_AUTH", "azure"), "authentication: azure (DefaultAzureCredential: run it as the identity to check) or none (loopback --graph-url and --activity-url only)")
	fs.StringVar(&teamsURL, "teams-webhook-url", orEnv("TENANTWATCH_TEAMS_WEBHOOK_URL", ""), "Teams Workflows webhook `URL` (default $TENANTWATCH_TEAMS_WEBHOOK_URL); never printed")
	fs.StringVar(&notificationURL, "notification-url", orEnv("TENANTWATCH_NOTIFICATION_URL", ""), "the app's GraphNotifications `URL` (default $TENANTWATCH_NOTIFICATION_URL), to find its subscriptions")
	fs.StringVar(&appURL, "app", "", "a deployed app's `URL` (https://<app>.azurewebsites.net): print the report its Doctor function makes as the app's own identity")
	fs.StringVar(&functionKey, "function-key", orEnv("TENANTWATCH_FUNCTION_KEY", ""), "function `key` for --app (default $TENANTWATCH_FUNCTION_KEY); never printed")
	fs.BoolVar(&postCard, "post-test-card", false, "post a test card to the Teams webhook (the only proof that it answers)")
	fs.BoolVar(&asJSON, "json", false, "write the report as JSON")
	fs.BoolVar(&allowHTTP, "allow-http-loopback", false, "allow http:// webhook and --app URLs on a loopback host: localhost, 127.0.0.0/8 or ::1 (local runs)")
	fs.BoolVar(&verbose, "verbose", false, "log every Graph request on stderr")
	fs.DurationVar(&timeout, "timeout", 2*time.Minute, "give up after `duration`")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, "Usage: tenantwatch doctor [flags]")
		fmt.Fprintln(w, "\nChecks, line by line, what tenantwatch needs: each Graph permission (by trying the read it")
		fmt.Fprintln(w, "enables), the Entra ID P1/P2 licence, trusted named locations, the Teams webhook and the")
		fmt.Fprintln(w, "change-notification subscriptions, and on the Office 365 Management Activity API the ActivityFeed.Read")
		fmt.Fprintln(w, "permission and the Audit.Exchange subscription. It only reads (the test card is opt-in).")
		fmt.Fprintln(w, "Exit codes: 0 nothing failed (warnings allowed); 1 a check failed; 2 usage error.\n\nFlags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, env); !ok {
		return code
	}
	if timeout <= 0 {
		return usageError(env, "doctor", "--timeout must be positive")
	}
	if appURL != "" {
		return remoteDoctor(ctx, env, appURL, functionKey, allowHTTP, asJSON, timeout)
	}
	a, err := parseAuth(auth, graphURL)
	if err != nil {
		return usageError(env, "doctor", "%v", err)
	}
	activityRoot, err := activityURLFor(activityURL, graphURL, a == graph.AuthAzure)
	if err != nil {
		return usageError(env, "doctor", "%v", err)
	}
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	log := newLogger(env.Stderr, level)
	cred, err := env.credential(a)
	if err != nil {
		return fail(env, "doctor", err)
	}
	client, err := graph.NewClient(graphURL, a, &graph.ClientOptions{Credential: cred, Logger: log, UserAgent: "tenantwatch/" + Version})
	if err != nil {
		return fail(env, "doctor", err)
	}
	opts := &doctor.Options{Target: graphURL, PostTestCard: postCard, NotificationURL: notificationURL, Logger: log,
		Feed: newActivitySource(activityRoot, tenantIDFor(tenantID, a, env), cred, client, log, env.Now)}
	if teamsURL != "" {
		s, err := notify.NewSender(teamsURL, &notify.SenderOptions{AllowHTTPLoopback: allowHTTP})
		if err != nil {
			// The error names the problem, not the URL (it holds a secret).
			return usageError(env, "doctor", "--teams-webhook-url: %v", err)
		}
		if u, _ := url.Parse(teamsURL); strings.EqualFold(u.Scheme, "https") && u.Query().Get("sig") == "" {
			// As config checks TENANTWATCH_TEAMS_WEBHOOK_URL: Workflows URLs
			// carry sig=, and one without it will be refused.
			return usageError(env, "doctor", "--teams-webhook-url has no sig= parameter: copy the whole URL of the Workflows trigger")
		}
		opts.Teams = s
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	doc, err := doctor.New(client, doctor.Facts{LicenceMissing: graph.LicenceMissing}, opts)
	if err != nil {
		return fail(env, "doctor", err)
	}
	rep := doc.Run(ctx)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		fmt.Fprintf(env.Stderr, "tenantwatch doctor: gave up after %s (--timeout)\n", timeout)
	}
	return printReport(env, rep, asJSON)
}

// maxReportBytes bounds the report read from a deployed app.
const maxReportBytes = 1 << 20

// remoteDoctor fetches the report of a deployed app's Doctor function (GET
// /api/Doctor with the function key in x-functions-key, never in the URL)
// and prints it as a local run would.
func remoteDoctor(ctx context.Context, env *Env, appURL, key string, allowHTTP, asJSON bool, timeout time.Duration) int {
	u, err := url.Parse(strings.TrimRight(appURL, "/"))
	if err != nil || u.Host == "" || u.User != nil || (u.Scheme != "https" && !(allowHTTP && u.Scheme == "http" && tenant.IsLoopbackHost(u.Hostname()))) {
		return usageError(env, "doctor", "--app: want https://<app host> (http only on loopback with --allow-http-loopback)")
	}
	if key == "" {
		return usageError(env, "doctor", "--app needs --function-key (az functionapp keys list -g <rg> -n <app> --query functionKeys.graph -o tsv)")
	}
	u.Path, u.RawQuery = strings.TrimRight(u.Path, "/")+"/api/Doctor", ""
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fail(env, "doctor", err)
	}
	req.Header.Set("x-functions-key", key)
	req.Header.Set("User-Agent", "tenantwatch/"+Version)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fail(env, "doctor", fmt.Errorf("--app: %s: %w", u.Host, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReportBytes+1))
	switch {
	case err != nil:
		return fail(env, "doctor", fmt.Errorf("--app: reading the report: %w", err))
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fail(env, "doctor", fmt.Errorf("--app: %s answered %d: check --function-key", u.Host, resp.StatusCode))
	case resp.StatusCode == http.StatusNotFound:
		return fail(env, "doctor", fmt.Errorf("--app: %s has no Doctor function (404): deploy this version", u.Host))
	case resp.StatusCode != http.StatusOK:
		return fail(env, "doctor", fmt.Errorf("--app: %s answered %d", u.Host, resp.StatusCode))
	case len(body) > maxReportBytes:
		return fail(env, "doctor", fmt.Errorf("--app: the report is over %d bytes", maxReportBytes))
	}
	var rep doctor.Report
	if err := json.Unmarshal(body, &rep); err != nil || len(rep.Checks) == 0 {
		return fail(env, "doctor", fmt.Errorf("--app: %s did not answer a doctor report", u.Host))
	}
	return printReport(env, rep, asJSON)
}

// printReport writes rep (text or JSON) and returns doctor's exit code.
func printReport(env *Env, rep doctor.Report, asJSON bool) int {
	write := rep.WriteText
	if asJSON {
		write = rep.WriteJSON
	}
	if err := write(env.Stdout); err != nil {
		return fail(env, "doctor", err)
	}
	if rep.Failed() {
		return ExitError
	}
	return ExitOK
}
