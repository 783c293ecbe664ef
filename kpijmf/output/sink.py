"""Where finished bytes go: stdout, a device or FIFO written in place, or a regular file replaced atomically.

The one place that writes output files. A regular file (or a path not there yet) is written to a temporary file
beside it and renamed over it, so a reader or a killed run never sees half a file. Anything else the path names
(a character or block device, a FIFO, a socket, or a symlink to one: `/dev/null`, `/dev/stdout` into a pipe) is
written to directly: renaming over `/dev/null` would turn the machine's device into a regular file. Every
failure is an `OutputError` naming the path and the cause, in one line.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from collections.abc import Iterator

from kpijmf.errors import OutputError

STDOUT_NAMES = ("-",)


def write_output(data: bytes, path: str | None) -> None:
    """Write to stdout (path None or "-"), in place to a device/FIFO/socket, or atomically to a regular file."""
    if path is None or path in STDOUT_NAMES:
        write_stdout(data)
        return
    if not path.strip():
        raise OutputError("cannot write '': empty file name")
    if "\x00" in path:
        raise OutputError(f"cannot write {path!r}: a file name cannot hold a NUL character")
    try:
        found = os.stat(path)  # follows symlinks: what a write would reach
    except FileNotFoundError:
        found = None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {reason(exc)}") from exc
    if found is not None and stat.S_ISDIR(found.st_mode):
        raise OutputError(f"cannot write {path}: is a directory")
    if found is not None and not stat.S_ISREG(found.st_mode):
        _write_in_place(data, path, found)
        return
    _replace_atomically(data, path)


def write_stdout(data: bytes) -> None:
    """Write bytes to stdout; a full disk or an I/O error is an OutputError (a closed pipe stays BrokenPipeError)."""
    with stdout_errors():
        sys.stdout.flush()  # text printed before stays before
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


@contextlib.contextmanager
def stdout_errors() -> Iterator[None]:
    """Turn an OSError while writing to stdout (ENOSPC on `> /dev/full`, EIO) into one OutputError line.

    BrokenPipeError passes: the reader went away (`| head`), which the CLI ends quietly."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write to stdout: {reason(exc)}") from exc


def reason(exc: OSError) -> str:
    """An OSError's cause as a lower-case phrase: "no space left on device"."""
    text = exc.strerror or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]


def _is_stdout(found: os.stat_result) -> bool:
    try:
        here = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real stdout (captured by a test, closed)
        return False
    return (here.st_dev, here.st_ino) == (found.st_dev, found.st_ino)


def _write_in_place(data: bytes, path: str, found: os.stat_result) -> None:
    """A device, FIFO or socket: written to as it is, never replaced."""
    if _is_stdout(found):  # `-o /dev/stdout`: the same stream, in order with what was printed (also a socket)
        write_stdout(data)
        return
    if stat.S_ISSOCK(found.st_mode):
        raise OutputError(f"cannot write {path}: is a socket")
    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {reason(exc)}") from exc
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            raise OutputError(f"cannot write {path}: the reader closed it") from exc
        raise OutputError(f"cannot write {path}: {reason(exc)}") from exc
    finally:
        os.close(fd)


def _replace_atomically(data: bytes, path: str) -> None:
    """A regular file or a new one: a temp file beside it (beside the link's target for a symlink), then rename."""
    target = os.path.realpath(path) if os.path.islink(path) else path
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        raise OutputError(f"cannot write {path}: no such directory {directory}")
    tmp = os.path.join(directory, f".{os.path.basename(target)}.{os.urandom(4).hex()}.tmp")
    try:
        # O_EXCL: never follow or reuse someone else's file; mode 0o666 lets the umask decide as for open().
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {reason(exc)}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if os.path.exists(target):
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))  # replacing keeps the old file's mode
        os.replace(tmp, target)
    except OSError as exc:
        _discard(tmp)
        raise OutputError(f"cannot write {path}: {reason(exc)}") from exc
    except BaseException:
        _discard(tmp)
        raise


def _discard(tmp: str) -> None:
    # A leftover temp file is the lesser problem; the caller is about to see the real error.
    with contextlib.suppress(OSError):
        os.unlink(tmp)
