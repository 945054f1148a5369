// Command zip-lister lists a zip archive with archive/zip, which needs an
// io.ReaderAt and a size: here a real *os.File made from the archive's bytes
// by wasi-memfd. Build it for GOOS=wasip1 GOARCH=wasm and run it in the
// wasi-memfd runner, either way:
//
//	# the bytes are read into a []byte first, then handed over as a file
//	wasi-memfd run --dir examples/zip-lister::/data zip-lister.wasm /data/sample.zip
//
//	# the host attaches the file; the guest opens it by name
//	wasi-memfd run --preopen archive=examples/zip-lister/sample.zip zip-lister.wasm -preopen archive
//
// For each file entry it prints, sha256sum-style,
//
//	CRC32  SHA256  SIZE  NAME
//
// where CRC32 is the archive's (checked against the data), SHA256 is computed
// over the decompressed content and SIZE is its length; then a summary line.
// Build and run it with `bash examples/run.sh zip-lister`.
package main

import (
	"archive/zip"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path"

	"github.com/wasi-memfd/wasi-memfd/guest/go/memfd"
)

func main() {
	preopen := flag.String("preopen", "", "open the archive the host attached under this `name` (wasi-memfd run --preopen NAME=PATH)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: zip-lister ARCHIVE.zip | zip-lister -preopen NAME\n")
		flag.PrintDefaults()
	}
	flag.Parse()

	var (
		f   *os.File
		err error
	)
	switch {
	case *preopen != "" && flag.NArg() == 0:
		f, err = memfd.OpenPreopened(*preopen)
	case *preopen == "" && flag.NArg() == 1:
		f, err = fromPath(flag.Arg(0))
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		fail(err)
	}
	defer f.Close()
	if err := list(os.Stdout, f); err != nil {
		fail(err)
	}
}

// fromPath reads the archive into memory, as a program that received it over
// the network or built it would have it, and turns those bytes into a file.
func fromPath(p string) (*os.File, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return memfd.FromBytes(b, path.Base(p))
}

// list prints one line per file entry of the archive in f, then a summary.
func list(w io.Writer, f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	zr, err := zip.NewReader(f, fi.Size())
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	var files int
	var total int64
	for _, e := range zr.File {
		if e.FileInfo().IsDir() {
			continue
		}
		size, sum, crc, err := digest(e)
		if err != nil {
			return fmt.Errorf("%s: %w", e.Name, err)
		}
		if crc != e.CRC32 {
			return fmt.Errorf("%s: CRC-32 %08x, archive says %08x", e.Name, crc, e.CRC32)
		}
		fmt.Fprintf(w, "%08x  %x  %d  %s\n", e.CRC32, sum, size, e.Name)
		files++
		total += size
	}
	fmt.Fprintf(w, "%d files, %d bytes uncompressed, %d bytes compressed archive\n", files, total, fi.Size())
	return nil
}

// digest decompresses an entry and returns its size, SHA-256 and CRC-32.
func digest(e *zip.File) (int64, [sha256.Size]byte, uint32, error) {
	var sum [sha256.Size]byte
	rc, err := e.Open()
	if err != nil {
		return 0, sum, 0, err
	}
	defer rc.Close()
	h := sha256.New()
	c := crc32.NewIEEE()
	n, err := io.Copy(io.MultiWriter(h, c), rc)
	if err != nil {
		return 0, sum, 0, err
	}
	h.Sum(sum[:0])
	return n, sum, c.Sum32(), nil
}

func fail(err error) {
	var pe *os.PathError
	if errors.As(err, &pe) {
		fmt.Fprintf(os.Stderr, "zip-lister: %s %s: %v\n", pe.Op, pe.Path, pe.Err)
	} else {
		fmt.Fprintf(os.Stderr, "zip-lister: %v\n", err)
	}
	os.Exit(1)
}
