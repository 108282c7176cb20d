package tenant

import "time"

// The Office 365 Management Activity API's unified audit log, as detection
// reads it. The API serves content blobs per content type; the records of
// Audit.Exchange that rules read are decoded into these two types (the
// decoders live with the other audit decoders, not here). Every string is
// attacker-controlled: cmdlet parameters, UPNs and client strings are
// whatever the actor sent.

// ExchangeAdminEvent is an Exchange admin cmdlet run (RecordType 1,
// ExchangeAdmin: Set-Mailbox, Set-MailboxAuditBypassAssociation,
// Set-OrganizationConfig, Set-AdminAuditLogConfig,
// New-ManagementRoleAssignment …).
type ExchangeAdminEvent struct {
	ID         string      `json:"id"`                   // the record's Id
	Time       time.Time   `json:"time"`                 // CreationTime, in UTC
	Cmdlet     string      `json:"cmdlet"`               // Operation
	Actor      string      `json:"actor"`                // UserId: a UPN, or a system or app account
	ActorAppID string      `json:"actorAppId,omitempty"` // AppId, when an app ran the cmdlet
	ObjectID   string      `json:"objectId"`             // ObjectId: the cmdlet's target, as Exchange names it
	Parameters []Parameter `json:"parameters"`           // in the record's order
	Succeeded  bool        `json:"succeeded"`            // ResultStatus True/Succeeded
	ClientIP   string      `json:"clientIp,omitempty"`
	External   bool        `json:"external,omitempty"` // ExternalAccess: Microsoft or a delegated admin ran it
}

// Parameter is one cmdlet parameter as the record gives it (Name, Value;
// a multi-valued parameter is one Value string as Exchange wrote it).
type Parameter struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Param returns the value of the named parameter (case-insensitively) and
// whether the cmdlet was given it.
func (e ExchangeAdminEvent) Param(name string) (string, bool) {
	for _, p := range e.Parameters {
		if EqualFoldASCII(p.Name, name) {
			return p.Value, true
		}
	}
	return "", false
}

// MailAccess is a MailItemsAccessed record (RecordType 50,
// ExchangeItemAggregated): mail items of one mailbox read in one session,
// aggregated by Exchange.
type MailAccess struct {
	ID           string    `json:"id"`
	Time         time.Time `json:"time"`         // CreationTime, in UTC
	MailboxOwner string    `json:"mailboxOwner"` // MailboxOwnerUPN
	MailboxGUID  string    `json:"mailboxGuid,omitempty"`
	Actor        string    `json:"actor"` // UserId
	AppID        string    `json:"appId,omitempty"`
	ClientAppID  string    `json:"clientAppId,omitempty"`
	ClientIP     string    `json:"clientIp,omitempty"`   // ClientIPAddress (or ClientIP), without port
	LogonType    int       `json:"logonType"`            // 0 owner, 1 admin, 2 delegate; -1 when the record gives none
	AccessType   string    `json:"accessType,omitempty"` // MailAccessType: Bind or Sync
	Throttled    bool      `json:"throttled,omitempty"`  // IsThrottled
	Items        int       `json:"items"`                // mail items read (OperationCount, or the items listed)
	ClientInfo   string    `json:"clientInfo,omitempty"`
}

// ReaderAppID is the application that read the mail: ClientAppId when the
// record gives one (access through an API such as Graph, whose own id is
// then in AppId), else AppId; "" when the record names no app.
func (m MailAccess) ReaderAppID() string {
	if m.ClientAppID != "" {
		return m.ClientAppID
	}
	return m.AppID
}

// OwnSession reports whether the record is the mailbox owner reading their
// own mail in their own client session (Outlook, Outlook on the web, a
// phone): an owner logon (LogonType 0) whose actor is the mailbox owner and
// that names no second app (ClientAppId empty, or the same as AppId).
func (m MailAccess) OwnSession() bool {
	owner := m.MailboxOwner != "" && EqualFoldASCII(m.Actor, m.MailboxOwner)
	return m.LogonType == 0 && owner && (m.ClientAppID == "" || EqualFoldASCII(m.ClientAppID, m.AppID))
}

// ByApp reports whether an application read the mail: the record names a
// reading app (ReaderAppID) and is not the owner's own session.
func (m MailAccess) ByApp() bool { return m.ReaderAppID() != "" && !m.OwnSession() }

// EqualFoldASCII compares ASCII case-insensitively (names, GUIDs and
// UPNs as Microsoft compares them; other bytes must match exactly).
func EqualFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
