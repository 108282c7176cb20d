package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/config"
)

// TestLoadActivity: the Management Activity API settings — defaults (the
// public root; the Graph URL with --auth none, where the simulator serves
// both), and each refusal, without echoing the secret.
func TestLoadActivity(t *testing.T) {
	c, err := config.Load(env(map[string]string{"AzureWebJobsStorage": azurite}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ActivityURL != "https://manage.office.com" || c.ActivityOverlap != 30*time.Minute || c.ActivityNotificationURL != "" {
		t.Errorf("defaults %q %v %q", c.ActivityURL, c.ActivityOverlap, c.ActivityNotificationURL)
	}
	c, err = config.Load(env(map[string]string{"AzureWebJobsStorage": azurite, "TENANTWATCH_GRAPH_AUTH": "none",
		"TENANTWATCH_GRAPH_URL": "http://127.0.0.1:8080", "TENANTWATCH_ALLOW_HTTP_LOOPBACK": "true",
		"TENANTWATCH_ACTIVITY_NOTIFICATION_URL": "http://127.0.0.1:7071/api/ActivityNotifications?code=k",
		"TENANTWATCH_ACTIVITY_AUTH_ID":          "0123456789abcdef0123", "TENANTWATCH_TENANT_ID": "11111111-2222-4333-8444-555555555555"}))
	if err != nil || c.ActivityURL != "http://127.0.0.1:8080" || c.ActivityAuthID != "0123456789abcdef0123" {
		t.Errorf("simulator settings: %q %v", c.ActivityURL, err)
	}
	for name, tt := range map[string]struct {
		env  map[string]string
		want string
	}{
		"webhook without secret": {map[string]string{"TENANTWATCH_ACTIVITY_NOTIFICATION_URL": "https://app.example/api/ActivityNotifications?code=k"}, "TENANTWATCH_ACTIVITY_AUTH_ID: must be set"},
		"short secret":           {map[string]string{"TENANTWATCH_ACTIVITY_NOTIFICATION_URL": "https://app.example/api/ActivityNotifications?code=k", "TENANTWATCH_ACTIVITY_AUTH_ID": "short-SECRET"}, "at least 16"},
		"secret without webhook": {map[string]string{"TENANTWATCH_ACTIVITY_AUTH_ID": "0123456789abcdef-SECRET"}, "TENANTWATCH_ACTIVITY_NOTIFICATION_URL is not"},
		"http webhook":           {map[string]string{"TENANTWATCH_ACTIVITY_NOTIFICATION_URL": "http://app.example/x", "TENANTWATCH_ACTIVITY_AUTH_ID": "0123456789abcdef-SECRET"}, "TENANTWATCH_ACTIVITY_NOTIFICATION_URL: must use https"},
		"http api root":          {map[string]string{"TENANTWATCH_ACTIVITY_URL": "http://manage.example"}, "TENANTWATCH_ACTIVITY_URL: must use https"},
		"tenant id":              {map[string]string{"TENANTWATCH_TENANT_ID": "contoso.onmicrosoft.com"}, "TENANTWATCH_TENANT_ID: \"contoso.onmicrosoft.com\" is not a GUID"},
		"overlap":                {map[string]string{"TENANTWATCH_ACTIVITY_OVERLAP": "48h"}, "TENANTWATCH_ACTIVITY_OVERLAP"},
	} {
		tt.env["AzureWebJobsStorage"] = azurite
		_, err := config.Load(env(tt.env))
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: %v, want %q and no secret", name, err, tt.want)
		}
	}
}
