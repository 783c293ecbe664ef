"""A cross-process lock on the store folder, so two fetches or refreshes never interleave.

The lock is an `flock` on a small file: the kernel releases it when the holder exits, even on SIGKILL.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kpijmf.errors import StoreBusyError, StoreError
from kpijmf.messages import msg
from kpijmf.store.db import utc_now

POLL_SECONDS = 0.1


def _holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 500).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "another kpijmf process"


@contextmanager
def store_lock(
    folder: Path, command: str, timeout: float, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the store's write lock; wait at most `timeout` seconds, then raise StoreBusyError."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / "kpijmf.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"cannot create the lock file in {folder}: {exc.strerror}") from None
    try:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(fd)
                if time.monotonic() >= deadline:
                    raise StoreBusyError(
                        f"the store in {folder} is still in use by {holder} after {timeout:g} s; "
                        "try again later or raise KPIJMF_LOCK_TIMEOUT"
                    ) from None
                if not told and on_wait is not None:
                    seconds = int(timeout) if timeout == int(timeout) else timeout
                    on_wait(msg("lock_wait", seconds=seconds, holder=holder))
                    told = True
                time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"pid {os.getpid()} (kpijmf {command}, since {utc_now()})".encode())
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
