package graphsim_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
)

// clock is a tenant clock a test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: testNow} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newClockedSim builds a sim on the apt29 scenario with a hand-moved clock.
func newClockedSim(t testing.TB, o *graphsim.Options) (*graphsim.Server, *clock) {
	t.Helper()
	if o == nil {
		o = &graphsim.Options{}
	}
	c := newClock()
	o.Now = testNow
	o.Clock = c.Now
	return newSim(t, o), c
}

// send makes one request with an optional body and headers.
func send(t testing.TB, h http.Handler, method, u, body string, hdr http.Header) response {
	t.Helper()
	rec := httptest.NewRecorder()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, u, rd)
	for k, vs := range hdr {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	h.ServeHTTP(rec, req)
	res := rec.Result()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

type deltaPage struct {
	Context   string           `json:"@odata.context"`
	NextLink  string           `json:"@odata.nextLink"`
	DeltaLink string           `json:"@odata.deltaLink"`
	Value     []map[string]any `json:"value"`
}

// deltaRound follows nextLinks from u until a deltaLink and returns the
// items, the deltaLink and the number of pages.
func deltaRound(t testing.TB, h http.Handler, u string, hdr http.Header) ([]map[string]any, string, int) {
	t.Helper()
	var items []map[string]any
	for pages := 1; ; pages++ {
		if pages > 10000 {
			t.Fatal("too many pages")
		}
		if !strings.HasPrefix(u, base+"/v1.0/") {
			t.Fatalf("link %q does not point back to the simulator under %s", u, base)
		}
		r := send(t, h, http.MethodGet, u, "", hdr)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: status %d: %s", u, r.status, r.body)
		}
		var p deltaPage
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatalf("decode %s: %v", r.body, err)
		}
		if p.Value == nil {
			t.Fatalf("page without value: %s", r.body)
		}
		items = append(items, p.Value...)
		switch {
		case p.NextLink != "" && p.DeltaLink != "":
			t.Fatalf("page with both links: %s", r.body)
		case p.DeltaLink != "":
			return items, p.DeltaLink, pages
		case p.NextLink == "":
			t.Fatalf("page with neither link: %s", r.body)
		}
		u = p.NextLink
	}
}

// listAll follows nextLinks of a list endpoint and decodes the items.
func listAll(t testing.TB, h http.Handler, path string) []map[string]any {
	t.Helper()
	raws, _ := collect(t, h, base+path)
	out := make([]map[string]any, len(raws))
	for i, raw := range raws {
		if err := json.Unmarshal(raw, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func idsOf(items []map[string]any) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i], _ = it["id"].(string)
	}
	return out
}

// tokenIn extracts a query parameter of a link.
func tokenIn(t testing.TB, link, param string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(param)
}

// receiver is a notification endpoint under test control.
type receiver struct {
	srv *httptest.Server

	mu          sync.Mutex
	mode        string // "echo" (default), "wrong-body", "encoded", "status-500", "html", "hang"
	validations []string
	notes       [][]byte
	got         chan []byte
}

func newReceiver(t testing.TB, mode string) *receiver {
	t.Helper()
	rc := &receiver{mode: mode, got: make(chan []byte, 100)}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	mode := rc.mode
	rc.mu.Unlock()
	if tok, ok := r.URL.Query()["validationToken"]; ok {
		rc.mu.Lock()
		rc.validations = append(rc.validations, r.Header.Get("Content-Type"))
		rc.mu.Unlock()
		switch mode {
		case "wrong-body":
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "not the token")
		case "encoded":
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, url.QueryEscape(tok[0]))
		case "status-500":
			http.Error(w, "down", http.StatusInternalServerError)
		case "html":
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, tok[0])
		case "hang":
			<-r.Context().Done()
		default:
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, tok[0])
		}
		return
	}
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.notes = append(rc.notes, b)
	rc.mu.Unlock()
	rc.got <- b
	w.WriteHeader(http.StatusAccepted)
}

func (rc *receiver) notifications() [][]byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([][]byte(nil), rc.notes...)
}

func (rc *receiver) validationTypes() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.validations...)
}

// newTLSReceiver serves rc over https.
func newTLSReceiver(t testing.TB, rc *receiver) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(rc.serve))
	t.Cleanup(srv.Close)
	return srv
}

func (rc *receiver) validationCount() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.validations)
}

// wait lets the sim's asynchronous deliveries finish.
func wait(t testing.TB, sim *graphsim.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := sim.WaitDeliveries(ctx); err != nil {
		t.Fatalf("deliveries did not finish: %v", err)
	}
}

// subscriptionBody is a valid creation request against rc.
func subscriptionBody(rc *receiver, resource string, extra map[string]any) string {
	m := map[string]any{
		"changeType":         "updated,deleted",
		"notificationUrl":    rc.srv.URL + "/api/GraphNotifications?code=function-key",
		"resource":           resource,
		"expirationDateTime": testNow.Add(48 * time.Hour).Format(time.RFC3339),
		"clientState":        "s3cr3t-client-state",
	}
	for k, v := range extra {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// scrub replaces what varies between runs in an answer: the receiver's
// address and innerError dates and request ids.
func scrub(t *testing.T, b []byte, rcs ...*receiver) []byte {
	t.Helper()
	for _, rc := range rcs {
		b = []byte(strings.ReplaceAll(string(b), rc.srv.URL, "http://receiver.test"))
	}
	return normalise(t, b)
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
