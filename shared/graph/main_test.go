package graph_test

import (
	"os"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/graph"
)

// TestMain builds one client before the parallel tests start: the first
// NewClient initialises msgraph-sdk-go-core's lazily created, unsynchronised
// error registry, and parallel tests would otherwise race to do it (see
// NewClient).
func TestMain(m *testing.M) {
	if _, err := graph.NewClient("http://127.0.0.1:1", graph.AuthNone, nil); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}
