package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/accept"
	"github.com/tenantwatch/tenantwatch/shared/incident"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Document is everything a report shows about one scan.
type Document struct {
	GeneratedAt time.Time
	TenantID    string
	TenantName  string
	Since       time.Time                // start of the audit/sign-in window
	Findings    []tenant.Finding         // already sorted by the caller
	Skipped     []tenant.Skipped         // rules that did not run, with the reason
	Unavailable map[tenant.Source]string // sources that could not be read, with reasons
	Partial     map[tenant.Source]string // sources read only in part (a window the source does not keep), with reasons
	Rules       []tenant.Rule            // the rule catalogue: summaries, descriptions, rules with zero findings
	Version     string                   // tenantwatch version string
	// Changes, when set, is what changed since an earlier scan (Compare):
	// findings.json, report.html, the summary and findings.ocsf.jsonl then
	// lead with it.
	Changes *Changes
	// Incidents are the findings one attack ties together
	// (incident.Correlate), most severe first; every output leads with them.
	Incidents []incident.Incident
	// Acceptance, when set, is what an accept file decided (scan
	// --accept, shared/accept): findings.json marks each accepted finding
	// and gains "acceptance"; the other outputs mark them too and list
	// the expired entries.
	Acceptance *accept.Result
}

// NewDocument is the document of one run: the snapshot it read, the rules
// it considered, what they found and which were skipped.
func NewDocument(s *tenant.Snapshot, rules []tenant.Rule, findings []tenant.Finding, skipped []tenant.Skipped, version string) *Document {
	return &Document{
		GeneratedAt: s.CollectedAt,
		TenantID:    s.Organization.ID,
		TenantName:  s.Organization.DisplayName,
		Since:       s.Since,
		Findings:    findings,
		Skipped:     skipped,
		Unavailable: s.Unavailable,
		Partial:     s.Partial,
		Rules:       rules,
		Version:     version,
	}
}

// File names written by WriteDir and Render.
const (
	JSONFile = "findings.json"
	CSVFile  = "findings.csv"
	HTMLFile = "report.html"
	// OCSFFile is written by WriteDir only (scan --out), not by Render.
	OCSFFile = "findings.ocsf.jsonl"
)

// Media types of the report files, as a server or Blob Storage serves them.
const (
	JSONType = "application/json"
	CSVType  = "text/csv; charset=utf-8"
	HTMLType = "text/html; charset=utf-8"
	// OCSFType is JSON Lines (one JSON value per line).
	OCSFType = "application/jsonl"
)

// format is one of the report files: its name, its media type and the
// function that renders it.
type format struct {
	name, contentType string
	write             func(io.Writer, *Document) error
}

// formats lists the report files in the order they are written.
func formats() []format {
	return []format{
		{JSONFile, JSONType, WriteJSON},
		{CSVFile, CSVType, WriteCSV},
		{HTMLFile, HTMLType, WriteHTML},
	}
}

// dirFormats lists the files WriteDir and Render write: formats, then
// findings.ocsf.jsonl.
func dirFormats() []format {
	return append(formats(), format{OCSFFile, OCSFType, WriteOCSF})
}

// File is one rendered report file.
type File struct {
	Name        string // JSONFile, CSVFile, HTMLFile or OCSFFile
	ContentType string // JSONType, CSVType, HTMLType or OCSFType
	Data        []byte
}

// Render renders d in memory as findings.json, findings.csv, report.html
// and findings.ocsf.jsonl, in that order, byte for byte as WriteJSON,
// WriteCSV, WriteHTML and WriteOCSF write them (the files WriteDir
// writes). It returns no file when one cannot be rendered, so a caller
// that stores them (shared/blobstore) stores all four or none.
func Render(d *Document) ([]File, error) {
	if err := checkDocument(d); err != nil {
		return nil, err
	}
	fs := dirFormats()
	out := make([]File, len(fs))
	for i, f := range fs {
		var b bytes.Buffer
		if err := f.write(&b, d); err != nil {
			return nil, err
		}
		out[i] = File{Name: f.name, ContentType: f.contentType, Data: b.Bytes()}
	}
	return out, nil
}

// Written says where a writer of dated reports (shared/blobstore) put a
// day's reports.
type Written struct {
	// Prefix is the container and folder of the day: "reports/2024/05/01/".
	Prefix string
	// URLs maps each file name (JSONFile, CSVFile, HTMLFile) to its blob
	// URL, without query: never the SAS of a SAS connection string. Reading
	// it needs the account's credentials: the container is private.
	URLs map[string]string
}

// checkDocument rejects a nil document.
func checkDocument(d *Document) error {
	if d == nil {
		return errors.New("report: nil document")
	}
	return nil
}

// WriteDir writes findings.json, findings.csv, report.html and
// findings.ocsf.jsonl into dir, creating dir (mode 0750) when needed, as one
// set: when WriteDir returns, dir holds the new four files or the earlier
// ones, never a mix and never a partly written file. All four are rendered into temporary files in dir
// first; each earlier file is kept under a backup name (a hard link, or a
// copy where the file system has none); then the temporary files are
// renamed over the earlier ones, each rename atomic. When rendering, backing
// up or a rename fails, the files already renamed are put back from their
// backups (or removed, where there was no earlier file), so the earlier set
// is left as it was, and no temporary or backup file is left behind. The
// files have mode 0600. Errors name the file and wrap the cause; if putting
// an earlier file back fails too, the error names its backup, which is kept.
func WriteDir(dir string, d *Document) (err error) {
	if err := checkDocument(d); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	files := dirFormats()
	slots := make([]slot, len(files))
	defer func() {
		for _, s := range slots {
			for _, p := range []string{s.tmp, s.backup} {
				if p != "" {
					err = errors.Join(err, ignoreNotExist(os.Remove(p)))
				}
			}
		}
	}()
	for i, f := range files {
		slots[i].target = filepath.Join(dir, f.name)
		tmp, err := writeTemp(dir, f.name, func(w io.Writer) error { return f.write(w, d) })
		slots[i].tmp = tmp
		if err != nil {
			return fmt.Errorf("report: write %s: %w", f.name, err)
		}
	}
	for i, f := range files {
		backup, err := backupFile(dir, f.name, slots[i].target)
		slots[i].backup = backup
		if err != nil {
			return fmt.Errorf("report: keep the earlier %s: %w", f.name, err)
		}
	}
	for i, f := range files {
		if err := renameFile(slots[i].tmp, slots[i].target); err != nil {
			return errors.Join(fmt.Errorf("report: write %s: %w", f.name, err), restore(slots[:i]))
		}
		slots[i].tmp = ""
	}
	return nil
}

// slot is one file of the set WriteDir writes: its final path, the
// rendered temporary file until it is renamed into place, and the backup of
// the earlier file ("" when there was none).
type slot struct{ target, tmp, backup string }

// renameFile is os.Rename; tests replace it to fail a rename part-way.
var renameFile = os.Rename

// restore puts the earlier files of slots back after their new files were
// renamed into place: the backup is renamed over the new file, or the new
// file is removed where there was no earlier one. A restored backup's name
// is cleared so that WriteDir does not remove it again.
func restore(slots []slot) error {
	var errs []error
	for i := range slots {
		s := &slots[i]
		if s.backup == "" {
			if err := ignoreNotExist(os.Remove(s.target)); err != nil {
				errs = append(errs, fmt.Errorf("report: remove the new %s: %w", filepath.Base(s.target), err))
			}
			continue
		}
		if err := renameFile(s.backup, s.target); err != nil {
			errs = append(errs, fmt.Errorf("report: restore the earlier %s (kept as %s): %w", filepath.Base(s.target), s.backup, err))
			s.backup = "" // keep it: it is the only copy
			continue
		}
		s.backup = ""
	}
	return errors.Join(errs...)
}

// backupFile keeps the file at target under a new name in dir: a hard link,
// or for a regular file a copy where links are not possible. It returns ""
// when there is no file at target, and the backup's path whenever one was
// created, even on error. A directory at target is an error.
func backupFile(dir, name, target string) (string, error) {
	info, err := os.Lstat(target)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if info.IsDir() {
		return "", fmt.Errorf("%s is a directory", target)
	}
	// A fresh unique name: create a temporary file, then link in its place.
	f, err := os.CreateTemp(dir, "."+name+".*.bak")
	if err != nil {
		return "", err
	}
	backup := f.Name()
	closeErr := f.Close()
	if err := os.Remove(backup); err != nil {
		return backup, err
	}
	if closeErr != nil {
		return "", closeErr
	}
	if err = linkFile(target, backup); err == nil {
		return backup, nil
	}
	if !info.Mode().IsRegular() {
		return "", err
	}
	return copyFile(target, backup)
}

// linkFile is os.Link; tests replace it to take the copy path.
var linkFile = os.Link

// copyFile copies src to a new file dst (mode 0600) and syncs it. It
// returns dst whenever dst was created, even on error.
func copyFile(src, dst string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	return dst, errors.Join(err, out.Close())
}

// writeTemp renders into a new temporary file in dir and syncs it. It
// returns the file's path whenever the file was created, even on error.
func writeTemp(dir, name string, render func(io.Writer) error) (string, error) {
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	err = render(&buf)
	if err == nil {
		_, err = f.Write(buf.Bytes())
	}
	if err == nil {
		err = f.Sync()
	}
	return f.Name(), errors.Join(err, f.Close())
}

func ignoreNotExist(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// severitiesDesc lists the named severities, most severe first.
func severitiesDesc() []tenant.Severity {
	return []tenant.Severity{tenant.SeverityCritical, tenant.SeverityHigh, tenant.SeverityMedium, tenant.SeverityLow, tenant.SeverityInfo}
}

// severityCounts counts findings by severity; invalid severities are counted
// under 0.
func severityCounts(fs []tenant.Finding) map[tenant.Severity]int {
	c := make(map[tenant.Severity]int)
	for _, f := range fs {
		s := f.Severity
		if !s.Valid() {
			s = 0
		}
		c[s]++
	}
	return c
}

// ruleSummary is one line of the by-rule summary.
type ruleSummary struct {
	Rule    tenant.Rule
	Known   bool // in the catalogue
	Count   int
	Skipped bool
	Reason  string
}

// summarizeRules lists every catalogue rule in catalogue order with its
// finding count and skip reason, then any rule id that appears only in the
// findings or skipped list, sorted.
func summarizeRules(d *Document) []ruleSummary {
	counts := make(map[string]int)
	for _, f := range d.Findings {
		counts[f.Rule]++
	}
	skipped := make(map[string]string)
	for _, s := range d.Skipped {
		if _, dup := skipped[s.Rule]; !dup {
			skipped[s.Rule] = s.Reason
		}
	}
	var out []ruleSummary
	seen := make(map[string]bool)
	for _, r := range d.Rules {
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		reason, sk := skipped[r.ID]
		out = append(out, ruleSummary{Rule: r, Known: true, Count: counts[r.ID], Skipped: sk, Reason: reason})
	}
	var extra []string
	for id := range counts {
		if !seen[id] {
			seen[id] = true
			extra = append(extra, id)
		}
	}
	for id := range skipped {
		if !seen[id] {
			seen[id] = true
			extra = append(extra, id)
		}
	}
	slices.Sort(extra)
	for _, id := range extra {
		reason, sk := skipped[id]
		out = append(out, ruleSummary{Rule: tenant.Rule{ID: id}, Count: counts[id], Skipped: sk, Reason: reason})
	}
	return out
}

// sortedSources returns the unavailable sources in name order.
func sortedSources(m map[tenant.Source]string) []tenant.Source {
	out := make([]tenant.Source, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// rulesNeeding returns the ids of catalogue rules that need src.
func rulesNeeding(rules []tenant.Rule, src tenant.Source) []string {
	var out []string
	for _, r := range rules {
		if slices.Contains(r.Sources, src) {
			out = append(out, r.ID)
		}
	}
	return out
}

// mitreID matches ATT&CK technique and sub-technique ids.
func mitreID() *regexp.Regexp { return regexp.MustCompile(`^T\d{4}(\.\d{3})?$`) }

// mitreURL returns the ATT&CK page of a technique id, or "" when id is not a
// well-formed technique id ("T1098.001" → .../techniques/T1098/001/).
func mitreURL(re *regexp.Regexp, id string) string {
	if !re.MatchString(id) {
		return ""
	}
	tech, sub, ok := strings.Cut(id, ".")
	if !ok {
		return "https://attack.mitre.org/techniques/" + tech + "/"
	}
	return "https://attack.mitre.org/techniques/" + tech + "/" + sub + "/"
}

// timeText formats t for people: UTC, seconds, "" for the zero time.
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// timeAttr formats t as RFC 3339 in UTC, "" for the zero time.
func timeAttr(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
