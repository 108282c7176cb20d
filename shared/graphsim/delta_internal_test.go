package graphsim

import (
	"strings"
	"testing"
	"testing/fstest"
)

func usersSpec() *filterSpec {
	for _, r := range routes() {
		if r.path == "/users" {
			return r.filter
		}
	}
	panic("no users route")
}

func TestParseFilterIn(t *testing.T) {
	cases := []struct {
		in, want string // want "" = must fail
	}{
		{"id in ('a','b')", "id in ('a','b')"},
		{"ID IN ( 'a' , 'B' )", "id in ('a','B')"},
		{"id in (8C2A0EB3-1D9D-4E0A-9C1B-6A8F2B0E1F11)", "id in (8c2a0eb3-1d9d-4e0a-9c1b-6a8f2b0e1f11)"},
		{"id in ('it''s')", "id in ('it''s')"},
		{"id eq 'a'", "id eq 'a'"},
		{"id in ('a') and id eq 'a'", "id in ('a') and id eq 'a'"},
		{"id in ('a','b','c','d','e','f','g','h','i','j','k','l','m','n','o')", "id in ('a','b','c','d','e','f','g','h','i','j','k','l','m','n','o')"},
		// refused
		{"id in ('a','b','c','d','e','f','g','h','i','j','k','l','m','n','o','p')", ""}, // 16 values
		{"id in ()", ""},
		{"id in ('a',)", ""},
		{"id in 'a'", ""},
		{"id in ('a' 'b')", ""},
		{"id in (1)", ""},
		{"displayName in ('a')", ""},
		{"id ne 'a'", ""},
		{"id, eq 'a'", ""},
	}
	for _, tc := range cases {
		f, err := parseFilter(tc.in)
		if err == nil {
			err = f.validate(usersSpec())
		}
		if tc.want == "" {
			if err == nil {
				t.Errorf("%q accepted as %q", tc.in, f.String())
			} else if _, ok := err.(*filterError); !ok {
				t.Errorf("%q: error %T", tc.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := f.String(); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
	f, _ := parseFilter("id in ('A','b')")
	_ = f.validate(usersSpec())
	for id, want := range map[string]bool{"a": true, "B": true, "c": false} {
		if got := f.match(func(string) (any, bool) { return id, true }); got != want {
			t.Errorf("match %q: %v", id, got)
		}
	}
}

// FuzzFilterIn: lists parse, print canonically and reparse to the same
// form; validation against the users spec never panics.
func FuzzFilterIn(f *testing.F) {
	for _, s := range []string{"id in ('a','b')", "id in (", "id in ('a',", "id in (,)", "x in ('a') and y in (1,2)", "id in ((('a'))"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseFilter(s)
		if err != nil {
			return
		}
		canon := e.String()
		e2, err := parseFilter(canon)
		if err != nil || e2.String() != canon {
			t.Fatalf("%q printed as %q, which reparses as %v %v", s, canon, e2, err)
		}
		if e2.validate(usersSpec()) == nil {
			e2.match(func(string) (any, bool) { return "a", true })
		}
	})
}

// bareTenant is a scenario of nothing but an organization.
func bareTenant() *Scenario {
	return &Scenario{Name: "bare", Data: fstest.MapFS{
		"organization.json": {Data: []byte(`[{"id": "9b3c2f4e-1d6a-4c8b-9e7f-0a1b2c3d4e5f", "displayName": "Bare"}]`)},
	}}
}

func testServer(t testing.TB) *Server {
	t.Helper()
	s, err := New(&Options{Scenario: bareTenant(), Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDeltaTokenRoundTrip(t *testing.T) {
	s := testServer(t)
	for _, tok := range []deltaToken{
		{kind: tokDelta, route: 1, epoch: 0, issued: 1_790_000_000, ver: 7},
		{kind: tokSkip, route: 3, epoch: 2, issued: -5, ver: 9, from: 4, phase: phaseChanges, started: true, sel: []int{0, 5, 2}, pos: []int{12}},
		{kind: tokSkip, route: 2, ver: 1, sel: []int{}, pos: []int{3, 0, 1 << 30}},
	} {
		enc := s.encodeDeltaToken(tok)
		got, err := s.decodeDeltaToken(enc, 40)
		if err != nil {
			t.Fatalf("%+v: %v", tok, err)
		}
		if got.kind != tok.kind || got.route != tok.route || got.epoch != tok.epoch || got.issued != tok.issued || got.ver != tok.ver ||
			got.from != tok.from || got.phase != tok.phase || got.started != tok.started || (got.sel == nil) != (tok.sel == nil) ||
			len(got.sel) != len(tok.sel) || len(got.pos) != len(tok.pos) {
			t.Errorf("round trip %+v → %+v", tok, got)
		}
		// Any single-character change is refused.
		for i := range enc {
			b := []byte(enc)
			b[i] = "AB"[map[bool]int{true: 1}[b[i] == 'A']]
			if _, err := s.decodeDeltaToken(string(b), 40); err == nil && string(b) != enc {
				t.Errorf("altered token %q accepted", b)
			}
		}
		// Another tenant (seed) does not accept it.
		other, _ := New(&Options{Scenario: bareTenant(), Seed: 4})
		if _, err := other.decodeDeltaToken(enc, 40); err == nil {
			t.Error("token accepted by another tenant")
		}
	}
}

// FuzzDeltaToken: decoding outside input never panics and accepts only
// what the server signed.
func FuzzDeltaToken(f *testing.F) {
	s := testServer(f)
	f.Add(s.encodeDeltaToken(deltaToken{kind: tokDelta, route: 1, ver: 3}))
	f.Add(s.encodeDeltaToken(deltaToken{kind: tokSkip, route: 4, sel: []int{1}, pos: []int{1, 2}}))
	f.Add("")
	f.Add("latest")
	f.Add(strings.Repeat("A", 64))
	f.Fuzz(func(t *testing.T, tok string) {
		got, err := s.decodeDeltaToken(tok, 40)
		if err != nil {
			return
		}
		if again := s.encodeDeltaToken(got); again != tok {
			t.Fatalf("accepted %q, which is not what the server issues for %+v (%q)", tok, got, again)
		}
	})
}

// FuzzSkipToken: list skip tokens from outside never panic.
func FuzzSkipToken(f *testing.F) {
	f.Add(encodeSkipToken(7, 0, cursor{1, 2}))
	f.Add(encodeSkipToken(7, 9, cursor{1, 2, 3}))
	f.Add("g1")
	f.Add("g2AAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		ver, cur, err := decodeSkipToken(tok, 7)
		if err != nil {
			return
		}
		if strings.HasPrefix(tok, "g1") && ver != 0 {
			t.Fatalf("g1 token with version %d", ver)
		}
		for _, p := range cur {
			if p < 0 {
				t.Fatalf("negative position in %q", tok)
			}
		}
	})
}
