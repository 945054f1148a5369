//go:build wasip1

package memfd

import (
	"math"
	"runtime"
	"syscall"
	"unsafe"
)

// The core-module ABI of the wasi_memfd host module. Pointers and lengths are
// offsets into the guest's memory; the result is a WASI errno (0 = success)
// and the new descriptor is stored as a little-endian u32 at fdOut.

//go:wasmimport wasi_memfd from_bytes
//go:noescape
func wasiFromBytes(data unsafe.Pointer, dataLen uint32, name unsafe.Pointer, nameLen uint32, flags uint32, fdOut unsafe.Pointer) uint32

//go:wasmimport wasi_memfd open_preopened
//go:noescape
func wasiOpenPreopened(name unsafe.Pointer, nameLen uint32, fdOut unsafe.Pointer) uint32

// zeroByte gives empty slices and strings a valid address: nil would be
// offset 0, which a strict host might reject even for a length of 0.
var zeroByte byte

func bytesPtr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return unsafe.Pointer(&zeroByte)
	}
	return unsafe.Pointer(unsafe.SliceData(b))
}

func stringPtr(s string) unsafe.Pointer {
	if len(s) == 0 {
		return unsafe.Pointer(&zeroByte)
	}
	return unsafe.Pointer(unsafe.StringData(s))
}

func rawFromBytes(b []byte, name string, flags uint32) (uint32, error) {
	if uint64(len(b)) > math.MaxUint32 {
		return 0, syscall.EFBIG
	}
	if uint64(len(name)) > math.MaxUint32 {
		return 0, syscall.ENAMETOOLONG
	}
	var fd uint32
	errno := wasiFromBytes(bytesPtr(b), uint32(len(b)), stringPtr(name), uint32(len(name)), flags, unsafe.Pointer(&fd))
	runtime.KeepAlive(b)
	runtime.KeepAlive(name)
	return fd, errnoErr(errno)
}

func openPreopened(name string) (uint32, error) {
	if uint64(len(name)) > math.MaxUint32 {
		return 0, syscall.ENOENT
	}
	var fd uint32
	errno := wasiOpenPreopened(stringPtr(name), uint32(len(name)), unsafe.Pointer(&fd))
	runtime.KeepAlive(name)
	return fd, errnoErr(errno)
}
