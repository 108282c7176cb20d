package cli_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/cli"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
)

// TestDoctorExitCodes: 0 when nothing fails (warnings allowed), 1 when a
// check fails, 2 for usage errors; flags fall back on the app settings.
func TestDoctorExitCodes(t *testing.T) {
	t.Parallel()
	good, _ := startSim(t, &graphsim.Options{})
	noPremium, _ := startSim(t, &graphsim.Options{NoPremium: true})
	run := func(settings map[string]string, args ...string) result {
		var out, errb bytes.Buffer
		code := cli.Run(t.Context(), append([]string{"doctor"}, args...),
			&cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return settings[k] }})
		return result{code, out.String(), errb.String()}
	}
	cases := []struct {
		name     string
		settings map[string]string
		args     []string
		code     int
		stdout   string
		stderr   string
	}{
		{"healthy tenant", nil, []string{"--graph-url", good, "--auth", "none"}, cli.ExitOK, "0 failed", ""},
		{"from the app settings", map[string]string{"TENANTWATCH_GRAPH_URL": good, "TENANTWATCH_GRAPH_AUTH": "none"}, nil, cli.ExitOK, "0 failed", ""},
		{"no P1/P2", nil, []string{"--graph-url", noPremium, "--auth", "none"}, cli.ExitError, "FAIL  Entra ID P1/P2 licence", ""},
		{"subscriptions missing", nil, []string{"--graph-url", good, "--auth", "none", "--notification-url", "https://app.example/api/GraphNotifications?code=k"},
			cli.ExitError, "FAIL  users subscription", ""},
		{"json", nil, []string{"--graph-url", good, "--auth", "none", "--json"}, cli.ExitOK, `"checks"`, ""},
		{"--app without a key", nil, []string{"--app", "https://func-x.azurewebsites.net"}, cli.ExitUsage, "", "--function-key"},
		{"--app over http", nil, []string{"--app", "http://func-x.azurewebsites.net", "--function-key", "k"}, cli.ExitUsage, "", "want https"},
		{"--app answering no report", nil, []string{"--app", strings.TrimSuffix(good, "/graph"), "--function-key", "k", "--allow-http-loopback"}, cli.ExitError, "", "answered 501"},
		{"unknown flag", nil, []string{"--frobnicate"}, cli.ExitUsage, "", "flag provided but not defined"},
		{"auth none off loopback", nil, []string{"--graph-url", "https://graph.microsoft.com", "--auth", "none"}, cli.ExitUsage, "", "only allowed for a loopback"},
		{"bad webhook, secret not echoed", nil, []string{"--graph-url", good, "--auth", "none", "--teams-webhook-url", "http://example.org/x?sig=SECRETSIG"},
			cli.ExitUsage, "", "--teams-webhook-url"},
		{"webhook without sig=", map[string]string{"TENANTWATCH_TEAMS_WEBHOOK_URL": "https://prod.westeurope.logic.azure.com/workflows/x?code=k"},
			[]string{"--graph-url", good, "--auth", "none"}, cli.ExitUsage, "", "no sig= parameter"},
		{"webhook configured, not posted", map[string]string{"TENANTWATCH_TEAMS_WEBHOOK_URL": "https://prod.westeurope.logic.azure.com/workflows/x?sig=SECRETSIG"},
			[]string{"--graph-url", good, "--auth", "none"}, cli.ExitOK, "skip  Teams webhook", ""},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(tt.settings, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stdout, tt.stdout) || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			if strings.Contains(r.stdout+r.stderr, "SECRETSIG") || strings.Contains(r.stdout+r.stderr, "code=k") {
				t.Error("a secret reached the output")
			}
			if tt.name == "json" {
				var v struct {
					Checks []struct{ Name, Status string }
				}
				if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || len(v.Checks) == 0 {
					t.Errorf("--json: %v, %d checks", err, len(v.Checks))
				}
			}
		})
	}
}
