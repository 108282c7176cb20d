package store_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/tenantwatch/tenantwatch/shared/azuritetest"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/store"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

func TestNewTablesFromConnectionString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		conn    string
		opts    *store.TablesOptions
		wantErr string // "" = success
	}{
		{name: "azurite", conn: azuritetest.ConnectionString(10000, 10001, 10002)},
		{name: "azure account", conn: "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + azuritetest.AccountKey + ";EndpointSuffix=core.windows.net"},
		{name: "nil options", conn: azuritetest.ConnectionString(1, 2, 3), opts: nil},
		{name: "custom prefix", conn: azuritetest.ConnectionString(1, 2, 3), opts: &store.TablesOptions{Prefix: "Demo1"}},
		{name: "development shortcut", conn: "UseDevelopmentStorage=true", wantErr: "UseDevelopmentStorage=true must be expanded"},
		{name: "development shortcut spaced", conn: " usedevelopmentstorage = TRUE ;", wantErr: "UseDevelopmentStorage=true must be expanded"},
		{name: "no account", conn: "TableEndpoint=http://127.0.0.1:1/x", wantErr: "malformed connection string"},
		{name: "SAS with an endpoint", conn: "TableEndpoint=http://127.0.0.1:1/x;SharedAccessSignature=sv=2019-02-02&sig=S3cr3tSig"},
		{name: "SAS with an account", conn: "AccountName=acct;SharedAccessSignature=?sv=2019-02-02&sig=S3cr3tSig"},
		{name: "SAS without endpoint or account", conn: "BlobEndpoint=http://127.0.0.1:1/x;SharedAccessSignature=sv=2019-02-02&sig=S3cr3tSig", wantErr: "needs TableEndpoint or AccountName"},
		{name: "empty SAS", conn: "TableEndpoint=http://127.0.0.1:1/x;SharedAccessSignature=", wantErr: "empty SharedAccessSignature"},
		{name: "garbage", conn: "not a connection string", wantErr: "malformed connection string"},
		{name: "prefix with dash", conn: azuritetest.ConnectionString(1, 2, 3), opts: &store.TablesOptions{Prefix: "tw-x"}, wantErr: "invalid table prefix"},
		{name: "prefix starting with digit", conn: azuritetest.ConnectionString(1, 2, 3), opts: &store.TablesOptions{Prefix: "1tw"}, wantErr: "invalid table prefix"},
		{name: "prefix too long", conn: azuritetest.ConnectionString(1, 2, 3), opts: &store.TablesOptions{Prefix: "t" + strings.Repeat("x", 50)}, wantErr: "invalid table prefix"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := store.NewTablesFromConnectionString(tc.conn, tc.opts)
			if tc.wantErr == "" {
				if err != nil || st == nil {
					t.Fatalf("err = %v, want success", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), azuritetest.AccountKey) || strings.Contains(err.Error(), "S3cr3tSig") {
				t.Fatalf("error leaks the account key: %v", err)
			}
		})
	}
}

func TestTableNames(t *testing.T) {
	t.Parallel()
	st, err := store.NewTablesFromConnectionString(azuritetest.ConnectionString(1, 2, 3), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "twcursors twbaselines twfindings twoutbox twsubscriptions twsignins twexchange twfailures twincidents"
	if got := strings.Join(st.TableNames(), " "); got != want {
		t.Errorf("TableNames = %q, want %q", got, want)
	}
}

type fakeCredential struct{}

func (fakeCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "t", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestNewTables(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		url     string
		cred    azcore.TokenCredential
		wantErr string
	}{
		{name: "managed identity", url: "https://acct.table.core.windows.net", cred: fakeCredential{}},
		{name: "no url", url: "", cred: fakeCredential{}, wantErr: "empty table service url"},
		{name: "no credential", url: "https://acct.table.core.windows.net", wantErr: "nil credential"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := store.NewTables(tc.url, tc.cred, nil)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestInitIdempotentAndPing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := open(t, nil, nil)
	if err := st.Init(ctx); err != nil {
		t.Fatalf("second Init: %v", err)
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}

	// Tables that were never created: an answer, not unreachable.
	fresh, err := store.NewTablesFromConnectionString(azurite.ConnectionString(), &store.TablesOptions{Prefix: prefix(t)})
	if err != nil {
		t.Fatal(err)
	}
	err = fresh.Ping(ctx)
	if err == nil || errors.Is(err, tenant.ErrUnreachable) {
		t.Fatalf("Ping before Init = %v, want a not-found answer", err)
	}
	wantOneLine(t, err)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 404 {
		t.Fatalf("Ping before Init = %v, want a 404 *azcore.ResponseError", err)
	}
}

// TestUnreachable: nothing listens on the port: every call fails with an
// error wrapping tenant.ErrUnreachable.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	st, err := store.NewTablesFromConnectionString(azuritetest.ConnectionString(port, port, port), &store.TablesOptions{MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	calls := map[string]func() error{
		"Init":   func() error { return st.Init(ctx) },
		"Ping":   func() error { return st.Ping(ctx) },
		"Cursor": func() error { _, err := st.Cursor(ctx, "x"); return err },
		"Record": func() error {
			_, err := st.RecordFindings(ctx, []tenant.Finding{{Rule: "r.x", Key: "k", Severity: tenant.SeverityHigh}}, state.FindingQueued, t0)
			return err
		},
		"Claim":    func() error { _, err := st.ClaimOutbox(ctx, t0, time.Minute, 5); return err },
		"Baseline": func() error { return st.PutBaselines(ctx, []state.Baseline{{Type: tenant.SubjectUser, ID: "u"}}) },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			if !errors.Is(err, tenant.ErrUnreachable) {
				t.Fatalf("err = %v, want tenant.ErrUnreachable", err)
			}
			wantOneLine(t, err)
		})
	}
}
