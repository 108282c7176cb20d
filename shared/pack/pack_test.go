package pack_test

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/handlers"
	"github.com/tenantwatch/tenantwatch/shared/pack"
)

const repo = "../.."

func fakeExe(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tenantwatch")
	if err := os.WriteFile(p, []byte("\x7fELF fake"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestZipLayout: the package holds exactly host.json, one folder per
// function of the repository with its function.json, and the executable
// with its run bit — nothing else.
func TestZipLayout(t *testing.T) {
	exe := fakeExe(t)
	entries, err := pack.Layout(repo, exe)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := pack.Zip(&buf, entries); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}

	want := []string{"host.json", pack.Executable}
	dirs, err := os.ReadDir(filepath.Join(repo, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		want = append(want, d.Name()+"/function.json")
	}
	slices.Sort(want)
	var got []string
	for _, f := range zr.File {
		got = append(got, f.Name)
		mode := f.Mode().Perm()
		switch {
		case f.Name == pack.Executable && mode != 0o755:
			t.Errorf("%s has mode %v, want 0755 (the host cannot start it otherwise)", f.Name, mode)
		case f.Name != pack.Executable && mode != 0o644:
			t.Errorf("%s has mode %v, want 0644", f.Name, mode)
		}
		src := filepath.Join(repo, "functions", filepath.FromSlash(f.Name))
		switch f.Name {
		case "host.json":
			src = filepath.Join(repo, "host.json")
		case pack.Executable:
			src = exe
		}
		wantBytes, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		gotBytes, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(gotBytes, wantBytes) {
			t.Errorf("%s differs from %s", f.Name, src)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("zip entries (-want +got):\n%s", diff)
	}
	if fns := handlers.Names(); len(dirs) != len(fns) {
		t.Errorf("%d function folders, want the %d functions the handler serves", len(dirs), len(fns))
	}

	// The same inputs give the same bytes.
	var again bytes.Buffer
	if err := pack.Zip(&again, entries); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("two zips of the same inputs differ")
	}
}

func TestDir(t *testing.T) {
	exe := fakeExe(t)
	entries, err := pack.Layout(repo, exe)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := pack.Dir(out, entries); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(out, pack.Executable))
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("executable in dist: %v, %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(out, "GraphNotifications", "function.json")); err != nil {
		t.Error(err)
	}
}

func TestLayoutErrors(t *testing.T) {
	good := func(t *testing.T) string {
		root := t.TempDir()
		must(t, os.WriteFile(filepath.Join(root, "host.json"), []byte("{}"), 0o644))
		must(t, os.MkdirAll(filepath.Join(root, "functions", "A"), 0o755))
		must(t, os.WriteFile(filepath.Join(root, "functions", "A", "function.json"), []byte("{}"), 0o644))
		return root
	}
	tests := []struct {
		name  string
		spoil func(root string) error
		exe   bool
		want  string
	}{
		{"no host.json", func(r string) error { return os.Remove(filepath.Join(r, "host.json")) }, true, "host.json"},
		{"function without function.json", func(r string) error { return os.MkdirAll(filepath.Join(r, "functions", "B"), 0o755) }, true, "function B"},
		{"no functions", func(r string) error { return os.RemoveAll(filepath.Join(r, "functions", "A")) }, true, "no function folders"},
		{"no executable", func(string) error { return nil }, false, "build it first"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := good(t)
			must(t, tc.spoil(root))
			exe := filepath.Join(root, "missing")
			if tc.exe {
				exe = fakeExe(t)
			}
			_, err := pack.Layout(root, exe)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
