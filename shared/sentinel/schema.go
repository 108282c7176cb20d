package sentinel

import (
	"slices"
	"strings"
)

// The custom tables, and the streams of the data collection rule that
// feed them ("Custom-" and the table name, the documented convention).
const (
	FindingsTable   = "TenantWatchFindings_CL"
	IncidentsTable  = "TenantWatchIncidents_CL"
	FindingsStream  = "Custom-" + FindingsTable
	IncidentsStream = "Custom-" + IncidentsTable
)

// Column is one column of a custom table: its name and its Log Analytics
// type (string, int, long, real, boolean, datetime, dynamic, guid).
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// FindingColumns are the columns of TenantWatchFindings_CL, in the order
// of FindingRow's fields.
func FindingColumns() []Column {
	return []Column{
		{"TimeGenerated", "datetime"},
		{"FindingKey", "string"},
		{"Revision", "long"},
		{"Change", "string"},
		{"Rule", "string"},
		{"Severity", "string"},
		{"SeverityId", "int"},
		{"Title", "string"},
		{"SubjectType", "string"},
		{"SubjectId", "string"},
		{"SubjectName", "string"},
		{"ObservedAt", "datetime"},
		{"Mitre", "dynamic"},
		{"Evidence", "dynamic"},
		{"AccountUpn", "string"},
		{"AccountObjectId", "string"},
		{"IpAddress", "string"},
		{"AppId", "string"},
		{"TenantId", "string"},
	}
}

// IncidentColumns are the columns of TenantWatchIncidents_CL, in the order
// of IncidentRow's fields.
func IncidentColumns() []Column {
	return []Column{
		{"TimeGenerated", "datetime"},
		{"IncidentId", "string"},
		{"Revision", "long"},
		{"IncidentType", "string"},
		{"Title", "string"},
		{"Severity", "string"},
		{"SeverityId", "int"},
		{"Raised", "boolean"},
		{"Techniques", "dynamic"},
		{"FirstSeen", "datetime"},
		{"LastSeen", "datetime"},
		{"Entities", "dynamic"},
		{"FindingKeys", "dynamic"},
		{"Timeline", "dynamic"},
		{"AccountUpn", "string"},
		{"IpAddress", "string"},
		{"AppId", "string"},
		{"Accounts", "dynamic"},
		{"IpAddresses", "dynamic"},
		{"AppIds", "dynamic"},
		{"TenantId", "string"},
	}
}

// Incident types: what an incident's first event is about, by the family
// of its rule (the part of the rule id before the first dot). Sentinel
// gets one analytics rule per type (infra/sentinel/).
const (
	TypeAccountCompromise   = "account-compromise"
	TypeAppBackdoor         = "app-backdoor"
	TypePrivilegeEscalation = "privilege-escalation"
	TypeAuditEvasion        = "audit-evasion"
	TypeMailCollection      = "mail-collection"
)

// familyTypes maps every rule family of the catalogue to its incident
// type; a test holds it to detect's registered rules.
var familyTypes = map[string]string{
	"mfa":     TypeAccountCompromise,
	"signin":  TypeAccountCompromise,
	"device":  TypeAccountCompromise,
	"sp":      TypeAppBackdoor,
	"app":     TypeAppBackdoor,
	"role":    TypePrivilegeEscalation,
	"domain":  TypePrivilegeEscalation,
	"policy":  TypePrivilegeEscalation,
	"posture": TypePrivilegeEscalation,
	"audit":   TypeAuditEvasion,
	"exo":     TypeAuditEvasion,
	"mail":    TypeMailCollection,
}

// IncidentTypes lists the incident types, sorted.
func IncidentTypes() []string {
	var out []string
	for _, t := range familyTypes {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// TypeOfRule is the incident type of rule's family, or "" for a family the
// table does not know.
func TypeOfRule(rule string) string {
	fam, _, _ := strings.Cut(rule, ".")
	return familyTypes[fam]
}
