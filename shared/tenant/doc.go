// Package tenant holds tenantwatch's domain types: the parts of a Microsoft
// Entra ID / Microsoft 365 tenant that detection looks at (users, licences,
// service principals, applications, audit events, sign-ins, Conditional
// Access), the Snapshot that carries one collection of them, and the rules
// and findings that detection produces.
//
// The package has no dependencies beyond the standard library. Adapters
// (shared/graph for Microsoft Graph, shared/store for Table Storage,
// shared/report for reports) convert to and from these types so that no
// other package sees an SDK model.
//
// Every string that comes from the tenant (display names, user principal
// names, certificate names, URLs) is attacker-controlled: it is carried here
// verbatim and escaped by the sink that renders it.
package tenant
