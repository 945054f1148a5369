"""The Python (componentize-py) memory-directory test guest.

An unmodified Python program working in a directory by path with os and
open(): a component, so every call goes through wasi:filesystem 0.2
(componentize-py's libc runs over the WASIp1-to-0.2 adapter). No wasi_memfd
import. Every answer checked is the one wasmtime-wasi gives for a real
directory (`--dir HOST::GUEST`), so the same component is run both ways:
with `--mem-dir GUEST` and with `--dir TMP::GUEST` on a fresh host directory
(the reference); `limits` only makes sense for a memory directory.

    memdir_test basic DIR                    DIR empty; left empty
    memdir_test preloaded DIR                DIR holds tests/guests/memdir-tree;
                                             leaves result/summary.txt and the
                                             link result/latest -> summary.txt
    memdir_test limits DIR FILES TOTAL FILE_SIZE
                                             --max-files FILES
                                             --max-total-size TOTAL
                                             --max-file-size FILE_SIZE

It prints "ok: CHECK" per passed check and "FAIL: CHECK: why" per failed
one, then "N passed, M failed", and exits 1 if any check failed.
"""

import contextlib
import errno
import os
import stat as st_
import sys
import time

from componentize_py_types import Err
from wit_world import exports

from checks import CheckFailed, check, ensure, finish, name_of

root = ""


def expect_errno(fn, num):
    """fn() must raise an OSError with exactly errno `num`."""
    try:
        r = fn()
    except OSError as e:
        ensure(e.errno == num, f"errno {e.errno} ({name_of(e.errno)}), want {num} ({name_of(num)}): {e}")
        return e
    if isinstance(r, int) and r > 2:
        try:
            os.close(r)
        except OSError:
            pass
    raise CheckFailed(f"no OSError (want {name_of(num)}); returned {r!r}")


def refused(op, cases):
    """op(P(src), P(dst)) must raise an OSError with exactly errno `num`, for
    each (src, dst) listed under `num` in `cases`."""
    for num, pairs in cases.items():
        for src, dst in pairs:
            try:
                expect_errno(lambda: op(P(src), P(dst)), num)
            except CheckFailed as e:
                raise CheckFailed(f"{op.__name__}({src!r}, {dst!r}): {e}") from None


def errno_of(fn):
    """0 if fn() succeeds, else the errno of the OSError it raises."""
    try:
        fn()
    except OSError as e:
        return e.errno
    return 0


def ensure_errnos(want, calls):
    """Each named call must end with its errno (0: success); all are run and
    every mismatch is reported."""
    got = {name: errno_of(fn) for name, fn in calls.items()}
    bad = [f"{n}: {name_of(got[n]) if got[n] else 'ok'}, want {name_of(want[n]) if want[n] else 'ok'}"
           for n in calls if got[n] != want[n]]
    ensure(not bad, "; ".join(bad))


def P(name):
    return f"{root}/{name}"


def put(path, data):
    with open(path, "wb") as f:
        f.write(data)


def get(path):
    with open(path, "rb") as f:
        return f.read()


@contextlib.contextmanager
def new_file(name, data):
    """The file `name` in the directory, holding `data`: its path, unlinked
    after a body that passed."""
    f = P(name)
    put(f, data)
    yield f
    os.unlink(f)


@contextlib.contextmanager
def opened(path, *flags):
    """An fd on `path` per flag set, all closed when the body ends."""
    fds = []
    try:
        for flag in flags:
            fds.append(os.open(path, flag))
        yield fds
    finally:
        for fd in fds:
            os.close(fd)


def pattern(n, seed):
    x = (seed * 2654435761 + 1) & 0xFFFFFFFF
    out = bytearray(n)
    for i in range(n):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out[i] = x & 0xFF
    return bytes(out)


def rm_rf(path):
    try:
        s = os.lstat(path)
    except OSError:
        return
    if not st_.S_ISDIR(s.st_mode):
        os.unlink(path)
        return
    for name in os.listdir(path):
        rm_rf(f"{path}/{name}")
    os.rmdir(path)


SEC = 1_000_000_000
OLD = 1_000_000_000 * SEC  # 2001-09-09, in ns


def about_now(t_ns, why):
    now = time.time_ns()
    # Kernel file times are coarse (a clock tick): within a second of now.
    ensure(now - SEC < t_ns <= now + SEC, f"{why}: {t_ns} is not about now ({now})")


# -- basic --------------------------------------------------------------------


def empty_at_start():
    ensure(st_.S_ISDIR(os.stat(root).st_mode), "not a directory")
    ensure(os.listdir(root) == [], f"entries {os.listdir(root)}")


def create_flags():
    f = P("create")
    fd = os.open(f, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    ensure(os.write(fd, b"hello") == 5, "write")
    os.close(fd)
    expect_errno(lambda: os.open(f, os.O_RDWR | os.O_CREAT | os.O_EXCL), errno.EEXIST)
    fd = os.open(f, os.O_RDWR | os.O_CREAT)
    ensure(os.read(fd, 100) == b"hello", "O_CREAT reopened the file with its contents")
    os.close(fd)
    fd = os.open(f, os.O_WRONLY | os.O_TRUNC)
    ensure(os.fstat(fd).st_size == 0, "O_TRUNC")
    os.close(fd)
    expect_errno(lambda: os.open(P("missing"), os.O_RDONLY), errno.ENOENT)
    expect_errno(lambda: os.open(P("missing"), os.O_WRONLY | os.O_TRUNC), errno.ENOENT)
    expect_errno(lambda: os.open(P("nodir/new"), os.O_WRONLY | os.O_CREAT), errno.ENOENT)
    try:
        open(P("missing"), "rb")
    except FileNotFoundError:
        pass
    else:
        raise CheckFailed("open() of a missing file")
    try:
        open(f, "xb")
    except FileExistsError:
        pass
    else:
        raise CheckFailed("open(, 'x') of an existing file")
    os.unlink(f)
    expect_errno(lambda: os.open(f, os.O_RDONLY), errno.ENOENT)


def read_write_seek():
    n = 5000
    data = pattern(n, 7)
    f = P("rw")
    fd = os.open(f, os.O_RDWR | os.O_CREAT | os.O_TRUNC)
    try:
        ensure(os.write(fd, data) == n, "write")
        ensure(os.lseek(fd, 0, os.SEEK_CUR) == n, "offset after write")
        ensure(os.read(fd, 10) == b"", "read at the end")
        ensure(os.lseek(fd, 0, os.SEEK_SET) == 0, "SEEK_SET")
        got = b""
        while chunk := os.read(fd, 1000):
            got += chunk
        ensure(got == data, "read back")
        ensure(os.lseek(fd, -10, os.SEEK_END) == n - 10, "SEEK_END")
        ensure(os.read(fd, 100) == data[-10:], "the last 10")
        ensure(os.lseek(fd, -20, os.SEEK_CUR) == n - 20, "SEEK_CUR")
        expect_errno(lambda: os.lseek(fd, -1, os.SEEK_SET), errno.EINVAL)
        ensure(os.lseek(fd, 0, os.SEEK_CUR) == n - 20, "a failed lseek moved the offset")
        os.lseek(fd, 100, os.SEEK_SET)
        ensure(os.pread(fd, 50, 1000) == data[1000:1050], "pread")
        ensure(os.pwrite(fd, b"PWRITE", 2000) == 6, "pwrite")
        ensure(os.lseek(fd, 0, os.SEEK_CUR) == 100, "pread/pwrite moved the offset")
        ensure(os.pread(fd, 6, 2000) == b"PWRITE", "pwrite read back")
        ensure(os.pread(fd, 100, n - 4) == data[-4:], "pread across the end")
        ensure(os.pread(fd, 10, n + 50) == b"", "pread past the end")
        os.lseek(fd, n + 100, os.SEEK_SET)
        ensure(os.write(fd, b"END") == 3, "write past the end")
        ensure(os.fstat(fd).st_size == n + 103, f"size {os.fstat(fd).st_size}")
        ensure(os.pread(fd, 103, n) == bytes(100) + b"END", "a hole of zeros")
        ensure(os.pwrite(fd, b"far", 3 * n) == 3, "pwrite past the end")
        ensure(os.fstat(fd).st_size == 3 * n + 3, "size after pwrite past the end")
    finally:
        os.close(fd)
    # Buffered file objects by path.
    with open(f, "r+b") as fo:
        fo.seek(2000)
        ensure(fo.read(6) == b"PWRITE", "open('r+b').read")
        fo.seek(0)
        fo.write(b"buffered")
    ensure(get(f)[:8] == b"buffered", "open('r+b').write")
    with open(f, "w", encoding="utf-8") as fo:
        fo.write("text\nlines\n")
    with open(f, encoding="utf-8") as fo:
        ensure(fo.readlines() == ["text\n", "lines\n"], "text mode")
    os.unlink(f)


def access_modes():
    with new_file("modes", b"0123456789") as f, opened(f, os.O_RDONLY, os.O_WRONLY) as (ro, wo):
        # Through the adapter: write/read are streams, whose errors the
        # adapter reports as EIO for a real directory; pwrite/pread are
        # direct calls (bad-descriptor).
        ensure_errnos(
            {"write(O_RDONLY)": errno.EIO, "pwrite(O_RDONLY)": errno.EBADF,
             "read(O_WRONLY)": errno.EIO, "pread(O_WRONLY)": errno.EBADF},
            {"write(O_RDONLY)": lambda: os.write(ro, b"x"), "pwrite(O_RDONLY)": lambda: os.pwrite(ro, b"x", 0),
             "read(O_WRONLY)": lambda: os.read(wo, 1), "pread(O_WRONLY)": lambda: os.pread(wo, 1, 0)})
        ensure(os.pread(ro, 10, 0) == b"0123456789", "a refused write changed the file")
        ensure(os.write(wo, b"AB") == 2, "write")
        ensure(os.read(ro, 4) == b"AB23", "the other fd sees the write")


def append():
    with new_file("append", b"12345") as f:
        with opened(f, os.O_RDWR | os.O_APPEND) as (fd,):
            os.lseek(fd, 0, os.SEEK_SET)
            ensure(os.write(fd, b"ab") == 2, "write")
            ensure(os.pread(fd, 100, 0) == b"12345ab", f"after an appending write: {os.pread(fd, 100, 0)!r}")
            ensure(os.write(fd, b"cd") == 2, "write")
            ensure(os.pread(fd, 100, 0) == b"12345abcd", f"after two: {os.pread(fd, 100, 0)!r}")
        with open(f, "ab") as fo:
            fo.write(b"!")
        ensure(get(f) == b"12345abcd!", f"open('ab'): {get(f)!r}")


def stat_file():
    f = P("statme")
    put(f, b"twelve bytes")
    a, b = os.stat(f), os.lstat(f)
    fd = os.open(f, os.O_RDONLY)
    c = os.fstat(fd)
    os.close(fd)
    for s in (a, b, c):
        ensure(st_.S_ISREG(s.st_mode) and s.st_size == 12 and s.st_nlink == 1, f"{s}")
    ensure(a.st_ino != 0 and a.st_ino == b.st_ino == c.st_ino, f"inos {a.st_ino} {b.st_ino} {c.st_ino}")
    d = os.stat(root)
    ensure(a.st_dev == c.st_dev == d.st_dev, f"st_dev {a.st_dev} {c.st_dev} {d.st_dev}")
    ensure(a.st_ino != d.st_ino, "file and directory share an inode number")
    ensure(time.time_ns() - 60 * SEC < a.st_mtime_ns <= time.time_ns() + SEC, f"mtime {a.st_mtime_ns}")
    ensure(os.path.isfile(f) and not os.path.isdir(f) and os.path.exists(f), "os.path")
    ensure(os.path.getsize(f) == 12, "os.path.getsize")
    os.unlink(f)


def times_move():
    with new_file("times", b"x") as f:
        with opened(f, os.O_RDWR) as (fd,):
            os.utime(f, ns=(OLD, OLD))
            before = os.fstat(fd)
            ensure(before.st_mtime_ns == OLD, f"mtime {before.st_mtime_ns} after utime")
            os.write(fd, b"more")
            after = os.fstat(fd)
            about_now(after.st_mtime_ns, "mtime after a write")
            # wasmtime-wasi reports the birth time as the change time.
            ensure(after.st_ctime_ns == before.st_ctime_ns, f"ctime moved {before.st_ctime_ns} -> {after.st_ctime_ns}")
            os.utime(f, ns=(OLD, OLD))
            os.ftruncate(fd, 100)
            about_now(os.fstat(fd).st_mtime_ns, "mtime after ftruncate")
        os.utime(f, ns=(OLD, OLD))
        os.close(os.open(f, os.O_WRONLY | os.O_TRUNC))
        about_now(os.stat(f).st_mtime_ns, "mtime after O_TRUNC")


def dir_times_move():
    d = P("dtimes")
    os.mkdir(d)
    os.utime(d, ns=(OLD, OLD))
    put(f"{d}/f", b"x")
    about_now(os.stat(d).st_mtime_ns, "directory mtime after a create")
    os.utime(d, ns=(OLD, OLD))
    os.rename(f"{d}/f", f"{d}/g")
    about_now(os.stat(d).st_mtime_ns, "directory mtime after a rename")
    os.utime(d, ns=(OLD, OLD))
    os.unlink(f"{d}/g")
    about_now(os.stat(d).st_mtime_ns, "directory mtime after an unlink")
    os.rmdir(d)


def set_times_exact():
    f = P("settimes")
    put(f, b"abc")
    a, m = 1234567890 * SEC + 123456789, 1500000000 * SEC + 987654321
    os.utime(f, ns=(a, m))
    s = os.stat(f)
    ensure((s.st_atime_ns, s.st_mtime_ns) == (a, m), f"times {s.st_atime_ns} {s.st_mtime_ns}")
    if os.utime in os.supports_fd:
        fd = os.open(f, os.O_RDONLY)
        try:
            os.utime(fd, ns=(a + 1, m + 1))
            s = os.fstat(fd)
        finally:
            os.close(fd)
        ensure((s.st_atime_ns, s.st_mtime_ns) == (a + 1, m + 1), f"futimens: {s.st_atime_ns} {s.st_mtime_ns}")
    t0 = time.time_ns()
    os.utime(f)  # now
    s = os.stat(f)
    ensure(t0 - SEC <= s.st_mtime_ns <= time.time_ns() + SEC, f"utime(now): {s.st_mtime_ns}")
    # A symbolic link's own times, and its target's.
    os.symlink("settimes", P("settimes-link"))
    os.utime(P("settimes-link"), ns=(1100000000 * SEC + 1, 1100000000 * SEC + 2), follow_symlinks=False)
    ls = os.lstat(P("settimes-link"))
    ensure(ls.st_mtime_ns == 1100000000 * SEC + 2, f"link mtime {ls.st_mtime_ns}")
    ensure(os.stat(f).st_mtime_ns == s.st_mtime_ns, "setting the link's times changed the file's")
    os.utime(P("settimes-link"), ns=(a, m))
    ensure(os.stat(f).st_mtime_ns == m, "following the link did not set the file's")
    os.mkdir(P("settimes-dir"))
    os.utime(P("settimes-dir"), ns=(a, m))
    ensure(os.stat(P("settimes-dir")).st_mtime_ns == m, "a directory's")
    os.unlink(P("settimes-link"))
    os.unlink(f)
    os.rmdir(P("settimes-dir"))


def ftruncate():
    with new_file("trunc", b"0123456789") as f:
        with opened(f, os.O_RDWR) as (fd,):
            os.lseek(fd, 4, os.SEEK_SET)
            os.ftruncate(fd, 10000)
            ensure(os.fstat(fd).st_size == 10000, "size after growing")
            ensure(os.lseek(fd, 0, os.SEEK_CUR) == 4, "ftruncate moved the offset")
            ensure(os.pread(fd, 10000, 0) == b"0123456789" + bytes(9990), "grown bytes are zeros")
            os.ftruncate(fd, 3)
            ensure(os.fstat(fd).st_size == 3, "size after shrinking")
            os.ftruncate(fd, 6)
            ensure(os.pread(fd, 10, 0) == b"012\0\0\0", "shrink then grow")
            expect_errno(lambda: os.ftruncate(fd, -1), errno.EINVAL)
        os.truncate(f, 2)
        ensure(get(f) == b"01", "os.truncate by path")
        with opened(f, os.O_RDONLY) as (ro,):
            expect_errno(lambda: os.ftruncate(ro, 0), errno.EINVAL)


def sync_fallocate():
    with new_file("sync", b"data") as f, opened(f, os.O_RDWR, os.O_RDONLY) as (fd, ro):
        os.fsync(fd)
        os.fdatasync(fd)
        os.fsync(ro)
        with open(f, "rb+") as fo:
            fo.flush()
            os.fsync(fo.fileno())
        if hasattr(os, "posix_fallocate"):
            expect_errno(lambda: os.posix_fallocate(fd, 0, 1000), errno.ENOTSUP)
            ensure(os.fstat(fd).st_size == 4, "posix_fallocate changed the size")
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, 0, 4, os.POSIX_FADV_SEQUENTIAL)
        d = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            # wasi:filesystem syncs directories (WASIp1 fd_sync does not).
            os.fsync(d)
            os.fdatasync(d)
        finally:
            os.close(d)


def dirs_nlink():
    ensure(os.stat(root).st_nlink == 2, f"an empty directory's nlink is {os.stat(root).st_nlink}")
    os.mkdir(P("top"))
    ensure(os.stat(root).st_nlink == 3, "nlink after one mkdir")
    ensure(os.stat(P("top")).st_nlink == 2, "a new directory's nlink")
    os.mkdir(P("top/a"))
    os.mkdir(P("top/b"))
    put(P("top/file"), b"f")
    ensure(os.stat(P("top")).st_nlink == 4, f"nlink {os.stat(P('top')).st_nlink} with two subdirectories")
    os.makedirs(P("top/a/deep/deeper"))
    put(P("top/a/deep/leaf"), b"leaf")
    ensure(get(P("top/a/deep/../../file")) == b"f", "top/a/deep/../../file")
    ensure(get(P("top/./a//deep/./leaf")) == b"leaf", "top/./a//deep/./leaf")
    ensure(os.path.isdir(P("top/a/..")), "top/a/..")
    expect_errno(lambda: os.rmdir(P("top")), errno.ENOTEMPTY)
    expect_errno(lambda: os.mkdir(P("top/a")), errno.EEXIST)
    expect_errno(lambda: os.mkdir(P("top/file")), errno.EEXIST)
    expect_errno(lambda: os.mkdir(P("top/file/x")), errno.ENOTDIR)
    expect_errno(lambda: os.mkdir(P("top/missing/x")), errno.ENOENT)
    expect_errno(lambda: os.rmdir(P("top/file")), errno.ENOTDIR)
    expect_errno(lambda: os.rmdir(P("top/missing")), errno.ENOENT)
    try:
        os.makedirs(P("top/a"))
    except FileExistsError:
        pass
    else:
        raise CheckFailed("makedirs of an existing directory")
    os.makedirs(P("top/a"), exist_ok=True)
    os.removedirs(P("top/a/deep/deeper"))  # stops at the first non-empty one
    ensure(os.path.isdir(P("top/a/deep")), "removedirs went too far")
    os.unlink(P("top/a/deep/leaf"))
    os.rmdir(P("top/a/deep"))
    os.rmdir(P("top/a"))
    ensure(os.stat(P("top")).st_nlink == 3, "nlink after rmdir")
    os.rmdir(P("top/b"))
    os.unlink(P("top/file"))
    os.rmdir(P("top"))
    ensure(os.stat(root).st_nlink == 2, "root nlink at the end")


def scandir_listing():
    os.mkdir(P("list"))
    put(P("list/file"), b"12345")
    os.mkdir(P("list/sub"))
    os.symlink("file", P("list/link"))
    os.link(P("list/file"), P("list/hard"))
    ensure(sorted(os.listdir(P("list"))) == ["file", "hard", "link", "sub"], f"listdir {os.listdir(P('list'))}")
    kinds = {}
    with os.scandir(P("list")) as it:
        for e in it:
            s = os.lstat(e.path)
            ensure(e.inode() == s.st_ino, f"{e.name}: inode() {e.inode()}, st_ino {s.st_ino}")
            ensure(e.path == P(f"list/{e.name}"), f"path {e.path}")
            kinds[e.name] = (e.is_file(follow_symlinks=False), e.is_dir(follow_symlinks=False), e.is_symlink())
            if e.name == "link":
                ensure(e.is_file(), "the link leads to a file")
                # The adapter's path_filestat_get takes st_ino without
                # following: stat() through a link has the link's st_ino
                # (its type and size are the target's).
                ensure(e.stat().st_ino == os.lstat(e.path).st_ino and e.stat().st_size == 5,
                       f"DirEntry.stat() st_ino {e.stat().st_ino} size {e.stat().st_size}, "
                       f"file's {os.stat(P('list/file')).st_ino}, link's {os.lstat(e.path).st_ino}")
    want = {
        "file": (True, False, False),
        "hard": (True, False, False),
        "sub": (False, True, False),
        "link": (False, False, True),
    }
    ensure(kinds == want, f"kinds {kinds}")
    ensure(os.stat(P("list/hard")).st_ino == os.stat(P("list/file")).st_ino, "hard link inode")
    walked = sorted((os.path.relpath(d, root), sorted(ds), sorted(fs)) for d, ds, fs in os.walk(P("list")))
    ensure(walked == [("list", ["sub"], ["file", "hard", "link"]), ("list/sub", [], [])], f"os.walk {walked}")
    expect_errno(lambda: os.listdir(P("list/file")), errno.ENOTDIR)
    expect_errno(lambda: os.listdir(P("list/none")), errno.ENOENT)
    os.symlink("sub", P("list/sublink"))
    ensure(os.listdir(P("list/sublink")) == [], "listdir through a link")
    ensure(os.listdir(P("list/sub/")) == [], "listdir(sub/)")
    rm_rf(P("list"))
    ensure(os.listdir(root) == [], "cleanup")


def scandir_many():
    count = 200
    os.mkdir(P("many"))
    names = [f"entry-with-a-rather-long-name-{i:03}" for i in range(count)]
    for n in names:
        put(P(f"many/{n}"), b"")
    got = os.listdir(P("many"))
    ensure(len(got) == count and sorted(got) == names, f"{len(got)} names")
    with os.scandir(P("many")) as it:
        inos = {e.name: e.inode() for e in it}
    ensure(len(inos) == count and len(set(inos.values())) == count, "inode numbers not unique")
    for n in names[::37]:
        ensure(inos[n] == os.lstat(P(f"many/{n}")).st_ino, f"{n}: inode")
    for n in names:
        os.unlink(P(f"many/{n}"))
    os.rmdir(P("many"))


def atime_on_read():
    # The kernel's relatime: a read moves atime when it is not newer than
    # mtime (wasmtime-wasi reports what the kernel keeps).
    f = P("atime")
    put(f, b"abc")
    os.utime(f, ns=(1000000000 * SEC, 1100000000 * SEC))
    get(f)
    s = os.stat(f)
    os.unlink(f)
    about_now(s.st_atime_ns, "atime after a read")
    ensure(s.st_mtime_ns == 1100000000 * SEC, "a read moved mtime")


def scandir_while_unlinking():
    count = 300
    os.mkdir(P("churn"))
    for i in range(count):
        put(P(f"churn/entry-with-a-rather-long-name-{i:03}"), b"")
    removed = 0
    with os.scandir(P("churn")) as it:
        for e in it:
            os.unlink(e.path)
            removed += 1
    left = len(os.listdir(P("churn")))
    rm_rf(P("churn"))
    # The adapter reads a listing through one wasi:filesystem
    # read-directory stream, taken whole when it opens: one pass sees every
    # entry that was there (unlike WASIp1 fd_readdir cookies, see the C
    # guest).
    ensure(removed == count and left == 0, f"one pass removed {removed} of {count}, left {left}")


def unlink_open():
    f = P("unlinked")
    put(f, b"still here")
    fd = os.open(f, os.O_RDWR)
    try:
        os.unlink(f)
        expect_errno(lambda: os.open(f, os.O_RDONLY), errno.ENOENT)
        expect_errno(lambda: os.unlink(f), errno.ENOENT)
        ensure(os.pread(fd, 100, 0) == b"still here", "read after unlink")
        ensure(os.pwrite(fd, b"!", 10) == 1, "write after unlink")
        s = os.fstat(fd)
        ensure(s.st_nlink == 0 and s.st_size == 11, f"nlink {s.st_nlink} size {s.st_size}")
        ensure(os.listdir(root) == [], "still listed")
    finally:
        os.close(fd)


def rmdir_open():
    os.mkdir(P("gone"))
    fd = os.open(P("gone"), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.rmdir(P("gone"))
        s = os.fstat(fd)
        ensure(st_.S_ISDIR(s.st_mode) and s.st_nlink == 0, f"removed directory: nlink {s.st_nlink}")
        if os.open in os.supports_dir_fd:
            expect_errno(lambda: os.open("x", os.O_WRONLY | os.O_CREAT, dir_fd=fd), errno.ENOENT)
        if os.mkdir in os.supports_dir_fd:
            expect_errno(lambda: os.mkdir("x", dir_fd=fd), errno.ENOENT)
        if os.listdir in os.supports_fd:
            ensure(os.listdir(fd) == [], "entries in a removed directory")
    finally:
        os.close(fd)


def type_errors():
    os.mkdir(P("adir"))
    put(P("afile"), b"abc")
    expect_errno(lambda: os.open(P("adir"), os.O_WRONLY), errno.EISDIR)
    expect_errno(lambda: os.open(P("adir"), os.O_RDWR), errno.EISDIR)
    expect_errno(lambda: os.open(P("adir"), os.O_RDONLY | os.O_CREAT), errno.EISDIR)
    expect_errno(lambda: os.open(P("afile"), os.O_RDONLY | os.O_DIRECTORY), errno.ENOTDIR)
    expect_errno(lambda: os.open(P("afile/x"), os.O_RDONLY), errno.ENOTDIR)
    expect_errno(lambda: os.open(P("afile/x"), os.O_WRONLY | os.O_CREAT), errno.ENOTDIR)
    expect_errno(lambda: os.unlink(P("adir")), errno.EISDIR)
    expect_errno(lambda: os.stat(P("afile/x")), errno.ENOTDIR)
    expect_errno(lambda: os.stat(P("nothing")), errno.ENOENT)
    try:
        open(P("adir"), "wb")
    except IsADirectoryError:
        pass
    else:
        raise CheckFailed("open(dir, 'wb')")
    d = os.open(P("adir"), os.O_RDONLY)
    try:
        ensure(st_.S_ISDIR(os.fstat(d).st_mode), "fstat of a directory fd")
        ensure_errnos(
            {"read": errno.EISDIR, "pread": errno.EBADF, "write": errno.EBADF, "pwrite": errno.EBADF,
             "lseek": 0, "ftruncate": errno.EBADF},
            {"read": lambda: os.read(d, 1), "pread": lambda: os.pread(d, 1, 0),
             "write": lambda: os.write(d, b"x"), "pwrite": lambda: os.pwrite(d, b"x", 0),
             "lseek": lambda: os.lseek(d, 0, os.SEEK_SET), "ftruncate": lambda: os.ftruncate(d, 0)})
    finally:
        os.close(d)
    put(P("n" * 255), b"x")
    os.unlink(P("n" * 255))
    expect_errno(lambda: os.open(P("n" * 256), os.O_WRONLY | os.O_CREAT), errno.ENAMETOOLONG)
    expect_errno(lambda: os.mkdir(P("n" * 256)), errno.ENAMETOOLONG)
    put(P("héllo-✓"), b"u")
    ensure("héllo-✓" in os.listdir(root), "a UTF-8 name")
    os.unlink(P("héllo-✓"))
    os.unlink(P("afile"))
    os.rmdir(P("adir"))


def trailing_slashes():
    put(P("tf"), b"abc")
    os.mkdir(P("td/"))
    expect_errno(lambda: os.open(P("tf/"), os.O_RDONLY), errno.ENOTDIR)
    expect_errno(lambda: os.open(P("tf/"), os.O_WRONLY | os.O_CREAT), errno.EISDIR)
    expect_errno(lambda: os.open(P("newname/"), os.O_WRONLY | os.O_CREAT), errno.EISDIR)
    expect_errno(lambda: os.stat(P("tf/")), errno.ENOTDIR)
    # wasmtime-wasi stats a one-name path without following by that name.
    s = os.lstat(P("tf/"))
    ensure(st_.S_ISREG(s.st_mode) and s.st_size == 3, f"lstat(tf/) {s}")
    expect_errno(lambda: os.unlink(P("tf/")), errno.ENOTDIR)
    expect_errno(lambda: os.rmdir(P("tf/")), errno.ENOTDIR)
    expect_errno(lambda: os.mkdir(P("tf/")), errno.EEXIST)
    os.close(os.open(P("td/"), os.O_RDONLY))
    ensure(os.path.isdir(P("td/")), "stat(td/)")
    expect_errno(lambda: os.unlink(P("td/")), errno.EISDIR)
    expect_errno(lambda: os.rmdir(P("td/")), errno.EINVAL)
    os.rename(P("td/"), P("td2"))
    os.rename(P("td2"), P("td/"))
    expect_errno(lambda: os.rename(P("tf/"), P("tf2")), errno.ENOTDIR)
    expect_errno(lambda: os.rename(P("tf"), P("tf2/")), errno.ENOTDIR)
    os.rmdir(P("td"))
    os.unlink(P("tf"))


def escape():
    os.mkdir(P("esc"))
    expect_errno(lambda: os.open(P(".."), os.O_RDONLY), errno.EPERM)
    expect_errno(lambda: os.open(P("../x"), os.O_WRONLY | os.O_CREAT), errno.EPERM)
    expect_errno(lambda: os.open(P("esc/../../x"), os.O_RDONLY), errno.EPERM)
    expect_errno(lambda: os.stat(P("..")), errno.EPERM)
    expect_errno(lambda: os.listdir(P("..")), errno.EPERM)
    expect_errno(lambda: os.mkdir(P("../x")), errno.EPERM)
    expect_errno(lambda: os.unlink(P("../x")), errno.EPERM)
    expect_errno(lambda: os.rename(P("esc"), P("../esc")), errno.EPERM)
    try:
        open(P("../x"), "w")
    except PermissionError:
        pass
    else:
        raise CheckFailed("open('../x', 'w')")
    os.symlink("../..", P("esc/up"))
    os.symlink("../outside", P("out1"))
    ensure(os.readlink(P("esc/up")) == "../..", "readlink")
    s = os.lstat(P("esc/up"))
    ensure(st_.S_ISLNK(s.st_mode) and s.st_size == 5, f"lstat {s}")
    expect_errno(lambda: os.stat(P("esc/up")), errno.EPERM)
    expect_errno(lambda: os.open(P("esc/up"), os.O_RDONLY), errno.EPERM)
    expect_errno(lambda: os.open(P("esc/up/x"), os.O_WRONLY | os.O_CREAT), errno.EPERM)
    expect_errno(lambda: os.open(P("out1"), os.O_WRONLY | os.O_CREAT), errno.EPERM)
    expect_errno(lambda: os.listdir(P("esc/up")), errno.EPERM)
    ensure(not os.path.exists(P("esc/up")), "os.path.exists through a link out")
    expect_errno(lambda: os.symlink("/etc/passwd", P("abs")), errno.EPERM)
    expect_errno(lambda: os.lstat(P("abs")), errno.ENOENT)
    os.unlink(P("esc/up"))
    os.unlink(P("out1"))
    os.rmdir(P("esc"))


def rename():
    put(P("r1"), b"one")
    ino = os.stat(P("r1")).st_ino
    os.rename(P("r1"), P("r2"))
    expect_errno(lambda: os.stat(P("r1")), errno.ENOENT)
    ensure(os.stat(P("r2")).st_ino == ino, "rename changed the inode number")
    put(P("r3"), b"three")
    old = os.open(P("r3"), os.O_RDONLY)
    try:
        os.replace(P("r2"), P("r3"))
        ensure(get(P("r3")) == b"one", "replaced")
        ensure(os.pread(old, 100, 0) == b"three", "the replaced file's fd")
        ensure(os.fstat(old).st_nlink == 0, "the replaced file's nlink")
    finally:
        os.close(old)
    os.rename(P("r3"), P("r3"))
    os.link(P("r3"), P("r3-hard"))
    os.rename(P("r3"), P("r3-hard"))
    ensure(os.stat(P("r3")).st_nlink == 2 and os.path.exists(P("r3-hard")), "hard links renamed onto each other")
    os.unlink(P("r3-hard"))
    os.mkdir(P("rd"))
    put(P("rd/inner"), b"in")
    os.rename(P("rd"), P("rd2"))
    ensure(get(P("rd2/inner")) == b"in", "the directory's file moved with it")
    os.mkdir(P("empty"))
    os.replace(P("rd2"), P("empty"))
    ensure(get(P("empty/inner")) == b"in", "over an empty directory")
    os.mkdir(P("full"))
    put(P("full/x"), b"x")
    os.mkdir(P("rd3"))
    refused(os.rename, {
        errno.ENOTEMPTY: [("rd3", "full")],
        errno.EISDIR: [("r3", "rd3")],
        errno.ENOTDIR: [("rd3", "r3"), ("r3", "r3/x")],
        errno.EINVAL: [("full", "full/sub")],
        errno.ENOENT: [("missing", "r4"), ("r3", "missing/r4")],
    })
    os.symlink("full", P("lnk"))
    os.rename(P("lnk"), P("lnk2"))
    ensure(os.path.islink(P("lnk2")), "the renamed link")
    os.replace(P("r3"), P("lnk2"))
    ensure(os.path.isfile(P("lnk2")) and not os.path.islink(P("lnk2")), "a file over a link")
    ensure(os.path.isdir(P("full")), "the link's target")
    fd = os.open(P("rd3"), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.rename(P("rd3"), P("full/moved"))
        if os.open in os.supports_dir_fd:
            os.close(os.open("made", os.O_WRONLY | os.O_CREAT, dir_fd=fd))
            ensure(os.path.isfile(P("full/moved/made")), "created through the moved directory's fd")
    finally:
        os.close(fd)
    rm_rf(P("full"))
    rm_rf(P("empty"))
    os.unlink(P("lnk2"))
    ensure(os.listdir(root) == [], f"cleanup left {os.listdir(root)}")


def hard_links():
    put(P("h1"), b"shared")
    os.link(P("h1"), P("h2"))
    os.mkdir(P("hd"))
    os.link(P("h1"), P("hd/h3"))
    a, b, c = os.stat(P("h1")), os.stat(P("h2")), os.lstat(P("hd/h3"))
    ensure(a.st_ino == b.st_ino == c.st_ino and a.st_dev == b.st_dev == c.st_dev, "inode numbers")
    ensure(a.st_nlink == b.st_nlink == c.st_nlink == 3, f"nlink {a.st_nlink} {b.st_nlink} {c.st_nlink}")
    ensure(os.path.samefile(P("h1"), P("hd/h3")), "os.path.samefile")
    fd = os.open(P("h2"), os.O_WRONLY)
    os.pwrite(fd, b"SH", 0)
    os.close(fd)
    ensure(get(P("hd/h3")) == b"SHared", "one file")
    os.unlink(P("h1"))
    ensure(os.stat(P("h2")).st_nlink == 2, "nlink after one unlink")
    refused(os.link, {
        errno.EEXIST: [("h2", "hd/h3"), ("h2", "h2"), ("h2", "hd")],
        errno.EPERM: [("hd", "hd-link"), ("h2", "../x")],
        errno.ENOENT: [("nothing", "x"), ("h2", "nodir/x")],
    })
    os.symlink("h2", P("sl"))
    os.link(P("sl"), P("sl-hard"))  # link(2): the link itself
    ensure(os.path.islink(P("sl-hard")), "link(symlink) is a link")
    for n in ("sl", "sl-hard", "h2"):
        os.unlink(P(n))
    ensure(os.stat(P("hd/h3")).st_nlink == 1, "the last name's nlink")
    rm_rf(P("hd"))


def symlinks():
    put(P("target"), b"pointed at")
    os.mkdir(P("tdir"))
    os.symlink("target", P("sym"))
    os.symlink("tdir", P("symdir"), target_is_directory=True)
    os.symlink("nowhere", P("dangling"))
    ensure(os.readlink(P("sym")) == "target", "readlink")
    expect_errno(lambda: os.readlink(P("target")), errno.EINVAL)
    expect_errno(lambda: os.readlink(P("tdir")), errno.EINVAL)
    expect_errno(lambda: os.readlink(P("none")), errno.ENOENT)
    ls = os.lstat(P("sym"))
    ensure(st_.S_ISLNK(ls.st_mode) and ls.st_size == 6 and ls.st_nlink == 1, f"lstat {ls}")
    ensure(ls.st_ino != os.stat(P("target")).st_ino, "the link and its target share an inode")
    # The adapter's st_ino of a followed stat is the link's (see above).
    s = os.stat(P("sym"))
    ensure(st_.S_ISREG(s.st_mode) and s.st_size == 10 and s.st_ino == ls.st_ino,
           f"stat(sym) st_ino {s.st_ino} size {s.st_size}, target's {os.stat(P('target')).st_ino}, link's {ls.st_ino}")
    ensure(get(P("sym")) == b"pointed at", "read through the link")
    expect_errno(lambda: os.open(P("sym"), os.O_RDONLY | os.O_NOFOLLOW), errno.ELOOP)
    put(P("symdir/inside"), b"in")
    ensure(os.path.isfile(P("tdir/inside")), "made through a link to a directory")
    ensure(os.path.isdir(P("symdir")) and os.path.islink(P("symdir")), "isdir/islink")
    expect_errno(lambda: os.stat(P("dangling")), errno.ENOENT)
    ensure(os.path.lexists(P("dangling")) and not os.path.exists(P("dangling")), "lexists/exists")
    expect_errno(lambda: os.open(P("dangling"), os.O_WRONLY | os.O_CREAT | os.O_EXCL), errno.EEXIST)
    with open(P("dangling"), "wb") as f:  # O_CREAT through the link makes its target
        f.write(b"made")
    ensure(get(P("nowhere")) == b"made", "the target was not made")
    expect_errno(lambda: os.symlink("x", P("target")), errno.EEXIST)
    expect_errno(lambda: os.symlink("x", P("tdir")), errno.EEXIST)
    expect_errno(lambda: os.symlink("x", P("nodir/x")), errno.ENOENT)
    expect_errno(lambda: os.symlink("", P("empty-target")), errno.ENOENT)
    os.symlink("loop-b", P("loop-a"))
    os.symlink("loop-a", P("loop-b"))
    os.symlink("self", P("self"))
    expect_errno(lambda: os.open(P("loop-a"), os.O_RDONLY), errno.ELOOP)
    expect_errno(lambda: os.open(P("self"), os.O_RDONLY), errno.ELOOP)
    expect_errno(lambda: os.stat(P("loop-a")), errno.ELOOP)
    expect_errno(lambda: os.open(P("loop-a/x"), os.O_WRONLY | os.O_CREAT), errno.ELOOP)
    expect_errno(lambda: os.listdir(P("self")), errno.ELOOP)
    os.symlink("target", P("c0"))
    for i in range(1, 41):
        os.symlink(f"c{i - 1}", P(f"c{i}"))
    ensure(os.path.isfile(P("c39")), "a chain of 40 links")
    expect_errno(lambda: os.stat(P("c40")), errno.ELOOP)
    for i in range(41):
        os.unlink(P(f"c{i}"))
    os.unlink(P("sym"))
    ensure(os.path.isfile(P("target")), "unlink removed the target")
    os.unlink(P("symdir"))
    expect_errno(lambda: os.rmdir(P("dangling")), errno.ENOTDIR)
    for n in ("dangling", "nowhere", "loop-a", "loop-b", "self", "target", "tdir/inside"):
        os.unlink(P(n))
    os.rmdir(P("tdir"))


def large_file():
    data = pattern(1 << 16, 99) * 48  # 3 MiB
    put(P("large"), data)
    ensure(os.stat(P("large")).st_size == len(data), "size")
    ensure(get(P("large")) == data, "3 MiB read back")
    with open(P("large"), "rb") as f:
        f.seek(-100000, os.SEEK_END)
        ensure(f.read() == data[-100000:], "the last 100000 bytes")
    os.unlink(P("large"))


def empty_at_end():
    ensure(os.listdir(root) == [], f"left {os.listdir(root)}")


def basic():
    check("the directory is empty at start", empty_at_start)
    check("os.open: O_CREAT, O_EXCL (EEXIST), O_TRUNC, ENOENT; open() errors", create_flags)
    check("read/write/lseek/pread/pwrite, holes; open() file objects", read_write_seek)
    check("access modes: EBADF for write on O_RDONLY and read on O_WRONLY; shared bytes", access_modes)
    check("O_APPEND and open('ab') append", append)
    check("stat/lstat/fstat of a file: type, size, nlink, st_ino, st_dev, mtime", stat_file)
    check("mtime moves after write, ftruncate and O_TRUNC; ctime (birth) stays", times_move)
    check("a directory's mtime moves on create, rename and unlink", dir_times_move)
    check("os.utime: exact ns times, now, links (follow_symlinks=False), directories", set_times_exact)
    check("atime moves on a read (relatime, atime older than mtime)", atime_on_read)
    check("ftruncate grows with zeros and shrinks; truncate by path; EINVAL", ftruncate)
    check("fsync/fdatasync, posix_fallocate ENOTSUP, fsync of a directory EBADF", sync_fallocate)
    check("mkdir/rmdir/makedirs/removedirs: st_nlink, ENOTEMPTY, EEXIST, ENOTDIR", dirs_nlink)
    check("listdir/scandir/walk: names, types, inode() == st_ino", scandir_listing)
    check("listdir/scandir over 200 entries", scandir_many)
    check("scandir while unlinking: one pass sees every entry", scandir_while_unlinking)
    check("unlink of an open file: fd still works, nlink 0", unlink_open)
    check("rmdir of an open directory: nlink 0, nothing made inside", rmdir_open)
    check("EISDIR/ENOTDIR/ENOENT, EBADF on directory fds, ENAMETOOLONG", type_errors)
    check("trailing slashes", trailing_slashes)
    check(".. above the directory and links out of it: EPERM", escape)
    check("rename/replace of files and directories, errors", rename)
    check("os.link: one inode, nlink, EEXIST, EPERM for a directory", hard_links)
    check("symlink/readlink, dangling links, ELOOP, 40-link chains", symlinks)
    check("a 3 MiB file round trip through open()", large_file)
    check("the directory is empty at the end", empty_at_end)


# -- preloaded ---------------------------------------------------------------

HELLO = b"Hello from the host tree!\n"
CSV = b"n,square\n1,1\n2,4\n3,9\n"
LEAF = b"a leaf, three directories down\n"


def p_listing():
    ensure(sorted(os.listdir(root)) == ["data", "hello.txt", "link-to-hello"], f"root {os.listdir(root)}")
    ensure(sorted(os.listdir(P("data"))) == ["abs", "bytes.bin", "deep", "empty", "numbers.csv", "up"], f"data {os.listdir(P('data'))}")
    with os.scandir(root) as it:
        kinds = {e.name: (e.is_dir(follow_symlinks=False), e.is_symlink()) for e in it}
    ensure(kinds == {"data": (True, False), "hello.txt": (False, False), "link-to-hello": (False, True)}, f"{kinds}")
    walked = sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)
    want = ["data/abs", "data/bytes.bin", "data/deep/deeper/leaf.txt", "data/empty", "data/numbers.csv", "data/up", "hello.txt", "link-to-hello"]
    ensure(walked == want, f"os.walk {walked}")


def p_bytes():
    ensure(get(P("hello.txt")) == HELLO, "hello.txt")
    ensure(get(P("data/numbers.csv")) == CSV, "numbers.csv")
    ensure(get(P("data/empty")) == b"", "empty")
    ensure(get(P("data/deep/deeper/leaf.txt")) == LEAF, "leaf.txt")
    ensure(get(P("data/bytes.bin")) == bytes(range(256)), "bytes.bin")
    s = os.stat(P("hello.txt"))
    ensure(st_.S_ISREG(s.st_mode) and s.st_size == len(HELLO) and s.st_nlink == 1, f"{s}")
    ensure(os.stat(P("data")).st_nlink == 3, f"data nlink {os.stat(P('data')).st_nlink}")
    ensure(os.stat(root).st_nlink == 3, f"root nlink {os.stat(root).st_nlink}")


def p_links():
    ensure(os.readlink(P("link-to-hello")) == "hello.txt", "readlink link-to-hello")
    ensure(os.readlink(P("data/up")) == "../hello.txt", "readlink data/up")
    ensure(get(P("link-to-hello")) == HELLO and get(P("data/up")) == HELLO, "read through the links")
    ensure(os.stat(P("link-to-hello")).st_size == len(HELLO), "stat through the link")
    ensure(os.path.islink(P("data/abs")), "data/abs is a link")
    expect_errno(lambda: os.readlink(P("data/abs")), errno.EPERM)
    expect_errno(lambda: os.stat(P("data/abs")), errno.EPERM)
    expect_errno(lambda: os.open(P("data/abs"), os.O_RDONLY), errno.EPERM)


def p_change():
    fd = os.open(P("hello.txt"), os.O_RDWR)
    os.pwrite(fd, b"HELLO", 0)
    os.close(fd)
    with open(P("data/numbers.csv"), "ab") as f:
        f.write(b"4,16\n")
    ensure(get(P("link-to-hello")).startswith(b"HELLO from"), "the change through the link")
    ensure(get(P("data/numbers.csv")) == CSV + b"4,16\n", "appended")
    put(P("data/empty"), b"no longer")
    os.truncate(P("data/deep/deeper/leaf.txt"), 0)
    ensure(os.stat(P("data/deep/deeper/leaf.txt")).st_size == 0, "truncated")
    os.rename(P("data/bytes.bin"), P("bytes.bin"))
    os.link(P("bytes.bin"), P("data/bytes-again"))
    ensure(os.stat(P("bytes.bin")).st_nlink == 2, "nlink")
    os.rename(P("data/deep"), P("deep"))
    ensure(os.path.isfile(P("deep/deeper/leaf.txt")), "renamed directory")
    os.unlink(P("link-to-hello"))
    os.symlink("data/numbers.csv", P("link-to-hello"))
    ensure(get(P("link-to-hello")) == CSV + b"4,16\n", "the new link")
    os.utime(P("hello.txt"), ns=(1300000000 * SEC + 1, 1300000000 * SEC + 2))
    ensure(os.stat(P("hello.txt")).st_mtime_ns == 1300000000 * SEC + 2, "times of a preloaded file")


def p_delete_all():
    for n in ("hello.txt", "bytes.bin", "link-to-hello", "data/numbers.csv", "data/empty",
              "data/bytes-again", "data/up", "data/abs", "deep/deeper/leaf.txt"):
        os.unlink(P(n))
    expect_errno(lambda: os.rmdir(P("deep")), errno.ENOTEMPTY)
    os.rmdir(P("deep/deeper"))
    os.rmdir(P("deep"))
    os.rmdir(P("data"))
    ensure(os.listdir(root) == [], f"left {os.listdir(root)}")
    ensure(os.stat(root).st_nlink == 2, "root nlink")


def p_leave_result():
    os.mkdir(P("result"))
    put(P("result/summary.txt"), b"preloaded tree changed and deleted\n")
    os.symlink("summary.txt", P("result/latest"))


def preloaded():
    check("preloaded: the listing (names and types)", p_listing)
    check("preloaded: file bytes, sizes, nlink", p_bytes)
    check("preloaded: symbolic links (relative, up, absolute EPERM)", p_links)
    check("preloaded: files written, appended, truncated, renamed, linked", p_change)
    check("preloaded: everything deleted", p_delete_all)
    check("preloaded: result/summary.txt and result/latest left for --mem-dir-out", p_leave_result)


# -- limits ------------------------------------------------------------------


def clear_root():
    for name in os.listdir(root):
        rm_rf(P(name))


def limits(files, total, file_size):
    # What componentize-py's libc gives for the three wasi:filesystem
    # error-codes (insufficient-space, quota, file-too-large): the WASI
    # errno numbers.
    def numbers():
        ensure((errno.ENOSPC, errno.EDQUOT, errno.EFBIG) == (51, 19, 22),
               f"ENOSPC {errno.ENOSPC}, EDQUOT {errno.EDQUOT}, EFBIG {errno.EFBIG}")

    check("limits: errno.ENOSPC 51, EDQUOT 19, EFBIG 22 (WASI numbering)", numbers)

    # os.write and file objects write through a wasi:io output stream; the
    # adapter reports a failed stream write as EIO, whatever the error
    # (--dir on a full tmpfs gives EIO for ENOSPC the same way). pwrite
    # (descriptor.write), ftruncate (set-size) and creating a name
    # (open-at, create-directory-at, symlink-at) carry the exact error.
    def file_size_limit():
        f = P("big")
        fd = os.open(f, os.O_RDWR | os.O_CREAT | os.O_TRUNC)
        try:
            ensure(os.write(fd, bytes(file_size)) == file_size, "a write of exactly --max-file-size")
            ensure_errnos(
                {"write": errno.EIO, "pwrite at the limit": errno.EFBIG, "pwrite past it": errno.EFBIG,
                 "ftruncate": errno.EFBIG},
                {"write": lambda: os.write(fd, b"x"), "pwrite at the limit": lambda: os.pwrite(fd, b"x", file_size),
                 "pwrite past it": lambda: os.pwrite(fd, b"x", file_size * 4),
                 "ftruncate": lambda: os.ftruncate(fd, file_size + 1)})
            ensure(os.fstat(fd).st_size == file_size, "size after refusals")
            os.ftruncate(fd, 10)
            ensure(os.pwrite(fd, b"y", file_size - 1) == 1, "growing back to the limit")
        finally:
            os.close(fd)
            clear_root()
        expect_errno(lambda: put(f, bytes(file_size + 1)), errno.EIO)
        ensure(os.stat(f).st_size <= file_size, f"open().write left {os.stat(f).st_size} bytes")
        os.unlink(f)

    check("limits: EFBIG past --max-file-size (pwrite, ftruncate; EIO from stream writes)", file_size_limit)

    def total_size_limit():
        half = file_size // 2
        try:
            n = 0
            left = total
            while left > 0:
                k = min(left, half)
                put(P(f"q{n}"), bytes(k))
                left -= k
                n += 1
            expect_errno(lambda: put(P("over"), b"x"), errno.EIO)
            ensure(os.stat(P("over")).st_size == 0, "a refused write left bytes")
            os.unlink(P("over"))
            fd = os.open(P("q0"), os.O_WRONLY)
            try:
                ensure(os.lseek(fd, 0, os.SEEK_END) == half, "q0's size")
                ensure_errnos(
                    {"write": errno.EIO, "pwrite": errno.EDQUOT, "ftruncate": errno.EDQUOT},
                    {"write": lambda: os.write(fd, b"x"), "pwrite": lambda: os.pwrite(fd, b"x", half + 100),
                     "ftruncate": lambda: os.ftruncate(fd, half + 1)})
                ensure(os.fstat(fd).st_size == half, "size after refusals")
                os.ftruncate(fd, half - 10)
                ensure(os.pwrite(fd, b"0123456789", half - 10) == 10, "writing the freed bytes")
                expect_errno(lambda: os.pwrite(fd, b"x", half), errno.EDQUOT)
                os.unlink(P("q0"))
                o = os.open(P("over"), os.O_WRONLY | os.O_CREAT)
                try:
                    expect_errno(lambda: os.pwrite(o, b"x", 0), errno.EDQUOT)
                finally:
                    os.close(o)
            finally:
                os.close(fd)
            # The unlinked file's bytes came back at close.
            o = os.open(P("over"), os.O_WRONLY)
            try:
                ensure(os.pwrite(o, b"x", 0) == 1, "closing the unlinked file gave no bytes back")
            finally:
                os.close(o)
            os.unlink(P("over"))
            put(P("q0"), bytes(half))
            expect_errno(lambda: os.symlink("some-target", P("over-link")), errno.EDQUOT)
            expect_errno(lambda: os.lstat(P("over-link")), errno.ENOENT)
            for i in range(n):
                os.unlink(P(f"q{i}"))
            put(P("after"), bytes(file_size))
            os.symlink("some-target", P("after-link"))
        finally:
            clear_root()

    check("limits: EDQUOT past --max-total-size (pwrite, ftruncate, symlink); shrink, unlink+close give bytes back", total_size_limit)

    def file_count_limit():
        try:
            os.mkdir(P("d0"))
            os.symlink("d0", P("s0"))
            for i in range(2, files):
                put(P(f"d0/f{i}"), b"")
            ensure_errnos(
                {"open(O_CREAT)": errno.ENOSPC, "open()": errno.ENOSPC, "mkdir": errno.ENOSPC,
                 "symlink": errno.ENOSPC},
                {"open(O_CREAT)": lambda: os.close(os.open(P("one-more"), os.O_WRONLY | os.O_CREAT)),
                 "open()": lambda: put(P("one-more"), b""),
                 "mkdir": lambda: os.mkdir(P("one-more-dir")),
                 "symlink": lambda: os.symlink("d0", P("one-more-link"))})
            expect_errno(lambda: os.lstat(P("one-more")), errno.ENOENT)
            fds = [os.open(P(f"d0/f{2 + i % 2}"), os.O_RDWR) for i in range(4)]
            try:
                ensure(os.write(fds[0], b"grow") == 4, "a write at the file limit")
            finally:
                for fd in fds:
                    os.close(fd)
            os.unlink(P("d0/f2"))
            os.close(os.open(P("one-more"), os.O_WRONLY | os.O_CREAT))
            expect_errno(lambda: os.mkdir(P("one-more-dir")), errno.ENOSPC)
            os.unlink(P("s0"))
            os.mkdir(P("one-more-dir"))
            expect_errno(lambda: put(P("again"), b""), errno.ENOSPC)
            os.rmdir(P("one-more-dir"))
            os.symlink("d0", P("one-more-link"))
            clear_root()
            for i in range(files):
                put(P(f"g{i}"), b"")
            expect_errno(lambda: put(P("g-over"), b""), errno.ENOSPC)
        finally:
            clear_root()

    check("limits: ENOSPC past --max-files (files, dirs, links); deleting frees", file_count_limit)
    check("the directory is empty at the end", empty_at_end)


# -- main --------------------------------------------------------------------


def usage():
    print("usage: memdir_test basic DIR | preloaded DIR | limits DIR FILES TOTAL FILE_SIZE", file=sys.stderr)
    raise Err(None)


class Run(exports.Run):
    def run(self) -> None:
        global root
        args = sys.argv[1:]
        if len(args) == 2 and args[0] == "basic":
            root = args[1]
            basic()
        elif len(args) == 2 and args[0] == "preloaded":
            root = args[1]
            preloaded()
        elif len(args) == 5 and args[0] == "limits":
            root = args[1]
            try:
                files, total, file_size = (int(a) for a in args[2:])
            except ValueError:
                usage()
            if file_size < 64 or total < file_size or files < total // (file_size // 2) + 4:
                print("memdir_test: limits needs FILE_SIZE >= 64, TOTAL >= FILE_SIZE and "
                      "FILES >= TOTAL / (FILE_SIZE / 2) + 4", file=sys.stderr)
                raise Err(None)
            limits(files, total, file_size)
        else:
            usage()
        if finish():
            raise Err(None)
