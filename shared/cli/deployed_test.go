//go:build deploy

package cli

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
)

// TestDeployedCommands: the deployed build (make package, -tags deploy;
// make test runs this test with the tag) has scan, serve and doctor only,
// and answers a development command with a usage error that says how to get
// it.
func TestDeployedCommands(t *testing.T) {
	var help bytes.Buffer
	if code := Run(context.Background(), []string{"help"}, &Env{Stdout: &help, Stderr: &help}); code != ExitOK {
		t.Fatalf("help: exit %d", code)
	}
	if got, want := listedCommands(help.String()), []string{"scan", "serve", "doctor"}; !slices.Equal(got, want) {
		t.Errorf("help lists %v, want %v", got, want)
	}
	for _, name := range []string{"sim", "host", "demo"} {
		var out, errOut bytes.Buffer
		// -h: a build that has the command prints its usage rather than
		// starting it.
		code := Run(context.Background(), []string{name, "-h"}, &Env{Stdout: &out, Stderr: &errOut})
		if code != ExitUsage || !strings.Contains(errOut.String(), name+" is a development command") || !strings.Contains(errOut.String(), "make build") {
			t.Errorf("%s: exit %d, stderr %q; want %d and the development-command hint", name, code, errOut.String(), ExitUsage)
		}
	}
}
