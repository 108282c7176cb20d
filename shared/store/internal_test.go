package store

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/golden"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// checkKey fails when k is not a valid PartitionKey/RowKey: at most 1 KiB,
// valid UTF-8, none of / \ # ? and no control characters.
func checkKey(t testing.TB, s, k string) {
	t.Helper()
	if len(k) == 0 || len(k) > 1024 || !utf8.ValidString(k) {
		t.Fatalf("key(%.60q) = %.60q: empty, over 1 KiB or invalid UTF-8", s, k)
	}
	for _, r := range k {
		if strings.ContainsRune(`/\#?`, r) || r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			t.Fatalf("key(%.60q) = %.60q holds %q", s, k, r)
		}
	}
	switch {
	case strings.HasPrefix(k, "~b"):
		dec, err := base64.RawURLEncoding.DecodeString(k[2:])
		if err != nil || string(dec) != s {
			t.Fatalf("key(%.60q) = %.60q does not decode back: %q, %v", s, k, dec, err)
		}
	case strings.HasPrefix(k, "~h"):
		if len(s) <= maxB64Key || len(k) != 66 {
			t.Fatalf("key(%.60q) = %.60q hashed unexpectedly", s, k)
		}
	default:
		if k != s {
			t.Fatalf("key(%.60q) = %.60q: plain keys must be kept", s, k)
		}
	}
}

// TestKeyGolden pins the key encoding: stored rows are found by it, so a
// change would orphan every row already written.
func TestKeyGolden(t *testing.T) {
	inputs := []string{
		"", "users", "delta-servicePrincipals", "AAAAAAAA-0000-0000-0000-000000000001", "sp.credential-added",
		"sp.credential-added:aaaaaaaa-0000-0000-0000-000000000001:key-1", "a/b\\c#d?e%f", "unicode: Ünïcödé 日本語 🙂",
		"tab\tnewline\n", "' or 1 eq 1 or '", "~bZm9v", strings.Repeat("x", 255), strings.Repeat("x", 256),
		strings.Repeat("k/", 300), strings.Repeat("k/", 301),
	}
	type pair struct{ In, Key string }
	var got []pair
	for _, s := range inputs {
		k := key(s)
		if s != "" {
			checkKey(t, s, k)
		}
		got = append(got, pair{s, k})
	}
	golden.CheckJSON(t, "testdata/keys.golden.json", got)
}

func FuzzKey(f *testing.F) {
	for _, s := range []string{"users", "a/b", "sp.x:1", "é", strings.Repeat("z", 700), "~bYQ", "\x00\xff"} {
		f.Add(s, s+"x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if a == "" || b == "" {
			return
		}
		ka, kb := key(a), key(b)
		checkKey(t, a, ka)
		checkKey(t, b, kb)
		if (a == b) != (ka == kb) {
			t.Fatalf("key(%q) = %q, key(%q) = %q", a, ka, b, kb)
		}
	})
}

// TestEntityGolden pins the stored layout of each table's rows.
func TestEntityGolden(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC)
	st := &Tables{log: slog.New(slog.DiscardHandler)}
	base, err := st.baselineEntity(state.Baseline{Type: tenant.SubjectServicePrincipal, ID: "AAAA-1", Name: "app",
		Credentials: []state.BaselineCredential{{KeyID: "k1", Kind: tenant.KeyCredential, Name: "CN=app"}}, ReplyURLs: []string{"https://x.example/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	f := tenant.Finding{Rule: "sp.credential-added", Severity: tenant.SeverityHigh, Title: "t",
		Subject:  tenant.Subject{Type: tenant.SubjectServicePrincipal, ID: "aaaa-1", Name: "app"},
		Evidence: map[string]any{"keyId": "k1"}, MITRE: []string{"T1098.001"}, ObservedAt: at, Key: "sp.credential-added:aaaa-1:k1"}
	data, err := st.findingJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{status: state.FindingQueued, now: at, nonce: "nonce", fs: []tenant.Finding{f}, data: [][]byte{data}}
	out, err := outboxEntity(outboxPartition, state.OutboxItem{ID: outboxID(at, 0)[:27] + "fixed", Kind: state.OutboxCard, FindingKeys: []string{f.Key},
		Payload: []byte(`{"type":"message"}`), Created: at, NextAttempt: at})
	if err != nil {
		t.Fatal(err)
	}
	sign := newEntity(signInPartition, key("user-1"))
	sign.str("User", "user-1")
	times, _ := json.Marshal([]time.Time{norm(at)})
	if err := sign.binary("Times", times); err != nil {
		t.Fatal(err)
	}
	entities := map[string]entity{
		"cursor":       cursorEntity(state.Cursor{Name: "delta-users", DeltaLink: "https://graph/delta?$deltatoken=x", UpdatedAt: at}),
		"baseline":     base,
		"finding":      rec.entity(0, at),
		"outbox":       out,
		"subscription": subscriptionEntity(state.Subscription{ID: "s1", Resource: "users", ChangeType: "updated,deleted", ExpirationDateTime: at}),
		"signin":       sign,
	}
	var b bytes.Buffer
	for _, name := range []string{"cursor", "baseline", "finding", "outbox", "subscription", "signin"} {
		var v any
		if err := json.Unmarshal(entities[name].marshal(), &v); err != nil {
			t.Fatal(err)
		}
		line, _ := json.MarshalIndent(v, "", "  ")
		fmt.Fprintf(&b, "# %s\n%s\n", name, line)
	}
	golden.Check(t, "testdata/entities.golden.txt", b.Bytes())
}

func TestBinaryParts(t *testing.T) {
	tests := []struct {
		name      string
		size      int
		wantParts int
		wantErr   bool
	}{
		{"empty", 0, 1, false},
		{"one byte", 1, 1, false},
		{"exactly one part", maxPart, 1, false},
		{"one more", maxPart + 1, 2, false},
		{"largest", maxPart * maxParts, maxParts, false},
		{"too large", maxPart*maxParts + 1, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := bytes.Repeat([]byte{0, 1, 2, 0xff}, tc.size/4+1)[:tc.size]
			e := newEntity("p", "r")
			err := e.binary("Data", in)
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e["DataPARTS"] != tc.wantParts {
				t.Fatalf("parts = %v, want %d", e["DataPARTS"], tc.wantParts)
			}
			r, err := parseRow(e.marshal(), "")
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.binary("Data")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, in) && !(len(in) == 0 && len(got) == 0) {
				t.Fatalf("round trip lost data: %d bytes back of %d", len(got), len(in))
			}
		})
	}
	// A missing part is an error, not silent truncation.
	e := newEntity("p", "r")
	_ = e.binary("Data", make([]byte, maxPart+1))
	delete(e, "Data1")
	r, _ := parseRow(e.marshal(), "")
	if _, err := r.binary("Data"); err == nil {
		t.Error("missing part not reported")
	}
}

func TestTimes(t *testing.T) {
	tests := []struct {
		in, want time.Time
	}{
		{time.Time{}, time.Time{}},
		{time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}},
		{time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.FixedZone("x", 3600)), time.Date(2026, 3, 1, 9, 0, 0, 123456700, time.UTC)},
	}
	for _, tc := range tests {
		e := newEntity("p", "r")
		e.time("T", tc.in)
		r, _ := parseRow(e.marshal(), "")
		got, err := r.time("T")
		if err != nil || !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("time %v read back as %v, %v; want %v UTC", tc.in, got, err, tc.want)
		}
	}
	r, _ := parseRow([]byte(`{"T":"not a time"}`), "")
	if _, err := r.time("T"); err == nil {
		t.Error("malformed time accepted")
	}
}

func TestChunks(t *testing.T) {
	mk := func(n, size int) []op {
		ops := make([]op, n)
		for i := range ops {
			ops[i] = op{body: make([]byte, size)}
		}
		return ops
	}
	sizes := func(cs [][]op) []int {
		var out []int
		for _, c := range cs {
			out = append(out, len(c))
		}
		return out
	}
	tests := []struct {
		name string
		ops  []op
		want []int
	}{
		{"none", nil, nil},
		{"one", mk(1, 10), []int{1}},
		{"exactly 100", mk(100, 10), []int{100}},
		{"250", mk(250, 10), []int{100, 100, 50}},
		{"by size", mk(10, 1<<20), []int{3, 3, 3, 1}},
		{"one over the size limit alone", mk(2, maxBatchBytes+1), []int{1, 1}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, sizes(chunks(tc.ops))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestTruncateText(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"ééé", 3, "é"}, // never splits a rune
		{"ééé", 4, "éé"},
		{"🙂", 2, ""},
	}
	for _, tc := range tests {
		if got := truncateText(tc.in, tc.n); got != tc.want {
			t.Errorf("truncateText(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestMergeTimes(t *testing.T) {
	h := func(hs ...int) []time.Time {
		out := make([]time.Time, len(hs))
		for i, x := range hs {
			out[i] = time.Date(2026, 1, 1, x, 0, 0, 0, time.UTC)
		}
		return out
	}
	tests := []struct {
		name      string
		a, b      []time.Time
		keepAfter time.Time
		max       int
		want      []time.Time
	}{
		{"empty", nil, nil, time.Time{}, 5, []time.Time{}},
		{"union sorted without duplicates", h(3, 1), h(2, 3, 1), time.Time{}, 0, h(1, 2, 3)},
		{"drops before keepAfter", h(1, 2), h(3), h(2)[0], 0, h(2, 3)},
		{"keeps the newest max", h(1, 2, 3), h(4, 5), time.Time{}, 2, h(4, 5)},
		{"zero times dropped", []time.Time{{}}, h(1), time.Time{}, 0, h(1)},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, mergeTimes(tc.a, tc.b, tc.keepAfter, tc.max)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

// TestErrorText: errors are one line, name the operation and the
// condition, and keep the service error reachable.
func TestErrorText(t *testing.T) {
	resp := func(status int, code, body string) *azcore.ResponseError {
		h := http.Header{}
		if code != "" {
			h.Set("x-ms-error-code", code)
		}
		return &azcore.ResponseError{StatusCode: status, ErrorCode: code, RawResponse: &http.Response{
			StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: &http.Request{},
		}}
	}
	batchBody := "--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_1\r\n\r\n--changesetresponse_1\r\n" +
		"Content-Type: application/http\r\n\r\nHTTP/1.1 409 Conflict\r\nContent-ID: 1\r\n\r\n" +
		`{"odata.error":{"code":"EntityAlreadyExists","message":{"lang":"en-US","value":"0:The specified entity already exists."}}}` +
		"\r\n--changesetresponse_1--\r\n--batchresponse_1--\r\n"
	tests := []struct {
		name     string
		err      error
		want     string
		sentinel error
	}{
		{"precondition", resp(412, "UpdateConditionNotSatisfied", ""), `store: save cursor "x": conflict: 412 Precondition Failed (UpdateConditionNotSatisfied)`, ErrConflict},
		{"exists", resp(409, "EntityAlreadyExists", ""), `store: save cursor "x": conflict: 409 Conflict (EntityAlreadyExists)`, ErrConflict},
		{"missing entity", resp(404, "ResourceNotFound", ""), `store: save cursor "x": not found: 404 Not Found (ResourceNotFound)`, ErrNotFound},
		{"missing table", resp(404, "TableNotFound", ""), `store: save cursor "x": 404 Not Found (TableNotFound)`, nil},
		{"transaction", resp(202, "", batchBody), `store: save cursor "x": conflict: transaction refused: operation answered 409 Conflict (EntityAlreadyExists)`, ErrConflict},
		{"unreachable", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, `store: save cursor "x": table storage unreachable: dial tcp: connection refused`, tenant.ErrUnreachable},
		{"flattened", fmt.Errorf("post: %w", errors.New("dial tcp 127.0.0.1:1: connect: connection refused\nsecond line")), `store: save cursor "x": post: dial tcp 127.0.0.1:1: connect: connection refused second line`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := wrap(`save cursor "x"`, tc.err)
			if err.Error() != tc.want {
				t.Errorf("message:\n got %s\nwant %s", err, tc.want)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("%v does not wrap %v", err, tc.sentinel)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("%v does not wrap its cause", err)
			}
		})
	}
}
