// Package handlers is tenantwatch's adapter to the Azure Functions host: the
// HTTP server that `tenantwatch serve` runs as a custom handler (Microsoft:
// "Azure Functions custom handlers",
// https://learn.microsoft.com/azure/azure-functions/functions-custom-handlers).
// The host POSTs each invocation to /{FunctionName} as
// a JSON InvokeRequest; the handler decodes the trigger, logs, calls one
// Service method, and answers with an InvokeResponse. No orchestration lives
// here: the Service (shared/app, over shared/watch) does the work.
//
// # Functions
//
// Names lists the twelve functions; each has a folder functions/<Name>/ with
// its function.json, and a test (functions_test.go) keeps the two in step;
// README's "The deployed app" has the same table for operators:
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
//   - Doctor (HTTP GET, function key): Service.Doctor's report as JSON,
//     which `tenantwatch doctor --app` prints; it reads only.
//   - ActivityNotifications (HTTP): the Management Activity API's webhook:
//     answers its validation request, checks Webhook-AuthID in constant
//     time, queues the announced Audit.Exchange blobs (activity-content).
//   - ProcessActivity (queue), PollActivity (timer): fetch and judge the
//     announced blobs; list what notifications missed since the watermark.
//
// # Results
//
// A Service error becomes HTTP 500 to the host (fail): the host records the
// failure, retries a queue message up to maxDequeueCount and then moves it
// to graph-changes-poison; timers are not retried. HTTP functions answer
// their caller through the "res" output, so a 400 or 413 for Graph is a 200
// to the host. Panics are recovered into 500. Queue outputs are always JSON
// objects in an array, never bare words, which the host would take for
// base64 (a string that decodes as base64 is written as the decoded bytes).
package handlers
