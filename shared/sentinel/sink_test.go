package sentinel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/azuritetest"
	"github.com/tenantwatch/tenantwatch/shared/incident"
	"github.com/tenantwatch/tenantwatch/shared/sentinel"
	"github.com/tenantwatch/tenantwatch/shared/sentinel/sentineltest"
	"github.com/tenantwatch/tenantwatch/shared/store"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

var azurite *azuritetest.Azurite

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sentineltest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if azurite, err = azuritetest.Launch(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	azurite.Stop()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const ruleID = "dcr-00112233445566778899aabbccddeeff"

func columns() map[string]map[string]string {
	m := map[string]map[string]string{sentinel.FindingsStream: {}, sentinel.IncidentsStream: {}}
	for _, c := range sentinel.FindingColumns() {
		m[sentinel.FindingsStream][c.Name] = c.Type
	}
	for _, c := range sentinel.IncidentColumns() {
		m[sentinel.IncidentsStream][c.Name] = c.Type
	}
	return m
}

// app is one process: its own Tables client over the shared Azurite and
// its own Logs Ingestion client, as after a restart.
func newApp(t *testing.T, prefix string, srv *sentineltest.Server, clk *clock, maxItem int) *sentinel.Sink {
	t.Helper()
	tables, err := store.NewTablesFromConnectionString(azurite.ConnectionString(), &store.TablesOptions{Prefix: prefix, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := tables.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	ob, err := tables.SinkOutbox("sentinel")
	if err != nil {
		t.Fatal(err)
	}
	c, err := sentinel.NewClient(srv.URL, ruleID, &sentineltest.Credential{}, &sentinel.ClientOptions{Transport: srv.Client().Transport, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	s, err := sentinel.NewSink(ob, c, &sentinel.SinkOptions{TenantID: "a5d523ad-4913-45c1-bc01-5d94195ab832", Now: clk.Now, MaxItemBytes: maxItem,
		BaseBackoff: 10 * time.Second, MaxBackoff: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func prefix(t *testing.T) string {
	return "sn" + strings.ToLower(strings.NewReplacer("/", "", "_", "").Replace(t.Name()))[:min(10, len(t.Name()))]
}

var t0 = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

func findings() []tenant.Finding {
	return []tenant.Finding{
		{Rule: "sp.credential-added", Severity: tenant.SeverityHigh, Title: "Credential added to a service principal or application",
			Subject:    tenant.Subject{Type: tenant.SubjectApplication, ID: "8b9a943f-0000-0000-0000-000000000001", Name: "Northbridge HR Bot"},
			Evidence:   map[string]any{"appId": "11111111-2222-3333-4444-555555555555", "actor": "sarah.chen@northbridge-policy.org", "actorIp": "198.51.100.15:443", "keyId": "k1"},
			MITRE:      []string{"T1098.001"},
			ObservedAt: time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC), Key: "sp.credential-added:8b9a943f-0000-0000-0000-000000000001:k1"},
		{Rule: "mfa.dormant-registration", Severity: tenant.SeverityCritical, Title: "Dormant account registered MFA",
			Subject:    tenant.Subject{Type: tenant.SubjectUser, ID: "5b3af331-0000-0000-0000-000000000002", Name: "sarah.chen@northbridge-policy.org"},
			Evidence:   map[string]any{"ip": "203.0.113.7"},
			ObservedAt: time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC), Key: "mfa.dormant-registration:5b3af331-0000-0000-0000-000000000002"},
	}
}

// TestRows holds the rows the fake API receives, column by column, for a
// finding of each kind and an incident.
func TestRows(t *testing.T) {
	srv := sentineltest.New(ruleID, columns())
	defer srv.Close()
	clk := &clock{t: t0}
	s := newApp(t, prefix(t), srv, clk, 0)
	ctx := context.Background()
	fs := findings()
	if err := s.AddFindings(ctx, fs, "new"); err != nil {
		t.Fatal(err)
	}
	incs := incident.Correlate(fs, nil)
	if len(incs) != 1 {
		t.Fatalf("the two findings share upn:sarah.chen…: want 1 incident, got %d", len(incs))
	}
	if err := s.AddIncidents(ctx, incs); err != nil {
		t.Fatal(err)
	}
	st, err := s.Deliver(ctx)
	if err != nil || st.Delivered != 2 {
		t.Fatalf("Deliver = %+v, %v; want 2 items delivered", st, err)
	}
	if e := srv.Errors(); len(e) > 0 {
		t.Fatalf("the API refused: %v", e)
	}
	for _, c := range srv.Calls() {
		if c.Encoding != "gzip" {
			t.Errorf("call to %s sent Content-Encoding %q, want gzip", c.Stream, c.Encoding)
		}
	}
	rev := json.Number(fmt.Sprint(t0.UnixMilli()))
	wantF := []map[string]any{
		{"TimeGenerated": "2026-11-30T09:00:00Z", "FindingKey": fs[0].Key, "Revision": rev, "Change": "new", "Rule": "sp.credential-added",
			"Severity": "high", "SeverityId": json.Number("4"), "Title": fs[0].Title, "SubjectType": "application",
			"SubjectId": "8b9a943f-0000-0000-0000-000000000001", "SubjectName": "Northbridge HR Bot", "ObservedAt": "2026-11-29T01:00:00Z",
			"Mitre": []any{"T1098.001"}, "Evidence": map[string]any{"appId": "11111111-2222-3333-4444-555555555555", "actor": "sarah.chen@northbridge-policy.org", "actorIp": "198.51.100.15:443", "keyId": "k1"},
			"AccountUpn": "sarah.chen@northbridge-policy.org", "AccountObjectId": "", "IpAddress": "198.51.100.15", "AppId": "11111111-2222-3333-4444-555555555555",
			"TenantId": "a5d523ad-4913-45c1-bc01-5d94195ab832"},
		{"TimeGenerated": "2026-11-30T09:00:00Z", "FindingKey": fs[1].Key, "Revision": rev, "Change": "new", "Rule": "mfa.dormant-registration",
			"Severity": "critical", "SeverityId": json.Number("5"), "Title": fs[1].Title, "SubjectType": "user",
			"SubjectId": "5b3af331-0000-0000-0000-000000000002", "SubjectName": "sarah.chen@northbridge-policy.org", "ObservedAt": "2026-11-27T06:00:00Z",
			"Mitre": []any{}, "Evidence": map[string]any{"ip": "203.0.113.7"},
			"AccountUpn": "sarah.chen@northbridge-policy.org", "AccountObjectId": "5b3af331-0000-0000-0000-000000000002", "IpAddress": "203.0.113.7", "AppId": "",
			"TenantId": "a5d523ad-4913-45c1-bc01-5d94195ab832"},
	}
	if diff := cmp.Diff(wantF, srv.Rows(sentinel.FindingsStream)); diff != "" {
		t.Errorf("finding rows (-want +got):\n%s", diff)
	}
	got := srv.Rows(sentinel.IncidentsStream)
	if len(got) != 1 {
		t.Fatalf("incident rows: %d, want 1", len(got))
	}
	delete(got[0], "Timeline") // checked below
	wantI := map[string]any{
		"TimeGenerated": "2026-11-30T09:00:00Z", "IncidentId": incs[0].ID, "Revision": rev, "IncidentType": "account-compromise",
		"Title": "Dormant account registered MFA → Credential added to a service principal or application", "Severity": "critical", "SeverityId": json.Number("5"),
		"Raised": false, "Techniques": []any{"T1098.001", "mfa.dormant-registration"},
		"FirstSeen": "2026-11-27T06:00:00Z", "LastSeen": "2026-11-29T01:00:00Z",
		"Entities": toAny(incs[0].Entities), "FindingKeys": []any{fs[1].Key, fs[0].Key},
		"AccountUpn": "sarah.chen@northbridge-policy.org", "IpAddress": "198.51.100.15", "AppId": "11111111-2222-3333-4444-555555555555",
		"Accounts": []any{"sarah.chen@northbridge-policy.org"}, "IpAddresses": []any{"198.51.100.15", "203.0.113.7"},
		"AppIds": []any{"11111111-2222-3333-4444-555555555555"}, "TenantId": "a5d523ad-4913-45c1-bc01-5d94195ab832",
	}
	if diff := cmp.Diff(wantI, got[0]); diff != "" {
		t.Errorf("incident row (-want +got):\n%s", diff)
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// TestDeliverOnce: a 429 with Retry-After, a 500 and a process restart
// (a new Sink, Tables and client over the same Azurite) — every finding
// reaches the table exactly once.
func TestDeliverOnce(t *testing.T) {
	srv := sentineltest.New(ruleID, columns())
	defer srv.Close()
	clk := &clock{t: t0}
	pfx := prefix(t)
	ctx := context.Background()
	a := newApp(t, pfx, srv, clk, 2048) // small items: several calls
	var fs []tenant.Finding
	for i := range 12 {
		fs = append(fs, tenant.Finding{Rule: "sp.credential-added", Severity: tenant.SeverityHigh, Title: "Credential added",
			Subject:  tenant.Subject{Type: tenant.SubjectServicePrincipal, ID: fmt.Sprintf("sp-%02d", i), Name: "app"},
			Evidence: map[string]any{"keyId": fmt.Sprintf("k%02d", i), "pad": strings.Repeat("x", 400)}, ObservedAt: t0,
			Key: fmt.Sprintf("sp.credential-added:sp-%02d:k%02d", i, i)})
	}
	if err := a.AddFindings(ctx, fs, "new"); err != nil {
		t.Fatal(err)
	}
	if n, _ := a.Pending(ctx); n < 4 {
		t.Fatalf("%d items: want several, to cross the injected failures", n)
	}
	srv.Inject(sentineltest.Answer{Status: 429, Headers: map[string]string{"Retry-After": "120"}, Body: `{"error":{"code":"TooManyRequests"}}`})
	st, err := a.Deliver(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Delivered != 0 || st.Retried != 1 {
		t.Fatalf("after a 429 the run ends at once: got %+v", st)
	}
	// Within Retry-After nothing is due.
	clk.Add(119 * time.Second)
	if st, _ := a.Deliver(ctx); st.Delivered+st.Retried+st.Failed != 0 {
		t.Fatalf("sent before Retry-After passed: %+v", st)
	}
	clk.Add(time.Second)
	srv.Inject(sentineltest.Answer{Status: 500, Body: `{"error":{"code":"InternalServerError"}}`})
	st, err = a.Deliver(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Retried != 1 || st.Delivered == 0 {
		t.Fatalf("after the 500 the others go on: %+v", st)
	}
	// The process dies here; a new one over the same storage delivers
	// the item the 500 left, once its back-off passed.
	b := newApp(t, pfx, srv, clk, 2048)
	clk.Add(time.Hour)
	st, err = b.Deliver(ctx)
	if err != nil || st.Delivered != 1 {
		t.Fatalf("after the restart: %+v, %v; want the one item left", st, err)
	}
	if n, err := b.Pending(ctx); err != nil || n != 0 {
		t.Fatalf("pending after all: %d, %v", n, err)
	}
	count := make(map[string]int)
	for _, r := range srv.Rows(sentinel.FindingsStream) {
		count[r["FindingKey"].(string)]++
	}
	for _, f := range fs {
		if count[f.Key] != 1 {
			t.Errorf("%s delivered %d times, want once", f.Key, count[f.Key])
		}
	}
	if len(count) != len(fs) {
		t.Errorf("%d keys delivered, want %d", len(count), len(fs))
	}
	var statuses []int
	for _, c := range srv.Calls() {
		statuses = append(statuses, c.Status)
	}
	if statuses[0] != 429 || !contains(statuses, 500) {
		t.Errorf("calls %v: want the 429 first and the 500", statuses)
	}
	if e := srv.Errors(); len(e) > 0 {
		t.Fatalf("the API refused: %v", e)
	}
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// TestUploadErrorsRedacted: a refused upload names the route, not a
// query, and is permanent for a 4xx.
func TestUploadError(t *testing.T) {
	srv := sentineltest.New(ruleID, columns())
	defer srv.Close()
	c, err := sentinel.NewClient(srv.URL, "dcr-other", &sentineltest.Credential{}, &sentinel.ClientOptions{Transport: srv.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Upload(context.Background(), sentinel.FindingsStream, []byte(`[]`))
	ue, ok := err.(*sentinel.UploadError)
	if !ok || ue.Status != http.StatusNotFound || !ue.Permanent() {
		t.Fatalf("err = %#v, want a permanent 404 UploadError", err)
	}
	if strings.Contains(ue.Msg, "api-version") || !strings.Contains(ue.Msg, "/dataCollectionRules/dcr-other/streams/") {
		t.Errorf("message %q: want the route without its query", ue.Msg)
	}
}

func TestNewClientRefusesHTTP(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:1", "https://user:pw@x.ingest.monitor.azure.com", "https://x.ingest.monitor.azure.com/?sig=1", "not a url"} {
		if _, err := sentinel.NewClient(u, ruleID, &sentineltest.Credential{}, nil); err == nil {
			t.Errorf("NewClient(%q) accepted", u)
		} else if strings.Contains(err.Error(), "pw") || strings.Contains(err.Error(), "sig=1") {
			t.Errorf("NewClient(%q): error leaks a secret: %v", u, err)
		}
	}
}
