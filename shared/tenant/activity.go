package tenant

import (
	"strings"
	"time"
)

// AuditEvent is one directory audit record (GET /auditLogs/directoryAudits).
type AuditEvent struct {
	ID              string     `json:"id"`
	Time            time.Time  `json:"activityDateTime"`
	Activity        string     `json:"activityDisplayName"`
	Category        string     `json:"category"`
	LoggedByService string     `json:"loggedByService"`
	OperationType   string     `json:"operationType"`
	Result          string     `json:"result"` // "success", "failure", …
	ResultReason    string     `json:"resultReason"`
	CorrelationID   string     `json:"correlationId"`
	Initiator       Actor      `json:"initiatedBy"`
	Targets         []Target   `json:"targetResources"`
	Details         []KeyValue `json:"additionalDetails"`
}

// Succeeded reports whether the event's result is "success".
func (e AuditEvent) Succeeded() bool { return strings.EqualFold(e.Result, "success") }

// Actor is who performed an audited action: a user or an app.
type Actor struct {
	UserID      string `json:"userId,omitempty"`
	UPN         string `json:"userPrincipalName,omitempty"`
	IP          string `json:"ipAddress,omitempty"`
	AppID       string `json:"appId,omitempty"`
	SPID        string `json:"servicePrincipalId,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
}

// Name returns the best human name for the actor.
func (a Actor) Name() string { return firstNonEmpty(a.UPN, a.DisplayName, a.AppID, a.UserID, a.SPID) }

// Target is one object an audited action touched.
type Target struct {
	ID          string             `json:"id"`
	DisplayName string             `json:"displayName"`
	Type        string             `json:"type"` // "User", "ServicePrincipal", "Application", "Role", …
	UPN         string             `json:"userPrincipalName,omitempty"`
	Modified    []ModifiedProperty `json:"modifiedProperties"`
}

// ModifiedProperty is one changed property. Old and New are the raw strings
// Graph returns: usually JSON text inside the string (decode again).
type ModifiedProperty struct {
	Name string `json:"displayName"`
	Old  string `json:"oldValue"`
	New  string `json:"newValue"`
}

// KeyValue is one additionalDetails entry.
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// SignIn is one interactive user sign-in (GET /auditLogs/signIns).
type SignIn struct {
	ID             string    `json:"id"`
	Time           time.Time `json:"createdDateTime"`
	UserID         string    `json:"userId"`
	UPN            string    `json:"userPrincipalName"`
	AppID          string    `json:"appId"`
	AppDisplayName string    `json:"appDisplayName"`
	IP             string    `json:"ipAddress"`
	ErrorCode      int       `json:"errorCode"` // status.errorCode; 0 = success, -1 = no status (unknown, not a success)
	// The properties below are read since issue 12 (the 2023–2025 rules).
	// v1.0 and beta both return them, except AuthProtocol and
	// OriginalTransferMethod (beta only: "" when read from v1.0).
	ClientApp           string `json:"clientAppUsed,omitempty"`          // "Browser", "Mobile Apps and Desktop clients", "IMAP4", "POP3", "Authenticated SMTP", "Exchange ActiveSync", "Other clients", …
	ResourceID          string `json:"resourceId,omitempty"`             // app id of the resource the token is for (e.g. the Device Registration Service)
	ResourceDisplayName string `json:"resourceDisplayName,omitempty"`    //
	Country             string `json:"countryOrRegion,omitempty"`        // location.countryOrRegion (two-letter code)
	DeviceID            string `json:"deviceId,omitempty"`               // deviceDetail.deviceId; "" for an unregistered device
	Interactive         bool   `json:"isInteractive,omitempty"`          // isInteractive
	AuthProtocol        string `json:"authenticationProtocol,omitempty"` // beta: "deviceCode", "ropc", "none", "oAuth2", "saml20", "wsFederation", …
	// OriginalTransferMethod is beta's originalTransferMethod
	// ("deviceCodeFlow", "authenticationTransfer", "none"): set on the
	// sign-ins of a session that began with a device code, also on the
	// later non-interactive ones.
	OriginalTransferMethod string `json:"originalTransferMethod,omitempty"`
}

// Succeeded reports whether the sign-in succeeded (status.errorCode 0).
func (s SignIn) Succeeded() bool { return s.ErrorCode == 0 }
