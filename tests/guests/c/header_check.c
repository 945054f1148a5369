/*
 * Compile-only check of guest/c/wasi_memfd.h: valid C (C99 and later) and
 * C++ (C++11 and later), clean under -Wall -Wextra -Werror -pedantic, every
 * name it provides usable. tests/c_guest.rs compiles it with each standard,
 * and for the targets the header refuses (wasm64, wasm32-wasip2, non-wasm),
 * where the compile must fail with the header's #error.
 */
#include "wasi_memfd.h"

int wasi_memfd_header_check(const void *data, size_t len, const char *name);

int wasi_memfd_header_check(const void *data, size_t len, const char *name) {
    uint32_t fd = 0;
    int a = wasi_memfd_from_bytes(data, len, name, WASI_MEMFD_WRITABLE);
    int b = wasi_memfd_from_bytes_n(data, len, name, WASI_MEMFD_MAX_NAME_LEN, 0);
    int c = wasi_memfd_open_preopened(name);
    int d = wasi_memfd_open_preopened_n(name, len);
    int32_t e = wasi_memfd_raw_from_bytes(data, len, name, len, 0, &fd);
    int32_t f = wasi_memfd_raw_open_preopened(name, len, &fd);
    int errs[] = {WASI_MEMFD_EFAULT,  WASI_MEMFD_EINVAL, WASI_MEMFD_ENAMETOOLONG,
                  WASI_MEMFD_EFBIG,   WASI_MEMFD_EDQUOT, WASI_MEMFD_EMFILE,
                  WASI_MEMFD_ENOENT,  WASI_MEMFD_ENOMEM, WASI_MEMFD_ENOTSUP};
    return a + b + c + d + e + f + errs[fd % 9];
}
