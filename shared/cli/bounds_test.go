package cli_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/cli"
)

// misbehaving serves a tenant that is empty except for its organization,
// and hands the requests under fault (a path below /v1.0) to fault. Its
// Management Activity API (under the same root, as the simulator serves
// it) has the Audit.Exchange subscription and no content. It returns the
// Graph root.
func misbehaving(t *testing.T, fault string, serve func(w http.ResponseWriter, r *http.Request, api string, n int64)) string {
	t.Helper()
	var n atomic.Int64
	var api string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimPrefix(r.URL.Path, "/graph/v1.0")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasPrefix(r.URL.Path, "/graph/api/v1.0/") && strings.HasSuffix(r.URL.Path, "/activity/feed/subscriptions/list"):
			io.WriteString(w, `[{"contentType":"Audit.Exchange","status":"enabled","webhook":null}]`)
		case strings.HasPrefix(r.URL.Path, "/graph/api/v1.0/") && strings.HasSuffix(r.URL.Path, "/activity/feed/subscriptions/content"):
			io.WriteString(w, `[]`)
		case path == fault:
			serve(w, r, api, n.Add(1)-1)
		case path == "/organization":
			io.WriteString(w, `{"value":[{"id":"84bd8158-6d4d-4958-8b9f-9d6445542f95","displayName":"Contoso"}]}`)
		default:
			io.WriteString(w, `{"value":[]}`)
		}
	}))
	t.Cleanup(srv.Close)
	api = srv.URL + "/graph/v1.0"
	return srv.URL + "/graph"
}

// TestScanEndsOnMisbehavingGraph: each way a Graph can keep a read going
// forever ends the scan with exit 1 and one line on stderr that names the
// source and the endpoint it was reading.
func TestScanEndsOnMisbehavingGraph(t *testing.T) {
	tests := []struct {
		name    string
		fault   string
		serve   func(w http.ResponseWriter, r *http.Request, api string, n int64)
		timeout string
		want    string
	}{
		{
			name:  "endless empty pages",
			fault: "/users",
			serve: func(w http.ResponseWriter, r *http.Request, api string, n int64) {
				fmt.Fprintf(w, `{"@odata.nextLink":"%s/users?$skiptoken=%d","value":[]}`, api, n+1)
			},
			timeout: "1s",
			want:    "tenantwatch scan: collect: read users: graph: GET /users: the scan did not finish within --timeout 1s",
		},
		{
			name:  "huge Retry-After",
			fault: "/auditLogs/directoryAudits",
			serve: func(w http.ResponseWriter, r *http.Request, api string, n int64) {
				w.Header().Set("Retry-After", "999999")
				w.WriteHeader(http.StatusTooManyRequests)
				io.WriteString(w, `{"error":{"code":"TooManyRequests","message":"Too many requests"}}`)
			},
			timeout: "5m",
			want:    "tenantwatch scan: collect: read directoryAudits: graph: GET /auditLogs/directoryAudits: Graph asked to wait 277h46m39s (Retry-After: 999999), more than the 3m0s left of the retry budget; try again later",
		},
		{
			name:  "a next link that repeats",
			fault: "/servicePrincipals",
			serve: func(w http.ResponseWriter, r *http.Request, api string, n int64) {
				if n > 50 { // without the check, fail rather than loop
					w.WriteHeader(http.StatusBadRequest)
					io.WriteString(w, `{"error":{"code":"BadRequest","message":"looped"}}`)
					return
				}
				fmt.Fprintf(w, `{"@odata.nextLink":"%s/servicePrincipals?$skiptoken=same","value":[]}`, api)
			},
			timeout: "5m",
			want:    "tenantwatch scan: collect: read servicePrincipals: graph: GET /servicePrincipals: Graph sent an @odata.nextLink this read had already followed",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := misbehaving(t, tc.fault, tc.serve)
			r := runCLI(t, "scan", "--graph-url", url, "--auth", "none", "--progress", "never", "--timeout", tc.timeout)
			if r.code != cli.ExitError {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", r.code, cli.ExitError, r.stderr)
			}
			if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], tc.want) {
				t.Errorf("stderr:\n%s\nwant one line starting\n%s", r.stderr, tc.want)
			}
			if strings.Contains(r.stderr, "skiptoken") {
				t.Errorf("stderr carries a next link: %s", r.stderr)
			}
		})
	}
}

// TestScanTimeoutFlag: --timeout must be a positive duration.
func TestScanTimeoutFlag(t *testing.T) {
	for _, v := range []string{"0s", "-1m", "soon"} {
		r := runCLI(t, "scan", "--graph-url", "http://127.0.0.1:1", "--auth", "none", "--timeout", v)
		if r.code != cli.ExitUsage || !strings.Contains(r.stderr, "timeout") {
			t.Errorf("--timeout %s: exit %d, stderr %q; want a usage error", v, r.code, r.stderr)
		}
	}
}
