package exoaudit

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"
)

// The fuzz targets cover every decoder that reads outside input: whole
// content blobs through Decode, the audit-action lists of Set-Mailbox, and
// the client address fields. `make fuzz` runs each for FUZZTIME; the seeds
// and testdata/fuzz/ run in every `go test`.

// FuzzDecode checks Decode never panics, honours its bounds, and that its
// counts add up to the records it read.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`[{"Id":"1","RecordType":1,"CreationTime":"2026-10-30T09:12:44","Operation":"Set-Mailbox","Parameters":[{"Name":"AuditEnabled","Value":"False"}]}]`))
	f.Add([]byte(`[{"Id":"2","RecordType":50,"CreationTime":"2026-10-30T09:12:44Z","Operation":"MailItemsAccessed","OperationProperties":[{"Name":"IsThrottled","Value":true}],"Folders":[{"FolderItems":[{},{}]}],"ClientIPAddress":"[::1]:1"}]`))
	f.Add([]byte(`[1,"x",null,[],{}]`))
	f.Add([]byte(`[{"RecordType":"1e3"},{"RecordType":-1},{"LogonType":1e400}]`))
	f.Add([]byte(`{`))
	f.Add([]byte(`[` + strings.Repeat(`[`, 200)))
	f.Fuzz(func(t *testing.T, body []byte) {
		const maxRecords, maxBytes = 50, 4 << 10
		b, err := Decode(bytes.NewReader(body), &Options{MaxRecords: maxRecords, MaxRecordBytes: maxBytes})
		if b == nil {
			t.Fatal("nil blob")
		}
		c := b.Counts
		if c.Records > maxRecords {
			t.Fatalf("read %d records, cap %d", c.Records, maxRecords)
		}
		if c.Admin+c.Mail+c.Skipped+c.Malformed != c.Records || c.Admin != len(b.Admin) || c.Mail != len(b.MailAccess) {
			t.Fatalf("counts do not add up: %+v (admin %d, mail %d)", c, len(b.Admin), len(b.MailAccess))
		}
		for _, e := range b.Admin {
			if e.ID == "" || e.Cmdlet == "" || e.Time.IsZero() || e.Time.Location().String() != "UTC" {
				t.Fatalf("admin event without id, cmdlet or UTC time: %+v", e)
			}
		}
		for _, m := range b.MailAccess {
			if m.ID == "" || m.Time.IsZero() || m.Items < 0 {
				t.Fatalf("mail access without id or time, or negative items: %+v", m)
			}
		}
		if err == nil && !json.Valid(bytes.TrimSpace(body)) && len(bytes.TrimSpace(body)) > 0 {
			t.Fatalf("invalid JSON %q decoded without an error", body)
		}
	})
}

// FuzzAuditActions checks the action-list reader never panics, returns no
// empty action, and reads back an action list written as Exchange records
// it.
func FuzzAuditActions(f *testing.F) {
	f.Add("+ApplyRecord;+SoftDelete;-Update;-MoveToDeletedItems", "MailItemsAccessed")
	f.Add("Update;SendAs", "Update")
	f.Add(`@{Add="MailItemsAccessed"; Remove=Update}`, "x")
	f.Add("@{", "")
	f.Add("{;,;}", "-")
	f.Fuzz(func(t *testing.T, value, action string) {
		l := AuditActions(value)
		for _, list := range [][]string{l.Set, l.Added, l.Removed} {
			if len(list) > maxActions {
				t.Fatalf("%d actions from %q", len(list), value)
			}
			for _, a := range list {
				if a == "" {
					t.Fatalf("empty action from %q", value)
				}
			}
		}
		// An action name as Exchange writes them: letters only.
		if action == "" || !utf8.ValidString(action) || strings.IndexFunc(action, func(r rune) bool { return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') }) >= 0 {
			return
		}
		if got := AuditActions("-" + action + ";+Update"); !Has(got.Removed, action) || got.Replace {
			t.Fatalf("removal of %q not read back: %+v", action, got)
		}
		if got := AuditActions("Update;" + action); !Has(got.Set, action) || !got.Replace {
			t.Fatalf("set with %q not read back: %+v", action, got)
		}
	})
}

// FuzzClientIP checks the address reader never panics, returns an
// address without port or mapping when one is given, and bounds other text.
func FuzzClientIP(f *testing.F) {
	f.Add("203.0.113.7:51234")
	f.Add("[2603:10b6::1]:443")
	f.Add("::ffff:1.2.3.4")
	f.Add("fe80::1%eth0")
	f.Add("[")
	f.Fuzz(func(t *testing.T, s string) {
		got := clientIP(s)
		if a, err := netip.ParseAddr(got); err == nil {
			if a.Is4In6() || a.Zone() != "" {
				t.Fatalf("clientIP(%q) = %q: mapped or zoned", s, got)
			}
			return
		}
		if len(got) > maxIPText {
			t.Fatalf("clientIP(%q) = %d bytes", s, len(got))
		}
		if ap, err := netip.ParseAddrPort(strings.TrimSpace(s)); err == nil {
			t.Fatalf("clientIP(%q) = %q, want the address %s", s, got, ap.Addr())
		}
	})
}
