package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/report"
)

// WriteText writes the report for a terminal: one line per check (status,
// name, detail), the fix indented below it, then a summary line. Text from
// Graph and the tenant (messages, SKU names) is made terminal-safe.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "tenantwatch doctor: %s at %s\n\n", report.Terminal(r.Target), r.Checked.Format("2006-01-02 15:04 UTC"))
	width := 0
	for _, c := range r.Checks {
		width = max(width, len(c.Name))
	}
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "  %-4s  %-*s  %s\n", c.Status, width, c.Name, report.Terminal(c.Detail))
		if c.Fix != "" {
			fmt.Fprintf(&b, "  %-4s  %-*s  → %s\n", "", width, "", report.Terminal(c.Fix))
		}
	}
	warnings := "warnings"
	if r.Count(StatusWarn) == 1 {
		warnings = "warning"
	}
	fmt.Fprintf(&b, "\n%d ok, %d %s, %d failed, %d skipped\n",
		r.Count(StatusOK), r.Count(StatusWarn), warnings, r.Count(StatusFail), r.Count(StatusSkip))
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as one JSON document.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
