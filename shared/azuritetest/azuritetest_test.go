package azuritetest_test

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/azuritetest"
)

// TestStart checks that Start gives a running emulator whose connection
// string names its three services. Restart is exercised by the one
// restart test of each layer that needs it: shared/store (what was stored
// survives, on the same ports), shared/funchost (the queue listener
// recovers) and shared/demo (the app's findings still reach Teams).
func TestStart(t *testing.T) {
	a := azuritetest.Start(t)
	conn := a.ConnectionString()
	for _, s := range []string{"blob", "queue", "table"} {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(a.Port(s)))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		c.Close()
		want := strings.ToUpper(s[:1]) + s[1:] + "Endpoint=http://127.0.0.1:" + strconv.Itoa(a.Port(s)) + "/"
		if !strings.Contains(conn, want) {
			t.Errorf("connection string lacks %q: %s", want, conn)
		}
	}
}
