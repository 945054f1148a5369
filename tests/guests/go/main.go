//go:build wasip1

// Command memfdcheck is the end-to-end Go guest of tests/go_guest.rs: it
// turns []byte into file descriptors through the wasi_memfd imports and
// checks that Go's os, io and archive/zip packages use them as files.
//
//	wasi-memfd run [flags] memfdcheck.wasm MODE [ARGS]
//
// Modes:
//
//	basic                          no runner flags needed
//	preopen NAME EXPECTED          --preopen NAME=PATH, PATH holding EXPECTED
//	limits FILES FILE_SIZE TOTAL   --max-files FILES --max-file-size FILE_SIZE
//	                               --max-total-size TOTAL
//
// It prints "ok: CHECK" per passed check and "FAIL: CHECK: why" per failed
// one, then "N passed, M failed", and exits 1 if any check failed (2 on a
// usage error).
package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"github.com/wasi-memfd/wasi-memfd/guest/go/memfd"
)

// The raw import, used once directly to show the []byte -> fd -> os.NewFile
// path without the package.
//
//go:wasmimport wasi_memfd from_bytes
//go:noescape
func rawFromBytes(data unsafe.Pointer, dataLen uint32, name unsafe.Pointer, nameLen uint32, flags uint32, fdOut unsafe.Pointer) uint32

var passed, failed int

// check runs one named check; fn returns nil when it holds.
func check(name string, fn func() error) {
	if err := fn(); err != nil {
		failed++
		fmt.Printf("FAIL: %s: %v\n", name, err)
		return
	}
	passed++
	fmt.Printf("ok: %s\n", name)
}

func pattern(n int) []byte {
	b := make([]byte, n)
	x := uint32(88172645)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// wantErrno checks err against errno: errors.Is on the *os.PathError, and
// the exact syscall.Errno value underneath.
func wantErrno(err error, errno syscall.Errno) error {
	if err == nil {
		return fmt.Errorf("no error, want %v (%d)", errno, uint32(errno))
	}
	if !errors.Is(err, errno) {
		return fmt.Errorf("error %v, want %v (%d)", err, errno, uint32(errno))
	}
	var pe *os.PathError
	if !errors.As(err, &pe) {
		return fmt.Errorf("error %v is %T, not *os.PathError", err, err)
	}
	if e, ok := pe.Err.(syscall.Errno); !ok || e != errno {
		return fmt.Errorf("PathError.Err is %#v, want syscall.Errno(%d)", pe.Err, uint32(errno))
	}
	return nil
}

func readAllAt(f *os.File, size int64) ([]byte, error) {
	b := make([]byte, size)
	n, err := f.ReadAt(b, 0)
	if err != nil && !(err == io.EOF && int64(n) == size) {
		return nil, err
	}
	return b[:n], nil
}

// buildZip makes an archive in memory: a few stored and deflated entries.
func buildZip() ([]byte, map[string][]byte, error) {
	entries := map[string][]byte{
		"hello.txt":       []byte("hello, zip inside a memfd\n"),
		"dir/numbers.txt": []byte(strings.Repeat("0123456789\n", 500)),
		"random.bin":      pattern(10000),
		"empty":           nil,
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"hello.txt", "dir/numbers.txt", "random.bin", "empty"} {
		method := zip.Deflate
		if name == "random.bin" {
			method = zip.Store
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err != nil {
			return nil, nil, err
		}
		if _, err := w.Write(entries[name]); err != nil {
			return nil, nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), entries, nil
}

func basic() {
	data := pattern(200_000)

	check("raw from_bytes import + os.NewFile", func() error {
		var fd uint32
		name := "raw"
		errno := rawFromBytes(unsafe.Pointer(&data[0]), uint32(len(data)), unsafe.Pointer(unsafe.StringData(name)), uint32(len(name)), 0, unsafe.Pointer(&fd))
		if errno != 0 {
			return syscall.Errno(errno)
		}
		if fd <= 2 {
			return fmt.Errorf("fd %d collides with stdio", fd)
		}
		f := os.NewFile(uintptr(fd), "raw")
		defer f.Close()
		got, err := io.ReadAll(f)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, data) {
			return fmt.Errorf("read %d bytes that differ from the %d given", len(got), len(data))
		}
		return nil
	})

	f, err := memfd.FromBytes(data, "basic")
	check("FromBytes", func() error { return err })
	if err != nil {
		return
	}
	defer f.Close()

	check("Stat: regular file, true size", func() error {
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() || fi.Size() != int64(len(data)) {
			return fmt.Errorf("mode %v size %d; want a regular file of %d bytes", fi.Mode(), fi.Size(), len(data))
		}
		return nil
	})

	check("io.ReadAll round trip", func() error {
		got, err := io.ReadAll(f)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, data) {
			return fmt.Errorf("%d bytes read differ from the %d given", len(got), len(data))
		}
		return nil
	})

	check("Seek Start/Current/End", func() error {
		if pos, err := f.Seek(0, io.SeekEnd); err != nil || pos != int64(len(data)) {
			return fmt.Errorf("Seek(0, End) = %d, %v", pos, err)
		}
		if pos, err := f.Seek(1234, io.SeekStart); err != nil || pos != 1234 {
			return fmt.Errorf("Seek(1234, Start) = %d, %v", pos, err)
		}
		if pos, err := f.Seek(-34, io.SeekCurrent); err != nil || pos != 1200 {
			return fmt.Errorf("Seek(-34, Current) = %d, %v", pos, err)
		}
		b := make([]byte, 16)
		if _, err := io.ReadFull(f, b); err != nil {
			return err
		}
		if !bytes.Equal(b, data[1200:1216]) {
			return fmt.Errorf("read at 1200 = %x, want %x", b, data[1200:1216])
		}
		return nil
	})

	check("ReadAt leaves the offset alone", func() error {
		b := make([]byte, 100)
		if n, err := f.ReadAt(b, 150_000); n != 100 || err != nil {
			return fmt.Errorf("ReadAt = %d, %v", n, err)
		}
		if !bytes.Equal(b, data[150_000:150_100]) {
			return fmt.Errorf("ReadAt bytes differ")
		}
		if n, err := f.ReadAt(b, int64(len(data))-10); n != 10 || err != io.EOF {
			return fmt.Errorf("ReadAt across the end = %d, %v; want 10, EOF", n, err)
		}
		if pos, _ := f.Seek(0, io.SeekCurrent); pos != 1216 {
			return fmt.Errorf("offset %d after ReadAt, want 1216", pos)
		}
		return nil
	})

	check("read-only: Write/WriteAt fail with EBADF, Truncate refused", func() error {
		if _, err := f.Write([]byte("x")); !errors.Is(err, syscall.EBADF) {
			return fmt.Errorf("Write: %v, want EBADF", err)
		}
		if _, err := f.WriteAt([]byte("x"), 0); !errors.Is(err, syscall.EBADF) {
			return fmt.Errorf("WriteAt: %v, want EBADF", err)
		}
		if err := f.Truncate(1); err == nil {
			return fmt.Errorf("Truncate succeeded")
		}
		if fi, err := f.Stat(); err != nil || fi.Size() != int64(len(data)) {
			return fmt.Errorf("after refused writes: size %v, %v", fi.Size(), err)
		}
		return nil
	})

	check("archive/zip over the *os.File", func() error {
		archive, entries, err := buildZip()
		if err != nil {
			return err
		}
		zf, err := memfd.FromBytes(archive, "archive.zip")
		if err != nil {
			return err
		}
		defer zf.Close()
		fi, err := zf.Stat()
		if err != nil {
			return err
		}
		zr, err := zip.NewReader(zf, fi.Size())
		if err != nil {
			return err
		}
		if len(zr.File) != len(entries) {
			return fmt.Errorf("%d entries, want %d", len(zr.File), len(entries))
		}
		for _, e := range zr.File {
			want, ok := entries[e.Name]
			if !ok {
				return fmt.Errorf("unexpected entry %q", e.Name)
			}
			rc, err := e.Open()
			if err != nil {
				return fmt.Errorf("%s: %v", e.Name, err)
			}
			got, err := io.ReadAll(rc) // also checks the CRC-32
			rc.Close()
			if err != nil {
				return fmt.Errorf("%s: %v", e.Name, err)
			}
			if !bytes.Equal(got, want) || e.CRC32 != crc32.ChecksumIEEE(want) {
				return fmt.Errorf("%s: content or CRC differs", e.Name)
			}
		}
		sum := sha256.Sum256(archive)
		back, err := readAllAt(zf, fi.Size())
		if err != nil {
			return err
		}
		if sha256.Sum256(back) != sum {
			return fmt.Errorf("archive bytes differ")
		}
		return nil
	})

	check("writable: in-place Write/WriteAt, fixed size", func() error {
		src := []byte("The quick brown fox")
		w, err := memfd.FromBytesWritable(src, "writable")
		if err != nil {
			return err
		}
		defer w.Close()
		if n, err := w.WriteAt([]byte("QUICK"), 4); n != 5 || err != nil {
			return fmt.Errorf("WriteAt = %d, %v", n, err)
		}
		if _, err := w.Seek(16, io.SeekStart); err != nil {
			return err
		}
		if n, err := w.Write([]byte("FOX")); n != 3 || err != nil {
			return fmt.Errorf("Write = %d, %v", n, err)
		}
		got, err := readAllAt(w, int64(len(src)))
		if err != nil {
			return err
		}
		if string(got) != "The QUICK brown FOX" {
			return fmt.Errorf("contents %q", got)
		}
		if string(src) != "The quick brown fox" {
			return fmt.Errorf("the source slice changed: %q", src)
		}
		if n, err := w.Write([]byte("!")); n != 0 || err == nil {
			return fmt.Errorf("Write at the end = %d, %v; want an error", n, err)
		}
		if _, err := w.WriteAt([]byte("!!!"), int64(len(src))-1); err == nil {
			return fmt.Errorf("WriteAt across the end succeeded")
		}
		if n, err := w.WriteAt([]byte("!"), 1000); n != 0 || err == nil {
			return fmt.Errorf("WriteAt past the end = %d, %v; want an error", n, err)
		}
		if err := w.Truncate(100); err == nil {
			return fmt.Errorf("Truncate succeeded")
		}
		if fi, err := w.Stat(); err != nil || fi.Size() != int64(len(src)) {
			return fmt.Errorf("size after refused writes = %d, %v", fi.Size(), err)
		}
		return nil
	})

	check("large file: 8 MiB round trip, ReadAt near the end", func() error {
		big := pattern(8 << 20)
		f, err := memfd.FromBytes(big, "large")
		if err != nil {
			return err
		}
		defer f.Close()
		if fi, err := f.Stat(); err != nil || fi.Size() != int64(len(big)) {
			return fmt.Errorf("Stat = %v, %v", fi, err)
		}
		tail := make([]byte, 4096)
		if n, err := f.ReadAt(tail, int64(len(big))-4096); n != 4096 || err != nil {
			return fmt.Errorf("ReadAt = %d, %v", n, err)
		}
		if !bytes.Equal(tail, big[len(big)-4096:]) {
			return fmt.Errorf("ReadAt bytes differ")
		}
		got, err := io.ReadAll(f)
		if err != nil {
			return err
		}
		if sha256.Sum256(got) != sha256.Sum256(big) {
			return fmt.Errorf("read %d bytes that differ from the %d given", len(got), len(big))
		}
		return nil
	})

	check("empty data and empty name", func() error {
		e, err := memfd.FromBytes(nil, "")
		if err != nil {
			return err
		}
		defer e.Close()
		fi, err := e.Stat()
		if err != nil || fi.Size() != 0 {
			return fmt.Errorf("Stat = %v, %v", fi, err)
		}
		if n, err := e.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			return fmt.Errorf("Read = %d, %v; want 0, EOF", n, err)
		}
		return nil
	})

	check("EINVAL: NUL in name", func() error {
		_, err := memfd.FromBytes([]byte("x"), "nul\x00name")
		return wantErrno(err, syscall.EINVAL)
	})
	check("EINVAL: name not UTF-8", func() error {
		_, err := memfd.FromBytes([]byte("x"), "\xc3\x28")
		return wantErrno(err, syscall.EINVAL)
	})
	check("ENAMETOOLONG: 250-byte name (249 accepted)", func() error {
		ok, err := memfd.FromBytes([]byte("x"), strings.Repeat("a", 249))
		if err != nil {
			return fmt.Errorf("249-byte name: %v", err)
		}
		ok.Close()
		_, err = memfd.FromBytes([]byte("x"), strings.Repeat("a", 250))
		return wantErrno(err, syscall.ENAMETOOLONG)
	})
	check("ENOENT: OpenPreopened of a missing name", func() error {
		_, err := memfd.OpenPreopened("missing")
		return wantErrno(err, syscall.ENOENT)
	})
}

func preopen(name, expected string) {
	check("OpenPreopened: contents, Stat, independent offsets", func() error {
		a, err := memfd.OpenPreopened(name)
		if err != nil {
			return err
		}
		defer a.Close()
		b, err := memfd.OpenPreopened(name)
		if err != nil {
			return err
		}
		defer b.Close()
		if a.Fd() == b.Fd() {
			return fmt.Errorf("both opens gave fd %d", a.Fd())
		}
		fi, err := a.Stat()
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() || fi.Size() != int64(len(expected)) {
			return fmt.Errorf("mode %v size %d, want a regular file of %d bytes", fi.Mode(), fi.Size(), len(expected))
		}
		head := make([]byte, 4)
		if _, err := io.ReadFull(a, head); err != nil {
			return err
		}
		all, err := io.ReadAll(b)
		if err != nil {
			return err
		}
		if string(all) != expected {
			return fmt.Errorf("second fd read %q, want %q", all, expected)
		}
		rest, err := io.ReadAll(a)
		if err != nil {
			return err
		}
		if string(head)+string(rest) != expected {
			return fmt.Errorf("first fd read %q, want %q", string(head)+string(rest), expected)
		}
		return nil
	})
}

func limits(files, fileSize, total int) {
	check("EFBIG: one byte over --max-file-size", func() error {
		f, err := memfd.FromBytes(make([]byte, fileSize), "at-limit")
		if err != nil {
			return fmt.Errorf("exactly --max-file-size: %v", err)
		}
		f.Close()
		_, err = memfd.FromBytes(make([]byte, fileSize+1), "over")
		return wantErrno(err, syscall.EFBIG)
	})

	check("EDQUOT: one byte over --max-total-size; Close gives bytes back", func() error {
		var open []*os.File
		defer func() {
			for _, f := range open {
				f.Close()
			}
		}()
		for left := total; left > 0; {
			n := min(left, fileSize)
			f, err := memfd.FromBytes(make([]byte, n), "quota")
			if err != nil {
				return fmt.Errorf("filling the quota (%d bytes, %d left): %v", n, left, err)
			}
			open = append(open, f)
			left -= n
		}
		_, err := memfd.FromBytes([]byte("1"), "over-quota")
		if err := wantErrno(err, syscall.EDQUOT); err != nil {
			return err
		}
		open[0].Close()
		open = open[1:]
		f, err := memfd.FromBytes([]byte("1"), "after-close")
		if err != nil {
			return fmt.Errorf("after closing a file: %v", err)
		}
		open = append(open, f)
		return nil
	})

	check("EMFILE: one file over --max-files; Close frees the slot", func() error {
		var open []*os.File
		defer func() {
			for _, f := range open {
				f.Close()
			}
		}()
		for i := 0; i < files; i++ {
			f, err := memfd.FromBytes([]byte{byte(i)}, "slot")
			if err != nil {
				return fmt.Errorf("file %d of %d allowed: %v", i+1, files, err)
			}
			open = append(open, f)
		}
		_, err := memfd.FromBytesWritable([]byte("x"), "one-too-many")
		if err := wantErrno(err, syscall.EMFILE); err != nil {
			return err
		}
		open[0].Close()
		open = open[1:]
		f, err := memfd.FromBytes([]byte("x"), "after-close")
		if err != nil {
			return fmt.Errorf("after closing a file: %v", err)
		}
		open = append(open, f)
		return nil
	})
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: memfdcheck basic | preopen NAME EXPECTED | limits FILES FILE_SIZE TOTAL")
	os.Exit(2)
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		usage()
	}
	return n
}

func main() {
	args := os.Args[1:]
	if len(args) == 0 {
		usage()
	}
	switch {
	case args[0] == "basic" && len(args) == 1:
		basic()
	case args[0] == "preopen" && len(args) == 3:
		preopen(args[1], args[2])
	case args[0] == "limits" && len(args) == 4:
		limits(atoi(args[1]), atoi(args[2]), atoi(args[3]))
	default:
		usage()
	}
	fmt.Printf("%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}
