// Package memfd turns bytes in a WebAssembly guest's linear memory into a
// file descriptor, for Go programs built with GOOS=wasip1 GOARCH=wasm and run
// by a host that provides the wasi-memfd imports (such as the
// `wasi-memfd run` runner of this project).
//
// Much code only takes an *os.File, a file descriptor or an [io.ReaderAt]
// with a size: archive readers, parsers that stat and seek, libraries written
// against the file system. [FromBytes] hands such code a []byte as a real
// file: the host copies the bytes once into a sealed anonymous memory file
// (a Linux memfd) and returns a new WASI file descriptor, which this package
// wraps with [os.NewFile]. Stat reports a regular file of the right size;
// Read, ReadAt, Seek and Close work as on any file.
//
// [FromBytesWritable] makes a file that may be overwritten in place (its
// size is fixed), and [OpenPreopened] opens a file the host attached by name
// before the guest started (`wasi-memfd run --preopen NAME=PATH`).
//
// Failures are returned as *[os.PathError] whose Err is a [syscall.Errno],
// so they can be tested with [errors.Is]:
//
//	syscall.EINVAL        the name holds a NUL byte or is not valid UTF-8
//	syscall.ENAMETOOLONG  the name is longer than [MaxNameLen] bytes
//	syscall.EFBIG         the data is larger than the host's per-file limit
//	syscall.EDQUOT        the guest's memory files would exceed the host's byte quota
//	syscall.EMFILE        the guest would hold more memory files than the host allows
//	syscall.ENOENT        OpenPreopened: the host attached no file under that name
//	syscall.ENOMEM        the host system could not make the file
//	syscall.ENOTSUP       the host cannot make memory files
//
// On platforms other than wasip1 the functions exist (so that code using
// them type-checks everywhere) but always fail with [errors.ErrUnsupported].
//
// Import it as
//
//	import "github.com/wasi-memfd/wasi-memfd/guest/go/memfd"
//
// (module github.com/wasi-memfd/wasi-memfd/guest/go; see its README for the
// replace directive to use until the module is published).
package memfd

import (
	"os"
	"syscall"
)

// MaxNameLen is the longest name, in bytes, that [FromBytes] and
// [FromBytesWritable] accept (the Linux memfd name limit less the
// "wasi-memfd:" prefix the host adds).
const MaxNameLen = 249

// Op values of the *os.PathError returned by this package.
const (
	// OpFromBytes is the Op of errors from FromBytes and FromBytesWritable.
	OpFromBytes = "memfd_from_bytes"
	// OpOpenPreopened is the Op of errors from OpenPreopened.
	OpOpenPreopened = "memfd_open_preopened"
)

// flagWritable is bit 0 of the from_bytes flags: in-place writes allowed.
const flagWritable = 1

// FromBytes copies b into a new read-only memory file and returns it open for
// reading at offset 0.
//
// name labels the file for debugging (the host shows it as
// memfd:wasi-memfd:NAME in /proc/PID/fd) and is also the returned file's
// Name; it may be empty. The file is sealed: neither the guest nor the host
// can change it afterwards, and changing b afterwards does not change it.
// Writes to the file fail with syscall.EBADF.
//
// The caller must Close the file to give its bytes and its slot back to the
// host's limits (see the package documentation for the errors).
func FromBytes(b []byte, name string) (*os.File, error) {
	return fromBytes(b, name, 0)
}

// FromBytesWritable is like [FromBytes], but the file is also open for
// writing: bytes may be overwritten in place with Write or WriteAt. Its size
// is fixed at len(b): writes past the end and Truncate fail.
func FromBytesWritable(b []byte, name string) (*os.File, error) {
	return fromBytes(b, name, flagWritable)
}

// OpenPreopened opens the file the host attached under name before the guest
// started (for the wasi-memfd runner: `--preopen NAME=PATH`). Each call
// returns a new descriptor with its own offset, starting at 0. It fails with
// syscall.ENOENT when the host attached no file under that name.
func OpenPreopened(name string) (*os.File, error) {
	fd, err := openPreopened(name)
	if err != nil {
		return nil, &os.PathError{Op: OpOpenPreopened, Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}

func fromBytes(b []byte, name string, flags uint32) (*os.File, error) {
	fd, err := rawFromBytes(b, name, flags)
	if err != nil {
		return nil, &os.PathError{Op: OpFromBytes, Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}

// errnoErr converts a wasi_memfd result to an error: nil for 0, else the
// syscall.Errno of the same WASI number.
func errnoErr(errno uint32) error {
	if errno == 0 {
		return nil
	}
	return syscall.Errno(errno)
}
