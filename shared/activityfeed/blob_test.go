package activityfeed_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestBlob fetches one announced blob by its contentUri, and refuses,
// without a request, every URI a forged notification could point
// elsewhere: another host, another tenant's feed, a listing, a path that
// climbs out, a query. A 404 of the API comes back as tenant.ErrNotFound.
func TestBlob(t *testing.T) {
	f := newFake(t, func(f *fake, w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case f.feed() + "/audit/blob1":
			writeJSON(w, 200, []any{map[string]string{"Operation": "MailItemsAccessed"}})
		default:
			writeJSON(w, 404, apiErr("AF20050", "The specified content (x) does not exist."))
		}
	})
	c := newClient(t, f.root(), nil)
	var got string
	err := c.Blob(t.Context(), "blob1", f.srv.URL+f.feed()+"/audit/blob1", func(id string, body io.Reader) error {
		b, err := io.ReadAll(body)
		got = id + " " + string(b)
		return err
	})
	if err != nil || !strings.Contains(got, "blob1 ") || !strings.Contains(got, "MailItemsAccessed") {
		t.Fatalf("Blob: %q, %v", got, err)
	}
	if q := f.requests()[0].URL.Query().Get("PublisherIdentifier"); q == "" {
		t.Error("no PublisherIdentifier on the blob request")
	}
	err = c.Blob(t.Context(), "gone", f.srv.URL+f.feed()+"/audit/gone", func(string, io.Reader) error { return nil })
	if !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("missing blob: %v, want ErrNotFound", err)
	}
	before := len(f.requests())
	for _, uri := range []string{
		"https://evil.example" + f.feed() + "/audit/blob1",
		strings.Replace(f.srv.URL, "http://", "https://", 1) + f.feed() + "/audit/blob1",
		f.srv.URL + "/prefix/api/v1.0/99999999-2222-4333-8444-555555555555/activity/feed/audit/blob1",
		f.srv.URL + f.feed() + "/subscriptions/content",
		f.srv.URL + f.feed() + "/audit/",
		f.srv.URL + f.feed() + "/audit/a/../../subscriptions/list",
		f.srv.URL + f.feed() + "/audit/%2e%2e",
		f.srv.URL + f.feed() + "/audit/blob1?redirect=x",
		f.srv.URL + f.feed() + "/audit/blob1#x",
		"http://user:pw@" + strings.TrimPrefix(f.srv.URL, "http://") + f.feed() + "/audit/blob1",
		"not a url\x7f",
	} {
		err := c.Blob(t.Context(), "x", uri, func(string, io.Reader) error { t.Errorf("%s: body handed over", uri); return nil })
		if !errors.Is(err, tenant.ErrBadRequest) {
			t.Errorf("%q: %v, want ErrBadRequest", uri, err)
		}
	}
	if n := len(f.requests()); n != before {
		t.Errorf("%d requests sent for refused URIs", n-before)
	}
}
