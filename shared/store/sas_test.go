package store_test

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/azuritetest"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/store"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// sasSig returns the sig= value of a SAS connection string, as it appears
// in a URL and decoded.
func sasSig(tb testing.TB, conn string) []string {
	tb.Helper()
	_, sas, ok := strings.Cut(conn, "SharedAccessSignature=")
	if !ok {
		tb.Fatalf("no SAS in %q", conn)
	}
	q, err := url.ParseQuery(sas)
	if err != nil || q.Get("sig") == "" {
		tb.Fatalf("no sig= in the SAS: %v", err)
	}
	return []string{q.Get("sig"), url.QueryEscape(q.Get("sig"))}
}

// noSecret fails the test if msg holds one of secrets.
func noSecret(tb testing.TB, msg string, secrets []string) {
	tb.Helper()
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			tb.Fatalf("the message shows a secret (%q): %s", s, msg)
		}
	}
}

// TestSASConnectionString: a connection string with an account SAS and a
// TableEndpoint (AzureWebJobsStorage's SAS form) reaches that endpoint —
// aztables alone would go to https://<account>.table.core.windows.net —
// and works for every kind of call, batches included.
func TestSASConnectionString(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	conn, err := azurite.SASConnectionString("rwdlacu", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.NewTablesFromConnectionString(conn, &store.TablesOptions{Prefix: prefix(t), Now: newClock(t0).Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Init(ctx); err != nil {
		t.Fatalf("Init: %v", err)
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if _, err := st.SaveCursor(ctx, state.Cursor{Name: "users", DeltaLink: "https://graph.example/delta?$deltatoken=x"}); err != nil {
		t.Fatalf("SaveCursor: %v", err)
	}
	if c, err := st.Cursor(ctx, "users"); err != nil || !c.Exists() {
		t.Fatalf("Cursor: %+v, %v", c, err)
	}
	if err := st.PutBaselines(ctx, []state.Baseline{{Type: tenant.SubjectUser, ID: "u1"}, {Type: tenant.SubjectUser, ID: "u2"}}); err != nil {
		t.Fatalf("PutBaselines (a batch): %v", err)
	}
	fresh, err := st.RecordFindings(ctx, []tenant.Finding{{Rule: "r.x", Key: "k1", Severity: tenant.SeverityHigh}}, state.FindingQueued, t0)
	if err != nil || len(fresh) != 1 {
		t.Fatalf("RecordFindings: %d new, %v", len(fresh), err)
	}
}

// TestSASErrorsAreRedacted: with a SAS connection string, neither an
// unreachable endpoint nor a refusal puts the SAS into an error; the error
// still names the endpoint.
func TestSASErrorsAreRedacted(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().(*net.TCPAddr).Port
	l.Close()
	unreachable, err := azuritetest.SASConnectionString(dead, dead, dead, "rwdlacu", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	readOnly, err := azurite.SASConnectionString("rl", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, conn string
		kind       error
		want       string
	}{
		{"unreachable", unreachable, tenant.ErrUnreachable, "http://127.0.0.1:" + strconv.Itoa(dead) + "/devstoreaccount1/Tables"},
		{"refused", readOnly, nil, "403"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, err := store.NewTablesFromConnectionString(tc.conn, &store.TablesOptions{Prefix: prefix(t), MaxRetries: -1})
			if err != nil {
				t.Fatal(err)
			}
			err = st.Init(t.Context())
			if err == nil {
				t.Fatal("Init succeeded")
			}
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("err = %v, want %v", err, tc.kind)
			}
			wantOneLine(t, err)
			noSecret(t, err.Error(), sasSig(t, tc.conn))
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to name %q", err, tc.want)
			}
		})
	}
}
