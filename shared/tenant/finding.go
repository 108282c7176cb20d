package tenant

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Severity ranks a finding. The zero value is invalid.
type Severity int

// Severities in increasing order.
const (
	SeverityInfo Severity = iota + 1
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"", "info", "low", "medium", "high", "critical"}

// String returns the lower-case name used in findings.json ("high").
func (s Severity) String() string {
	if s < SeverityInfo || s > SeverityCritical {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// Valid reports whether s is one of the five named severities.
func (s Severity) Valid() bool { return s >= SeverityInfo && s <= SeverityCritical }

// ParseSeverity parses a severity name, case-insensitively. It returns an
// error naming the accepted values for anything else.
func ParseSeverity(name string) (Severity, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for i := SeverityInfo; i <= SeverityCritical; i++ {
		if severityNames[i] == n {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want info, low, medium, high or critical)", name)
}

// MarshalText encodes the severity by name.
func (s Severity) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("invalid severity %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// SubjectType is the kind of directory object a finding is about.
type SubjectType string

// Subject types used in findings.
const (
	SubjectUser             SubjectType = "user"
	SubjectServicePrincipal SubjectType = "servicePrincipal"
	// SubjectGroup is a role-assignable group added to a directory role:
	// every member of the group then holds the role.
	SubjectGroup       SubjectType = "group"
	SubjectApplication SubjectType = "application"
	SubjectTenant      SubjectType = "tenant"
	// SubjectDomain is a domain of the tenant: ID and Name are the domain
	// name.
	SubjectDomain SubjectType = "domain"
)

// Subject identifies the object a finding is about. ID is the directory
// object id (the tenant id for tenant-wide findings); Name is a display name
// or user principal name and is attacker-controlled.
type Subject struct {
	Type SubjectType `json:"type"`
	ID   string      `json:"id"`
	Name string      `json:"name"`
}

// Rule is the constant description of one detection rule: the same for every
// finding it produces.
type Rule struct {
	ID          string   // e.g. "sp.credential-added"; ^[a-z]+\.[a-z0-9-]+$
	Title       string   // short, human; used as the finding title
	Description string   // one or two sentences: what fires it and why it matters
	Severity    Severity // default severity; a finding may raise or lower it
	MITRE       []string // ATT&CK technique ids, e.g. "T1098.001"
	Sources     []Source // data the rule needs; missing ones skip the rule
}

// Finding is one rule firing for one subject.
type Finding struct {
	Rule       string         `json:"rule"`
	Severity   Severity       `json:"severity"`
	Title      string         `json:"title"`
	Subject    Subject        `json:"subject"`
	Evidence   map[string]any `json:"evidence"`
	MITRE      []string       `json:"mitre"`
	ObservedAt time.Time      `json:"observedAt"`
	// Key is a stable dedupe key: the same condition on the same subject
	// yields the same key in every run.
	Key string `json:"key"`
}

// Skipped records a rule that did not run and why.
type Skipped struct {
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

// MarshalJSON keeps evidence an object even when empty.
func (f Finding) MarshalJSON() ([]byte, error) {
	type plain Finding
	p := plain(f)
	if p.Evidence == nil {
		p.Evidence = map[string]any{}
	}
	if p.MITRE == nil {
		p.MITRE = []string{}
	}
	p.ObservedAt = p.ObservedAt.UTC()
	return json.Marshal(p)
}
