//go:build !deploy

package cli

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
)

// TestDevCommandsInDevBuild: a development build has sim, host and demo
// (make demo runs them), each answering -h with its usage, and
// devCommandNames names exactly them.
func TestDevCommandsInDevBuild(t *testing.T) {
	var names []string
	for _, c := range devCommands() {
		names = append(names, c.name)
	}
	if !slices.Equal(names, devCommandNames) {
		t.Errorf("devCommands() = %v, devCommandNames = %v", names, devCommandNames)
	}
	var help bytes.Buffer
	if code := Run(context.Background(), []string{"help"}, &Env{Stdout: &help, Stderr: &help}); code != ExitOK {
		t.Fatalf("help: exit %d", code)
	}
	if got, want := listedCommands(help.String()), []string{"scan", "serve", "sim", "host", "demo", "doctor"}; !slices.Equal(got, want) {
		t.Errorf("help lists %v, want %v", got, want)
	}
	for _, name := range devCommandNames {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), []string{name, "-h"}, &Env{Stdout: &out, Stderr: &errOut})
		if code != ExitOK || !strings.Contains(out.String(), "Usage: tenantwatch "+name) {
			t.Errorf("%s -h: exit %d, stdout %q, stderr %q", name, code, out.String(), errOut.String())
		}
	}
}
