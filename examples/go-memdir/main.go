// Command go-memdir builds a zip archive of a directory's files with
// archive/zip into a file it creates by path, reopens the archive by path
// with zip.OpenReader and lists it, then lists the output directory with
// os.ReadDir. A plain Go program (GOOS=wasip1, no wasi-memfd package): run
// with --mem-dir, every path it opens is served from memory.
//
//	go-memdir IN OUT    archives IN's regular files into OUT/archive.zip
//
// For each entry it prints, sha256sum-style,
//
//	CRC32  SIZE  NAME
//
// (the CRC-32 is the archive's, checked by archive/zip as the entry is
// read), then a summary line, then each entry of OUT with its size. Build
// and run it with `bash examples/run.sh go-memdir`.
package main

import (
	"archive/zip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go-memdir IN OUT")
		os.Exit(2)
	}
	in, out := os.Args[1], os.Args[2]
	archive := filepath.Join(out, "archive.zip")
	if err := build(in, archive); err != nil {
		fail(err)
	}
	if err := list(archive); err != nil {
		fail(err)
	}
	if err := listDir(out); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "go-memdir:", err)
	os.Exit(1)
}

// build writes every regular file under in, by its path relative to in,
// deflated, into a new archive at path.
func build(in, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	err = filepath.WalkDir(in, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(in, p)
		if err != nil {
			return err
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: filepath.ToSlash(rel), Method: zip.Deflate})
		if err != nil {
			return err
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(w, src)
		return err
	})
	if err != nil {
		f.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// list reopens the archive by path and prints its entries.
func list(path string) error {
	r, err := zip.OpenReader(path)
	if err != nil {
		return err
	}
	defer r.Close()
	var total, compressed uint64
	for _, f := range r.File {
		rc, err := f.Open()
		if err != nil {
			return err
		}
		// archive/zip checks the CRC-32 when the entry is read to its end.
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		fmt.Printf("%08x  %5d  %s\n", f.CRC32, n, f.Name)
		total += uint64(n)
		compressed += f.CompressedSize64
	}
	fmt.Printf("%d entries, %d bytes, %d bytes deflated\n", len(r.File), total, compressed)
	return nil
}

// listDir prints what os.ReadDir finds in dir.
func listDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	fmt.Printf("%s:\n", dir)
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			return err
		}
		name := e.Name()
		if e.IsDir() {
			name += "/"
		}
		fmt.Printf("  %-12s %6d bytes\n", name, info.Size())
	}
	return nil
}
