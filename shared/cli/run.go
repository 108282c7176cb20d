package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/tenantwatch/tenantwatch/shared/identity"
	"github.com/tenantwatch/tenantwatch/shared/redact"
)

// Exit codes.
const (
	ExitOK       = 0
	ExitError    = 1
	ExitUsage    = 2
	ExitFindings = 3
)

// Version is the tenantwatch version string, set at build time with
// -ldflags "-X github.com/tenantwatch/tenantwatch/shared/cli.Version=…".
var Version = "dev"

// Env is the process environment a command runs in.
type Env struct {
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads the environment (nil: os.Getenv). doctor falls back on
	// the app settings for flags not given.
	Getenv func(string) string
	// NewCredential builds the credential of --auth azure, once per
	// command, for the default chain (client id ""); nil: identity.New
	// (DefaultAzureCredential).
	NewCredential identity.Factory
	// Now is scan's clock: the report's generation time and the end of its
	// look-back (nil: time.Now). Tests fix it.
	Now func() time.Time
}

func (e *Env) getenv(k string) string {
	if e.Getenv != nil {
		return e.Getenv(k)
	}
	return os.Getenv(k)
}

// stderrIsTerminal reports whether progress may be drawn on stderr.
func (e *Env) stderrIsTerminal() bool {
	f, ok := e.Stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, env *Env) int
}

// commands are the commands of this build: scan, serve and doctor, and in
// a development build (without -tags deploy) the development commands
// between serve and doctor.
func commands() []command {
	cmds := []command{
		{"scan", "scan a tenant once and write findings.json, findings.csv, report.html and findings.ocsf.jsonl", runScan},
		{"serve", "run the Azure Functions custom handler (started by the Functions host)", runServe},
	}
	cmds = append(cmds, devCommands()...)
	return append(cmds,
		command{"doctor", "check a tenant or deployment: Graph permissions, licences, named locations, Teams webhook, subscriptions", runDoctor})
}

// devCommandNames name the commands devCommands returns in a development
// build, so that the deployed build can say why it lacks them.
var devCommandNames = []string{"sim", "host", "demo"}

// Run runs the command in args and returns the process exit code.
func Run(ctx context.Context, args []string, env *Env) int {
	if len(args) == 0 {
		usage(env.Stderr)
		return ExitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(env.Stdout)
		return ExitOK
	case "version", "--version":
		fmt.Fprintln(env.Stdout, "tenantwatch", Version)
		return ExitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], env)
		}
	}
	if slices.Contains(devCommandNames, args[0]) {
		fmt.Fprintf(env.Stderr, "tenantwatch: %s is a development command, left out of the deployed build (build tenantwatch without -tags deploy: make build)\n", args[0])
		return ExitUsage
	}
	fmt.Fprintf(env.Stderr, "tenantwatch: unknown command %q (run 'tenantwatch help')\n", args[0])
	return ExitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "tenantwatch detects the APT29 \"You Can't Audit Me\" techniques in a Microsoft 365 / Entra ID tenant.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: tenantwatch <command> [flags]   (tenantwatch <command> -h for its flags)")
	fmt.Fprintln(w)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Exit codes: 0 completed; 1 error (doctor: a check failed); 2 usage error; 3 scan --fail-on or --fail-on-new threshold reached.")
}

// parseFlags parses args into fs and turns flag errors into an exit code:
// -h prints usage (0), anything else is a usage error (2). ok is false when
// the command must stop with code.
func parseFlags(fs *flag.FlagSet, args []string, env *Env) (code int, ok bool) {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(env.Stdout)
		fs.Usage()
		return ExitOK, false
	case err != nil:
		fmt.Fprintln(env.Stderr, redact.Text(fmt.Sprintf("tenantwatch %s: %v (run 'tenantwatch %s -h')", fs.Name(), err, fs.Name())))
		return ExitUsage, false
	case fs.NArg() > 0:
		fmt.Fprintln(env.Stderr, redact.Text(fmt.Sprintf("tenantwatch %s: unexpected argument %q (run 'tenantwatch %s -h')", fs.Name(), fs.Arg(0), fs.Name())))
		return ExitUsage, false
	}
	return 0, true
}

// usageError prints a usage error (redacted: it may quote a flag's value)
// and returns ExitUsage.
func usageError(env *Env, cmd, format string, a ...any) int {
	fmt.Fprintln(env.Stderr, redact.Text(fmt.Sprintf("tenantwatch %s: %s", cmd, fmt.Sprintf(format, a...))))
	return ExitUsage
}

// newLogger returns a command's logger: text lines on w at level and
// above, every record redacted (shared/redact) as a last line of defence —
// the adapters return redacted errors already.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(redact.NewHandler(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})))
}

// fail prints err, redacted, and returns ExitError.
func fail(env *Env, cmd string, err error) int {
	msg := redact.Text(strings.TrimSpace(err.Error()))
	fmt.Fprintf(env.Stderr, "tenantwatch %s: %s\n", cmd, msg)
	return ExitError
}

// serveUntilDone serves hs on ln until ctx ends (a clean stop, exit 0) or
// the server fails.
func serveUntilDone(ctx context.Context, env *Env, cmd string, hs *http.Server, ln net.Listener) int {
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = hs.Shutdown(shut)
		return ExitOK
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return ExitOK
		}
		return fail(env, cmd, err)
	}
}
