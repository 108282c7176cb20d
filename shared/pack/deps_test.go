package pack_test

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/tenantwatch/tenantwatch"

// devOnly are the packages the deployed binary must not link, each with why:
// a package matches itself and everything below it.
var devOnly = []struct{ pkg, why string }{
	{module + "/shared/graphsim", "the simulated tenant is for development and demos"},
	{module + "/shared/funchost", "the local stand-in for the Functions host is for development"},
	{module + "/shared/demo", "the demo is for development"},
	{module + "/shared/azurite", "the Azurite launcher is for development"},
	{module + "/shared/azuritetest", "a test helper"},
	{"testing", "test code"},
	{"net/http/httptest", "test code"},
}

// heavy are packages the deployed binary must not link for what they cost
// in size, matched exactly.
var heavy = []struct{ pkg, why string }{
	{"github.com/microsoftgraph/msgraph-sdk-go", "the SDK's root package links a request builder for every Graph API; shared/graph starts from the sub-packages"},
	{"text/template", "template execution looks methods up by name, so the linker keeps every exported method of every reachable type"},
	{"html/template", "template execution looks methods up by name, so the linker keeps every exported method of every reachable type"},
}

// TestPackageLinksOnlyWhatRunsInAzure lists the packages linked into the
// binary `make package` builds — with the build tags, GOOS, GOARCH and
// CGO_ENABLED that `make -n package` shows — and fails on any that exists
// only for development or that the size of the binary rules out.
func TestPackageLinksOnlyWhatRunsInAzure(t *testing.T) {
	b := packageBuild(t)
	args := []string{"list", "-deps"}
	if b.tags != "" {
		args = append(args, "-tags", b.tags)
	}
	cmd := exec.Command("go", append(args, b.pkg)...)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), b.env...)
	cmd.Stderr = new(strings.Builder)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, cmd.Stderr)
	}
	deps := strings.Fields(string(out))
	// The list is the real one: the deployed commands' packages are in it.
	for _, want := range []string{module, module + "/shared/cli", module + "/handlers", module + "/shared/graph", module + "/shared/doctor"} {
		if !slices.Contains(deps, want) {
			t.Fatalf("go list -deps of the package build lacks %s: not the deployed binary's package list?\n%s", want, out)
		}
	}
	for _, d := range deps {
		for _, x := range devOnly {
			if d == x.pkg || strings.HasPrefix(d, x.pkg+"/") {
				t.Errorf("the deployed binary links %s: %s", d, x.why)
			}
		}
		for _, x := range heavy {
			if d == x.pkg {
				t.Errorf("the deployed binary links %s: %s", d, x.why)
			}
		}
	}
}

// build is how `make package` invokes go build.
type build struct {
	env  []string // NAME=value assignments before the command
	tags string
	pkg  string
}

// packageBuild reads the go build command of `make -n package`.
func packageBuild(t *testing.T) build {
	t.Helper()
	cmd := exec.Command("make", "-n", "package")
	cmd.Dir = repo
	cmd.Stderr = new(strings.Builder)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make -n package: %v\n%s", err, cmd.Stderr)
	}
	script := strings.ReplaceAll(string(out), "\\\n", " ")
	for line := range strings.Lines(script) {
		words := shellWords(line)
		i := slices.Index(words, "build")
		if i < 1 || !strings.HasSuffix(words[i-1], "go") {
			continue
		}
		var b build
		for _, w := range words[:i-1] {
			if strings.Contains(w, "=") {
				b.env = append(b.env, w)
			}
		}
		args := words[i+1:]
		for j := 0; j < len(args); j++ {
			switch a := args[j]; {
			case a == "-tags" && j+1 < len(args):
				b.tags = args[j+1]
			case strings.HasPrefix(a, "-tags="):
				b.tags = strings.TrimPrefix(a, "-tags=")
			}
		}
		b.pkg = args[len(args)-1]
		if strings.HasPrefix(b.pkg, "-") {
			t.Fatalf("make -n package: no package at the end of %q", line)
		}
		return b
	}
	t.Fatalf("make -n package runs no go build:\n%s", out)
	return build{}
}

// shellWords splits a command line as sh would for words, single and
// double quotes (no expansions: make has done them).
func shellWords(line string) []string {
	var words []string
	var w strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && quote == '"' && i+1 < len(line) && strings.IndexByte(`"\$`+"`", line[i+1]) >= 0 {
				i++
				w.WriteByte(line[i])
			} else {
				w.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '\\' && i+1 < len(line):
			i++
			w.WriteByte(line[i])
			inWord = true
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}
