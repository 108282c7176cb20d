package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tenantwatch/tenantwatch/shared/incident"
	"github.com/tenantwatch/tenantwatch/shared/redact"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// MaxPayloadBytes is the largest message FindingCard and DigestCard return,
// in bytes of JSON. Teams refuses messages over about 28 KB ("Request entity
// too large"); the builders stop 4 KiB short of 28 KiB to leave room for
// what the Workflows flow adds when it posts the card.
const MaxPayloadBytes = 24 << 10

// ErrCardTooLarge is returned when a card does not fit in MaxPayloadBytes
// even with all evidence and list entries removed. Every field is bounded,
// so it signals a bug rather than unusual input.
var ErrCardTooLarge = errors.New("notify: card does not fit the teams size limit")

// Card layout constants.
const (
	schemaURL   = "http://adaptivecards.io/schemas/adaptive-card.json"
	cardVersion = "1.4"
	cardType    = "application/vnd.microsoft.card.adaptive"

	maxTitleRunes   = 200 // finding or digest title
	maxNameRunes    = 200 // subject name on a finding card
	maxIDRunes      = 100 // subject id, rule id
	maxTenantRunes  = 100
	maxMITRE        = 8
	maxMITRERunes   = 20
	maxNoteRunes    = 500
	maxEvidenceFact = 25 // evidence lines on a finding card, at most
	maxListItems    = 10 // scalars shown from one evidence array
	maxEvidenceDeep = 4  // nesting flattened; deeper values shown as JSON

	maxDigestFindings = 50 // finding lines in a digest, at most
	maxDigestSkipped  = 10
	digestTitleRunes  = 100 // finding title on a digest line
	digestNameRunes   = 80
	maxReasonRunes    = 160
	maxReportURLBytes = 2048
)

// CardOptions configures FindingCard and DigestCard. A nil *CardOptions
// means the defaults.
type CardOptions struct {
	// ReportURL is a link to tenantwatch's own report, offered as the card's
	// only action ("Open report"). Only https URLs with a host, or http URLs
	// on a loopback host (tenant.IsLoopbackHost; local runs), without user
	// information, are accepted; anything else is left out.
	ReportURL string
	// TenantName is shown as the tenant's name. It is tenant-controlled and
	// cleaned like every other tenant string.
	TenantName string
	// Now gives the digest time when Digest.Generated is zero (default
	// time.Now).
	Now func() time.Time
}

func (o *CardOptions) withDefaults() CardOptions {
	var c CardOptions
	if o != nil {
		c = *o
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Digest is the content of a digest card: counts by severity, a list of
// findings (as many as fit) and the checks that were skipped.
type Digest struct {
	Title     string // default "tenantwatch digest"
	Generated time.Time
	// Counts by severity; nil means count Findings. When the counts add up
	// to more than len(Findings), the "and N more" line uses the counts.
	Counts   map[tenant.Severity]int
	Findings []tenant.Finding
	Skipped  []tenant.Skipped
	// ReportURL overrides CardOptions.ReportURL; the same rules apply.
	ReportURL string
	Note      string // one paragraph under the counts; cleaned
	// Incidents group the digest's findings: each incident that holds
	// one of Findings is one line (severity, chain title, id, how many of
	// its findings the digest holds), at most 10, and its findings are
	// not listed one by one.
	Incidents []incident.Incident
}

// The Teams message and the Adaptive Card elements tenantwatch uses: the
// body is RichTextBlocks of TextRuns and nothing else. A TextRun's text is
// shown literally (no Markdown, no HTML), so every tenant-controlled or
// machine value (names, ids, rule ids, dates, evidence) appears exactly as
// cleaned, with no escape for a client to show or hide. TextBlock and
// FactSet, whose text Teams renders as Markdown, are not used.
type message struct {
	Type        string       `json:"type"`
	Attachments []attachment `json:"attachments"`
}

type attachment struct {
	ContentType string  `json:"contentType"`
	ContentURL  *string `json:"contentUrl"`
	Content     card    `json:"content"`
}

type card struct {
	Schema  string    `json:"$schema"`
	Type    string    `json:"type"`
	Version string    `json:"version"`
	MSTeams msTeams   `json:"msteams"`
	Body    []element `json:"body"`
	Actions []action  `json:"actions,omitempty"`
}

type msTeams struct {
	Width string `json:"width"`
}

// element is a RichTextBlock: one paragraph of TextRuns. ID names the
// paragraphs that carry a field a program may want (the title, the subject,
// the rule id, the object id); ids are unique within a card.
type element struct {
	Type    string    `json:"type"`
	ID      string    `json:"id,omitempty"`
	Inlines []textRun `json:"inlines"`
	Spacing string    `json:"spacing,omitempty"`
}

type textRun struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Size     string `json:"size,omitempty"`
	Weight   string `json:"weight,omitempty"`
	Color    string `json:"color,omitempty"`
	IsSubtle bool   `json:"isSubtle,omitempty"`
}

type action struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

// run is a TextRun showing s cleaned and limited to n runes (see plain).
func run(s string, n int) textRun { return textRun{Type: "TextRun", Text: plain(s, n)} }

// richText is a paragraph of runs.
func richText(runs ...textRun) element { return element{Type: "RichTextBlock", Inlines: runs} }

// heading is the card's first paragraph: s in one bold, medium-sized run.
func heading(s string, n int) element {
	r := run(s, n)
	r.Size, r.Weight = "Medium", "Bolder"
	e := richText(r)
	e.ID = "title"
	return e
}

// subtle is a small, subtle paragraph (our own text, cleaned like any other).
func subtle(s string) element {
	r := run(s, 300)
	r.Size, r.IsSubtle = "Small", true
	return richText(r)
}

// bold is a paragraph of one bold run.
func bold(s string, n int) element {
	r := run(s, n)
	r.Weight = "Bolder"
	return richText(r)
}

// field is one "label: value" line, the label subtle, the value cleaned and
// limited to n runes ("—" when empty). It stands where a FactSet row would.
func field(id, label, value string, n int) element {
	v := run(value, n)
	if v.Text == "" {
		v.Text = "—"
	}
	l := run(label, 100)
	l.Text += ": "
	l.IsSubtle = true
	e := richText(l, v)
	e.ID, e.Spacing = id, "Small"
	return e
}

// encode renders the message with a card holding body and, when reportURL
// is valid, an action opening it.
func encode(body []element, reportURL string) ([]byte, error) {
	c := card{Schema: schemaURL, Type: "AdaptiveCard", Version: cardVersion, MSTeams: msTeams{Width: "Full"}, Body: body}
	if u := safeReportURL(reportURL); u != "" {
		c.Actions = []action{{Type: "Action.OpenUrl", Title: "Open report", URL: u}}
	}
	m := message{Type: "message", Attachments: []attachment{{ContentType: cardType, Content: c}}}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("notify: encode card: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// safeReportURL returns raw normalised when it may be a card action: https
// with a host, or http on a loopback host; no user information, no
// control characters or spaces, at most 2 KiB. Otherwise "". The query and
// fragment are dropped: a card is read by the whole channel, and a SAS
// there would open the reports to all of it.
func safeReportURL(raw string) string {
	if raw == "" || len(raw) > maxReportURLBytes {
		return ""
	}
	for _, r := range raw {
		if r <= ' ' || r == 0x7F || dropped(r) || isBreak(r) {
			return ""
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" || u.Host == "" {
		return ""
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !tenant.IsLoopbackHost(u.Hostname()) {
			return ""
		}
	default:
		return ""
	}
	return redact.URL(u.String())
}

// severityLabel is the capitalised severity name ("High").
func severityLabel(s tenant.Severity) string {
	if !s.Valid() {
		return "Unknown severity"
	}
	n := s.String()
	return strings.ToUpper(n[:1]) + n[1:]
}

// severityColor is the Adaptive Card text colour for s.
func severityColor(s tenant.Severity) string {
	switch s {
	case tenant.SeverityCritical, tenant.SeverityHigh:
		return "Attention"
	case tenant.SeverityMedium:
		return "Warning"
	}
	return "Default"
}

// timeText formats t for people: UTC, seconds (as the report does).
func timeText(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// evidenceLevel is how much evidence one attempt at a finding card shows.
type evidenceLevel struct{ facts, keyRunes, valueRunes int }

// findingLevels are tried in order until the card fits.
var findingLevels = []evidenceLevel{
	{maxEvidenceFact, 80, 300},
	{15, 60, 160},
	{8, 48, 80},
	{4, 40, 40},
	{0, 0, 0},
}

// FindingCard renders one finding as a Teams message: severity and title,
// the subject's name, type and id, the rule id, MITRE ATT&CK ids, the
// observation time in UTC and the tenant name, one "label: value" line each,
// then the evidence flattened into "key: value" lines
// ("credentials.0.keyId: key-1"), and an "Open report" action when
// opts.ReportURL is acceptable. All text is in TextRuns, which show it
// literally: every string from the finding is cleaned and bounded (see
// clean) and never escaped, so a person reads exactly the value; no tenant
// string becomes a link. When the message would
// exceed MaxPayloadBytes, fewer and shorter evidence lines are shown, down to
// none, and the card says the report has the rest. Evidence that cannot be
// encoded as JSON is left out with a note rather than failing: an alert is
// never lost to its evidence. It returns ErrCardTooLarge only if even the
// smallest card does not fit.
func FindingCard(f tenant.Finding, opts *CardOptions) ([]byte, error) {
	o := opts.withDefaults()
	facts, total, evErr := flattenEvidence(f.Evidence, maxEvidenceFact)
	for _, lv := range findingLevels {
		b, err := encode(findingBody(f, &o, facts, total, evErr, lv), o.ReportURL)
		if err != nil {
			return nil, err
		}
		if len(b) <= MaxPayloadBytes {
			return b, nil
		}
	}
	return nil, ErrCardTooLarge
}

func findingBody(f tenant.Finding, o *CardOptions, ev []evFact, total int, evErr error, lv evidenceLevel) []element {
	title := f.Title
	if strings.TrimSpace(title) == "" {
		title = f.Rule
	}
	head := heading(severityLabel(f.Severity)+": "+title, maxTitleRunes)
	head.Inlines[0].Color = severityColor(f.Severity)

	name := run(f.Subject.Name, maxNameRunes)
	if name.Text == "" {
		name.Text = "(no name)"
	}
	name.Weight = "Bolder"
	label := textRun{Type: "TextRun", Text: "Subject: ", IsSubtle: true}
	subject := richText(label, name)
	subject.ID = "subject"

	body := []element{head, subject}
	if f.Subject.Type != "" {
		body = append(body, field("", "Type", string(f.Subject.Type), 40))
	}
	switch appID, _ := f.Evidence["appId"].(string); {
	case f.Subject.ID != "":
		body = append(body, field("objectId", "Object ID", f.Subject.ID, maxIDRunes))
	case f.Subject.Type == tenant.SubjectServicePrincipal || f.Subject.Type == tenant.SubjectApplication:
		// No data the run holds resolved the app: say so, and name it by
		// what the record gave, under its own name.
		body = append(body, field("objectId", "Object ID", "not resolved", maxIDRunes))
		if appID != "" {
			body = append(body, field("appId", "App ID", appID, maxIDRunes))
		}
	}
	body = append(body, field("rule", "Rule", f.Rule, maxIDRunes))
	if ids := mitreText(f.MITRE); ids != "" {
		body = append(body, field("", "MITRE", ids, 200))
	}
	if !f.ObservedAt.IsZero() {
		body = append(body, field("", "Observed", timeText(f.ObservedAt), 40))
	}
	if o.TenantName != "" {
		body = append(body, field("", "Tenant", o.TenantName, maxTenantRunes))
	}

	switch {
	case evErr != nil:
		body = append(body, subtle("Evidence could not be encoded — see the report."))
	case total == 0:
	case lv.facts == 0:
		body = append(body, subtle(fmt.Sprintf("Evidence (%d items) left out to fit the Teams size limit — see the report.", total)))
	default:
		hdr := bold("Evidence", 20)
		hdr.Spacing = "Medium"
		body = append(body, hdr)
		shown := ev[:min(len(ev), lv.facts)]
		for _, e := range shown {
			body = append(body, evidenceLine(e, lv))
		}
		if len(shown) < total {
			body = append(body, subtle(fmt.Sprintf("Showing %d of %d evidence items — see the report for all.", len(shown), total)))
		}
	}
	return body
}

// evidenceLine is one evidence entry as "key: value", bounded by lv.
func evidenceLine(e evFact, lv evidenceLevel) element {
	k := run(e.key, lv.keyRunes)
	if k.Text == "" {
		k.Text = "—"
	}
	k.Text += ": "
	k.IsSubtle = true
	v := run(e.value, lv.valueRunes)
	if v.Text == "" {
		v.Text = "—"
	}
	line := richText(k, v)
	line.Spacing = "Small"
	return line
}

// mitreText joins up to maxMITRE technique ids, each bounded.
func mitreText(ids []string) string {
	var parts []string
	for _, id := range ids {
		if len(parts) == maxMITRE {
			parts = append(parts, fmt.Sprintf("+%d more", len(ids)-maxMITRE))
			break
		}
		if id = limit(id, maxMITRERunes); id != "" {
			parts = append(parts, id)
		}
	}
	return strings.Join(parts, ", ")
}

// evFact is one flattened evidence entry, not yet cleaned (the
// value is already cut to a bounded length).
type evFact struct{ key, value string }

// flattenEvidence normalises ev through JSON, as findings.json shows it, and
// flattens it depth-first in key order: nested objects and arrays of objects
// become dotted paths ("credentials.0.keyId"), arrays of scalars one
// comma-separated value (at most maxListItems, then "… +N more"), values
// nested deeper than maxEvidenceDeep compact JSON. It keeps the first max
// entries and counts all of them.
func flattenEvidence(ev map[string]any, max int) ([]evFact, int, error) {
	if len(ev) == 0 {
		return nil, 0, nil
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, 0, fmt.Errorf("notify: encode evidence: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, 0, fmt.Errorf("notify: decode evidence: %w", err)
	}
	fl := flattener{max: max}
	fl.walk("", v, 0)
	return fl.out, fl.total, nil
}

type flattener struct {
	max   int
	out   []evFact
	total int
}

func (fl *flattener) leaf(key, value string) {
	fl.total++
	if len(fl.out) < fl.max {
		fl.out = append(fl.out, evFact{key: cut(key), value: cut(value)})
	}
}

// cut bounds a raw string before it is kept (limit cleans and shortens
// later); it keeps more than any level shows.
func cut(s string) string {
	const n = 4096
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func (fl *flattener) walk(key string, v any, depth int) {
	if depth > maxEvidenceDeep {
		b, _ := json.Marshal(v) // decoded JSON: always encodable
		fl.leaf(key, string(b))
		return
	}
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			fl.leaf(key, "{}")
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fl.walk(join(key, k), x[k], depth+1)
		}
	case []any:
		if len(x) == 0 {
			fl.leaf(key, "none")
			return
		}
		if !allScalar(x) {
			for i, e := range x {
				fl.walk(join(key, strconv.Itoa(i)), e, depth+1)
			}
			return
		}
		parts := make([]string, 0, min(len(x), maxListItems))
		for _, e := range x[:min(len(x), maxListItems)] {
			parts = append(parts, cut(scalarText(e)))
		}
		s := strings.Join(parts, ", ")
		if n := len(x) - maxListItems; n > 0 {
			s += fmt.Sprintf(" … +%d more", n)
		}
		fl.leaf(key, s)
	default:
		fl.leaf(key, scalarText(x))
	}
}

func allScalar(xs []any) bool {
	for _, x := range xs {
		switch x.(type) {
		case map[string]any, []any:
			return false
		}
	}
	return true
}

func scalarText(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	}
	return fmt.Sprint(v)
}

// DigestCard renders a digest as a Teams message: the title, the generation
// time (UTC), counts by severity, the note, then one line per finding
// (severity, title, subject name and type; most severe first, otherwise in
// the given order) for as many findings as fit in MaxPayloadBytes (at most
// 50), "and N more — see the report", the skipped
// checks (at most 10), and an "Open report" action when the report URL is
// acceptable. Tenant strings are treated as in FindingCard. It returns
// ErrCardTooLarge only if even the smallest digest does not fit.
func DigestCard(d Digest, opts *CardOptions) ([]byte, error) {
	o := opts.withDefaults()
	if d.Generated.IsZero() {
		d.Generated = o.Now()
	}
	reportURL := d.ReportURL
	if reportURL == "" {
		reportURL = o.ReportURL
	}
	counts := d.Counts
	if counts == nil {
		counts = make(map[tenant.Severity]int)
		for _, f := range d.Findings {
			counts[f.Severity]++
		}
	}
	total := 0
	for _, n := range counts {
		total += max(n, 0)
	}
	total = max(total, len(d.Findings))

	// Findings an incident groups are shown as its line.
	groups, grouped := digestIncidents(d)
	fs := make([]tenant.Finding, 0, len(d.Findings))
	for _, f := range d.Findings {
		if !grouped[f.Key] {
			fs = append(fs, f)
		}
	}
	// Most severe first; a stable sort keeps the caller's order otherwise.
	// Only the findings that can be shown are sorted in full.
	slices.SortStableFunc(fs, func(a, b tenant.Finding) int { return rank(b.Severity) - rank(a.Severity) })
	fs = fs[:min(len(fs), maxDigestFindings)]

	build := func(nf, ns int) ([]byte, error) {
		return encode(digestBody(d, &o, counts, total, groups, len(grouped), fs[:nf], ns), reportURL)
	}
	// With the skipped rules listed, else without them; then the largest
	// finding count that fits.
	return fitCard([]int{min(len(d.Skipped), maxDigestSkipped), 0}, len(fs), build)
}

// fitCard returns the fullest card under MaxPayloadBytes: for the first
// alternative alt (in order) whose card fits with k = 0, build(k, alt) for
// the largest k in [0, n] that fits, found by bisection (fitting is
// monotone in k). ErrCardTooLarge when no alternative fits.
func fitCard(alts []int, n int, build func(k, alt int) ([]byte, error)) ([]byte, error) {
	for _, alt := range alts {
		b, err := build(0, alt)
		if err != nil {
			return nil, err
		}
		if len(b) > MaxPayloadBytes {
			continue
		}
		return mostThatFit(n, b, func(k int) ([]byte, error) { return build(k, alt) })
	}
	return nil, ErrCardTooLarge
}

func mostThatFit(n int, none0 []byte, build func(k int) ([]byte, error)) ([]byte, error) {
	lo, hi, best := 0, n, none0
	for lo < hi {
		mid := (lo + hi + 1) / 2
		b, err := build(mid)
		if err != nil {
			return nil, err
		}
		if len(b) <= MaxPayloadBytes {
			lo, best = mid, b
		} else {
			hi = mid - 1
		}
	}
	return best, nil
}

// rank orders severities for sorting; an invalid severity ranks with info.
func rank(s tenant.Severity) int {
	if !s.Valid() {
		return int(tenant.SeverityInfo)
	}
	return int(s)
}

// maxDigestIncidents bounds the incident lines of a digest.
const maxDigestIncidents = 10

// digestGroup is one incident line of a digest: the incident and how many
// of the digest's findings it holds.
type digestGroup struct {
	inc incident.Incident
	n   int
}

// digestIncidents returns the incidents of d that hold one of its
// findings (at most maxDigestIncidents, in d's order) and the keys of the
// findings they group.
func digestIncidents(d Digest) ([]digestGroup, map[string]bool) {
	in := make(map[string]bool, len(d.Findings))
	for _, f := range d.Findings {
		in[f.Key] = true
	}
	var groups []digestGroup
	grouped := make(map[string]bool)
	for _, inc := range d.Incidents {
		if len(groups) == maxDigestIncidents {
			break
		}
		n := 0
		for _, k := range inc.Findings {
			if in[k] && !grouped[k] {
				grouped[k] = true
				n++
			}
		}
		if n > 0 {
			groups = append(groups, digestGroup{inc, n})
		}
	}
	return groups, grouped
}

func digestBody(d Digest, o *CardOptions, counts map[tenant.Severity]int, total int, groups []digestGroup, ngrouped int, fs []tenant.Finding, nskipped int) []element {
	title := d.Title
	if strings.TrimSpace(title) == "" {
		title = "tenantwatch digest"
	}
	body := []element{heading(title, maxTitleRunes), subtle("Generated " + timeText(d.Generated))}
	if o.TenantName != "" {
		body = append(body, field("", "Tenant", o.TenantName, maxTenantRunes))
	}

	parts := make([]string, 0, 6)
	for s := tenant.SeverityCritical; s >= tenant.SeverityInfo; s-- {
		parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
	}
	invalid := 0
	for s, n := range counts {
		if !s.Valid() {
			invalid += n
		}
	}
	if invalid > 0 {
		parts = append(parts, fmt.Sprintf("%d invalid", invalid))
	}
	body = append(body, bold(fmt.Sprintf("Findings: %d (%s)", total, strings.Join(parts, ", ")), 300))
	if d.Note != "" {
		body = append(body, richText(run(d.Note, maxNoteRunes)))
	}

	if total == 0 {
		body = append(body, richText(run("No new findings.", 40)))
	}
	if len(groups) > 0 {
		hdr := bold(fmt.Sprintf("Incidents (%d): findings one attack ties together", len(groups)), 80)
		hdr.Spacing = "Medium"
		body = append(body, hdr)
		for i, g := range groups {
			sev := textRun{Type: "TextRun", Text: severityLabel(g.inc.Severity) + " ", Weight: "Bolder", Color: severityColor(g.inc.Severity)}
			title := run(g.inc.Title, 2*digestTitleRunes)
			if title.Text == "" {
				title.Text = "(untitled chain)"
			}
			detail := run(fmt.Sprintf("%s, %d findings, %d of them here", g.inc.ID, len(g.inc.Findings), g.n), 120)
			detail.Text, detail.IsSubtle = " — "+detail.Text, true
			line := richText(sev, title, detail)
			line.ID, line.Spacing = "incident-"+strconv.Itoa(i+1), "Small"
			body = append(body, line)
		}
		if len(fs) > 0 || total > ngrouped {
			other := bold("Other findings", 40)
			other.Spacing = "Medium"
			body = append(body, other)
		}
	}
	for _, f := range fs {
		sev := textRun{Type: "TextRun", Text: severityLabel(f.Severity), Weight: "Bolder", Color: severityColor(f.Severity)}
		t := f.Title
		if strings.TrimSpace(t) == "" {
			t = f.Rule
		}
		title := run(t, digestTitleRunes)
		title.Text = " " + title.Text + " — "
		name := run(f.Subject.Name, digestNameRunes)
		if name.Text == "" {
			name.Text = "(no name)"
		}
		typ := run(string(f.Subject.Type), 40)
		typ.IsSubtle = true
		if typ.Text != "" {
			typ.Text = " (" + typ.Text + ")"
		}
		line := richText(sev, title, name, typ)
		line.Spacing = "Small"
		body = append(body, line)
	}
	if n := total - ngrouped - len(fs); n > 0 && total > 0 {
		body = append(body, richText(run(fmt.Sprintf("and %d more — see the report", n), 60)))
	}

	if len(d.Skipped) > 0 {
		hdr := bold(fmt.Sprintf("Skipped checks (%d): not checked, a blind spot", len(d.Skipped)), 80)
		hdr.Spacing = "Medium"
		body = append(body, hdr)
		for _, s := range d.Skipped[:nskipped] {
			r := run(s.Rule, maxIDRunes)
			r.Weight = "Bolder"
			reason := run(s.Reason, maxReasonRunes)
			reason.Text = ": " + reason.Text
			line := richText(r, reason)
			line.Spacing = "Small"
			body = append(body, line)
		}
		if n := len(d.Skipped) - nskipped; n > 0 {
			body = append(body, richText(run(fmt.Sprintf("and %d more — see the report", n), 60)))
		}
	}
	return body
}
