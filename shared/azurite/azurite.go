// Package azurite starts a private Azurite (the Azure Storage emulator): its
// own process, free loopback ports and data folder. `tenantwatch demo` runs
// the app on one, and shared/azuritetest starts one per test, so that
// storage is exercised through the real Table, Blob and Queue APIs. The
// Makefile installs the pinned Azurite into .tools/azurite (make azurite);
// TENANTWATCH_AZURITE overrides the path. Development only: the deployed
// binary does not link it.
package azurite

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// AccountKey is Azurite's well-known development account key.
const AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// AccountName is Azurite's development account.
const AccountName = "devstoreaccount1"

// Azurite is one running emulator.
type Azurite struct {
	bin      string
	dir      string
	ports    map[string]int // blob, queue, table
	mu       sync.Mutex
	cmd      *exec.Cmd
	done     chan struct{}
	logMu    sync.Mutex
	logLines []string
}

// Binary returns the Azurite executable: $TENANTWATCH_AZURITE, else
// .tools/azurite/node_modules/.bin/azurite in the first parent folder of
// the working directory that has one.
func Binary() (string, error) {
	if p := os.Getenv("TENANTWATCH_AZURITE"); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, ".tools", "azurite", "node_modules", ".bin", "azurite")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("azurite is not installed: run `make azurite` (or set TENANTWATCH_AZURITE)")
		}
		dir = parent
	}
}

// Launch starts Azurite on free loopback ports with its data in dir. The
// caller stops it (tests use azuritetest.Start, which stops it for them).
func Launch(dir string) (*Azurite, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	a := &Azurite{bin: bin, dir: dir, ports: map[string]int{"blob": 0, "queue": 0, "table": 0}}
	if err := a.start(); err != nil {
		return nil, err
	}
	return a, nil
}

var listening = regexp.MustCompile(`Azurite (Blob|Queue|Table) service is successfully listening at http://127\.0\.0\.1:(\d+)`)

func (a *Azurite) start() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	args := []string{
		"--blobPort", strconv.Itoa(a.ports["blob"]), "--queuePort", strconv.Itoa(a.ports["queue"]),
		"--tablePort", strconv.Itoa(a.ports["table"]),
		"--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
		"--location", a.dir, "--skipApiVersionCheck", "--loose",
		// Without it Azurite reports to Application Insights, and on
		// SIGTERM waits for that report (seconds; offline, until the
		// send times out) before it exits.
		"--disableTelemetry",
	}
	cmd := exec.Command(a.bin, args...)
	cmd.Dir = a.dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("azurite: start %s: %w", a.bin, err)
	}
	found := make(chan map[string]int, 1)
	go func() {
		got := map[string]int{}
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			a.logMu.Lock()
			a.logLines = append(a.logLines, line)
			a.logMu.Unlock()
			if m := listening.FindStringSubmatch(line); m != nil {
				p, _ := strconv.Atoi(m[2])
				got[strings.ToLower(m[1])] = p
				if len(got) == 3 && !sent {
					found <- got
					sent = true
				}
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case got := <-found:
		a.ports, a.cmd, a.done = got, cmd, done
		return nil
	case <-done:
		return fmt.Errorf("azurite: azurite exited before listening: %s", a.log())
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		return fmt.Errorf("azurite: azurite did not listen within 60s: %s", a.log())
	}
}

// Stop kills the emulator (its data folder stays).
// Azurite saves its tables every few seconds, so a kill can lose the last
// writes: use Restart to stop it cleanly.
func (a *Azurite) Stop() { a.stop(false) }

// Shutdown stops the emulator cleanly: it saves its data first (this can
// take several seconds while clients hold connections open).
func (a *Azurite) Shutdown() { a.stop(true) }

func (a *Azurite) stop(graceful bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cmd == nil {
		return
	}
	if graceful {
		// On SIGTERM Azurite saves its data, but it waits for open
		// keep-alive connections to close first.
		_ = a.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-a.done:
			a.cmd = nil
			return
		case <-time.After(15 * time.Second):
		}
	}
	_ = a.cmd.Process.Kill()
	<-a.done
	a.cmd = nil
}

// Restart stops the emulator cleanly (SIGTERM: it saves its data) and
// starts it again on the same ports with the same data folder: what was
// stored survives, connections drop.
func (a *Azurite) Restart() error {
	a.stop(true)
	var err error
	for i := 0; i < 20; i++ { // the old process's ports can take a moment to free
		if err = a.start(); err == nil {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return err
}

// Port returns the port of a service: "blob", "queue" or "table".
func (a *Azurite) Port(service string) int { return a.ports[service] }

// ConnectionString returns the full development connection string (the Go
// SDKs do not accept UseDevelopmentStorage=true).
func (a *Azurite) ConnectionString() string {
	return ConnectionString(a.ports["blob"], a.ports["queue"], a.ports["table"])
}

// ConnectionString returns the full development connection string for
// Azurite listening on the given loopback ports.
func ConnectionString(blob, queue, table int) string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;"+
		"BlobEndpoint=http://127.0.0.1:%d/%s;QueueEndpoint=http://127.0.0.1:%d/%s;TableEndpoint=http://127.0.0.1:%d/%s;",
		AccountName, AccountKey, blob, AccountName, queue, AccountName, table, AccountName)
}

// WaitReady waits until ctx ends or f succeeds, for callers that restart the
// emulator and need it answering again.
func WaitReady(ctx context.Context, f func(context.Context) error) error {
	for {
		err := f(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("azurite: not ready: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (a *Azurite) log() string {
	a.logMu.Lock()
	defer a.logMu.Unlock()
	return strings.Join(a.logLines, "\n")
}

// SASConnectionString returns a connection string for this emulator that
// authenticates with an account SAS instead of the account key (a form
// AzureWebJobsStorage takes): see the package function.
func (a *Azurite) SASConnectionString(permissions string, expiry time.Time) (string, error) {
	return SASConnectionString(a.ports["blob"], a.ports["queue"], a.ports["table"], permissions, expiry)
}

// SASConnectionString returns a connection string for Azurite on the given
// loopback ports with an account SAS for the blob, queue and table
// services (all resource types), signed with the development key by the
// aztables SAS builder: permissions is the sp= letters ("rwdlacup": all
// that the app and the host need, p being queue message processing; "rl":
// read-only). The SAS's sig= is the secret that must never reach a log.
func SASConnectionString(blob, queue, table int, permissions string, expiry time.Time) (string, error) {
	cred, err := aztables.NewSharedKeyCredential(AccountName, AccountKey)
	if err != nil {
		return "", err
	}
	sas, err := aztables.AccountSASSignatureValues{
		Protocol: aztables.SASProtocolHTTPSandHTTP, ExpiryTime: expiry.UTC(),
		Permissions: permissions, Services: "bqt", ResourceTypes: "sco",
	}.Sign(cred)
	if err != nil {
		return "", fmt.Errorf("azurite: sign the SAS: %w", err)
	}
	return fmt.Sprintf("AccountName=%s;BlobEndpoint=http://127.0.0.1:%d/%s;QueueEndpoint=http://127.0.0.1:%d/%s;"+
		"TableEndpoint=http://127.0.0.1:%d/%s;SharedAccessSignature=%s",
		AccountName, blob, AccountName, queue, AccountName, table, AccountName, sas.Encode()), nil
}
