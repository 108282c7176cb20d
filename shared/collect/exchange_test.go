package collect_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/collect"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// activityFunc is a function-field double of collect.ActivityFeed.
type activityFunc func(ctx context.Context, contentType string, start, end time.Time, fn func(string, io.Reader) error) error

func (f activityFunc) Content(ctx context.Context, contentType string, start, end time.Time, fn func(string, io.Reader) error) error {
	return f(ctx, contentType, start, end, fn)
}

var _ collect.ActivityFeed = activityFunc(nil)

// feedCall is what the fake was asked.
type feedCall struct {
	ContentType string
	Start, End  time.Time
}

// serveBlobs serves the given bodies in order, then returns err.
func serveBlobs(calls *[]feedCall, err error, bodies ...func() io.Reader) activityFunc {
	return func(_ context.Context, ct string, start, end time.Time, fn func(string, io.Reader) error) error {
		*calls = append(*calls, feedCall{ct, start, end})
		for i, b := range bodies {
			if e := fn(fmt.Sprintf("blob-%d", i), b()); e != nil {
				return e
			}
		}
		return err
	}
}

func blobFile(t *testing.T, name string) func() io.Reader {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "activity", name))
	if err != nil {
		t.Fatal(err)
	}
	return func() io.Reader { return strings.NewReader(string(b)) }
}

func snapshotWith(t *testing.T, since time.Time, feed collect.ActivityFeed) (*tenant.Snapshot, error) {
	t.Helper()
	return collect.Snapshot(t.Context(), newFake(), &collect.SnapshotOptions{Since: since, Now: func() time.Time { return now }, Activity: feed})
}

func recordIDs(s *tenant.Snapshot) []string {
	var ids []string
	for _, e := range s.ExchangeAdmin {
		ids = append(ids, e.ID)
	}
	for _, m := range s.MailAccess {
		ids = append(ids, m.ID)
	}
	return ids
}

// TestSnapshotWithoutActivityFeed: no feed, the source is unavailable with
// the reason, and nothing else changes.
func TestSnapshotWithoutActivityFeed(t *testing.T) {
	s, err := collect.Snapshot(t.Context(), newFake(), &collect.SnapshotOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[tenant.Source]string{tenant.SourceExchangeAudit: collect.ActivityNotConfigured}, s.Unavailable); diff != "" {
		t.Errorf("unavailable (-want +got):\n%s", diff)
	}
	if len(s.ExchangeAdmin)+len(s.MailAccess) != 0 || s.AuditingOff != "" || s.Partial != nil {
		t.Errorf("exchange data without a feed: %+v %+v %q %v", s.ExchangeAdmin, s.MailAccess, s.AuditingOff, s.Partial)
	}
}

// TestSnapshotReadsExchangeContent: the lane asks for Audit.Exchange over
// the window and decodes each blob; records older than the window and
// kinds not decoded are dropped.
func TestSnapshotReadsExchangeContent(t *testing.T) {
	var calls []feedCall
	since := now.Add(-3 * 24 * time.Hour)
	s, err := snapshotWith(t, since, serveBlobs(&calls, nil, blobFile(t, "admin.json"), blobFile(t, "mail.json")))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]feedCall{{"Audit.Exchange", since, now}}, calls); diff != "" {
		t.Errorf("feed calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a-in-window", "m-app"}, recordIDs(s)); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if !s.Available(tenant.SourceExchangeAudit) || s.Partial != nil {
		t.Errorf("unavailable %v, partial %v: want the source read in full", s.Unavailable, s.Partial)
	}
	if m := s.MailAccess[0]; !m.ByApp() || m.ClientIP != "4.189.10.20" || m.Items != 2 {
		t.Errorf("mail access decoded as %+v", m)
	}
}

// TestSnapshotCapsActivityWindow: a --since beyond the API's 7 days is
// read from now-7d, and the snapshot says so.
func TestSnapshotCapsActivityWindow(t *testing.T) {
	var calls []feedCall
	s, err := snapshotWith(t, now.Add(-30*24*time.Hour), serveBlobs(&calls, nil, blobFile(t, "admin.json")))
	if err != nil {
		t.Fatal(err)
	}
	want := now.Add(-7 * 24 * time.Hour)
	if len(calls) != 1 || !calls[0].Start.Equal(want) || !calls[0].End.Equal(now) {
		t.Fatalf("feed calls %+v, want one from %v to %v", calls, want, now)
	}
	if !s.Since.Equal(now.Add(-30 * 24 * time.Hour)) {
		t.Errorf("snapshot Since = %v: the Graph window must not shrink", s.Since)
	}
	if note := s.Partial[tenant.SourceExchangeAudit]; !strings.Contains(note, "7 days") || !strings.Contains(note, want.Format(time.RFC3339)) {
		t.Errorf("partial note %q does not say the window was cut to 7 days", note)
	}
	// a-before-window (2026-10-01) is older than now-7d.
	if diff := cmp.Diff([]string{"a-in-window"}, recordIDs(s)); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

// TestSnapshotActivityErrors: the one rule for an unavailable source.
func TestSnapshotActivityErrors(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		unavailable bool
		auditingOff bool
	}{
		{"access denied", fmt.Errorf("activity: GET /subscriptions/content: 403 AF20024: %w", tenant.ErrAccessDenied), true, false},
		{"no subscription", fmt.Errorf("activity: no started subscription for Audit.Exchange (start one with --start-subscriptions): %w", tenant.ErrNotSubscribed), true, false},
		{"auditing disabled", fmt.Errorf("activity: AF20023: The tenant 4f1c… is not enabled for auditing: %w", tenant.ErrAuditingDisabled), true, true},
		{"throttled", fmt.Errorf("activity: GET /subscriptions/content: 429: %w", tenant.ErrThrottled), false, false},
		{"unreachable", fmt.Errorf("activity: cannot reach https://manage.office.com: %w", tenant.ErrUnreachable), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls []feedCall
			// One blob is served before the error: its records must not
			// be kept when the source ends unavailable.
			s, err := snapshotWith(t, now.Add(-3*24*time.Hour), serveBlobs(&calls, tc.err, blobFile(t, "mail.json")))
			if !tc.unavailable {
				if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), "exchangeAudit") {
					t.Fatalf("err = %v, want the feed's error naming the source", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Snapshot: %v", err)
			}
			if got := s.Unavailable[tenant.SourceExchangeAudit]; got != tc.err.Error() {
				t.Errorf("reason %q, want the feed's answer %q", got, tc.err.Error())
			}
			if got := s.AuditingOff != ""; got != tc.auditingOff || (tc.auditingOff && !strings.Contains(s.AuditingOff, "not enabled for auditing")) {
				t.Errorf("AuditingOff = %q", s.AuditingOff)
			}
			if len(s.MailAccess) != 0 {
				t.Errorf("records of an unavailable source kept: %+v", s.MailAccess)
			}
			if len(s.Unavailable) != 1 {
				t.Errorf("other sources affected: %v", s.Unavailable)
			}
		})
	}
}

// TestSnapshotHostileBlob: an oversized record cuts its blob short without
// failing the scan or hiding the other blobs; the snapshot says so. A
// body that fails to read fails the scan.
func TestSnapshotHostileBlob(t *testing.T) {
	good := `{"CreationTime": "2026-10-31T10:00:00", "Id": "before-the-cut", "Operation": "Set-Mailbox", "RecordType": 1, "Parameters": [{"Name": "AuditEnabled", "Value": "False"}]}`
	huge := `{"CreationTime": "2026-10-31T10:01:00", "Id": "huge", "Operation": "Set-Mailbox", "RecordType": 1, "Parameters": [{"Name": "Identity", "Value": "` +
		strings.Repeat("x", 2<<20) + `"}]}`
	hostile := func() io.Reader { return strings.NewReader("[" + good + "," + huge + "," + good + "]") }
	var calls []feedCall
	s, err := snapshotWith(t, now.Add(-3*24*time.Hour), serveBlobs(&calls, nil, hostile, blobFile(t, "mail.json")))
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if diff := cmp.Diff([]string{"before-the-cut", "m-app"}, recordIDs(s)); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if note := s.Partial[tenant.SourceExchangeAudit]; !strings.Contains(note, "1 of 2 content blobs were cut short") {
		t.Errorf("partial note %q does not report the cut blob", note)
	}

	boom := errors.New("connection reset by peer")
	broken := func() io.Reader { return io.MultiReader(strings.NewReader("["+good+","), iotest.ErrReader(boom)) }
	_, err = snapshotWith(t, now.Add(-24*time.Hour), serveBlobs(&calls, nil, broken))
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "exchangeAudit") {
		t.Fatalf("err = %v, want the body's read error naming the source", err)
	}
}
