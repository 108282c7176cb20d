package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Change says where a finding stands against an earlier scan.
type Change string

// Changes of a finding.
const (
	ChangeNew      Change = "new"      // not in the earlier scan
	ChangeOpen     Change = "open"     // in the earlier scan and still found
	ChangeResolved Change = "resolved" // in the earlier scan, no longer found
)

// FindingChange is where one current finding stands.
type FindingChange struct {
	Key    string `json:"key"`
	Change Change `json:"change"` // ChangeNew or ChangeOpen
	// FirstSeen is when the finding was first seen: its observedAt when
	// new; when open, the earlier scan's firstSeen for it (or, from a file
	// without changes, its observedAt there), whichever is earlier.
	FirstSeen time.Time `json:"firstSeen"`
}

// Changes is what changed since an earlier scan (scan --compare).
type Changes struct {
	// ComparedWith is the earlier scan's generatedAt.
	ComparedWith time.Time
	// Findings has one entry per current finding, in the document's order.
	Findings []FindingChange
	// Resolved are the earlier scan's findings not found now, in its order.
	Resolved []tenant.Finding
}

// Count returns how many findings are new, open and resolved.
func (c *Changes) Count() (newN, open, resolved int) {
	if c == nil {
		return 0, 0, 0
	}
	for _, f := range c.Findings {
		if f.Change == ChangeNew {
			newN++
		} else {
			open++
		}
	}
	return newN, open, len(c.Resolved)
}

// Compare says, for each current finding, whether the earlier document
// had it (same key: open) or not (new), and lists the earlier findings not
// found now (resolved). It is pure: earlier and current are not changed.
func Compare(earlier *Document, current []tenant.Finding) *Changes {
	c := &Changes{Findings: make([]FindingChange, 0, len(current)), Resolved: []tenant.Finding{}}
	prev := map[string]tenant.Finding{}
	prevFirst := map[string]time.Time{}
	if earlier != nil {
		c.ComparedWith = earlier.GeneratedAt
		for _, f := range earlier.Findings {
			if _, dup := prev[f.Key]; !dup {
				prev[f.Key] = f
			}
		}
		if earlier.Changes != nil {
			for _, fc := range earlier.Changes.Findings {
				prevFirst[fc.Key] = fc.FirstSeen
			}
		}
	}
	now := make(map[string]bool, len(current))
	for _, f := range current {
		now[f.Key] = true
		p, seen := prev[f.Key]
		if !seen {
			c.Findings = append(c.Findings, FindingChange{Key: f.Key, Change: ChangeNew, FirstSeen: f.ObservedAt.UTC()})
			continue
		}
		first := earliest(prevFirst[f.Key], p.ObservedAt, f.ObservedAt)
		c.Findings = append(c.Findings, FindingChange{Key: f.Key, Change: ChangeOpen, FirstSeen: first})
	}
	if earlier != nil {
		done := map[string]bool{}
		for _, f := range earlier.Findings {
			if !now[f.Key] && !done[f.Key] {
				done[f.Key] = true
				c.Resolved = append(c.Resolved, f)
			}
		}
	}
	return c
}

// earliest is the earliest non-zero time of ts, in UTC (zero if none).
func earliest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if !t.IsZero() && (out.IsZero() || t.Before(out)) {
			out = t
		}
	}
	return out.UTC()
}

// changeOf returns the change of the finding at index i of d, or ""
// when d was not compared.
func changeOf(d *Document, i int) (FindingChange, bool) {
	if d.Changes == nil || i >= len(d.Changes.Findings) {
		return FindingChange{}, false
	}
	return d.Changes.Findings[i], true
}

// jsonChanges is findings.json's "changes" object.
type jsonChanges struct {
	ComparedWith time.Time        `json:"comparedWith"`
	Counts       jsonCounts       `json:"counts"`
	Findings     []FindingChange  `json:"findings"`
	Resolved     []tenant.Finding `json:"resolved"`
}

type jsonCounts struct {
	New      int `json:"new"`
	Open     int `json:"open"`
	Resolved int `json:"resolved"`
}

func toJSONChanges(c *Changes) *jsonChanges {
	if c == nil {
		return nil
	}
	n, o, r := c.Count()
	out := &jsonChanges{ComparedWith: c.ComparedWith.UTC(), Counts: jsonCounts{n, o, r}, Findings: c.Findings, Resolved: c.Resolved}
	if out.Findings == nil {
		out.Findings = []FindingChange{}
	}
	if out.Resolved == nil {
		out.Resolved = []tenant.Finding{}
	}
	for i := range out.Findings {
		out.Findings[i].FirstSeen = out.Findings[i].FirstSeen.UTC()
	}
	return out
}

// MaxPreviousBytes is the largest findings.json ReadPrevious accepts
// (128 MiB: some 100,000 findings).
const MaxPreviousBytes = 128 << 20

// ErrPrevious marks every error of ReadPrevious: the earlier
// findings.json could not be used.
var ErrPrevious = errors.New("not a tenantwatch findings.json")

// previousDocument is findings.json as ReadPrevious reads it (named, so
// that a decoding error names it in a few words).
type previousDocument struct {
	GeneratedAt *time.Time       `json:"generatedAt"`
	TenantID    string           `json:"tenantId"`
	Findings    *[]readFinding   `json:"findings"`
	Skipped     []tenant.Skipped `json:"skipped"`
	Changes     *jsonChanges     `json:"changes"`
	Acceptance  *jsonAcceptance  `json:"acceptance"`
	// Incidents are accepted and not read: compare is by finding.
	Incidents json.RawMessage `json:"incidents"`
}

// ReadPrevious reads an earlier findings.json for Compare. The file is
// untrusted input, read strictly: at most MaxPreviousBytes, one JSON
// document with no data after it and no field findings.json does not
// define (at any level but inside evidence), a generatedAt, a findings
// array whose findings each have a rule, a valid severity and a key
// starting with "<rule>:", no key twice, and a changes object (when there
// is one) that agrees with the findings. Every error wraps ErrPrevious
// and fits on one line.
func ReadPrevious(r io.Reader) (*Document, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxPreviousBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPrevious, err)
	}
	if len(b) > MaxPreviousBytes {
		return nil, fmt.Errorf("%w: larger than %d MiB", ErrPrevious, MaxPreviousBytes>>20)
	}
	var doc previousDocument
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrPrevious, oneLine(err.Error()))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: data after the document", ErrPrevious)
	}
	switch {
	case doc.GeneratedAt == nil || doc.GeneratedAt.IsZero():
		return nil, fmt.Errorf("%w: no generatedAt", ErrPrevious)
	case doc.Findings == nil:
		return nil, fmt.Errorf("%w: no findings array", ErrPrevious)
	}
	findings, _ := fromRead(*doc.Findings, nil) // what was accepted then does not carry over
	keys := make(map[string]bool, len(findings))
	for i, f := range findings {
		if err := checkPreviousFinding(f); err != nil {
			return nil, fmt.Errorf("%w: finding %d: %v", ErrPrevious, i+1, err)
		}
		if keys[f.Key] {
			return nil, fmt.Errorf("%w: finding %d: key %s appears twice", ErrPrevious, i+1, quoteShort(f.Key))
		}
		keys[f.Key] = true
	}
	d := &Document{GeneratedAt: doc.GeneratedAt.UTC(), TenantID: doc.TenantID, Findings: findings, Skipped: doc.Skipped}
	if c := doc.Changes; c != nil {
		if len(c.Findings) != len(d.Findings) {
			return nil, fmt.Errorf("%w: changes.findings has %d entries for %d findings", ErrPrevious, len(c.Findings), len(d.Findings))
		}
		for i, fc := range c.Findings {
			if fc.Key != d.Findings[i].Key || (fc.Change != ChangeNew && fc.Change != ChangeOpen) {
				return nil, fmt.Errorf("%w: changes.findings entry %d does not match finding %d", ErrPrevious, i+1, i+1)
			}
		}
		for i, f := range c.Resolved {
			if err := checkPreviousFinding(f); err != nil {
				return nil, fmt.Errorf("%w: changes.resolved %d: %v", ErrPrevious, i+1, err)
			}
		}
		d.Changes = &Changes{ComparedWith: c.ComparedWith.UTC(), Findings: c.Findings, Resolved: c.Resolved}
	}
	return d, nil
}

// checkPreviousFinding checks what Compare relies on in an earlier finding.
func checkPreviousFinding(f tenant.Finding) error {
	switch {
	case f.Rule == "":
		return errors.New("no rule")
	case !f.Severity.Valid():
		return errors.New("no severity")
	case len(f.Key) <= len(f.Rule)+1 || f.Key[:len(f.Rule)+1] != f.Rule+":":
		return fmt.Errorf("key %s does not start with its rule", quoteShort(f.Key))
	}
	return nil
}

// quoteShort quotes s (Go escapes: no control character) shortened to 80
// bytes, for an error message.
func quoteShort(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// oneLine keeps an error text on one line.
func oneLine(s string) string {
	return string(bytes.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, []byte(s)))
}
