//go:build !wasip1

package memfd

import "errors"

// Outside wasip1 there is no wasi_memfd host to call.

func rawFromBytes(b []byte, name string, flags uint32) (uint32, error) {
	return 0, errors.ErrUnsupported
}

func openPreopened(name string) (uint32, error) {
	return 0, errors.ErrUnsupported
}
