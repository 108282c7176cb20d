// Package pack lays out the Functions app the way the host expects it and
// zips it for zip deploy (or the Flex Consumption deployment container):
// host.json at the root, one folder per function holding its
// function.json, and the handler executable with its run bit. The host
// finds functions only one level below host.json, so the repository's
// functions/<Name>/ folders move up a level. Standard library only.
package pack

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Executable is the handler's file name in the package; host.json's
// defaultExecutablePath names it.
const Executable = "tenantwatch"

// Entry is one file of the package.
type Entry struct {
	Name string      // slash-separated path in the zip
	Mode fs.FileMode // 0o644, or 0o755 for the executable
	src  string      // file to copy
}

// Layout lists the package's files: host.json, <Name>/function.json for
// each functions/<Name>/function.json under root, and the executable.
// It fails when host.json or a function folder's function.json is missing.
func Layout(root, executable string) ([]Entry, error) {
	host := filepath.Join(root, "host.json")
	if _, err := os.Stat(host); err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	}
	if _, err := os.Stat(executable); err != nil {
		return nil, fmt.Errorf("pack: the executable: %w (build it first: make package)", err)
	}
	dirs, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	}
	out := []Entry{{Name: "host.json", Mode: 0o644, src: host}}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		fj := filepath.Join(root, "functions", d.Name(), "function.json")
		if _, err := os.Stat(fj); err != nil {
			return nil, fmt.Errorf("pack: function %s: %w", d.Name(), err)
		}
		out = append(out, Entry{Name: d.Name() + "/function.json", Mode: 0o644, src: fj})
	}
	if len(out) == 1 {
		return nil, errors.New("pack: no function folders under functions/")
	}
	out = append(out, Entry{Name: Executable, Mode: 0o755, src: executable})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Zip writes the entries to w: Unix modes kept (a zip made without them
// leaves the handler without its execute bit on Linux), a fixed
// modification time so that the same inputs give the same bytes.
func Zip(w io.Writer, entries []Entry) error {
	zw := zip.NewWriter(w)
	stamp := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.Name, Method: zip.Deflate, Modified: stamp}
		h.SetMode(e.Mode)
		f, err := zw.CreateHeader(h)
		if err != nil {
			return fmt.Errorf("pack: %w", err)
		}
		src, err := os.Open(e.src)
		if err != nil {
			return fmt.Errorf("pack: %w", err)
		}
		_, err = io.Copy(f, src)
		src.Close()
		if err != nil {
			return fmt.Errorf("pack: %s: %w", e.Name, err)
		}
	}
	return zw.Close()
}

// Dir copies the entries into dir (the dist/ folder `func azure functionapp
// publish` and local hosts run from), with their modes.
func Dir(dir string, entries []Entry) error {
	for _, e := range entries {
		dst := filepath.Join(dir, filepath.FromSlash(e.Name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("pack: %w", err)
		}
		if filepath.Clean(dst) == filepath.Clean(e.src) {
			if err := os.Chmod(dst, e.Mode); err != nil {
				return fmt.Errorf("pack: %w", err)
			}
			continue
		}
		b, err := os.ReadFile(e.src)
		if err != nil {
			return fmt.Errorf("pack: %w", err)
		}
		if err := os.WriteFile(dst, b, e.Mode); err != nil {
			return fmt.Errorf("pack: %w", err)
		}
		if err := os.Chmod(dst, e.Mode); err != nil {
			return fmt.Errorf("pack: %w", err)
		}
	}
	return nil
}
