// Package activityfeed is tenantwatch's client of the Office 365
// Management Activity API (https://manage.office.com/api/v1.0/{tenantId}/activity/feed/…),
// the documented feed of the unified audit log. No Go SDK exists for it:
// the client is a small one on the azcore pipeline (runtime.NewPipeline)
// with a bearer-token policy for Scope, this package's own retry policy
// and per-attempt bounds, and azcore's body download switched off so that
// every body is streamed through the bounds. It imports no Graph SDK.
//
// # Why not Graph's audit log query API
//
// Microsoft Graph v1.0 also reaches the unified audit log: the Purview
// audit log query API (POST /security/auditLog/queries, then poll the
// query until it has run, then page its records; AuditLogsQuery-Exchange.Read.All).
// It is a search: asynchronous, one query at a time to wait for, and
// available in the global cloud only. The Management Activity API is a
// feed built for continuous collection — subscriptions, content listed by
// when it became available, and a webhook the deployed app can be
// notified on — in every cloud (manage-gcc, manage.office365.us,
// manage.protection.apps.mil), and it is what SIEM connectors use. Both
// carry the same records with the same lag (minutes to hours).
//
// # Operations
//
//   - Subscriptions lists the subscriptions (GET /subscriptions/list);
//     doctor reads it.
//   - StartSubscription starts one (POST /subscriptions/start), with an
//     optional webhook; scan calls it only with --start-subscriptions.
//   - Content lists the content blobs of a content type whose
//     contentCreated lies in a window (GET /subscriptions/content with
//     startTime and endTime, in the API's 24-hour slices, following the
//     NextPageUri header) and streams each blob's body (GET contentUri) to
//     a callback, each blob once per call. It satisfies
//     collect.ActivityFeed (issue 11's contract).
//
// PublisherIdentifier (the tenant id unless ClientOptions.PublisherID is
// set) is sent on every request, blob fetches included, as the
// troubleshooting page advises: requests without it share one throttling
// quota.
//
// # Bounds
//
// The same bounds as shared/graph's reads (both on shared/httpbound), each
// a ClientOptions field:
//
//   - 429, 503, 504, 403 with code AF429 (the API's throttling answer) and
//     500 with AF50000 ("Retry the request") are retried after
//     Retry-After (seconds or an HTTP date; exponential back-off without
//     it), at most MaxRetries times; the waits of one request share
//     RetryBudget, and an answer asking for a longer wait than what is
//     left ends the call at once with one line naming the endpoint and
//     the wait.
//   - Each attempt has a deadline (AttemptTimeout) over headers and body,
//     a body that sends nothing for IdleTimeout ends, and a body over
//     MaxResponseBytes ends (a declared Content-Length over it is refused
//     before reading).
//   - A listing whose NextPageUri repeats one already followed ends with
//     an error; a NextPageUri or contentUri on another scheme or host is
//     refused (the token goes to the root's host only); redirects are not
//     followed.
//
// # Errors
//
// Every failure is an *Error: the operation, the HTTP status, the API's
// code (AF…) and message (first line; a .NET stack trace is cut), all
// redacted (shared/redact), unwrapping to a tenant sentinel: 401, 403,
// AF10001 and AF20010 → tenant.ErrAccessDenied; AF20022 (no subscription)
// and AF20023 (subscription disabled) → tenant.ErrNotSubscribed; the
// answer of a tenant whose unified audit log is off
// ("Microsoft.Office.Compliance.Audit.DataServiceException: Tenant <id>
// does not exist.", troubleshooting page) → tenant.ErrAuditingDisabled;
// AF429, 429 and 503 → tenant.ErrThrottled; no answer →
// tenant.ErrUnreachable; 404, AF20050, AF20051, AF20011 →
// tenant.ErrNotFound; other AF2xxxx and 400 → tenant.ErrBadRequest.
package activityfeed
