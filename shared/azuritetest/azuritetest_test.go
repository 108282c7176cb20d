package azuritetest_test

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/azuritetest"
)

func TestStartRestart(t *testing.T) {
	a := azuritetest.Start(t)
	dial := func() {
		t.Helper()
		for _, s := range []string{"blob", "queue", "table"} {
			c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(a.Port(s)))
			if err != nil {
				t.Fatalf("%s: %v", s, err)
			}
			c.Close()
		}
	}
	dial()
	before := a.ConnectionString()
	if err := a.Restart(); err != nil {
		t.Fatal(err)
	}
	dial()
	if got := a.ConnectionString(); got != before {
		t.Errorf("ports moved on restart:\n%s\n%s", before, got)
	}
	if !strings.Contains(before, "TableEndpoint=http://127.0.0.1:") {
		t.Errorf("connection string lacks the table endpoint: %s", before)
	}
}
