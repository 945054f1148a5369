/*
 * C++ guest test for wasi-memfd: wasi_memfd.h used from C++ (extern "C",
 * libc++), the fds wrapped in an RAII type and read into std::string.
 *
 * Build:  zig c++ -target wasm32-wasi -O2 -I guest/c -o memfd_test_cpp.wasm \
 *             tests/guests/c/memfd_test.cpp
 * Run:    wasi-memfd run memfd_test_cpp.wasm
 *
 * Prints "ok: CHECK" per check; on the first failure prints "FAIL: ..." and
 * exits 1. Prints "N passed, 0 failed" at the end.
 */
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "wasi_memfd.h"

namespace {

int passed = 0;

void check(bool cond, const char *what, const std::string &detail = std::string()) {
    if (!cond) {
        int saved = errno;
        std::printf("FAIL: %s: %s (errno %d: %s)\n", what, detail.c_str(), saved,
                    std::strerror(saved));
        std::fflush(stdout);
        std::exit(1);
    }
}

void ok(const char *what) {
    ++passed;
    std::printf("ok: %s\n", what);
}

/* Owns a memory-file fd; closes it when it goes out of scope. */
class MemFd {
  public:
    explicit MemFd(int fd) : fd_(fd) {}
    MemFd(const MemFd &) = delete;
    MemFd &operator=(const MemFd &) = delete;
    ~MemFd() {
        if (fd_ >= 0)
            close(fd_);
    }
    int get() const { return fd_; }
    int release() {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }

  private:
    int fd_;
};

MemFd from_bytes(const std::vector<unsigned char> &data, const std::string &name,
                 uint32_t flags = 0) {
    return MemFd(wasi_memfd_from_bytes_n(data.data(), data.size(), name.data(),
                                         name.size(), flags));
}

std::string read_all(int fd) {
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        check(r >= 0, "read");
        if (r == 0)
            return out;
        out.append(buf, static_cast<size_t>(r));
    }
}

/* A call that must fail with -1 and errno == want. */
void check_errno(int r, int want, const char *what) {
    check(r == -1 && errno == want, what,
          "returned " + std::to_string(r) + ", want -1 with errno " + std::to_string(want));
}

} // namespace

int main() {
    const std::string text = "a buffer from C++\nsecond line\n";
    std::vector<unsigned char> data(text.begin(), text.end());

    {
        MemFd f = from_bytes(data, "cpp-basic");
        check(f.get() > 2, "from_bytes", "fd " + std::to_string(f.get()));
        struct stat st;
        check(fstat(f.get(), &st) == 0 && S_ISREG(st.st_mode) &&
                  st.st_size == static_cast<off_t>(data.size()),
              "fstat: regular file of the right size");
        check(read_all(f.get()) == text, "read back the bytes");
        char two[2];
        check(pread(f.get(), two, 2, 2) == 2 && two[0] == 'b' && two[1] == 'u', "pread");
    }
    ok("C++: from_bytes_n over a std::vector, fstat, read into std::string, pread");

    {
        MemFd f = from_bytes(data, "cpp-stdio");
        std::FILE *file = fdopen(f.release(), "r");
        check(file != nullptr, "fdopen");
        char line[64];
        check(std::fgets(line, sizeof line, file) != nullptr &&
                  std::string(line) == "a buffer from C++\n",
              "fgets", line);
        check(std::fclose(file) == 0, "fclose");
    }
    ok("C++: fdopen + fgets");

    {
        std::vector<unsigned char> zeros(8, 0);
        MemFd f = from_bytes(zeros, "cpp-writable", WASI_MEMFD_WRITABLE);
        check(f.get() >= 0, "from_bytes writable");
        check(pwrite(f.get(), "xy", 2, 3) == 2, "pwrite in place");
        std::string back = read_all(f.get());
        check(back == std::string("\0\0\0xy\0\0\0", 8), "writable contents");
        check(lseek(f.get(), 0, SEEK_SET) == 0 && write(f.get(), "z", 1) == 1 &&
                  lseek(f.get(), 0, SEEK_END) == 8,
              "write in place, size stays fixed");
    }
    ok("C++: WASI_MEMFD_WRITABLE, pwrite in place");

    check_errno(wasi_memfd_from_bytes("x", 1, std::string(250, 'n').c_str(), 0), ENAMETOOLONG,
                "250-byte name");
    check_errno(wasi_memfd_from_bytes("x", 1, "flags", 2), EINVAL, "unknown flag bits");
    check_errno(wasi_memfd_open_preopened("no-such-preopen"), ENOENT, "missing preopen");
    {
        uint32_t fd = 0;
        check(wasi_memfd_raw_from_bytes("", 0, "", 0, 0, &fd) == 0 && fd > 2, "raw import");
        check(close(static_cast<int>(fd)) == 0, "close raw fd");
        MemFd empty(wasi_memfd_from_bytes(nullptr, 0, nullptr, 0));
        check(empty.get() >= 0 && read_all(empty.get()).empty(), "empty file, null name");
    }
    ok("C++: errno from the helpers, the raw import, nullptr arguments");

    std::printf("%d passed, 0 failed\n", passed);
    return 0;
}
