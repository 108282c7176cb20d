package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/accept"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// OCSF identifiers of the events findings.ocsf.jsonl carries: OCSF 1.8.0,
// category Findings (2), class Detection Finding (2004).
const (
	OCSFVersion     = "1.8.0"
	ocsfCategoryUID = 2
	ocsfClassUID    = 2004
	ocsfVendor      = "tenantwatch project"
	ocsfProduct     = "tenantwatch"
)

// OCSF activity_id values of the Finding class (events/findings/finding.json).
const (
	ocsfActivityCreate = 1 // a finding was created
	ocsfActivityUpdate = 2 // a finding was updated
	ocsfActivityClose  = 3 // a finding was closed
)

// OCSF status_id values of the Finding class.
const (
	ocsfStatusNew        = 1 // new and yet to be reviewed
	ocsfStatusInProgress = 2 // under review: reported before, still open
	ocsfStatusSuppressed = 3 // accepted through an accept file (scan --accept)
	ocsfStatusResolved   = 4 // no longer found
)

// ocsfActivityNames and ocsfStatusNames are the schema's captions, which
// activity_name and status repeat.
var (
	ocsfActivityNames = map[int]string{ocsfActivityCreate: "Create", ocsfActivityUpdate: "Update", ocsfActivityClose: "Close"}
	ocsfStatusNames   = map[int]string{ocsfStatusNew: "New", ocsfStatusInProgress: "In Progress", ocsfStatusSuppressed: "Suppressed", ocsfStatusResolved: "Resolved"}
)

// ocsfSeverity maps a tenantwatch severity to OCSF severity_id and its
// caption: info → 1 Informational … critical → 5 Critical.
func ocsfSeverity(s tenant.Severity) (int, string) {
	switch s {
	case tenant.SeverityInfo:
		return 1, "Informational"
	case tenant.SeverityLow:
		return 2, "Low"
	case tenant.SeverityMedium:
		return 3, "Medium"
	case tenant.SeverityHigh:
		return 4, "High"
	case tenant.SeverityCritical:
		return 5, "Critical"
	}
	return 0, "Unknown"
}

// ocsfEvent is one OCSF Detection Finding. Field names are the schema's;
// the order is the line's.
type ocsfEvent struct {
	ActivityID     int                 `json:"activity_id"`
	ActivityName   string              `json:"activity_name"`
	CategoryUID    int                 `json:"category_uid"`
	CategoryName   string              `json:"category_name"`
	ClassUID       int                 `json:"class_uid"`
	ClassName      string              `json:"class_name"`
	TypeUID        int                 `json:"type_uid"`
	TypeName       string              `json:"type_name"`
	SeverityID     int                 `json:"severity_id"`
	Severity       string              `json:"severity"`
	StatusID       int                 `json:"status_id"`
	Status         string              `json:"status"`
	Time           int64               `json:"time"`
	TimezoneOffset int                 `json:"timezone_offset"`
	Message        string              `json:"message"`
	IsAlert        bool                `json:"is_alert"`
	FindingInfo    ocsfFindingInfo     `json:"finding_info"`
	Resources      []ocsfResource      `json:"resources"`
	Evidences      []ocsfEvidence      `json:"evidences"`
	Metadata       ocsfMetadata        `json:"metadata"`
	Unmapped       ocsfUnmappedPayload `json:"unmapped"`
}

// ocsfUnmappedPayload is a line's unmapped object: ocsfUnmappedFinding for
// a finding, ocsfIncidentUnmapped for an incident.
type ocsfUnmappedPayload = any

type ocsfFindingInfo struct {
	UID           string       `json:"uid"`
	Title         string       `json:"title"`
	Desc          string       `json:"desc,omitempty"`
	Analytic      ocsfAnalytic `json:"analytic"`
	Attacks       []ocsfAttack `json:"attacks,omitempty"`
	FirstSeenTime int64        `json:"first_seen_time,omitempty"`
	LastSeenTime  int64        `json:"last_seen_time,omitempty"`
	// An incident's findings (their lines' uids) and how many.
	RelatedEvents      []ocsfRelatedEvent `json:"related_events,omitempty"`
	RelatedEventsCount int                `json:"related_events_count,omitempty"`
}

type ocsfAnalytic struct {
	UID    string `json:"uid"`
	Name   string `json:"name,omitempty"`
	TypeID int    `json:"type_id"`
	Type   string `json:"type"`
}

type ocsfAttack struct {
	Technique    ocsfEntity  `json:"technique"`
	SubTechnique *ocsfEntity `json:"sub_technique,omitempty"`
}

// ocsfEntity is an OCSF technique or sub_technique: its ATT&CK id.
type ocsfEntity struct {
	UID string `json:"uid"`
}

type ocsfResource struct {
	UID    string `json:"uid,omitempty"`
	Name   string `json:"name,omitempty"`
	Type   string `json:"type"`
	RoleID int    `json:"role_id"`
	Role   string `json:"role"`
}

// ocsfEvidence is one evidence artifact: the source address of the
// activity when the evidence names one, else the evidence itself as data.
type ocsfEvidence struct {
	Name        string        `json:"name"`
	SrcEndpoint *ocsfEndpoint `json:"src_endpoint,omitempty"`
	Data        any           `json:"data,omitempty"` // the evidence map; an empty one is kept
}

type ocsfEndpoint struct {
	IP string `json:"ip"`
}

type ocsfMetadata struct {
	Version   string          `json:"version"`
	Product   ocsfProductInfo `json:"product"`
	TenantUID string          `json:"tenant_uid,omitempty"`
}

type ocsfProductInfo struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
	Version    string `json:"version"`
}

// ocsfUnmappedFinding keeps tenantwatch's own fields of a finding that
// OCSF has no attribute for: the raw evidence, the subject's type as
// findings.json names it, the rule's MITRE ids as given, and observedAt.
type ocsfUnmappedFinding struct {
	Rule        string         `json:"rule"`
	SubjectType string         `json:"subject_type"`
	ObservedAt  string         `json:"observed_at,omitempty"`
	MITRE       []string       `json:"mitre"`
	Evidence    map[string]any `json:"evidence"`
	Change      string         `json:"change,omitempty"`
	// Accepted is the accept file's mark of an accepted (Suppressed)
	// finding, as in findings.json.
	Accepted *accept.Mark `json:"accepted,omitempty"`
}

// WriteOCSF writes findings.ocsf.jsonl: one OCSF 1.8.0 Detection Finding
// (class_uid 2004, category_uid 2) per line, one per finding in d's order,
// then, when d was compared with an earlier scan, one per resolved finding;
// an empty file when there are none. It maps a finding so:
//
//   - activity_id 1 Create, status_id 1 New (type_uid 200401), is_alert
//     true: a scan without history reports every finding as new; compared,
//     a still-open finding is 2 Update / 2 In Progress and a resolved one
//     3 Close / 4 Resolved with is_alert false; a finding an accept file
//     accepts (Document.Acceptance) is status_id 3 Suppressed, is_alert
//     false, its activity as otherwise;
//   - time: the report's generatedAt; timezone_offset 0; times are epoch
//     milliseconds (OCSF timestamp_t);
//   - severity_id: info 1 Informational, low 2, medium 3, high 4,
//     critical 5, with severity the caption;
//   - finding_info: uid the finding key, title, desc the rule's
//     description, analytic {uid: rule id, name: rule title, type_id 1
//     Rule}, attacks one per ATT&CK id (T1098.001 is technique T1098 with
//     sub_technique T1098.001; no names, tactics or matrix version: the
//     catalogue holds ids only), first_seen_time and last_seen_time
//     (observedAt);
//   - resources: the subject {uid: object id, name, type: user,
//     servicePrincipal, application, group or organization, role_id 1
//     Target};
//   - evidences: one artifact named by the rule id, with src_endpoint.ip
//     when the evidence names a valid actorIp, ip or ipAddress, otherwise
//     the evidence as data;
//   - metadata: version "1.8.0", product {name tenantwatch, vendor_name,
//     version}, tenant_uid;
//   - unmapped: rule, subject_type, observed_at, mitre (as given), the
//     raw evidence, change when compared, and accepted (as in
//     findings.json) when accepted.
//
// Then one line per incident (incidentEvent): finding_info.uid the
// incident id, analytic tenantwatch.incident, related_events the uids of
// its findings' lines, unmapped its timeline and entities. Strings
// are JSON-escaped as WriteJSON escapes them, so printing the file cannot
// drive a terminal. It fails, writing nothing, when a finding cannot be
// encoded or w fails.
func WriteOCSF(w io.Writer, d *Document) error {
	if err := checkDocument(d); err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // one line per event; escapes <, > and &
	for i, ev := range ocsfEvents(d) {
		if err := enc.Encode(ev); err != nil {
			return fmt.Errorf("report: ocsf event %d: %w", i, err)
		}
	}
	if _, err := w.Write(escapeJSONControls(buf.Bytes())); err != nil {
		return fmt.Errorf("report: write ocsf: %w", err)
	}
	return nil
}

// ocsfEvents lists the events of d: one per finding, in order, then one
// per resolved finding. A finding is activity Create, status New; when d
// was compared, an open one is Update, In Progress (reported before and
// not resolved: the closest of the Finding class's statuses; the
// dictionary has no "open"), and a resolved one is Close, Resolved, not an
// alert.
func ocsfEvents(d *Document) []ocsfEvent {
	meta := ocsfMetadata{
		Version:   OCSFVersion,
		Product:   ocsfProductInfo{Name: ocsfProduct, VendorName: ocsfVendor, Version: ocsfProductVersion(d.Version)},
		TenantUID: d.TenantID,
	}
	rules := make(map[string]tenant.Rule, len(d.Rules))
	for _, r := range d.Rules {
		if _, dup := rules[r.ID]; !dup {
			rules[r.ID] = r
		}
	}
	out := make([]ocsfEvent, 0, len(d.Findings))
	for i, f := range d.Findings {
		st := ocsfFindingState{activity: ocsfActivityCreate, status: ocsfStatusNew, firstSeen: f.ObservedAt}
		if c, ok := changeOf(d, i); ok {
			st.firstSeen, st.change = c.FirstSeen, string(c.Change)
			if c.Change == ChangeOpen {
				st.activity, st.status = ocsfActivityUpdate, ocsfStatusInProgress
			}
		}
		if m := acceptedOf(d, i); m != nil {
			st.status, st.accepted = ocsfStatusSuppressed, m
		}
		out = append(out, findingEvent(d, meta, rules[f.Rule], f, st))
	}
	if d.Changes != nil {
		for _, f := range d.Changes.Resolved {
			st := ocsfFindingState{activity: ocsfActivityClose, status: ocsfStatusResolved, firstSeen: f.ObservedAt, change: string(ChangeResolved)}
			out = append(out, findingEvent(d, meta, rules[f.Rule], f, st))
		}
	}
	// Incidents: one Detection Finding each, after the findings, whose
	// lines they name in related_events.
	types := make(map[string]int, len(out))
	for _, ev := range out {
		if _, dup := types[ev.FindingInfo.UID]; !dup {
			types[ev.FindingInfo.UID] = ev.TypeUID
		}
	}
	sevs := make(map[string]tenant.Severity, len(d.Findings))
	for _, f := range d.Findings {
		if _, dup := sevs[f.Key]; !dup {
			sevs[f.Key] = f.Severity
		}
	}
	for _, inc := range d.Incidents {
		out = append(out, incidentEvent(d, meta, inc, types, sevs))
	}
	return out
}

// ocsfFindingState is where a finding stands: its activity and status,
// and when it was first seen.
type ocsfFindingState struct {
	activity, status int
	firstSeen        time.Time
	change           string // unmapped.change: "", "new", "open" or "resolved"
	accepted         *accept.Mark
}

// findingEvent maps one finding to a Detection Finding.
func findingEvent(d *Document, meta ocsfMetadata, rule tenant.Rule, f tenant.Finding, st ocsfFindingState) ocsfEvent {
	sevID, sevName := ocsfSeverity(f.Severity)
	title := f.Title
	if title == "" {
		title = rule.Title
	}
	if title == "" {
		title = f.Rule
	}
	first, last := st.firstSeen, f.ObservedAt
	if first.IsZero() || (!last.IsZero() && last.Before(first)) {
		first = last
	}
	ev := ocsfEvent{
		ActivityID:     st.activity,
		ActivityName:   ocsfActivityNames[st.activity],
		CategoryUID:    ocsfCategoryUID,
		CategoryName:   "Findings",
		ClassUID:       ocsfClassUID,
		ClassName:      "Detection Finding",
		TypeUID:        ocsfClassUID*100 + st.activity,
		TypeName:       "Detection Finding: " + ocsfActivityNames[st.activity],
		SeverityID:     sevID,
		Severity:       sevName,
		StatusID:       st.status,
		Status:         ocsfStatusNames[st.status],
		Time:           epochMillis(d.GeneratedAt),
		TimezoneOffset: 0, // every time is UTC
		Message:        ocsfMessage(title, f.Subject),
		IsAlert:        st.status != ocsfStatusResolved && st.status != ocsfStatusSuppressed,
		FindingInfo: ocsfFindingInfo{
			UID:           f.Key,
			Title:         title,
			Desc:          rule.Description,
			Analytic:      ocsfAnalytic{UID: f.Rule, Name: rule.Title, TypeID: 1, Type: "Rule"},
			Attacks:       ocsfAttacks(f.MITRE),
			FirstSeenTime: epochMillis(first),
			LastSeenTime:  epochMillis(last),
		},
		Resources: []ocsfResource{{UID: f.Subject.ID, Name: f.Subject.Name, Type: ocsfResourceType(f.Subject.Type), RoleID: 1, Role: "Target"}},
		Evidences: []ocsfEvidence{ocsfEvidenceOf(f)},
		Metadata:  meta,
		Unmapped: ocsfUnmappedFinding{
			Rule:        f.Rule,
			SubjectType: string(f.Subject.Type),
			MITRE:       f.MITRE,
			Evidence:    f.Evidence,
			Change:      st.change,
			Accepted:    st.accepted,
		},
	}
	u := ev.Unmapped.(ocsfUnmappedFinding)
	if u.MITRE == nil {
		u.MITRE = []string{}
	}
	if u.Evidence == nil {
		u.Evidence = map[string]any{}
	}
	if !f.ObservedAt.IsZero() {
		u.ObservedAt = f.ObservedAt.UTC().Format(time.RFC3339Nano)
	}
	ev.Unmapped = u
	return ev
}

// ocsfProductVersion is the product version: the build's, or "unknown".
func ocsfProductVersion(v string) string {
	if v == "" {
		return "unknown"
	}
	return v
}

// ocsfMessage is "<title>: <subject name>" (or the title alone).
func ocsfMessage(title string, s tenant.Subject) string {
	name := s.Name
	if name == "" {
		name = s.ID
	}
	if name == "" {
		return title
	}
	return title + ": " + name
}

// ocsfResourceType names the subject's kind as Microsoft Graph does
// (user, servicePrincipal, application, group; the tenant is an
// organization).
func ocsfResourceType(t tenant.SubjectType) string {
	if t == tenant.SubjectTenant {
		return "organization"
	}
	if t == "" {
		return "unknown"
	}
	return string(t)
}

// attackID matches ATT&CK technique and sub-technique ids.
var attackID = regexp.MustCompile(`^(T\d{4})(?:\.(\d{3}))?$`)

// ocsfAttacks maps MITRE ids to attack objects: "T1098.001" is technique
// T1098 with sub-technique T1098.001. Ids that are not technique ids are
// left out here (they stay in unmapped.mitre). Technique names, tactics
// and the ATT&CK version are not set: the rule catalogue holds ids only.
func ocsfAttacks(ids []string) []ocsfAttack {
	var out []ocsfAttack
	for _, id := range ids {
		m := attackID.FindStringSubmatch(id)
		if m == nil {
			continue
		}
		a := ocsfAttack{Technique: ocsfEntity{UID: m[1]}}
		if m[2] != "" {
			a.SubTechnique = &ocsfEntity{UID: id}
		}
		out = append(out, a)
	}
	return out
}

// ocsfIPKeys are the evidence keys that hold the address an activity came
// from, in order of preference.
var ocsfIPKeys = []string{"actorIp", "ip", "ipAddress"}

// ocsfEvidenceOf is a finding's evidence artifact: its source address as
// src_endpoint when the evidence names a valid one, otherwise the evidence
// map as data (OCSF wants at least one artifact attribute). The evidence is
// always in unmapped.evidence as well.
func ocsfEvidenceOf(f tenant.Finding) ocsfEvidence {
	ev := ocsfEvidence{Name: f.Rule}
	for _, k := range ocsfIPKeys {
		s, ok := f.Evidence[k].(string)
		if !ok {
			continue
		}
		if a, err := netip.ParseAddr(strings.TrimSpace(s)); err == nil {
			ev.SrcEndpoint = &ocsfEndpoint{IP: a.Unmap().String()}
			return ev
		}
	}
	if f.Evidence == nil {
		ev.Data = map[string]any{}
	} else {
		ev.Data = f.Evidence
	}
	return ev
}

// epochMillis is t in milliseconds since the Unix epoch (OCSF's
// timestamp_t), 0 for the zero time.
func epochMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
