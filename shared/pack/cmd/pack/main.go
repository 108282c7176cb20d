// Command pack assembles dist/ and dist/tenantwatch.zip from the
// repository root and a built Linux executable (make package runs it).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tenantwatch/tenantwatch/shared/pack"
)

func main() {
	root := flag.String("root", ".", "repository `folder` with host.json and functions/")
	exe := flag.String("exe", "dist/tenantwatch", "the built Linux `executable`")
	out := flag.String("out", "dist", "output `folder`: the app laid out, and tenantwatch.zip")
	flag.Parse()
	if err := run(*root, *exe, *out); err != nil {
		fmt.Fprintln(os.Stderr, "pack:", err)
		os.Exit(1)
	}
}

func run(root, exe, out string) error {
	entries, err := pack.Layout(root, exe)
	if err != nil {
		return err
	}
	if err := pack.Dir(out, entries); err != nil {
		return err
	}
	zipPath := filepath.Join(out, "tenantwatch.zip")
	f, err := os.Create(zipPath)
	if err != nil {
		return err
	}
	if err := pack.Zip(f, entries); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("pack: %s (%d files: host.json, %d functions, %s)\n", zipPath, len(entries), len(entries)-2, pack.Executable)
	return nil
}
