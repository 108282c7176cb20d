package deploy

// The checks. Each takes the parsed deployment files (and what the code
// needs) and returns every failure, so that the tests can run it on the
// real files and on mutated copies.

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/config"
	"github.com/tenantwatch/tenantwatch/shared/funchost"
	"github.com/tenantwatch/tenantwatch/shared/pack"
	"github.com/tenantwatch/tenantwatch/shared/permission"
)

// notSet lists the settings the code reads that Azure deliberately does
// not set, each with its reason. Nothing else may be missing.
var notSet = map[string]string{
	"AzureWebJobsStorage":              "the connection-string form (local runs, Azurite); in Azure the identity-based AzureWebJobsStorage__* settings are used, and the account has no usable key (allowSharedKeyAccess: false)",
	"AzureWebJobsStorage__accountName": "the explicit __blobServiceUri, __queueServiceUri and __tableServiceUri are set instead (they come from the account, so they are right outside the public cloud too)",
	"FUNCTIONS_CUSTOMHANDLER_PORT":     "set by the Functions host when it starts the handler",
	"TENANTWATCH_ALLOW_HTTP_LOOPBACK":  "local runs only: allows http:// loopback webhook and notification URLs",
	"TENANTWATCH_SERVICE_TAGS_FILE":    "local runs only: a Service Tags file on the local disk",
	"TENANTWATCH_SENTINEL_ENDPOINT":    "set only when TENANTWATCH_SENTINEL_WORKSPACE is given (sentinelAppSettings in main.bicep, from modules/sentinel.bicep's outputs); unset, the Log Analytics sink is off",
	"TENANTWATCH_SENTINEL_RULE_ID":     "set only when TENANTWATCH_SENTINEL_WORKSPACE is given (sentinelAppSettings in main.bicep, from modules/sentinel.bicep's outputs); unset, the Log Analytics sink is off",
	"TENANTWATCH_ACCEPT":               "the accepted risks (an accept file's JSON) are the security team's decision after deployment, set in the Function App's settings (README \"Accepted risks\"); unset means none is accepted",
}

// notSetInMode lists, per serviceTagsSource, the service-tag settings that
// mode does not use (config.Load refuses more than one source).
var notSetInMode = map[string]map[string]string{
	"discovery": {
		"TENANTWATCH_SERVICE_TAGS_BLOB": "serviceTagsSource discovery reads the Service Tag Discovery API instead",
	},
	"blob": {
		"TENANTWATCH_SERVICE_TAGS_SUBSCRIPTION": "serviceTagsSource blob reads the servicetags container instead",
		"TENANTWATCH_SERVICE_TAGS_LOCATION":     "only used with TENANTWATCH_SERVICE_TAGS_SUBSCRIPTION",
	},
	"none": {
		"TENANTWATCH_SERVICE_TAGS_BLOB":         "serviceTagsSource none: signin.azure-ip is skipped and says why",
		"TENANTWATCH_SERVICE_TAGS_SUBSCRIPTION": "serviceTagsSource none: signin.azure-ip is skipped and says why",
		"TENANTWATCH_SERVICE_TAGS_LOCATION":     "serviceTagsSource none: signin.azure-ip is skipped and says why",
	},
}

// teamsSetting is set only when a webhook URL is given: without one,
// alerts wait in the outbox, and a Key Vault reference to a secret that
// does not exist would reach the app as the literal reference text, which
// config.Load refuses.
const teamsSetting = "TENANTWATCH_TEAMS_WEBHOOK_URL"

// platformSettings are set for the Functions host, the Azure SDK or
// Application Insights, not read by shared/config.
var platformSettings = map[string]string{
	"AZURE_CLIENT_ID":                           "the default chain's user-assigned identity (azidentity's DefaultAzureCredential); the app itself signs in as AzureWebJobsStorage__clientId, the same identity",
	"APPLICATIONINSIGHTS_CONNECTION_STRING":     "the host's telemetry",
	"APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "the host's telemetry with a Microsoft Entra token (local auth is off)",
}

const platformPrefix = "AzureWebJobsStorage__" // the host's identity-based storage connection

// flexForbidden are settings Flex Consumption refuses or ignores.
var flexForbidden = []string{
	"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE",
	"WEBSITE_CONTENTSHARE", "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "WEBSITE_TIME_ZONE", "TZ",
}

const (
	testClientID    = "11111111-2222-3333-4444-555555555555"
	testHostName    = "func-test.azurewebsites.net"
	testWebhook     = "https://prod-01.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?api-version=2016-06-01&sig=c2lnbmF0dXJl"
	expectedGraphV1 = "br:mcr.microsoft.com/bicep/extensions/microsoftgraph/v1.0:1.0.0"
)

var testHostKey = strings.Repeat("0123456789abcdef", 4)

// runtimeStandIns are what Azure puts in the settings whose Bicep value is
// computed at deployment (module outputs, subscription(), environment()).
var runtimeStandIns = map[string]string{
	"AzureWebJobsStorage__clientId":             testClientID,
	"AZURE_CLIENT_ID":                           testClientID,
	"AzureWebJobsStorage__blobServiceUri":       "https://sttest.blob.core.windows.net/",
	"AzureWebJobsStorage__queueServiceUri":      "https://sttest.queue.core.windows.net/",
	"AzureWebJobsStorage__tableServiceUri":      "https://sttest.table.core.windows.net/",
	"APPLICATIONINSIGHTS_CONNECTION_STRING":     "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/",
	"APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "ClientId=" + testClientID + ";Authorization=AAD",
	"TENANTWATCH_ARM_URL":                       "https://management.azure.com",
	"TENANTWATCH_SERVICE_TAGS_SUBSCRIPTION":     "00000000-0000-0000-0000-000000000001",
	"TENANTWATCH_SERVICE_TAGS_LOCATION":         "westeurope",
	"TENANTWATCH_TENANT_ID":                     "00000000-0000-0000-0000-000000000002",
}

// secretStandIns stand for the interpolations of Key Vault secret values,
// and secure params, when the tests resolve a Key Vault reference.
var secretStandIns = map[string]string{
	"app.properties.defaultHostName": testHostName,
	"hostKey":                        testHostKey,
	"teamsWebhookUrl":                testWebhook,
	"activityAuthId":                 strings.Repeat("fedcba9876543210", 4),
}

// ---------------------------------------------------------------- settings

// appSettingsSet is the app settings main.bicep passes to app-config.bicep:
// the base set, one set per service-tags mode, and the Teams set.
type appSettingsSet struct {
	Base  *object
	Modes map[string]*object
	Teams *object
}

var (
	reKVRef   = regexp.MustCompile(`^'@Microsoft\.KeyVault\(SecretUri=\$\{vaultUri\}secrets/([a-z0-9-]+)/\)'$`)
	reTeams   = regexp.MustCompile(`(?s)^hasTeamsWebhook\s*\?\s*(\{.*\})\s*:\s*\{\s*\}$`)
	reSpace   = regexp.MustCompile(`\s+`)
	reGUID    = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	reOutputs = regexp.MustCompile(`\b(\w+)\.outputs\.(\w+)`)
)

func squash(s string) string { return reSpace.ReplaceAllString(strings.TrimSpace(s), " ") }

// readAppSettings reads the settings and checks how they are wired: the
// union main.bicep passes to app-config.bicep, which sets them all at once.
func readAppSettings(in *infra) (*appSettingsSet, errs) {
	var e errs
	main := in.bicep(mainBicep)
	s := &appSettingsSet{Modes: map[string]*object{}}
	var err error
	if s.Base, err = main.varObject("baseAppSettings"); err != nil {
		e.add("%v", err)
		return nil, e
	}
	modes, err := main.varObject("serviceTagAppSettings")
	if err != nil {
		e.add("%v", err)
		return nil, e
	}
	allowed := allowedValues(main.Params["serviceTagsSource"])
	if !slices.Equal(sortedCopy(allowed), sortedCopy(modes.Keys)) {
		e.add("main.bicep: serviceTagAppSettings has modes %v, param serviceTagsSource allows %v", modes.Keys, allowed)
	}
	for _, k := range modes.Keys {
		if modes.Objs[k] == nil {
			e.add("main.bicep: serviceTagAppSettings.%s is not an object literal", k)
			continue
		}
		s.Modes[k] = modes.Objs[k]
	}
	teams, ok := main.Vars["teamsAppSettings"]
	m := reTeams.FindStringSubmatch(strings.TrimSpace(teams.exprOr("")))
	if !ok || m == nil {
		e.add("main.bicep: teamsAppSettings must be `hasTeamsWebhook ? { … } : {}`")
	} else if s.Teams, err = parseObject(m[1], 0); err != nil {
		e.add("main.bicep: teamsAppSettings: %v", err)
	}
	if h := main.Vars["hasTeamsWebhook"]; h == nil || squash(h.Expr) != "!empty(teamsWebhookUrl)" {
		e.add("main.bicep: hasTeamsWebhook must be !empty(teamsWebhookUrl)")
	}
	call := main.module("/app-config.bicep")
	if call == nil {
		e.add("main.bicep: no module app-config.bicep")
	} else if p, err := call.moduleParams(); err != nil {
		e.add("main.bicep: app-config params: %v", err)
	} else if got, want := squash(p.Vals["appSettings"]), "union(baseAppSettings, serviceTagAppSettings[serviceTagsSource], teamsAppSettings, sentinelAppSettings)"; got != want {
		e.add("main.bicep: app-config appSettings = %q, want %q", got, want)
	}
	// app-config.bicep sets them, as the only app settings of the app.
	ac := in.bicep(appConfigModule)
	var configs []*statement
	for _, p := range in.sortedBicep() {
		configs = append(configs, in.Bicep[p].resources("Microsoft.Web/sites/config")...)
	}
	if len(configs) != 1 || len(ac.resources("Microsoft.Web/sites/config")) != 1 {
		e.add("want exactly one Microsoft.Web/sites/config resource, in app-config.bicep; found %d", len(configs))
	} else if b, err := configs[0].body(); err != nil {
		e.add("app-config.bicep: %v", err)
	} else {
		if v, _ := b.get("name"); v != "'appsettings'" {
			e.add("app-config.bicep: the config resource is %s, want 'appsettings'", v)
		}
		if v, _ := b.get("properties"); v != "appSettings" {
			e.add("app-config.bicep: the appsettings properties are %q, want the appSettings param", v)
		}
	}
	for _, p := range in.sortedBicep() {
		for _, r := range in.Bicep[p].resources("Microsoft.Web/sites") {
			if b, err := r.body(); err == nil {
				if sc := b.path("properties", "siteConfig"); sc != nil {
					if _, ok := sc.get("appSettings"); ok {
						e.add("%s: %s sets siteConfig.appSettings; app-config.bicep sets all app settings", p, r.Name)
					}
				}
			}
		}
	}
	return s, e
}

func (st *statement) exprOr(def string) string {
	if st == nil {
		return def
	}
	return st.Expr
}

// effective returns the settings of one deployment: key → Bicep expression.
func (s *appSettingsSet) effective(mode string, teams bool) map[string]string {
	out := map[string]string{}
	for _, o := range []*object{s.Base, s.Modes[mode]} {
		if o == nil {
			continue
		}
		for k, v := range o.Vals {
			out[k] = v
		}
	}
	if teams && s.Teams != nil {
		for k, v := range s.Teams.Vals {
			out[k] = v
		}
	}
	return out
}

// allowedValues returns the values of a declaration's @allowed decorator.
func allowedValues(st *statement) []string {
	if st == nil {
		return nil
	}
	for _, d := range st.Decorators {
		if !strings.HasPrefix(d, "@allowed(") {
			continue
		}
		open := strings.IndexByte(d, '[')
		if open < 0 {
			return nil
		}
		items, err := parseArray(d, open)
		if err != nil {
			return nil
		}
		var out []string
		for _, it := range items {
			if v, ok := unquote(it); ok {
				out = append(out, v)
			} else {
				out = append(out, it)
			}
		}
		return out
	}
	return nil
}

func hasDecorator(st *statement, name string) bool {
	for _, d := range st.Decorators {
		if d == name || strings.HasPrefix(d, name+"(") {
			return true
		}
	}
	return false
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	sort.Strings(c)
	return c
}

// modes returns the service-tags modes main.bicep allows.
func modes(in *infra) []string {
	return allowedValues(in.bicep(mainBicep).Params["serviceTagsSource"])
}

// checkAppSettings: the settings the code reads are set, except notSet
// (with reasons); nothing else is set but the platform's; Flex's
// forbidden settings are nowhere.
func checkAppSettings(in *infra, c *codeFacts) errs {
	s, e := readAppSettings(in)
	if s == nil {
		return e
	}
	for name := range notSet {
		if !c.Settings[name] {
			e.add("notSet lists %s, which the code no longer reads", name)
		}
	}
	for _, mode := range modes(in) {
		for name := range notSetInMode[mode] {
			if !c.Settings[name] {
				e.add("notSetInMode[%s] lists %s, which the code no longer reads", mode, name)
			}
		}
		for _, teams := range []bool{false, true} {
			set := s.effective(mode, teams)
			where := fmt.Sprintf("serviceTagsSource=%s, Teams webhook %v", mode, teams)
			for _, name := range sortedKeys(c.Settings) {
				if _, ok := set[name]; ok {
					continue
				}
				_, a := notSet[name]
				_, b := notSetInMode[mode][name]
				if !a && !b && (name != teamsSetting || teams) {
					e.add("%s: %s is read by the code but not set in Azure; set it in main.bicep or list it in notSet with the reason", where, name)
				}
			}
			for _, name := range sortedKeys(set) {
				if r, ok := notSet[name]; ok {
					e.add("%s: %s is set, but notSet says it is not (%s)", where, name, r)
				}
				if r, ok := notSetInMode[mode][name]; ok {
					e.add("%s: %s is set, but this mode does not use it (%s)", where, name, r)
				}
				_, platform := platformSettings[name]
				if !c.Settings[name] && !platform && !strings.HasPrefix(name, platformPrefix) {
					e.add("%s: %s is set but neither the code nor the platform reads it", where, name)
				}
				if slices.Contains(flexForbidden, name) {
					e.add("%s: %s must not be set on Flex Consumption", where, name)
				}
			}
			if !teams {
				if _, ok := set[teamsSetting]; ok {
					e.add("%s: %s is set without a webhook; its Key Vault reference would point at a missing secret", where, teamsSetting)
				}
			}
		}
	}
	for _, p := range in.sortedBicep() {
		for _, name := range flexForbidden {
			if regexp.MustCompile(`\b` + name + `\b`).MatchString(in.Bicep[p].Src) {
				e.add("%s: %s appears; Flex Consumption refuses it (the runtime is in functionAppConfig)", p, name)
			}
		}
	}
	// The identity-based storage connection and the identity.
	b := s.Base.Vals
	if b["AzureWebJobsStorage__credential"] != "'managedidentity'" {
		e.add("AzureWebJobsStorage__credential = %s, want 'managedidentity'", b["AzureWebJobsStorage__credential"])
	}
	for _, k := range []string{"AzureWebJobsStorage__clientId", "AzureWebJobsStorage__blobServiceUri", "AzureWebJobsStorage__queueServiceUri", "AzureWebJobsStorage__tableServiceUri"} {
		if b[k] == "" {
			e.add("%s is not set", k)
		}
	}
	if b["AZURE_CLIENT_ID"] != "identity.outputs.clientId" || b["AzureWebJobsStorage__clientId"] != "identity.outputs.clientId" {
		e.add("AZURE_CLIENT_ID and AzureWebJobsStorage__clientId must be identity.outputs.clientId (got %q, %q)", b["AZURE_CLIENT_ID"], b["AzureWebJobsStorage__clientId"])
	}
	if b["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] != "'ClientId=${identity.outputs.clientId};Authorization=AAD'" {
		e.add("APPLICATIONINSIGHTS_AUTHENTICATION_STRING = %s, want 'ClientId=${identity.outputs.clientId};Authorization=AAD'", b["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"])
	}
	main := in.bicep(mainBicep)
	if g, ok := main.eval(b["TENANTWATCH_GRAPH_URL"]); !ok || g != "https://graph.microsoft.com" {
		e.add("TENANTWATCH_GRAPH_URL = %q by default, want https://graph.microsoft.com", g)
	}
	for _, p := range in.sortedBicep() {
		if strings.Contains(in.Bicep[p].Src, "environment().graph") {
			e.add("%s: environment().graph is the retired Azure AD Graph (https://graph.windows.net/), not Microsoft Graph", p)
		}
	}
	if v := main.Vars["armUrl"]; v == nil || !strings.Contains(v.Expr, "environment().resourceManager") || b["TENANTWATCH_ARM_URL"] != "armUrl" {
		e.add("TENANTWATCH_ARM_URL must be armUrl, from environment().resourceManager")
	}
	return e
}

// settingValue resolves one setting for config.Load: its literal value,
// the value of the Key Vault secret it references, or a stand-in.
func settingValue(in *infra, name, expr string) (string, error) {
	main := in.bicep(mainBicep)
	if m := reKVRef.FindStringSubmatch(expr); m != nil {
		return secretValue(in, m[1])
	}
	if strings.Contains(expr, "@Microsoft.KeyVault") {
		return "", fmt.Errorf("%s: malformed Key Vault reference %s (want '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/<name>/)')", name, expr)
	}
	if v, ok := main.eval(expr); ok {
		return v, nil
	}
	if v, ok := runtimeStandIns[name]; ok {
		return v, nil
	}
	return "", fmt.Errorf("%s = %s is computed at deployment; give it a stand-in in runtimeStandIns", name, expr)
}

// secretValue returns what a Key Vault reference to the named secret
// resolves to: the secret's value with secretStandIns for its
// interpolations and secure params.
func secretValue(in *infra, secret string) (string, error) {
	if v := in.bicep(mainBicep).Vars["vaultUri"]; v == nil || squash(v.Expr) != "keyVault.outputs.vaultUri" {
		return "", fmt.Errorf("main.bicep: vaultUri must be keyVault.outputs.vaultUri")
	}
	// Every resource that creates the secret: one, or the reference is
	// ambiguous (each deployment of the files would overwrite the other's
	// value, in an order Azure does not promise).
	type definition struct {
		file string
		val  string
	}
	var found []definition
	for _, p := range in.sortedBicep() {
		f := in.Bicep[p]
		for _, r := range f.resources("Microsoft.KeyVault/vaults/secrets") {
			b, err := r.body()
			if err != nil {
				return "", err
			}
			if name, _ := f.eval(b.Vals["name"]); name == secret {
				val, _ := b.path("properties").get("value")
				found = append(found, definition{file: p, val: val})
			}
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("a Key Vault reference names secret %q, which no Microsoft.KeyVault/vaults/secrets resource creates", secret)
	case 1:
	default:
		var where []string
		for _, d := range found {
			where = append(where, d.file)
		}
		return "", fmt.Errorf("secret %q is defined %d times (%s): want one Microsoft.KeyVault/vaults/secrets resource per secret", secret, len(found), strings.Join(where, ", "))
	}
	p, val := found[0].file, found[0].val
	if v, ok := secretStandIns[val]; ok {
		return v, nil
	}
	if strings.HasPrefix(val, "'") {
		v, ok := interpolate(val, func(e string) (string, bool) {
			s, ok := secretStandIns[e]
			return s, ok
		})
		if ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s: secret %s = %s: no stand-in for its value", p, secret, val)
}

// checkConfigLoad: in every mode, with and without a webhook, the settings
// (with what Azure resolves at run time) pass config.Load.
func checkConfigLoad(in *infra, c *codeFacts) errs {
	s, e := readAppSettings(in)
	if s == nil {
		return e
	}
	for _, mode := range modes(in) {
		for _, teams := range []bool{false, true} {
			where := fmt.Sprintf("serviceTagsSource=%s, Teams webhook %v", mode, teams)
			env := map[string]string{"FUNCTIONS_CUSTOMHANDLER_PORT": "7071"}
			bad := false
			for name, expr := range s.effective(mode, teams) {
				v, err := settingValue(in, name, expr)
				if err != nil {
					e.add("%s: %v", where, err)
					bad = true
					continue
				}
				env[name] = v
			}
			if bad {
				continue
			}
			cfg, err := config.Load(func(k string) string { return env[k] })
			if err != nil {
				e.add("%s: config.Load refuses the deployed settings:\n%v", where, err)
				continue
			}
			if !cfg.Storage.IdentityBased() || cfg.Storage.ClientID != testClientID {
				e.add("%s: storage is not identity-based with the identity's client id: %+v", where, cfg.Storage)
			}
			if cfg.GraphAuth != "azure" || cfg.NotificationURL == "" || cfg.LifecycleURL == "" {
				e.add("%s: want Graph auth azure and both notification URLs, got %q, %q, %q", where, cfg.GraphAuth, cfg.NotificationURL, cfg.LifecycleURL)
			}
			if (cfg.TeamsWebhookURL != "") != teams {
				e.add("%s: Teams webhook = %q", where, cfg.TeamsWebhookURL)
			}
			sources := map[string]bool{"discovery": cfg.ServiceTagsSubscription != "", "blob": cfg.ServiceTagsBlob != ""}
			for m, on := range sources {
				if on != (m == mode) {
					e.add("%s: service tags from %s = %v", where, m, on)
				}
			}
		}
	}
	return e
}

// ---------------------------------------------------------------- schedules

var (
	reEveryMin  = regexp.MustCompile(`^every (\d+) min$`)
	reEveryHour = regexp.MustCompile(`^every (\d+) h$`)
	reDaily     = regexp.MustCompile(`^(\d{2}):(\d{2}) UTC$`)
)

// checkSchedules: every %Name% schedule is a main.bicep param whose
// default is the production schedule, parses as NCRONTAB and fires as the
// README's function table says.
func checkSchedules(in *infra, c *codeFacts) errs {
	var e errs
	s, se := readAppSettings(in)
	if s == nil {
		return se
	}
	main := in.bicep(mainBicep)
	if len(c.Schedules) == 0 {
		e.add("no %%Name%% schedules found in functions/*/function.json")
	}
	for _, name := range sortedKeys(c.Schedules) {
		expr, ok := s.Base.Vals[name]
		if !ok {
			e.add("%s (function %s) is not set", name, c.Schedules[name])
			continue
		}
		if p := main.Params[expr]; p == nil || p.Expr == "" {
			e.add("%s = %s: want a main.bicep param with a default, so that a deployment can change it", name, expr)
			continue
		}
		v, _ := main.eval(expr)
		sched, err := funchost.ParseSchedule(v)
		if err != nil {
			e.add("%s: %v", name, err)
			continue
		}
		if want := c.Production[name]; v != want {
			e.add("%s = %q, but demo.ProductionSchedules() says %q", name, v, want)
		}
		if err := readmeAgrees(c.README, name, sched); err != nil {
			e.add("%s = %q: %v", name, v, err)
		}
	}
	for name := range c.Production {
		if _, ok := c.Schedules[name]; !ok {
			e.add("demo.ProductionSchedules() has %s, which no function.json references", name)
		}
	}
	return e
}

// readmeAgrees checks a schedule against the README's function table,
// where `%Name%` is followed by "(every 2 min)", "(every minute)",
// "(every 6 h, …)" or "(02:30 UTC)".
func readmeAgrees(readme, name string, s *funchost.Schedule) error {
	m := regexp.MustCompile("%" + regexp.QuoteMeta(name) + "%`\\s*\\(([^)]*)\\)").FindStringSubmatch(readme)
	if m == nil {
		return fmt.Errorf("the README's function table has no `%%%s%%` (…)", name)
	}
	phrase, _, _ := strings.Cut(m[1], ",")
	phrase = strings.TrimSpace(phrase)
	base := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	var times []time.Time
	for t := base; len(times) < 6; {
		t = s.Next(t)
		if t.IsZero() {
			return fmt.Errorf("never fires")
		}
		times = append(times, t)
	}
	every := func(period time.Duration) error {
		for i, t := range times {
			if t.Unix()%int64(period/time.Second) != 0 || i > 0 && t.Sub(times[i-1]) != period {
				return fmt.Errorf("the README says %q, but it fires at %v", phrase, times)
			}
		}
		return nil
	}
	switch {
	case phrase == "every minute":
		return every(time.Minute)
	case reEveryMin.MatchString(phrase):
		n, _ := strconv.Atoi(reEveryMin.FindStringSubmatch(phrase)[1])
		return every(time.Duration(n) * time.Minute)
	case reEveryHour.MatchString(phrase):
		n, _ := strconv.Atoi(reEveryHour.FindStringSubmatch(phrase)[1])
		return every(time.Duration(n) * time.Hour)
	case reDaily.MatchString(phrase):
		d := reDaily.FindStringSubmatch(phrase)
		h, _ := strconv.Atoi(d[1])
		mi, _ := strconv.Atoi(d[2])
		for i, t := range times {
			if t.Hour() != h || t.Minute() != mi || t.Second() != 0 || i > 0 && t.Sub(times[i-1]) != 24*time.Hour {
				return fmt.Errorf("the README says %q, but it fires at %v", phrase, times)
			}
		}
		return nil
	}
	return fmt.Errorf("cannot read the README's schedule %q (want \"every N min\", \"every minute\", \"every N h\" or \"HH:MM UTC\")", phrase)
}

// ---------------------------------------------------------------- storage

// checkStorageNames: the queues are those of function.json (and the
// poison queues of the queue triggers), the tables those of shared/store
// with the deployed prefix, the containers those the settings name.
func checkStorageNames(in *infra, c *codeFacts) errs {
	var e errs
	s, se := readAppSettings(in)
	if s == nil {
		return se
	}
	main := in.bicep(mainBicep)
	st := in.bicep(storageModule)
	call := main.module("/storage.bicep")
	if call == nil {
		e.add("main.bicep: no storage module")
		return e
	}
	p, err := call.moduleParams()
	if err != nil {
		e.add("main.bicep: storage params: %v", err)
		return e
	}
	// Queues.
	want := map[string]bool{}
	for _, fn := range c.Functions {
		for _, b := range fn.Bindings {
			q, _ := b["queueName"].(string)
			if q == "" {
				continue
			}
			want[q] = true
			if b["type"] == "queueTrigger" {
				want[q+"-poison"] = true
			}
		}
	}
	queues, err := main.evalArray(p.Vals["queueNames"])
	if err != nil {
		e.add("storage queueNames: %v", err)
	}
	if got, w := sortedCopy(queues), sortedKeys(want); !slices.Equal(got, w) {
		e.add("queues: infra creates %v, the functions use %v", got, w)
	}
	// Tables.
	prefix, ok := main.eval(s.Base.Vals["TENANTWATCH_TABLE_PREFIX"])
	if !ok {
		e.add("TENANTWATCH_TABLE_PREFIX is not a literal")
	}
	wantTables, err := c.Tables(prefix)
	if err != nil {
		e.add("store tables with prefix %q: %v", prefix, err)
	}
	tables, err := main.evalArray(p.Vals["tableNames"])
	if err != nil {
		e.add("storage tableNames: %v", err)
	}
	if got, w := sortedCopy(tables), sortedCopy(wantTables); !slices.Equal(got, w) {
		e.add("tables: infra creates %v, shared/store uses %v (prefix %q)", got, w, prefix)
	}
	// Containers.
	report, _ := main.eval(s.Base.Vals["TENANTWATCH_REPORT_CONTAINER"])
	if got, _ := main.eval(p.Vals["reportContainerName"]); got == "" || got != report {
		e.add("report container: storage creates %q, TENANTWATCH_REPORT_CONTAINER is %q", got, report)
	}
	containers := map[string]bool{report: true}
	if blob := s.Modes["blob"]; blob != nil {
		v, _ := main.eval(blob.Vals["TENANTWATCH_SERVICE_TAGS_BLOB"])
		container, _, _ := strings.Cut(v, "/")
		name, _ := main.eval("serviceTagsContainerName")
		if container == "" || container != name || squash(p.Vals["serviceTagsContainerName"]) != "serviceTagsSource == 'blob' ? serviceTagsContainerName : ''" {
			e.add("service tags: TENANTWATCH_SERVICE_TAGS_BLOB is %q; the storage module must create container %q when serviceTagsSource is blob", v, name)
		}
		containers[container] = true
	}
	for _, fn := range c.Functions {
		for _, b := range fn.Bindings {
			if t, _ := b["type"].(string); strings.HasPrefix(t, "blob") {
				path, _ := b["path"].(string)
				if container, _, _ := strings.Cut(path, "/"); !containers[container] {
					e.add("function %s writes blobs to container %q, which infra does not create", fn.Name, container)
				}
			}
		}
	}
	// The deployment container: created by storage, used by the app.
	fcall := main.module("/function.bicep")
	if fcall == nil {
		e.add("main.bicep: no function module")
	} else if fp, err := fcall.moduleParams(); err != nil {
		e.add("main.bicep: function params: %v", err)
	} else if p.Vals["deploymentContainerName"] == "" || fp.Vals["deploymentContainerName"] != p.Vals["deploymentContainerName"] {
		e.add("main.bicep: the storage and function modules must get the same deploymentContainerName (%q, %q)", p.Vals["deploymentContainerName"], fp.Vals["deploymentContainerName"])
	}
	// storage.bicep creates what it is given.
	names := map[string]bool{}
	for _, r := range st.resources("Microsoft.Storage/storageAccounts/blobServices/containers") {
		if b, err := r.body(); err == nil {
			names[b.Vals["name"]] = true
		}
	}
	for _, n := range []string{"deploymentContainerName", "reportContainerName"} {
		if !names[n] {
			e.add("storage.bicep: no container named by param %s", n)
		}
	}
	for typ, param := range map[string]string{
		"Microsoft.Storage/storageAccounts/queueServices/queues": "queueNames",
		"Microsoft.Storage/storageAccounts/tableServices/tables": "tableNames",
	} {
		rs := st.resources(typ)
		head := ""
		if len(rs) == 1 {
			head, _ = rs[0].loop()
		}
		if len(rs) != 1 || !strings.HasSuffix(head, " in "+param) {
			e.add("storage.bicep: want one %s resource looping over %s", typ, param)
		}
	}
	return e
}

// ---------------------------------------------------------------- Graph

// grantSet is one resource application whose app roles the Graph module
// grants: the variable listing them, the existing service principal, what
// a read-only name ends with.
type grantSet struct {
	res      permission.Resource
	list, sp string
	want     []string
	readOnly string
}

// checkGraphPermissions: the Graph module grants exactly the catalogue's
// permissions of each resource — permission.Required(permission.Graph) on
// Microsoft Graph, permission.Required(permission.OfficeManagement) on the
// Office 365 Management APIs — read-only, as app role assignments to the
// resource's service principal, and nothing else touches Graph.
func checkGraphPermissions(in *infra, c *codeFacts) errs {
	var e errs
	g := in.bicep(graphModule)
	sets := []grantSet{
		{permission.Graph, "graphPermissions", "graphSp", c.Permissions, ".Read.All"},
		{permission.OfficeManagement, "officeManagementPermissions", "officeManagementSp", permission.Required(permission.OfficeManagement), ".Read"},
	}
	for _, set := range sets {
		perms, err := g.evalArray(set.list)
		if err != nil {
			e.add("%v", err)
		}
		if got, want := sortedCopy(perms), sortedCopy(set.want); !slices.Equal(got, want) {
			e.add("graph-permissions.bicep grants %v on %s; the catalogue's are %v", got, set.res.Name, want)
		}
		seen := map[string]bool{}
		for _, p := range perms {
			if seen[p] {
				e.add("graph-permissions.bicep: %s twice", p)
			}
			seen[p] = true
			if !strings.HasSuffix(p, set.readOnly) {
				e.add("graph-permissions.bicep: %s is not a %s permission", p, set.readOnly)
			}
			found := false
			for _, line := range strings.Split(g.Raw, "\n") {
				if code, comment, ok := strings.Cut(line, "//"); strings.Contains(code, "'"+p+"'") {
					found = true
					if !ok || strings.TrimSpace(comment) == "" {
						e.add("graph-permissions.bicep: %s has no comment saying what needs it", p)
					}
				}
			}
			if !found {
				e.add("graph-permissions.bicep: %s is not on a line of its own", p)
			}
		}
	}
	if !g.hasExtension("microsoftGraphV1") {
		e.add("graph-permissions.bicep: no `extension microsoftGraphV1`")
	}
	sps, grants := map[string]int{}, map[string]int{}
	for _, r := range g.Resources {
		b, err := r.body()
		if err != nil {
			e.add("graph-permissions.bicep: %v", err)
			continue
		}
		i := slices.IndexFunc(sets, func(s grantSet) bool { return s.sp == r.Name })
		switch {
		case r.Type == "Microsoft.Graph/servicePrincipals@v1.0" && r.Existing:
			sps[r.Name]++
			if i < 0 {
				e.add("graph-permissions.bicep: unexpected service principal %s", r.Name)
				continue
			}
			if v, _ := b.get("appId"); v != "'"+sets[i].res.AppID+"'" {
				e.add("graph-permissions.bicep: %s is appId %s, want %s %s", r.Name, v, sets[i].res.Name, sets[i].res.AppID)
			}
		case r.Type == "Microsoft.Graph/appRoleAssignedTo@v1.0":
			head, loop := r.loop()
			j := -1
			for k, s := range sets {
				if loop && squash(head) == "permission in "+s.list {
					j = k
				}
			}
			if j < 0 {
				e.add("graph-permissions.bicep: %s must loop `for permission in graphPermissions` or `… in officeManagementPermissions`", r.Name)
				continue
			}
			set := sets[j]
			grants[set.list]++
			if v := squash(b.Vals["appRoleId"]); v != "filter("+set.sp+".appRoles, r => r.value == permission)[0].id" {
				e.add("graph-permissions.bicep: appRoleId = %s", v)
			}
			if b.Vals["principalId"] != "uamiPrincipalId" || b.Vals["resourceId"] != set.sp+".id" {
				e.add("graph-permissions.bicep: the grant must go to uamiPrincipalId on %s.id, got %s on %s", set.sp, b.Vals["principalId"], b.Vals["resourceId"])
			}
		default:
			e.add("graph-permissions.bicep: unexpected resource %s %s (only app role assignments to Microsoft Graph and the Office 365 Management APIs)", r.Name, r.Type)
		}
	}
	for _, set := range sets {
		if sps[set.sp] != 1 || grants[set.list] != 1 {
			e.add("graph-permissions.bicep: want one existing %s service principal (%s) and one appRoleAssignedTo loop over %s, found %d and %d",
				set.res.Name, set.sp, set.list, sps[set.sp], grants[set.list])
		}
	}
	for _, p := range in.sortedBicep() {
		f := in.Bicep[p]
		low := strings.ToLower(f.Src)
		for _, word := range []string{"oauth2permissiongrant", "microsoft.graph/applications", "readwrite", "mail.send"} {
			if strings.Contains(low, word) {
				e.add("%s: %q has no place in a read-only deployment", p, word)
			}
		}
		if p == graphModule {
			continue
		}
		for _, r := range f.Resources {
			if strings.HasPrefix(r.Type, "Microsoft.Graph/") {
				e.add("%s: Graph resource %s outside graph-permissions.bicep", p, r.Name)
			}
		}
	}
	main := in.bicep(mainBicep)
	if call := main.module("/graph-permissions.bicep"); call == nil {
		e.add("main.bicep: no graph-permissions module")
	} else {
		if call.condition() != "grantGraphPermissions" {
			e.add("main.bicep: the graph-permissions module must be `if (grantGraphPermissions)`")
		}
		if p, err := call.moduleParams(); err != nil || p.Vals["uamiPrincipalId"] != "identity.outputs.principalId" {
			e.add("main.bicep: graph-permissions must get uamiPrincipalId: identity.outputs.principalId")
		}
	}
	if p := main.Params["grantGraphPermissions"]; p == nil || p.Type != "bool" || p.Expr != "true" {
		e.add("main.bicep: want param grantGraphPermissions bool = true")
	}
	return e
}

// ---------------------------------------------------------------- roles

type roleGrant struct{ Role, Principal string }

var roleNames = map[string]string{
	"b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
	"974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
	"0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
	"4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
	"3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
	"custom":                               "the custom service tags role",
}

// wantRoles is every Azure role assignment the deployment makes.
var wantRoles = []roleGrant{
	{"Storage Blob Data Owner", "uami"},        // host storage, keys, deployment package, reports
	{"Storage Queue Data Contributor", "uami"}, // graph-changes and its poison queue
	{"Storage Table Data Contributor", "uami"}, // the app's state
	{"Key Vault Secrets User", "uami"},         // Key Vault references
	{"Monitoring Metrics Publisher", "uami"},   // telemetry with local auth off
	{"Monitoring Metrics Publisher", "uami"},   // the Logs Ingestion API, on the data collection rule (TENANTWATCH_SENTINEL_WORKSPACE)
	{"the custom service tags role", "uami"},   // serviceTagsSource discovery
	// azd reads notification-key-seed back on the next provision
	// (secretOrRandomPassword), with the deployer's own token.
	{"Key Vault Secrets User", "deployer"},
}

// checkRoleAssignments: the role assignments are exactly wantRoles, to
// the identity (and the one to the deployer), and the custom role allows
// the service tags read only.
func checkRoleAssignments(in *infra, _ *codeFacts) errs {
	var e errs
	main := in.bicep(mainBicep)
	var got []roleGrant
	for _, p := range in.sortedBicep() {
		f := in.Bicep[p]
		for _, r := range f.resources("Microsoft.Authorization/roleAssignments") {
			where := fmt.Sprintf("%s: %s", p, r.Name)
			if _, loop := r.loop(); loop {
				e.add("%s: write each role assignment out, not in a loop", where)
				continue
			}
			b, err := r.body()
			if err != nil {
				e.add("%s: %v", where, err)
				continue
			}
			props := b.path("properties")
			rd, _ := props.get("roleDefinitionId")
			role := roleOf(f, rd, &e, where)
			pr, _ := props.get("principalId")
			var who string
			switch pr {
			case "uamiPrincipalId":
				who = "uami"
				if t, _ := props.get("principalType"); t != "'ServicePrincipal'" {
					e.add("%s: principalType %s, want 'ServicePrincipal'", where, t)
				}
			case "deployerPrincipalId":
				who = "deployer"
				if r.condition() != "!empty(deployerPrincipalId)" {
					e.add("%s: the deployer's assignment must be `if (!empty(deployerPrincipalId))`", where)
				}
			default:
				e.add("%s: principalId %s; want the identity (uamiPrincipalId) or the deployer (deployerPrincipalId)", where, pr)
				continue
			}
			got = append(got, roleGrant{role, who})
			// Every caller passes the identity's and the deployer's ids.
			for _, caller := range in.sortedBicep() {
				cf := in.Bicep[caller]
				for _, m := range cf.Modules {
					if in.moduleFile(cf, m) != f {
						continue
					}
					mp, err := m.moduleParams()
					if err != nil {
						continue
					}
					want := map[string]string{"uami": "identity.outputs.principalId", "deployer": "principalId"}[who]
					if v := mp.Vals[pr]; v != want {
						e.add("%s: module %s passes %s: %s, want %s", caller, m.Name, pr, v, want)
					}
				}
			}
		}
	}
	key := func(g roleGrant) string { return g.Role + " → " + g.Principal }
	var gs, ws []string
	for _, g := range got {
		gs = append(gs, key(g))
	}
	for _, w := range wantRoles {
		ws = append(ws, key(w))
	}
	if sort.Strings(gs); !slices.Equal(gs, sortedCopy(ws)) {
		e.add("role assignments:\n  got  %s\n  want %s", strings.Join(gs, "; "), strings.Join(sortedCopy(ws), "; "))
	}
	if o := in.bicep("infra/modules/identity.bicep").Outputs["principalId"]; o == nil || o.Expr != "uami.properties.principalId" {
		e.add("identity.bicep: output principalId must be uami.properties.principalId")
	}
	if call := main.module("/servicetags-role.bicep"); call == nil || squash(call.condition()) != "serviceTagsSource == 'discovery'" {
		e.add("main.bicep: the service tags role must be deployed `if (serviceTagsSource == 'discovery')`")
	}
	if s := in.bicep(serviceTagsMod).targetScope(); s != "subscription" {
		e.add("servicetags-role.bicep: targetScope %q, want subscription (the Discovery API is a subscription call)", s)
	}
	return e
}

// roleOf names the role a roleDefinitionId expression points to.
func roleOf(f *bicepFile, rd string, e *errs, where string) string {
	if m := regexp.MustCompile(`^(\w+)\.id$`).FindStringSubmatch(rd); m != nil {
		for _, def := range f.resources("Microsoft.Authorization/roleDefinitions") {
			if def.Name != m[1] {
				continue
			}
			checkCustomRole(def, e, where)
			return roleNames["custom"]
		}
	}
	id := reGUID.FindString(rd)
	if id == "" {
		for _, w := range regexp.MustCompile(`\b[A-Za-z_]\w*\b`).FindAllString(rd, -1) {
			if v, ok := f.eval(w); ok && reGUID.MatchString(v) {
				id = v
			}
		}
	}
	if name, ok := roleNames[strings.ToLower(id)]; ok {
		return name
	}
	e.add("%s: role %s (%q) is not one the app needs", where, id, rd)
	return "role " + id
}

func checkCustomRole(def *statement, e *errs, where string) {
	b, err := def.body()
	if err != nil {
		e.add("%s: %v", where, err)
		return
	}
	props := b.path("properties")
	perms, _ := props.get("permissions")
	items, err := parseArray(perms, 0)
	if err != nil || len(items) != 1 {
		e.add("%s: the custom role needs exactly one permissions entry", where)
		return
	}
	p, err := parseObject(items[0], 0)
	if err != nil {
		e.add("%s: %v", where, err)
		return
	}
	list := func(k string) []string {
		v, _ := p.get(k)
		if v == "" {
			return nil
		}
		its, _ := parseArray(v, 0)
		return its
	}
	if a := list("actions"); !slices.Equal(a, []string{"'Microsoft.Network/locations/serviceTags/read'"}) {
		e.add("%s: the custom role's actions are %v, want only 'Microsoft.Network/locations/serviceTags/read'", where, a)
	}
	for _, k := range []string{"notActions", "dataActions", "notDataActions"} {
		if len(list(k)) != 0 {
			e.add("%s: the custom role's %s must be empty", where, k)
		}
	}
	if v, _ := props.get("assignableScopes"); squash(v) != "[ subscription().id ]" {
		e.add("%s: the custom role must be assignable to this subscription only, got %s", where, v)
	}
}

// ---------------------------------------------------------------- keys

// checkNoSharedKeys: the storage account refuses shared keys and public
// blobs, and nothing in the deployment reads or writes a storage key or a
// key-based connection string.
func checkNoSharedKeys(in *infra, _ *codeFacts) errs {
	var e errs
	accounts := 0
	for _, p := range in.sortedBicep() {
		for _, r := range in.Bicep[p].resources("Microsoft.Storage/storageAccounts") {
			if r.Existing {
				continue
			}
			accounts++
			b, err := r.body()
			if err != nil {
				e.add("%s: %v", p, err)
				continue
			}
			props := b.path("properties")
			for k, want := range map[string]string{
				"allowSharedKeyAccess":     "false",
				"allowBlobPublicAccess":    "false",
				"minimumTlsVersion":        "'TLS1_2'",
				"supportsHttpsTrafficOnly": "true",
			} {
				if v, _ := props.get(k); v != want {
					e.add("%s: storage account %s: %s = %q, want %s", p, r.Name, k, v, want)
				}
			}
		}
	}
	if accounts != 1 {
		e.add("want one storage account, found %d", accounts)
	}
	for _, p := range sortedKeys(in.Files) {
		low := strings.ToLower(in.Files[p])
		for _, word := range []string{"listkeys(", "accountkey", "defaultendpointsprotocol", "sharedaccesssignature", "allowsharedkeyaccess: true"} {
			if strings.Contains(low, word) {
				e.add("%s: %q: the deployment must not use storage keys", p, word)
			}
		}
	}
	return e
}

// ---------------------------------------------------------------- structure

// checkStructure: the files parse, brackets balance, modules and their
// params and outputs exist, every param and var is used, and the JSON
// files are valid and agree with main.bicep.
func checkStructure(in *infra, _ *codeFacts) errs {
	var e errs
	for _, p := range in.sortedBicep() {
		f := in.Bicep[p]
		for _, st := range f.Statements {
			if (st.Kind == "param" || st.Kind == "var") && !f.usesWord(st.Name, st) {
				e.add("%s:%d: %s %s is never used", p, st.Line, st.Kind, st.Name)
			}
		}
		for _, m := range f.Modules {
			mf := in.moduleFile(f, m)
			if mf == nil {
				e.add("%s: module %s: %s does not exist", p, m.Name, m.Type)
				continue
			}
			mp, err := m.moduleParams()
			if err != nil {
				e.add("%s: module %s: %v", p, m.Name, err)
				continue
			}
			for _, k := range mp.Keys {
				if mf.Params[k] == nil {
					e.add("%s: module %s passes %s, which %s does not declare", p, m.Name, k, mf.Path)
				}
			}
			for name, st := range mf.Params {
				if _, ok := mp.Vals[name]; !ok && st.Expr == "" {
					e.add("%s: module %s does not pass %s, which %s requires", p, m.Name, name, mf.Path)
				}
			}
		}
		for _, m := range reOutputs.FindAllStringSubmatch(f.Src, -1) {
			var target *bicepFile
			for _, mod := range f.Modules {
				if mod.Name == m[1] {
					target = in.moduleFile(f, mod)
				}
			}
			if target == nil {
				e.add("%s: %s.outputs.%s: no module %s", p, m[1], m[2], m[1])
			} else if target.Outputs[m[2]] == nil {
				e.add("%s: %s.outputs.%s: %s has no such output", p, m[1], m[2], target.Path)
			}
		}
		usesGraph := false
		for _, r := range f.Resources {
			usesGraph = usesGraph || strings.HasPrefix(r.Type, "Microsoft.Graph/")
		}
		if usesGraph && !f.hasExtension("microsoftGraphV1") {
			e.add("%s: Microsoft.Graph resources need `extension microsoftGraphV1`", p)
		}
	}
	main := in.bicep(mainBicep)
	if s := main.targetScope(); s != "subscription" {
		e.add("main.bicep: targetScope %q, want subscription (it creates the resource group)", s)
	}
	if !strings.HasPrefix(strings.TrimSpace(main.Raw), "//") {
		e.add("main.bicep: start with a header comment")
	}
	var cfg struct {
		Extensions map[string]string `json:"extensions"`
	}
	if err := json.Unmarshal([]byte(in.Files[bicepConfig]), &cfg); err != nil {
		e.add("%s: %v", bicepConfig, err)
	} else if cfg.Extensions["microsoftGraphV1"] != expectedGraphV1 {
		e.add("%s: extensions.microsoftGraphV1 = %q, want %q", bicepConfig, cfg.Extensions["microsoftGraphV1"], expectedGraphV1)
	}
	var params struct {
		Parameters map[string]struct {
			Value any `json:"value"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal([]byte(in.Files[mainParameters]), &params); err != nil {
		e.add("%s: %v", mainParameters, err)
	} else {
		for _, name := range sortedKeys(params.Parameters) {
			if main.Params[name] == nil {
				e.add("%s: %s is not a param of main.bicep", mainParameters, name)
			}
		}
		for name, st := range main.Params {
			if _, ok := params.Parameters[name]; !ok && st.Expr == "" {
				e.add("%s: main.bicep's required param %s has no value", mainParameters, name)
			}
		}
		reEnv := regexp.MustCompile(`^(\$\{[A-Z_][A-Z0-9_]*(=[^}]*)?\}|\$\(secretOrRandomPassword \$\{[A-Z_][A-Z0-9_]*\} [a-z0-9-]+\))$`)
		for _, name := range sortedKeys(params.Parameters) {
			v, _ := params.Parameters[name].Value.(string)
			if !reEnv.MatchString(v) {
				e.add("%s: %s = %q is not an azd ${VAR}, ${VAR=default} or $(secretOrRandomPassword …)", mainParameters, name, v)
			}
			if vals := allowedValues(main.Params[name]); len(vals) > 0 {
				if _, def, ok := strings.Cut(strings.TrimSuffix(v, "}"), "="); ok && !slices.Contains(vals, def) {
					e.add("%s: %s defaults to %q, which main.bicep does not allow %v", mainParameters, name, def, vals)
				}
			}
		}
	}
	return e
}

// ---------------------------------------------------------------- the app

// checkFunctionApp: the Flex Consumption plan and app as Microsoft's Flex
// Consumption and Bicep references describe them, the runtime from a
// parameter, the azd conventions.
func checkFunctionApp(in *infra, _ *codeFacts) errs {
	var e errs
	f := in.bicep(functionModule)
	want := func(where string, o *object, k, v string) {
		if got, _ := o.get(k); got != v {
			e.add("%s: %s = %q, want %s", where, k, got, v)
		}
	}
	plans := f.resources("Microsoft.Web/serverfarms")
	sites := f.resources("Microsoft.Web/sites")
	if len(plans) != 1 || len(sites) != 1 {
		e.add("function.bicep: want one plan and one site, found %d and %d", len(plans), len(sites))
		return e
	}
	if b, err := plans[0].body(); err != nil {
		e.add("function.bicep: %v", err)
	} else {
		want("function.bicep plan sku", b.path("sku"), "name", "'FC1'")
		want("function.bicep plan sku", b.path("sku"), "tier", "'FlexConsumption'")
		want("function.bicep plan", b.path("properties"), "reserved", "true")
	}
	b, err := sites[0].body()
	if err != nil {
		e.add("function.bicep: %v", err)
		return e
	}
	want("function.bicep site", b, "kind", "'functionapp,linux'")
	want("function.bicep site identity", b.path("identity"), "type", "'UserAssigned'")
	if ids := b.path("identity", "userAssignedIdentities"); ids == nil || !slices.Equal(ids.Keys, []string{"'${uamiId}'"}) {
		e.add("function.bicep: the site's only identity must be the user-assigned uamiId")
	}
	props := b.path("properties")
	want("function.bicep site", props, "httpsOnly", "true")
	want("function.bicep site", props, "keyVaultReferenceIdentity", "uamiId")
	fac := props.path("functionAppConfig")
	st := fac.path("deployment", "storage")
	want("functionAppConfig.deployment.storage", st, "type", "'blobContainer'")
	want("functionAppConfig.deployment.storage", st, "value", "'${blobEndpoint}${deploymentContainerName}'")
	want("functionAppConfig.deployment.storage.authentication", st.path("authentication"), "type", "'UserAssignedIdentity'")
	want("functionAppConfig.deployment.storage.authentication", st.path("authentication"), "userAssignedIdentityResourceId", "uamiId")
	want("functionAppConfig.scaleAndConcurrency", fac.path("scaleAndConcurrency"), "maximumInstanceCount", "maximumInstanceCount")
	want("functionAppConfig.scaleAndConcurrency", fac.path("scaleAndConcurrency"), "instanceMemoryMB", "instanceMemoryMB")
	want("functionAppConfig.runtime", fac.path("runtime"), "name", "runtimeName")
	want("functionAppConfig.runtime", fac.path("runtime"), "version", "runtimeVersion")
	if tags, _ := b.get("tags"); !strings.Contains(squash(tags), "'azd-service-name': 'tenantwatch'") {
		e.add("function.bicep: the site must be tagged 'azd-service-name': 'tenantwatch' (got %s)", tags)
	}
	main := in.bicep(mainBicep)
	rt := main.Params["functionRuntimeName"]
	if rt == nil || !slices.Equal(allowedValues(rt), []string{"custom", "python"}) || rt.Expr != "'custom'" {
		e.add("main.bicep: want param functionRuntimeName allowing custom and python, default custom")
	}
	if v := main.Vars["runtimeVersion"]; v == nil || !strings.Contains(v.Expr, "'1.0'") || !strings.Contains(v.Expr, "'3.12'") {
		e.add("main.bicep: runtimeVersion must default to 1.0 for custom and 3.12 for python")
	}
	if call := main.module("/function.bicep"); call != nil {
		if p, err := call.moduleParams(); err == nil {
			for k, v := range map[string]string{"runtimeName": "functionRuntimeName", "runtimeVersion": "runtimeVersion",
				"maximumInstanceCount": "maximumInstanceCount", "instanceMemoryMB": "instanceMemoryMB", "uamiId": "identity.outputs.id"} {
				if p.Vals[k] != v {
					e.add("main.bicep: function module %s = %q, want %s", k, p.Vals[k], v)
				}
			}
		}
	}
	for _, mb := range allowedValues(main.Params["instanceMemoryMB"]) {
		if !slices.Contains([]string{"512", "2048", "4096"}, mb) {
			e.add("main.bicep: instanceMemoryMB %s is not a Flex size", mb)
		}
	}
	if rg := main.resources("Microsoft.Resources/resourceGroups"); len(rg) != 1 {
		e.add("main.bicep: want one resource group")
	} else if b, err := rg[0].body(); err != nil || b.Vals["name"] != "'rg-${environmentName}'" {
		e.add("main.bicep: the resource group must be 'rg-${environmentName}'")
	}
	if v := main.Vars["tags"]; v == nil || !strings.Contains(squash(v.Expr), "'azd-env-name': environmentName") {
		e.add("main.bicep: tags must carry 'azd-env-name': environmentName")
	}
	if v := main.Vars["resourceToken"]; v == nil || !strings.Contains(v.Expr, "uniqueString(subscription().id, environmentName, location)") {
		e.add("main.bicep: resourceToken must be uniqueString(subscription().id, environmentName, location)")
	}
	for _, o := range []string{"AZURE_LOCATION", "AZURE_TENANT_ID", "AZURE_RESOURCE_GROUP", "AZURE_FUNCTION_APP_NAME", "AZURE_KEY_VAULT_NAME", "AZURE_STORAGE_ACCOUNT_NAME"} {
		if main.Outputs[o] == nil {
			e.add("main.bicep: no output %s", o)
		}
	}
	mon := in.bicep("infra/modules/monitoring.bicep")
	if ai := mon.resources("Microsoft.Insights/components"); len(ai) != 1 {
		e.add("monitoring.bicep: want one Application Insights component")
	} else if b, err := ai[0].body(); err == nil {
		want("Application Insights", b, "kind", "'web'")
		want("Application Insights", b.path("properties"), "DisableLocalAuth", "true")
		want("Application Insights", b.path("properties"), "WorkspaceResourceId", "workspace.id")
	}
	kv := in.bicep(keyVaultModule)
	if v := kv.resources("Microsoft.KeyVault/vaults"); len(v) != 1 {
		e.add("keyvault.bicep: want one vault")
	} else if b, err := v[0].body(); err == nil {
		want("Key Vault", b.path("properties"), "enableRbacAuthorization", "true")
		want("Key Vault", b.path("properties"), "enableSoftDelete", "true")
		want("Key Vault", b.path("properties"), "publicNetworkAccess", "'Enabled'")
	}
	for _, r := range kv.resources("Microsoft.KeyVault/vaults/secrets") {
		if b, err := r.body(); err == nil && b.Vals["name"] == "'teams-webhook'" && r.condition() != "!empty(teamsWebhookUrl)" {
			e.add("keyvault.bicep: the teams-webhook secret must be `if (!empty(teamsWebhookUrl))`")
		}
	}
	for _, name := range []string{"teamsWebhookUrl", "notificationKeySeed"} {
		for _, p := range in.sortedBicep() {
			if st := in.Bicep[p].Params[name]; st != nil && !hasDecorator(st, "@secure") {
				e.add("%s: param %s must be @secure()", p, name)
			}
		}
	}
	return e
}

// checkNotificationKey: the function key of the notification URLs comes
// from a seed azd keeps in Key Vault, is created as host key 'graph' after
// the app settings, and the two URLs (Key Vault secrets the settings
// reference) point at the HTTP functions with authLevel function.
func checkNotificationKey(in *infra, c *codeFacts) errs {
	var e errs
	var params struct {
		Parameters map[string]struct {
			Value string `json:"value"`
		} `json:"parameters"`
	}
	_ = json.Unmarshal([]byte(in.Files[mainParameters]), &params)
	if v := params.Parameters["notificationKeySeed"].Value; v != "$(secretOrRandomPassword ${AZURE_KEY_VAULT_NAME} notification-key-seed)" {
		e.add("main.parameters.json: notificationKeySeed = %q, want $(secretOrRandomPassword ${AZURE_KEY_VAULT_NAME} notification-key-seed)", v)
	}
	main := in.bicep(mainBicep)
	if o := main.Outputs["AZURE_KEY_VAULT_NAME"]; o == nil || o.Expr != "keyVault.outputs.name" {
		e.add("main.bicep: output AZURE_KEY_VAULT_NAME must be keyVault.outputs.name (azd reads the seed back from it)")
	}
	kv := in.bicep(keyVaultModule)
	seedStored := false
	for _, r := range kv.resources("Microsoft.KeyVault/vaults/secrets") {
		if b, err := r.body(); err == nil && b.Vals["name"] == "'notification-key-seed'" {
			v, _ := b.path("properties").get("value")
			seedStored = v == "notificationKeySeed" && r.condition() == ""
		}
	}
	if !seedStored {
		e.add("keyvault.bicep: want secret notification-key-seed = notificationKeySeed, always")
	}
	ac := in.bicep(appConfigModule)
	hk := ac.Vars["hostKey"]
	if hk == nil || strings.Count(hk.Expr, "guid(notificationKeySeed,") != 2 || strings.Count(hk.Expr, "replace(") != 2 {
		e.add("app-config.bicep: hostKey must be two guid(notificationKeySeed, …) without hyphens (64 hex characters)")
	}
	keys := ac.resources("Microsoft.Web/sites/host/functionKeys")
	if len(keys) != 1 {
		e.add("app-config.bicep: want one Microsoft.Web/sites/host/functionKeys resource")
	} else if b, err := keys[0].body(); err != nil {
		e.add("app-config.bicep: %v", err)
	} else {
		if b.Vals["name"] != "'${app.name}/default/graph'" || b.path("properties").Vals["name"] != "'graph'" || b.path("properties").Vals["value"] != "hostKey" {
			e.add("app-config.bicep: the key must be '${app.name}/default/graph' with name 'graph' and value hostKey")
		}
		if !strings.Contains(b.Vals["dependsOn"], "settings") {
			e.add("app-config.bicep: the key must depend on the app settings (the host keeps keys in its storage)")
		}
	}
	routePrefix := ""
	if ext, ok := c.HostJSON["extensions"].(map[string]any); ok {
		if h, ok := ext["http"].(map[string]any); ok {
			routePrefix, _ = h["routePrefix"].(string)
		}
	}
	if routePrefix != "" {
		e.add("host.json sets extensions.http.routePrefix %q; the notification URLs assume /api", routePrefix)
	}
	reURL := regexp.MustCompile(`^'https://\$\{app\.properties\.defaultHostName\}/api/(\w+)\?code=\$\{hostKey\}'$`)
	wantFn := map[string]string{"notification-url": "GraphNotifications", "lifecycle-url": "GraphLifecycle", "activity-notification-url": "ActivityNotifications"}
	var secretDeps []string
	for _, r := range ac.resources("Microsoft.KeyVault/vaults/secrets") {
		b, err := r.body()
		if err != nil {
			continue
		}
		name, _ := ac.eval(b.Vals["name"])
		fn, ok := wantFn[name]
		if !ok {
			continue
		}
		delete(wantFn, name)
		secretDeps = append(secretDeps, r.Name)
		m := reURL.FindStringSubmatch(b.path("properties").Vals["value"])
		if m == nil || m[1] != fn {
			e.add("app-config.bicep: secret %s must be 'https://${app.properties.defaultHostName}/api/%s?code=${hostKey}'", name, fn)
			continue
		}
		f := c.Functions[fn]
		ok = false
		for _, bd := range f.bindingsOrNil() {
			if bd["type"] == "httpTrigger" && bd["authLevel"] == "function" && bd["route"] == nil {
				ok = true
			}
		}
		if !ok {
			e.add("functions/%s: want an httpTrigger with authLevel function and no route", fn)
		}
	}
	for name := range wantFn {
		e.add("app-config.bicep: no secret %s", name)
	}
	if cfgs := ac.resources("Microsoft.Web/sites/config"); len(cfgs) == 1 {
		if b, err := cfgs[0].body(); err == nil {
			for _, d := range secretDeps {
				if !strings.Contains(b.Vals["dependsOn"], d) {
					e.add("app-config.bicep: the app settings must depend on secret %s (the references resolve when the host restarts with them)", d)
				}
			}
		}
	}
	s, se := readAppSettings(in)
	if s == nil {
		return append(e, se...)
	}
	for setting, secret := range map[string]string{"TENANTWATCH_NOTIFICATION_URL": "notification-url", "TENANTWATCH_LIFECYCLE_URL": "lifecycle-url"} {
		if m := reKVRef.FindStringSubmatch(s.Base.Vals[setting]); m == nil || m[1] != secret {
			e.add("%s must be a Key Vault reference to secret %s", setting, secret)
		}
	}
	if m := reKVRef.FindStringSubmatch(s.Teams.valOr(teamsSetting)); m == nil || m[1] != "teams-webhook" {
		e.add("%s must be a Key Vault reference to secret teams-webhook", teamsSetting)
	}
	return e
}

func (f *function) bindingsOrNil() []map[string]any {
	if f == nil {
		return nil
	}
	return f.Bindings
}

func (o *object) valOr(k string) string {
	v, _ := o.get(k)
	return v
}

// ---------------------------------------------------------------- azd

// yamlPaths reads the block-style YAML subset of azure.yaml into
// dotted key paths → scalar values.
func yamlPaths(src string) map[string]string {
	out := map[string]string{}
	type level struct {
		indent int
		key    string
	}
	var stack []level
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		key, val, ok := strings.Cut(trimmed, ":")
		if !ok {
			continue
		}
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		var parts []string
		for _, l := range stack {
			parts = append(parts, l.key)
		}
		parts = append(parts, strings.TrimSpace(key))
		val = strings.Trim(strings.TrimSpace(val), `"'`)
		out[strings.Join(parts, ".")] = val
		stack = append(stack, level{indent, strings.TrimSpace(key)})
	}
	return out
}

// checkAzureYAML: azd deploys dist/ — where make package and shared/pack
// put host.json, every function folder and the executable — to the app
// tagged with the service name, after the prepackage hook builds it.
func checkAzureYAML(in *infra, c *codeFacts) errs {
	var e errs
	y := yamlPaths(in.Files[azureYAML])
	var services []string
	for k := range y {
		if parts := strings.Split(k, "."); len(parts) == 2 && parts[0] == "services" {
			services = append(services, parts[1])
		}
	}
	if y["name"] != "tenantwatch" || !slices.Equal(services, []string{"tenantwatch"}) {
		e.add("azure.yaml: want name tenantwatch and the one service tenantwatch, got %q, %v", y["name"], services)
	}
	for k, v := range map[string]string{"host": "function", "language": "custom", "project": ".", "dist": "dist"} {
		if got := y["services.tenantwatch."+k]; got != v {
			e.add("azure.yaml: services.tenantwatch.%s = %q, want %q", k, got, v)
		}
	}
	for osName, shell := range map[string]string{"posix": "sh", "windows": "pwsh"} {
		pre := "services.tenantwatch.hooks.prepackage." + osName + "."
		if y[pre+"shell"] != shell {
			e.add("azure.yaml: %sshell = %q, want %s", pre, y[pre+"shell"], shell)
		}
		script, ok := in.Files[y[pre+"run"]]
		if !ok {
			e.add("azure.yaml: %srun = %q does not exist", pre, y[pre+"run"])
			continue
		}
		if !strings.Contains(script, "make package") || !strings.Contains(script, ".funcignore") || !strings.Contains(script, "tenantwatch.zip") {
			e.add("%s: must run make package and list tenantwatch.zip in dist/.funcignore", y[pre+"run"])
		}
	}
	if !strings.Contains(c.Makefile, "-o dist/tenantwatch") || !strings.Contains(c.Makefile, "-out dist") {
		e.add("Makefile: make package no longer writes dist/, which azure.yaml deploys")
	}
	want := []string{"host.json", pack.Executable}
	for _, fn := range c.FunctionNames {
		want = append(want, fn+"/function.json")
	}
	if got, w := sortedCopy(c.PackEntries), sortedCopy(want); !slices.Equal(got, w) {
		e.add("shared/pack lays out %v; every functions/<Name>, host.json and the executable are %v", got, w)
	}
	if cp, _ := c.HostJSON["customHandler"].(map[string]any); cp != nil {
		d, _ := cp["description"].(map[string]any)
		if d["defaultExecutablePath"] != pack.Executable {
			e.add("host.json starts %v, shared/pack packs %s", d["defaultExecutablePath"], pack.Executable)
		}
	}
	return e
}
