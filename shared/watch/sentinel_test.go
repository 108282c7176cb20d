package watch_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/report"
	"github.com/tenantwatch/tenantwatch/shared/sentinel"
	"github.com/tenantwatch/tenantwatch/shared/sentinel/sentineltest"
	"github.com/tenantwatch/tenantwatch/shared/store"
)

const sentinelRule = "dcr-0123456789abcdef0123456789abcdef"

func sentinelColumns() map[string]map[string]string {
	m := map[string]map[string]string{sentinel.FindingsStream: {}, sentinel.IncidentsStream: {}}
	for _, c := range sentinel.FindingColumns() {
		m[sentinel.FindingsStream][c.Name] = c.Type
	}
	for _, c := range sentinel.IncidentColumns() {
		m[sentinel.IncidentsStream][c.Name] = c.Type
	}
	return m
}

// newSentinel is the sink as shared/app wires it, over its own Tables
// client (a new one is a new process) on e's Azurite and prefix, sending
// to srv with the real azlogs client.
func (e *env) newSentinel(srv *sentineltest.Server) *sentinel.Sink {
	t := e.t
	t.Helper()
	st, err := store.NewTablesFromConnectionString(e.cfg.Storage.ConnectionString, &store.TablesOptions{Prefix: e.cfg.TablePrefix, Now: e.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ob, err := st.SinkOutbox("sentinel")
	if err != nil {
		t.Fatal(err)
	}
	c, err := sentinel.NewClient(srv.URL, sentinelRule, &sentineltest.Credential{}, &sentinel.ClientOptions{Transport: srv.Client().Transport, Now: e.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	s, err := sentinel.NewSink(ob, c, &sentinel.SinkOptions{TenantID: "a5d523ad-4913-45c1-bc01-5d94195ab832", Now: e.clk.Now,
		MaxItemBytes: 16 << 10, BaseBackoff: 10 * time.Second, MaxBackoff: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSentinelSweep: the daily sweep's findings and incidents reach the
// Logs Ingestion API through DeliverAlerts, across a 429 with
// Retry-After, a 500 and a process restart (a new App, sink and Tables
// over the same Azurite), each finding and incident exactly once, as the
// day's findings.json lists them.
func TestSentinelSweep(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{NoWebhooks: true, NoTeams: true})
	ctx := t.Context()
	srv := sentineltest.New(sentinelRule, sentinelColumns())
	defer srv.Close()
	e.sentinel = e.newSentinel(srv)
	e.app = e.newApp(e.cfg)

	if err := e.app.DailySweep(ctx); err != nil {
		t.Fatal(err)
	}
	data, err := e.rep.Get(ctx, e.clk.Now().Format("2006/01/02")+"/"+report.JSONFile)
	e.must("read report", err)
	var doc struct {
		Findings  []struct{ Key string }
		Incidents []struct{ ID string }
	}
	e.must("decode report", json.Unmarshal(data, &doc))
	if len(doc.Findings) < 10 || len(doc.Incidents) == 0 {
		t.Fatalf("the simulated tenant gave %d findings and %d incidents: want a story", len(doc.Findings), len(doc.Incidents))
	}

	srv.Inject(sentineltest.Answer{Status: 429, Headers: map[string]string{"Retry-After": "30"}})
	if err := e.app.DeliverAlerts(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Rows(sentinel.FindingsStream)) + len(srv.Rows(sentinel.IncidentsStream)); n != 0 {
		t.Fatalf("%d rows taken after a 429: the run should have ended", n)
	}
	e.clk.Advance(30 * time.Second)
	srv.Inject(sentineltest.Answer{Status: 500})
	if err := e.app.DeliverAlerts(ctx); err != nil {
		t.Fatal(err)
	}
	// A restart: the item the 500 left is delivered by a new process.
	e.sentinel = e.newSentinel(srv)
	e.app = e.newApp(e.cfg)
	e.clk.Advance(10 * time.Minute)
	if err := e.app.DeliverAlerts(ctx); err != nil {
		t.Fatal(err)
	}
	if e := srv.Errors(); len(e) > 0 {
		t.Fatalf("the API refused rows: %v", e)
	}
	saw500 := false
	for _, c := range srv.Calls() {
		saw500 = saw500 || c.Status == 500
	}
	if !saw500 || srv.Calls()[0].Status != 429 {
		t.Fatalf("calls %+v: want the 429 first and the 500", srv.Calls())
	}
	once := func(stream, col string, want []string) {
		t.Helper()
		got := map[string]int{}
		for _, r := range srv.Rows(stream) {
			got[r[col].(string)]++
		}
		for _, k := range want {
			if got[k] != 1 {
				t.Errorf("%s %s: %d rows, want 1", stream, k, got[k])
			}
			delete(got, k)
		}
		for k, n := range got {
			t.Errorf("%s %s: %d rows of something findings.json does not list", stream, k, n)
		}
	}
	var keys, ids []string
	for _, f := range doc.Findings {
		keys = append(keys, f.Key)
	}
	for _, i := range doc.Incidents {
		ids = append(ids, i.ID)
	}
	once(sentinel.FindingsStream, "FindingKey", keys)
	once(sentinel.IncidentsStream, "IncidentId", ids)
}
