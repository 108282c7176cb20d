package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// utf8BOM starts findings.csv so that Excel reads it as UTF-8.
const utf8BOM = "\uFEFF"

// csvHeader returns the findings.csv columns.
func csvHeader() []string {
	return []string{"severity", "rule", "title", "subjectType", "subjectId", "subjectName", "observedAt", "mitre", "key", "evidence", "accepted"}
}

// WriteCSV writes findings.csv: a UTF-8 byte order mark, a header row, then
// one row per finding in d's order, CRLF line endings. The last column,
// accepted, is empty unless an accept file accepts the finding
// ("until 2027-06-30 by alice@contoso.example: reason"). Cells hold no control
// characters (line and column breaks become spaces, the other C0 and C1
// controls are removed), so printing the file cannot drive a terminal, and
// every cell that a spreadsheet could read as a formula is prefixed with a
// single quote. It
// fails, writing nothing, when evidence is not JSON-encodable or w fails.
func WriteCSV(w io.Writer, d *Document) error {
	if err := checkDocument(d); err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteString(utf8BOM)
	cw := csv.NewWriter(&buf)
	cw.UseCRLF = true
	if err := cw.Write(csvHeader()); err != nil {
		return fmt.Errorf("report: write csv: %w", err)
	}
	for i, f := range d.Findings {
		ev, err := compactEvidence(f.Evidence)
		if err != nil {
			return fmt.Errorf("report: finding %d (%s): %w", i, f.Key, err)
		}
		observed := ""
		if !f.ObservedAt.IsZero() {
			observed = f.ObservedAt.UTC().Format(time.RFC3339Nano)
		}
		row := []string{
			f.Severity.String(),
			f.Rule,
			f.Title,
			string(f.Subject.Type),
			f.Subject.ID,
			f.Subject.Name,
			observed,
			strings.Join(f.MITRE, ";"),
			f.Key,
			ev,
			acceptedText(acceptedOf(d, i)),
		}
		for j := range row {
			row[j] = csvCell(row[j])
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("report: write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: write csv: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("report: write csv: %w", err)
	}
	return nil
}

// compactEvidence encodes evidence as one line of JSON, keys sorted, without
// HTML escaping (a spreadsheet shows it as text). Nil evidence is "{}".
func compactEvidence(ev map[string]any) (string, error) {
	if ev == nil {
		return "{}", nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil {
		return "", fmt.Errorf("encode evidence: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}
