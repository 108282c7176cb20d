package sentinel

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/incident"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Limits of the Logs Ingestion API (Azure Monitor service limits, "Logs
// Ingestion API"): 1 MB per call, compressed or not; field values over
// 64 KB are truncated by the service. The API documents no limit on
// records per call.
const (
	// MaxCallBytes is the API's limit of one call.
	MaxCallBytes = 1_000_000
	// MaxItemBytes is the most uncompressed JSON one outbox item (one call)
	// holds: well under MaxCallBytes, and small enough for a Table Storage
	// entity (1 MiB, base64 in a binary property).
	MaxItemBytes = 256 << 10
	// MaxFieldBytes is the most JSON a dynamic value (Evidence, Timeline)
	// may take before it is replaced by {"truncated": true, "bytes": n}:
	// under the service's 64 KB, so no value is cut into invalid JSON, and
	// small enough that any row fits in an item.
	MaxFieldBytes = 32 << 10
)

// FindingRow is one row of TenantWatchFindings_CL.
type FindingRow struct {
	TimeGenerated   time.Time       `json:"TimeGenerated"`
	FindingKey      string          `json:"FindingKey"`
	Revision        int64           `json:"Revision"`
	Change          string          `json:"Change"` // new, baseline
	Rule            string          `json:"Rule"`
	Severity        string          `json:"Severity"`
	SeverityID      int             `json:"SeverityId"`
	Title           string          `json:"Title"`
	SubjectType     string          `json:"SubjectType"`
	SubjectID       string          `json:"SubjectId"`
	SubjectName     string          `json:"SubjectName"`
	ObservedAt      time.Time       `json:"ObservedAt"`
	Mitre           []string        `json:"Mitre"`
	Evidence        json.RawMessage `json:"Evidence"`
	AccountUpn      string          `json:"AccountUpn"`
	AccountObjectID string          `json:"AccountObjectId"`
	IPAddress       string          `json:"IpAddress"`
	AppID           string          `json:"AppId"`
	TenantID        string          `json:"TenantId"`
}

// IncidentRow is one row of TenantWatchIncidents_CL.
type IncidentRow struct {
	TimeGenerated time.Time       `json:"TimeGenerated"`
	IncidentID    string          `json:"IncidentId"`
	Revision      int64           `json:"Revision"`
	IncidentType  string          `json:"IncidentType"`
	Title         string          `json:"Title"`
	Severity      string          `json:"Severity"`
	SeverityID    int             `json:"SeverityId"`
	Raised        bool            `json:"Raised"`
	Techniques    []string        `json:"Techniques"`
	FirstSeen     time.Time       `json:"FirstSeen"`
	LastSeen      time.Time       `json:"LastSeen"`
	Entities      []string        `json:"Entities"`
	FindingKeys   []string        `json:"FindingKeys"`
	Timeline      json.RawMessage `json:"Timeline"`
	AccountUpn    string          `json:"AccountUpn"`
	IPAddress     string          `json:"IpAddress"`
	AppID         string          `json:"AppId"`
	Accounts      []string        `json:"Accounts"`
	IPAddresses   []string        `json:"IpAddresses"`
	AppIDs        []string        `json:"AppIds"`
	TenantID      string          `json:"TenantId"`
}

// severityID is OCSF's scale, as findings.ocsf.jsonl uses it: info 1 …
// critical 5.
func severityID(s tenant.Severity) int {
	if !s.Valid() {
		return 0
	}
	return int(s-tenant.SeverityInfo) + 1
}

// NewFindingRow is the row of f, enqueued at now with revision rev
// (change: "new" or "baseline").
func NewFindingRow(f tenant.Finding, change, tenantID string, now time.Time, rev int64) FindingRow {
	r := FindingRow{
		TimeGenerated: now.UTC(), FindingKey: f.Key, Revision: rev, Change: change,
		Rule: f.Rule, Severity: f.Severity.String(), SeverityID: severityID(f.Severity), Title: f.Title,
		SubjectType: string(f.Subject.Type), SubjectID: f.Subject.ID, SubjectName: f.Subject.Name,
		ObservedAt: f.ObservedAt.UTC(), Mitre: nonNil(f.MITRE), Evidence: capJSON(f.Evidence), TenantID: tenantID,
	}
	if f.Subject.Type == tenant.SubjectUser {
		r.AccountObjectID = f.Subject.ID
		if strings.Contains(f.Subject.Name, "@") {
			r.AccountUpn = f.Subject.Name
		}
	}
	// The first entity the evidence names at its top level: the account
	// (userPrincipalName, or an actor given by UPN), the address, the app.
	if r.AccountUpn == "" {
		for _, k := range []string{"userPrincipalName", "memberUserPrincipalName", "actor"} {
			if s, ok := f.Evidence[k].(string); ok && strings.Contains(s, "@") {
				r.AccountUpn = s
				break
			}
		}
	}
	for _, k := range []string{"ip", "actorIp", "clientIp"} {
		if s, ok := f.Evidence[k].(string); ok {
			if ip, ok := parseIP(s); ok {
				r.IPAddress = ip
				break
			}
		}
	}
	for _, k := range []string{"appId", "actorAppId"} {
		if s, ok := f.Evidence[k].(string); ok && s != "" {
			r.AppID = s
			break
		}
	}
	return r
}

// NewIncidentRow is the row of inc, enqueued at now with revision rev. Its
// type is that of its first event finding's rule.
func NewIncidentRow(inc incident.Incident, tenantID string, now time.Time, rev int64) IncidentRow {
	r := IncidentRow{
		TimeGenerated: now.UTC(), IncidentID: inc.ID, Revision: rev, IncidentType: IncidentType(inc),
		Title: inc.Title, Severity: inc.Severity.String(), SeverityID: severityID(inc.Severity), Raised: inc.Raised,
		Techniques: nonNil(inc.Techniques), FirstSeen: inc.FirstSeen.UTC(), LastSeen: inc.LastSeen.UTC(),
		Entities: nonNil(inc.Entities), FindingKeys: nonNil(inc.Findings), Timeline: capJSON(inc.Timeline),
		Accounts: []string{}, IPAddresses: []string{}, AppIDs: []string{}, TenantID: tenantID,
	}
	for _, e := range inc.Entities {
		kind, v, _ := strings.Cut(e, ":")
		switch kind {
		case "upn":
			r.Accounts = append(r.Accounts, v)
		case "ip":
			r.IPAddresses = append(r.IPAddresses, v)
		case "app":
			r.AppIDs = append(r.AppIDs, v)
		}
	}
	if len(r.Accounts) > 0 {
		r.AccountUpn = r.Accounts[0]
	}
	if len(r.IPAddresses) > 0 {
		r.IPAddress = r.IPAddresses[0]
	}
	if len(r.AppIDs) > 0 {
		r.AppID = r.AppIDs[0]
	}
	return r
}

// IncidentType is the type of inc: that of its first event finding's rule
// (the timeline is in time order; posture steps attach, they do not
// start an attack), else of its first step.
func IncidentType(inc incident.Incident) string {
	for _, s := range inc.Timeline {
		if !s.Posture {
			if t := TypeOfRule(s.Rule); t != "" {
				return t
			}
		}
	}
	for _, s := range inc.Timeline {
		if t := TypeOfRule(s.Rule); t != "" {
			return t
		}
	}
	return TypePrivilegeEscalation
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func parseIP(s string) (string, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().String(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().String(), true
	}
	return "", false
}

// capJSON is v as JSON, or {"truncated": true, "bytes": n} when it takes
// more than MaxFieldBytes (or cannot be encoded).
func capJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`{"truncated":true,"error":"not encodable"}`)
	}
	if string(b) == "null" {
		return json.RawMessage(`{}`)
	}
	if len(b) > MaxFieldBytes {
		return json.RawMessage(fmt.Sprintf(`{"truncated":true,"bytes":%d}`, len(b)))
	}
	return b
}

// Batch is one call's worth of rows: a JSON array under MaxItemBytes and
// the keys of its rows.
type Batch struct {
	Stream string
	JSON   []byte
	Keys   []string
}

// batches cuts rows (each with its key) into JSON arrays of at most max
// bytes. A single row larger than max (it cannot be: fields are capped) is
// an error.
func batches[R any](stream string, rows []R, key func(R) string, max int) ([]Batch, error) {
	var out []Batch
	cur := Batch{Stream: stream, JSON: []byte{'['}}
	for _, r := range rows {
		b, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("sentinel: encode row %s: %w", key(r), err)
		}
		if len(b)+2 > max {
			return nil, fmt.Errorf("sentinel: row %s is %d bytes, over the %d of one call", key(r), len(b), max)
		}
		if len(cur.Keys) > 0 && len(cur.JSON)+1+len(b)+1 > max {
			out = append(out, closeBatch(cur))
			cur = Batch{Stream: stream, JSON: []byte{'['}}
		}
		if len(cur.Keys) > 0 {
			cur.JSON = append(cur.JSON, ',')
		}
		cur.JSON = append(cur.JSON, b...)
		cur.Keys = append(cur.Keys, key(r))
	}
	if len(cur.Keys) > 0 {
		out = append(out, closeBatch(cur))
	}
	return out, nil
}

func closeBatch(b Batch) Batch {
	b.JSON = append(b.JSON, ']')
	return b
}
