/*
 * c-memdir: a plain POSIX C program (no wasi-memfd header) that counts the
 * lines, words and bytes of every file under an input directory, writes
 * the table into a summary file in an output directory, and prints that
 * file. Nothing in it knows about memory directories: run it with
 * `--mem-dir` and every path it opens is served from memory.
 *
 *   c-memdir IN OUT     reads IN (recursively), writes OUT/summary.txt
 *
 * Build and run it with `bash examples/run.sh c-memdir`.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct count {
    char path[512]; /* relative to IN */
    long lines, words, bytes;
};

static struct count *counts;
static size_t ncounts, cap;

static int fail(const char *what, const char *path) {
    fprintf(stderr, "c-memdir: %s %s: %s\n", what, path, strerror(errno));
    return -1;
}

/* wc's rules: a line is a '\n', a word a run of non-space bytes. */
static int count_file(const char *full, const char *rel) {
    FILE *f = fopen(full, "rb");
    if (!f)
        return fail("opening", full);
    struct count c = {.lines = 0};
    snprintf(c.path, sizeof c.path, "%s", rel);
    int ch, in_word = 0;
    while ((ch = getc(f)) != EOF) {
        c.bytes++;
        if (ch == '\n')
            c.lines++;
        int space = ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
        if (!space && !in_word)
            c.words++;
        in_word = !space;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return fail("reading", full);
    if (ncounts == cap) {
        cap = cap ? cap * 2 : 16;
        counts = realloc(counts, cap * sizeof *counts);
        if (!counts)
            return fail("allocating for", full);
    }
    counts[ncounts++] = c;
    return 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file under dir, in name order, depth first. */
static int walk(const char *dir, const char *rel) {
    DIR *d = opendir(dir);
    if (!d)
        return fail("listing", dir);
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        names = realloc(names, (n + 1) * sizeof *names);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char full[1024], sub[512];
        snprintf(full, sizeof full, "%s/%s", dir, names[i]);
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", names[i]);
        struct stat st;
        if (stat(full, &st) != 0)
            rc = fail("stat of", full);
        else if (S_ISDIR(st.st_mode))
            rc = walk(full, sub);
        else if (S_ISREG(st.st_mode))
            rc = count_file(full, sub);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: c-memdir IN OUT\n");
        return 2;
    }
    if (walk(argv[1], "") != 0)
        return 1;

    char summary[1024];
    snprintf(summary, sizeof summary, "%s/summary.txt", argv[2]);
    FILE *out = fopen(summary, "w");
    if (!out)
        return fail("creating", summary), 1;
    long lines = 0, words = 0, bytes = 0;
    fprintf(out, "%7s %7s %7s  %s\n", "lines", "words", "bytes", "file");
    for (size_t i = 0; i < ncounts; i++) {
        fprintf(out, "%7ld %7ld %7ld  %s\n", counts[i].lines, counts[i].words, counts[i].bytes, counts[i].path);
        lines += counts[i].lines;
        words += counts[i].words;
        bytes += counts[i].bytes;
    }
    fprintf(out, "%7ld %7ld %7ld  total (%zu files)\n", lines, words, bytes, ncounts);
    if (fclose(out) != 0)
        return fail("writing", summary), 1;

    /* Read it back by path and print it, with its size from stat. */
    FILE *in = fopen(summary, "r");
    if (!in)
        return fail("reopening", summary), 1;
    char line[600];
    while (fgets(line, sizeof line, in))
        fputs(line, stdout);
    fclose(in);
    struct stat st;
    if (stat(summary, &st) != 0)
        return fail("stat of", summary), 1;
    printf("wrote %s: %lld bytes\n", summary, (long long)st.st_size);
    free(counts);
    return 0;
}
