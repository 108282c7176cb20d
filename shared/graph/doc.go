// Package graph is tenantwatch's only client of Microsoft Graph v1.0 and the
// only package that imports msgraph-sdk-go, msgraph-sdk-go-core and the kiota
// libraries (azidentity is shared/identity's: the client takes an
// azcore.TokenCredential). Everything it returns is a shared/tenant type;
// every failure it returns is an *Error that unwraps to a tenant.Err*
// sentinel, so no caller ever inspects an SDK model or an SDK error.
//
// # Client
//
// NewClient builds one request adapter (msgraph-sdk-go-core's) whose base
// URL is graphURL + "/v1.0", and whose HTTP client is the Graph middleware
// pipeline (msgraphcore default middleware, with the SDK's retry handler
// replaced by this package's) on top of ClientOptions.Transport. Requests
// are built by the generated request builders of msgraph-sdk-go's
// sub-packages (users, auditlogs, …), started from api, never by the SDK's
// GraphServiceClient: importing the SDK's root package would link a builder
// for every Graph API.
//
// # Bounds
//
// Every read ends, whatever the server does (bounds.go, on shared/httpbound;
// each limit is a ClientOptions field, with a Default constant):
//
//   - 429, 503 and 504 are retried after Retry-After (seconds or an HTTP
//     date; exponential back-off without it), at most MaxRetries times, and
//     the waits of one request (a page and its retries) share RetryBudget:
//     an answer asking for a longer wait than what is left ends the read at
//     once.
//   - Each attempt has a deadline (AttemptTimeout) covering headers and
//     body, not the waits between attempts; a body that sends nothing for
//     IdleTimeout, or more than MaxPageBytes, ends the read.
//   - A page loop that is sent to a link it has already requested ends.
//   - Bodies are read through these bounds and through internal/typednull,
//     which turns "" dates and GUIDs into null on the way; every body is
//     closed and its attempt's context released on every path, a page
//     requested ahead included.
//
// The caller's context bounds the whole read (a scan's --timeout, a
// function run's deadline); when it carries a cause, the error says it.
//
// AuthAzure authenticates with ClientOptions.Credential, which it requires
// (the process's one credential, built by shared/identity), scope
// https://graph.microsoft.com/.default, and attaches tokens to the graphURL
// host only. AuthNone sends no Authorization header and is accepted only for
// loopback hosts (the simulated tenant, tests).
//
// # Reads
//
// Each read sends one $select list (kept beside its conversion function),
// asks for the documented maximum page size, and follows @odata.nextLink.
// List methods stream converted items to a callback page by page and never
// hold a whole collection; the few small collections (subscribed SKUs,
// Conditional Access policies, named locations) are returned as slices. A
// callback error stops the iteration and is returned unchanged.
//
// The bulk reads (users, userRegistrationDetails, service principals,
// applications, appRoleAssignedTo, directory audits, sign-ins,
// signInActivity, the delta rounds) build each request with the SDK's
// request builders and send it through the SDK's adapter and the
// middleware, but decode the page bytes themselves (decode.go: straight
// into shared/tenant values, with the SDK's names, types and leniency)
// instead of through the SDK's parse-node tree, which cost most of a
// scan's CPU; and they request the next page while the current one is
// decoded and handed over, one page ahead at most, from the callback's
// first accepted item on (pages.go). The small reads go through the SDK
// page iterator.
//
// userRegistrationDetails documents no $top; it is asked for 999 a page
// all the same (Graph's default page for it can be 100). If Graph answers
// that 400 and the read without $top succeeds, the report is read at
// Graph's default page for the rest of the process, logged once.
//
// signInActivity is served by the identity and access reports service (10
// requests per minute, pages of at most 500): SignInActivity and
// SignInActivityByID read it alone (id and signInActivity), for every user
// or for given ids (15 a request), so that Users can read the directory at
// 999 a page without it.
//
// Conversion rules: a null date and the "never" date 0001-01-01T00:00:00Z
// both become the zero time.Time; other dates are UTC. GUIDs are lower-case
// strings. Credentials list keyCredentials, then passwordCredentials.
// Audit modifiedProperties keep Graph's raw oldValue/newValue strings.
// A target resource's "type" is also read when Graph spells it "Type".
// A sign-in without status.errorCode gets ErrorCode -1 (unknown), never 0,
// so that it does not count as a successful sign-in.
//
// # Delta rounds
//
// UsersDelta, ServicePrincipalsDelta and ApplicationsDelta run one delta
// round each: without a link, GET /{collection}/delta() with the list
// read's $select; with a link, the stored link verbatim (a link that is not
// for this client's Graph root and collection is ErrDeltaExpired, without a
// request). Pages are followed, empty ones included, until the delta link,
// which the round returns; items stream to the callback as
// tenant.DeltaItem values whose Present lists the selected properties the
// item carried (Graph sends changed objects with only some properties, so
// the client records which properties each item's JSON had, null or not)
// and whose Removed reports "@removed".
//
// UsersByID and ServicePrincipalsByAppID read objects by id with
// `id in (…)` / `appId in (…)` filters of at most 15 GUIDs; other ids never
// reach a filter.
//
// # Subscriptions
//
// CreateSubscription, RenewSubscription, ReauthorizeSubscription,
// DeleteSubscription and ListSubscriptions manage change-notification
// subscriptions (/subscriptions). Request bodies are sent as plain JSON
// (not gzip-compressed). Subscription ids must be GUIDs. Error messages name
// User.Read.All for users, Group.Read.All for groups.
//
// # Errors
//
// classify is the one place where SDK and transport errors become *Error:
//
//	403              tenant.ErrAccessDenied (message names the permission and licence)
//	404              tenant.ErrNotFound
//	400              tenant.ErrBadRequest
//	429, 503         tenant.ErrThrottled (after the retries allowed)
//	410, syncStateNotFound, resyncRequired  tenant.ErrDeltaExpired
//	no HTTP answer   tenant.ErrUnreachable (refused, DNS, TLS, timeout)
//
// Other failures (401, other 5xx, a token the credential could not get, a
// response that cannot be decoded) are *Error values without a sentinel.
// A cancelled context is returned as an *Error that unwraps to the context's
// error, not to ErrUnreachable. The permission and licence a 403 names come
// from the catalogue (shared/permission), never from a list of this
// package's own.
//
// # SDK workarounds
//
// Where msgraph-sdk-go (v1.89.0), msgraph-sdk-go-core (v1.4.0) or kiota do
// something the client cannot live with, the client works around it at one
// place. Each is listed here with why, and the test that fails when it is
// removed; when the SDK is upgraded, check each:
//
//   - newClientMu (client.go). msgraph-sdk-go-core keeps its error-mapping
//     registry in a package variable, created on first use behind a nil
//     check made without the lock (error_mappings_registry.go). NewClient
//     creates it (GetErrorFactoryFromRegistry) while holding newClientMu,
//     so concurrent NewClient calls, and the page iterators of reads run
//     concurrently later, never race on it. Test: TestNewClientsConcurrently
//     under go test -race (in a child process, where no client was built
//     yet).
//   - No GraphServiceClient, hence no readAdapter (api.go). The SDK's root
//     client links a request builder for every Graph API (more than half of
//     the deployed binary); its constructor enables the backing store,
//     which sets kiota's package variable BackingStoreFactoryInstance on
//     every call, a race with any parsing going on (readAdapter used to
//     swallow that call), and registers the serializers in kiota's
//     package-level registries. api builds requests from the generated
//     sub-packages on the client's own adapter, serializers puts the same
//     factories in the adapter's own registries, and clientOptions carries
//     the SDK version the root package would send. Tests:
//     TestAPIBuildsTheSDKsRequests (the SDK client's URLs),
//     TestClientOptionsAreTheSDKs, shared/pack's
//     TestPackageLinksOnlyWhatRunsInAzure (the root package is not linked);
//     without the serializers every read test fails.
//   - The retry handler replaced, the middleware order fixed (client.go's
//     middleware, bounds.go's retrier). kiota-http-go's retry handler
//     checks its cumulative delay only before adding the next one and never
//     caps a single wait; the Graph defaults come out of a map in random
//     order. Tests: TestRetryAfterBeyondBudget, TestRetryBudgetPerPage,
//     TestMiddlewareOrder.
//   - Error bodies kept (client.go's tracker). The page iterator sends the
//     next pages without error mappings, and an error body that is not JSON
//     is not parsed at all: classify reads the code and message from the
//     body the tracker kept. Test: TestErrorStatuses ("403 on second page",
//     "403 not json").
//   - ODataError.Error() never called (errors.go's classify). It
//     dereferences error.message without a nil check; classify reads the
//     code and message through the getters. Test: TestErrorWithoutMessage.
//   - Empty dates and GUIDs (internal/typednull, on every JSON body the
//     tracker passes). Graph sends "" for some date and GUID properties,
//     and the SDK's JSON parse node fails the whole page on one. Tests:
//     TestEmptyStringDates, TestEmptyTypedValuesStreamed, typednull's
//     TestReader and FuzzReader.
//   - Repeated next links (bounds.go's pager). The page iterator follows
//     @odata.nextLink without checking for a repetition; every read's pages
//     go through pager, an adapter whose Send ends the read on a link it
//     has already requested. Test: TestRepeatedNextLink.
//   - Token errors marked (client.go's credential). kiota's Azure
//     authentication provider returns the credential's error as it is, and
//     a credential failure is often itself a network error (against the
//     identity endpoint): credential wraps it in a tokenError, so classify
//     does not report Graph as unreachable. Test: TestCredentialError.
//   - The provider's hosts (client.go). kiota's Azure provider attaches
//     tokens to a fixed list of Graph hosts, and accepts plain http only
//     for localhost: NewClient gives it the graphURL host as its only valid
//     host and refuses plain http elsewhere itself (isLocalName). Tests:
//     TestAuthAzure, TestNewClientURL.
//   - Member names matched case-sensitively (activity.go's targetType): a
//     target resource's "Type" lands in the additional data. Test:
//     TestTargetTypeSpelling.
//   - Absent and null told apart (delta.go's tracked). The SDK maps an
//     absent property and a null one to the same getter value; tracked
//     records which deserializers ran. Tests: TestDeltaPresent,
//     TestDeltaPresentShared.
//   - Plain request bodies (subscriptions.go's plainBody). The compression
//     middleware gzips request bodies; a server that does not take that may
//     fail the request without the 415 that makes it retry. Test:
//     TestSubscriptionRequests.
package graph
