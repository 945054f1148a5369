"""The check harness the Python test guests share.

A check is a function; `check(name, fn)` runs it and prints "ok: NAME", or
"FAIL: NAME: TYPE: WHY (line N)" with the line in the check itself.
`finish()` prints "N passed, M failed" and says whether any failed.
"""

import errno
import traceback

passed = 0
failed = 0

# Frames of these helpers are not where a check failed.
_HELPERS = {"ensure", "check", "expect_errno", "expect_os_error", "refused"}


class CheckFailed(Exception):
    pass


def ensure(cond, why):
    if not cond:
        raise CheckFailed(why)


def check(name, fn):
    global passed, failed
    try:
        fn()
    except Exception as e:  # a check fails on anything it did not expect
        failed += 1
        frames = [f for f in traceback.extract_tb(e.__traceback__) if f.name not in _HELPERS]
        line = frames[-1].lineno if frames else "?"
        print(f"FAIL: {name}: {type(e).__name__}: {e} (line {line})")
    else:
        passed += 1
        print(f"ok: {name}")


def name_of(num):
    return errno.errorcode.get(num, str(num))


def finish():
    """Prints the summary; true if any check failed."""
    print(f"{passed} passed, {failed} failed")
    return failed > 0
