package handlers_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/handlers"
	"github.com/tenantwatch/tenantwatch/shared/golden"
)

// TestInvokePayloads runs every documented request payload under
// testdata/invoke (<Function>.<case>.json: HTTP with Query as an object and
// as a string, validation handshakes, timers as objects and JSON strings,
// queue messages double-encoded, …) through the handler and compares the
// host's view — status, InvokeResponse, Service calls — with
// testdata/invoke/golden/ (go test -update rewrites it).
func TestInvokePayloads(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "invoke", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		fn, _, _ := strings.Cut(name, ".")
		seen[fn] = true
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			svc := okService()
			h, _ := newHandler(svc)
			r := invoke(t, h, fn, body)
			var resp any
			if raw, err := json.Marshal(map[string]any{"Outputs": r.Outputs, "Logs": r.Logs}); err == nil {
				_ = json.Unmarshal(raw, &resp)
			}
			golden.CheckJSON(t, filepath.Join("testdata", "invoke", "golden", name+".json"), map[string]any{
				"status":   r.Status,
				"response": resp,
				"queued":   r.queued(t),
				"calls":    svc.Calls(),
			})
		})
	}
	for _, fn := range handlers.Names() {
		if !seen[fn] {
			t.Errorf("no documented payload under testdata/invoke for %s", fn)
		}
	}
}
