package graphsim

import (
	"testing"
	"time"
)

func auditSpec() *filterSpec {
	for _, r := range routes() {
		if r.path == "/auditLogs/directoryAudits" {
			return r.filter
		}
	}
	panic("no directoryAudits route")
}

func signInSpec() *filterSpec {
	for _, r := range routes() {
		if r.path == "/auditLogs/signIns" {
			return r.filter
		}
	}
	panic("no signIns route")
}

func TestParseFilter(t *testing.T) {
	cases := []struct {
		in    string
		spec  *filterSpec
		want  string // canonical form; "" = must fail
		terms int
	}{
		{"activityDateTime ge 2026-10-27T15:04:05Z", auditSpec(), "activityDateTime ge 2026-10-27T15:04:05Z", 1},
		{"activityDateTime ge 2026-10-27T15:04:05.1234567Z", auditSpec(), "activityDateTime ge 2026-10-27T15:04:05.1234567Z", 1},
		{"activitydatetime GE 2026-10-27T17:04:05+02:00", auditSpec(), "activityDateTime ge 2026-10-27T15:04:05Z", 1},
		{"activityDateTime le 2026-10-27", auditSpec(), "activityDateTime le 2026-10-27T00:00:00Z", 1},
		{"activityDateTime ge 2026-10-27T15:04Z", auditSpec(), "activityDateTime ge 2026-10-27T15:04:00Z", 1},
		{"activityDisplayName eq 'It''s' and loggedByService eq 'Core Directory'", auditSpec(), "activityDisplayName eq 'It''s' and loggedByService eq 'Core Directory'", 2},
		{"((activityDateTime gt 2026-01-01T00:00:00Z)) and (result eq 'success' and category eq 'RoleManagement')", auditSpec(), "activityDateTime gt 2026-01-01T00:00:00Z and result eq 'success' and category eq 'RoleManagement'", 3},
		{"initiatedBy/user/id eq 'ab'", auditSpec(), "initiatedBy/user/id eq 'ab'", 1},
		{"correlationId eq 8C2A0EB3-1D9D-4E0A-9C1B-6A8F2B0E1F11", auditSpec(), "correlationId eq 8c2a0eb3-1d9d-4e0a-9c1b-6a8f2b0e1f11", 1},
		{"status/errorCode eq 0 and userId eq 'x'", signInSpec(), "status/errorCode eq 0 and userId eq 'x'", 2},
		{"createdDateTime ge 2026-10-27T15:04:05Z and createdDateTime lt 2026-11-27T15:04:05Z", signInSpec(), "createdDateTime ge 2026-10-27T15:04:05Z and createdDateTime lt 2026-11-27T15:04:05Z", 2},
		// rejected
		{"", auditSpec(), "", 0},
		{"activityDateTime", auditSpec(), "", 0},
		{"activityDateTime ge", auditSpec(), "", 0},
		{"activityDateTime ge '2026-10-27T15:04:05Z'", auditSpec(), "", 0},
		{"activityDateTime ge 2026-13-27T15:04:05Z", auditSpec(), "", 0},
		{"activityDateTime ge 2026-10-27T15:04:05Z or result eq 'x'", auditSpec(), "", 0},
		{"not result eq 'x'", auditSpec(), "", 0},
		{"startswith(activityDisplayName,'Add')", auditSpec(), "", 0},
		{"activityDisplayName ne 'x'", auditSpec(), "", 0},
		{"activityDisplayName eq 5", auditSpec(), "", 0},
		{"result eq 'x' and", auditSpec(), "", 0},
		{"(result eq 'x'", auditSpec(), "", 0},
		{"result eq 'x')", auditSpec(), "", 0},
		{"result eq 'unterminated", auditSpec(), "", 0},
		{"targetResources/any(t: t/id eq 'x')", auditSpec(), "", 0},
		{"userId eq 'x'", auditSpec(), "", 0},
		{"status/errorCode eq '0'", signInSpec(), "", 0},
		{"status/errorCode ge 0", signInSpec(), "", 0},
		{"riskState eq 'none'", signInSpec(), "", 0},
		{"result has 'x'", auditSpec(), "", 0},
		{"result eq 'x' # comment", auditSpec(), "", 0},
	}
	for _, tc := range cases {
		f, err := parseFilter(tc.in)
		if err == nil {
			err = f.validate(tc.spec)
		}
		if tc.want == "" {
			if err == nil {
				t.Errorf("%q: accepted as %q, want an error", tc.in, f.String())
			} else if _, ok := err.(*filterError); !ok {
				t.Errorf("%q: error %T is not a filterError", tc.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := f.String(); got != tc.want || len(f.terms) != tc.terms {
			t.Errorf("%q: got %q (%d terms), want %q (%d)", tc.in, got, len(f.terms), tc.want, tc.terms)
		}
	}
}

func TestFilterMatch(t *testing.T) {
	rec := Object{
		{"activityDateTime", "2026-11-20T10:00:00.5000000Z"},
		{"activityDisplayName", "Add member to role"},
		{"result", "failure"},
		{"status", Object{{"errorCode", 50126}}},
		{"initiatedBy", Object{{"user", Object{{"id", "U1"}}}}},
	}
	get := func(p string) (any, bool) { return rec.Path(p) }
	cases := []struct {
		f    string
		spec *filterSpec
		want bool
	}{
		{"activityDateTime ge 2026-11-20T10:00:00Z", auditSpec(), true},
		{"activityDateTime gt 2026-11-20T10:00:00.5Z", auditSpec(), false},
		{"activityDateTime ge 2026-11-20T10:00:00.5Z", auditSpec(), true},
		{"activityDateTime lt 2026-11-20T10:00:01Z", auditSpec(), true},
		{"activityDateTime eq 2026-11-20T10:00:00.5Z", auditSpec(), true},
		{"activityDisplayName eq 'add MEMBER to role' and result eq 'failure'", auditSpec(), true},
		{"activityDisplayName eq 'Add member to role' and result eq 'success'", auditSpec(), false},
		{"initiatedBy/user/id eq 'u1'", auditSpec(), true},
		{"status/errorCode eq 50126", signInSpec(), true},
		{"status/errorCode eq 0", signInSpec(), false},
		{"userId eq 'x'", signInSpec(), false}, // absent property
	}
	for _, tc := range cases {
		f, err := parseFilter(tc.f)
		if err == nil {
			err = f.validate(tc.spec)
		}
		if err != nil {
			t.Fatalf("%q: %v", tc.f, err)
		}
		if got := f.match(get); got != tc.want {
			t.Errorf("%q: match %v, want %v", tc.f, got, tc.want)
		}
	}
	f, _ := parseFilter("activityDateTime ge 2026-11-01T00:00:00Z and activityDateTime ge 2026-11-05T00:00:00Z")
	if lb := f.lowerBound("activityDateTime"); !lb.Equal(time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("lowerBound %v", lb)
	}
}

// FuzzFilter: the parser never panics, and whatever it accepts prints to
// a canonical form that parses back to the same form.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{
		"activityDateTime ge 2026-10-27T15:04:05Z",
		"activityDateTime ge 2026-10-27T15:04:05.123Z and activityDisplayName eq 'Add member to role'",
		"(status/errorCode eq 0) and userId eq 'a''b'",
		"createdDateTime le 2026-10-27 and appId eq 00000003-0000-0000-c000-000000000000",
		"x eq true and y eq null and z ne -5",
		"startswith(a,'b')", "a eq 'b' or c eq 'd'", "((((", "'", "a eq 2026-99-99T99:99:99Z",
	} {
		f.Add(s)
	}
	specs := []*filterSpec{auditSpec(), signInSpec()}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseFilter(s)
		if err != nil {
			if _, ok := err.(*filterError); !ok {
				t.Fatalf("%q: error %T", s, err)
			}
			return
		}
		canon := e.String()
		e2, err := parseFilter(canon)
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", s, canon, err)
		}
		if e2.String() != canon {
			t.Fatalf("%q: %q reprints as %q", s, canon, e2.String())
		}
		for _, sp := range specs {
			v := e2
			v.terms = append([]comparison(nil), e2.terms...)
			if v.validate(sp) == nil {
				v.match(func(string) (any, bool) { return "2026-01-01T00:00:00Z", true })
			}
		}
	})
}
