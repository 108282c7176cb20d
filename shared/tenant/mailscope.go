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
