//go:build wasip1

// These tests run inside the wasi-memfd runner:
//
//	GOOS=wasip1 GOARCH=wasm go test -exec "$PWD/../../../target/release/wasi-memfd run" .
//
// The tests of the host limits and of preopened files also need runner flags
// and matching environment variables; tests/runner/go_guest.rs passes them
// all. Without them those tests are skipped (and say so).
package memfd_test

import (
	"bytes"
	_ "embed"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/wasi-memfd/wasi-memfd/guest/go/memfd"
)

//go:embed testdata/greeting.txt
var greeting []byte

// pattern returns n deterministic, non-repeating-looking bytes.
func pattern(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func mustFromBytes(t *testing.T, b []byte, name string) *os.File {
	t.Helper()
	f, err := memfd.FromBytes(b, name)
	if err != nil {
		t.Fatalf("FromBytes(%d bytes, %q): %v", len(b), name, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func mustFromBytesWritable(t *testing.T, b []byte, name string) *os.File {
	t.Helper()
	f, err := memfd.FromBytesWritable(b, name)
	if err != nil {
		t.Fatalf("FromBytesWritable(%d bytes, %q): %v", len(b), name, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// wantErrno checks that err is a *os.PathError with the given Op and Path
// whose Err is errno.
func wantErrno(t *testing.T, err error, op, path string, errno syscall.Errno) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v (%d)", errno, uint32(errno))
	}
	if !errors.Is(err, errno) {
		t.Fatalf("got error %v, want errors.Is(err, %v (%d))", err, errno, uint32(errno))
	}
	var pe *os.PathError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not an *os.PathError", err, err)
	}
	if pe.Op != op || pe.Path != path {
		t.Fatalf("PathError{Op: %q, Path: %q}, want Op %q Path %q", pe.Op, pe.Path, op, path)
	}
}

func TestRoundTrip(t *testing.T) {
	want := pattern(60_000) // under go_guest.rs's --max-file-size
	f := mustFromBytes(t, want, "round-trip")
	if f.Name() != "round-trip" {
		t.Errorf("Name() = %q", f.Name())
	}
	got, err := io.ReadAll(f)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes, differ from the %d written", len(got), len(want))
	}
	// At the end, Read reports EOF.
	n, err := f.Read(make([]byte, 8))
	if n != 0 || err != io.EOF {
		t.Fatalf("Read at end = %d, %v; want 0, EOF", n, err)
	}
}

func TestCopiesBytes(t *testing.T) {
	b := []byte("original")
	f := mustFromBytes(t, b, "copy")
	copy(b, "CHANGED!")
	got, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "original" {
		t.Fatalf("file holds %q after the slice changed; want %q", got, "original")
	}
}

func TestStat(t *testing.T) {
	f := mustFromBytes(t, pattern(12345), "stat")
	fi, err := f.Stat()
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if fi.Size() != 12345 {
		t.Errorf("Size() = %d, want 12345", fi.Size())
	}
	if !fi.Mode().IsRegular() {
		t.Errorf("Mode() = %v, want a regular file", fi.Mode())
	}
	if fi.IsDir() {
		t.Errorf("IsDir() = true")
	}
}

func TestEmpty(t *testing.T) {
	for _, b := range [][]byte{nil, {}} {
		f := mustFromBytes(t, b, "")
		fi, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() != 0 {
			t.Errorf("empty file: Size() = %d", fi.Size())
		}
		n, err := f.Read(make([]byte, 4))
		if n != 0 || err != io.EOF {
			t.Errorf("empty file: Read = %d, %v; want 0, EOF", n, err)
		}
	}
}

func TestSeekAndReadAt(t *testing.T) {
	data := pattern(4096)
	f := mustFromBytes(t, data, "seek")

	end, err := f.Seek(0, io.SeekEnd)
	if err != nil || end != 4096 {
		t.Fatalf("Seek(0, End) = %d, %v; want 4096", end, err)
	}
	pos, err := f.Seek(100, io.SeekStart)
	if err != nil || pos != 100 {
		t.Fatalf("Seek(100, Start) = %d, %v", pos, err)
	}
	buf := make([]byte, 10)
	if _, err := io.ReadFull(f, buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf, data[100:110]) {
		t.Fatalf("Read after Seek(100) = %x, want %x", buf, data[100:110])
	}
	pos, err = f.Seek(-20, io.SeekCurrent)
	if err != nil || pos != 90 {
		t.Fatalf("Seek(-20, Current) = %d, %v; want 90", pos, err)
	}
	if _, err := io.ReadFull(f, buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf, data[90:100]) {
		t.Fatalf("Read after Seek(-20, Current) = %x, want %x", buf, data[90:100])
	}

	// ReadAt does not move the offset.
	at := make([]byte, 32)
	if n, err := f.ReadAt(at, 4000); n != 32 || err != nil {
		t.Fatalf("ReadAt(32, 4000) = %d, %v", n, err)
	}
	if !bytes.Equal(at, data[4000:4032]) {
		t.Fatalf("ReadAt(4000) = %x, want %x", at, data[4000:4032])
	}
	if pos, _ := f.Seek(0, io.SeekCurrent); pos != 100 {
		t.Fatalf("offset after ReadAt = %d, want 100", pos)
	}
	// ReadAt across the end: short read and EOF.
	n, err := f.ReadAt(at, 4090)
	if n != 6 || err != io.EOF {
		t.Fatalf("ReadAt(32, 4090) = %d, %v; want 6, EOF", n, err)
	}
	if !bytes.Equal(at[:6], data[4090:]) {
		t.Fatalf("ReadAt(4090) = %x, want %x", at[:6], data[4090:])
	}
	// io.SectionReader on top of the file.
	sr := io.NewSectionReader(f, 1000, 50)
	got, err := io.ReadAll(sr)
	if err != nil || !bytes.Equal(got, data[1000:1050]) {
		t.Fatalf("SectionReader(1000, 50) = %x, %v", got, err)
	}
	// A seek before the start fails.
	if _, err := f.Seek(-1, io.SeekStart); err == nil {
		t.Fatalf("Seek(-1, Start) succeeded")
	}
}

func TestReadOnlyRefusesWrites(t *testing.T) {
	f := mustFromBytes(t, []byte("sealed"), "ro")
	if n, err := f.Write([]byte("x")); n != 0 || !errors.Is(err, syscall.EBADF) {
		t.Errorf("Write = %d, %v; want 0, EBADF", n, err)
	}
	if n, err := f.WriteAt([]byte("x"), 0); n != 0 || !errors.Is(err, syscall.EBADF) {
		t.Errorf("WriteAt = %d, %v; want 0, EBADF", n, err)
	}
	if err := f.Truncate(0); err == nil {
		t.Errorf("Truncate(0) succeeded on a read-only memory file")
	}
	got, err := io.ReadAll(f)
	if err != nil || string(got) != "sealed" {
		t.Fatalf("after refused writes: %q, %v", got, err)
	}
}

func TestWritable(t *testing.T) {
	f := mustFromBytesWritable(t, []byte("hello, world"), "rw")
	if n, err := f.WriteAt([]byte("HELLO"), 0); n != 5 || err != nil {
		t.Fatalf("WriteAt(HELLO, 0) = %d, %v", n, err)
	}
	if _, err := f.Seek(7, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if n, err := f.Write([]byte("WORLD")); n != 5 || err != nil {
		t.Fatalf("Write(WORLD) at 7 = %d, %v", n, err)
	}
	got := make([]byte, 12)
	if n, err := f.ReadAt(got, 0); n != 12 || err != nil {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	if string(got) != "HELLO, WORLD" {
		t.Fatalf("after in-place writes: %q, want %q", got, "HELLO, WORLD")
	}

	// The size is fixed: writes at or past the end and Truncate fail.
	if n, err := f.WriteAt([]byte("!"), 12); n != 0 || err == nil {
		t.Errorf("WriteAt at the end = %d, %v; want an error", n, err)
	}
	if _, err := f.WriteAt([]byte("!!!!"), 10); err == nil {
		t.Errorf("WriteAt across the end succeeded")
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	if n, err := f.Write([]byte("more")); n != 0 || err == nil {
		t.Errorf("Write at the end = %d, %v; want an error", n, err)
	}
	if err := f.Truncate(3); err == nil {
		t.Errorf("Truncate(3) succeeded on a fixed-size memory file")
	}
	if err := f.Truncate(100); err == nil {
		t.Errorf("Truncate(100) succeeded on a fixed-size memory file")
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != 12 {
		t.Fatalf("size after refused writes = %d, want 12", fi.Size())
	}
	if n, err := f.ReadAt(got[:10], 0); n != 10 || err != nil || string(got[:10]) != "HELLO, WOR" {
		t.Fatalf("the first 10 bytes changed: %q, %v", got[:n], err)
	}
}

func TestWritableDoesNotAlias(t *testing.T) {
	b := []byte("abc")
	f := mustFromBytesWritable(t, b, "")
	if _, err := f.WriteAt([]byte("X"), 0); err != nil {
		t.Fatal(err)
	}
	if string(b) != "abc" {
		t.Fatalf("writing the file changed the source slice: %q", b)
	}
}

func TestSync(t *testing.T) {
	f := mustFromBytesWritable(t, []byte("data"), "sync")
	if err := f.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

func TestClose(t *testing.T) {
	f, err := memfd.FromBytes([]byte("bye"), "close")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := f.Read(make([]byte, 1)); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Read after Close: %v, want os.ErrClosed", err)
	}
}

func TestManyFilesIndependent(t *testing.T) {
	var files []*os.File
	for i := 0; i < 8; i++ {
		files = append(files, mustFromBytes(t, []byte(strconv.Itoa(i)+strings.Repeat(".", i)), "f"+strconv.Itoa(i)))
	}
	for i, f := range files {
		got, err := io.ReadAll(f)
		if err != nil {
			t.Fatal(err)
		}
		if want := strconv.Itoa(i) + strings.Repeat(".", i); string(got) != want {
			t.Fatalf("file %d holds %q, want %q", i, got, want)
		}
	}
}

func TestNames(t *testing.T) {
	// Up to MaxNameLen bytes, any valid UTF-8 without NUL is accepted.
	for _, name := range []string{"", "a", "ünïcödé ✓", strings.Repeat("n", memfd.MaxNameLen)} {
		f, err := memfd.FromBytes([]byte("x"), name)
		if err != nil {
			t.Errorf("FromBytes with a %d-byte name: %v", len(name), err)
			continue
		}
		f.Close()
	}
}

func TestNameWithNUL(t *testing.T) {
	_, err := memfd.FromBytes([]byte("x"), "a\x00b")
	wantErrno(t, err, memfd.OpFromBytes, "a\x00b", syscall.EINVAL)
	_, err = memfd.FromBytesWritable([]byte("x"), "\x00")
	wantErrno(t, err, memfd.OpFromBytes, "\x00", syscall.EINVAL)
}

func TestNameNotUTF8(t *testing.T) {
	_, err := memfd.FromBytes([]byte("x"), "bad\xff")
	wantErrno(t, err, memfd.OpFromBytes, "bad\xff", syscall.EINVAL)
}

func TestNameTooLong(t *testing.T) {
	name := strings.Repeat("n", memfd.MaxNameLen+1)
	_, err := memfd.FromBytes([]byte("x"), name)
	wantErrno(t, err, memfd.OpFromBytes, name, syscall.ENAMETOOLONG)
	long := strings.Repeat("é", 200) // 400 bytes
	_, err = memfd.FromBytes(nil, long)
	wantErrno(t, err, memfd.OpFromBytes, long, syscall.ENAMETOOLONG)
}

func TestOpenPreopenedMissing(t *testing.T) {
	_, err := memfd.OpenPreopened("no-such-preopen")
	wantErrno(t, err, memfd.OpOpenPreopened, "no-such-preopen", syscall.ENOENT)
	_, err = memfd.OpenPreopened("")
	wantErrno(t, err, memfd.OpOpenPreopened, "", syscall.ENOENT)
}

// envInt reads a limit the test runner was started with; see
// tests/runner/go_guest.rs.
func envInt(t *testing.T, key string) int {
	t.Helper()
	v := os.Getenv(key)
	if v == "" {
		t.Skipf("%s is not set: run by tests/runner/go_guest.rs (it passes the matching runner flags)", key)
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", key, v, err)
	}
	return n
}

func TestOpenPreopened(t *testing.T) {
	name := os.Getenv("WASI_MEMFD_TEST_PREOPEN")
	if name == "" {
		t.Skip("WASI_MEMFD_TEST_PREOPEN is not set: run by tests/runner/go_guest.rs (it passes --preopen)")
	}
	a, err := memfd.OpenPreopened(name)
	if err != nil {
		t.Fatalf("OpenPreopened(%q): %v", name, err)
	}
	defer a.Close()
	b, err := memfd.OpenPreopened(name)
	if err != nil {
		t.Fatalf("second OpenPreopened(%q): %v", name, err)
	}
	defer b.Close()

	fi, err := a.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != int64(len(greeting)) || !fi.Mode().IsRegular() {
		t.Fatalf("Stat: size %d mode %v; want a regular file of %d bytes", fi.Size(), fi.Mode(), len(greeting))
	}
	// Each descriptor has its own offset.
	head := make([]byte, 5)
	if _, err := io.ReadFull(a, head); err != nil {
		t.Fatal(err)
	}
	all, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(all, greeting) {
		t.Fatalf("second descriptor read %q, want %q", all, greeting)
	}
	rest, err := io.ReadAll(a)
	if err != nil {
		t.Fatal(err)
	}
	if got := append(head, rest...); !bytes.Equal(got, greeting) {
		t.Fatalf("first descriptor read %q, want %q", got, greeting)
	}
}

func TestMaxFileSize(t *testing.T) {
	max := envInt(t, "WASI_MEMFD_TEST_MAX_FILE_SIZE")
	f, err := memfd.FromBytes(make([]byte, max), "at-limit")
	if err != nil {
		t.Fatalf("FromBytes of exactly the per-file limit (%d): %v", max, err)
	}
	f.Close()
	_, err = memfd.FromBytes(make([]byte, max+1), "over-limit")
	wantErrno(t, err, memfd.OpFromBytes, "over-limit", syscall.EFBIG)
	_, err = memfd.FromBytesWritable(make([]byte, max+1), "over-limit-rw")
	wantErrno(t, err, memfd.OpFromBytes, "over-limit-rw", syscall.EFBIG)
}

func TestMaxTotalSize(t *testing.T) {
	total := envInt(t, "WASI_MEMFD_TEST_MAX_TOTAL_SIZE")
	per := envInt(t, "WASI_MEMFD_TEST_MAX_FILE_SIZE")
	// Fill the quota exactly with files no larger than the per-file limit.
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for left := total; left > 0; {
		n := min(left, per)
		f, err := memfd.FromBytes(make([]byte, n), "quota")
		if err != nil {
			t.Fatalf("FromBytes(%d) with %d of %d quota bytes left: %v", n, left, total, err)
		}
		files = append(files, f)
		left -= n
	}
	_, err := memfd.FromBytes([]byte("1"), "over-quota")
	wantErrno(t, err, memfd.OpFromBytes, "over-quota", syscall.EDQUOT)
	// Closing a file gives its bytes back.
	last := files[len(files)-1]
	files = files[:len(files)-1]
	if err := last.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := memfd.FromBytes([]byte("1"), "after-close")
	if err != nil {
		t.Fatalf("FromBytes after closing a file: %v", err)
	}
	files = append(files, f)
}

func TestMaxFiles(t *testing.T) {
	max := envInt(t, "WASI_MEMFD_TEST_MAX_FILES")
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for i := 0; i < max; i++ {
		f, err := memfd.FromBytes([]byte{byte(i)}, "slot")
		if err != nil {
			t.Fatalf("FromBytes #%d of %d allowed: %v", i+1, max, err)
		}
		files = append(files, f)
	}
	_, err := memfd.FromBytes([]byte("x"), "one-too-many")
	wantErrno(t, err, memfd.OpFromBytes, "one-too-many", syscall.EMFILE)
	// Closing a file frees its slot.
	if err := files[0].Close(); err != nil {
		t.Fatal(err)
	}
	files = files[1:]
	f, err := memfd.FromBytes([]byte("x"), "after-close")
	if err != nil {
		t.Fatalf("FromBytes after closing a file: %v", err)
	}
	files = append(files, f)
}
