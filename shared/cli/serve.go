package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/handlers"
	"github.com/tenantwatch/tenantwatch/shared/app"
	"github.com/tenantwatch/tenantwatch/shared/config"
	"github.com/tenantwatch/tenantwatch/shared/redact"
)

func runServe(ctx context.Context, args []string, env *Env) int {
	started := time.Now()
	var addr string
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&addr, "addr", "", "listen `address`; default 127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, "Usage: tenantwatch serve [flags]")
		fmt.Fprintln(w, "\nRuns the Azure Functions custom handler: the Functions host (or `tenantwatch host`) starts it")
		fmt.Fprintln(w, "and invokes the functions in functions/. Settings come from the environment (app settings);")
		fmt.Fprintln(w, "see the README's settings table.\n\nFlags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, env); !ok {
		return code
	}
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(env.Stderr, "tenantwatch serve: %s\n", redact.Text(line))
		}
		return ExitUsage
	}
	if addr == "" {
		if cfg.Port == 0 {
			return usageError(env, "serve", "FUNCTIONS_CUSTOMHANDLER_PORT is not set (the Functions host sets it; or pass --addr)")
		}
		addr = "127.0.0.1:" + strconv.Itoa(cfg.Port)
	}
	log := newLogger(env.Stderr, slog.LevelInfo)

	// Listen first: the host polls GET / until the handler answers, and
	// Flex Consumption allows 30 s for start-up. Storage is initialised on
	// the first invocation that needs it.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fail(env, "serve", err)
	}
	svc := &app.Lazy{Logger: log, Init: func(ctx context.Context) (handlers.Service, error) {
		a, err := app.New(ctx, cfg, Version, log)
		if err != nil {
			return nil, err
		}
		return a, nil
	}}
	srv := &http.Server{
		Handler:           handlers.New(svc, &handlers.Options{Logger: log}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	log.Info("handler listening", "addr", ln.Addr().String(), "startup", time.Since(started).Round(time.Microsecond).String(), "version", Version)
	return serveUntilDone(ctx, env, "serve", srv, ln)
}
