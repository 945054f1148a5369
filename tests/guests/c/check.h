/*
 * What the C test guests share (#include "check.h", found beside the
 * guest's own source): the check macros, and fill() for test bytes.
 * Before including it a guest defines
 *   FAIL_WHERE()  prints where a check failed (no newline), and
 *   FAIL_THEN()   what a failed check does next: leave the check
 *                 (`return 0`) or stop the program (`exit(1)`).
 */
#ifndef WASI_MEMFD_TESTS_CHECK_H
#define WASI_MEMFD_TESTS_CHECK_H

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A condition the check needs; on failure prints
 * "FAIL: WHERE: COND: why (errno N: text)", then FAIL_THEN(). */
#define FAIL_UNLESS(cond, ...)                                                 \
    do {                                                                       \
        if (!(cond)) {                                                         \
            int saved_errno_ = errno;                                          \
            printf("FAIL: ");                                                  \
            FAIL_WHERE();                                                      \
            printf(": %s: ", #cond);                                           \
            printf(__VA_ARGS__);                                               \
            printf(" (errno %d: %s)\n", saved_errno_, strerror(saved_errno_)); \
            FAIL_THEN();                                                       \
        }                                                                      \
    } while (0)

/* A call that must fail with -1 and exactly errno `want`; an `open...` that
 * succeeded instead has its fd closed. */
#define FAIL_UNLESS_ERRNO(expr, want)                                                  \
    do {                                                                               \
        errno = 0;                                                                     \
        long r_ = (long)(expr);                                                        \
        int e_ = errno;                                                                \
        if (!(r_ == -1 && e_ == (want))) {                                             \
            printf("FAIL: ");                                                          \
            FAIL_WHERE();                                                              \
            printf(": %s returned %ld with errno %d (%s), want -1 with errno %d (%s)\n", \
                   #expr, r_, e_, strerror(e_), (want), strerror(want));               \
            if (r_ >= 0 && strncmp(#expr, "open", 4) == 0)                              \
                close((int)r_);                                                        \
            FAIL_THEN();                                                               \
        }                                                                              \
    } while (0)

/* `n` bytes of a pattern that differs for each `seed` (xorshift). */
static inline void fill(unsigned char *b, size_t n, unsigned seed) {
    unsigned x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = (unsigned char)x;
    }
}

#endif
