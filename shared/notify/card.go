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
	maxEvidenceFact = 25 // evidence facts on a finding card, at most
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
	// on 127.0.0.1 or localhost (local runs), without user information, are
	// accepted; anything else is left out.
	ReportURL string
	// TenantName is shown as the tenant's name. It is tenant-controlled and
	// escaped like every other tenant string.
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
	Note      string // one paragraph under the counts; escaped
}

// The Teams message and the Adaptive Card elements tenantwatch uses. Only
// TextBlock text and Fact title and value are Markdown; they are set through
// textBlock and newFact, which escape, and nowhere else.
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

type element struct {
	Type      string    `json:"type"`
	Text      string    `json:"text,omitempty"`
	Inlines   []textRun `json:"inlines,omitempty"`
	Facts     []fact    `json:"facts,omitempty"`
	Size      string    `json:"size,omitempty"`
	Weight    string    `json:"weight,omitempty"`
	Color     string    `json:"color,omitempty"`
	IsSubtle  bool      `json:"isSubtle,omitempty"`
	Wrap      bool      `json:"wrap,omitempty"`
	Spacing   string    `json:"spacing,omitempty"`
	Separator bool      `json:"separator,omitempty"`
}

type textRun struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Weight   string `json:"weight,omitempty"`
	Color    string `json:"color,omitempty"`
	IsSubtle bool   `json:"isSubtle,omitempty"`
}

type fact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

type action struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

// textBlock is a TextBlock showing s (cleaned, limited to n runes, escaped).
func textBlock(s string, n int) element {
	return element{Type: "TextBlock", Text: md(s, n), Wrap: true}
}

// newFact is a Fact with escaped title and value.
func newFact(title string, tn int, value string, vn int) fact {
	t, v := md(title, tn), md(value, vn)
	if t == "" {
		t = "—"
	}
	if v == "" {
		v = "—"
	}
	return fact{Title: t, Value: v}
}

// run is a TextRun showing s cleaned and limited to n runes; TextRun renders
// no Markdown, so nothing is escaped.
func run(s string, n int) textRun { return textRun{Type: "TextRun", Text: plain(s, n)} }

func richText(runs ...textRun) element { return element{Type: "RichTextBlock", Inlines: runs} }

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
// with a host, or http on 127.0.0.1 or localhost; no user information, no
// control characters or spaces, at most 2 KiB. Otherwise "".
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
		if h := u.Hostname(); h != "127.0.0.1" && !strings.EqualFold(h, "localhost") {
			return ""
		}
	default:
		return ""
	}
	return u.String()
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
// the subject's name (a TextRun: no Markdown), type and id, the rule id,
// MITRE ATT&CK ids, the observation time in UTC and the tenant name, then
// the evidence flattened into facts ("credentials.0.keyId"), and an
// "Open report" action when opts.ReportURL is acceptable. Every string from
// the finding is cleaned and bounded and, in Markdown fields, escaped (see
// EscapeMarkdown); no tenant string becomes a link. When the message would
// exceed MaxPayloadBytes, fewer and shorter evidence facts are shown, down to
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
	head := textBlock(severityLabel(f.Severity)+": "+title, maxTitleRunes)
	head.Size, head.Weight, head.Color = "Medium", "Bolder", severityColor(f.Severity)

	name := run(f.Subject.Name, maxNameRunes)
	if name.Text == "" {
		name.Text = "(no name)"
	}
	name.Weight = "Bolder"
	label := textRun{Type: "TextRun", Text: "Subject: ", IsSubtle: true}

	var facts []fact
	if f.Subject.Type != "" {
		facts = append(facts, newFact("Type", 20, string(f.Subject.Type), 40))
	}
	if f.Subject.ID != "" {
		facts = append(facts, newFact("Object ID", 20, f.Subject.ID, maxIDRunes))
	}
	facts = append(facts, newFact("Rule", 20, f.Rule, maxIDRunes))
	if ids := mitreText(f.MITRE); ids != "" {
		facts = append(facts, newFact("MITRE", 20, ids, 200))
	}
	if !f.ObservedAt.IsZero() {
		facts = append(facts, newFact("Observed", 20, timeText(f.ObservedAt), 40))
	}
	if o.TenantName != "" {
		facts = append(facts, newFact("Tenant", 20, o.TenantName, maxTenantRunes))
	}
	body := []element{head, richText(label, name), {Type: "FactSet", Facts: facts}}

	switch {
	case evErr != nil:
		body = append(body, subtle("Evidence could not be encoded — see the report."))
	case total == 0:
	case lv.facts == 0:
		body = append(body, subtle(fmt.Sprintf("Evidence (%d items) left out to fit the Teams size limit — see the report.", total)))
	default:
		hdr := textBlock("Evidence", 20)
		hdr.Weight, hdr.Spacing = "Bolder", "Medium"
		shown := ev[:min(len(ev), lv.facts)]
		efacts := make([]fact, 0, len(shown))
		for _, e := range shown {
			efacts = append(efacts, newFact(e.key, lv.keyRunes, e.value, lv.valueRunes))
		}
		body = append(body, hdr, element{Type: "FactSet", Facts: efacts})
		if len(shown) < total {
			body = append(body, subtle(fmt.Sprintf("Showing %d of %d evidence items — see the report for all.", len(shown), total)))
		}
	}
	return body
}

// subtle is a small, subtle TextBlock (escaped like every TextBlock).
func subtle(s string) element {
	e := textBlock(s, 300)
	e.Size, e.IsSubtle = "Small", true
	return e
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

// evFact is one flattened evidence entry, not yet cleaned or escaped (the
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
// the given order; TextRuns, so no Markdown) for as many findings as fit in
// MaxPayloadBytes (at most 50), "and N more — see the report", the skipped
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

	// Most severe first; a stable sort keeps the caller's order otherwise.
	// Only the findings that can be shown are sorted in full.
	fs := slices.Clone(d.Findings)
	slices.SortStableFunc(fs, func(a, b tenant.Finding) int { return rank(b.Severity) - rank(a.Severity) })
	fs = fs[:min(len(fs), maxDigestFindings)]

	build := func(nf, ns int) ([]byte, error) {
		return encode(digestBody(d, &o, counts, total, fs[:nf], ns), reportURL)
	}
	ns := min(len(d.Skipped), maxDigestSkipped)
	for _, skipped := range []int{ns, 0} {
		b, err := build(0, skipped)
		if err != nil {
			return nil, err
		}
		if len(b) > MaxPayloadBytes {
			continue
		}
		// Largest finding count that fits: fitting is monotone in it.
		lo, hi := 0, len(fs)
		best := b
		for lo < hi {
			mid := (lo + hi + 1) / 2
			b, err := build(mid, skipped)
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
	return nil, ErrCardTooLarge
}

// rank orders severities for sorting; an invalid severity ranks with info.
func rank(s tenant.Severity) int {
	if !s.Valid() {
		return int(tenant.SeverityInfo)
	}
	return int(s)
}

func digestBody(d Digest, o *CardOptions, counts map[tenant.Severity]int, total int, fs []tenant.Finding, nskipped int) []element {
	title := d.Title
	if strings.TrimSpace(title) == "" {
		title = "tenantwatch digest"
	}
	head := textBlock(title, maxTitleRunes)
	head.Size, head.Weight = "Medium", "Bolder"
	body := []element{head, subtle("Generated " + timeText(d.Generated))}
	if o.TenantName != "" {
		body = append(body, element{Type: "FactSet", Facts: []fact{newFact("Tenant", 20, o.TenantName, maxTenantRunes)}})
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
	sum := textBlock(fmt.Sprintf("Findings: %d (%s)", total, strings.Join(parts, ", ")), 300)
	sum.Weight = "Bolder"
	body = append(body, sum)
	if d.Note != "" {
		body = append(body, textBlock(d.Note, maxNoteRunes))
	}

	if total == 0 {
		body = append(body, textBlock("No new findings.", 40))
	}
	for _, f := range fs {
		sev := textRun{Type: "TextRun", Text: severityLabel(f.Severity), Weight: "Bolder", Color: severityColor(f.Severity)}
		t := f.Title
		if strings.TrimSpace(t) == "" {
			t = f.Rule
		}
		title := run(t, digestTitleRunes)
		title.Text = "  " + title.Text + " — "
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
	if n := total - len(fs); n > 0 && total > 0 {
		body = append(body, textBlock(fmt.Sprintf("and %d more — see the report", n), 60))
	}

	if len(d.Skipped) > 0 {
		hdr := textBlock(fmt.Sprintf("Skipped checks (%d): not checked, a blind spot", len(d.Skipped)), 80)
		hdr.Weight, hdr.Spacing = "Bolder", "Medium"
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
			body = append(body, textBlock(fmt.Sprintf("and %d more — see the report", n), 60))
		}
	}
	return body
}
