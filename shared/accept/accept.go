package accept

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of an accept file.
const (
	MaxFileBytes   = 1 << 20 // 1 MiB
	MaxEntries     = 5000
	MaxFieldBytes  = 1024 // any string field
	MaxPatternStar = 8    // '*' in one subjectName pattern
)

// ErrInvalid marks every error of Parse: the accept file cannot be used.
var ErrInvalid = errors.New("invalid accept file")

// Entry is one accepted risk. Rule, SubjectID, SubjectName and Key say
// what it accepts (every one given must match; at least one is given);
// Reason, AcceptedBy and Expires are required.
type Entry struct {
	// Rule is a rule id, matched exactly ("app.credential-added").
	Rule string `json:"rule,omitempty"`
	// SubjectID is the subject's id, matched exactly, ignoring case
	// (object ids are GUIDs).
	SubjectID string `json:"subjectId,omitempty"`
	// SubjectName is a pattern for the subject's name: every character
	// matches itself, ignoring case (Unicode simple folding), except '*',
	// which matches any run of characters, none included. No other
	// character is special; there is no escape, so a pattern cannot match
	// a literal '*' other than through '*'.
	SubjectName string `json:"subjectName,omitempty"`
	// Key is a finding key, matched exactly.
	Key string `json:"key,omitempty"`
	// Reason says why the risk is accepted.
	Reason string `json:"reason"`
	// AcceptedBy says who accepted it.
	AcceptedBy string `json:"acceptedBy"`
	// Expires is the date (YYYY-MM-DD, UTC) from which the entry no
	// longer applies: it applies until the end of the day before.
	Expires Date `json:"expires"`
	// AllowCritical lets a broad entry (see the package documentation)
	// accept critical findings.
	AllowCritical bool `json:"allowCritical,omitempty"`
}

// Exact reports whether e names a finding exactly: a key, or a rule and a
// subjectId. A subjectName never makes an entry exact, not even without
// '*': names are chosen by whoever creates the object, so an attacker can
// give a new app an accepted app's name.
func (e Entry) Exact() bool {
	return e.Key != "" || (e.Rule != "" && e.SubjectID != "")
}

// Date is a calendar day in UTC, written YYYY-MM-DD.
type Date struct{ t time.Time }

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("expires: want a date YYYY-MM-DD, got %s", quote(s))
	}
	return Date{t}, nil
}

// String is the date as YYYY-MM-DD ("" for the zero Date).
func (d Date) String() string {
	if d.t.IsZero() {
		return ""
	}
	return d.t.Format(time.DateOnly)
}

// Start is midnight UTC at the start of the day.
func (d Date) Start() time.Time { return d.t }

// IsZero reports whether d was never set.
func (d Date) IsZero() bool { return d.t.IsZero() }

// MarshalJSON writes "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "YYYY-MM-DD".
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("expires: want a date string YYYY-MM-DD")
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// File is a parsed accept file.
type File struct {
	Entries []Entry `json:"entries"`
}

// Parse reads an accept file strictly: at most MaxFileBytes, one JSON
// object {"entries": [...]} with at most MaxEntries entries, no field the
// format does not define, no data after it, every entry valid (see
// Entry). Every error wraps ErrInvalid, fits on one line and, for an
// entry, names it by its 1-based index and the field.
func Parse(r io.Reader) (*File, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("%w: larger than %d KiB", ErrInvalid, MaxFileBytes>>10)
	}
	var top struct {
		Entries *[]json.RawMessage `json:"entries"`
	}
	if err := decodeStrict(b, &top); err != nil {
		return nil, fmt.Errorf("%w: %s (want {\"entries\": [...]})", ErrInvalid, err)
	}
	if top.Entries == nil {
		return nil, fmt.Errorf("%w: no \"entries\" array (want {\"entries\": [...]})", ErrInvalid)
	}
	if n := len(*top.Entries); n > MaxEntries {
		return nil, fmt.Errorf("%w: %d entries, at most %d", ErrInvalid, n, MaxEntries)
	}
	f := &File{Entries: make([]Entry, 0, len(*top.Entries))}
	for i, raw := range *top.Entries {
		var e Entry
		if err := decodeStrict(raw, &e); err != nil {
			return nil, fmt.Errorf("%w: entry %d: %s", ErrInvalid, i+1, err)
		}
		if err := check(e); err != nil {
			return nil, fmt.Errorf("%w: entry %d: %s", ErrInvalid, i+1, err)
		}
		f.Entries = append(f.Entries, e)
	}
	return f, nil
}

// decodeStrict decodes one JSON value with no unknown field and nothing
// after it; the error is one line.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if te.Field == "" {
				return fmt.Errorf("want a JSON object, got %s", te.Value)
			}
			return fmt.Errorf("%s: want %s, got %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
		}
		return errors.New(oneLine(strings.TrimPrefix(err.Error(), "json: ")))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON value")
	}
	return nil
}

// jsonKind names a Go kind as JSON does.
func jsonKind(k string) string {
	switch k {
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "a " + k
}

// check validates one decoded entry.
func check(e Entry) error {
	fields := []struct{ name, v string }{
		{"rule", e.Rule}, {"subjectId", e.SubjectID}, {"subjectName", e.SubjectName}, {"key", e.Key},
		{"reason", e.Reason}, {"acceptedBy", e.AcceptedBy},
	}
	for _, f := range fields {
		if len(f.v) > MaxFieldBytes {
			return fmt.Errorf("%s: longer than %d bytes", f.name, MaxFieldBytes)
		}
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("%s: not valid UTF-8", f.name)
		}
		if strings.ContainsFunc(f.v, unicode.IsControl) {
			return fmt.Errorf("%s: contains a control character", f.name)
		}
	}
	switch {
	case e.Rule == "" && e.SubjectID == "" && e.SubjectName == "" && e.Key == "":
		return errors.New("names nothing: give rule, subjectId, subjectName or key (an empty entry would accept every finding)")
	case strings.Trim(e.SubjectName, "*") == "" && e.SubjectName != "":
		return errors.New("subjectName: a pattern of only '*' matches every name; name the subject or leave subjectName out")
	case strings.Count(e.SubjectName, "*") > MaxPatternStar:
		return fmt.Errorf("subjectName: more than %d '*'", MaxPatternStar)
	case strings.TrimSpace(e.Reason) == "":
		return errors.New("reason: required (why is the risk accepted?)")
	case strings.TrimSpace(e.AcceptedBy) == "":
		return errors.New("acceptedBy: required (who accepted the risk?)")
	case e.Expires.IsZero():
		return errors.New("expires: required, a date YYYY-MM-DD")
	}
	return nil
}

// quote quotes s (Go escapes: no control character) shortened to 60
// bytes, for an error message.
func quote(s string) string {
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// oneLine keeps an error text on one line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}
