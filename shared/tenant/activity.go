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
}

// Succeeded reports whether the sign-in succeeded (status.errorCode 0).
func (s SignIn) Succeeded() bool { return s.ErrorCode == 0 }
