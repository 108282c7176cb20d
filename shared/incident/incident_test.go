package incident_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/incident"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// input is a testdata case: findings (as findings.json holds them) and
// options.
type input struct {
	Comment   string           `json:"//"`
	Window    string           `json:"window"`
	MaxFanout int              `json:"maxFanout"`
	Findings  []tenant.Finding `json:"findings"`
}

// TestCorrelateGolden runs every testdata/<case>.json through Correlate
// and compares with testdata/<case>.golden.json.
func TestCorrelateGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, path := range cases {
		if strings.HasSuffix(path, ".golden.json") {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			in := readInput(t, path)
			var opts incident.Options
			if in.Window != "" {
				d, err := parseDuration(in.Window)
				if err != nil {
					t.Fatal(err)
				}
				opts.Window = d
			}
			opts.MaxFanout = in.MaxFanout
			got := incident.Correlate(in.Findings, &opts)
			if got == nil {
				got = []incident.Incident{}
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetIndent("", "  ")
			if err := enc.Encode(got); err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(path, ".json") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff := cmp.Diff(string(want), buf.String()); diff != "" {
				t.Errorf("incidents differ from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
	if n == 0 {
		t.Fatal("no testdata cases")
	}
}

func readInput(t *testing.T, path string) input {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var in input
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return in
}
