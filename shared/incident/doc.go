// Package incident ties the findings of one attack together: Correlate is
// a pure function over findings (no Graph, no storage, no clock) that joins
// them into incidents by the entities they share within a time window.
//
// # Joins
//
// Each finding carries entities (see entitiesOf for the exact evidence keys):
//
//   - "id:<object id>": the subject's directory object id (a user, service
//     principal or application; never a tenant or organization subject) and
//     the actor of the audit event (evidence "actorId", also inside evidence
//     lists such as "events" and "registrations");
//   - "app:<app id>": the application id (evidence "appId", "appIds",
//     "actorAppId"): an application and its service principal share it,
//     so they are one app. "resourceAppId" (Microsoft Graph, Exchange
//     Online: the API a permission is on) is deliberately not an entity;
//   - "upn:<user principal name>": evidence "userPrincipalName",
//     "memberUserPrincipalName", and "actor" when it is a UPN (has an @);
//   - "ip:<address>": evidence "ip", "actorIp", "clientIp" (a port, as
//     Exchange writes it, is dropped; anything that does not parse as an
//     address is not an entity).
//
// Findings are of two kinds (postureRules). An event finding (a change or
// an access at a time) joins another event finding when they share an
// entity and lie at most Window apart (default 7 days); joins chain (single
// linkage: A–B and B–C within the window put A and C in one incident even
// when A and C are further apart). A posture finding (a state of the tenant:
// an unregistered user, a dormant account excluded from MFA, an app that
// holds mail permissions, a credential named like its app) never joins
// anything by itself: it is attached to the incident that already holds its
// subject (object id, app id or UPN), with no window (a state has no event
// time), and never through its actors or addresses. A posture finding whose subject is in several incidents goes to
// the one with the earliest first finding.
//
// # Guard against giant incidents
//
// An entity that appears on more than MaxFanout event findings (default
// 20) is too common to mean "the same attack" (an administrator who rotated
// thirty credentials, an office NAT address): it does not join. Tenant and
// organization subjects are never entities, and posture findings do not
// count towards the fan-out.
//
// # Incidents
//
// A group is an incident when it holds two findings or more, at least one
// of them an event finding: a finding that joins nothing is not an
// incident (it stays a finding). The incident's id is "inc-" and the first
// 16 hex digits of the SHA-256 of its anchor's key, the anchor being its
// earliest event finding (by time, then key). It does not change when a
// later finding joins; it changes when an earlier finding joins (late data,
// two incidents merged by a new link), and then takes the earlier anchor.
// Severity is the highest of its findings', raised one step (at most
// critical) when its findings name three or more distinct techniques (ATT&CK
// ids, a finding without any counting its rule id). The title names the
// chain: the distinct titles of its event findings in time order.
package incident
