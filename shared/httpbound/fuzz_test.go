package httpbound_test

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/httpbound"
)

// FuzzRetryDelay: whatever a server sends as Retry-After, the wait is never
// negative, a value not understood falls back to the back-off, and the
// header as shown is one printable line of at most 64 bytes and "…".
func FuzzRetryDelay(f *testing.F) {
	for _, s := range []string{"120", "0", "1.5", "-1", "NaN", "Inf", "1e309", "0x10",
		"Wed, 21 Oct 2015 07:28:00 GMT", "Monday, 21-Oct-15 07:28:00 GMT", "Mon Jan  2 15:04:05 2006",
		"12\r\n0", "\x00\x7f", strings.Repeat("é", 40)} {
		f.Add(s, 1)
	}
	now := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, header string, attempt int) {
		if attempt < 1 || attempt > 100 {
			attempt = 1
		}
		resp := &http.Response{Header: http.Header{"Retry-After": {header}}}
		wait, asked, shown := httpbound.RetryDelay(resp, attempt, now)
		if wait < 0 {
			t.Fatalf("%q: negative wait %v", header, wait)
		}
		if !asked {
			floor := httpbound.BackoffBase << min(attempt-1, 10)
			if wait < floor || wait >= floor+time.Second {
				t.Fatalf("%q: back-off %v for retry %d", header, wait, attempt)
			}
		} else if wait > time.Duration(math.MaxInt64/int64(time.Second))*time.Second {
			t.Fatalf("%q: wait %v over the cap", header, wait)
		}
		body, cut := strings.CutSuffix(shown, "…")
		if len(body) > 64 || cut && len(body) != 64 {
			t.Fatalf("%q: shown %q is not bounded", header, shown)
		}
		if strings.ContainsFunc(shown, func(r rune) bool { return r < 0x20 || r == 0x7f }) ||
			shown != strings.TrimSpace(shown) || strings.Contains(shown, "  ") {
			t.Fatalf("%q: shown %q is not one printable line", header, shown)
		}
	})
}
