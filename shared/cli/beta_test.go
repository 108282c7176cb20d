package cli_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/cli"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
)

// TestScanBeta: scan reads the beta sign-in log by default; with
// --beta=false it reads v1.0, sends nothing to beta, and the summary lists
// the beta source unavailable with the reason.
func TestScanBeta(t *testing.T) {
	for _, beta := range []bool{true, false} {
		name := "default"
		if !beta {
			name = "--beta=false"
		}
		t.Run(name, func(t *testing.T) {
			url, sim := startSim(t, nil)
			args := []string{"scan", "--graph-url", url, "--auth", "none", "--out", t.TempDir()}
			if !beta {
				args = append(args, "--beta=false")
			}
			r := runCLI(t, args...)
			if r.code != cli.ExitOK {
				t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
			}
			betaReqs, v1Reqs := 0, 0
			for route, n := range sim.Stats().Requests {
				switch {
				case strings.Contains(route, "/beta/auditLogs/signIns"):
					betaReqs += n
				case strings.Contains(route, "auditLogs/signIns"):
					v1Reqs += n
				}
			}
			line := regexp.MustCompile(`(?m)^  signInsBeta +beta disabled \(--beta=false / TENANTWATCH_BETA=false\)`)
			if beta {
				if betaReqs == 0 || v1Reqs != 0 {
					t.Errorf("beta on: %d beta and %d v1.0 sign-in requests; want beta only", betaReqs, v1Reqs)
				}
				if strings.Contains(r.stdout, "signInsBeta") {
					t.Errorf("beta on, yet the summary names signInsBeta:\n%s", r.stdout)
				}
				return
			}
			if betaReqs != 0 || v1Reqs == 0 {
				t.Errorf("--beta=false: %d beta and %d v1.0 sign-in requests; want v1.0 only", betaReqs, v1Reqs)
			}
			if !line.MatchString(r.stdout) {
				t.Errorf("summary does not list signInsBeta with the reason:\n%s", r.stdout)
			}
		})
	}
}

// TestScanNewSourcesDenied: each issue 12 read the tenant refuses leaves
// its source unavailable with Graph's answer and the permission to grant;
// the scan completes. A beta log refused falls back to v1.0.
func TestScanNewSourcesDenied(t *testing.T) {
	url, _ := startSim(t, &graphsim.Options{Deny: []string{graphsim.SourceSignInsBeta, graphsim.SourceDevices, graphsim.SourceDomains,
		graphsim.SourceAuthorizationPolicy, graphsim.SourceDelegatedGrants}})
	r := runCLI(t, "scan", "--graph-url", url, "--auth", "none", "--out", t.TempDir())
	if r.code != cli.ExitOK {
		t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	for src, want := range map[string]string{
		"signInsBeta":                  "GET /beta/auditLogs/signIns: 403",
		"devices":                      "GET /devices: 403",
		"domains":                      "GET /domains: 403",
		"authorizationPolicy":          "GET /policies/authorizationPolicy: 403",
		"oauth2PermissionGrants":       "GET /oauth2PermissionGrants: 403",
		"federatedIdentityCredentials": "needs oauth2PermissionGrants",
	} {
		line := regexp.MustCompile(`(?m)^  ` + src + ` +(.*)$`).FindStringSubmatch(r.stdout)
		if line == nil || !strings.Contains(line[1], want) {
			t.Errorf("%s: summary line %q, want the reason %q", src, line, want)
		}
	}
	if regexp.MustCompile(`(?m)^  signIns `).MatchString(r.stdout) {
		t.Errorf("the v1.0 sign-in log was not read after beta's 403:\n%s", r.stdout)
	}
}
