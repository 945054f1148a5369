/*
 * C guest test for memory directories: an unmodified POSIX program (no
 * wasi_memfd.h) working in a directory by path, through wasi-libc. Every
 * answer checked is the one wasmtime-wasi gives for a real directory on
 * Linux (`--dir HOST::GUEST`), so the same binary is run both ways: with
 * `--mem-dir GUEST` and with `--dir TMP::GUEST` on a fresh host directory
 * (the reference). The `limits` mode only makes sense for a memory
 * directory (a host directory has no such limits).
 *
 * Build:  bash scripts/guests.sh c-memdir-test
 * Run:    wasi-memfd run --mem-dir /mem memdir_test.wasm basic /mem
 *         wasi-memfd run --mem-dir tests/guests/memdir-tree::/mem \
 *             memdir_test.wasm preloaded /mem
 *         wasi-memfd run --mem-dir /mem --max-files 16 --max-total-size 64K \
 *             --max-file-size 16K memdir_test.wasm limits /mem 16 65536 16384
 *
 * Modes:
 *   basic DIR                 DIR is empty; every check cleans up after
 *                             itself, so DIR is empty again at the end
 *   preloaded DIR             DIR holds tests/guests/memdir-tree: checks its
 *                             names, bytes and links, changes and deletes
 *                             all of it, then leaves result/summary.txt and
 *                             the link result/latest -> summary.txt
 *   limits DIR FILES TOTAL FILE_SIZE
 *                             DIR is an empty memory directory with
 *                             --max-files FILES --max-total-size TOTAL
 *                             --max-file-size FILE_SIZE: ENOSPC, EDQUOT and
 *                             EFBIG at each limit, and deleting gives the
 *                             room back
 *
 * Prints "ok: CHECK" per passed check, "FAIL: CHECK: why" per failed one,
 * then "N passed, M failed"; exits 1 if any check failed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int passed, failed;
static const char *current; /* the check running */
static const char *root;    /* the directory under test */

/* A failed check says which check and line, and leaves the check. */
#define FAIL_WHERE() printf("%s: line %d", current, __LINE__)
#define FAIL_THEN() return 0
#include "check.h"

/* A condition the check needs; on failure prints why and leaves the check. */
#define ENSURE FAIL_UNLESS
/* A call that must fail with -1 and exactly errno `want`. */
#define ENSURE_ERRNO FAIL_UNLESS_ERRNO

/* A call that must succeed (not return -1). */
#define ENSURE_OK(expr) ENSURE((expr) != -1, "%s failed", #expr)

static void check(const char *name, int (*fn)(void)) {
    current = name;
    fflush(stdout);
    if (fn()) {
        passed++;
        printf("ok: %s\n", name);
    } else {
        failed++;
    }
    fflush(stdout);
}

/* root + "/" + the formatted name, in one of 16 rotating buffers. */
static const char *P(const char *fmt, ...) {
    static char bufs[16][600];
    static int next;
    char *b = bufs[next++ % 16];
    int n = snprintf(b, sizeof bufs[0], "%s/", root);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b + n, sizeof bufs[0] - (size_t)n, fmt, ap);
    va_end(ap);
    return b;
}

/* Writes all of `data` to a new file (O_CREAT|O_TRUNC); 0 or -1. */
static int put(const char *path, const void *data, size_t n) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return close(fd);
}

/* Reads the whole file into buf (at most cap bytes); the length or -1. */
static long slurp(const char *path, void *buf, size_t cap) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, (char *)buf + got, cap - got);
        if (r < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        if (r == 0 || got + (size_t)r == cap) {
            got += (size_t)r;
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    return (long)got;
}

static int64_t ns(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return ns(t);
}

/* The names in a directory other than . and .., counted; -1 on error. */
static int count_entries(const char *path) {
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* Removes a tree under path (best effort, for cleaning up after a check). */
static void rm_rf(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        char names[64][300];
        int n;
        /* Collect a batch, close, remove, repeat: no removal while reading. */
        do {
            n = 0;
            rewinddir(d);
            while (n < 64 && (e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                snprintf(names[n++], sizeof names[0], "%s", e->d_name);
            }
            for (int i = 0; i < n; i++) {
                char sub[900];
                snprintf(sub, sizeof sub, "%s/%s", path, names[i]);
                rm_rf(sub);
            }
        } while (n == 64);
        closedir(d);
    }
    rmdir(path);
}

/* Makes `path` holding the string `text`, then opens it with `flags`: the
 * fd, or -1 with errno set. How most checks of one file start. */
static int put_open(const char *path, const char *text, int flags) {
    if (put(path, text, strlen(text)) != 0)
        return -1;
    return open(path, flags);
}

/* Closes `fd`, then unlinks `path`, both checked; 1, or 0 if either failed.
 * How most checks of one file end: `return close_unlink(fd, f);`. */
static int close_unlink(int fd, const char *path) {
    ENSURE_OK(close(fd));
    ENSURE_OK(unlink(path));
    return 1;
}

/* Makes the directory `dir` holding `count` empty files with long names
 * (entry-with-a-rather-long-name-000, ...: a few fill a readdir buffer),
 * then opens it; NULL if a step failed. */
static DIR *open_entries(const char *dir, int count) {
    ENSURE_OK(mkdir(P("%s", dir), 0755));
    for (int i = 0; i < count; i++)
        ENSURE_OK(put(P("%s/entry-with-a-rather-long-name-%03d", dir, i), "", 0));
    return opendir(P("%s", dir));
}

/* A call on two names under root (`rename`, `link`) that must fail with
 * errno `want`. */
struct refusal {
    const char *from, *to;
    int want;
};

/* Each of the `n` calls op(from, to) must return -1 with its errno; 1, or 0
 * at the first that does not. */
static int all_refused(const char *what, int (*op)(const char *, const char *), const struct refusal *r,
                       size_t n) {
    for (size_t i = 0; i < n; i++) {
        errno = 0;
        int got = op(P("%s", r[i].from), P("%s", r[i].to));
        ENSURE(got == -1 && errno == r[i].want, "%s(%s, %s) returned %d, want -1 with errno %d (%s)", what,
               r[i].from, r[i].to, got, r[i].want, strerror(r[i].want));
    }
    return 1;
}

/* ------------------------------------------------------------------ basic */

static int c_empty_at_start(void) {
    struct stat st;
    ENSURE_OK(stat(root, &st));
    ENSURE(S_ISDIR(st.st_mode), "mode %o is not a directory", (unsigned)st.st_mode);
    ENSURE(count_entries(root) == 0, "%d entries in the fresh directory", count_entries(root));
    return 1;
}

static int c_create_flags(void) {
    const char *f = P("create");
    int fd = open(f, O_RDWR | O_CREAT | O_EXCL, 0644);
    ENSURE(fd >= 0, "open(O_CREAT|O_EXCL) of a new name");
    ENSURE(write(fd, "hello", 5) == 5, "write");
    ENSURE_OK(close(fd));
    ENSURE_ERRNO(open(f, O_RDWR | O_CREAT | O_EXCL, 0644), EEXIST);
    /* O_CREAT without O_EXCL opens the existing file, contents kept. */
    fd = open(f, O_RDWR | O_CREAT, 0644);
    ENSURE(fd >= 0, "open(O_CREAT) of an existing file");
    char buf[16] = {0};
    ENSURE(read(fd, buf, sizeof buf) == 5 && memcmp(buf, "hello", 5) == 0, "contents kept: %s", buf);
    ENSURE_OK(close(fd));
    /* O_TRUNC empties it. */
    fd = open(f, O_WRONLY | O_TRUNC);
    ENSURE(fd >= 0, "open(O_TRUNC)");
    struct stat st;
    ENSURE(fstat(fd, &st) == 0 && st.st_size == 0, "size %lld after O_TRUNC", (long long)st.st_size);
    ENSURE_OK(close(fd));
    ENSURE_ERRNO(open(P("missing"), O_RDONLY), ENOENT);
    ENSURE_ERRNO(open(P("missing"), O_WRONLY | O_TRUNC), ENOENT);
    ENSURE_ERRNO(open(P("nodir/new"), O_WRONLY | O_CREAT, 0644), ENOENT);
    ENSURE_OK(unlink(f));
    ENSURE_ERRNO(open(f, O_RDONLY), ENOENT);
    return 1;
}

static int c_read_write_seek(void) {
    enum { N = 5000 };
    static unsigned char data[N], buf[N + 100];
    fill(data, N, 7);
    const char *f = P("rw");
    int fd = open(f, O_RDWR | O_CREAT | O_TRUNC, 0644);
    ENSURE(fd >= 0, "open");
    ENSURE(write(fd, data, N) == N, "write %d", N);
    ENSURE(lseek(fd, 0, SEEK_CUR) == N, "offset after write");
    ENSURE(read(fd, buf, 10) == 0, "read at the end is not EOF");
    ENSURE(lseek(fd, 0, SEEK_SET) == 0, "lseek(0, SEEK_SET)");
    size_t got = 0;
    for (ssize_t r; (r = read(fd, buf + got, sizeof buf - got)) > 0;)
        got += (size_t)r;
    ENSURE(got == N && memcmp(buf, data, N) == 0, "read back %zu bytes", got);
    ENSURE(lseek(fd, -10, SEEK_END) == N - 10, "lseek(-10, SEEK_END)");
    ENSURE(read(fd, buf, 100) == 10 && memcmp(buf, data + N - 10, 10) == 0, "read the last 10");
    ENSURE(lseek(fd, -20, SEEK_CUR) == N - 20, "lseek(-20, SEEK_CUR)");
    ENSURE_ERRNO(lseek(fd, -1, SEEK_SET), EINVAL);
    ENSURE_ERRNO(lseek(fd, -(N + 1), SEEK_END), EINVAL);
    ENSURE(lseek(fd, 0, SEEK_CUR) == N - 20, "a failed lseek moved the offset");

    /* pread/pwrite leave the offset alone. */
    ENSURE(lseek(fd, 100, SEEK_SET) == 100, "lseek(100)");
    ENSURE(pread(fd, buf, 50, 1000) == 50 && memcmp(buf, data + 1000, 50) == 0, "pread(50, 1000)");
    ENSURE(pwrite(fd, "PWRITE", 6, 2000) == 6, "pwrite(6, 2000)");
    ENSURE(lseek(fd, 0, SEEK_CUR) == 100, "pread/pwrite moved the offset");
    ENSURE(pread(fd, buf, 6, 2000) == 6 && memcmp(buf, "PWRITE", 6) == 0, "pwrite not read back");
    ENSURE(pread(fd, buf, 100, N - 4) == 4, "pread across the end");
    ENSURE(pread(fd, buf, 10, N + 50) == 0, "pread past the end");

    /* Writing past the end leaves a hole of zeros. */
    ENSURE(lseek(fd, N + 100, SEEK_SET) == N + 100, "lseek past the end");
    ENSURE(write(fd, "END", 3) == 3, "write past the end");
    struct stat st;
    ENSURE(fstat(fd, &st) == 0 && st.st_size == N + 103, "size %lld, want %d", (long long)st.st_size, N + 103);
    ENSURE(pread(fd, buf, 103, N) == 103, "pread the hole");
    for (int i = 0; i < 100; i++)
        ENSURE(buf[i] == 0, "hole byte %d is %u", i, buf[i]);
    ENSURE(memcmp(buf + 100, "END", 3) == 0, "bytes after the hole");
    ENSURE(pwrite(fd, "far", 3, 3 * N) == 3, "pwrite past the end");
    ENSURE(fstat(fd, &st) == 0 && st.st_size == 3 * N + 3, "size %lld after pwrite past the end", (long long)st.st_size);
    return close_unlink(fd, f);
}

static int c_access_modes(void) {
    const char *f = P("modes");
    int ro = put_open(f, "0123456789", O_RDONLY);
    int wo = open(f, O_WRONLY);
    ENSURE(ro >= 0 && wo >= 0, "open O_RDONLY %d, O_WRONLY %d", ro, wo);
    char buf[16];
    ENSURE_ERRNO(write(ro, "x", 1), EBADF);
    ENSURE_ERRNO(pwrite(ro, "x", 1, 0), EBADF);
    ENSURE_ERRNO(read(wo, buf, 1), EBADF);
    ENSURE_ERRNO(pread(wo, buf, 1, 0), EBADF);
    /* Two descriptors on one file see each other's writes at once. */
    ENSURE(write(wo, "AB", 2) == 2, "write through O_WRONLY");
    ENSURE(read(ro, buf, 4) == 4 && memcmp(buf, "AB23", 4) == 0, "the other fd sees %.4s", buf);
    ENSURE((fcntl(ro, F_GETFL) & O_ACCMODE) == O_RDONLY, "F_GETFL of O_RDONLY");
    ENSURE((fcntl(wo, F_GETFL) & O_ACCMODE) == O_WRONLY, "F_GETFL of O_WRONLY");
    ENSURE_OK(close(ro));
    return close_unlink(wo, f);
}

static int c_append(void) {
    const char *f = P("append");
    int fd = put_open(f, "12345", O_RDWR | O_APPEND);
    ENSURE(fd >= 0, "put and open(O_APPEND)");
    ENSURE((fcntl(fd, F_GETFL) & O_APPEND) != 0, "F_GETFL lacks O_APPEND");
    ENSURE(lseek(fd, 0, SEEK_SET) == 0, "lseek(0)");
    ENSURE(write(fd, "ab", 2) == 2, "write");
    ENSURE(lseek(fd, 0, SEEK_CUR) == 7, "offset after an appending write: %lld", (long long)lseek(fd, 0, SEEK_CUR));
    /* As Linux: pwrite on an O_APPEND fd appends, and the offset stays. */
    ENSURE(pwrite(fd, "cd", 2, 0) == 2, "pwrite");
    ENSURE(lseek(fd, 0, SEEK_CUR) == 7, "pwrite moved the offset");
    char buf[16] = {0};
    ENSURE(pread(fd, buf, sizeof buf, 0) == 9 && memcmp(buf, "12345abcd", 9) == 0, "contents %s", buf);
    /* O_CREAT|O_APPEND on a new file. */
    int fd2 = open(P("append2"), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ENSURE(fd2 >= 0, "open(O_CREAT|O_APPEND)");
    ENSURE(write(fd2, "x", 1) == 1 && write(fd2, "y", 1) == 1, "writes");
    ENSURE_OK(close(fd2));
    ENSURE(slurp(P("append2"), buf, sizeof buf) == 2 && memcmp(buf, "xy", 2) == 0, "append2 holds %s", buf);
    ENSURE_OK(unlink(P("append2")));
    return close_unlink(fd, f);
}

static int c_stat_file(void) {
    const char *f = P("statme");
    ENSURE_OK(put(f, "twelve bytes", 12));
    struct stat a, b, c;
    ENSURE_OK(stat(f, &a));
    ENSURE_OK(lstat(f, &b));
    int fd = open(f, O_RDONLY);
    ENSURE(fd >= 0, "open");
    ENSURE_OK(fstat(fd, &c));
    ENSURE(S_ISREG(a.st_mode) && S_ISREG(b.st_mode) && S_ISREG(c.st_mode), "modes %o %o %o",
           (unsigned)a.st_mode, (unsigned)b.st_mode, (unsigned)c.st_mode);
    ENSURE(a.st_size == 12 && b.st_size == 12 && c.st_size == 12, "sizes %lld %lld %lld",
           (long long)a.st_size, (long long)b.st_size, (long long)c.st_size);
    ENSURE(a.st_nlink == 1 && c.st_nlink == 1, "nlink %llu %llu", (unsigned long long)a.st_nlink,
           (unsigned long long)c.st_nlink);
    ENSURE(a.st_ino != 0 && a.st_ino == b.st_ino && a.st_ino == c.st_ino, "inos %llu %llu %llu",
           (unsigned long long)a.st_ino, (unsigned long long)b.st_ino, (unsigned long long)c.st_ino);
    struct stat d;
    ENSURE_OK(stat(root, &d));
    ENSURE(a.st_dev == d.st_dev && c.st_dev == d.st_dev, "st_dev %llu %llu, directory's %llu",
           (unsigned long long)a.st_dev, (unsigned long long)c.st_dev, (unsigned long long)d.st_dev);
    ENSURE(a.st_ino != d.st_ino, "file and directory share inode %llu", (unsigned long long)a.st_ino);
    int64_t t = now_ns();
    ENSURE(ns(a.st_mtim) > t - 60 * 1000000000LL && ns(a.st_mtim) <= t + 1000000000LL,
           "mtime %lld is not about now (%lld)", (long long)ns(a.st_mtim), (long long)t);
    return close_unlink(fd, f);
}

static int c_times_move(void) {
    const char *f = P("times");
    int fd = put_open(f, "x", O_RDWR);
    ENSURE(fd >= 0, "put and open");
    const struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
    ENSURE_OK(futimens(fd, old));
    struct stat before, after;
    ENSURE_OK(fstat(fd, &before));
    ENSURE(ns(before.st_mtim) == 1000000000LL * 1000000000LL, "mtime %lld after futimens",
           (long long)ns(before.st_mtim));
    int64_t t0 = now_ns();
    ENSURE(write(fd, "more", 4) == 4, "write");
    ENSURE_OK(fstat(fd, &after));
    int64_t t1 = now_ns();
    /* Kernel file times are coarse (a clock tick): within a second of now. */
    ENSURE(ns(after.st_mtim) > t0 - 1000000000LL && ns(after.st_mtim) <= t1 + 1000000000LL,
           "mtime %lld after a write, now %lld", (long long)ns(after.st_mtim), (long long)t0);
    /* wasmtime-wasi reports the birth time as st_ctim: a write leaves it. */
    ENSURE(ns(after.st_ctim) == ns(before.st_ctim), "ctime moved from %lld to %lld",
           (long long)ns(before.st_ctim), (long long)ns(after.st_ctim));
    /* ftruncate moves mtime too. */
    ENSURE_OK(futimens(fd, old));
    ENSURE_OK(ftruncate(fd, 100));
    ENSURE_OK(fstat(fd, &after));
    ENSURE(ns(after.st_mtim) > t0 - 1000000000LL, "mtime %lld after ftruncate", (long long)ns(after.st_mtim));
    ENSURE_OK(close(fd));
    /* open(O_TRUNC) moves it. */
    ENSURE_OK(utimensat(AT_FDCWD, f, old, 0));
    fd = open(f, O_WRONLY | O_TRUNC);
    ENSURE(fd >= 0, "open(O_TRUNC)");
    ENSURE_OK(fstat(fd, &after));
    ENSURE(ns(after.st_mtim) > t0 - 1000000000LL, "mtime %lld after O_TRUNC", (long long)ns(after.st_mtim));
    return close_unlink(fd, f);
}

static int c_dir_times_move(void) {
    const char *d = P("dtimes");
    ENSURE_OK(mkdir(d, 0755));
    const struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
    int64_t t0 = now_ns();
    struct stat st;
    ENSURE_OK(utimensat(AT_FDCWD, d, old, 0));
    ENSURE_OK(put(P("dtimes/f"), "x", 1));
    ENSURE_OK(stat(d, &st));
    ENSURE(ns(st.st_mtim) > t0 - 1000000000LL, "directory mtime %lld after a create", (long long)ns(st.st_mtim));
    ENSURE_OK(utimensat(AT_FDCWD, d, old, 0));
    ENSURE_OK(rename(P("dtimes/f"), P("dtimes/g")));
    ENSURE_OK(stat(d, &st));
    ENSURE(ns(st.st_mtim) > t0 - 1000000000LL, "directory mtime %lld after a rename", (long long)ns(st.st_mtim));
    ENSURE_OK(utimensat(AT_FDCWD, d, old, 0));
    ENSURE_OK(unlink(P("dtimes/g")));
    ENSURE_OK(stat(d, &st));
    ENSURE(ns(st.st_mtim) > t0 - 1000000000LL, "directory mtime %lld after an unlink", (long long)ns(st.st_mtim));
    ENSURE_OK(rmdir(d));
    return 1;
}

static int c_set_times_exact(void) {
    const char *f = P("settimes");
    int fd = put_open(f, "abc", O_RDONLY); /* futimens works on a read-only fd too */
    ENSURE(fd >= 0, "put and open");
    struct timespec ts[2] = {{1234567890, 123456789}, {1500000000, 987654321}};
    ENSURE_OK(futimens(fd, ts));
    struct stat st;
    ENSURE_OK(fstat(fd, &st));
    ENSURE(st.st_atim.tv_sec == 1234567890 && st.st_atim.tv_nsec == 123456789, "atime %lld.%09ld",
           (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec);
    ENSURE(st.st_mtim.tv_sec == 1500000000 && st.st_mtim.tv_nsec == 987654321, "mtime %lld.%09ld",
           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    /* UTIME_OMIT keeps one; utimensat by path sets the other exactly. */
    struct timespec ts2[2] = {{0, UTIME_OMIT}, {1600000000, 5}};
    ENSURE_OK(utimensat(AT_FDCWD, f, ts2, 0));
    ENSURE_OK(stat(f, &st));
    ENSURE(st.st_atim.tv_sec == 1234567890 && st.st_atim.tv_nsec == 123456789, "UTIME_OMIT changed atime");
    ENSURE(st.st_mtim.tv_sec == 1600000000 && st.st_mtim.tv_nsec == 5, "mtime %lld.%09ld",
           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    /* UTIME_NOW: now. */
    int64_t t0 = now_ns();
    struct timespec ts3[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    ENSURE_OK(futimens(fd, ts3));
    int64_t t1 = now_ns();
    ENSURE_OK(fstat(fd, &st));
    ENSURE(ns(st.st_atim) >= t0 - 1000000000LL && ns(st.st_atim) <= t1 + 1000000000LL,
           "UTIME_NOW atime %lld, now %lld", (long long)ns(st.st_atim), (long long)t0);
    ENSURE(st.st_mtim.tv_sec == 1600000000, "UTIME_OMIT changed mtime");
    /* A symbolic link's own times, with AT_SYMLINK_NOFOLLOW. */
    ENSURE_OK(symlink("settimes", P("settimes-link")));
    struct timespec ts4[2] = {{1100000000, 1}, {1100000000, 2}};
    ENSURE_OK(utimensat(AT_FDCWD, P("settimes-link"), ts4, AT_SYMLINK_NOFOLLOW));
    struct stat ls;
    ENSURE_OK(lstat(P("settimes-link"), &ls));
    ENSURE(ls.st_mtim.tv_sec == 1100000000 && ls.st_mtim.tv_nsec == 2, "link mtime %lld.%09ld",
           (long long)ls.st_mtim.tv_sec, ls.st_mtim.tv_nsec);
    ENSURE_OK(stat(f, &st));
    ENSURE(st.st_mtim.tv_sec == 1600000000, "setting the link's times changed the file's");
    /* Following the link sets the target's. */
    ENSURE_OK(utimensat(AT_FDCWD, P("settimes-link"), ts, 0));
    ENSURE_OK(stat(f, &st));
    ENSURE(st.st_mtim.tv_sec == 1500000000 && st.st_mtim.tv_nsec == 987654321, "target mtime %lld.%09ld",
           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    /* A directory's. */
    ENSURE_OK(mkdir(P("settimes-dir"), 0755));
    ENSURE_OK(utimensat(AT_FDCWD, P("settimes-dir"), ts, 0));
    ENSURE_OK(stat(P("settimes-dir"), &st));
    ENSURE(st.st_mtim.tv_sec == 1500000000 && st.st_mtim.tv_nsec == 987654321, "directory mtime");
    ENSURE_OK(unlink(P("settimes-link")));
    ENSURE_OK(rmdir(P("settimes-dir")));
    return close_unlink(fd, f);
}

static int c_ftruncate(void) {
    const char *f = P("trunc");
    int fd = put_open(f, "0123456789", O_RDWR);
    ENSURE(fd >= 0, "put and open");
    ENSURE(lseek(fd, 4, SEEK_SET) == 4, "lseek");
    ENSURE_OK(ftruncate(fd, 10000));
    struct stat st;
    ENSURE(fstat(fd, &st) == 0 && st.st_size == 10000, "size %lld after growing", (long long)st.st_size);
    ENSURE(lseek(fd, 0, SEEK_CUR) == 4, "ftruncate moved the offset");
    static char buf[10000];
    ENSURE(pread(fd, buf, sizeof buf, 0) == 10000, "pread");
    ENSURE(memcmp(buf, "0123456789", 10) == 0, "old bytes changed");
    for (int i = 10; i < 10000; i++)
        ENSURE(buf[i] == 0, "grown byte %d is %d", i, buf[i]);
    ENSURE_OK(ftruncate(fd, 3));
    ENSURE(fstat(fd, &st) == 0 && st.st_size == 3, "size %lld after shrinking", (long long)st.st_size);
    ENSURE(read(fd, buf, 10) == 0, "read past the new end");
    ENSURE_OK(ftruncate(fd, 6));
    ENSURE(pread(fd, buf, 10, 0) == 6 && memcmp(buf, "012\0\0\0", 6) == 0, "shrink then grow: old bytes back");
    ENSURE_ERRNO(ftruncate(fd, -1), EINVAL);
    int ro = open(f, O_RDONLY);
    ENSURE(ro >= 0, "open O_RDONLY");
    ENSURE_ERRNO(ftruncate(ro, 0), EINVAL);
    ENSURE_OK(close(ro));
    return close_unlink(fd, f);
}

static int c_sync_fallocate(void) {
    const char *f = P("sync");
    int fd = put_open(f, "data", O_RDWR);
    int ro = open(f, O_RDONLY);
    ENSURE(fd >= 0 && ro >= 0, "put and open");
    ENSURE_OK(fsync(fd));
    ENSURE_OK(fdatasync(fd));
    ENSURE_OK(fsync(ro));
    ENSURE_OK(fdatasync(ro));
    /* wasmtime-wasi answers fd_allocate with ENOTSUP, always. */
    int r = posix_fallocate(fd, 0, 1000);
    ENSURE(r == ENOTSUP, "posix_fallocate returned %d (%s), want ENOTSUP", r, strerror(r));
    struct stat st;
    ENSURE(fstat(fd, &st) == 0 && st.st_size == 4, "posix_fallocate changed the size to %lld", (long long)st.st_size);
    ENSURE(posix_fadvise(fd, 0, 4, POSIX_FADV_SEQUENTIAL) == 0, "posix_fadvise");
    /* WASIp1 fd_sync/fd_datasync on a directory: EBADF (wasmtime-wasi). */
    int d = open(root, O_RDONLY | O_DIRECTORY);
    ENSURE(d >= 0, "open the directory");
    ENSURE_ERRNO(fsync(d), EBADF);
    ENSURE_ERRNO(fdatasync(d), EBADF);
    ENSURE_OK(close(d));
    ENSURE_OK(close(fd));
    return close_unlink(ro, f);
}

static int c_dirs_nlink(void) {
    struct stat st;
    ENSURE_OK(stat(root, &st));
    nlink_t base = st.st_nlink;
    ENSURE(base == 2, "an empty directory's nlink is %llu", (unsigned long long)base);
    ENSURE_OK(mkdir(P("top"), 0755));
    ENSURE_OK(stat(root, &st));
    ENSURE(st.st_nlink == base + 1, "nlink %llu after one mkdir", (unsigned long long)st.st_nlink);
    ENSURE_OK(stat(P("top"), &st));
    ENSURE(S_ISDIR(st.st_mode) && st.st_nlink == 2, "new directory: mode %o nlink %llu",
           (unsigned)st.st_mode, (unsigned long long)st.st_nlink);
    ENSURE_OK(mkdir(P("top/a"), 0755));
    ENSURE_OK(mkdir(P("top/b"), 0755));
    ENSURE_OK(put(P("top/file"), "f", 1));
    ENSURE_OK(stat(P("top"), &st));
    ENSURE(st.st_nlink == 4, "nlink %llu with two subdirectories and a file", (unsigned long long)st.st_nlink);
    ENSURE_OK(mkdir(P("top/a/deep"), 0755));
    ENSURE_OK(put(P("top/a/deep/leaf"), "leaf", 4));
    char buf[8];
    ENSURE(slurp(P("top/a/deep/leaf"), buf, sizeof buf) == 4, "read a nested file");
    /* `..` that stays inside, `.` and repeated slashes. */
    ENSURE(slurp(P("top/a/deep/../../file"), buf, sizeof buf) == 1 && buf[0] == 'f', "top/a/deep/../../file");
    ENSURE(slurp(P("top/./a//deep/./leaf"), buf, sizeof buf) == 4, "top/./a//deep/./leaf");
    ENSURE_OK(stat(P("top/a/.."), &st));
    ENSURE(S_ISDIR(st.st_mode) && st.st_nlink == 4, "stat top/a/..");
    ENSURE_ERRNO(rmdir(P("top")), ENOTEMPTY);
    ENSURE_ERRNO(rmdir(P("top/a")), ENOTEMPTY);
    ENSURE_ERRNO(mkdir(P("top/a"), 0755), EEXIST);
    ENSURE_ERRNO(mkdir(P("top/file"), 0755), EEXIST);
    ENSURE_ERRNO(mkdir(P("top/file/x"), 0755), ENOTDIR);
    ENSURE_ERRNO(mkdir(P("top/missing/x"), 0755), ENOENT);
    ENSURE_ERRNO(rmdir(P("top/file")), ENOTDIR);
    ENSURE_ERRNO(rmdir(P("top/missing")), ENOENT);
    ENSURE_OK(unlink(P("top/a/deep/leaf")));
    ENSURE_OK(rmdir(P("top/a/deep")));
    ENSURE_OK(rmdir(P("top/a")));
    ENSURE_OK(stat(P("top"), &st));
    ENSURE(st.st_nlink == 3, "nlink %llu after rmdir", (unsigned long long)st.st_nlink);
    ENSURE_OK(rmdir(P("top/b")));
    ENSURE_OK(unlink(P("top/file")));
    ENSURE_OK(rmdir(P("top")));
    ENSURE_ERRNO(stat(P("top"), &st), ENOENT);
    ENSURE_OK(stat(root, &st));
    ENSURE(st.st_nlink == base, "root nlink %llu at the end", (unsigned long long)st.st_nlink);
    return 1;
}

static int c_readdir(void) {
    ENSURE_OK(mkdir(P("list"), 0755));
    ENSURE_OK(put(P("list/file"), "12345", 5));
    ENSURE_OK(mkdir(P("list/sub"), 0755));
    ENSURE_OK(symlink("file", P("list/link")));
    ENSURE_OK(link(P("list/file"), P("list/hard")));
    DIR *d = opendir(P("list"));
    ENSURE(d != NULL, "opendir");
    struct stat dst;
    ENSURE_OK(fstat(dirfd(d), &dst));
    ENSURE(S_ISDIR(dst.st_mode), "fstat(dirfd) is not a directory");
    int seen = 0, n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        n++;
        struct stat st;
        if (strcmp(e->d_name, ".") == 0) {
            seen |= 1;
            ENSURE(e->d_type == DT_DIR, ". d_type %d", e->d_type);
            ENSURE(e->d_ino == dst.st_ino, ". d_ino %llu, directory st_ino %llu", (unsigned long long)e->d_ino,
                   (unsigned long long)dst.st_ino);
            continue;
        }
        if (strcmp(e->d_name, "..") == 0) {
            seen |= 2;
            ENSURE(e->d_type == DT_DIR, ".. d_type %d", e->d_type);
            /* wasmtime-wasi gives `..` the directory's own inode number. */
            ENSURE(e->d_ino == dst.st_ino, ".. d_ino %llu, directory st_ino %llu",
                   (unsigned long long)e->d_ino, (unsigned long long)dst.st_ino);
            continue;
        }
        ENSURE_OK(fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW));
        ENSURE(e->d_ino == st.st_ino, "%s: d_ino %llu, st_ino %llu", e->d_name, (unsigned long long)e->d_ino,
               (unsigned long long)st.st_ino);
        if (strcmp(e->d_name, "file") == 0) {
            seen |= 4;
            ENSURE(e->d_type == DT_REG, "file d_type %d", e->d_type);
        } else if (strcmp(e->d_name, "sub") == 0) {
            seen |= 8;
            ENSURE(e->d_type == DT_DIR, "sub d_type %d", e->d_type);
        } else if (strcmp(e->d_name, "link") == 0) {
            seen |= 16;
            ENSURE(e->d_type == DT_LNK, "link d_type %d", e->d_type);
        } else if (strcmp(e->d_name, "hard") == 0) {
            seen |= 32;
            ENSURE(e->d_type == DT_REG, "hard d_type %d", e->d_type);
            struct stat fst;
            ENSURE_OK(stat(P("list/file"), &fst));
            ENSURE(e->d_ino == fst.st_ino, "hard link d_ino %llu, file's %llu", (unsigned long long)e->d_ino,
                   (unsigned long long)fst.st_ino);
        } else {
            ENSURE(0, "unexpected entry %s", e->d_name);
        }
    }
    ENSURE(seen == 63 && n == 6, "saw %d entries, mask %#x", n, seen);
    ENSURE_OK(closedir(d));
    /* opendir of a file, of a missing name. */
    errno = 0;
    ENSURE(opendir(P("list/file")) == NULL && errno == ENOTDIR, "opendir(file): errno %d", errno);
    errno = 0;
    ENSURE(opendir(P("list/none")) == NULL && errno == ENOENT, "opendir(missing): errno %d", errno);
    /* opendir through a link to a directory, and with a trailing slash. */
    ENSURE_OK(symlink("sub", P("list/sublink")));
    d = opendir(P("list/sublink"));
    ENSURE(d != NULL, "opendir through a link");
    closedir(d);
    d = opendir(P("list/sub/"));
    ENSURE(d != NULL, "opendir(sub/)");
    closedir(d);
    rm_rf(P("list"));
    ENSURE(count_entries(root) == 0, "cleanup left %d entries", count_entries(root));
    return 1;
}

static int c_readdir_paging(void) {
    enum { COUNT = 200 };
    DIR *d = open_entries("many", COUNT);
    ENSURE(d != NULL, "make and opendir");
    static char names[COUNT + 2][64];
    static long pos[COUNT + 2];
    static unsigned char seen[COUNT];
    int n = 0;
    struct dirent *e;
    for (;;) {
        long here = telldir(d);
        e = readdir(d);
        if (!e)
            break;
        ENSURE(n < COUNT + 2, "more than %d entries", COUNT + 2);
        pos[n] = here;
        snprintf(names[n], sizeof names[0], "%s", e->d_name);
        int k;
        if (sscanf(e->d_name, "entry-with-a-rather-long-name-%d", &k) == 1) {
            ENSURE(k >= 0 && k < COUNT && !seen[k], "entry %s twice or out of range", e->d_name);
            seen[k] = 1;
        } else {
            ENSURE(strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0, "unexpected %s", e->d_name);
        }
        n++;
    }
    ENSURE(n == COUNT + 2, "%d entries, want %d", n, COUNT + 2);
    /* Back to saved positions: readdir resumes with the same entry. */
    int probes[] = {150, 0, 1, 2, 57, 199, COUNT + 1, 100};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        int at = probes[i];
        seekdir(d, pos[at]);
        e = readdir(d);
        ENSURE(e != NULL && strcmp(e->d_name, names[at]) == 0, "seekdir to entry %d gave %s, want %s", at,
               e ? e->d_name : "(end)", names[at]);
        if (at + 1 < n) {
            e = readdir(d);
            ENSURE(e != NULL && strcmp(e->d_name, names[at + 1]) == 0, "after entry %d: %s, want %s", at,
                   e ? e->d_name : "(end)", names[at + 1]);
        }
    }
    /* telldir after the last entry: readdir from there is the end. */
    seekdir(d, pos[n - 1]);
    ENSURE(readdir(d) != NULL, "readdir at the last entry");
    long end = telldir(d);
    ENSURE(readdir(d) == NULL, "readdir past the last entry");
    seekdir(d, end);
    ENSURE(readdir(d) == NULL, "seekdir to the end");
    rewinddir(d);
    int again = 0;
    while (readdir(d))
        again++;
    ENSURE(again == n, "after rewinddir: %d entries, want %d", again, n);
    ENSURE_OK(closedir(d));
    for (int i = 0; i < COUNT; i++)
        ENSURE_OK(unlink(P("many/entry-with-a-rather-long-name-%03d", i)));
    ENSURE_OK(rmdir(P("many")));
    return 1;
}

static int c_atime_on_read(void) {
    /* The kernel's relatime: a read moves atime when it is not newer than
     * mtime (wasmtime-wasi reports what the kernel keeps). */
    ENSURE_OK(put(P("atime"), "abc", 3));
    const struct timespec old[2] = {{1000000000, 0}, {1100000000, 0}};
    ENSURE_OK(utimensat(AT_FDCWD, P("atime"), old, 0));
    char buf[4];
    int64_t t0 = now_ns();
    ENSURE(slurp(P("atime"), buf, sizeof buf) == 3, "read");
    struct stat st;
    ENSURE_OK(stat(P("atime"), &st));
    ENSURE_OK(unlink(P("atime")));
    ENSURE(ns(st.st_atim) > t0 - 1000000000LL, "atime %lld.%09ld after a read, still the old value",
           (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec);
    ENSURE(st.st_mtim.tv_sec == 1100000000, "a read moved mtime");
    return 1;
}

static int c_readdir_while_unlinking(void) {
    /* wasmtime-wasi lists the directory afresh on every fd_readdir and
     * skips `cookie` entries of that listing, so a readdir()+unlink() pass
     * over more entries than one 4 KiB readdir buffer holds skips the ones
     * that moved into the removed entries' places: some are left. */
    enum { COUNT = 300 };
    DIR *d = open_entries("churn", COUNT);
    ENSURE(d != NULL, "make and opendir");
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        ENSURE_OK(unlinkat(dirfd(d), e->d_name, 0));
        removed++;
    }
    ENSURE_OK(closedir(d));
    int left = count_entries(P("churn"));
    rm_rf(P("churn"));
    ENSURE(removed + left == COUNT, "%d removed and %d left of %d", removed, left, COUNT);
    ENSURE(left > 0 && removed < COUNT, "one pass removed %d of %d, left %d: readdir resumed after the last name, "
           "not at the cookie's position in the directory as it is now", removed, COUNT, left);
    return 1;
}

static int c_unlink_open(void) {
    const char *f = P("unlinked");
    int fd = put_open(f, "still here", O_RDWR);
    ENSURE(fd >= 0, "put and open");
    ENSURE_OK(unlink(f));
    ENSURE_ERRNO(open(f, O_RDONLY), ENOENT);
    ENSURE_ERRNO(unlink(f), ENOENT);
    char buf[32] = {0};
    ENSURE(pread(fd, buf, sizeof buf, 0) == 10 && memcmp(buf, "still here", 10) == 0, "read after unlink: %s", buf);
    ENSURE(pwrite(fd, "!", 1, 10) == 1, "write after unlink");
    struct stat st;
    ENSURE_OK(fstat(fd, &st));
    ENSURE(st.st_nlink == 0 && st.st_size == 11, "after unlink: nlink %llu size %lld",
           (unsigned long long)st.st_nlink, (long long)st.st_size);
    ENSURE(count_entries(root) == 0, "the unlinked name is still listed");
    ENSURE_OK(close(fd));
    return 1;
}

static int c_rmdir_open(void) {
    ENSURE_OK(mkdir(P("gone"), 0755));
    DIR *d = opendir(P("gone"));
    ENSURE(d != NULL, "opendir");
    int dfd = dirfd(d);
    ENSURE_OK(rmdir(P("gone")));
    struct stat st;
    ENSURE_OK(fstat(dfd, &st));
    ENSURE(S_ISDIR(st.st_mode) && st.st_nlink == 0, "removed directory: nlink %llu", (unsigned long long)st.st_nlink);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        ENSURE(strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0, "entry %s in a removed dir", e->d_name);
        n++;
    }
    ENSURE(n == 2, "%d entries in a removed directory", n);
    ENSURE_ERRNO(openat(dfd, "x", O_WRONLY | O_CREAT, 0644), ENOENT);
    ENSURE_ERRNO(mkdirat(dfd, "x", 0755), ENOENT);
    ENSURE_OK(closedir(d));
    return 1;
}

static int c_type_errors(void) {
    ENSURE_OK(mkdir(P("adir"), 0755));
    ENSURE_OK(put(P("afile"), "abc", 3));
    ENSURE_ERRNO(open(P("adir"), O_WRONLY), EISDIR);
    ENSURE_ERRNO(open(P("adir"), O_RDWR), EISDIR);
    ENSURE_ERRNO(open(P("adir"), O_RDONLY | O_CREAT, 0644), EISDIR);
    ENSURE_ERRNO(open(P("adir"), O_RDONLY | O_TRUNC), EISDIR);
    ENSURE_ERRNO(open(P("afile"), O_RDONLY | O_DIRECTORY), ENOTDIR);
    ENSURE_ERRNO(open(P("afile/x"), O_RDONLY), ENOTDIR);
    ENSURE_ERRNO(open(P("afile/x"), O_WRONLY | O_CREAT, 0644), ENOTDIR);
    ENSURE_ERRNO(unlink(P("adir")), EISDIR);
    struct stat st;
    ENSURE_ERRNO(stat(P("afile/x"), &st), ENOTDIR);
    ENSURE_ERRNO(stat(P("nothing/x"), &st), ENOENT);
    ENSURE_ERRNO(stat(P("nothing"), &st), ENOENT);
    /* Reading a directory fd: EBADF in WASIp1 (wasmtime-wasi). */
    int d = open(P("adir"), O_RDONLY);
    ENSURE(d >= 0, "open a directory O_RDONLY");
    ENSURE_OK(fstat(d, &st));
    ENSURE(S_ISDIR(st.st_mode), "fstat of a directory fd: mode %o", (unsigned)st.st_mode);
    char c;
    ENSURE_ERRNO(read(d, &c, 1), EBADF);
    ENSURE_ERRNO(write(d, &c, 1), EBADF);
    ENSURE_ERRNO(lseek(d, 0, SEEK_SET), EBADF);
    ENSURE_ERRNO(ftruncate(d, 0), EBADF);
    ENSURE_OK(close(d));
    /* Names: 255 bytes is fine, 256 is ENAMETOOLONG. */
    char name[260];
    memset(name, 'n', 255);
    name[255] = 0;
    ENSURE_OK(put(P("%s", name), "x", 1));
    ENSURE_OK(unlink(P("%s", name)));
    name[255] = 'n';
    name[256] = 0;
    ENSURE_ERRNO(open(P("%s", name), O_WRONLY | O_CREAT, 0644), ENAMETOOLONG);
    ENSURE_ERRNO(mkdir(P("%s", name), 0755), ENAMETOOLONG);
    /* UTF-8 names. */
    const char *utf8 = P("h\xc3\xa9llo-\xe2\x9c\x93");
    ENSURE_OK(put(utf8, "u", 1));
    ENSURE_OK(stat(utf8, &st));
    ENSURE_OK(unlink(utf8));
    ENSURE_OK(unlink(P("afile")));
    ENSURE_OK(rmdir(P("adir")));
    return 1;
}

static int c_trailing_slashes(void) {
    ENSURE_OK(put(P("tf"), "abc", 3));
    ENSURE_OK(mkdir(P("td/"), 0755)); /* mkdir strips trailing slashes */
    struct stat st;
    ENSURE_ERRNO(open(P("tf/"), O_RDONLY), ENOTDIR);
    ENSURE_ERRNO(open(P("tf/"), O_WRONLY | O_CREAT, 0644), EISDIR);
    ENSURE_ERRNO(open(P("newname/"), O_WRONLY | O_CREAT, 0644), EISDIR);
    ENSURE_ERRNO(stat(P("tf/"), &st), ENOTDIR);
    /* wasmtime-wasi stats a one-name path without following by that name:
     * lstat("tf/") is the file. */
    ENSURE_OK(lstat(P("tf/"), &st));
    ENSURE(S_ISREG(st.st_mode) && st.st_size == 3, "lstat(tf/): mode %o", (unsigned)st.st_mode);
    ENSURE_ERRNO(unlink(P("tf/")), ENOTDIR);
    ENSURE_ERRNO(rmdir(P("tf/")), ENOTDIR);
    ENSURE_ERRNO(mkdir(P("tf/"), 0755), EEXIST);
    int fd = open(P("td/"), O_RDONLY);
    ENSURE(fd >= 0, "open(td/)");
    close(fd);
    ENSURE_OK(stat(P("td/"), &st));
    ENSURE(S_ISDIR(st.st_mode), "stat(td/)");
    ENSURE_ERRNO(unlink(P("td/")), EISDIR);
    /* rmdir("td/") becomes rmdir of "." inside td: EINVAL (wasmtime-wasi). */
    ENSURE_ERRNO(rmdir(P("td/")), EINVAL);
    ENSURE_ERRNO(rmdir(P("td/.")), EINVAL);
    /* rename strips them; a slash on either side needs a directory. */
    ENSURE_OK(rename(P("td/"), P("td2")));
    ENSURE_OK(rename(P("td2"), P("td/")));
    ENSURE_ERRNO(rename(P("tf/"), P("tf2")), ENOTDIR);
    ENSURE_ERRNO(rename(P("tf"), P("tf2/")), ENOTDIR);
    ENSURE_OK(stat(P("tf"), &st));
    ENSURE_OK(rmdir(P("td")));
    ENSURE_OK(unlink(P("tf")));
    return 1;
}

static int c_escape(void) {
    /* `..` above the directory, at any depth: EPERM (wasmtime-wasi's
     * "a path led outside of the filesystem"), never ENOTCAPABLE. */
    struct stat st;
    ENSURE_OK(mkdir(P("esc"), 0755));
    ENSURE_ERRNO(open(P(".."), O_RDONLY), EPERM);
    ENSURE_ERRNO(open(P("../x"), O_WRONLY | O_CREAT, 0644), EPERM);
    ENSURE_ERRNO(open(P("esc/../../x"), O_RDONLY), EPERM);
    ENSURE_ERRNO(stat(P(".."), &st), EPERM);
    ENSURE_ERRNO(stat(P("esc/../.."), &st), EPERM);
    ENSURE_ERRNO(mkdir(P("../x"), 0755), EPERM);
    ENSURE_ERRNO(unlink(P("../x")), EPERM);
    ENSURE_ERRNO(rename(P("esc"), P("../esc")), EPERM);
    ENSURE_ERRNO(opendir(P("..")) ? 0 : -1, EPERM);
    /* A link out of the directory is made, but never followed out. */
    ENSURE_OK(symlink("../..", P("esc/up")));
    ENSURE_OK(symlink("../outside", P("out1")));
    char buf[32] = {0};
    ENSURE(readlink(P("esc/up"), buf, sizeof buf) == 5 && memcmp(buf, "../..", 5) == 0, "readlink: %s", buf);
    ENSURE_OK(lstat(P("esc/up"), &st));
    ENSURE(S_ISLNK(st.st_mode) && st.st_size == 5, "lstat of the link: mode %o size %lld", (unsigned)st.st_mode,
           (long long)st.st_size);
    ENSURE_ERRNO(stat(P("esc/up"), &st), EPERM);
    ENSURE_ERRNO(open(P("esc/up"), O_RDONLY), EPERM);
    ENSURE_ERRNO(open(P("esc/up/x"), O_WRONLY | O_CREAT, 0644), EPERM);
    ENSURE_ERRNO(open(P("out1"), O_WRONLY | O_CREAT, 0644), EPERM);
    ENSURE_ERRNO(opendir(P("esc/up")) ? 0 : -1, EPERM);
    /* Absolute link targets are refused when made. */
    ENSURE_ERRNO(symlink("/etc/passwd", P("abs")), EPERM);
    ENSURE_ERRNO(symlink("/", P("abs")), EPERM);
    ENSURE_ERRNO(lstat(P("abs"), &st), ENOENT);
    ENSURE_OK(unlink(P("esc/up")));
    ENSURE_OK(unlink(P("out1")));
    ENSURE_OK(rmdir(P("esc")));
    return 1;
}

static int c_rename(void) {
    ENSURE_OK(put(P("r1"), "one", 3));
    struct stat a, b;
    ENSURE_OK(stat(P("r1"), &a));
    ENSURE_OK(rename(P("r1"), P("r2")));
    ENSURE_ERRNO(stat(P("r1"), &b), ENOENT);
    ENSURE_OK(stat(P("r2"), &b));
    ENSURE(a.st_ino == b.st_ino, "rename changed the inode number");
    /* Over an existing file: replaced; its open fd keeps the old bytes. */
    ENSURE_OK(put(P("r3"), "three", 5));
    int old = open(P("r3"), O_RDONLY);
    ENSURE(old >= 0, "open r3");
    ENSURE_OK(rename(P("r2"), P("r3")));
    char buf[16] = {0};
    ENSURE(slurp(P("r3"), buf, sizeof buf) == 3 && memcmp(buf, "one", 3) == 0, "r3 holds %s", buf);
    ENSURE(pread(old, buf, sizeof buf, 0) == 5 && memcmp(buf, "three", 5) == 0, "the replaced file's fd reads %s", buf);
    ENSURE_OK(fstat(old, &b));
    ENSURE(b.st_nlink == 0, "the replaced file's nlink is %llu", (unsigned long long)b.st_nlink);
    ENSURE_OK(close(old));
    /* To itself, and between two hard links of one file: nothing happens. */
    ENSURE_OK(rename(P("r3"), P("r3")));
    ENSURE_OK(link(P("r3"), P("r3-hard")));
    ENSURE_OK(rename(P("r3"), P("r3-hard")));
    ENSURE_OK(stat(P("r3"), &a));
    ENSURE_OK(stat(P("r3-hard"), &b));
    ENSURE(a.st_ino == b.st_ino && a.st_nlink == 2, "hard links after rename onto each other: nlink %llu",
           (unsigned long long)a.st_nlink);
    ENSURE_OK(unlink(P("r3-hard")));
    /* Directories. */
    ENSURE_OK(mkdir(P("rd"), 0755));
    ENSURE_OK(put(P("rd/inner"), "in", 2));
    ENSURE_OK(rename(P("rd"), P("rd2")));
    ENSURE(slurp(P("rd2/inner"), buf, sizeof buf) == 2, "the directory's file moved with it");
    ENSURE_OK(mkdir(P("empty"), 0755));
    ENSURE_OK(rename(P("rd2"), P("empty"))); /* over an empty directory */
    ENSURE_ERRNO(stat(P("rd2"), &a), ENOENT);
    ENSURE(slurp(P("empty/inner"), buf, sizeof buf) == 2, "empty/inner after replacing");
    ENSURE_OK(mkdir(P("full"), 0755));
    ENSURE_OK(put(P("full/x"), "x", 1));
    ENSURE_OK(mkdir(P("rd3"), 0755));
    /* Refused: each with its errno. */
    static const struct refusal refused[] = {
        {"rd3", "full", ENOTEMPTY}, /* a directory over a non-empty one */
        {"r3", "rd3", EISDIR}, /* a file over a directory */
        {"rd3", "r3", ENOTDIR}, /* a directory over a file */
        {"full", "full/sub", EINVAL}, /* a directory into itself */
        {"missing", "r4", ENOENT}, /* no such name */
        {"r3", "missing/r4", ENOENT}, /* into a missing directory */
        {"r3", "r3/x", ENOTDIR}, /* under a file */
    };
    if (!all_refused("rename", rename, refused, sizeof refused / sizeof refused[0]))
        return 0;
    /* A symbolic link is renamed itself, never followed. */
    ENSURE_OK(symlink("full", P("lnk")));
    ENSURE_OK(rename(P("lnk"), P("lnk2")));
    ENSURE_OK(lstat(P("lnk2"), &a));
    ENSURE(S_ISLNK(a.st_mode), "the renamed link is not a link");
    ENSURE_OK(rename(P("r3"), P("lnk2"))); /* a file over a link replaces the link */
    ENSURE_OK(lstat(P("lnk2"), &a));
    ENSURE(S_ISREG(a.st_mode), "the link was not replaced");
    ENSURE_OK(stat(P("full"), &a));
    ENSURE(S_ISDIR(a.st_mode), "the link's target changed");
    /* Renaming an open directory: its fd follows it. */
    int dfd = open(P("rd3"), O_RDONLY | O_DIRECTORY);
    ENSURE(dfd >= 0, "open rd3");
    ENSURE_OK(rename(P("rd3"), P("full/moved")));
    int f = openat(dfd, "made", O_WRONLY | O_CREAT, 0644);
    ENSURE(f >= 0, "openat in the moved directory");
    close(f);
    ENSURE_OK(stat(P("full/moved/made"), &a));
    ENSURE_OK(close(dfd));
    rm_rf(P("full"));
    rm_rf(P("empty"));
    ENSURE_OK(unlink(P("lnk2")));
    ENSURE(count_entries(root) == 0, "cleanup left %d entries", count_entries(root));
    return 1;
}

static int c_hard_links(void) {
    ENSURE_OK(put(P("h1"), "shared", 6));
    ENSURE_OK(link(P("h1"), P("h2")));
    ENSURE_OK(mkdir(P("hd"), 0755));
    ENSURE_OK(link(P("h1"), P("hd/h3")));
    struct stat a, b, c;
    ENSURE_OK(stat(P("h1"), &a));
    ENSURE_OK(stat(P("h2"), &b));
    ENSURE_OK(lstat(P("hd/h3"), &c));
    ENSURE(a.st_ino == b.st_ino && a.st_ino == c.st_ino, "inode numbers %llu %llu %llu",
           (unsigned long long)a.st_ino, (unsigned long long)b.st_ino, (unsigned long long)c.st_ino);
    ENSURE(a.st_dev == b.st_dev && a.st_dev == c.st_dev, "st_dev differs");
    ENSURE(a.st_nlink == 3 && b.st_nlink == 3 && c.st_nlink == 3, "nlink %llu %llu %llu",
           (unsigned long long)a.st_nlink, (unsigned long long)b.st_nlink, (unsigned long long)c.st_nlink);
    /* One file: a write through one name is read through the other. */
    int fd = open(P("h2"), O_WRONLY);
    ENSURE(fd >= 0, "open h2");
    ENSURE(pwrite(fd, "SH", 2, 0) == 2, "pwrite");
    ENSURE_OK(close(fd));
    char buf[16] = {0};
    ENSURE(slurp(P("hd/h3"), buf, sizeof buf) == 6 && memcmp(buf, "SHared", 6) == 0, "hd/h3 reads %s", buf);
    ENSURE_OK(unlink(P("h1")));
    ENSURE_OK(stat(P("h2"), &b));
    ENSURE(b.st_nlink == 2, "nlink %llu after one unlink", (unsigned long long)b.st_nlink);
    /* A hard link to a symbolic link is to the link itself. */
    ENSURE_OK(symlink("h2", P("sl")));
    ENSURE_OK(link(P("sl"), P("sl-hard")));
    ENSURE_OK(lstat(P("sl-hard"), &a));
    ENSURE(S_ISLNK(a.st_mode), "link(symlink) made mode %o", (unsigned)a.st_mode);
    ENSURE_OK(unlink(P("sl")));
    ENSURE_OK(unlink(P("sl-hard")));
    /* Refused: each with its errno. */
    static const struct refusal refused[] = {
        {"h2", "hd/h3", EEXIST}, /* onto an existing file */
        {"h2", "h2", EEXIST}, /* onto itself */
        {"h2", "hd", EEXIST}, /* onto a directory */
        {"hd", "hd-link", EPERM}, /* of a directory */
        {"nothing", "x", ENOENT}, /* of no such name */
        {"h2", "nodir/x", ENOENT}, /* into a missing directory */
        {"h2", "../x", EPERM}, /* out of the directory */
    };
    if (!all_refused("link", link, refused, sizeof refused / sizeof refused[0]))
        return 0;
    ENSURE_OK(unlink(P("h2")));
    ENSURE_OK(stat(P("hd/h3"), &c));
    ENSURE(c.st_nlink == 1, "nlink %llu of the last name", (unsigned long long)c.st_nlink);
    rm_rf(P("hd"));
    return 1;
}

static int c_symlinks(void) {
    ENSURE_OK(put(P("target"), "pointed at", 10));
    ENSURE_OK(mkdir(P("tdir"), 0755));
    ENSURE_OK(symlink("target", P("sym")));
    ENSURE_OK(symlink("tdir", P("symdir")));
    ENSURE_OK(symlink("nowhere", P("dangling")));
    char buf[64] = {0};
    ENSURE(readlink(P("sym"), buf, sizeof buf) == 6 && memcmp(buf, "target", 6) == 0, "readlink %s", buf);
    /* A short buffer gets the start of the target, not an error. */
    memset(buf, 0, sizeof buf);
    ENSURE(readlink(P("sym"), buf, 4) == 4 && memcmp(buf, "targ", 4) == 0, "readlink into 4 bytes: %s", buf);
    ENSURE_ERRNO(readlink(P("target"), buf, sizeof buf), EINVAL);
    ENSURE_ERRNO(readlink(P("tdir"), buf, sizeof buf), EINVAL);
    ENSURE_ERRNO(readlink(P("none"), buf, sizeof buf), ENOENT);
    struct stat st, tst;
    ENSURE_OK(lstat(P("sym"), &st));
    ENSURE(S_ISLNK(st.st_mode) && st.st_size == 6 && st.st_nlink == 1, "lstat: mode %o size %lld nlink %llu",
           (unsigned)st.st_mode, (long long)st.st_size, (unsigned long long)st.st_nlink);
    ENSURE_OK(stat(P("target"), &tst));
    ENSURE(st.st_ino != tst.st_ino, "the link and its target share an inode number");
    ENSURE_OK(stat(P("sym"), &st));
    ENSURE(S_ISREG(st.st_mode) && st.st_ino == tst.st_ino, "stat follows the link");
    ENSURE(slurp(P("sym"), buf, sizeof buf) == 10 && memcmp(buf, "pointed at", 10) == 0, "read through the link");
    ENSURE_ERRNO(open(P("sym"), O_RDONLY | O_NOFOLLOW), ELOOP);
    ENSURE_ERRNO(open(P("symdir"), O_RDONLY | O_NOFOLLOW | O_DIRECTORY), ELOOP);
    /* Through a link to a directory. */
    ENSURE_OK(put(P("symdir/inside"), "in", 2));
    ENSURE_OK(stat(P("tdir/inside"), &st));
    ENSURE_OK(stat(P("symdir"), &st));
    ENSURE(S_ISDIR(st.st_mode), "stat(symdir) is not a directory");
    ENSURE_OK(lstat(P("symdir/"), &st));
    /* A dangling link: lstat sees it, stat does not, O_CREAT makes the target. */
    ENSURE_ERRNO(stat(P("dangling"), &st), ENOENT);
    ENSURE_OK(lstat(P("dangling"), &st));
    ENSURE(S_ISLNK(st.st_mode), "lstat(dangling) mode %o", (unsigned)st.st_mode);
    ENSURE_ERRNO(open(P("dangling"), O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
    int fd = open(P("dangling"), O_WRONLY | O_CREAT, 0644);
    ENSURE(fd >= 0, "open(O_CREAT) through a dangling link");
    ENSURE(write(fd, "made", 4) == 4, "write");
    ENSURE_OK(close(fd));
    ENSURE(slurp(P("nowhere"), buf, sizeof buf) == 4, "the link's target was not made");
    /* Existing names. */
    ENSURE_ERRNO(symlink("x", P("target")), EEXIST);
    ENSURE_ERRNO(symlink("x", P("tdir")), EEXIST);
    ENSURE_ERRNO(symlink("x", P("sym")), EEXIST);
    ENSURE_ERRNO(symlink("x", P("nodir/x")), ENOENT);
    ENSURE_ERRNO(symlink("", P("empty-target")), ENOENT);
    /* Loops. */
    ENSURE_OK(symlink("loop-b", P("loop-a")));
    ENSURE_OK(symlink("loop-a", P("loop-b")));
    ENSURE_OK(symlink("self", P("self")));
    ENSURE_ERRNO(open(P("loop-a"), O_RDONLY), ELOOP);
    ENSURE_ERRNO(open(P("self"), O_RDONLY), ELOOP);
    ENSURE_ERRNO(stat(P("loop-a"), &st), ELOOP);
    ENSURE_ERRNO(open(P("loop-a/x"), O_WRONLY | O_CREAT, 0644), ELOOP);
    ENSURE_ERRNO(opendir(P("self")) ? 0 : -1, ELOOP);
    ENSURE_OK(lstat(P("self"), &st));
    /* A chain of 40 links resolves; 41 is ELOOP (Linux's limit). */
    ENSURE_OK(symlink("target", P("c0")));
    for (int i = 1; i <= 40; i++) {
        char prev[16];
        snprintf(prev, sizeof prev, "c%d", i - 1);
        ENSURE_OK(symlink(prev, P("c%d", i)));
    }
    ENSURE_OK(stat(P("c39"), &st));
    ENSURE(S_ISREG(st.st_mode), "c39 is not the file");
    ENSURE_ERRNO(stat(P("c40"), &st), ELOOP);
    for (int i = 0; i <= 40; i++)
        ENSURE_OK(unlink(P("c%d", i)));
    /* unlink removes the link, not its target. */
    ENSURE_OK(unlink(P("sym")));
    ENSURE_OK(stat(P("target"), &st));
    ENSURE_OK(unlink(P("symdir")));
    ENSURE_OK(stat(P("tdir/inside"), &st));
    ENSURE_ERRNO(rmdir(P("dangling")), ENOTDIR);
    const char *rm[] = {"dangling", "nowhere", "loop-a", "loop-b", "self", "target", "tdir/inside"};
    for (size_t i = 0; i < sizeof rm / sizeof rm[0]; i++)
        ENSURE_OK(unlink(P("%s", rm[i])));
    ENSURE_OK(rmdir(P("tdir")));
    return 1;
}

static int c_large_file(void) {
    enum { N = 3 << 20 };
    unsigned char *data = malloc(N), *buf = malloc(N);
    ENSURE(data && buf, "malloc");
    fill(data, N, 99);
    ENSURE_OK(put(P("large"), data, N));
    struct stat st;
    ENSURE(stat(P("large"), &st) == 0 && st.st_size == N, "size %lld", (long long)st.st_size);
    ENSURE(slurp(P("large"), buf, N) == N && memcmp(buf, data, N) == 0, "3 MiB read back");
    int fd = open(P("large"), O_RDONLY);
    ENSURE(fd >= 0, "open");
    size_t got = 0;
    while (got < 100000) {
        ssize_t r = pread(fd, buf + got, 100000 - got, N - 100000 + (off_t)got);
        ENSURE(r > 0, "pread at %zu", got);
        got += (size_t)r;
    }
    ENSURE(memcmp(buf, data + N - 100000, 100000) == 0, "the last 100000 bytes");
    free(data);
    free(buf);
    return close_unlink(fd, P("large"));
}

static int c_empty_at_end(void) {
    ENSURE(count_entries(root) == 0, "%d entries left", count_entries(root));
    return 1;
}

static void basic(void) {
    check("the directory is empty at start", c_empty_at_start);
    check("open: O_CREAT, O_EXCL (EEXIST), O_TRUNC, ENOENT", c_create_flags);
    check("read/write/lseek/pread/pwrite, holes past the end", c_read_write_seek);
    check("access modes: EBADF for write on O_RDONLY and read on O_WRONLY; shared bytes", c_access_modes);
    check("O_APPEND: writes and pwrite append, offset at the end", c_append);
    check("stat/lstat/fstat of a file: type, size, nlink, st_ino, st_dev, mtime", c_stat_file);
    check("mtime moves after write, ftruncate and O_TRUNC; ctime (birth) stays", c_times_move);
    check("a directory's mtime moves on create, rename and unlink", c_dir_times_move);
    check("futimens/utimensat: exact times, UTIME_OMIT, UTIME_NOW, links", c_set_times_exact);
    check("atime moves on a read (relatime, atime older than mtime)", c_atime_on_read);
    check("ftruncate grows with zeros and shrinks; EINVAL read-only or negative", c_ftruncate);
    check("fsync/fdatasync, posix_fallocate ENOTSUP, fsync of a directory EBADF", c_sync_fallocate);
    check("mkdir/rmdir: st_nlink 2 + subdirectories, ENOTEMPTY, EEXIST, ENOTDIR", c_dirs_nlink);
    check("opendir/readdir: . and .., d_type, d_ino == st_ino", c_readdir);
    check("readdir over 200 entries: telldir/seekdir/rewinddir", c_readdir_paging);
    check("readdir while unlinking: cookies are positions in the current listing", c_readdir_while_unlinking);
    check("unlink of an open file: fd still works, nlink 0", c_unlink_open);
    check("rmdir of an open directory: nlink 0, only . and .., no creation", c_rmdir_open);
    check("EISDIR/ENOTDIR/ENOENT, EBADF on directory fds, ENAMETOOLONG", c_type_errors);
    check("trailing slashes", c_trailing_slashes);
    check(".. above the directory and links out of it: EPERM", c_escape);
    check("rename of files and directories, replacing, errors", c_rename);
    check("link(): one inode, nlink, EEXIST, EPERM for a directory", c_hard_links);
    check("symlink/readlink, dangling links, ELOOP, 40-link chains", c_symlinks);
    check("a 3 MiB file round trip", c_large_file);
    check("the directory is empty at the end", c_empty_at_end);
}

/* ------------------------------------------------------------- preloaded */

/* tests/guests/memdir-tree, as the host gives it. */
static const char HELLO[] = "Hello from the host tree!\n";
static const char CSV[] = "n,square\n1,1\n2,4\n3,9\n";
static const char LEAF[] = "a leaf, three directories down\n";

static int p_listing(void) {
    DIR *d = opendir(root);
    ENSURE(d != NULL, "opendir");
    const char *want[] = {".", "..", "hello.txt", "data", "link-to-hello"};
    unsigned char types[] = {DT_DIR, DT_DIR, DT_REG, DT_DIR, DT_LNK};
    int seen = 0, n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        n++;
        int k = -1;
        for (int i = 0; i < 5; i++)
            if (strcmp(e->d_name, want[i]) == 0)
                k = i;
        ENSURE(k >= 0, "unexpected entry %s", e->d_name);
        ENSURE(e->d_type == types[k], "%s: d_type %d, want %d", e->d_name, e->d_type, types[k]);
        seen |= 1 << k;
    }
    closedir(d);
    ENSURE(n == 5 && seen == 31, "%d entries, mask %#x", n, seen);
    ENSURE(count_entries(P("data")) == 6, "data holds %d entries, want 6", count_entries(P("data")));
    return 1;
}

static int p_bytes(void) {
    char buf[256];
    ENSURE(slurp(P("hello.txt"), buf, sizeof buf) == (long)strlen(HELLO) && memcmp(buf, HELLO, strlen(HELLO)) == 0,
           "hello.txt");
    ENSURE(slurp(P("data/numbers.csv"), buf, sizeof buf) == (long)strlen(CSV) && memcmp(buf, CSV, strlen(CSV)) == 0,
           "data/numbers.csv");
    ENSURE(slurp(P("data/empty"), buf, sizeof buf) == 0, "data/empty");
    ENSURE(slurp(P("data/deep/deeper/leaf.txt"), buf, sizeof buf) == (long)strlen(LEAF) &&
               memcmp(buf, LEAF, strlen(LEAF)) == 0,
           "data/deep/deeper/leaf.txt");
    static unsigned char bin[1024];
    ENSURE(slurp(P("data/bytes.bin"), bin, sizeof bin) == 256, "data/bytes.bin size");
    for (int i = 0; i < 256; i++)
        ENSURE(bin[i] == i, "bytes.bin[%d] = %d", i, bin[i]);
    struct stat st;
    ENSURE_OK(stat(P("hello.txt"), &st));
    ENSURE(S_ISREG(st.st_mode) && st.st_size == (off_t)strlen(HELLO) && st.st_nlink == 1, "stat hello.txt");
    ENSURE_OK(stat(P("data"), &st));
    ENSURE(S_ISDIR(st.st_mode) && st.st_nlink == 3, "data: mode %o nlink %llu", (unsigned)st.st_mode,
           (unsigned long long)st.st_nlink);
    ENSURE_OK(stat(root, &st));
    ENSURE(st.st_nlink == 3, "root nlink %llu", (unsigned long long)st.st_nlink);
    return 1;
}

static int p_links(void) {
    char buf[256] = {0};
    ENSURE(readlink(P("link-to-hello"), buf, sizeof buf) == 9 && memcmp(buf, "hello.txt", 9) == 0,
           "readlink link-to-hello: %s", buf);
    memset(buf, 0, sizeof buf);
    ENSURE(readlink(P("data/up"), buf, sizeof buf) == 12 && memcmp(buf, "../hello.txt", 12) == 0,
           "readlink data/up: %s", buf);
    ENSURE(slurp(P("link-to-hello"), buf, sizeof buf) == (long)strlen(HELLO), "read through link-to-hello");
    ENSURE(slurp(P("data/up"), buf, sizeof buf) == (long)strlen(HELLO), "read through data/up");
    struct stat a, b;
    ENSURE_OK(lstat(P("link-to-hello"), &a));
    ENSURE(S_ISLNK(a.st_mode) && a.st_size == 9, "lstat link-to-hello");
    ENSURE_OK(stat(P("link-to-hello"), &a));
    ENSURE_OK(stat(P("hello.txt"), &b));
    ENSURE(a.st_ino == b.st_ino, "the link does not lead to hello.txt");
    /* An absolute target copied from the host: readlink and following it
     * are EPERM, lstat sees the link. */
    ENSURE_OK(lstat(P("data/abs"), &a));
    ENSURE(S_ISLNK(a.st_mode), "data/abs is not a link");
    ENSURE_ERRNO(readlink(P("data/abs"), buf, sizeof buf), EPERM);
    ENSURE_ERRNO(stat(P("data/abs"), &a), EPERM);
    ENSURE_ERRNO(open(P("data/abs"), O_RDONLY), EPERM);
    return 1;
}

static int p_change(void) {
    /* Write in place, append, truncate, grow. */
    int fd = open(P("hello.txt"), O_RDWR);
    ENSURE(fd >= 0, "open hello.txt O_RDWR");
    ENSURE(pwrite(fd, "HELLO", 5, 0) == 5, "pwrite");
    ENSURE_OK(close(fd));
    fd = open(P("data/numbers.csv"), O_WRONLY | O_APPEND);
    ENSURE(fd >= 0, "open numbers.csv O_APPEND");
    ENSURE(write(fd, "4,16\n", 5) == 5, "append");
    ENSURE_OK(close(fd));
    char buf[256] = {0};
    ENSURE(slurp(P("link-to-hello"), buf, sizeof buf) == (long)strlen(HELLO) && memcmp(buf, "HELLO from", 10) == 0,
           "the change is not seen through the link: %s", buf);
    ENSURE(slurp(P("data/numbers.csv"), buf, sizeof buf) == (long)strlen(CSV) + 5, "numbers.csv did not grow");
    fd = open(P("data/empty"), O_WRONLY | O_TRUNC);
    ENSURE(fd >= 0, "open data/empty");
    ENSURE(write(fd, "no longer", 9) == 9, "write");
    ENSURE_OK(close(fd));
    fd = open(P("data/deep/deeper/leaf.txt"), O_WRONLY | O_TRUNC);
    ENSURE(fd >= 0, "open leaf O_TRUNC");
    ENSURE_OK(close(fd));
    struct stat st;
    ENSURE(stat(P("data/deep/deeper/leaf.txt"), &st) == 0 && st.st_size == 0, "leaf not truncated");
    /* Rename, link and relink the preloaded nodes. */
    ENSURE_OK(rename(P("data/bytes.bin"), P("bytes.bin")));
    ENSURE_OK(link(P("bytes.bin"), P("data/bytes-again")));
    ENSURE_OK(stat(P("bytes.bin"), &st));
    ENSURE(st.st_nlink == 2, "nlink %llu", (unsigned long long)st.st_nlink);
    ENSURE_OK(rename(P("data/deep"), P("deep")));
    ENSURE_OK(stat(P("deep/deeper/leaf.txt"), &st));
    ENSURE_OK(unlink(P("link-to-hello")));
    ENSURE_OK(symlink("data/numbers.csv", P("link-to-hello")));
    ENSURE(slurp(P("link-to-hello"), buf, sizeof buf) == (long)strlen(CSV) + 5, "the new link");
    struct timespec ts[2] = {{1300000000, 1}, {1300000000, 2}};
    ENSURE_OK(utimensat(AT_FDCWD, P("hello.txt"), ts, 0));
    ENSURE(stat(P("hello.txt"), &st) == 0 && st.st_mtim.tv_sec == 1300000000 && st.st_mtim.tv_nsec == 2,
           "times of a preloaded file");
    return 1;
}

static int p_delete_all(void) {
    const char *files[] = {"hello.txt", "bytes.bin", "link-to-hello", "data/numbers.csv", "data/empty",
                           "data/bytes-again", "data/up", "data/abs", "deep/deeper/leaf.txt"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        ENSURE_OK(unlink(P("%s", files[i])));
    ENSURE_ERRNO(rmdir(P("deep")), ENOTEMPTY);
    ENSURE_OK(rmdir(P("deep/deeper")));
    ENSURE_OK(rmdir(P("deep")));
    ENSURE_OK(rmdir(P("data")));
    ENSURE(count_entries(root) == 0, "%d entries left", count_entries(root));
    struct stat st;
    ENSURE(stat(root, &st) == 0 && st.st_nlink == 2, "root nlink %llu", (unsigned long long)st.st_nlink);
    return 1;
}

static int p_leave_result(void) {
    ENSURE_OK(mkdir(P("result"), 0755));
    ENSURE_OK(put(P("result/summary.txt"), "preloaded tree changed and deleted\n", 35));
    ENSURE_OK(symlink("summary.txt", P("result/latest")));
    return 1;
}

static void preloaded(void) {
    check("preloaded: the listing (names and types)", p_listing);
    check("preloaded: file bytes, sizes, nlink", p_bytes);
    check("preloaded: symbolic links (relative, up, absolute EPERM)", p_links);
    check("preloaded: files written, appended, truncated, renamed, linked", p_change);
    check("preloaded: everything deleted", p_delete_all);
    check("preloaded: result/summary.txt and result/latest left for --mem-dir-out", p_leave_result);
}

/* ---------------------------------------------------------------- limits */

static long max_files, max_total, max_file_size;

static int l_file_size(void) {
    char *buf = calloc(1, (size_t)max_file_size + 1);
    ENSURE(buf != NULL, "calloc");
    const char *f = P("big");
    int fd = open(f, O_RDWR | O_CREAT | O_TRUNC, 0644);
    ENSURE(fd >= 0, "open");
    ENSURE(write(fd, buf, (size_t)max_file_size) == max_file_size, "write of exactly --max-file-size");
    ENSURE_ERRNO(write(fd, "x", 1), EFBIG);
    ENSURE_ERRNO(pwrite(fd, "x", 1, max_file_size), EFBIG);
    ENSURE_ERRNO(pwrite(fd, "x", 1, max_file_size * 4), EFBIG);
    ENSURE_ERRNO(ftruncate(fd, max_file_size + 1), EFBIG);
    struct stat st;
    ENSURE(fstat(fd, &st) == 0 && st.st_size == max_file_size, "size %lld after refusals", (long long)st.st_size);
    /* Shrunk, it grows again up to the limit. */
    ENSURE_OK(ftruncate(fd, 10));
    ENSURE(pwrite(fd, "y", 1, max_file_size - 1) == 1, "pwrite of the last byte allowed");
    free(buf);
    return close_unlink(fd, f);
}

static int l_total_size(void) {
    /* Files of half the per-file limit, so growing one is EDQUOT, never
     * EFBIG. */
    long half = max_file_size / 2;
    char *buf = calloc(1, (size_t)max_file_size);
    ENSURE(buf != NULL, "calloc");
    int n = 0;
    for (long left = max_total; left > 0; n++) {
        long k = left < half ? left : half;
        ENSURE(put(P("q%d", n), buf, (size_t)k) == 0, "filling the quota: file %d of %ld bytes, %ld left", n, k, left);
        left -= k;
    }
    ENSURE_ERRNO(put(P("over"), "x", 1), EDQUOT);
    ENSURE_OK(unlink(P("over")));
    int fd = open(P("q0"), O_WRONLY);
    ENSURE(fd >= 0, "open q0");
    ENSURE(lseek(fd, 0, SEEK_END) == half, "q0 holds %ld bytes", half);
    ENSURE_ERRNO(write(fd, "x", 1), EDQUOT);
    ENSURE_ERRNO(pwrite(fd, "x", 1, half + 100), EDQUOT);
    ENSURE_ERRNO(ftruncate(fd, half + 1), EDQUOT);
    struct stat st;
    ENSURE(fstat(fd, &st) == 0 && st.st_size == half, "size %lld after refusals", (long long)st.st_size);
    /* Shrinking a file gives bytes back, growing takes them again. */
    ENSURE_OK(ftruncate(fd, half - 10));
    ENSURE(pwrite(fd, "0123456789", 10, half - 10) == 10, "writing the freed 10 bytes");
    ENSURE_ERRNO(pwrite(fd, "x", 1, half), EDQUOT);
    /* An unlinked file keeps its bytes while open; closing frees them. */
    ENSURE_OK(unlink(P("q0")));
    ENSURE_ERRNO(put(P("over"), "x", 1), EDQUOT);
    ENSURE_OK(unlink(P("over")));
    ENSURE_OK(close(fd));
    ENSURE(put(P("over"), "x", 1) == 0, "closing the unlinked file gave no bytes back");
    ENSURE_OK(unlink(P("over")));
    /* A symbolic link's target takes bytes too. */
    ENSURE_OK(put(P("q0"), buf, (size_t)half));
    ENSURE_ERRNO(symlink("some-target", P("over-link")), EDQUOT);
    ENSURE_ERRNO(lstat(P("over-link"), &st), ENOENT);
    for (int i = 0; i < n; i++)
        ENSURE_OK(unlink(P("q%d", i)));
    ENSURE(put(P("after"), buf, (size_t)max_file_size) == 0, "deleting the files gave no bytes back");
    ENSURE_OK(symlink("some-target", P("after-link")));
    ENSURE_OK(unlink(P("after")));
    ENSURE_OK(unlink(P("after-link")));
    free(buf);
    return 1;
}

static int l_file_count(void) {
    /* Files, directories and symbolic links each take one of --max-files. */
    long made = 0;
    ENSURE_OK(mkdir(P("d0"), 0755));
    made++;
    ENSURE_OK(symlink("d0", P("s0")));
    made++;
    for (; made < max_files; made++)
        ENSURE(put(P("d0/f%ld", made), "", 0) == 0, "file %ld of %ld", made + 1, max_files);
    ENSURE_ERRNO(open(P("one-more"), O_WRONLY | O_CREAT, 0644), ENOSPC);
    ENSURE_ERRNO(mkdir(P("one-more-dir"), 0755), ENOSPC);
    ENSURE_ERRNO(symlink("d0", P("one-more-link")), ENOSPC);
    struct stat st;
    ENSURE_ERRNO(lstat(P("one-more"), &st), ENOENT);
    ENSURE_ERRNO(lstat(P("one-more-dir"), &st), ENOENT);
    /* Existing files still open (again and again), and grow. */
    int fds[4];
    for (int i = 0; i < 4; i++) {
        fds[i] = open(P("d0/f%d", 2 + i % 2), O_RDWR);
        ENSURE(fds[i] >= 0, "open of an existing file at the limit");
    }
    ENSURE(write(fds[0], "grow", 4) == 4, "write at the file limit");
    for (int i = 0; i < 4; i++)
        close(fds[i]);
    /* Deleting gives the room back: a file, then a directory. */
    ENSURE_OK(unlink(P("d0/f2")));
    int fd = open(P("one-more"), O_WRONLY | O_CREAT, 0644);
    ENSURE(fd >= 0, "open(O_CREAT) after an unlink");
    close(fd);
    ENSURE_ERRNO(mkdir(P("one-more-dir"), 0755), ENOSPC);
    ENSURE_OK(unlink(P("s0")));
    ENSURE_OK(mkdir(P("one-more-dir"), 0755));
    ENSURE_ERRNO(put(P("again"), "", 0), ENOSPC);
    ENSURE_OK(rmdir(P("one-more-dir")));
    ENSURE_OK(symlink("d0", P("one-more-link")));
    /* Clean up. */
    ENSURE_OK(unlink(P("one-more")));
    ENSURE_OK(unlink(P("one-more-link")));
    rm_rf(P("d0"));
    ENSURE(count_entries(root) == 0, "cleanup left %d entries", count_entries(root));
    /* All of it back. */
    for (made = 0; made < max_files; made++)
        ENSURE(put(P("g%ld", made), "", 0) == 0, "file %ld of %ld after cleanup", made + 1, max_files);
    ENSURE_ERRNO(put(P("g-over"), "", 0), ENOSPC);
    for (made = 0; made < max_files; made++)
        ENSURE_OK(unlink(P("g%ld", made)));
    return 1;
}

static void limits(void) {
    check("limits: EFBIG past --max-file-size (write, pwrite, ftruncate)", l_file_size);
    check("limits: EDQUOT past --max-total-size; shrink, unlink+close give bytes back", l_total_size);
    check("limits: ENOSPC past --max-files (files, dirs, links); deleting frees", l_file_count);
    check("the directory is empty at the end", c_empty_at_end);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (argc == 3 && strcmp(mode, "basic") == 0) {
        root = argv[2];
        basic();
    } else if (argc == 3 && strcmp(mode, "preloaded") == 0) {
        root = argv[2];
        preloaded();
    } else if (argc == 6 && strcmp(mode, "limits") == 0) {
        root = argv[2];
        max_files = atol(argv[3]);
        max_total = atol(argv[4]);
        max_file_size = atol(argv[5]);
        /* Room for the quota check's files (half the per-file limit each). */
        if (max_file_size < 64 || max_total < max_file_size ||
            max_files < max_total / (max_file_size / 2) + 4) {
            fprintf(stderr, "memdir_test: limits needs FILE_SIZE >= 64, TOTAL >= FILE_SIZE and "
                            "FILES >= TOTAL / (FILE_SIZE / 2) + 4\n");
            return 2;
        }
        limits();
    } else {
        fprintf(stderr, "usage: memdir_test basic DIR | preloaded DIR | limits DIR FILES TOTAL FILE_SIZE\n");
        return 2;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
