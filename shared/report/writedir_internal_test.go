package report

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// The tests here replace renameFile and linkFile, so they are not parallel:
// the package's parallel tests start only after every sequential test has
// ended.

func setDoc(name string) *Document {
	return &Document{
		GeneratedAt: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
		TenantID:    "11111111-2222-3333-4444-555555555555",
		TenantName:  name,
		Findings: []tenant.Finding{{
			Rule: "sp.credential-added", Severity: tenant.SeverityHigh, Title: "Credential added " + name,
			Subject: tenant.Subject{Type: tenant.SubjectServicePrincipal, ID: "id-" + name, Name: name},
			Key:     "k-" + name,
		}},
	}
}

// dirFiles reads every file in dir by name.
func dirFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]byte)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func sameFiles(t *testing.T, got, want map[string][]byte) {
	t.Helper()
	var gn, wn []string
	for n := range got {
		gn = append(gn, n)
	}
	for n := range want {
		wn = append(wn, n)
	}
	slices.Sort(gn)
	slices.Sort(wn)
	if !slices.Equal(gn, wn) {
		t.Fatalf("directory holds %v, want %v", gn, wn)
	}
	for n, b := range want {
		if !bytes.Equal(got[n], b) {
			t.Errorf("%s is not the earlier file", n)
		}
	}
}

// failingRename fails the nth call (0-based) and, with failAfter, every
// call after it too; the others rename.
func failingRename(n int, failAfter bool) (func(string, string) error, *int) {
	calls := 0
	return func(from, to string) error {
		i := calls
		calls++
		if i == n || failAfter && i > n {
			return &os.LinkError{Op: "rename", Old: from, New: to, Err: errors.New("injected failure")}
		}
		return os.Rename(from, to)
	}, &calls
}

// TestWriteDirRenameFailureKeepsEarlierSet fails each of the four renames
// in turn and checks that the earlier set is back, byte for byte, with no
// temporary or backup file left; with no earlier set, that nothing is left.
func TestWriteDirRenameFailureKeepsEarlierSet(t *testing.T) {
	defer func() { renameFile, linkFile = os.Rename, os.Link }()
	for _, earlier := range []bool{true, false} {
		for _, copyBackups := range []bool{false, true} {
			for n := range len(dirFormats()) {
				dir := t.TempDir()
				renameFile, linkFile = os.Rename, os.Link
				if earlier {
					if err := WriteDir(dir, setDoc("earlier")); err != nil {
						t.Fatal(err)
					}
				}
				want := dirFiles(t, dir)
				if copyBackups { // a file system without hard links
					linkFile = func(string, string) error { return errors.New("links not supported") }
				}
				var calls *int
				renameFile, calls = failingRename(n, false)
				err := WriteDir(dir, setDoc("new"))
				if err == nil || !strings.Contains(err.Error(), "injected failure") {
					t.Fatalf("earlier=%v copy=%v rename %d fails: WriteDir error = %v", earlier, copyBackups, n, err)
				}
				if *calls != 2*n+1 && earlier || *calls != n+1 && !earlier {
					t.Errorf("earlier=%v rename %d fails: %d renames, want %d new and %d restored", earlier, n, *calls, n+1, n)
				}
				sameFiles(t, dirFiles(t, dir), want)
			}
		}
	}
}

// TestWriteDirRestoreFailureKeepsBackup: when putting an earlier file back
// fails too, the error names the backup, which is kept.
func TestWriteDirRestoreFailureKeepsBackup(t *testing.T) {
	defer func() { renameFile = os.Rename }()
	dir := t.TempDir()
	if err := WriteDir(dir, setDoc("earlier")); err != nil {
		t.Fatal(err)
	}
	earlier := dirFiles(t, dir)
	renameFile, _ = failingRename(1, true) // csv fails, then restoring json fails
	err := WriteDir(dir, setDoc("new"))
	if err == nil || !strings.Contains(err.Error(), "restore the earlier findings.json (kept as ") {
		t.Fatalf("WriteDir error = %v, want one naming the kept backup", err)
	}
	var backups []string
	for name, b := range dirFiles(t, dir) {
		if strings.HasSuffix(name, ".bak") {
			backups = append(backups, name)
			if !bytes.Equal(b, earlier[JSONFile]) {
				t.Errorf("backup %s is not the earlier findings.json", name)
			}
		}
	}
	if len(backups) != 1 {
		t.Errorf("backups left: %v, want the one of findings.json", backups)
	}
}
