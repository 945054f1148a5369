//go:build !wasip1

package memfd_test

import (
	"errors"
	"os"
	"testing"

	"github.com/wasi-memfd/wasi-memfd/guest/go/memfd"
)

// Outside wasip1 every call fails with errors.ErrUnsupported.
func TestUnsupported(t *testing.T) {
	for _, call := range []func() (*os.File, error){
		func() (*os.File, error) { return memfd.FromBytes([]byte("x"), "n") },
		func() (*os.File, error) { return memfd.FromBytesWritable([]byte("x"), "n") },
		func() (*os.File, error) { return memfd.OpenPreopened("n") },
	} {
		f, err := call()
		if f != nil || !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("got %v, %v; want nil, ErrUnsupported", f, err)
		}
		var pe *os.PathError
		if !errors.As(err, &pe) || pe.Path != "n" {
			t.Errorf("error %v is not a *os.PathError for %q", err, "n")
		}
	}
}
