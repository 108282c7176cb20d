// Package demo runs the whole deployed app locally, as `make demo` shows it
// and as the end-to-end tests drive it: a private Azurite, the simulated
// tenant (live clock, subscriptions and notifications), a webhook receiver
// standing in for Teams, and `tenantwatch host` driving the custom handler
// through the documented protocol. Play runs one of the report's attacks
// against the running app and waits for the cards it should produce.
package demo
