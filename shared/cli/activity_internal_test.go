package cli

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// activityFeed is issue 11's contract, collect.ActivityFeed: the source
// scan builds is what the lead joins to collect.SnapshotOptions.Activity.
type activityFeed interface {
	Content(ctx context.Context, contentType string, start, end time.Time,
		fn func(contentID string, body io.Reader) error) error
}

var _ activityFeed = (*activitySource)(nil)

func TestActivityURLFor(t *testing.T) {
	tests := []struct {
		given, graph string
		cred         bool
		want, err    string
	}{
		{"", "https://graph.microsoft.com", true, "https://manage.office.com", ""},
		{"", "http://127.0.0.1:8080/graph", false, "http://127.0.0.1:8080/graph", ""},
		{"http://localhost:9/x", "http://127.0.0.1:8080", false, "http://localhost:9/x", ""},
		{"https://manage.office.com", "http://127.0.0.1:8080", false, "", "--graph-url and --activity-url are both loopback"},
		{"https://manage-gcc.office.com", "https://graph.microsoft.com", true, "https://manage-gcc.office.com", ""},
		{"manage.office.com", "https://graph.microsoft.com", true, "", "not an http(s) URL"},
	}
	for _, tc := range tests {
		got, err := activityURLFor(tc.given, tc.graph, tc.cred)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q, %q: err %v, want %q", tc.given, tc.graph, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q, %q: %q, %v; want %q", tc.given, tc.graph, got, err, tc.want)
		}
	}
}
