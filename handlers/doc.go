// Package handlers is tenantwatch's adapter to the Azure Functions host: the
// HTTP server that `tenantwatch serve` runs as a custom handler
// (functions.md §1–2). The host POSTs each invocation to /{FunctionName} as
// a JSON InvokeRequest; the handler decodes the trigger, logs, calls one
// Service method, and answers with an InvokeResponse. No orchestration lives
// here: the Service (implemented by the app, shared/watch) does the work.
//
// # Functions
//
// Names lists the eight functions; each has a folder functions/<Name>/ with
// its function.json, and a test keeps the two in step:
//
//   - GraphNotifications, GraphLifecycle (HTTP): answer Graph's validation
//     handshake, check every item's clientState against Service.ClientState
//     in constant time, put the valid items on the "changes" queue output
//     (graph-changes) without their clientState, and answer 202 — also when
//     every item was forged, so a forger learns nothing. Nothing slow runs
//     here (Graph wants an answer within 3 s).
//   - ProcessChanges (queue): one graph-changes message; lifecycle events go
//     to Service.Lifecycle, change notifications to Service.ProcessChanges.
//   - PollDirectory, PollSignIns, DailySweep, RenewSubscriptions,
//     DeliverAlerts (timers): call the Service method of the same name.
//
// # Results
//
// A Service error becomes HTTP 500 to the host (fail): the host records the
// failure, retries a queue message up to maxDequeueCount and then moves it
// to graph-changes-poison; timers are not retried. HTTP functions answer
// their caller through the "res" output, so a 400 or 413 for Graph is a 200
// to the host. Panics are recovered into 500. Queue outputs are always JSON
// objects in an array, never bare words, which the host would take for
// base64 (functions.md §2).
package handlers
