package app_test

import (
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/app"
	"github.com/tenantwatch/tenantwatch/shared/azuritetest"
	"github.com/tenantwatch/tenantwatch/shared/blobstore"
	"github.com/tenantwatch/tenantwatch/shared/config"
	"github.com/tenantwatch/tenantwatch/shared/store"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestNew wires the app on Azurite from its settings: it creates the
// tables and the report container (and finds them the second time), not
// the Service Tags container, which it only reads; with storage
// unreachable it fails with a one-line error saying which storage.
func TestNew(t *testing.T) {
	t.Parallel()
	az := azuritetest.Start(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().(*net.TCPAddr).Port
	l.Close()
	tests := []struct {
		name        string
		storage     string
		settings    map[string]string
		wantErr     string
		unreachable bool
	}{
		{name: "new storage", storage: az.ConnectionString(),
			settings: map[string]string{"TENANTWATCH_TABLE_PREFIX": "twnew", "TENANTWATCH_REPORT_CONTAINER": "new-reports"}},
		{name: "again: the tables and container exist", storage: az.ConnectionString(),
			settings: map[string]string{"TENANTWATCH_TABLE_PREFIX": "twnew", "TENANTWATCH_REPORT_CONTAINER": "new-reports"}},
		{name: "Service Tags from a blob", storage: az.ConnectionString(),
			settings: map[string]string{"TENANTWATCH_TABLE_PREFIX": "twtags", "TENANTWATCH_REPORT_CONTAINER": "tag-reports",
				"TENANTWATCH_SERVICE_TAGS_BLOB": "config/ServiceTags_Public.json"}},
		{name: "storage unreachable", storage: azuritetest.ConnectionString(dead, dead, dead),
			settings: map[string]string{}, wantErr: "table storage: ", unreachable: true},
	}
	for _, tc := range tests {
		env := map[string]string{
			"AzureWebJobsStorage":    tc.storage,
			"TENANTWATCH_GRAPH_URL":  "http://127.0.0.1:1", // never called: New does not touch Graph
			"TENANTWATCH_GRAPH_AUTH": "none",
		}
		for k, v := range tc.settings {
			env[k] = v
		}
		cfg, err := config.Load(func(k string) string { return env[k] })
		if err != nil {
			t.Fatalf("%s: settings: %v", tc.name, err)
		}
		svc, err := app.New(t.Context(), cfg, "test", slog.New(slog.DiscardHandler))
		if tc.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("%s: err = %v, want one line starting %q", tc.name, err, tc.wantErr)
			}
			if tc.unreachable != errors.Is(err, tenant.ErrUnreachable) {
				t.Errorf("%s: errors.Is(%v, tenant.ErrUnreachable) = %v", tc.name, err, !tc.unreachable)
			}
			continue
		}
		if err != nil || svc == nil {
			t.Fatalf("%s: New = %v, %v", tc.name, svc, err)
		}
		tables, err := store.NewTablesFromConnectionString(tc.storage, &store.TablesOptions{Prefix: cfg.TablePrefix})
		if err != nil {
			t.Fatal(err)
		}
		if err := tables.Ping(t.Context()); err != nil {
			t.Errorf("%s: the tables were not created: %v", tc.name, err)
		}
		reports, err := blobstore.NewContainerFromConnectionString(tc.storage, cfg.ReportContainer, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reports.List(t.Context(), ""); err != nil {
			t.Errorf("%s: the report container %s was not created: %v", tc.name, cfg.ReportContainer, err)
		}
		if tagContainer, _, ok := strings.Cut(cfg.ServiceTagsBlob, "/"); ok {
			// The Service Tags container is the operator's: New reads it, creates nothing there.
			tags, err := blobstore.NewContainerFromConnectionString(tc.storage, tagContainer, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tags.List(t.Context(), ""); !errors.Is(err, tenant.ErrNotFound) {
				t.Errorf("%s: listing the Service Tags container %s = %v, want tenant.ErrNotFound", tc.name, tagContainer, err)
			}
		}
	}
}
