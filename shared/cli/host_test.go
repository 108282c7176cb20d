//go:build !deploy

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the host's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// hostApp writes a one-function app (an anonymous HTTP function Echo) in
// the repository layout.
func hostApp(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"host.json": `{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "tenantwatch", "arguments": ["serve"]}}}`,
		"functions/Echo/function.json": `{"bindings": [
			{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"},
			{"type": "http", "direction": "out", "name": "res"}]}`,
	}
	for p, c := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestHostUsageAndErrors(t *testing.T) {
	t.Parallel()
	root := hostApp(t)
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"bad --set", []string{"--root", root, "--set", "NOVALUE"}, ExitUsage, "want KEY=VALUE"},
		{"handler URL and command", []string{"--root", root, "--handler-url", "http://127.0.0.1:1", "--", "tenantwatch", "serve"}, ExitUsage, "exclude each other"},
		{"empty command", []string{"--root", root, "--"}, ExitUsage, "no command after --"},
		{"positional argument", []string{"--root", root, "serve"}, ExitUsage, `unexpected argument "serve"`},
		{"no app", []string{"--root", t.TempDir()}, ExitError, "host.json"},
		{"handler not found", []string{"--root", root, "--http", "127.0.0.1:0", "--", filepath.Join(root, "missing-binary")}, ExitError, "custom handler did not start"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stderr lockedBuffer
			code := runHost(context.Background(), tc.args, &Env{Stdout: io.Discard, Stderr: &stderr})
			if code != tc.code || !strings.Contains(stderr.String(), tc.msg) || !strings.HasPrefix(stderr.String(), "tenantwatch host: ") {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tc.code, tc.msg)
			}
		})
	}
}

func TestHostServesUntilCancelled(t *testing.T) {
	t.Parallel()
	root := hostApp(t)
	handler := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			return // readiness
		}
		var in struct {
			Data struct {
				Req struct{ Body string } `json:"req"`
			}
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		_ = json.NewEncoder(w).Encode(map[string]any{"Outputs": map[string]any{
			"res": map[string]any{"statusCode": "200", "body": r.URL.Path + ":" + in.Data.Req.Body},
		}})
	}))
	defer handler.Close()
	urlFile := filepath.Join(t.TempDir(), "url")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- runHost(ctx, []string{"--root", root, "--http", "127.0.0.1:0", "--handler-url", handler.URL, "--url-file", urlFile,
			"--set", "EXTRA=1"}, &Env{Stdout: io.Discard, Stderr: &stderr})
	}()
	var base string
	for deadline := time.Now().Add(30 * time.Second); base == ""; {
		if b, err := os.ReadFile(urlFile); err == nil && len(b) > 0 {
			base = strings.TrimSpace(string(b))
			break
		}
		select {
		case code := <-done:
			t.Fatalf("host exited with %d: %s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no URL file: %s", stderr.String())
		}
	}
	resp, err := http.Post(base+"/api/Echo", "text/plain", strings.NewReader("ping"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "/Echo:ping" {
		t.Errorf("POST /api/Echo = %d %q, want 200 /Echo:ping", resp.StatusCode, body)
	}
	ready := regexp.MustCompile(`(?m)^host: 1 functions, handler ready in \S+, HTTP on ` + regexp.QuoteMeta(base) + `$`)
	if !ready.MatchString(stderr.String()) {
		t.Errorf("stderr lacks the ready line:\n%s", stderr.String())
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit %d after cancel, want 0: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("host did not stop after cancel")
	}
}
