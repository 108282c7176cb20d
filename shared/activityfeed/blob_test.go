package activityfeed_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

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

// TestList lists a window's blobs without fetching any, each once.
func TestList(t *testing.T) {
	f := newFake(t, func(f *fake, w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/subscriptions/content") {
			writeJSON(w, 200, []any{entry(f, "a", now.Add(-time.Minute)), entry(f, "b", now.Add(-2*time.Minute)), entry(f, "a", now.Add(-time.Minute))})
			return
		}
		t.Errorf("unexpected request %s", r.URL.Path)
		writeJSON(w, 404, apiErr("AF20050", "no"))
	})
	c := newClient(t, f.root(), nil)
	var got []string
	err := c.List(t.Context(), "Audit.Exchange", now.Add(-time.Hour), now, func(id, uri string) error {
		if !strings.HasSuffix(uri, "/audit/"+id) {
			t.Errorf("%s: uri %s", id, uri)
		}
		got = append(got, id)
		return nil
	})
	if err != nil || strings.Join(got, ",") != "a,b" {
		t.Errorf("List: %v, %v; want a,b", got, err)
	}
	stop := errors.New("stop")
	if err := c.List(t.Context(), "Audit.Exchange", now.Add(-time.Hour), now, func(string, string) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("fn's error: %v", err)
	}
}
