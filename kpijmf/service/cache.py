"""`kpijmf cache info|clear` as service steps: the CLI reaches the store only through here.

Clearing keeps the revision history (it cannot be fetched again) unless everything is asked for; a damaged
store is set aside, never deleted without being asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kpijmf.config import Settings
from kpijmf.errors import StoreError
from kpijmf.store.advice import DamagedStoreError, write_hint
from kpijmf.store.db import Store, remove_store_files
from kpijmf.store.lock import store_lock

_COMPANIONS = ("", "-wal", "-shm")


@dataclass(frozen=True)
class Cleared:
    """What `cache clear` did: rows removed per table (history kept), files removed (--all), or where a
    damaged store was moved to."""

    path: Path
    rows: dict[str, int] = field(default_factory=dict)
    kept_revisions: int = 0
    removed_files: list[Path] = field(default_factory=list)
    moved_to: Path | None = None
    damage: str = ""


def store_info(settings: Settings) -> dict[str, Any]:
    """Counts and dates of the store (`kpijmf cache info`); StoreError when there is none or it is damaged."""
    with Store.open(settings.store_path, create=False) as store:
        return store.info()


def clear_store(
    settings: Settings, *, everything: bool = False, on_wait: Callable[[str], None] | None = None
) -> Cleared:
    """Empty the store but keep its revision history; `everything` deletes the files, history included.

    A damaged store cannot be emptied in place: it is moved aside (kpijmf.sqlite.damaged-<time>) instead."""
    path = settings.store_path
    with store_lock(settings.resolved_cache_dir, "cache clear", settings.lock_timeout, on_wait):
        if everything:
            return Cleared(path, removed_files=remove_store_files(path))
        if not path.exists():
            return Cleared(path)
        try:
            store = Store.open(path, create=False)
        except DamagedStoreError as exc:
            return Cleared(path, moved_to=_move_aside(path), damage=str(exc))
        with store:
            rows = store.clear()
            kept = store.info()["counts"]["revision"]
        return Cleared(path, rows=rows, kept_revisions=kept)


def _move_aside(path: Path) -> Path:
    """Rename the store file (and its WAL/SHM companions) to a dated name beside it; return the new path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    try:
        for suffix in _COMPANIONS:
            source = path.with_name(path.name + suffix)
            if source.exists():
                source.rename(target.with_name(target.name + suffix))
    except OSError as exc:
        reason = f"cannot move the damaged store {path} aside: {exc.strerror}"
        raise StoreError(f"{reason}; {write_hint(path.parent)}") from None
    return target
