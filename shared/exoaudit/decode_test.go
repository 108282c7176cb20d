package exoaudit_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/exoaudit"
	goldenfile "github.com/tenantwatch/tenantwatch/shared/golden"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// decodeCase is testdata/decode/<name>.json: one content blob as the API
// serves it and the hand-checked summary of what it decodes to.
type decodeCase struct {
	Description string            `json:"description"`
	Source      string            `json:"source"`
	Blob        json.RawMessage   `json:"blob"`
	Want        []string          `json:"want"`
	WantCounts  exoaudit.Counts   `json:"wantCounts"`
	WantError   string            `json:"wantError"`
	Options     *exoaudit.Options `json:"options"`
}

func adminLine(e tenant.ExchangeAdminEvent) string {
	var ps []string
	for _, p := range e.Parameters {
		ps = append(ps, p.Name+"="+p.Value)
	}
	return fmt.Sprintf("admin %s %s %s by %q app %q on %q ok=%v ip=%q external=%v [%s]", e.ID, e.Time.Format("2006-01-02T15:04:05Z07:00"),
		e.Cmdlet, e.Actor, e.ActorAppID, e.ObjectID, e.Succeeded, e.ClientIP, e.External, strings.Join(ps, " | "))
}

func mailLine(m tenant.MailAccess) string {
	return fmt.Sprintf("mail %s %s owner %q by %q app %q client %q ip %q logon %d %s throttled=%v items %d byApp=%v", m.ID,
		m.Time.Format("2006-01-02T15:04:05Z07:00"), m.MailboxOwner, m.Actor, m.AppID, m.ClientAppID, m.ClientIP, m.LogonType,
		m.AccessType, m.Throttled, m.Items, m.ByApp())
}

// TestDecode decodes each case's blob and checks the events against the
// hand-checked lines, the counts, and the golden file (go test -update
// rewrites it; review the diff).
func TestDecode(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "decode", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, path := range paths {
		if strings.HasSuffix(path, ".golden.json") {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var tc decodeCase
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&tc); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if tc.Description == "" || len(tc.Blob) == 0 {
				t.Fatalf("%s: want a description and a blob", path)
			}
			// One byte at a time: the decoder must not depend on how the
			// body arrives.
			blob, err := exoaudit.Decode(iotest.OneByteReader(bytes.NewReader(tc.Blob)), tc.Options)
			switch {
			case tc.WantError == "" && err != nil:
				t.Fatalf("Decode: %v", err)
			case tc.WantError != "" && (err == nil || !strings.Contains(err.Error(), tc.WantError)):
				t.Fatalf("Decode error = %v, want one containing %q", err, tc.WantError)
			}
			var got []string
			for _, e := range blob.Admin {
				got = append(got, adminLine(e))
			}
			for _, m := range blob.MailAccess {
				got = append(got, mailLine(m))
			}
			if diff := cmp.Diff(tc.Want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.WantCounts, blob.Counts); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
			goldenfile.CheckJSON(t, strings.TrimSuffix(path, ".json")+".golden.json", blob)
		})
	}
	if n == 0 {
		t.Fatal("no cases in testdata/decode")
	}
}

// TestDecodeBounds: a blob that breaks a bound ends with the bound's error
// and keeps what was decoded before it; the reader is never read past the
// record cap plus the decoder's read-ahead.
func TestDecodeBounds(t *testing.T) {
	rec := func(id string) string {
		return `{"Id":"` + id + `","RecordType":1,"CreationTime":"2026-10-30T10:00:00","Operation":"Set-Mailbox","UserId":"a@contoso.com"}`
	}
	huge := `{"Id":"big","RecordType":1,"CreationTime":"2026-10-30T10:00:00","Operation":"Set-Mailbox","Parameters":[{"Name":"x","Value":"` +
		strings.Repeat("A", 300<<10) + `"}]}`
	tests := []struct {
		name    string
		body    io.Reader
		opts    *exoaudit.Options
		wantErr error
		admin   int
	}{
		{"empty body", strings.NewReader(""), nil, nil, 0},
		{"empty array", strings.NewReader(" [ ] "), nil, nil, 0},
		{"too many records", strings.NewReader("[" + rec("1") + "," + rec("2") + "," + rec("3") + "]"), &exoaudit.Options{MaxRecords: 2}, exoaudit.ErrTooManyRecords, 2},
		{"record too large", strings.NewReader("[" + rec("1") + "," + huge + "," + rec("3") + "]"), &exoaudit.Options{MaxRecordBytes: 100 << 10}, exoaudit.ErrRecordTooLarge, 1},
		{"record over the cap, under the read-ahead", strings.NewReader("[" + rec("1") + "," + rec("2") + "]"), &exoaudit.Options{MaxRecordBytes: 40}, exoaudit.ErrRecordTooLarge, 0},
		{"endless record", io.MultiReader(strings.NewReader(`[{"Id":"`), endless{}), &exoaudit.Options{MaxRecordBytes: 1 << 10}, exoaudit.ErrRecordTooLarge, 0},
		{"an object, not an array", strings.NewReader(`{"Id":"1"}`), nil, exoaudit.ErrMalformedBlob, 0},
		{"truncated", strings.NewReader("[" + rec("1") + "," + `{"Id":`), nil, exoaudit.ErrMalformedBlob, 1},
		{"garbage after a record", strings.NewReader("[" + rec("1") + " x]"), nil, exoaudit.ErrMalformedBlob, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			blob, err := exoaudit.Decode(tc.body, tc.opts)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if blob == nil || len(blob.Admin) != tc.admin {
				t.Fatalf("decoded %+v, want %d admin events", blob, tc.admin)
			}
		})
	}
}

// endless is a reader that never ends: Decode must stop on its own.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'A'
	}
	return len(p), nil
}

func TestDecodeReaderError(t *testing.T) {
	boom := errors.New("connection reset")
	_, err := exoaudit.Decode(io.MultiReader(strings.NewReader(`[{"Id":"1"},`), iotest.ErrReader(boom)), nil)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the reader's error", err)
	}
}

func TestAuditActions(t *testing.T) {
	tests := []struct {
		value string
		want  exoaudit.ActionList
	}{
		{"+ApplyRecord;+SoftDelete;-Update;-MoveToDeletedItems", exoaudit.ActionList{Added: []string{"ApplyRecord", "SoftDelete"}, Removed: []string{"Update", "MoveToDeletedItems"}}},
		{"Update;SendAs", exoaudit.ActionList{Replace: true, Set: []string{"Update", "SendAs"}}},
		{"Update, MoveToDeletedItems, MailItemsAccessed", exoaudit.ActionList{Replace: true, Set: []string{"Update", "MoveToDeletedItems", "MailItemsAccessed"}}},
		{"{Update, MailItemsAccessed}", exoaudit.ActionList{Replace: true, Set: []string{"Update", "MailItemsAccessed"}}},
		{`@{Add="MailItemsAccessed","Update"; Remove="SendAs"}`, exoaudit.ActionList{Added: []string{"MailItemsAccessed", "Update"}, Removed: []string{"SendAs"}}},
		{`@{Remove=MailItemsAccessed}`, exoaudit.ActionList{Removed: []string{"MailItemsAccessed"}}},
		{"None", exoaudit.ActionList{Replace: true}},
		{"", exoaudit.ActionList{Replace: true}},
		{" ; , ", exoaudit.ActionList{Replace: true}},
		{"-", exoaudit.ActionList{Replace: true}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, exoaudit.AuditActions(tc.value)); diff != "" {
			t.Errorf("AuditActions(%q) (-want +got):\n%s", tc.value, diff)
		}
	}
}

func TestParseBool(t *testing.T) {
	for in, want := range map[string][2]bool{
		"True": {true, true}, "$true": {true, true}, " false ": {false, true}, "$False": {false, true}, "1": {true, true}, "0": {false, true},
		"": {false, false}, "yes": {false, false}, "Truee": {false, false},
	} {
		v, ok := exoaudit.ParseBool(in)
		if v != want[0] || ok != want[1] {
			t.Errorf("ParseBool(%q) = %v, %v; want %v, %v", in, v, ok, want[0], want[1])
		}
	}
}
