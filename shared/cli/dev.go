//go:build !deploy

package cli

// devCommands are the commands for development and demos: a simulated
// tenant, a local stand-in for the Functions host and the demo that runs
// both. The deployed build (make package, -tags deploy) leaves this file and
// the commands' files out, and with them shared/graphsim, shared/funchost,
// shared/demo and the Azurite launcher.
func devCommands() []command {
	return []command{
		{"sim", "serve a simulated Microsoft Graph tenant (the APT29 scenario) for demos and tests", runSim},
		{"host", "run the functions locally: a stand-in for the Functions host, driving `tenantwatch serve`", runHost},
		{"demo", "play the report's attacks against the app on a simulated tenant and show each Teams card", runDemo},
	}
}
