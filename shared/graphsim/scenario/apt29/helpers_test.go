package apt29_test

// Helpers of the story and data tests, as in shared/graphsim's own tests:
// the tenant is served through its handler and read as a client would.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
)

const subsURL = base + "/v1.0/subscriptions"

// testNow is the scenario clock of every test: goldens are stable.
var testNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// base is the URL the tests address; the path prefix catches absolute-URL
// bugs in nextLinks.
const base = "http://graph.test/tenant-a/graph"

func newSim(t testing.TB, o *graphsim.Options) *graphsim.Server {
	t.Helper()
	if o == nil {
		o = &graphsim.Options{}
	}
	if o.Scenario == nil {
		o.Scenario = apt29.Scenario()
	}
	if o.Now.IsZero() {
		o.Now = testNow
	}
	s, err := graphsim.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// get sends GET url (absolute) to the handler.
func get(t testing.TB, h http.Handler, url string) response {
	t.Helper()
	return do(t, h, http.MethodGet, url)
}

func do(t testing.TB, h http.Handler, method, url string) response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, url, nil))
	res := rec.Result()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

type page struct {
	Context  string            `json:"@odata.context"`
	NextLink string            `json:"@odata.nextLink"`
	Value    []json.RawMessage `json:"value"`
}

func decodePage(t testing.TB, r response) page {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var p page
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("decode page: %v\n%s", err, r.body)
	}
	return p
}

// collect follows nextLinks from url and returns every item and the page
// sizes.
func collect(t testing.TB, h http.Handler, url string) (items []json.RawMessage, sizes []int) {
	t.Helper()
	for n := 0; url != ""; n++ {
		if n > 100000 {
			t.Fatal("too many pages")
		}
		if !strings.HasPrefix(url, base+"/v1.0/") {
			t.Fatalf("nextLink %q does not point back to the simulator under %s", url, base)
		}
		p := decodePage(t, get(t, h, url))
		items = append(items, p.Value...)
		sizes = append(sizes, len(p.Value))
		url = p.NextLink
	}
	return items, sizes
}

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

// newClockedSim builds a sim (apt29 unless o names a scenario) with a
// hand-moved clock.
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

// receiver is a notification endpoint: it passes the validation
// handshake and keeps the notifications.
type receiver struct {
	srv *httptest.Server

	mu    sync.Mutex
	notes [][]byte
}

func newReceiver(t testing.TB) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	if tok, ok := r.URL.Query()["validationToken"]; ok {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, tok[0])
		return
	}
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.notes = append(rc.notes, b)
	rc.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func (rc *receiver) notifications() [][]byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([][]byte(nil), rc.notes...)
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

func createSub(t testing.TB, h http.Handler, body string) (response, map[string]any) {
	t.Helper()
	r := send(t, h, http.MethodPost, subsURL, body, http.Header{"Content-Type": {"application/json"}})
	var m map[string]any
	_ = json.Unmarshal(r.body, &m)
	return r, m
}

type changeNote struct {
	Value []struct {
		SubscriptionID                 string `json:"subscriptionId"`
		SubscriptionExpirationDateTime string `json:"subscriptionExpirationDateTime"`
		ChangeType                     string `json:"changeType"`
		Resource                       string `json:"resource"`
		ResourceData                   struct {
			Type           string `json:"@odata.type"`
			ID             string `json:"@odata.id"`
			ObjectID       string `json:"id"`
			OrganizationID string `json:"organizationId"`
		} `json:"resourceData"`
		ClientState    *string `json:"clientState"`
		TenantID       string  `json:"tenantId"`
		LifecycleEvent string  `json:"lifecycleEvent"`
	} `json:"value"`
}

func decodeNote(t testing.TB, b []byte) changeNote {
	t.Helper()
	var n changeNote
	if err := json.Unmarshal(b, &n); err != nil || len(n.Value) != 1 {
		t.Fatalf("notification %s: %v", b, err)
	}
	return n
}

// volatile matches the parts of an answer that legitimately vary between
// runs: innerError dates (wall clock) and request ids.
var volatile = regexp.MustCompile(`"(date|request-id|client-request-id)":"[^"]*"`)

func normalise(t *testing.T, b []byte) []byte {
	t.Helper()
	b = volatile.ReplaceAll(b, []byte(`"$1":"…"`))
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, b)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}
