// Package graphsim is a simulated Microsoft Graph v1.0 tenant: an
// http.Handler that answers the reads tenantwatch's scanner makes, with
// the JSON shapes, paging, query options, throttling and error bodies of
// the real service, over a seeded scenario that reproduces every technique
// in Mandiant's APT29 report "You Can't Audit Me" (2022). For the
// serverless app it also changes while it runs: delta queries, change
// notification subscriptions with their validation handshake and
// deliveries, and an attack driver that replays the report's techniques
// step by step.
//
// It exists so that tests and `make demo` can run the real scanner
// (msgraph-sdk-go pointed at the simulator's base URL) end to end. It is
// deliberately independent of detection code: it imports only the standard
// library, and its expected findings are written from the rules, never
// produced by running a detector.
//
// # Use
//
//	sim, err := graphsim.New(&graphsim.Options{Users: 1000, ThrottleRate: 0.05, Seed: 7})
//	srv := httptest.NewServer(sim.Handler())
//	// point the Graph client at srv.URL + "/any/prefix/v1.0"
//	want, _ := graphsim.Expected() // what the scan must report
//	bad, _ := graphsim.Decoys()    // what it must not
//
// The base URL may carry a path prefix: routing uses whatever follows
// "/v1.0/", and @odata.nextLink is an absolute URL back to the simulator
// (scheme and host of the request, same prefix).
//
// # Endpoints
//
// The list endpoints are GET; any other method answers 405, any other path
// 501 with the message "graphsim: not simulated: METHOD PATH" (in Graph's
// error body), so a scanner that strays fails loudly. Page sizes (default
// without $top, maximum; above the maximum either 400 "Invalid page size
// specified" or pages of the maximum):
//
//	/organization                                         default 100, $top 1–999 (more: 400); one object
//	/subscribedSkus                                       default 100, $top 1–999 (more: 400); a few objects
//	/users                                                default 100, $top 1–999 (more: 400);
//	                                                      at most 500 a page when signInActivity is selected
//	/groups                                               default 100, $top 1–999 (more: 400)
//	/reports/authenticationMethods/userRegistrationDetails  default 100, $top 1–999 (more: pages of 999);
//	                                                      with Options.RejectRegistrationTop any $top: 400
//	/servicePrincipals, /applications                     default 100, $top 1–999 (more: 400)
//	/servicePrincipals/{id}/appRoleAssignedTo             default 100, $top 1–999 (more: 400); unknown id: 404
//	/auditLogs/directoryAudits                            default 1,000, $top capped at 1,000, newest first
//	/auditLogs/signIns                                    default 1,000, $top capped at 1,000, newest first
//	/identity/conditionalAccess/policies                  default 100, $top 1–999 (more: 400); a few objects
//	/identity/conditionalAccess/namedLocations            default 100, $top 1–999 (more: 400); a few objects
//
// The change endpoints (see "Delta queries" and "Subscriptions" below):
//
//	GET  /users/delta, /groups/delta, /servicePrincipals/delta, /applications/delta
//	     (also spelled delta() as the SDKs send it, or microsoft.graph.delta)
//	POST /subscriptions                  201, after the validation handshake
//	GET  /subscriptions                  the live ones
//	GET, PATCH, DELETE /subscriptions/{id}
//	POST /subscriptions/{id}/reauthorize 204
//
// Where the page sizes come from (microsoft-graph-docs-contrib,
// api-reference/v1.0/api/):
//
//   - user-list.md: "The default and maximum page sizes are 100 and 999
//     user objects respectively, except when you specify
//     $select=signInActivity or $filter=signInActivity. When signInActivity
//     is selected or filtered on, the maximum page size is 500" (an older
//     revision said 120). The simulator caps on a selected
//     signInActivity: its /users $filter takes id alone.
//   - group-list.md, application-list.md, serviceprincipal-list.md: "The
//     default and maximum page sizes are 100 and 999 … objects
//     respectively".
//   - signin-list.md: "The maximum and default page size is 1,000 objects".
//   - directoryaudit-list.md documents $top but no size: the simulator uses
//     the sign-in log's.
//   - serviceprincipal-list-approleassignedto.md, organization-list.md,
//     subscribedsku-list.md, conditionalaccessroot-list-policies.md and
//     conditionalaccessroot-list-namedlocations.md state no size: the
//     directory's 100 and 999 apply here (these collections hold a handful
//     of objects: one page in any tenant).
//   - authenticationmethodsroot-list-userregistrationdetails.md: "This
//     method supports only the $filter and $orderBy OData query
//     parameters", and no page size. In practice the report pages at 100
//     without $top, and scripts and tools send $top=999 (tenantwatch issue
//     9 §6); the simulator does both, and RejectRegistrationTop models a
//     service that enforces the documented options (400 with the ASP.NET
//     OData validator's "Query option 'Top' is not allowed…").
//   - Delta pages: Graph documents no size and no $top (see "Delta
//     queries").
//
// # Query options
//
// $select projects (unknown property: 400 "Parsing OData Select and Expand
// failed: Could not find a property named 'x' on type 'microsoft.graph.user'";
// user properties that Graph returns only for a single user: 501). A
// selected property the object lacks comes back null, except
// signInActivity, which is simply absent for users who never signed in.
// Directory objects always carry id; derived types always carry
// @odata.type. Without $select, users get Graph's default property set and
// signInActivity is never returned.
//
// $filter is parsed by a small real parser (filter.go): "and"-joined
// comparisons "prop op literal", with eq/ne/gt/ge/lt/le on the log's
// DateTimeOffset (unquoted, optional fraction and offset), eq on string
// properties (directoryAudits: activityDisplayName, loggedByService,
// category, result, correlationId, operationType, initiatedBy/user/id, …;
// signIns: userId, userPrincipalName, appId, ipAddress, …), eq on
// status/errorCode, eq on the registration report's booleans, and on /users
// "id eq '…'" or "id in ('…','…')" with at most 15 values (Graph's
// documented default limit for in), with any $select including
// signInActivity: how the app re-reads the users a delta round named.
// Anything else — or, not, lambda operators, functions such as startswith,
// unsupported properties — answers 400 with Graph's error body.
//
// $skiptoken values are opaque, bound to the query they were issued for;
// other query options starting with "$" ($orderby, $expand, $count, …)
// answer 501.
//
// # Faults
//
// Options.ThrottleRate answers that fraction of requests to simulated
// routes (first pages and nextLinks alike) with 429, "Retry-After:
// <Options.RetryAfter>" and code TooManyRequests; which requests is decided
// by the seed and the request's sequence number only.
//
// Options.ReportLimits applies the documented limits of the identity and
// access reports service (reports.go cites them): 5 requests per 10
// seconds per app and tenant over /auditLogs/* and
// /reports/authenticationMethods/*, and 10 per minute for /users requests
// that select or filter signInActivity, which count against both. A
// request over a limit is answered 429 with Retry-After: the whole seconds
// until the window admits it (at least 1). ReportLimits.Window shortens
// both windows in the documented ratio for tests; ReportLimits.Now is the
// limiter's clock.
//
// Every 429 carries the body of the throttling guidance's sample response:
// {"error":{"code":"TooManyRequests","innerError":{"code":"429","date",
// "message":"Please retry after","request-id","client-request-id",
// "status":"429"},"message":"Please retry again later."}}. Options.Deny makes
// sources answer 403 with the bodies Graph sends:
//
//	signIns, userRegistrationDetails, signInActivity (users with it selected; without it /users works):
//	    Authentication_RequestFromNonPremiumTenantOrB2CTenant "Neither tenant is B2C or tenant doesn't have premium license"
//	directoryAudits:    Authentication_MSGraphPermissionMissing "Calling principal does not have required MSGraph permissions AuditLog.Read.All"
//	conditionalAccess:  AccessDenied "You cannot perform the requested operation, required scopes are missing in the token."
//	servicePrincipals, applications, appRoleAssignedTo, subscribedSkus, organization, users,
//	groups (groups/delta), subscriptions (every /subscriptions request):
//	    Authorization_RequestDenied "Insufficient privileges to complete the operation."
//
// users/delta is denied with "users", servicePrincipals/delta with
// "servicePrincipals", applications/delta with "applications". Throttling
// applies to the delta and subscription routes like the others.
//
// Every answer carries request-id and client-request-id headers (the
// latter echoes the client's); error bodies are
// {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}.
// Stats reports requests and objects served per route, 429s, answers per
// status, the /users requests that read signInActivity (and the users
// they served) and notification POSTs per answer status.
//
// # A tenant that changes
//
// The scenario is the base; changes are an overlay (state.go) guarded by a
// mutex, and every change increments Version. Options.Now anchors the
// scenario's relative times; Options.Clock is the running clock that
// stamps what happens later and expires subscriptions and delta tokens
// (nil: Now plus the time elapsed since New, time.Now when Now is zero).
//
//	sim.Update(graphsim.KindUser, id, map[string]any{"accountEnabled": false}) // changed property names
//	sim.Create(graphsim.KindServicePrincipal, map[string]any{...})               // id generated if absent
//	sim.Delete(graphsim.KindUser, id, false)                                     // soft; true: for good
//	sim.AppendLog(graphsim.LogDirectoryAudits, event)                            // also LogSignIns
//	sim.Get(graphsim.KindUser, id)
//
// Kinds: users, groups, servicePrincipals, applications and the
// registration report (KindRegistration). Changes show in the list
// endpoints (deleted objects vanish, created ones come last, appended log
// entries are served newest first and honour $filter) and in delta rounds.
// A paging session keeps the view it started with: skip tokens carry the
// version, so objects created and entries appended meanwhile do not shift
// positions. A change to a user or group is notified to the subscriptions
// on users or groups.
//
// # Delta queries
//
// delta.go cites the documentation it follows. In short: the first round
// returns every object with the selected properties (default: users'
// default property set; groups, service principals and applications:
// every property), in pages of Options.DeltaPageSize (default 200; Graph
// documents no size), links carrying only the opaque token. Later rounds
// return what changed since the token's version: created objects in full;
// updated users and groups with every selected property, or, with "Prefer:
// return=minimal" (or Options.MinimalDeltaUpdates), the id and the changed
// properties only; updated service principals and applications always with
// the id and the changed properties; deleted objects as
// {"id","@removed":{"reason":"changed"}} (soft, restorable) or "deleted"
// (for good). Only selected (default) properties make an updated object
// reappear. $deltatoken=latest (users, groups) returns a deltaLink and no
// data. $select beside a $deltatoken replaces the tracked set; beside a
// $skiptoken it answers 400. signInActivity is not tracked by delta (501
// when selected): read it with /users?$filter=id in (…).
//
// Tokens are opaque and HMAC-signed (a garbled or foreign token answers
// 400). A token older than Options.DeltaTokenTTL (default seven days of
// Clock) answers 400 syncStateNotFound ("The sync state generation is not
// found…"); after (*Server).ExpireDeltaTokens every older token answers
// 410 Gone, code resyncRequired, with a Location header that restarts the
// round (empty $deltatoken, same $select). Options.EmptyDeltaPages starts
// each round with an empty page that has a nextLink.
//
// # Subscriptions
//
// subscriptions.go cites the documentation it follows. POST /subscriptions
// accepts resource users or groups ("/users", "/groups"; anything else 400,
// since real Graph has answered 201 for paths it never delivers on),
// changeType a subset of created, updated, deleted, an https
// notificationUrl (http on 127.0.0.1, ::1 or localhost with
// Options.AllowHTTPNotificationURL), expirationDateTime in the future and
// at most 41,760 minutes ahead (else 400 ExtensionError "Subscription
// expiration can only be 41760 minutes in the future."), clientState of at
// most 128 characters and an optional lifecycleNotificationUrl. The same
// resource and changeType twice answers 409 ObjectIdentifierInUse
// "Subscription Id <id> already exists for the requested combination".
// Before answering, it POSTs {url}?validationToken=<URL-encoded token>
// (Content-Type text/plain; charset=utf-8) to the notification URL, then
// the lifecycle URL, each within Options.ValidationTimeout (10 s), and
// requires 200, Content-Type text/plain and the decoded token as the body;
// otherwise 400 with Graph's message and no subscription. The answer is
// 201 with the subscription (id, resource, applicationId, changeType,
// clientState, notificationUrl, notificationQueryOptions,
// lifecycleNotificationUrl, expirationDateTime, creatorId,
// includeResourceData, latestSupportedTlsVersion, encryptionCertificate,
// encryptionCertificateId, notificationUrlAppId). PATCH renews
// (expirationDateTime only, same limits), DELETE answers 204, POST
// …/reauthorize 204. A subscription disappears when Clock passes its
// expirationDateTime.
//
// # Notifications
//
// notify.go describes the payloads. A change to a user or group is POSTed
// asynchronously (one goroutine per POST, Options.DeliveryTimeout, 3 s) to
// every live subscription on that resource whose changeType covers it
// (creation and soft deletion as "updated", deletion for good as
// "deleted"), with clientState, tenantId and resourceData
// {"@odata.type":"#Microsoft.Graph.User","@odata.id":"Users/<id>","id",
// "organizationId"}. Deliveries lists every POST (status, latency, body);
// WaitDeliveries waits for those in flight. Options.DuplicateNotifications
// sends each twice. SendLifecycle posts reauthorizationRequired (the
// subscription's notifications are then held until reauthorize or renewal,
// and dropped after four hours), subscriptionRemoved (the subscription is
// deleted) or missed to the lifecycle URL. Failed POSTs are recorded, not
// retried.
//
// # Attack driver
//
// (*Server).Attack(ctx, step) replays one technique of the report against
// the running tenant and returns an AttackResult: what it changed, the
// findings (rule, subject, severity) the change should produce, the
// scenario findings it makes false (Cleared) and the subscriptions it
// notified. Targets are chosen from the data, never by id: the first
// object in scenario order that fits and that the scenario does not
// already plant or decoy for the step's rules. Events carry Clock's time.
// When no object fits (the empty scenario, or a step already run on every
// candidate) Attack returns ErrNoCandidate.
//
//   - "disable-audit": an enabled member holding a licence whose SKU
//     carries M365_ADVANCED_AUDITING (2f442157-a11c-46b9-ae5b-6e39ff4e5849)
//     with the plan still enabled gets the plan id added to disabledPlans of
//     every such licence. Audit: "Change user license" (AssignedLicense of
//     every licence, old and new) and "Update user" (AssignedLicense of the
//     changed ones, AssignedPlan Enabled → Deleted), both Core Directory,
//     initiated by the attacker (below). The user is notified. Expected:
//     audit.advanced-auditing-disabled (high). In apt29: Sarah Chen.
//   - "dormant-takeover": an enabled member created over 14 days ago, with
//     no successful sign-in for 90 days (signInActivity and the sign-in
//     log) and not MFA registered, not planted or decoyed for
//     mfa.dormant-registration, signin.azure-ip or
//     mfa.registration-untrusted-location. Audit: "User registered security
//     info" and "User registered all required security info"
//     (Authentication Methods, the user as initiator from 13.74.179.117,
//     an Azure North Europe address of the Service Tags sample) six and
//     five seconds before Clock; a successful interactive sign-in from that
//     address at Clock; signInActivity updated; the registration row now
//     MFA registered. The user is notified (signInActivity and
//     authentication methods are not tracked by users/delta). Expected:
//     mfa.dormant-registration (high), signin.azure-ip (medium) and, when a
//     trusted IP named location exists and the address is outside all of
//     them, mfa.registration-untrusted-location (high: from Azure). Cleared:
//     the user's mfa.dormant-unregistered. In apt29: Li Wei. Later steps
//     are initiated by this account from the same address.
//   - "sp-backdoor": a service principal (not a managed identity) holding
//     Mail.Read, Mail.ReadWrite (Microsoft Graph) or full_access_as_app
//     (Exchange Online), as the role values of the resource's appRoles name
//     the scenario's appRoleAssignedTo grants, with no credential and no
//     planted or decoy credential finding, gets a key credential
//     (AsymmetricX509Cert, Verify, new keyId, displayName "CN=<its display
//     name>", startDateTime backdated 30 days). Audit: "Add service
//     principal credentials" (KeyDescription old and new, TargetId.
//     ServicePrincipalNames). No notification (Graph has none for service
//     principals). Expected: sp.credential-added (high: mail roles) and
//     sp.credential-name-mimicry (medium). In apt29: Northbridge CRM
//     Connector. Note: the backdated startDateTime lies 30 days before
//     Clock, at the edge of a 720 h window; a state-only detector sees the
//     mimicry only through the incremental round that found the new key.
//   - "reply-url": the last sp-backdoor target (else the one sp-backdoor
//     would pick) gets https://login-<random>.azurewebsites.net/signin in
//     replyUrls, and its application in the tenant the same in
//     web.redirectUris. Audit: "Update service principal" and "Update
//     application", AppAddress old and new. Expected: sp.reply-url-added on
//     both, medium where a credential was added to the same object within
//     24 hours (audit event or startDateTime), else low.
//
// The attacker initiating disable-audit, sp-backdoor and reply-url is the
// account taken over by dormant-takeover when it ran, else the initiator
// of the newest successful "Add service principal credentials" in the
// audit log (in apt29, Viktor Lindqvist from 20.43.66.12).
//
// # Admin API
//
// Beside StatsPath, under any path prefix and outside /v1.0 (admin.go):
//
//	GET  /_graphsim/stats, /_graphsim/subscriptions, /_graphsim/deliveries, /_graphsim/attack
//	POST /_graphsim/attack/{step}                               AttackResult; 404 unknown step; 409 no candidate
//	POST /_graphsim/lifecycle?subscription=<id>&event=<event>   202
//	POST /_graphsim/expire-delta                                204
//
// The admin API is not authenticated: bind the simulator to loopback.
//
// # Scenarios
//
// A scenario is a folder of embedded JSON files under scenarios/<name>/,
// one Graph-shaped array per collection (organization, subscribedSkus,
// users, groups, userRegistrationDetails, servicePrincipals, applications,
// appRoleAssignments, directoryAudits, signIns, conditionalAccessPolicies,
// namedLocations). To keep them readable and stable the loader:
//
//   - drops members named "//": the comments that tell a reader why an
//     object is there (PLANTED, DECOY, …);
//   - resolves relative times "now", "now-6d2h15m", "now+365d" (units d, h,
//     m, s) against the scenario clock, Options.Now;
//   - encodes a modifiedProperties oldValue/newValue written as a JSON array
//     or object into the JSON text Graph returns inside the string
//     ("[\"[KeyIdentifier=…,KeyType=AsymmetricX509Cert,KeyUsage=Verify,DisplayName=CN=…]\"]");
//     values written as strings are served verbatim;
//   - completes sign-ins, registration rows and app role assignments with
//     what Graph always returns (names from the referenced user or service
//     principal, enum defaults), gives log timestamps Graph's seven
//     fractional digits and serves logs newest first;
//   - counts each SKU's consumedUnits from the users holding it.
//
// apt29 (the default) is "Northbridge Institute for Foreign Policy", a
// fictional Brussels think tank: 36 users, 3 groups (served by groups/delta
// only), 28 service principals, 16 app registrations, 42 audit events and
// 43 sign-ins spread over the last 40 days. Its story: a password spray from Azure Japan East; a visiting
// fellow's account, set up but never used, takes over MFA registration
// from an Azure VM in North Europe and signs in to the VPN; a compromised
// admin makes it Global Administrator; it switches off Advanced Auditing
// (M365_ADVANCED_AUDITING) on the Director's and Deputy Director's
// mailboxes, once through "Change user license" and once through "Update
// user"; it adds certificates named CN=<own name> to a mail-reading
// archiving app's service principal (and a benign reply URL 40 minutes
// later), to the Microsoft first-party Office 365 Exchange Online service
// principal and to another app's registration, and grants
// full_access_as_app to a CRM connector and Mail.ReadBasic.All to a
// mail-archiving app. Around it sits benign noise (new hires not yet
// registered, guests, disabled, shared and room mailboxes, routine role
// and licence changes, certificate rotations
// outside the window, a Cloud PC user whose sign-ins really do come from
// Azure) and look-alike decoys (M365_AUDIT_PLATFORM instead of Advanced
// Auditing, a second SKU re-enabling the plan, a licence change that
// re-enables it, CN=<another app's name>, a password named CN=<own name>,
// Mail.Send, Global Reader, a custom "Global Administrator (…)" role, a
// failed Global Admin add, a report-only CA policy for registration, an
// address next to an Azure range, failed sign-ins from Azure, …).
// Expected (38 findings over the 14 rules) and Decoys (43) list them, each
// with the reason; every object also carries a "//" note in the scenario
// files. The scenario's Azure addresses lie in the AzureCloud.japaneast
// and AzureCloud.northeurope ranges of shared/data/servicetags-sample.json
// (also shared/azureip/testdata).
// Everything else uses documentation address ranges (192.0.2.0/24,
// 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32); the office is
// 198.51.100.0/24 and 2001:db8:4e42::/48, a trusted named location.
//
// empty is a clean baseline: the same organization, Office 365 E3 and
// Entra ID P1, the Microsoft Graph and Exchange Online resource service
// principals, a trusted office location and an enabled Conditional Access
// policy protecting security-info registration. With synthetic users it
// is the scale test; a scan of it should report nothing.
//
// Options.Users adds synthetic benign users to either scenario: generated
// from their index when a page is served (synthetic.go), so 100,000 cost
// a few bytes until read. Each has an E3 licence, a registration row
// (MFA registered) and a recent successful sign-in; one in ten also has a
// sign-in log entry from a documentation-range ISP address.
//
// # Extending
//
// List routes are rows of the table in routes.go, delta routes of the
// table in delta.go; data lives in one store of collections (store.go) fed
// by sources, static or lazily generated, with the mutable overlay of
// state.go on top.
package graphsim
