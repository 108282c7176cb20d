package accept

import (
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Mark says that a finding is accepted and by which entry.
type Mark struct {
	// Entry is the 1-based index of the entry in the file.
	Entry      int    `json:"entry"`
	Reason     string `json:"reason"`
	AcceptedBy string `json:"acceptedBy"`
	Expires    Date   `json:"expires"`
}

// Applied is one unexpired entry and how many findings it accepted.
type Applied struct {
	Entry   int `json:"entry"` // 1-based index in the file
	Matched int `json:"matched"`
}

// Expired is one expired entry and the findings it would have accepted.
type Expired struct {
	Entry       int    `json:"entry"` // 1-based index in the file
	Rule        string `json:"rule,omitempty"`
	SubjectID   string `json:"subjectId,omitempty"`
	SubjectName string `json:"subjectName,omitempty"`
	Key         string `json:"key,omitempty"`
	Reason      string `json:"reason"`
	AcceptedBy  string `json:"acceptedBy"`
	Expires     Date   `json:"expires"`
	// WouldMatch are the keys of the findings the entry would accept if
	// it had not expired, in the findings' order.
	WouldMatch []string `json:"wouldMatch"`
}

// Result is what Apply decided.
type Result struct {
	// Marks has one element per finding, in the findings' order: nil when
	// the finding is not accepted.
	Marks []*Mark
	// Applied lists every unexpired entry in file order, with its count
	// (0: the entry matched nothing).
	Applied []Applied
	// Expired lists every expired entry in file order.
	Expired []Expired
}

// Accepted returns how many findings are accepted.
func (r *Result) Accepted() int {
	if r == nil {
		return 0
	}
	n := 0
	for _, m := range r.Marks {
		if m != nil {
			n++
		}
	}
	return n
}

// MarkOf returns the mark of the finding at index i, nil when r is nil or
// the finding is not accepted.
func (r *Result) MarkOf(i int) *Mark {
	if r == nil || i < 0 || i >= len(r.Marks) {
		return nil
	}
	return r.Marks[i]
}

// Apply decides, for each finding, whether an entry of f accepts it at
// now: the first entry in file order that has not expired (now is before
// its Expires date, UTC) and matches it (Matches). Expired entries accept
// nothing; Result.Expired lists each with the findings it would have
// matched. Apply is pure: f and findings are not changed. A nil f accepts
// nothing.
func Apply(f *File, findings []tenant.Finding, now time.Time) *Result {
	r := &Result{Marks: make([]*Mark, len(findings)), Applied: []Applied{}, Expired: []Expired{}}
	if f == nil {
		return r
	}
	now = now.UTC()
	live := make([]int, 0, len(f.Entries)) // indexes into f.Entries
	appliedAt := make(map[int]int)         // entry index → index in r.Applied
	for i, e := range f.Entries {
		if !now.Before(e.Expires.Start()) {
			x := Expired{Entry: i + 1, Rule: e.Rule, SubjectID: e.SubjectID, SubjectName: e.SubjectName, Key: e.Key,
				Reason: e.Reason, AcceptedBy: e.AcceptedBy, Expires: e.Expires, WouldMatch: []string{}}
			for _, fd := range findings {
				if Matches(e, fd) {
					x.WouldMatch = append(x.WouldMatch, fd.Key)
				}
			}
			r.Expired = append(r.Expired, x)
			continue
		}
		live = append(live, i)
		appliedAt[i] = len(r.Applied)
		r.Applied = append(r.Applied, Applied{Entry: i + 1})
	}
	for j, fd := range findings {
		for _, i := range live {
			e := f.Entries[i]
			if Matches(e, fd) {
				r.Marks[j] = &Mark{Entry: i + 1, Reason: e.Reason, AcceptedBy: e.AcceptedBy, Expires: e.Expires}
				r.Applied[appliedAt[i]].Matched++
				break
			}
		}
	}
	return r
}

// Matches reports whether e names fd, whatever its expiry: every field e
// gives matches, and, when e is broad (not Exact), fd is not critical or e
// allows critical findings.
func Matches(e Entry, fd tenant.Finding) bool {
	if e.Rule == "" && e.SubjectID == "" && e.SubjectName == "" && e.Key == "" {
		return false // Parse refuses it; a hand-built one accepts nothing
	}
	if e.Rule != "" && e.Rule != fd.Rule {
		return false
	}
	if e.Key != "" && e.Key != fd.Key {
		return false
	}
	if e.SubjectID != "" && !strings.EqualFold(e.SubjectID, fd.Subject.ID) {
		return false
	}
	if e.SubjectName != "" && !Glob(e.SubjectName, fd.Subject.Name) {
		return false
	}
	if fd.Severity >= tenant.SeverityCritical && !e.Exact() && !e.AllowCritical {
		return false
	}
	return true
}

// Glob reports whether name matches pattern: '*' matches any run of
// characters (none included), every other character matches itself,
// ignoring case. It runs in time linear in len(pattern)+len(name) per
// '*'-separated part: no backtracking beyond a greedy left-most search,
// which is exact for '*'-only patterns.
func Glob(pattern, name string) bool {
	p, s := fold(pattern), fold(name)
	parts := strings.Split(p, "*")
	if len(parts) == 1 {
		return p == s
	}
	first, last := parts[0], parts[len(parts)-1]
	if !strings.HasPrefix(s, first) {
		return false
	}
	s = s[len(first):]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, last)
}

// fold maps s to a case-folded form: each rune to the smallest rune of
// its simple folding orbit, so that strings.EqualFold(a, b) implies
// fold(a) == fold(b) for single runes.
func fold(s string) string {
	return strings.Map(foldRune, s)
}
