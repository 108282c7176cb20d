//go:build !deploy

package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSimScenarios: --scenario picks a scenario of the registry (an
// unknown name is a usage error naming them), and the admin API offers the
// attack steps of the scenario served: apt29's, midnight's, the empty
// tenant's none.
func TestSimScenarios(t *testing.T) {
	var out, errOut syncBuffer
	if code := Run(t.Context(), []string{"sim", "--scenario", "solarwinds"}, &Env{Stdout: &out, Stderr: &errOut}); code != ExitUsage ||
		!strings.Contains(errOut.String(), `unknown scenario "solarwinds" (want one of apt29, midnight, empty)`) {
		t.Errorf("unknown scenario: exit %d, stderr %q", code, errOut.String())
	}
	for _, tc := range []struct{ scenario, steps string }{
		{"apt29", `["disable-audit","dormant-takeover","sp-backdoor","reply-url","mail-collection"]`},
		{"midnight", `["password-spray","oauth-app","device-code","rogue-device","federated-credential","domain-federation"]`},
		{"empty", `[]`},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			urlFile := filepath.Join(t.TempDir(), "url")
			ctx, cancel := context.WithCancel(t.Context())
			var errOut syncBuffer
			done := make(chan int, 1)
			go func() {
				done <- Run(ctx, []string{"sim", "--scenario", tc.scenario, "--addr", "127.0.0.1:0", "--url-file", urlFile},
					&Env{Stdout: io.Discard, Stderr: &errOut})
			}()
			defer func() {
				cancel()
				if code := <-done; code != ExitOK {
					t.Errorf("sim: exit %d, stderr %q", code, errOut.String())
				}
			}()
			var root string
			for deadline := time.Now().Add(30 * time.Second); root == ""; {
				if b, err := os.ReadFile(urlFile); err == nil && strings.HasSuffix(string(b), "\n") {
					root = strings.TrimSpace(string(b))
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("sim wrote no URL file within 30 s; stderr %q", errOut.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			resp, err := http.Get(root + "/_graphsim/attack")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got := strings.TrimSpace(string(body)); got != tc.steps {
				t.Errorf("GET /_graphsim/attack = %s, want %s", got, tc.steps)
			}
			if printed := strings.Contains(errOut.String(), "attack it:"); printed != (tc.steps != "[]") {
				t.Errorf("stderr %q: attack hint printed = %v", errOut.String(), printed)
			}
		})
	}
}
