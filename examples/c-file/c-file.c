/*
 * c-file: hand a buffer to C code that only takes a FILE * or an fd.
 *
 * Much C code reads its input through stdio or needs a real file descriptor
 * (fstat for the size, pread for random access) and has no "from memory"
 * variant. With wasi-memfd the guest turns bytes it holds into such a file:
 *
 *   report_inventory(FILE *)  parses CSV lines with fgets + sscanf;
 *   tail_fd(int fd, n)        prints the last n lines, found with fstat and
 *                             pread backwards from the end.
 *
 * The bytes come from a path (read into memory with stdio through a --dir
 * preopen, as bytes received or built would be held), or from a file the host
 * attached (-preopen NAME with wasi-memfd run --preopen NAME=PATH):
 *
 *   wasi-memfd run --dir examples/c-file::/data c-file.wasm /data/inventory.csv
 *   wasi-memfd run --preopen inventory=examples/c-file/inventory.csv c-file.wasm -preopen inventory
 *
 * Build: zig cc -target wasm32-wasi -O2 -I guest/c -o c-file.wasm examples/c-file/c-file.c
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi_memfd.h"

/*
 * Reads "name,quantity,price" lines from f (skipping blank lines, '#'
 * comments and the header) and prints one line per item and the totals.
 * Knows nothing about memory buffers: it only takes a FILE *.
 * Returns 0, or -1 on a malformed line or a read error.
 */
static int report_inventory(FILE *f, FILE *out) {
    char line[256];
    int items = 0, lineno = 0;
    long units = 0, total_cents = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n' || strncmp(line, "name,", 5) == 0)
            continue;
        char name[64];
        long qty;
        double price;
        if (sscanf(line, "%63[^,],%ld,%lf", name, &qty, &price) != 3) {
            fprintf(stderr, "line %d: cannot parse: %s", lineno, line);
            return -1;
        }
        long cents = lround(price * 100.0);
        long value = qty * cents;
        fprintf(out, "  %-10s %5ld x %3ld.%02ld = %7ld.%02ld\n", name, qty, cents / 100,
                cents % 100, value / 100, value % 100);
        items++;
        units += qty;
        total_cents += value;
    }
    if (ferror(f)) {
        perror("fgets");
        return -1;
    }
    fprintf(out, "  %d items, %ld units, total value %ld.%02ld\n", items, units,
            total_cents / 100, total_cents % 100);
    return 0;
}

/*
 * Prints the last n lines of the file open at fd. Needs a real regular file:
 * fstat for its size, pread to read backwards from the end in small chunks
 * (so the file is never read whole). Returns 0, or -1 with errno set.
 */
static int tail_fd(int fd, int n, FILE *out) {
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        return -1;
    }
    off_t size = st.st_size, start = size;
    /* Ignore a final newline, then find the start of the n-th line from the end. */
    int newlines = 0;
    char chunk[16];
    off_t pos = size;
    if (pos > 0) {
        char last;
        if (pread(fd, &last, 1, pos - 1) != 1)
            return -1;
        if (last == '\n')
            pos--;
    }
    start = 0;
    while (pos > 0) {
        off_t want = pos < (off_t)sizeof chunk ? pos : (off_t)sizeof chunk;
        ssize_t got = pread(fd, chunk, (size_t)want, pos - want);
        if (got != want) {
            if (got >= 0)
                errno = EIO;
            return -1;
        }
        for (off_t i = want - 1; i >= 0; i--) {
            if (chunk[i] == '\n' && ++newlines == n) {
                start = pos - want + i + 1;
                goto found;
            }
        }
        pos -= want;
    }
found:
    fprintf(out, "  (%lld-byte file, last %d lines from offset %lld)\n", (long long)size, n,
            (long long)start);
    char buf[64];
    for (off_t at = start; at < size;) {
        ssize_t got = pread(fd, buf, sizeof buf, at);
        if (got <= 0) {
            if (got == 0)
                errno = EIO;
            return -1;
        }
        fwrite(buf, 1, (size_t)got, out);
        at += got;
    }
    return 0;
}

/* Reads a whole file into a malloc'd buffer: the bytes the guest holds. */
static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf)
            break;
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *bigger = realloc(buf, cap *= 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
        } else {
            buf = bigger;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (err || !buf) {
        free(buf);
        errno = err ? EIO : ENOMEM;
        return NULL;
    }
    *len = n;
    return buf;
}

/* Opens the input as a new memory-file fd: from the bytes of a path, or a
 * preopened file. */
static int open_input(int argc, char **argv, const char **label) {
    if (argc == 3 && strcmp(argv[1], "-preopen") == 0) {
        *label = argv[2];
        int fd = wasi_memfd_open_preopened(argv[2]);
        if (fd < 0)
            fprintf(stderr, "c-file: wasi_memfd_open_preopened(%s): %s\n", argv[2], strerror(errno));
        return fd;
    }
    static char *bytes;
    static size_t len;
    *label = argv[1];
    if (!bytes && !(bytes = slurp(argv[1], &len))) {
        fprintf(stderr, "c-file: %s: %s\n", argv[1], strerror(errno));
        return -1;
    }
    int fd = wasi_memfd_from_bytes(bytes, len, "inventory", 0);
    if (fd < 0)
        fprintf(stderr, "c-file: wasi_memfd_from_bytes: %s\n", strerror(errno));
    return fd;
}

int main(int argc, char **argv) {
    if (!(argc == 2 && argv[1][0] != '-') && !(argc == 3 && strcmp(argv[1], "-preopen") == 0)) {
        fprintf(stderr, "usage: c-file PATH | c-file -preopen NAME\n");
        return 2;
    }
    const char *label;

    int fd = open_input(argc, argv, &label);
    if (fd < 0)
        return 1;
    FILE *f = fdopen(fd, "r");
    if (!f) {
        perror("fdopen");
        return 1;
    }
    printf("inventory (through FILE *):\n");
    if (report_inventory(f, stdout) != 0)
        return 1;
    fclose(f);

    fd = open_input(argc, argv, &label);
    if (fd < 0)
        return 1;
    printf("tail -n 3 (through fstat + pread):\n");
    if (tail_fd(fd, 3, stdout) != 0) {
        perror("tail_fd");
        return 1;
    }
    close(fd);
    return 0;
}
