package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Limits of the terminal summary.
const (
	maxTextRows    = 50 // findings listed before "… and N more"
	maxTextSubject = 72 // runes of a subject cell
	maxTextReason  = 160
)

// WriteText writes the summary a person reads on the terminal after a scan:
// what changed since the earlier scan (when compared: counts, new and
// resolved findings), counts by severity, a table of findings (severity, rule, subject; at most
// 50 rows), the skipped rules and the unavailable sources with reasons.
// Every string is passed through terminal, so tenant data cannot emit escape
// sequences, carriage returns or bidirectional overrides. It fails only when
// w fails.
func WriteText(w io.Writer, d *Document) error {
	if err := checkDocument(d); err != nil {
		return err
	}
	var b bytes.Buffer
	name := terminal(d.TenantName)
	id := terminal(d.TenantID)
	switch {
	case name != "" && id != "":
		fmt.Fprintf(&b, "tenantwatch scan of %s (%s)\n", truncate(name, maxTextSubject), id)
	case id != "":
		fmt.Fprintf(&b, "tenantwatch scan of tenant %s\n", id)
	default:
		fmt.Fprintf(&b, "tenantwatch scan\n")
	}
	var meta []string
	if t := timeText(d.GeneratedAt); t != "" {
		meta = append(meta, "generated "+t)
	}
	if t := timeText(d.Since); t != "" {
		meta = append(meta, "events since "+t)
	}
	if d.Version != "" {
		meta = append(meta, "version "+terminal(d.Version))
	}
	if len(meta) > 0 {
		fmt.Fprintf(&b, "%s\n", strings.Join(meta, ", "))
	}
	b.WriteString("\n")
	writeTextIncidents(&b, d)
	writeTextChanges(&b, d)

	counts := severityCounts(d.Findings)
	parts := make([]string, 0, 6)
	for _, s := range severitiesDesc() {
		parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
	}
	if n := counts[0]; n > 0 {
		parts = append(parts, fmt.Sprintf("%d invalid", n))
	}
	fmt.Fprintf(&b, "Findings: %d (%s)\n", len(d.Findings), strings.Join(parts, ", "))
	writeTextAcceptance(&b, d)
	if len(d.Rules) > 0 {
		known, skipped := 0, 0
		for _, r := range summarizeRules(d) {
			if r.Known {
				known++
				if r.Skipped {
					skipped++
				}
			}
		}
		fmt.Fprintf(&b, "Rules: %d of %d ran, %d skipped\n", known-skipped, known, skipped)
	}

	if len(d.Findings) == 0 {
		b.WriteString("\nNo findings.\n")
	} else {
		b.WriteString("\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "SEVERITY\tRULE\tSUBJECT\n")
		for i, f := range d.Findings {
			if i == maxTextRows {
				break
			}
			sev := terminal(f.Severity.String())
			if acceptedOf(d, i) != nil {
				sev += " (accepted)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", sev, terminal(f.Rule), subjectText(f.Subject.Type, f.Subject.Name, f.Subject.ID))
		}
		tw.Flush() // writes to a bytes.Buffer: cannot fail
		if n := len(d.Findings) - maxTextRows; n > 0 {
			fmt.Fprintf(&b, "… and %d more (see the reports)\n", n)
		}
	}

	if len(d.Skipped) > 0 {
		fmt.Fprintf(&b, "\nSkipped checks (%d): not checked, a blind spot\n", len(d.Skipped))
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, s := range d.Skipped {
			fmt.Fprintf(tw, "  %s\t%s\n", terminal(s.Rule), truncate(terminal(s.Reason), maxTextReason))
		}
		tw.Flush()
	}
	if len(d.Unavailable) > 0 {
		fmt.Fprintf(&b, "\nUnavailable data sources (%d):\n", len(d.Unavailable))
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, src := range sortedSources(d.Unavailable) {
			fmt.Fprintf(tw, "  %s\t%s\n", terminal(string(src)), truncate(terminal(d.Unavailable[src]), maxTextReason))
		}
		tw.Flush()
	}
	if len(d.Partial) > 0 {
		fmt.Fprintf(&b, "\nPartly read data sources (%d):\n", len(d.Partial))
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, src := range sortedSources(d.Partial) {
			fmt.Fprintf(tw, "  %s\t%s\n", terminal(string(src)), truncate(terminal(d.Partial[src]), maxTextReason))
		}
		tw.Flush()
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("report: write text: %w", err)
	}
	return nil
}

// subjectText renders a subject cell: name (type id), escaped and shortened.
// A subject without an id (an app no data resolved: its evidence has the
// app id) says so.
func subjectText[T ~string](typ T, name, id string) string {
	n := terminal(name)
	if n == "" {
		n = "(no name)"
	}
	if id = terminal(id); id == "" {
		id = "object id not resolved"
	}
	return truncate(n, maxTextSubject) + " (" + terminal(string(typ)) + " " + id + ")"
}

// writeTextChanges leads the summary with what changed since the earlier
// scan, when d was compared: the counts, then the new findings and the
// resolved ones (each list at most 50 rows).
func writeTextChanges(b *bytes.Buffer, d *Document) {
	if d.Changes == nil {
		return
	}
	n, o, r := d.Changes.Count()
	since := timeText(d.Changes.ComparedWith)
	if since == "" {
		since = "(time not recorded)"
	}
	fmt.Fprintf(b, "Since the scan of %s: %d new, %d still open, %d resolved\n", since, n, o, r)
	var fresh []changeRow
	for i, f := range d.Findings {
		if c, ok := changeOf(d, i); ok && c.Change == ChangeNew {
			fresh = append(fresh, changeRow{f.Severity.String(), f.Rule, f.Subject.Type, f.Subject.Name, f.Subject.ID})
		}
	}
	var gone []changeRow
	for _, f := range d.Changes.Resolved {
		gone = append(gone, changeRow{f.Severity.String(), f.Rule, f.Subject.Type, f.Subject.Name, f.Subject.ID})
	}
	for _, l := range []struct {
		title string
		rows  []changeRow
	}{{"New", fresh}, {"Resolved", gone}} {
		if len(l.rows) == 0 {
			continue
		}
		fmt.Fprintf(b, "\n%s (%d):\n", l.title, len(l.rows))
		tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
		for i, row := range l.rows {
			if i == maxTextRows {
				break
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", terminal(row.severity), terminal(row.rule), subjectText(row.typ, row.name, row.id))
		}
		tw.Flush()
		if more := len(l.rows) - maxTextRows; more > 0 {
			fmt.Fprintf(b, "  … and %d more (see the reports)\n", more)
		}
	}
	b.WriteString("\n")
}

// changeRow is one line of the new or resolved list.
type changeRow struct {
	severity, rule string
	typ            tenant.SubjectType
	name, id       string
}

// writeTextAcceptance counts the accepted findings and lists the expired
// entries of the accept file, when one was applied.
func writeTextAcceptance(b *bytes.Buffer, d *Document) {
	a := d.Acceptance
	if a == nil {
		return
	}
	fmt.Fprintf(b, "Accepted: %d of the %d findings (accepted risks: still listed, marked accepted; --fail-on ignores them)\n", a.Accepted(), len(d.Findings))
	if len(a.Expired) == 0 {
		return
	}
	fmt.Fprintf(b, "Expired accept entries (%d): no longer applied\n", len(a.Expired))
	for i, e := range a.Expired {
		if i == maxTextRows {
			fmt.Fprintf(b, "  … and %d more (see the reports)\n", len(a.Expired)-maxTextRows)
			break
		}
		fmt.Fprintf(b, "  entry %d, expired %s, by %s: would have accepted %d finding(s): %s\n", e.Entry, e.Expires,
			truncate(terminal(e.AcceptedBy), maxTextSubject), len(e.WouldMatch), truncate(terminal(e.Reason), maxTextReason))
	}
}
