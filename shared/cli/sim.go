package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
)

func runSim(ctx context.Context, args []string, env *Env) int {
	var (
		addr       string
		users      int
		throttle   float64
		retryAfter int
		seed       int64
		deny       string
		scenario   string
		urlFile    string
		verbose    bool
	)
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.StringVar(&addr, "addr", "127.0.0.1:8080", "listen `address` (port 0 picks a free port)")
	fs.IntVar(&users, "users", 0, "add `N` synthetic benign users (for scale)")
	fs.Float64Var(&throttle, "throttle", 0, "answer this `fraction` of requests with 429 + Retry-After")
	fs.IntVar(&retryAfter, "retry-after", 1, "Retry-After `seconds` on throttled answers")
	fs.Int64Var(&seed, "seed", 1, "random `seed` (throttling and synthetic data)")
	fs.StringVar(&deny, "deny", "", "comma-separated `sources` answering 403 (signIns, signInActivity, userRegistrationDetails, directoryAudits, conditionalAccess, …)")
	fs.StringVar(&scenario, "scenario", "apt29", "`name` of the seeded scenario: apt29 or empty")
	fs.StringVar(&urlFile, "url-file", "", "write the Graph root URL to `file` once listening (for scripts)")
	fs.BoolVar(&verbose, "verbose", false, "log every request on stderr")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, "Usage: tenantwatch sim [flags]")
		fmt.Fprintln(w, "\nServes a simulated Microsoft Graph v1.0 tenant with the APT29 scenario, for demos and tests.")
		fmt.Fprintln(w, "Scan it with: tenantwatch scan --graph-url <printed URL> --auth none\n\nFlags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, env); !ok {
		return code
	}
	if throttle < 0 || throttle > 1 {
		return usageError(env, "sim", "--throttle must be between 0 and 1")
	}
	if users < 0 {
		return usageError(env, "sim", "--users must not be negative")
	}
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
	var denied []string
	for _, d := range strings.Split(deny, ",") {
		if d = strings.TrimSpace(d); d != "" {
			denied = append(denied, d)
		}
	}
	srv, err := graphsim.New(&graphsim.Options{
		Users: users, ThrottleRate: throttle, RetryAfter: retryAfter, Seed: seed,
		Deny: denied, Scenario: scenario, Logger: log,
	})
	if err != nil {
		return usageError(env, "sim", "%v", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fail(env, "sim", err)
	}
	root := "http://" + ln.Addr().String()
	if urlFile != "" {
		if err := os.WriteFile(urlFile, []byte(root+"\n"), 0o644); err != nil {
			ln.Close()
			return fail(env, "sim", err)
		}
	}
	fmt.Fprintf(env.Stderr, "tenantwatch sim: simulated tenant (%s) at %s\n  scan it: tenantwatch scan --graph-url %s --auth none\n", scenario, root, root)
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(shut)
		return ExitOK
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return ExitOK
		}
		return fail(env, "sim", err)
	}
}
