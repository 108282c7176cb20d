package watch_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/azuritetest"
)

// azurite is the package's private emulator, shared by the tests: each test
// uses its own table prefix and report container.
var azurite *azuritetest.Azurite

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "watchtest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	azurite, err = azuritetest.Launch(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	azurite.Stop()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}
