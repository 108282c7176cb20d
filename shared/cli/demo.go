//go:build !deploy

package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/demo"
	simscenario "github.com/tenantwatch/tenantwatch/shared/graphsim/scenario"
)

// storyScenarios are the scenarios with an attack story the demo can play.
func storyScenarios() []string {
	var out []string
	for _, name := range simscenario.Names() {
		if sc, err := simscenario.Get(name); err == nil && sc.Story != nil {
			out = append(out, name)
		}
	}
	return out
}

func runDemo(ctx context.Context, args []string, env *Env) int {
	var (
		root, tags, logFile, dataDir, schedules, scenario string
	)
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.StringVar(&root, "root", ".", "`folder` with host.json, functions/ and the tenantwatch binary")
	fs.StringVar(&tags, "azure-ip-ranges", "", "Service Tags `file` for signin.azure-ip")
	fs.StringVar(&logFile, "log", "", "write the components' logs to `file` (default: discarded)")
	fs.StringVar(&dataDir, "data", "", "Azurite's data `folder` (default: a temporary folder)")
	fs.StringVar(&scenario, "scenario", simscenario.Default, "`name` of the story to play: "+strings.Join(storyScenarios(), " or "))
	fs.StringVar(&schedules, "schedules", "demo", "`set` of timer schedules: demo (polls every 5 s) or production (every 2 and 5 minutes, as deployed)")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, "Usage: tenantwatch demo [flags]")
		fmt.Fprintln(w, "\nStarts Azurite, the simulated tenant, a local Teams webhook receiver and the Functions host")
		fmt.Fprintln(w, "running `tenantwatch serve`, installs the app, then plays the scenario's attacks one by one and")
		fmt.Fprintln(w, "prints each card with the time from attack to card: apt29 (the 2022 report) or midnight (the")
		fmt.Fprintln(w, "same actor's 2024–2025 techniques). Needs Azurite (make azurite).\n\nFlags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, env); !ok {
		return code
	}
	var logw io.Writer = io.Discard
	if logFile != "" {
		f, err := os.Create(logFile)
		if err != nil {
			return fail(env, "demo", err)
		}
		defer f.Close()
		logw = f
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return fail(env, "demo", err)
	}
	if _, err := os.Stat(filepath.Join(abs, "host.json")); err != nil {
		return usageError(env, "demo", "%s has no host.json: run from the repository root or pass --root", abs)
	}
	if dataDir != "" {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return fail(env, "demo", err)
		}
	}
	sc, err := simscenario.Get(scenario)
	if err != nil || !slices.Contains(storyScenarios(), scenario) {
		return usageError(env, "demo", "--scenario: want %s, got %q", strings.Join(storyScenarios(), " or "), scenario)
	}
	o := demo.Options{Root: abs, ServiceTags: tags, Log: logw, DataDir: dataDir, Version: Version}
	o.Sim.Scenario = sc
	switch schedules {
	case "demo":
	case "production":
		o.Settings = demo.ProductionSchedules()
	default:
		return usageError(env, "demo", "--schedules: want demo or production, got %q", schedules)
	}
	if err := demo.Run(ctx, o, env.Stdout); err != nil {
		return fail(env, "demo", err)
	}
	return ExitOK
}
