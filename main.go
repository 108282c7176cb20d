// Command tenantwatch detects the Microsoft 365 / Entra ID techniques of
// Mandiant's APT29 report "You Can't Audit Me" in a tenant: Advanced Audit
// switched off through licensing, dormant accounts taken over by
// self-registered MFA, sign-ins from Azure-hosted machines and certificate
// backdoors on mail-capable service principals.
//
// Subcommands: scan (one-shot), serve (the Azure Functions custom handler)
// and doctor; a development build also has sim (a simulated Graph tenant),
// host (a local stand-in for the Functions host) and demo, which the
// deployed build (make package, -tags deploy) leaves out. Run
// `tenantwatch help` for usage and exit codes. The work is done in
// shared/cli; this file only handles the process.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tenantwatch/tenantwatch/shared/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(cli.Run(ctx, os.Args[1:], &cli.Env{Stdout: os.Stdout, Stderr: os.Stderr}))
}
