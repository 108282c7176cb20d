package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/incident"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// jsonDocument is the findings.json contract. Field order is the file's.
type jsonDocument struct {
	GeneratedAt time.Time        `json:"generatedAt"`
	TenantID    string           `json:"tenantId"`
	Findings    []jsonFinding    `json:"findings"`
	Skipped     []tenant.Skipped `json:"skipped"`
	// Changes is there only when the scan was compared with an earlier one.
	Changes *jsonChanges `json:"changes,omitempty"`
	// Incidents is always there (an empty array when none): the findings
	// that one attack tied together (shared/incident).
	Incidents []incident.Incident `json:"incidents"`
	// Acceptance is there only when the scan applied an accept file.
	Acceptance *jsonAcceptance `json:"acceptance,omitempty"`
}

// jsonReadDocument is findings.json as ReadJSON reads it.
type jsonReadDocument struct {
	GeneratedAt time.Time           `json:"generatedAt"`
	TenantID    string              `json:"tenantId"`
	Findings    []readFinding       `json:"findings"`
	Skipped     []tenant.Skipped    `json:"skipped"`
	Changes     *jsonChanges        `json:"changes,omitempty"`
	Incidents   []incident.Incident `json:"incidents"`
	Acceptance  *jsonAcceptance     `json:"acceptance,omitempty"`
}

// WriteJSON writes findings.json: {"generatedAt", "tenantId", "findings",
// "skipped"}, "changes" when d.Changes is set, then "incidents" (an array,
// empty when none), and "acceptance" (with "accepted" in each accepted
// finding) when d.Acceptance is set (see the package
// documentation), indented by two spaces, with a trailing newline. Control
// characters in strings are \u escapes, C1 and DEL included (see
// escapeJSONControls), so printing the file cannot drive a terminal. Only
// those fields of d are written. It fails, writing nothing, when a finding cannot
// be encoded (an invalid severity, evidence that is not JSON-encodable) or
// when w fails.
func WriteJSON(w io.Writer, d *Document) error {
	if err := checkDocument(d); err != nil {
		return err
	}
	doc := jsonDocument{
		GeneratedAt: d.GeneratedAt.UTC(),
		TenantID:    d.TenantID,
		Findings:    jsonFindings(d),
		Skipped:     d.Skipped,
		Changes:     toJSONChanges(d.Changes),
		Incidents:   d.Incidents,
		Acceptance:  toJSONAcceptance(d.Acceptance),
	}
	if doc.Incidents == nil {
		doc.Incidents = []incident.Incident{}
	}
	if doc.Skipped == nil {
		doc.Skipped = []tenant.Skipped{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // escapes <, > and & as \u003c, \u003e, \u0026
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("report: encode json: %w", err)
	}
	if _, err := w.Write(escapeJSONControls(buf.Bytes())); err != nil {
		return fmt.Errorf("report: write json: %w", err)
	}
	return nil
}

// ReadJSON reads a findings.json document as WriteJSON writes it. Only
// GeneratedAt, TenantID, Findings, Skipped, Changes, Incidents and Acceptance are set. Evidence numbers are
// json.Number, so writing the document again reproduces the input. Unknown
// fields are ignored; malformed JSON, an unknown severity and data after the
// document are errors.
func ReadJSON(r io.Reader) (*Document, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var doc jsonReadDocument
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("report: read json: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errors.New("data after the document")
		}
		return nil, fmt.Errorf("report: read json: %w", err)
	}
	out := &Document{
		GeneratedAt: doc.GeneratedAt.UTC(),
		TenantID:    doc.TenantID,
		Skipped:     doc.Skipped,
		Incidents:   doc.Incidents,
	}
	out.Findings, out.Acceptance = fromRead(doc.Findings, doc.Acceptance)
	if c := doc.Changes; c != nil {
		out.Changes = &Changes{ComparedWith: c.ComparedWith.UTC(), Findings: c.Findings, Resolved: c.Resolved}
	}
	return out, nil
}

// escapeJSONControls rewrites DEL and the C1 control characters
// (U+0080–U+009F), which encoding/json leaves raw, as \u escapes: the same
// JSON, but no CSI (U+009B) or OSC (U+009D) reaches a terminal that prints
// it. b is encoding/json's output, valid UTF-8, so these bytes occur only
// inside strings, where the escape means the same character.
func escapeJSONControls(b []byte) []byte {
	if !bytes.ContainsFunc(b, func(r rune) bool { return r == 0x7F || r >= 0x80 && r <= 0x9F }) {
		return b
	}
	out := make([]byte, 0, len(b)+32)
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == 0x7F:
			out = append(out, `\u007f`...)
		case b[i] == 0xC2 && i+1 < len(b) && b[i+1] >= 0x80 && b[i+1] <= 0x9F:
			out = fmt.Appendf(out, `\u%04x`, b[i+1])
			i++
		default:
			out = append(out, b[i])
		}
	}
	return out
}
