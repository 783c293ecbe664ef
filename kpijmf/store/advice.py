"""What to tell the user about a store that cannot be used: damaged (set it aside) or unwritable (it is intact).

The two must never be confused: a store holds the revision history, which cannot be fetched again.
"""

from __future__ import annotations

from pathlib import Path

from kpijmf.errors import StoreError

# SQLite's words for "the file is fine, but cannot be written (or its lock files cannot be made) here".
CANNOT_WRITE = ("readonly", "read-only", "disk is full", "disk i/o error", "unable to open database file")


def recovery_hint(path: Path) -> str:
    """What to do with a damaged store: set it aside, never delete it (its revision history is only there)."""
    return (
        f"move {path} aside (`kpijmf cache clear` does that) and fetch again; its values can be fetched "
        "again from Kolada, its revision history only from that file"
    )


def write_hint(folder: Path) -> str:
    """What to do when the store cannot be written: it is intact, so nothing should be moved or deleted."""
    return f"free disk space or fix the permissions of {folder}; nothing in the store is lost"


class DamagedStoreError(StoreError):
    """The store file is damaged (not merely unwritable): it may be set aside, never silently deleted."""


def damaged(path: Path, reason: str) -> DamagedStoreError:
    """The error for a store that opens but holds what kpijmf never writes."""
    return DamagedStoreError(f"the store {path} is damaged: {reason}; {recovery_hint(path)}")
