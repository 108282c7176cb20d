package activityfeed

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseError: whatever an error body holds, the code and message are
// one printable, valid, bounded line each, and the classification does
// not panic.
func FuzzParseError(f *testing.F) {
	f.Add([]byte(`{"error":{"code":"AF20022","message":"No subscription found for the specified content type"}}`))
	f.Add([]byte(`{"error":{"code":"StartSubscription [TenantId=x] failed. Exception","message":"Microsoft.Office.Compliance.Audit.DataServiceException: Tenant x does not exist.\r\n   at Foo()"}}`))
	f.Add([]byte(`{'error':{'code':'AF429','message':'Too many requests. Method=GetBlob, PublisherId=00000000-0000-0000-0000-000000000000'}}`))
	f.Add([]byte("<html>\x00\x1b[31m" + strings.Repeat("é", 400)))
	f.Add([]byte(`{"error":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		code, msg := parseError(body)
		for _, s := range []string{code, msg} {
			if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("not one printable line: %q", s)
			}
		}
		if len(code) > 80+len("…") || len(msg) > maxMessage+len("…") {
			t.Fatalf("unbounded: %d, %d", len(code), len(msg))
		}
		_ = sentinel(400, code, msg)
	})
}

// FuzzParseListing: a listing page either decodes or fails; entries'
// times parse or are kept.
func FuzzParseListing(f *testing.F) {
	f.Add([]byte(`[{"contentType":"Audit.Exchange","contentId":"a$b","contentUri":"https://manage.office.com/api/v1.0/t/activity/feed/audit/a$b","contentCreated":"2015-05-23T17:35:00.000Z","contentExpiration":"2015-05-30T17:35:00.000Z"}]`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[{"contentCreated":"2015-05-23T17:35"}]`))
	f.Add([]byte(`{"value":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		page, err := parseListing(bytes.NewReader(body))
		if err != nil && page != nil {
			t.Fatalf("entries with an error")
		}
		for _, e := range page {
			parseTime(e.ContentCreated)
		}
	})
}
