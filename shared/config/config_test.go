package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/config"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

const azurite = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;"

func TestLoadDefaults(t *testing.T) {
	c, err := config.Load(env(map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Storage.ConnectionString != config.DevelopmentStorage || c.Storage.IdentityBased() {
		t.Errorf("storage = %+v", c.Storage)
	}
	if c.GraphURL != "https://graph.microsoft.com" || c.GraphAuth != "azure" || c.AlertSeverity != tenant.SeverityHigh {
		t.Errorf("defaults = %+v", c)
	}
	if c.Accept != nil {
		t.Errorf("accept = %+v, want none", c.Accept)
	}
	if c.SubscriptionLifetime != 41760*time.Minute || c.RenewBefore != 72*time.Hour || c.ReportContainer != "reports" {
		t.Errorf("durations = %+v", c)
	}
}

func TestLoadIdentityStorage(t *testing.T) {
	c, err := config.Load(env(map[string]string{
		"AzureWebJobsStorage__accountName": "twstore",
		"AzureWebJobsStorage__clientId":    "11111111-1111-1111-1111-111111111111",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Storage.IdentityBased() || c.Storage.TableURL != "https://twstore.table.core.windows.net" || c.Storage.BlobURL != "https://twstore.blob.core.windows.net" {
		t.Errorf("storage = %+v", c.Storage)
	}
}

func TestLoadErrors(t *testing.T) {
	secret := "https://prod-01.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=SECRETSIG"
	tests := []struct {
		name string
		env  map[string]string
		want []string // substrings, each must appear
	}{
		{"no storage", map[string]string{}, []string{"AzureWebJobsStorage is not set"}},
		{"key-less connection string", map[string]string{"AzureWebJobsStorage": "AccountName=x;"}, []string{"no AccountKey"}},
		{"everything wrong at once", map[string]string{
			"AzureWebJobsStorage":               azurite,
			"FUNCTIONS_CUSTOMHANDLER_PORT":      "70000",
			"TENANTWATCH_GRAPH_AUTH":            "basic",
			"TENANTWATCH_ALERT_SEVERITY":        "urgent",
			"TENANTWATCH_TEAMS_WEBHOOK_URL":     strings.Replace(secret, "https", "http", 1),
			"TENANTWATCH_NOTIFICATION_URL":      "ftp://x/y",
			"TENANTWATCH_SERVICE_TAGS_BLOB":     "nocontainer",
			"TENANTWATCH_AUDIT_OVERLAP":         "forever",
			"TENANTWATCH_SUBSCRIPTION_LIFETIME": "720h",
			"TENANTWATCH_TABLE_PREFIX":          "1bad",
		}, []string{"FUNCTIONS_CUSTOMHANDLER_PORT", "TENANTWATCH_GRAPH_AUTH", "TENANTWATCH_ALERT_SEVERITY", "must use https",
			"scheme \"ftp\"", "not container/name", "TENANTWATCH_AUDIT_OVERLAP", "TENANTWATCH_SUBSCRIPTION_LIFETIME", "TENANTWATCH_TABLE_PREFIX"}},
		// Durations that overflow are refused with the setting's name, never
		// wrapped around.
		{"durations that overflow", map[string]string{
			"AzureWebJobsStorage":          azurite,
			"TENANTWATCH_SWEEP_WINDOW":     "2562048h",
			"TENANTWATCH_AUDIT_OVERLAP":    "9223372036854775808ns",
			"TENANTWATCH_DELIVERY_BACKOFF": "-9223372036854775809ns",
		}, []string{"TENANTWATCH_SWEEP_WINDOW", "TENANTWATCH_AUDIT_OVERLAP", "TENANTWATCH_DELIVERY_BACKOFF"}},
		{"webhook without sig", map[string]string{"AzureWebJobsStorage": azurite, "TENANTWATCH_TEAMS_WEBHOOK_URL": "https://example.logic.azure.com/x"}, []string{"no sig= parameter"}},
		{"user information", map[string]string{"AzureWebJobsStorage": azurite, "TENANTWATCH_GRAPH_URL": "https://u:SECRETSIG@graph.example",
			"TENANTWATCH_ARM_URL": "https://SECRETSIG@arm.example", "TENANTWATCH_NOTIFICATION_URL": "https://f:SECRETSIG@app.example/api/GraphNotifications?code=k"},
			[]string{"TENANTWATCH_GRAPH_URL: must not hold a user name or password", "TENANTWATCH_ARM_URL: must not", "TENANTWATCH_NOTIFICATION_URL: must not"}},
		{"two service tag sources", map[string]string{"AzureWebJobsStorage": azurite, "TENANTWATCH_SERVICE_TAGS_FILE": "/x.json", "TENANTWATCH_SERVICE_TAGS_SUBSCRIPTION": "s"}, []string{"set only one of"}},
		{"invalid accept file", map[string]string{"AzureWebJobsStorage": azurite, "TENANTWATCH_ACCEPT": `{"entries":[{"reason":"r","acceptedBy":"b","expires":"2027-01-01"}]}`},
			[]string{"TENANTWATCH_ACCEPT: invalid accept file: entry 1: names nothing"}},
		{"accept file not json", map[string]string{"AzureWebJobsStorage": azurite, "TENANTWATCH_ACCEPT": "accept.json"}, []string{"TENANTWATCH_ACCEPT: invalid accept file"}},
		{"lifecycle without notification", map[string]string{"AzureWebJobsStorage": azurite, "TENANTWATCH_LIFECYCLE_URL": "https://a/b"}, []string{"TENANTWATCH_NOTIFICATION_URL is not"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(env(tc.env))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "SECRETSIG") {
				t.Errorf("error leaks the webhook secret: %v", err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "config: ") {
					t.Errorf("line %q is not a one-line config error", line)
				}
			}
		})
	}
}

func TestLoadLoopbackHTTP(t *testing.T) {
	m := map[string]string{"AzureWebJobsStorage": azurite, "TENANTWATCH_TEAMS_WEBHOOK_URL": "http://127.0.0.1:9/hook", "TENANTWATCH_NOTIFICATION_URL": "http://127.0.0.1:7071/api/GraphNotifications"}
	if _, err := config.Load(env(m)); err == nil {
		t.Fatal("http accepted without TENANTWATCH_ALLOW_HTTP_LOOPBACK")
	}
	m["TENANTWATCH_ALLOW_HTTP_LOOPBACK"] = "true"
	if _, err := config.Load(env(m)); err != nil {
		t.Fatal(err)
	}
	m["TENANTWATCH_TEAMS_WEBHOOK_URL"] = "http://evil.example/hook"
	if _, err := config.Load(env(m)); err == nil {
		t.Fatal("http to a remote host accepted")
	}
}

// TestLoadLoopbackHostIsAnAddress: with TENANTWATCH_ALLOW_HTTP_LOOPBACK an
// http URL is accepted only when its host is a loopback address or
// localhost. A name that merely starts like one (127.evil.example) is an
// ordinary DNS name: the app would POST its function key or the webhook's
// messages there in clear text.
func TestLoadLoopbackHostIsAnAddress(t *testing.T) {
	tests := []struct {
		host string
		ok   bool
	}{
		{"127.0.0.1:7071", true},
		{"127.0.0.53", true},
		{"localhost:7071", true},
		{"[::1]:7071", true},
		{"127.evil.example", false},
		{"127.0.0.1.evil.example", false},
		{"localhost.evil.example", false},
		{"127.1", false},
		{"2130706433", false},
		{"0.0.0.0:7071", false},
		{"[::]:7071", false},
	}
	settings := []string{"TENANTWATCH_NOTIFICATION_URL", "TENANTWATCH_TEAMS_WEBHOOK_URL", "TENANTWATCH_ARM_URL"}
	for _, tc := range tests {
		for _, name := range settings {
			t.Run(tc.host+"/"+name, func(t *testing.T) {
				_, err := config.Load(env(map[string]string{
					"AzureWebJobsStorage":             azurite,
					"TENANTWATCH_ALLOW_HTTP_LOOPBACK": "true",
					name:                              "http://" + tc.host + "/api/GraphNotifications?code=function-key",
				}))
				switch {
				case tc.ok && err != nil:
					t.Fatalf("loopback URL refused: %v", err)
				case !tc.ok && err == nil:
					t.Fatalf("http://%s accepted as loopback", tc.host)
				case !tc.ok && !strings.Contains(err.Error(), name+": must use https"):
					t.Errorf("error does not say %s must use https: %v", name, err)
				}
				if err != nil && strings.Contains(err.Error(), "function-key") {
					t.Errorf("error leaks the URL: %v", err)
				}
			})
		}
	}
}

// TestLoadBeta: TENANTWATCH_BETA defaults to true; false switches beta off;
// anything else is an error naming the setting.
func TestLoadBeta(t *testing.T) {
	tests := []struct {
		value   string
		want    bool
		wantErr bool
	}{
		{"", true, false},
		{"true", true, false},
		{"false", false, false},
		{"0", false, false},
		{"maybe", false, true},
	}
	for _, tc := range tests {
		m := map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
		if tc.value != "" {
			m["TENANTWATCH_BETA"] = tc.value
		}
		c, err := config.Load(env(m))
		if tc.wantErr {
			if err == nil || !strings.Contains(err.Error(), "TENANTWATCH_BETA") {
				t.Errorf("TENANTWATCH_BETA=%q: err = %v, want one naming the setting", tc.value, err)
			}
			continue
		}
		if err != nil || c.Beta != tc.want {
			t.Errorf("TENANTWATCH_BETA=%q: Beta = %v, %v; want %v", tc.value, c.Beta, err, tc.want)
		}
	}
}

func TestLoadSentinel(t *testing.T) {
	base := func(kv ...string) map[string]string {
		m := map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	c, err := config.Load(env(base("TENANTWATCH_SENTINEL_ENDPOINT", "https://dce-tw-abcd.westeurope-1.ingest.monitor.azure.com/",
		"TENANTWATCH_SENTINEL_RULE_ID", "dcr-0123456789abcdef0123456789abcdef")))
	if err != nil {
		t.Fatal(err)
	}
	if c.SentinelEndpoint != "https://dce-tw-abcd.westeurope-1.ingest.monitor.azure.com" || c.SentinelRuleID != "dcr-0123456789abcdef0123456789abcdef" {
		t.Errorf("got %q, %q", c.SentinelEndpoint, c.SentinelRuleID)
	}
	if c, err := config.Load(env(base())); err != nil || c.SentinelEndpoint != "" {
		t.Errorf("off by default: %q, %v", c.SentinelEndpoint, err)
	}
	for _, tc := range []struct{ kv []string }{
		{[]string{"TENANTWATCH_SENTINEL_ENDPOINT", "https://dce.ingest.monitor.azure.com"}},
		{[]string{"TENANTWATCH_SENTINEL_RULE_ID", "dcr-1"}},
		{[]string{"TENANTWATCH_SENTINEL_ENDPOINT", "http://dce.ingest.monitor.azure.com", "TENANTWATCH_SENTINEL_RULE_ID", "dcr-1"}},
		{[]string{"TENANTWATCH_SENTINEL_ENDPOINT", "https://dce.ingest.monitor.azure.com", "TENANTWATCH_SENTINEL_RULE_ID", "/subscriptions/x/dataCollectionRules/y"}},
	} {
		if _, err := config.Load(env(base(tc.kv...))); err == nil || !strings.Contains(err.Error(), "TENANTWATCH_SENTINEL_") {
			t.Errorf("%v: err = %v, want one naming the setting", tc.kv, err)
		}
	}
}
