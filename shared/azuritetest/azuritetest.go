// Package azuritetest starts a private Azurite (the Azure Storage emulator)
// for a test, through shared/azurite: its own process, free ports and data
// folder, so that storage tests run against the real Table, Blob and Queue
// APIs and packages can test in parallel. The other names here are those
// of shared/azurite, so that a test needs only this package.
package azuritetest

import (
	"context"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/azurite"
)

// AccountKey is Azurite's well-known development account key.
const AccountKey = azurite.AccountKey

// AccountName is Azurite's development account.
const AccountName = azurite.AccountName

// Azurite is one running emulator.
type Azurite = azurite.Azurite

// Start starts Azurite on free loopback ports with a data folder under
// t.TempDir(), and stops it when the test ends. It fails the test when
// Azurite is not installed.
func Start(tb testing.TB) *Azurite {
	tb.Helper()
	a, err := azurite.Launch(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(a.Stop)
	return a
}

// Launch is azurite.Launch: an emulator the caller stops.
func Launch(dir string) (*Azurite, error) { return azurite.Launch(dir) }

// Binary is azurite.Binary: the Azurite executable.
func Binary() (string, error) { return azurite.Binary() }

// ConnectionString is azurite.ConnectionString: the development connection
// string for Azurite on the given loopback ports.
func ConnectionString(blob, queue, table int) string {
	return azurite.ConnectionString(blob, queue, table)
}

// WaitReady is azurite.WaitReady: wait until ctx ends or f succeeds.
func WaitReady(ctx context.Context, f func(context.Context) error) error {
	return azurite.WaitReady(ctx, f)
}

// SASConnectionString is azurite.SASConnectionString: a connection string
// for Azurite on the given loopback ports that authenticates with an
// account SAS.
func SASConnectionString(blob, queue, table int, permissions string, expiry time.Time) (string, error) {
	return azurite.SASConnectionString(blob, queue, table, permissions, expiry)
}
