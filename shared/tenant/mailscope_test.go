package tenant_test

import (
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

func TestHasMailScope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scope string
		want  bool
	}{
		{"", false},
		{"   ", false},
		{"openid profile offline_access User.Read", false},
		{"offline_access", false},
		{"Mail.Read", true},
		{"Mail.ReadWrite", true},
		{"Mail.ReadBasic", true},
		{"Mail.ReadBasic.All", true},
		{"Mail.Read.Shared", true},
		{"Mail.Send", true},
		{"mail.read", true},
		{"MailboxSettings.Read", true},
		{"MailboxSettings.ReadWrite", true},
		{"MailboxFolder.Read", true},
		{"MailboxItem.Read", true},
		{"EWS.AccessAsUser.All", true},
		{"EAS.AccessAsUser.All", true},
		{"full_access_as_user", true},
		{"IMAP.AccessAsUser.All", true},
		{"POP.AccessAsUser.All", true},
		{"SMTP.Send", true},
		{"openid profile  offline_access\tMail.Read User.Read", true},
		{" User.Read  EWS.AccessAsUser.All ", true},
		// Look-alikes are not mail scopes.
		{"Mail", false},
		{"Mail.", false},
		{"MailboxSettings", false},
		{"Mailbox.Read", false},
		{"EWS.AccessAsUser", false},
		{"SMTP.SendAsApp.Other", false},
		{"Files.Read Mailer.Read", false},
		{"Calendars.Read Contacts.Read", false},
		{"xMail.Read", false},
		{"full_access_as_app", false}, // an application role, never a delegated scope
	}
	for _, tt := range tests {
		if got := tenant.HasMailScope(tt.scope); got != tt.want {
			t.Errorf("HasMailScope(%q) = %v, want %v", tt.scope, got, tt.want)
		}
	}
}

func TestIsMailRole(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{
		"Mail.Read": true, "Mail.ReadWrite": true, "Mail.ReadBasic.All": true, "Mail.Send": true,
		"MailboxSettings.Read": true, "full_access_as_app": true, "IMAP.AccessAsApp": true, "POP.AccessAsApp": true,
		"SMTP.SendAsApp": true, "Exchange.ManageAsApp": true, " mail.read ": true,
		"User.Read.All": false, "Directory.Read.All": false, "Calendars.Read": false, "": false, "full_access_as_user ": true,
	} {
		if got := tenant.IsMailRole(v); got != want {
			t.Errorf("IsMailRole(%q) = %v, want %v", v, got, want)
		}
	}
}
