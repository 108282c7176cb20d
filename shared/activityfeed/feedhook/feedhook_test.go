package feedhook_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/activityfeed/feedhook"
)

// TestParseNotifications reads the reference's notification body
// (testdata/notification.json) and refuses or trims the others.
func TestParseNotifications(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("testdata", "notification.json"))
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 3000)
	tests := []struct {
		name    string
		body    string
		n       int
		dropped int
		err     error
	}{
		{"reference body", string(doc), 2, 0, nil},
		{"empty array", `[]`, 0, 0, nil},
		{"entry without contentUri", `[{"contentId":"a"},{"contentId":"b","contentUri":"https://manage.office.com/x"}]`, 1, 1, nil},
		{"field of the wrong type", `[{"contentId":1,"contentUri":"u"}]`, 0, 1, nil},
		{"oversized field", `[{"contentId":"` + long + `","contentUri":"u"}]`, 0, 1, nil},
		{"an object, not an array", `{"contentId":"a","contentUri":"u"}`, 0, 0, feedhook.ErrNotificationMalformed},
		{"an array of strings", `["a"]`, 0, 0, feedhook.ErrNotificationMalformed},
		{"not JSON", `<xml/>`, 0, 0, feedhook.ErrNotificationMalformed},
		{"too many entries", "[" + strings.Repeat(`{"contentId":"a","contentUri":"u"},`, feedhook.MaxNotifications) + `{"contentId":"a","contentUri":"u"}]`, 0, 0, feedhook.ErrNotificationTooLarge},
		{"too large", "[" + strings.Repeat(" ", feedhook.MaxNotificationBody) + "]", 0, 0, feedhook.ErrNotificationTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, dropped, err := feedhook.ParseNotifications([]byte(tt.body))
			if !errors.Is(err, tt.err) || len(ns) != tt.n || dropped != tt.dropped {
				t.Errorf("got %d entries, %d dropped, %v; want %d, %d, %v", len(ns), dropped, err, tt.n, tt.dropped, tt.err)
			}
		})
	}
	ns, _, _ := feedhook.ParseNotifications(doc)
	if ns[0].ContentType != "Audit.SharePoint" || !strings.HasPrefix(ns[0].ContentURI, "https://manage.office.com/api/v1.0/") || ns[0].TenantID == "" {
		t.Errorf("first entry %+v", ns[0])
	}
}

func TestValidationCode(t *testing.T) {
	for body, want := range map[string]string{`{"validationCode":"abc"}`: "abc", ` {"validationCode":""} `: ""} {
		if got, ok := feedhook.ValidationCode([]byte(body)); !ok || got != want {
			t.Errorf("%s: %q %v", body, got, ok)
		}
	}
	for _, body := range []string{``, `[]`, `{"code":"x"}`, `[{"validationCode":"x"}]`, `{"validationCode":1}`} {
		if _, ok := feedhook.ValidationCode([]byte(body)); ok {
			t.Errorf("%s read as a validation request", body)
		}
	}
}

func TestAuthIDEqual(t *testing.T) {
	if !feedhook.AuthIDEqual("s3cret-value", "s3cret-value") || feedhook.AuthIDEqual("s3cret-valuf", "s3cret-value") ||
		feedhook.AuthIDEqual("", "") || feedhook.AuthIDEqual("s3cret", "s3cret-value") {
		t.Error("AuthIDEqual")
	}
}

// FuzzParseNotifications: any body parses or fails with one of the two
// errors, never panics, and every entry returned has an id and a URI
// within bounds.
func FuzzParseNotifications(f *testing.F) {
	if doc, err := os.ReadFile(filepath.Join("testdata", "notification.json")); err == nil {
		f.Add(doc)
	}
	f.Add([]byte(`[{"contentId":"a","contentUri":"u"},{"contentId":1}]`))
	f.Add([]byte(`{"validationCode":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ns, dropped, err := feedhook.ParseNotifications(body)
		if err != nil {
			if !errors.Is(err, feedhook.ErrNotificationMalformed) && !errors.Is(err, feedhook.ErrNotificationTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			if len(ns) != 0 || dropped != 0 {
				t.Fatal("entries with an error")
			}
			return
		}
		if len(ns)+dropped > feedhook.MaxNotifications {
			t.Fatalf("%d entries", len(ns)+dropped)
		}
		for _, n := range ns {
			if n.ContentID == "" || n.ContentURI == "" || len(n.ContentID) > 2048 || len(n.ContentURI) > 2048 {
				t.Fatalf("entry %+v", n)
			}
		}
	})
}
