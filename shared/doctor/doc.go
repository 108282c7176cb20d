// Package doctor checks what tenantwatch needs from a tenant and a
// deployment and says, line by line, what is missing and what to do: each
// Microsoft Graph permission (by trying the read it enables), the Entra ID
// P1/P2 licence the sign-in data needs, trusted named locations, the Teams
// webhook, and the change-notification subscriptions.
//
// It only reads: one smallest page per probe, no per-object calls. The
// one write, a test card to Teams, happens only when asked for. A 403 is
// told apart by Graph's code: the non-premium code is the licence (Graph
// checks the permission first), any other is a missing permission.
// AuditLog.Read.All and Directory.Read.All are tried together on the
// directory audit log, which needs both and no licence; when it is
// refused, the sign-in log (AuditLog.Read.All alone) says which is missing.
//
// Checks are data (Report) and formatting is separate (WriteText,
// WriteJSON; tenant and Graph text is made terminal-safe); Graph and Teams
// are reached through small interfaces so that tests run against the
// simulated tenant through the real client.
package doctor
