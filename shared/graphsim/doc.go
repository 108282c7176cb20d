// Package graphsim is a simulated Microsoft Graph v1.0 tenant: an
// http.Handler that answers the reads tenantwatch's scanner makes, with
// the JSON shapes, paging, query options, throttling and error bodies of
// the real service, over a seeded scenario that reproduces every technique
// in Mandiant's APT29 report "You Can't Audit Me" (2022).
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
// All are GET; any other method answers 405, any other path 501 with the
// message "graphsim: not simulated: METHOD PATH" (in Graph's error body),
// so a scanner that strays fails loudly.
//
//	/organization                                         all, one page
//	/subscribedSkus                                       all, one page
//	/users                                                default 100, $top 1–999 (more: 400)
//	                                                      pages of at most 500 when signInActivity is selected
//	/reports/authenticationMethods/userRegistrationDetails  fixed pages of 1,000 ($top ignored)
//	/servicePrincipals, /applications                     default 100, $top 1–999 (more: 400)
//	/servicePrincipals/{id}/appRoleAssignedTo             default 100, $top 1–999 (more: 400); unknown id: 404
//	/auditLogs/directoryAudits                            default 1,000, $top capped at 1,000, newest first
//	/auditLogs/signIns                                    default 1,000, $top capped at 1,000, newest first
//	/identity/conditionalAccess/policies                  all, one page
//	/identity/conditionalAccess/namedLocations            all, one page
//
// Page sizes follow the v1.0 reference where it states them (users: "$top
// 1–999", "Invalid page size specified" above; signInActivity: "Requests
// with $top set higher than 500 return pages with up to 500 users" in the
// current docs, 120 in older ones; signIns: "maximum and default page size
// is 1,000"). The directoryAudits reference states no size: the simulator
// uses the sign-in log's. userRegistrationDetails documents only $filter
// and $orderby, so $top is ignored there and pages are a fixed 1,000.
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
// status/errorCode, eq on the registration report's booleans. Anything
// else — or, not, lambda operators, functions such as startswith,
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
// by the seed and the request's sequence number only. Options.Deny makes
// sources answer 403 with the bodies Graph sends:
//
//	signIns, userRegistrationDetails, signInActivity (users with it selected; without it /users works):
//	    Authentication_RequestFromNonPremiumTenantOrB2CTenant "Neither tenant is B2C or tenant doesn't have premium license"
//	directoryAudits:    Authentication_MSGraphPermissionMissing "Calling principal does not have required MSGraph permissions AuditLog.Read.All"
//	conditionalAccess:  AccessDenied "You cannot perform the requested operation, required scopes are missing in the token."
//	servicePrincipals, applications, appRoleAssignedTo, subscribedSkus, organization, users:
//	    Authorization_RequestDenied "Insufficient privileges to complete the operation."
//
// Every answer carries request-id and client-request-id headers (the
// latter echoes the client's); error bodies are
// {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}.
// Stats reports requests and objects served per route, 429s and answers
// per status.
//
// # Scenarios
//
// A scenario is a folder of embedded JSON files under scenarios/<name>/,
// one Graph-shaped array per collection (organization, subscribedSkus,
// users, userRegistrationDetails, servicePrincipals, applications,
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
// fictional Brussels think tank: 36 users, 28 service principals, 16 app
// registrations, 42 audit events and 43 sign-ins spread over the last 40
// days. Its story: a password spray from Azure Japan East; a visiting
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
// Routes are rows of the table in routes.go; data lives in one store of
// collections (store.go) fed by sources, static or lazily generated. Delta
// queries, subscriptions and notifications for the serverless app can be
// added as further routes over the same store.
package graphsim
