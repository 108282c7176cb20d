// Package sentinel is the optional Microsoft Sentinel / Log Analytics sink:
// findings and incidents as rows of the custom tables
// TenantWatchFindings_CL and TenantWatchIncidents_CL, sent through the
// Azure Monitor Logs Ingestion API (azlogs) to a data collection rule,
// signed in as the app's managed identity.
//
// Rows go through an outbox of their own (store.SinkOutbox): Enqueue
// turns findings or incidents into rows, cuts them into items whose JSON
// stays under the API's documented 1 MB per call, and stores the items;
// Deliver claims due items, uploads each (gzip, one call per item) and
// completes it, or schedules it again after a throttled (429, Retry-After
// honoured) or failed answer. The client never retries by itself: every
// retry is a stored attempt, so a restart loses nothing.
//
// The Logs Ingestion API has no idempotency key: an upload the service
// took whose answer was lost is sent again. Every row therefore carries
// its key (FindingKey or IncidentId) and a Revision fixed when the row was
// enqueued (retries send the same bytes), and a query takes each key's
// latest revision once:
//
//	TenantWatchFindings_CL | summarize arg_max(Revision, *) by FindingKey
//
// Schema (the columns, FindingColumns and IncidentColumns) and incident
// types (IncidentTypes) are the contract infra/modules/sentinel.bicep and
// the analytics rule templates in infra/sentinel/ are tested against.
package sentinel
