package typednull

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"testing/iotest"
)

// emptyTyped is the regular expression nuller replaced: the oracle.
var emptyTyped = regexp.MustCompile(`("(?:[A-Za-z0-9_]*DateTime|appOwnerOrganizationId|keyId|appRoleId|principalId|resourceId|skuId|servicePlanId)"\s*:\s*)""`)

func regexNull(in []byte) []byte { return emptyTyped.ReplaceAll(in, []byte("${1}null")) }

// typedName is emptyTyped's name, anchored: which decoded member names may
// have their "" turned into null.
var typedName = regexp.MustCompile(`^(?:[A-Za-z0-9_]*DateTime|appOwnerOrganizationId|keyId|appRoleId|principalId|resourceId|skuId|servicePlanId)$`)

// nullAll runs in through a nuller, reading from src as split.
func nullAll(t testing.TB, src io.Reader) []byte {
	t.Helper()
	out, err := io.ReadAll(NewReader(io.NopCloser(src)))
	if err != nil {
		t.Fatalf("nuller: %v", err)
	}
	return out
}

// chunks returns a reader of in that returns the pieces sizes say (cycled;
// a size of 0 counts as 1).
type chunks struct {
	in    []byte
	sizes []byte
	i     int
}

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := 1
	if len(c.sizes) > 0 {
		n = max(int(c.sizes[c.i%len(c.sizes)]), 1)
		c.i++
	}
	n = min(n, len(p), len(c.in))
	copy(p, c.in[:n])
	c.in = c.in[n:]
	return n, nil
}

// TestReader: what is rewritten and what is not, read whole, a byte at a
// time, and split at every position.
func TestReader(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"date", `{"createdDateTime":""}`, `{"createdDateTime":null}`},
		{"bare suffix", `{"DateTime":""}`, `{"DateTime":null}`},
		{"spaces", "{\"lastSignInDateTime\" \t:\r\n \"\" }", "{\"lastSignInDateTime\" \t:\r\n null }"},
		{"guids", `{"keyId":"","skuId":"","servicePlanId":"","appRoleId":"","principalId":"","resourceId":"","appOwnerOrganizationId":""}`,
			`{"keyId":null,"skuId":null,"servicePlanId":null,"appRoleId":null,"principalId":null,"resourceId":null,"appOwnerOrganizationId":null}`},
		{"nested", `{"value":[{"signInActivity":{"lastSignInDateTime":"","lastSignInRequestId":""}}]}`,
			`{"value":[{"signInActivity":{"lastSignInDateTime":null,"lastSignInRequestId":""}}]}`},
		{"non-empty kept", `{"createdDateTime":"2024-01-01T00:00:00Z","keyId":"x"}`, `{"createdDateTime":"2024-01-01T00:00:00Z","keyId":"x"}`},
		{"other names kept", `{"displayName":"","keyIds":"","xkeyId":"","DateTimes":"","resultReason":""}`, `{"displayName":"","keyIds":"","xkeyId":"","DateTimes":"","resultReason":""}`},
		{"text inside a value", `{"displayName":"\"keyId\": \"\" and \"createdDateTime\":\"\""}`, `{"displayName":"\"keyId\": \"\" and \"createdDateTime\":\"\""}`},
		{"escaped quote before a name", `{"a\"keyId":""}`, `{"a\"keyId":""}`},
		{"escaped name", `{"key\u0049d":""}`, `{"key\u0049d":""}`},
		{"name as a value", `{"x":"keyId","y":""}`, `{"x":"keyId","y":""}`},
		{"names in an array", `["keyId",""]`, `["keyId",""]`},
		{"value after a name value", `{"keyId":"keyId","keyId":""}`, `{"keyId":"keyId","keyId":null}`},
		{"long date name", `{"` + string(bytes.Repeat([]byte("a"), 5000)) + `DateTime":""}`, `{"` + string(bytes.Repeat([]byte("a"), 5000)) + `DateTime":null}`},
		{"backslashes", `{"a":"\\","keyId":"","b":"\\\"keyId\":\"\""}`, `{"a":"\\","keyId":null,"b":"\\\"keyId\":\"\""}`},
		{"ends on the held quote", `{"keyId":"`, `{"keyId":"`},
		{"ends after the colon", `{"keyId":`, `{"keyId":`},
		{"empty", ``, ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := nullAll(t, bytes.NewReader([]byte(tc.in))); string(got) != tc.want {
				t.Errorf("whole:\n got %s\nwant %s", got, tc.want)
			}
			if got := nullAll(t, iotest.OneByteReader(bytes.NewReader([]byte(tc.in)))); string(got) != tc.want {
				t.Errorf("byte by byte:\n got %s\nwant %s", got, tc.want)
			}
			for i := range len(tc.in) {
				got := nullAll(t, io.MultiReader(bytes.NewReader([]byte(tc.in[:i])), bytes.NewReader([]byte(tc.in[i:]))))
				if string(got) != tc.want {
					t.Fatalf("split at %d:\n got %s\nwant %s", i, got, tc.want)
				}
			}
		})
	}
}

// FuzzReader holds the streaming rewriter to the regular expression it
// replaced, on any input and any way of splitting it into reads:
//   - the output does not depend on how the input is split;
//   - on valid JSON it is byte for byte the expression's output, unless the
//     expression matched from an escaped quote (a member name such as
//     `a\"keyId`, which it took for keyId);
//   - on valid JSON the output is valid JSON equal to the input except for
//     "" values of typed members, now null: no string changes.
func FuzzReader(f *testing.F) {
	for _, name := range []string{"users-signin-p1.json", "directoryAudits-p2.json", "users-delta-changes.json", "servicePrincipals.json", "signIns.json"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, []byte{7, 1, 3})
	}
	f.Add([]byte(`{"value":[{"signInActivity":{"lastSignInDateTime":"","lastSignInRequestId":""},"assignedLicenses":[{"skuId":"","disabledPlans":[]}]}]}`), []byte{1})
	f.Add([]byte(`{"a\"keyId":"","displayName":"\"keyId\": \"\"","x":["skuId",":",""]}`), []byte{2, 5})
	f.Add([]byte(`{"createdDateTime" : "" , "keyId":"keyId", "keyId" :"" }`), []byte{0})
	f.Add([]byte(`"keyId":"""keyId":""`), []byte{3})
	f.Fuzz(func(t *testing.T, in, sizes []byte) {
		whole := nullAll(t, bytes.NewReader(in))
		split := nullAll(t, &chunks{in: in, sizes: sizes})
		if !bytes.Equal(whole, split) {
			t.Fatalf("output depends on the reads:\nwhole %q\nsplit %q", whole, split)
		}
		if !json.Valid(in) {
			return
		}
		if !regexFromEscapedQuote(in) {
			if want := regexNull(in); !bytes.Equal(whole, want) {
				t.Fatalf("differs from the expression:\n  in %q\n got %q\nwant %q", in, whole, want)
			}
		}
		var a, b any
		if err := decode(in, &a); err != nil {
			t.Skip()
		}
		if err := decode(whole, &b); err != nil {
			t.Fatalf("output is not JSON: %v\n%q", err, whole)
		}
		if !sameButNulled(a, b, false) {
			t.Fatalf("output changed more than typed empty values:\n in %q\nout %q", in, whole)
		}
	})
}

func decode(b []byte, v *any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// regexFromEscapedQuote reports whether a match of the expression in in
// starts at a quote preceded by an odd run of backslashes.
func regexFromEscapedQuote(in []byte) bool {
	for _, m := range emptyTyped.FindAllIndex(in, -1) {
		k := 0
		for i := m[0] - 1; i >= 0 && in[i] == '\\'; i-- {
			k++
		}
		if k%2 == 1 {
			return true
		}
	}
	return false
}

// sameButNulled reports whether b equals a, except that a "" value under a
// typed member name (typed) may be null in b.
func sameButNulled(a, b any, typed bool) bool {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for k, x := range av {
			y, ok := bv[k]
			if !ok || !sameButNulled(x, y, typedName.MatchString(k)) {
				return false
			}
		}
		return true
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !sameButNulled(av[i], bv[i], false) {
				return false
			}
		}
		return true
	case string:
		if av == "" && typed && b == nil {
			return true
		}
		bv, ok := b.(string)
		return ok && av == bv
	case json.Number:
		bv, ok := b.(json.Number)
		return ok && av == bv
	}
	return a == b
}

// benchPage is about 4 MiB of real page text: with an empty value ("") in
// every user when withEmpty, else none.
func benchPage(b *testing.B, withEmpty bool) []byte {
	b.Helper()
	page, err := os.ReadFile(filepath.Join("..", "..", "testdata", "users-signin-p1.json"))
	if err != nil {
		b.Fatal(err)
	}
	if !withEmpty {
		page = bytes.ReplaceAll(page, []byte(`""`), []byte(`"x"`))
	}
	return bytes.Repeat(page, (4<<20)/len(page)+1)
}

// BenchmarkReader: the stream rewriting, as the SDK reads a body (io.ReadAll).
func BenchmarkReader(b *testing.B) {
	for _, empty := range []bool{true, false} {
		b.Run(map[bool]string{true: "with empty values", false: "without"}[empty], func(b *testing.B) {
			page := benchPage(b, empty)
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				if _, err := io.ReadAll(NewReader(io.NopCloser(bytes.NewReader(page)))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRegexp: what it replaced (the body copied whole, then the
// expression when it holds "").
func BenchmarkRegexp(b *testing.B) {
	for _, empty := range []bool{true, false} {
		b.Run(map[bool]string{true: "with empty values", false: "without"}[empty], func(b *testing.B) {
			page := benchPage(b, empty)
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				body, err := io.ReadAll(bytes.NewReader(page))
				if err != nil {
					b.Fatal(err)
				}
				if bytes.Contains(body, []byte(`""`)) {
					body = regexNull(body)
				}
				if _, err := io.ReadAll(bytes.NewReader(body)); err != nil { // the SDK's own copy
					b.Fatal(err)
				}
			}
		})
	}
}
