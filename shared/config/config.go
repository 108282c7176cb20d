// Package config reads the deployed app's settings from the environment
// (Azure Functions app settings, local.settings.json through the host), all
// at once: Load reports every problem together, one line each, so a
// misconfigured deployment is fixed in one pass. It imports nothing but the
// standard library and shared/tenant.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/accept"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Azurite's development account, used when AzureWebJobsStorage is the
// UseDevelopmentStorage=true shortcut (the Go SDKs do not accept it).
const (
	devAccount = "devstoreaccount1"
	devKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// DevelopmentStorage is the full connection string UseDevelopmentStorage=true
// stands for: Azurite on its default loopback ports.
const DevelopmentStorage = "DefaultEndpointsProtocol=http;AccountName=" + devAccount + ";AccountKey=" + devKey +
	";BlobEndpoint=http://127.0.0.1:10000/" + devAccount + ";QueueEndpoint=http://127.0.0.1:10001/" + devAccount +
	";TableEndpoint=http://127.0.0.1:10002/" + devAccount + ";"

// Storage says how to reach the storage account: a connection string
// (Azurite, local runs) or service URLs with a managed identity (Azure).
type Storage struct {
	ConnectionString string // full string; empty when identity-based
	TableURL         string // identity-based: https://<account>.table.core.windows.net
	BlobURL          string
	QueueURL         string
	ClientID         string // user-assigned managed identity client id; empty = system-assigned / default chain
}

// IdentityBased reports whether storage is reached with a token credential.
func (s Storage) IdentityBased() bool { return s.ConnectionString == "" }

// WatchedResources returns the only resources the deployed app subscribes
// to. It is not a setting: Graph notifies about users and groups, and not
// about service principals, applications or the logs (it has accepted
// such subscriptions and never delivered). Group notifications matter for
// group-based licences.
func WatchedResources() []string { return []string{"users", "groups"} }

// Config is every setting the app reads.
type Config struct {
	Port    int     // FUNCTIONS_CUSTOMHANDLER_PORT
	Storage Storage // AzureWebJobsStorage or AzureWebJobsStorage__*

	GraphURL  string // TENANTWATCH_GRAPH_URL, default https://graph.microsoft.com (the client adds /v1.0)
	GraphAuth string // TENANTWATCH_GRAPH_AUTH: "azure" (default) or "none" (the simulated tenant)
	// Beta reads Graph's beta sign-in log (authenticationProtocol, for
	// signin.device-code) instead of v1.0's (TENANTWATCH_BETA, default
	// true). Microsoft does not support beta in production; false reads
	// v1.0 and skips the rules that need beta, with the reason.
	Beta bool

	TeamsWebhookURL string          // TENANTWATCH_TEAMS_WEBHOOK_URL (a secret: the sig= parameter); empty = alerts wait in the outbox
	AlertSeverity   tenant.Severity // TENANTWATCH_ALERT_SEVERITY, default high: one card each at or above, a digest below
	AllowHTTP       bool            // TENANTWATCH_ALLOW_HTTP_LOOPBACK: allow http:// loopback webhook and notification URLs (local runs)

	NotificationURL string // TENANTWATCH_NOTIFICATION_URL: public URL of GraphNotifications, with ?code=
	LifecycleURL    string // TENANTWATCH_LIFECYCLE_URL: public URL of GraphLifecycle, with ?code=

	// The Office 365 Management Activity API (the Exchange rules, issue 11).
	ActivityURL string // TENANTWATCH_ACTIVITY_URL: the API root, default https://manage.office.com (with TENANTWATCH_GRAPH_AUTH=none, the Graph URL: the simulator serves both)
	TenantID    string // TENANTWATCH_TENANT_ID: the directory id the API's URLs name; empty = read from Graph's /organization
	// ActivityNotificationURL is the public URL of ActivityNotifications,
	// with ?code= (TENANTWATCH_ACTIVITY_NOTIFICATION_URL); empty = no
	// webhook, PollActivity alone.
	ActivityNotificationURL string
	// ActivityAuthID is the webhook's Webhook-AuthID secret
	// (TENANTWATCH_ACTIVITY_AUTH_ID, a Key Vault reference in Azure):
	// required with ActivityNotificationURL.
	ActivityAuthID string
	// ActivityOverlap: each PollActivity lists this much before its
	// watermark (TENANTWATCH_ACTIVITY_OVERLAP, default 30m).
	ActivityOverlap time.Duration
	// SentinelEndpoint is the logs ingestion endpoint of the data
	// collection endpoint (TENANTWATCH_SENTINEL_ENDPOINT, https) and
	// SentinelRuleID the data collection rule's immutable id
	// (TENANTWATCH_SENTINEL_RULE_ID, dcr-…): both set, findings and
	// incidents also go to Log Analytics (shared/sentinel); both empty,
	// the sink is off.
	SentinelEndpoint, SentinelRuleID string

	ServiceTagsBlob string // TENANTWATCH_SERVICE_TAGS_BLOB: "container/name" of a Service Tags JSON file
	ServiceTagsFile string // TENANTWATCH_SERVICE_TAGS_FILE: a local Service Tags file (local runs)
	// ServiceTagsSubscription, when set, reads the ranges from the Service
	// Tag Discovery API of that subscription (the identity needs
	// Microsoft.Network/locations/serviceTags/read on it: infra/ grants a
	// custom role with only that action); ServiceTagsLocation selects the list's version (default
	// westeurope) and ARMURL the Resource Manager root.
	ServiceTagsSubscription string // TENANTWATCH_SERVICE_TAGS_SUBSCRIPTION
	ServiceTagsLocation     string // TENANTWATCH_SERVICE_TAGS_LOCATION
	ARMURL                  string // TENANTWATCH_ARM_URL, default https://management.azure.com

	ReportContainer string // TENANTWATCH_REPORT_CONTAINER, default "reports"
	TablePrefix     string // TENANTWATCH_TABLE_PREFIX, default "tw"

	// AuditOverlap: each audit poll re-reads this much before its
	// watermark, because log entries arrive late (TENANTWATCH_AUDIT_OVERLAP,
	// default 15m). Dedupe makes the overlap harmless.
	AuditOverlap time.Duration
	// SignInOverlap: the same for sign-ins (TENANTWATCH_SIGNIN_OVERLAP,
	// default 15m).
	SignInOverlap time.Duration
	// SweepWindow: the audit and sign-in window of the daily sweep
	// (TENANTWATCH_SWEEP_WINDOW, default 720h).
	SweepWindow time.Duration
	// SubscriptionLifetime: how far ahead subscriptions are set to expire
	// (TENANTWATCH_SUBSCRIPTION_LIFETIME, default and maximum 41760m, the
	// limit for users and groups).
	SubscriptionLifetime time.Duration
	// RenewBefore: renew a subscription expiring sooner than this
	// (TENANTWATCH_RENEW_BEFORE, default 72h).
	RenewBefore time.Duration
	// DeliveryBackoff: the first wait before a failed Teams delivery is
	// retried; it doubles with each attempt up to 30 minutes
	// (TENANTWATCH_DELIVERY_BACKOFF, default 5s).
	DeliveryBackoff time.Duration
	// Accept is the accepted risks (TENANTWATCH_ACCEPT: the accept file's
	// JSON inline, as scan --accept reads it; nil when unset): an accepted
	// finding is not carded and is marked in the daily report.
	Accept *accept.File
}

// MaxSubscriptionLifetime is Graph's limit for users and groups
// subscriptions: 41,760 minutes (29 days).
const MaxSubscriptionLifetime = 41760 * time.Minute

// Load reads the configuration through getenv (os.Getenv in production).
// It returns every problem found, joined.
func Load(getenv func(string) string) (Config, error) {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: %s: "+format, append([]any{name}, args...)...))
	}
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	c := Config{
		GraphURL:                strings.TrimRight(orDefault(get("TENANTWATCH_GRAPH_URL"), "https://graph.microsoft.com"), "/"),
		GraphAuth:               strings.ToLower(orDefault(get("TENANTWATCH_GRAPH_AUTH"), "azure")),
		TeamsWebhookURL:         get("TENANTWATCH_TEAMS_WEBHOOK_URL"),
		NotificationURL:         get("TENANTWATCH_NOTIFICATION_URL"),
		LifecycleURL:            get("TENANTWATCH_LIFECYCLE_URL"),
		ActivityURL:             strings.TrimRight(get("TENANTWATCH_ACTIVITY_URL"), "/"),
		TenantID:                get("TENANTWATCH_TENANT_ID"),
		ActivityNotificationURL: get("TENANTWATCH_ACTIVITY_NOTIFICATION_URL"),
		ActivityAuthID:          get("TENANTWATCH_ACTIVITY_AUTH_ID"),
		SentinelEndpoint:        strings.TrimRight(get("TENANTWATCH_SENTINEL_ENDPOINT"), "/"),
		SentinelRuleID:          get("TENANTWATCH_SENTINEL_RULE_ID"),
		ServiceTagsBlob:         get("TENANTWATCH_SERVICE_TAGS_BLOB"),
		ServiceTagsFile:         get("TENANTWATCH_SERVICE_TAGS_FILE"),
		ServiceTagsSubscription: get("TENANTWATCH_SERVICE_TAGS_SUBSCRIPTION"),
		ServiceTagsLocation:     orDefault(get("TENANTWATCH_SERVICE_TAGS_LOCATION"), "westeurope"),
		ARMURL:                  strings.TrimRight(orDefault(get("TENANTWATCH_ARM_URL"), "https://management.azure.com"), "/"),
		ReportContainer:         orDefault(get("TENANTWATCH_REPORT_CONTAINER"), "reports"),
		TablePrefix:             orDefault(get("TENANTWATCH_TABLE_PREFIX"), "tw"),
	}

	if p := get("FUNCTIONS_CUSTOMHANDLER_PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			bad("FUNCTIONS_CUSTOMHANDLER_PORT", "%q is not a port number", p)
		}
		c.Port = n
	}

	c.AllowHTTP = parseBool(get("TENANTWATCH_ALLOW_HTTP_LOOPBACK"), bad, "TENANTWATCH_ALLOW_HTTP_LOOPBACK")
	c.Beta = true
	if v := get("TENANTWATCH_BETA"); v != "" {
		c.Beta = parseBool(v, bad, "TENANTWATCH_BETA")
	}

	st, err := loadStorage(get)
	if err != nil {
		errs = append(errs, err)
	}
	c.Storage = st

	if c.GraphAuth != "azure" && c.GraphAuth != "none" {
		bad("TENANTWATCH_GRAPH_AUTH", "%q is not azure or none", c.GraphAuth)
	}
	if _, err := checkURL(c.GraphURL, true); err != nil {
		bad("TENANTWATCH_GRAPH_URL", "%v", err)
	}
	sev := orDefault(get("TENANTWATCH_ALERT_SEVERITY"), "high")
	if s, err := tenant.ParseSeverity(sev); err != nil {
		bad("TENANTWATCH_ALERT_SEVERITY", "%v", err)
	} else {
		c.AlertSeverity = s
	}
	for _, u := range []struct{ name, v string }{
		{"TENANTWATCH_TEAMS_WEBHOOK_URL", c.TeamsWebhookURL},
		{"TENANTWATCH_NOTIFICATION_URL", c.NotificationURL},
		{"TENANTWATCH_LIFECYCLE_URL", c.LifecycleURL},
		{"TENANTWATCH_ACTIVITY_NOTIFICATION_URL", c.ActivityNotificationURL},
	} {
		if u.v == "" {
			continue
		}
		parsed, err := checkURL(u.v, c.AllowHTTP)
		if err != nil {
			// Never echo the webhook URL: its sig= parameter is the credential.
			bad(u.name, "%v", err)
			continue
		}
		if u.name == "TENANTWATCH_TEAMS_WEBHOOK_URL" && parsed.Query().Get("sig") == "" && parsed.Scheme == "https" {
			// Workflows URLs carry sig=; a URL without it will be refused.
			bad(u.name, "has no sig= parameter: copy the whole URL of the Workflows trigger")
		}
	}
	if c.LifecycleURL != "" && c.NotificationURL == "" {
		bad("TENANTWATCH_LIFECYCLE_URL", "is set but TENANTWATCH_NOTIFICATION_URL is not")
	}
	if c.ActivityURL == "" {
		c.ActivityURL = "https://manage.office.com"
		if c.GraphAuth == "none" {
			c.ActivityURL = c.GraphURL // the simulator serves both
		}
	}
	if _, err := checkURL(c.ActivityURL, c.AllowHTTP || c.GraphAuth == "none"); err != nil {
		bad("TENANTWATCH_ACTIVITY_URL", "%v", err)
	}
	if c.TenantID != "" && !tenant.IsGUID(c.TenantID) {
		bad("TENANTWATCH_TENANT_ID", "%q is not a GUID (the directory id)", c.TenantID)
	}
	switch {
	case c.ActivityNotificationURL != "" && len(c.ActivityAuthID) < 16:
		// Never echo the secret.
		bad("TENANTWATCH_ACTIVITY_AUTH_ID", "must be set, at least 16 characters, with TENANTWATCH_ACTIVITY_NOTIFICATION_URL (the webhook's Webhook-AuthID secret)")
	case c.ActivityNotificationURL == "" && c.ActivityAuthID != "":
		bad("TENANTWATCH_ACTIVITY_AUTH_ID", "is set but TENANTWATCH_ACTIVITY_NOTIFICATION_URL is not")
	}
	switch {
	case (c.SentinelEndpoint == "") != (c.SentinelRuleID == ""):
		bad("TENANTWATCH_SENTINEL_ENDPOINT", "and TENANTWATCH_SENTINEL_RULE_ID are set together (the data collection endpoint's logs ingestion URL and the rule's immutable id) or not at all")
	case c.SentinelEndpoint != "":
		if u, err := url.Parse(c.SentinelEndpoint); err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" {
			bad("TENANTWATCH_SENTINEL_ENDPOINT", "must be an https URL without user or query (the data collection endpoint's logs ingestion endpoint)")
		}
		if !strings.HasPrefix(c.SentinelRuleID, "dcr-") || strings.ContainsAny(c.SentinelRuleID, "/?#% ") {
			bad("TENANTWATCH_SENTINEL_RULE_ID", "%.80q is not a data collection rule's immutable id (dcr-…)", c.SentinelRuleID)
		}
	}
	if c.ServiceTagsBlob != "" {
		if i := strings.IndexByte(c.ServiceTagsBlob, '/'); i <= 0 || i == len(c.ServiceTagsBlob)-1 {
			bad("TENANTWATCH_SERVICE_TAGS_BLOB", "%q is not container/name", c.ServiceTagsBlob)
		}
	}
	if _, err := checkURL(c.ARMURL, c.AllowHTTP); err != nil {
		bad("TENANTWATCH_ARM_URL", "%v", err)
	}
	if n := 0; c.ServiceTagsFile != "" || c.ServiceTagsBlob != "" || c.ServiceTagsSubscription != "" {
		for _, v := range []string{c.ServiceTagsFile, c.ServiceTagsBlob, c.ServiceTagsSubscription} {
			if v != "" {
				n++
			}
		}
		if n > 1 {
			bad("TENANTWATCH_SERVICE_TAGS_*", "set only one of _FILE, _BLOB and _SUBSCRIPTION")
		}
	}
	if v := get("TENANTWATCH_ACCEPT"); v != "" {
		if af, err := accept.Parse(strings.NewReader(v)); err != nil {
			bad("TENANTWATCH_ACCEPT", "%v", err)
		} else {
			c.Accept = af
		}
	}
	if !validTablePrefix(c.TablePrefix) {
		bad("TENANTWATCH_TABLE_PREFIX", "%q must be 1-20 letters or digits starting with a letter", c.TablePrefix)
	}
	if !validContainer(c.ReportContainer) {
		bad("TENANTWATCH_REPORT_CONTAINER", "%q is not a valid container name (3-63 lower-case letters, digits, hyphens)", c.ReportContainer)
	}

	dur := func(name string, def, minimum, maximum time.Duration) time.Duration {
		v := get(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < minimum || d > maximum {
			bad(name, "%q is not a duration between %s and %s", v, minimum, maximum)
			return def
		}
		return d
	}
	c.AuditOverlap = dur("TENANTWATCH_AUDIT_OVERLAP", 15*time.Minute, 0, 24*time.Hour)
	c.SignInOverlap = dur("TENANTWATCH_SIGNIN_OVERLAP", 15*time.Minute, 0, 24*time.Hour)
	c.ActivityOverlap = dur("TENANTWATCH_ACTIVITY_OVERLAP", 30*time.Minute, 0, 24*time.Hour)
	c.SweepWindow = dur("TENANTWATCH_SWEEP_WINDOW", 720*time.Hour, time.Hour, 90*24*time.Hour)
	c.SubscriptionLifetime = dur("TENANTWATCH_SUBSCRIPTION_LIFETIME", MaxSubscriptionLifetime, 45*time.Minute, MaxSubscriptionLifetime)
	c.RenewBefore = dur("TENANTWATCH_RENEW_BEFORE", 72*time.Hour, time.Minute, MaxSubscriptionLifetime)
	c.DeliveryBackoff = dur("TENANTWATCH_DELIVERY_BACKOFF", 5*time.Second, 100*time.Millisecond, 10*time.Minute)
	if c.RenewBefore >= c.SubscriptionLifetime {
		bad("TENANTWATCH_RENEW_BEFORE", "must be shorter than the subscription lifetime (%s)", c.SubscriptionLifetime)
	}
	return c, errors.Join(errs...)
}

func loadStorage(get func(string) string) (Storage, error) {
	conn := get("AzureWebJobsStorage")
	if strings.EqualFold(strings.ReplaceAll(conn, " ", ""), "UseDevelopmentStorage=true") {
		return Storage{ConnectionString: DevelopmentStorage}, nil
	}
	if conn != "" {
		kv := parseConnectionString(conn)
		if kv["accountname"] == "" && kv["tableendpoint"] == "" {
			return Storage{}, errors.New("config: AzureWebJobsStorage: not a connection string (no AccountName or TableEndpoint)")
		}
		if kv["accountkey"] == "" && kv["sharedaccesssignature"] == "" {
			return Storage{}, errors.New("config: AzureWebJobsStorage: the connection string has no AccountKey or SharedAccessSignature; in Azure use the identity-based AzureWebJobsStorage__* settings instead")
		}
		return Storage{ConnectionString: conn}, nil
	}
	s := Storage{
		TableURL: get("AzureWebJobsStorage__tableServiceUri"),
		BlobURL:  get("AzureWebJobsStorage__blobServiceUri"),
		QueueURL: get("AzureWebJobsStorage__queueServiceUri"),
		ClientID: get("AzureWebJobsStorage__clientId"),
	}
	if acct := get("AzureWebJobsStorage__accountName"); acct != "" {
		if s.TableURL == "" {
			s.TableURL = "https://" + acct + ".table.core.windows.net"
		}
		if s.BlobURL == "" {
			s.BlobURL = "https://" + acct + ".blob.core.windows.net"
		}
		if s.QueueURL == "" {
			s.QueueURL = "https://" + acct + ".queue.core.windows.net"
		}
	}
	if s.TableURL == "" || s.BlobURL == "" {
		return s, errors.New("config: AzureWebJobsStorage is not set (a connection string locally, or AzureWebJobsStorage__accountName with a managed identity in Azure)")
	}
	for name, u := range map[string]string{"tableServiceUri": s.TableURL, "blobServiceUri": s.BlobURL} {
		if _, err := checkURL(u, false); err != nil {
			return s, fmt.Errorf("config: AzureWebJobsStorage__%s: %w", name, err)
		}
	}
	return s, nil
}

// parseConnectionString splits a storage connection string into lower-case
// keys and their values.
func parseConnectionString(s string) map[string]string {
	out := make(map[string]string)
	for _, part := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		out[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	return out
}

// checkURL accepts an absolute https URL, or an http URL on a loopback host
// (tenant.IsLoopbackHost: localhost, 127.0.0.0/8 or ::1 — an address, not
// a name that starts like one) when allowHTTP is set, without user
// information (a password there would travel in every error that quotes the
// URL). The error never contains the URL.
func checkURL(raw string, allowHTTP bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, errors.New("not an absolute URL")
	}
	if u.User != nil {
		return nil, errors.New("must not hold a user name or password (user@host)")
	}
	switch {
	case u.Scheme == "https":
		return u, nil
	case u.Scheme == "http" && allowHTTP && tenant.IsLoopbackHost(u.Hostname()):
		return u, nil
	case u.Scheme == "http":
		return nil, errors.New("must use https (http is allowed only on loopback with TENANTWATCH_ALLOW_HTTP_LOOPBACK=true)")
	default:
		return nil, fmt.Errorf("scheme %q is not https", u.Scheme)
	}
}

func parseBool(v string, bad func(string, string, ...any), name string) bool {
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		bad(name, "%q is not true or false", v)
	}
	return b
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func validTablePrefix(p string) bool {
	if p == "" || len(p) > 20 {
		return false
	}
	for i, r := range p {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func validContainer(n string) bool {
	if len(n) < 3 || len(n) > 63 || n[0] == '-' || n[len(n)-1] == '-' || strings.Contains(n, "--") {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
