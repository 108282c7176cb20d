package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/tenantwatch/tenantwatch/shared/azuritetest"
	"github.com/tenantwatch/tenantwatch/shared/store"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// azurite is the package's private emulator, shared by the tests (each uses
// its own table prefix). The restart test starts its own.
var azurite *azuritetest.Azurite

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "storetest")
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

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// prefix returns a table prefix no other test uses.
func prefix(tb testing.TB) string {
	tb.Helper()
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	return "t" + hex.EncodeToString(b[:])
}

// open returns initialised tables under a fresh prefix on a, with clk as
// the clock.
func open(tb testing.TB, a *azuritetest.Azurite, clk *clock) *store.Tables {
	tb.Helper()
	if a == nil {
		a = azurite
	}
	if clk == nil {
		clk = newClock(t0)
	}
	st, err := store.NewTablesFromConnectionString(a.ConnectionString(), &store.TablesOptions{
		Prefix: prefix(tb), Now: clk.Now, RetryDelay: 50 * time.Millisecond,
	})
	if err != nil {
		tb.Fatal(err)
	}
	if err := st.Init(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return st
}

// wantConflict checks that err is an ErrConflict, and so the domain's
// tenant.ErrConflict that consumers test for without importing the store,
// that still exposes the service's answer (status) through errors.As;
// status 0 skips that check.
func wantConflict(tb testing.TB, err error, status int) {
	tb.Helper()
	if !errors.Is(err, store.ErrConflict) || !errors.Is(err, tenant.ErrConflict) {
		tb.Fatalf("err = %v, want ErrConflict (tenant.ErrConflict)", err)
	}
	if status == 0 {
		return
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		tb.Fatalf("err = %v does not wrap *azcore.ResponseError", err)
	}
	if re.StatusCode != status {
		tb.Fatalf("status = %d, want %d (%v)", re.StatusCode, status, err)
	}
	wantOneLine(tb, err)
}

// wantOneLine checks the message style: one line, "store: " first.
func wantOneLine(tb testing.TB, err error) {
	tb.Helper()
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") || !strings.HasPrefix(msg, "store: ") {
		tb.Fatalf("error message is not one line starting with \"store: \": %q", msg)
	}
}

// hostileKeys are identifiers that break naive RowKeys and URLs.
func hostileKeys() []string {
	return []string{
		"plain-key_1.0",
		"a/b\\c#d?e%f",
		"sp.credential-added:aaaaaaaa-0000-0000-0000-000000000001:key/1",
		"signin.azure-ip:user:20.190.128.1:2001:db8::1",
		"quote'and\"double",
		"tab\tnewline\ncontrol\x01del\x7f",
		"unicode: Ünïcödé 日本語 🙂 \u202Egnp.exe",
		"%2F%23 already-escaped",
		"' or PartitionKey ne '",
		strings.Repeat("k/", 1024), // 2 KiB
		strings.Repeat("é", 700),   // 1,400 bytes, non-ASCII
	}
}
