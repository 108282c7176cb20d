package graph

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// pipeFrom is a kiota pipeline whose next step answers resp.
type pipeFrom struct{ resp *http.Response }

func (p pipeFrom) Next(*http.Request, int) (*http.Response, error) { return p.resp, nil }

// TestTrackerStreams: the tracker hands a page to the SDK as a stream. It
// returns before any of the body has arrived (nothing copies it whole
// first), and the body then reads with its empty dates rewritten, however
// it is split.
func TestTrackerStreams(t *testing.T) {
	pr, pw := io.Pipe()
	resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: pr, ContentLength: -1}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://127.0.0.1/v1.0/users", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *http.Response, 1)
	go func() {
		r, err := tracker{l: newLimits(&ClientOptions{})}.Intercept(pipeFrom{resp}, 0, req)
		if err != nil {
			t.Errorf("Intercept: %v", err)
		}
		got <- r
	}()
	var r *http.Response
	select {
	case r = <-got:
	case <-time.After(30 * time.Second):
		pw.Close()
		t.Fatal("Intercept did not return before the body was sent: it reads the body itself")
	}
	go func() {
		for _, part := range []string{`{"value":[{"created`, `DateTime"`, ` :`, ` "`, `"}]}`} {
			if _, err := io.WriteString(pw, part); err != nil {
				return
			}
		}
		pw.Close()
	}()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if want := `{"value":[{"createdDateTime" : null}]}`; string(b) != want {
		t.Errorf("body %q, want %q", b, want)
	}
	if r.ContentLength != -1 || r.Header.Get("Content-Length") != "" {
		t.Errorf("length %d / %q kept, though the body changed", r.ContentLength, r.Header.Get("Content-Length"))
	}
}
