package tenant

import "strings"

// HasMailScope reports whether scope, the space-separated scope values of
// a delegated permission grant (oauth2PermissionGrant.scope) or a consent
// record, names a permission that reads, changes or sends a user's mail, or
// reaches the mailbox through a protocol. Matching ignores case and extra
// spaces; an empty scope has none.
//
// Mail scopes (Microsoft Graph permissions reference, "Mail", "Mailbox
// settings", "MailboxFolder"/"MailboxItem"; Exchange Online's delegated
// permissions for EWS, EAS, IMAP, POP and SMTP AUTH):
//   - every Mail.* scope: Mail.Read, Mail.ReadWrite, Mail.ReadBasic,
//     Mail.ReadBasic.All, Mail.Read.Shared, Mail.ReadWrite.Shared,
//     Mail.Send, Mail.Send.Shared, …
//   - every MailboxSettings.*, MailboxFolder.* and MailboxItem.* scope
//   - EWS.AccessAsUser.All, EAS.AccessAsUser.All, IMAP.AccessAsUser.All,
//     POP.AccessAsUser.All, SMTP.Send, full_access_as_user (Exchange
//     Online's legacy full mailbox access).
//
// offline_access alone is not a mail scope: it only lets the mail scopes
// beside it outlive the session.
func HasMailScope(scope string) bool {
	for _, s := range strings.Fields(scope) {
		if IsMailScope(s) {
			return true
		}
	}
	return false
}

// IsMailScope reports whether one scope value is a mail scope (see
// HasMailScope).
func IsMailScope(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, p := range mailScopePrefixes {
		if strings.HasPrefix(s, p) && len(s) > len(p) {
			return true
		}
	}
	for _, m := range mailScopes {
		if s == m {
			return true
		}
	}
	return false
}

// mailScopePrefixes are families of mail scopes, lower case.
var mailScopePrefixes = []string{"mail.", "mailboxsettings.", "mailboxfolder.", "mailboxitem."}

// mailScopes are the single mail scopes, lower case.
var mailScopes = []string{
	"ews.accessasuser.all",
	"eas.accessasuser.all",
	"imap.accessasuser.all",
	"pop.accessasuser.all",
	"smtp.send",
	"full_access_as_user",
}

// IsMailRole reports whether value, an application role's value on
// Microsoft Graph or Exchange Online, lets an app read or act on every
// mailbox: Graph's Mail.* and MailboxSettings.* roles, Exchange Online's
// full_access_as_app, IMAP.AccessAsApp, POP.AccessAsApp, SMTP.SendAsApp and
// Exchange.ManageAsApp. Collection uses it to find the mail-capable apps
// whose federated credentials it reads; the rules keep their own
// catalogue of the mail roles they judge (shared/detect).
func IsMailRole(value string) bool {
	v := strings.ToLower(strings.TrimSpace(value))
	switch v {
	case "full_access_as_app", "imap.accessasapp", "pop.accessasapp", "smtp.sendasapp", "exchange.manageasapp":
		return true
	}
	return IsMailScope(v)
}

// MailRoleIDs are the published ids of the mail application roles
// (Microsoft's permission reference), by resource app id, for when the
// tenant's resource service principal or its appRoles were not read.
var MailRoleIDs = map[string][]string{
	GraphAppID: {
		"810c84a8-4a9e-49e6-bf7d-12d183f40d01", // Mail.Read
		"e2a3a72e-5f79-4c64-b1b1-878b674786c9", // Mail.ReadWrite
		"693c5e45-0940-467d-9b8a-1022fb9d42ef", // Mail.ReadBasic.All
		"b633e1c5-b582-4048-a93e-9f11b44c7e96", // Mail.Send
	},
	ExchangeOnlineAppID: {
		"dc890d15-9560-4a4c-9b7f-a736ec74ec40", // full_access_as_app
		"5e5addcd-3e8d-4e90-baf5-964efab2b20a", // IMAP.AccessAsApp
		"cb842b43-da6e-4506-86fe-bb12199c656d", // POP.AccessAsApp
		"dc50a0fb-09a3-484d-be87-e023b12c6440", // Exchange.ManageAsApp
	},
}
