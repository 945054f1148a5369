/*
 * wasi_memfd.h - wasi-memfd for C guests built against wasi-libc
 * (clang/zig cc --target=wasm32-wasi, wasi-sdk).
 *
 * Turns bytes in the guest's linear memory into a file descriptor: the host
 * copies them once into a sealed anonymous memory file (a Linux memfd) and
 * returns a new WASI fd. wasi-libc uses WASI fds as POSIX fds unchanged, so
 * the result works with read, pread, lseek, fstat, fcntl, fdopen + stdio and
 * close like any regular file.
 *
 *     #include "wasi_memfd.h"
 *
 *     int fd = wasi_memfd_from_bytes(buf, len, "input", 0);
 *     if (fd < 0) { perror("wasi_memfd_from_bytes"); return 1; }
 *     FILE *f = fdopen(fd, "r");
 *
 * Header only: include it and build with e.g.
 *     zig cc -target wasm32-wasi -O2 -I guest/c prog.c -o prog.wasm
 *     zig c++ -target wasm32-wasi -O2 -I guest/c prog.cpp -o prog.wasm
 * The imports are resolved by the host (the wasi-memfd runner) at
 * instantiation; no library needs to be linked. C99 or later, or C++ (the
 * declarations are extern "C"); clean under -Wall -Wextra -pedantic.
 *
 * Targets: 32-bit WebAssembly with the WASIp1 wasi-libc (wasm32-wasi,
 * wasm32-wasip1, wasm32-wasip1-threads), where the fds the imports return are
 * libc fds. Anything else is refused with #error: wasm64 (the imports take
 * 32-bit pointers and lengths), wasm32-wasip2 (a component: its libc's fds are
 * not WASIp1 fds, and it uses the WIT import wasi-memfd:memfd/memfd instead),
 * and non-WASI targets.
 *
 * Every name this header defines starts with wasi_memfd_ or WASI_MEMFD_.
 */
#ifndef WASI_MEMFD_H
#define WASI_MEMFD_H

#if !defined(__wasm__)
#error "wasi_memfd.h is for WebAssembly guests: build for wasm32-wasi (wasm32-wasip1)"
#elif defined(__wasm64__)
#error "wasi_memfd.h does not support wasm64: the wasi_memfd imports take 32-bit pointers and lengths; build for wasm32-wasi (wasm32-wasip1)"
#elif defined(__wasip2__) || defined(__wasilibc_use_wasip2)
#error "wasi_memfd.h does not support wasm32-wasip2: a component's libc does not use WASIp1 fds; import wasi-memfd:memfd/memfd (wit/memfd.wit) and call from-bytes instead, or build for wasm32-wasi (wasm32-wasip1)"
#elif !defined(__wasi__)
#error "wasi_memfd.h needs a WASI target (wasi-libc): build for wasm32-wasi (wasm32-wasip1)"
#endif

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* int from a host fd number, without an old-style cast in C++. */
#ifdef __cplusplus
#define WASI_MEMFD_TO_INT_(v) static_cast<int>(v)
#else
#define WASI_MEMFD_TO_INT_(v) ((int)(v))
#endif

/** Flag for wasi_memfd_from_bytes: the file may be overwritten in place.
 *  Its size stays fixed: writes at or past the end and ftruncate fail.
 *  Without it the file is read-only and sealed. No other bit is valid. */
#define WASI_MEMFD_WRITABLE 1u

/** Longest accepted name in bytes (the Linux memfd name limit less the
 *  "wasi-memfd:" prefix the host adds). */
#define WASI_MEMFD_MAX_NAME_LEN 249

/*
 * Error numbers returned by the raw imports, and stored in errno by the
 * helpers. They are WASI (preview 1) errno numbers; wasi-libc's errno values
 * are those same numbers, so `errno == EMFILE` etc. work directly (checked
 * below at compile time).
 */
/** The data or name range lies outside the guest's memory. */
#define WASI_MEMFD_EFAULT 21
/** Unknown flag bits, or the name holds NUL or is not valid UTF-8. */
#define WASI_MEMFD_EINVAL 28
/** The name is longer than WASI_MEMFD_MAX_NAME_LEN bytes. */
#define WASI_MEMFD_ENAMETOOLONG 37
/** The data is larger than the host's per-file limit (--max-file-size). */
#define WASI_MEMFD_EFBIG 22
/** The guest's memory files would exceed the host's byte quota (--max-total-size). */
#define WASI_MEMFD_EDQUOT 19
/** The guest would hold more memory files than allowed (--max-files). */
#define WASI_MEMFD_EMFILE 33
/** open_preopened: the host attached no file under that name. */
#define WASI_MEMFD_ENOENT 44
/** The host system could not make the file. */
#define WASI_MEMFD_ENOMEM 48
/** The host cannot make memory files. */
#define WASI_MEMFD_ENOTSUP 58

#if EFAULT != WASI_MEMFD_EFAULT || EINVAL != WASI_MEMFD_EINVAL ||             \
    ENAMETOOLONG != WASI_MEMFD_ENAMETOOLONG || EFBIG != WASI_MEMFD_EFBIG ||   \
    EDQUOT != WASI_MEMFD_EDQUOT || EMFILE != WASI_MEMFD_EMFILE ||             \
    ENOENT != WASI_MEMFD_ENOENT || ENOMEM != WASI_MEMFD_ENOMEM ||             \
    ENOTSUP != WASI_MEMFD_ENOTSUP
#error "wasi_memfd.h: this libc's errno values are not the WASI numbers; use the WASIp1 wasi-libc"
#endif

/**
 * Raw import: copies data[0..data_len) into a new memory file named by the
 * UTF-8 bytes name[0..name_len) (may be empty) and stores its fd at *fd_out.
 * Returns 0 or a WASI_MEMFD_E* number; on error nothing is created.
 */
__attribute__((import_module("wasi_memfd"), import_name("from_bytes")))
int32_t wasi_memfd_raw_from_bytes(const void *data, size_t data_len,
                                  const char *name, size_t name_len,
                                  uint32_t flags, uint32_t *fd_out);

/**
 * Raw import: opens a new fd, with its own offset, on the file the host
 * attached under the UTF-8 bytes name[0..name_len) (wasi-memfd run
 * --preopen NAME=PATH) and stores it at *fd_out. Returns 0 or a
 * WASI_MEMFD_E* number (WASI_MEMFD_ENOENT: no such file).
 */
__attribute__((import_module("wasi_memfd"), import_name("open_preopened")))
int32_t wasi_memfd_raw_open_preopened(const char *name, size_t name_len,
                                      uint32_t *fd_out);

/**
 * Like wasi_memfd_from_bytes, with the name given as name_len bytes (which
 * need not be NUL-terminated; a NUL among them is refused with EINVAL).
 */
static inline int wasi_memfd_from_bytes_n(const void *data, size_t len,
                                          const char *name, size_t name_len,
                                          uint32_t flags) {
    uint32_t fd = 0;
    int32_t err;
    /* NULL is address 0: pass a real (empty) address for empty buffers. */
    if (data == NULL && len == 0)
        data = "";
    if (name == NULL && name_len == 0)
        name = "";
    err = wasi_memfd_raw_from_bytes(data, len, name, name_len, flags, &fd);
    if (err != 0) {
        errno = err;
        return -1;
    }
    return WASI_MEMFD_TO_INT_(fd);
}

/**
 * Copies len bytes at data into a new memory file and returns a new fd open
 * for reading at offset 0 (and for in-place writing with
 * WASI_MEMFD_WRITABLE in flags), or -1 with errno set (EINVAL, ENAMETOOLONG,
 * EFBIG, EDQUOT, EMFILE, ENOMEM, ENOTSUP, EFAULT).
 *
 * name is a NUL-terminated label (shown by the host as
 * memfd:wasi-memfd:NAME); NULL means "". data may be NULL when len is 0.
 * Without WASI_MEMFD_WRITABLE the file is sealed: write() fails with EBADF.
 * close() the fd when done: that gives its bytes and slot back to the
 * host's limits.
 */
static inline int wasi_memfd_from_bytes(const void *data, size_t len,
                                        const char *name, uint32_t flags) {
    return wasi_memfd_from_bytes_n(data, len, name,
                                   name ? strlen(name) : 0, flags);
}

/** Like wasi_memfd_open_preopened, with the name given as name_len bytes. */
static inline int wasi_memfd_open_preopened_n(const char *name,
                                              size_t name_len) {
    uint32_t fd = 0;
    int32_t err;
    if (name == NULL && name_len == 0)
        name = "";
    err = wasi_memfd_raw_open_preopened(name, name_len, &fd);
    if (err != 0) {
        errno = err;
        return -1;
    }
    return WASI_MEMFD_TO_INT_(fd);
}

/**
 * Opens the file the host attached under the NUL-terminated name (wasi-memfd
 * run --preopen NAME=PATH). Returns a new fd with its own offset at 0, or -1
 * with errno set (ENOENT when nothing is attached under name).
 */
static inline int wasi_memfd_open_preopened(const char *name) {
    return wasi_memfd_open_preopened_n(name, name ? strlen(name) : 0);
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* WASI_MEMFD_H */
