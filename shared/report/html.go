package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// WriteHTML writes report.html: one self-contained page (inline CSS, no
// scripts, fonts or images) under a strict Content-Security-Policy. Every
// string from d reaches the page through display and then escapeHTML, as
// element text (see the package documentation and htmlwrite.go); only MITRE
// ids of the form T1234 or T1234.567 become links. It fails, writing
// nothing, when evidence is not JSON-encodable or w fails.
func WriteHTML(w io.Writer, d *Document) error {
	if err := checkDocument(d); err != nil {
		return err
	}
	v, err := newHTMLView(d)
	if err != nil {
		return err
	}
	var page htmlWriter
	page.page(v)
	if _, err := w.Write(page.b.Bytes()); err != nil {
		return fmt.Errorf("report: write html: %w", err)
	}
	return nil
}

// htmlView is what the page shows. Every string in it is plain text that
// htmlWriter escapes, except CSS, the package's constant style sheet.
type htmlView struct {
	CSS         string // reportCSS, a constant: never tenant data
	CSP         string
	TenantName  string
	TenantID    string
	Generated   timeView
	Since       timeView
	Version     string
	Total       int
	Severities  []severityView
	RuleCount   int
	RulesRun    int
	Rules       []ruleView
	Skipped     []skippedView
	Unavailable []unavailableView
	Findings    []findingView
	Changes     *changesView // nil unless compared with an earlier scan
	Incidents   []incidentView
	Acceptance  *acceptanceView // nil unless an accept file was applied
}

// changesView is the "What changed" section.
type changesView struct {
	ComparedWith        timeView
	New, Open, Resolved int
	NewRows             []changeView
	ResolvedRows        []changeView
}

// changeView is one new or resolved finding in the "What changed" section.
type changeView struct {
	Severity    severityView
	Rule        string
	SubjectType string
	SubjectName string
	SubjectID   string
}

type timeView struct {
	Attr string // RFC 3339, for <time datetime>
	Text string
}

type severityView struct {
	Name  string
	Class string // one of a fixed set of class names
	Count int
}

type mitreView struct {
	ID  string
	URL string // "" when ID is not a well-formed technique id
}

type ruleView struct {
	ID          string
	Title       string
	Description string
	Known       bool
	Severity    severityView
	MITRE       []mitreView
	Count       int
	Skipped     bool
}

type skippedView struct {
	Rule   string
	Title  string
	Reason string
}

type unavailableView struct {
	Source string
	Reason string
	Rules  []string
}

type findingView struct {
	Anchor      string
	Severity    severityView
	Title       string
	Rule        string
	SubjectType string
	SubjectName string
	SubjectID   string
	Observed    timeView
	MITRE       []mitreView
	Key         string
	Evidence    node
	Accepted    *acceptedView // nil unless an accept file accepts it
}

// node is one evidence value, normalised through its JSON encoding.
type node struct {
	Kind    string // "text", "lit", "list", "map", "table"
	Text    string
	Items   []node
	Fields  []field
	Columns []string
	Rows    [][]node
}

type field struct {
	Key   string
	Value node
}

// maxEvidenceDepth bounds nesting in the rendered evidence; deeper values
// are shown as compact JSON text.
const maxEvidenceDepth = 12

func severityOf(s tenant.Severity) severityView {
	if !s.Valid() {
		return severityView{Name: display(s.String()), Class: "sev-unknown"}
	}
	return severityView{Name: s.String(), Class: "sev-" + s.String()}
}

func mitreViews(re *regexp.Regexp, ids []string) []mitreView {
	out := make([]mitreView, 0, len(ids))
	for _, id := range ids {
		out = append(out, mitreView{ID: display(id), URL: mitreURL(re, id)})
	}
	return out
}

func newHTMLView(d *Document) (*htmlView, error) {
	re := mitreID()
	sum := sha256.Sum256([]byte(reportCSS))
	v := &htmlView{
		CSS: reportCSS,
		CSP: "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
			"img-src 'none'; font-src 'none'; base-uri 'none'; form-action 'none'",
		TenantName: display(d.TenantName),
		TenantID:   display(d.TenantID),
		Generated:  timeView{Attr: timeAttr(d.GeneratedAt), Text: timeText(d.GeneratedAt)},
		Since:      timeView{Attr: timeAttr(d.Since), Text: timeText(d.Since)},
		Version:    display(d.Version),
		Total:      len(d.Findings),
		Incidents:  incidentViews(d),
	}

	counts := severityCounts(d.Findings)
	for _, s := range severitiesDesc() {
		sv := severityOf(s)
		sv.Count = counts[s]
		v.Severities = append(v.Severities, sv)
	}
	if n := counts[0]; n > 0 {
		v.Severities = append(v.Severities, severityView{Name: "invalid", Class: "sev-unknown", Count: n})
	}

	titles := make(map[string]string)
	for _, rs := range summarizeRules(d) {
		rv := ruleView{
			ID:          display(rs.Rule.ID),
			Title:       display(rs.Rule.Title),
			Description: display(rs.Rule.Description),
			Known:       rs.Known,
			MITRE:       mitreViews(re, rs.Rule.MITRE),
			Count:       rs.Count,
			Skipped:     rs.Skipped,
		}
		if rs.Known {
			rv.Severity = severityOf(rs.Rule.Severity)
			v.RuleCount++
			if !rs.Skipped {
				v.RulesRun++
			}
		}
		titles[rs.Rule.ID] = rv.Title
		v.Rules = append(v.Rules, rv)
	}
	for _, s := range d.Skipped {
		v.Skipped = append(v.Skipped, skippedView{Rule: display(s.Rule), Title: titles[s.Rule], Reason: display(s.Reason)})
	}
	for _, src := range sortedSources(d.Unavailable) {
		uv := unavailableView{Source: display(string(src)), Reason: display(d.Unavailable[src])}
		for _, id := range rulesNeeding(d.Rules, src) {
			uv.Rules = append(uv.Rules, display(id))
		}
		v.Unavailable = append(v.Unavailable, uv)
	}

	for i, f := range d.Findings {
		ev, err := evidenceNode(f.Evidence)
		if err != nil {
			return nil, fmt.Errorf("report: finding %d (%s): %w", i, f.Key, err)
		}
		v.Findings = append(v.Findings, findingView{
			Anchor:      "finding-" + strconv.Itoa(i+1),
			Severity:    severityOf(f.Severity),
			Title:       display(f.Title),
			Rule:        display(f.Rule),
			SubjectType: display(string(f.Subject.Type)),
			SubjectName: display(f.Subject.Name),
			SubjectID:   display(f.Subject.ID),
			Observed:    timeView{Attr: timeAttr(f.ObservedAt), Text: timeText(f.ObservedAt)},
			MITRE:       mitreViews(re, f.MITRE),
			Key:         display(f.Key),
			Evidence:    ev,
			Accepted:    acceptedViewOf(acceptedOf(d, i)),
		})
	}
	if c := d.Changes; c != nil {
		cv := &changesView{ComparedWith: timeView{Attr: timeAttr(c.ComparedWith), Text: timeText(c.ComparedWith)}}
		cv.New, cv.Open, cv.Resolved = c.Count()
		for i, f := range d.Findings {
			if fc, ok := changeOf(d, i); ok && fc.Change == ChangeNew {
				cv.NewRows = append(cv.NewRows, changeRowView(f))
			}
		}
		for _, f := range c.Resolved {
			cv.ResolvedRows = append(cv.ResolvedRows, changeRowView(f))
		}
		v.Changes = cv
	}
	v.Acceptance = acceptanceViewOf(d)
	return v, nil
}

func changeRowView(f tenant.Finding) changeView {
	return changeView{
		Severity:    severityOf(f.Severity),
		Rule:        display(f.Rule),
		SubjectType: display(string(f.Subject.Type)),
		SubjectName: display(f.Subject.Name),
		SubjectID:   display(f.Subject.ID),
	}
}

// evidenceNode normalises evidence through JSON (what findings.json says)
// and builds the tree htmlWriter.value renders.
func evidenceNode(ev map[string]any) (node, error) {
	if ev == nil {
		ev = map[string]any{}
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return node{}, fmt.Errorf("encode evidence: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return node{}, fmt.Errorf("decode evidence: %w", err)
	}
	return toNode(x, 0), nil
}

func toNode(x any, depth int) node {
	if depth > maxEvidenceDepth {
		b, _ := json.Marshal(x) // re-encoding decoded JSON cannot fail
		return node{Kind: "text", Text: displayValue(string(b))}
	}
	switch x := x.(type) {
	case nil:
		return node{Kind: "lit", Text: "null"}
	case bool:
		return node{Kind: "lit", Text: strconv.FormatBool(x)}
	case json.Number:
		return node{Kind: "lit", Text: display(x.String())}
	case string:
		if x == "" {
			return node{Kind: "lit", Text: `""`}
		}
		return node{Kind: "text", Text: displayValue(x)}
	case []any:
		if len(x) == 0 {
			return node{Kind: "lit", Text: "[ ]"}
		}
		if n, ok := tableNode(x, depth); ok {
			return n
		}
		n := node{Kind: "list"}
		for _, e := range x {
			n.Items = append(n.Items, toNode(e, depth+1))
		}
		return n
	case map[string]any:
		if len(x) == 0 {
			return node{Kind: "lit", Text: "{ }"}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		n := node{Kind: "map"}
		for _, k := range keys {
			n.Fields = append(n.Fields, field{Key: display(k), Value: toNode(x[k], depth+1)})
		}
		return n
	}
	return node{Kind: "text", Text: display(fmt.Sprint(x))}
}

// tableNode renders a list of objects as a table whose columns are the union
// of their keys, sorted. Lists holding anything else are not tables.
func tableNode(xs []any, depth int) (node, bool) {
	cols := make(map[string]bool)
	for _, e := range xs {
		m, ok := e.(map[string]any)
		if !ok || len(m) == 0 {
			return node{}, false
		}
		for k := range m {
			cols[k] = true
		}
	}
	keys := make([]string, 0, len(cols))
	for k := range cols {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	n := node{Kind: "table"}
	for _, k := range keys {
		n.Columns = append(n.Columns, display(k))
	}
	for _, e := range xs {
		m := e.(map[string]any)
		row := make([]node, 0, len(keys))
		for _, k := range keys {
			if v, ok := m[k]; ok {
				row = append(row, toNode(v, depth+2))
			} else {
				row = append(row, node{Kind: "lit", Text: "—"})
			}
		}
		n.Rows = append(n.Rows, row)
	}
	return n, true
}
