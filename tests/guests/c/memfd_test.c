/*
 * C guest test for wasi-memfd: the fds from wasi_memfd.h behave as regular
 * files through wasi-libc (fstat, lseek, read, pread, stdio, fcntl, close),
 * writable ones are overwritten in place, and errors come back in errno.
 *
 * Build:  zig cc -target wasm32-wasi -O2 -I guest/c -o memfd_test.wasm \
 *             tests/guests/c/memfd_test.c
 * Run:    wasi-memfd run [flags] memfd_test.wasm MODE [ARGS]
 *
 * Modes:
 *   basic                          no runner flags needed
 *   preopen NAME EXPECTED          --preopen NAME=PATH, PATH holding EXPECTED
 *   limits FILES FILE_SIZE TOTAL [PREOPEN]
 *                                  --max-files FILES --max-file-size FILE_SIZE
 *                                  --max-total-size TOTAL [--preopen PREOPEN=PATH]
 *
 * Prints "ok: CHECK" per check; on the first failure prints "FAIL: ..." and
 * exits 1. Prints "N passed, 0 failed" at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

#include "wasi_memfd.h"

static int passed;

/* A failed check says the file and line, and stops the program. */
#define FAIL_WHERE() printf("%s:%d", __FILE__, __LINE__)
#define FAIL_THEN()     \
    do {                \
        fflush(stdout); \
        exit(1);        \
    } while (0)
#include "check.h"

#define CHECK FAIL_UNLESS
/* A call that must fail with -1 and the given errno. */
#define CHECK_ERRNO FAIL_UNLESS_ERRNO

static void ok(const char *what) {
    passed++;
    printf("ok: %s\n", what);
}

/* The raw WASIp1 view of a memory-file fd: a regular file whose rights are
 * read/seek/tell/filestat_get/advise, plus write when writable; not a
 * preopen. */
static void check_raw_wasi(int fd, int writable, __wasi_filesize_t size) {
    const __wasi_rights_t need = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK |
                                 __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_FILESTAT_GET |
                                 __WASI_RIGHTS_FD_ADVISE;
    __wasi_fdstat_t st;
    CHECK(__wasi_fd_fdstat_get(fd, &st) == 0, "fd_fdstat_get");
    CHECK(st.fs_filetype == __WASI_FILETYPE_REGULAR_FILE, "fs_filetype %u", st.fs_filetype);
    CHECK((st.fs_rights_base & need) == need, "fs_rights_base %#llx lacks %#llx",
          (unsigned long long)st.fs_rights_base, (unsigned long long)need);
    CHECK(!!(st.fs_rights_base & __WASI_RIGHTS_FD_WRITE) == writable,
          "fs_rights_base %#llx: write right %s", (unsigned long long)st.fs_rights_base,
          writable ? "missing" : "present on a read-only file");
    __wasi_filestat_t fs;
    CHECK(__wasi_fd_filestat_get(fd, &fs) == 0, "fd_filestat_get");
    CHECK(fs.filetype == __WASI_FILETYPE_REGULAR_FILE && fs.size == size,
          "filestat: filetype %u size %llu, want %u and %llu", fs.filetype,
          (unsigned long long)fs.size, __WASI_FILETYPE_REGULAR_FILE, (unsigned long long)size);
    __wasi_filesize_t pos = 1;
    CHECK(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos) == 0 && pos == 0, "fd_seek(0)");
    CHECK(__wasi_fd_tell(fd, &pos) == 0 && pos == 0, "fd_tell");
    __wasi_prestat_t pre;
    __wasi_errno_t e = __wasi_fd_prestat_get(fd, &pre);
    CHECK(e == __WASI_ERRNO_BADF, "fd_prestat_get returned %u, want EBADF", e);
}

static void test_basic(void) {
    enum { N = 70000 };
    static unsigned char data[N], buf[N];
    fill(data, N, 1);

    int fd = wasi_memfd_from_bytes(data, N, "c-basic", 0);
    CHECK(fd >= 0, "wasi_memfd_from_bytes");
    CHECK(fd > 2, "fd %d collides with stdio", fd);
    ok("from_bytes returns an fd");

    /* The bytes were copied: changing the source changes nothing. */
    unsigned char first = data[0];
    data[0] ^= 0xff;

    struct stat st;
    CHECK(fstat(fd, &st) == 0, "fstat");
    CHECK(S_ISREG(st.st_mode), "st_mode %o is not a regular file", (unsigned)st.st_mode);
    CHECK(st.st_size == N, "st_size %lld, want %d", (long long)st.st_size, N);
    ok("fstat: regular file of the right size");

    check_raw_wasi(fd, 0, N);
    ok("raw WASI: regular file, rights, fd_tell, fd_prestat_get EBADF");

    int fl = fcntl(fd, F_GETFL);
    CHECK(fl != -1, "fcntl(F_GETFL)");
    CHECK((fl & O_ACCMODE) == O_RDONLY, "F_GETFL %#x: access mode is not O_RDONLY", fl);
    ok("fcntl(F_GETFL) & O_ACCMODE == O_RDONLY");

    size_t got = 0;
    while (got < N) {
        ssize_t r = read(fd, buf + got, N - got);
        CHECK(r > 0, "read at %zu returned %zd", got, r);
        got += (size_t)r;
    }
    data[0] = first;
    CHECK(memcmp(buf, data, N) == 0, "read bytes differ from the source");
    CHECK(read(fd, buf, 1) == 0, "read at end is not EOF");
    ok("read: round trip, then EOF");

    CHECK(lseek(fd, 0, SEEK_END) == N, "lseek(0, SEEK_END)");
    CHECK(lseek(fd, 100, SEEK_SET) == 100, "lseek(100, SEEK_SET)");
    CHECK(read(fd, buf, 10) == 10 && memcmp(buf, data + 100, 10) == 0, "read after SEEK_SET");
    CHECK(lseek(fd, -20, SEEK_CUR) == 90, "lseek(-20, SEEK_CUR)");
    CHECK(read(fd, buf, 10) == 10 && memcmp(buf, data + 90, 10) == 0, "read after SEEK_CUR");
    CHECK(lseek(fd, -4, SEEK_END) == N - 4, "lseek(-4, SEEK_END)");
    CHECK(read(fd, buf, 100) == 4 && memcmp(buf, data + N - 4, 4) == 0, "short read at the end");
    CHECK(lseek(fd, 0, SEEK_CUR) == N, "lseek(0, SEEK_CUR) = size");
    CHECK_ERRNO(lseek(fd, -1, SEEK_SET), EINVAL);
    CHECK(lseek(fd, N + 100, SEEK_SET) == N + 100, "lseek past the end");
    CHECK(read(fd, buf, 10) == 0, "read past the end is not EOF");
    ok("lseek SEEK_SET/SEEK_CUR/SEEK_END, past the end");

    CHECK(lseek(fd, 5, SEEK_SET) == 5, "lseek(5)");
    CHECK(pread(fd, buf, 32, 60000) == 32 && memcmp(buf, data + 60000, 32) == 0, "pread(32, 60000)");
    CHECK(pread(fd, buf, 32, N - 8) == 8 && memcmp(buf, data + N - 8, 8) == 0, "pread across the end");
    CHECK(pread(fd, buf, 32, N) == 0, "pread at the end");
    CHECK(lseek(fd, 0, SEEK_CUR) == 5, "pread moved the offset");
    ok("pread leaves the offset alone");

    CHECK_ERRNO(write(fd, "x", 1), EBADF);
    CHECK_ERRNO(pwrite(fd, "x", 1, 0), EBADF);
    CHECK(ftruncate(fd, 0) == -1, "ftruncate on a sealed file succeeded");
    CHECK(fstat(fd, &st) == 0 && st.st_size == N, "size changed");
    CHECK(pread(fd, buf, 1, 0) == 1 && buf[0] == data[0], "first byte changed");
    ok("read-only: write/pwrite EBADF, ftruncate refused");

    CHECK(posix_fadvise(fd, 0, N, POSIX_FADV_SEQUENTIAL) == 0, "posix_fadvise");
    CHECK(fsync(fd) == 0, "fsync");
    ok("posix_fadvise, fsync");

    CHECK(close(fd) == 0, "close");
    CHECK_ERRNO(read(fd, buf, 1), EBADF);
    CHECK_ERRNO(fstat(fd, &st), EBADF);
    ok("close, then read and fstat fail with EBADF");
}

static void test_stdio(void) {
    const char text[] = "alpha 1\nbeta 22\ngamma 333\n";
    int fd = wasi_memfd_from_bytes(text, sizeof text - 1, "c-stdio", 0);
    CHECK(fd >= 0, "wasi_memfd_from_bytes");
    FILE *f = fdopen(fd, "r");
    CHECK(f != NULL, "fdopen(\"r\")");
    char word[16];
    int num, sum = 0, lines = 0;
    while (fscanf(f, "%15s %d", word, &num) == 2) {
        sum += num;
        lines++;
    }
    CHECK(lines == 3 && sum == 356, "fscanf read %d lines summing to %d", lines, sum);
    CHECK(feof(f) && !ferror(f), "stream state at end");
    rewind(f);
    char all[64];
    size_t n = fread(all, 1, sizeof all, f);
    CHECK(n == sizeof text - 1 && memcmp(all, text, n) == 0, "fread after rewind: %zu bytes", n);
    CHECK(fseek(f, 8, SEEK_SET) == 0 && ftell(f) == 8, "fseek/ftell");
    char line[32];
    CHECK(fgets(line, sizeof line, f) && strcmp(line, "beta 22\n") == 0, "fgets after fseek");
    CHECK(fclose(f) == 0, "fclose");
    ok("fdopen + fscanf/fread/fseek/fgets");

    /* An empty file, with a NULL data pointer and NULL name. */
    fd = wasi_memfd_from_bytes(NULL, 0, NULL, 0);
    CHECK(fd >= 0, "empty wasi_memfd_from_bytes");
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0, "empty file stat");
    char c;
    CHECK(read(fd, &c, 1) == 0, "read on an empty file");
    CHECK(close(fd) == 0, "close");
    ok("empty file");
}

static void test_writable(void) {
    char text[] = "hello, world";
    int fd = wasi_memfd_from_bytes(text, 12, "c-rw", WASI_MEMFD_WRITABLE);
    CHECK(fd >= 0, "wasi_memfd_from_bytes(WRITABLE)");
    check_raw_wasi(fd, 1, 12);
    int fl = fcntl(fd, F_GETFL);
    CHECK(fl != -1 && (fl & O_ACCMODE) == O_RDWR, "F_GETFL %#x: access mode is not O_RDWR", fl);
    ok("writable: write right, fcntl(F_GETFL) & O_ACCMODE == O_RDWR");

    CHECK(pwrite(fd, "HELLO", 5, 0) == 5, "pwrite(HELLO, 0)");
    CHECK(lseek(fd, 7, SEEK_SET) == 7, "lseek(7)");
    CHECK(write(fd, "WORLD", 5) == 5, "write(WORLD) at 7");
    CHECK(lseek(fd, 0, SEEK_CUR) == 12, "offset after write");
    char buf[32] = {0};
    CHECK(pread(fd, buf, sizeof buf, 0) == 12 && memcmp(buf, "HELLO, WORLD", 12) == 0,
          "contents after in-place writes: \"%.12s\"", buf);
    CHECK(strcmp(text, "hello, world") == 0, "writing the file changed the source buffer");
    ok("writable: write and pwrite in place");

    struct stat st;
    CHECK(lseek(fd, 0, SEEK_END) == 12, "lseek(0, SEEK_END)");
    CHECK(write(fd, "!", 1) == -1, "write at the end succeeded");
    CHECK(lseek(fd, 20, SEEK_SET) == 20, "lseek past the end");
    CHECK(write(fd, "!", 1) == -1, "write past the end succeeded");
    CHECK(pwrite(fd, "!", 1, 12) == -1, "pwrite at the end succeeded");
    CHECK(pwrite(fd, "!", 1, 1000) == -1, "pwrite past the end succeeded");
    /* Across the end: refused, or cut short at the end (bytes 10..11). */
    ssize_t r = pwrite(fd, "!!!!", 4, 10);
    CHECK(r == -1 || r == 2, "pwrite of 4 bytes 2 before the end returned %zd", r);
    CHECK(pread(fd, buf, 12, 0) == 12, "pread");
    CHECK(memcmp(buf + 10, r == 2 ? "!!" : "LD", 2) == 0,
          "pwrite across the end returned %zd, left \"%.12s\"", r, buf);
    CHECK(pwrite(fd, "LD", 2, 10) == 2, "pwrite(LD, 10)");
    CHECK(ftruncate(fd, 3) == -1, "ftruncate(3) succeeded");
    CHECK(ftruncate(fd, 100) == -1, "ftruncate(100) succeeded");
    CHECK(fstat(fd, &st) == 0 && st.st_size == 12, "size is %lld, want 12", (long long)st.st_size);
    CHECK(pread(fd, buf, 10, 0) == 10 && memcmp(buf, "HELLO, WOR", 10) == 0, "contents changed");
    ok("writable: fixed size, no writes past the end, no ftruncate");

    CHECK(fsync(fd) == 0, "fsync");
    CHECK(fdatasync(fd) == 0, "fdatasync");
    ok("writable: fsync, fdatasync");

    FILE *f = fdopen(fd, "r+");
    CHECK(f != NULL, "fdopen(\"r+\")");
    CHECK(fseek(f, 0, SEEK_SET) == 0, "fseek");
    CHECK(fputs("howdy", f) >= 0 && fflush(f) == 0, "fputs + fflush");
    CHECK(pread(fd, buf, 12, 0) == 12 && memcmp(buf, "howdy, WORLD", 12) == 0,
          "after fputs: \"%.12s\"", buf);
    CHECK(fclose(f) == 0, "fclose");
    ok("writable: fdopen(\"r+\") + fputs");
}

static void test_errors(void) {
    char name[WASI_MEMFD_MAX_NAME_LEN + 2];
    memset(name, 'n', sizeof name);
    name[WASI_MEMFD_MAX_NAME_LEN] = 0;
    int fd = wasi_memfd_from_bytes("x", 1, name, 0);
    CHECK(fd >= 0, "249-byte name refused");
    close(fd);
    name[WASI_MEMFD_MAX_NAME_LEN] = 'n';
    name[WASI_MEMFD_MAX_NAME_LEN + 1] = 0;
    CHECK_ERRNO(wasi_memfd_from_bytes("x", 1, name, 0), ENAMETOOLONG);
    ok("names: 249 bytes accepted, 250 ENAMETOOLONG");

    CHECK_ERRNO(wasi_memfd_from_bytes_n("x", 1, "a\0b", 3, 0), EINVAL);
    CHECK_ERRNO(wasi_memfd_from_bytes("x", 1, "bad\xff", 0), EINVAL);
    CHECK_ERRNO(wasi_memfd_from_bytes("x", 1, "flags", 2), EINVAL);
    CHECK_ERRNO(wasi_memfd_from_bytes("x", 1, "flags", 0x80000000u), EINVAL);
    ok("EINVAL: NUL in name, invalid UTF-8, unknown flag bits");

    /* Raw imports with ranges past the end of memory, and ones whose
     * offset + length wraps around 2^32. */
    uint32_t out = 0;
    const void *far = (const void *)0xfffffff0u;
    CHECK(wasi_memfd_raw_from_bytes(far, 0x10, "", 0, 0, &out) == WASI_MEMFD_EFAULT,
          "data range past the end of memory");
    CHECK(wasi_memfd_raw_from_bytes(far, 0x100, "", 0, 0, &out) == WASI_MEMFD_EFAULT,
          "data range wrapping around");
    CHECK(wasi_memfd_raw_from_bytes("x", 1, far, 0x10, 0, &out) == WASI_MEMFD_EFAULT,
          "name range past the end of memory");
    CHECK(wasi_memfd_raw_from_bytes("x", 1, "", 0, 0, (uint32_t *)far) == WASI_MEMFD_EFAULT,
          "fd_out past the end of memory");
    CHECK(wasi_memfd_raw_open_preopened(far, 0x100, &out) == WASI_MEMFD_EFAULT,
          "open_preopened name range wrapping around");
    ok("EFAULT for ranges outside memory");

    CHECK_ERRNO(wasi_memfd_open_preopened("no-such-preopen"), ENOENT);
    CHECK_ERRNO(wasi_memfd_open_preopened(""), ENOENT);
    ok("open_preopened of a missing name: ENOENT");
}

static void test_preopen(const char *name, const char *expected) {
    size_t n = strlen(expected);
    int a = wasi_memfd_open_preopened(name);
    CHECK(a >= 0, "open_preopened(%s)", name);
    int b = wasi_memfd_open_preopened(name);
    CHECK(b >= 0 && b != a, "second open_preopened(%s) gave %d (first %d)", name, b, a);
    struct stat st;
    CHECK(fstat(a, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == (off_t)n,
          "fstat: mode %o size %lld, want a regular file of %zu", (unsigned)st.st_mode,
          (long long)st.st_size, n);
    char buf[4096];
    CHECK(n < sizeof buf, "expected text too long");
    CHECK(read(a, buf, 3) == 3, "read 3 from the first fd");
    CHECK(read(b, buf, sizeof buf) == (ssize_t)n && memcmp(buf, expected, n) == 0,
          "second fd did not read the whole file from offset 0");
    CHECK(lseek(a, 0, SEEK_CUR) == 3, "first fd's offset moved");
    CHECK(pread(a, buf, sizeof buf, 0) == (ssize_t)n && memcmp(buf, expected, n) == 0, "pread");
    ok("preopen: contents, fstat, independent offsets");

    /* The runner attaches --preopen files as sealed copies: read-only. */
    CHECK_ERRNO(write(a, "x", 1), EBADF);
    CHECK_ERRNO(pwrite(b, "x", 1, 0), EBADF);
    int fl = fcntl(a, F_GETFL);
    CHECK(fl != -1 && (fl & O_ACCMODE) == O_RDONLY, "F_GETFL %#x: not O_RDONLY", fl);
    CHECK(close(a) == 0 && close(b) == 0, "close");
    CHECK_ERRNO(read(a, buf, 1), EBADF);
    ok("preopen: read-only (write EBADF, O_RDONLY), close");
}

/* With a preopen: open_preopened takes a --max-files slot but no quota bytes. */
static void test_limits_preopen(long files, long file_size, long total, const char *preopen) {
    int fds[1024];
    int nfds = 0;
    CHECK(files <= 1024, "--max-files too large for this test");
    char *big = calloc(1, (size_t)file_size);
    CHECK(big != NULL, "calloc");
    for (long left = total; left > 0 && nfds < files - 1;) {
        long n = left < file_size ? left : file_size;
        fds[nfds] = wasi_memfd_from_bytes(big, (size_t)n, "quota", 0);
        CHECK(fds[nfds] >= 0, "filling the quota: %ld bytes with %ld left", n, left);
        nfds++;
        left -= n;
    }
    free(big);
    int p = wasi_memfd_open_preopened(preopen);
    CHECK(p >= 0, "open_preopened(%s) with the quota full", preopen);
    ok("limits: a preopened file takes no quota bytes");
    while (nfds + 1 < files) {
        fds[nfds] = wasi_memfd_from_bytes(NULL, 0, "slot", 0);
        CHECK(fds[nfds] >= 0, "file %d of %ld allowed", nfds + 2, files);
        nfds++;
    }
    CHECK_ERRNO(wasi_memfd_from_bytes(NULL, 0, "one-too-many", 0), EMFILE);
    CHECK_ERRNO(wasi_memfd_open_preopened(preopen), EMFILE);
    CHECK(close(p) == 0, "close");
    p = wasi_memfd_open_preopened(preopen);
    CHECK(p >= 0, "open_preopened after closing one: slot not freed");
    close(p);
    while (nfds > 0)
        close(fds[--nfds]);
    ok("limits: open_preopened counts against --max-files");
}

static void test_limits(long files, long file_size, long total) {
    /* EFBIG: one byte over the per-file limit; the limit itself is fine. */
    char *big = calloc(1, (size_t)file_size + 1);
    CHECK(big != NULL, "calloc");
    int fd = wasi_memfd_from_bytes(big, (size_t)file_size, "at-limit", 0);
    CHECK(fd >= 0, "file of exactly --max-file-size refused");
    close(fd);
    CHECK_ERRNO(wasi_memfd_from_bytes(big, (size_t)file_size + 1, "over", 0), EFBIG);
    ok("EFBIG over --max-file-size");

    /* EDQUOT: fill the quota exactly, then one byte more. */
    int fds[1024];
    int nfds = 0;
    for (long left = total; left > 0;) {
        long n = left < file_size ? left : file_size;
        CHECK(nfds < 1024, "too many files for the quota");
        fds[nfds] = wasi_memfd_from_bytes(big, (size_t)n, "quota", 0);
        CHECK(fds[nfds] >= 0, "filling the quota: %ld bytes with %ld left", n, left);
        nfds++;
        left -= n;
    }
    CHECK_ERRNO(wasi_memfd_from_bytes("1", 1, "over-quota", 0), EDQUOT);
    CHECK(close(fds[--nfds]) == 0, "close");
    fd = wasi_memfd_from_bytes("1", 1, "after-close", 0);
    CHECK(fd >= 0, "closing a file did not give its bytes back");
    close(fd);
    while (nfds > 0)
        close(fds[--nfds]);
    ok("EDQUOT over --max-total-size; close gives bytes back");

    /* EMFILE: as many files as allowed, then one more. */
    CHECK(files <= 1024, "--max-files too large for this test");
    for (long i = 0; i < files; i++) {
        fds[nfds] = wasi_memfd_from_bytes("f", 1, "slot", 0);
        CHECK(fds[nfds] >= 0, "file %ld of %ld allowed", i + 1, files);
        nfds++;
    }
    CHECK_ERRNO(wasi_memfd_from_bytes("f", 1, "one-too-many", 0), EMFILE);
    CHECK_ERRNO(wasi_memfd_from_bytes("f", 1, "one-too-many", WASI_MEMFD_WRITABLE), EMFILE);
    CHECK(close(fds[0]) == 0, "close");
    fd = wasi_memfd_from_bytes("f", 1, "after-close", 0);
    CHECK(fd >= 0, "closing a file did not free its slot");
    close(fd);
    for (int i = 1; i < nfds; i++)
        close(fds[i]);
    ok("EMFILE over --max-files; close frees the slot");
    free(big);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "basic";
    if (strcmp(mode, "basic") == 0 && argc <= 2) {
        test_basic();
        test_stdio();
        test_writable();
        test_errors();
    } else if (strcmp(mode, "preopen") == 0 && argc == 4) {
        test_preopen(argv[2], argv[3]);
    } else if (strcmp(mode, "limits") == 0 && (argc == 5 || argc == 6)) {
        test_limits(atol(argv[2]), atol(argv[3]), atol(argv[4]));
        if (argc == 6)
            test_limits_preopen(atol(argv[2]), atol(argv[3]), atol(argv[4]), argv[5]);
    } else {
        fprintf(stderr, "usage: memfd_test [basic | preopen NAME EXPECTED | limits FILES FILE_SIZE TOTAL [PREOPEN]]\n");
        return 2;
    }
    printf("%d passed, 0 failed\n", passed);
    return 0;
}
