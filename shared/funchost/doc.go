// Package funchost is a local stand-in for the Azure Functions host: it
// drives a custom handler over the same HTTP protocol the host uses, so
// that `tenantwatch host` and the tests run the real handler code with
// Azurite, without the Functions Core Tools (which cannot be installed in
// this environment).
//
// Load reads an app (host.json and each <Name>/function.json, in the
// repository layout functions/<Name>/ or the packaged dist/ layout). New
// expands %SETTING% references and prepares storage clients; Start launches
// the handler with FUNCTIONS_CUSTOMHANDLER_PORT, waits for it to answer
// GET /, then serves HTTP triggers at /api/<Name>, fires timers on their
// NCRONTAB schedules (UTC, one run at a time) and polls queues with the
// host.json extensions.queues settings (batches, exponential back-off,
// visibility timeout, maxDequeueCount and the <queue>-poison queue).
// Every invocation is a POST /<Name> with {"Data","Metadata"}; the
// handler's Outputs are applied as the host applies them, including the
// base64 trap: a non-HTTP output string that is valid base64 is written as
// the decoded bytes (funchost logs a warning when that happens).
//
// Deliberate differences from the host, documented where they matter:
// storage is one connection string for every binding (the bindings'
// "connection" names are not looked up); function keys are one optional
// FUNCTIONS_KEY setting (without it any non-empty key is accepted);
// schedule status lives in memory, so IsPastDue is always false; route
// templates, input bindings, blob and table bindings (no function of the
// app uses them: the report and the state are written with the SDKs) and
// HTTP forwarding are not implemented and are rejected by Load. Metadata values are sent as plain
// JSON values, while string trigger values (queue messages) are
// JSON-serialised once more, as the host's source does: decode them
// loosely.
package funchost
