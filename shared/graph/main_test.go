package graph_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/graph"
)

// coldChild marks the child process of TestNewClientsConcurrently.
const coldChild = "TENANTWATCH_GRAPH_COLD_CHILD"

// TestNewClientsConcurrently builds the first clients of a process at the
// same time, as parallel tests and a wiring that builds several do. The
// first NewClient creates msgraph-sdk-go-core's error registry, lazily and
// without a lock (doc.go, "SDK workarounds"), so the test runs itself in a
// child process that has built no client yet. Under `go test -race` it
// fails when NewClient stops serialising that (newClientMu); without the
// race detector it only checks that concurrent builds succeed.
func TestNewClientsConcurrently(t *testing.T) {
	if os.Getenv(coldChild) == "" {
		t.Parallel()
		cmd := exec.Command(os.Args[0], "-test.run=^TestNewClientsConcurrently$", "-test.count=1")
		cmd.Env = append(os.Environ(), coldChild+"=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("the child process (clients built concurrently in a fresh process): %v\n%s", err, out)
		}
		return
	}
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() {
			_, err := graph.NewClient("http://127.0.0.1:1", graph.AuthNone, nil)
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
