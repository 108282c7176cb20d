package audit

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw  string
		want any
	}{
		{`"Global Administrator"`, "Global Administrator"},
		{`"\"Global Administrator\""`, "Global Administrator"}, // encoded twice
		{`Global Administrator`, "Global Administrator"},       // plain text
		{`  "62e90394-69f5-4237-9190-012177145e10" `, "62e90394-69f5-4237-9190-012177145e10"},
		{``, nil},
		{`null`, nil},
		{`""`, nil},
		{`   `, nil},
		{`42`, json.Number("42")},
		{`true`, true},
		{`["a","b"]`, []any{"a", "b"}},
		{`"[\"a\"]"`, []any{"a"}}, // an array encoded twice
		{`[abc`, "[abc"},          // not JSON: kept as text
		{`{"Address":"https://x/"}`, map[string]any{"Address": "https://x/"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, decodeValue(tt.raw)); diff != "" {
			t.Errorf("decodeValue(%q) (-want +got):\n%s", tt.raw, diff)
		}
	}
	deep := "deep"
	for i := 0; i < 6; i++ {
		b, _ := json.Marshal(deep)
		deep = string(b)
		if got := decodeValue(deep); (got == "deep") != (i < maxDecodeDepth) {
			t.Errorf("decodeValue of %d levels = %q", i+1, got)
		}
	}
	if got := valueString(`["Global Administrator"]`); got != "Global Administrator" {
		t.Errorf("valueString of a one-element array = %q", got)
	}
	for _, raw := range []string{`["a","b"]`, `{"a":1}`, `[["a"]]`, `null`} {
		if got := valueString(raw); got != "" {
			t.Errorf("valueString(%q) = %q, want empty", raw, got)
		}
	}
}
