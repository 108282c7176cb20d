//go:build !deploy

package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/funchost"
)

// settingsFlag collects repeatable --set KEY=VALUE app settings.
type settingsFlag map[string]string

func (s settingsFlag) String() string { return "" }

func (s settingsFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	s[strings.TrimSpace(k)] = val
	return nil
}

func runHost(ctx context.Context, args []string, env *Env) int {
	flagArgs, command, dash := args, []string(nil), false
	if i := slices.Index(args, "--"); i >= 0 {
		flagArgs, command, dash = args[:i], args[i+1:], true
	}
	var (
		root, httpAddr, storage, handlerURL, urlFile string
		verbose                                      bool
		settings                                     = settingsFlag{}
	)
	fs := flag.NewFlagSet("host", flag.ContinueOnError)
	fs.StringVar(&root, "root", ".", "app `folder`: host.json plus functions/<Name>/function.json (repository) or <Name>/function.json (dist/)")
	fs.StringVar(&httpAddr, "http", "127.0.0.1:7071", "serve HTTP triggers at `address`/api/<Name> (port 0 picks a free port)")
	fs.StringVar(&storage, "storage", "", "storage connection `string` for queue bindings and triggers (default: the AzureWebJobsStorage setting from --set, local.settings.json or the environment; UseDevelopmentStorage=true means Azurite on 127.0.0.1:10000-10002)")
	fs.Var(settings, "set", "app setting `KEY=VALUE` for the handler and %KEY% references (repeatable; overrides local.settings.json)")
	fs.StringVar(&handlerURL, "handler-url", "", "use the custom handler already listening at `URL` instead of starting one")
	fs.StringVar(&urlFile, "url-file", "", "write the HTTP base URL to `file` once listening (for scripts)")
	fs.BoolVar(&verbose, "verbose", false, "log every invocation and poll on stderr")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, "Usage: tenantwatch host [flags] [-- command [args...]]")
		fmt.Fprintln(w, "\nRuns the function app locally as the Azure Functions host would: starts the custom handler")
		fmt.Fprintln(w, "(host.json customHandler.description, or the command after --) with FUNCTIONS_CUSTOMHANDLER_PORT,")
		fmt.Fprintln(w, "serves HTTP triggers, fires timers (UTC NCRONTAB) and polls queue triggers against Azure Storage")
		fmt.Fprintln(w, "or Azurite, until interrupted. Run a function now: POST <url>/admin/functions/<Name> {\"input\":\"\"}.")
		fmt.Fprintln(w, "HTTP functions with authLevel function need ?code= (any value unless FUNCTIONS_KEY is set).")
		fmt.Fprintln(w, "Exit codes: 0 stopped by a signal; 1 error (bad app, handler failed to start or exited); 2 usage error.\n\nFlags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, flagArgs, env); !ok {
		return code
	}
	if handlerURL != "" && len(command) > 0 {
		return usageError(env, "host", "--handler-url and a command after -- exclude each other")
	}
	if dash && len(command) == 0 {
		return usageError(env, "host", "no command after --")
	}
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	log := newLogger(env.Stderr, level)

	app, err := funchost.Load(root)
	if err != nil {
		return fail(env, "host", err)
	}
	h, err := funchost.New(app, &funchost.Options{
		Settings:   settings,
		Storage:    storage,
		HTTPAddr:   httpAddr,
		Command:    command,
		HandlerURL: handlerURL,
		Logger:     log,
		Stdout:     env.Stdout,
		Stderr:     env.Stderr,
	})
	if err != nil {
		return fail(env, "host", err)
	}
	if err := h.Start(ctx); err != nil {
		_ = h.Close()
		return fail(env, "host", err)
	}
	defer h.Close()
	url := h.HTTPURL()
	if urlFile != "" {
		if err := os.WriteFile(urlFile, []byte(url+"\n"), 0o644); err != nil {
			return fail(env, "host", err)
		}
	}
	fmt.Fprintf(env.Stderr, "host: %d functions, handler ready in %s, HTTP on %s\n", len(app.Functions), h.ReadyAfter().Round(time.Millisecond), url)
	select {
	case <-ctx.Done():
		if err := h.Close(); err != nil {
			return fail(env, "host", err)
		}
		return ExitOK
	case err := <-h.HandlerExited():
		if err == nil {
			err = errors.New("exit status 0")
		}
		return fail(env, "host", fmt.Errorf("the custom handler exited: %v", err))
	}
}
