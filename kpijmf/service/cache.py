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
from kpijmf.store.db import Store, move_store, remove_store_files
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


def move_former_store(settings: Settings, on_wait: Callable[[str], None] | None = None) -> Path | None:
    """Move the store from the user cache dir, where kpijmf kept it by default before, to the user data dir
    (once; never with KPIJMF_CACHE_DIR). Returns where it was, or None when there was nothing to move."""
    former_dir = settings.former_store_dir
    if former_dir is None:
        return None
    former, path = former_dir / settings.store_path.name, settings.store_path
    if not former.exists() or path.exists():
        return None
    with store_lock(former_dir, "move to the data dir", settings.lock_timeout, on_wait):
        if not former.exists() or path.exists():  # another kpijmf process moved it while we waited
            return None
        try:
            move_store(former, path)
        except OSError as exc:
            raise StoreError(
                f"cannot move the store from {former} to {path}: {exc.strerror or exc}; "
                f"{write_hint(path.parent)}, or set KPIJMF_CACHE_DIR={former_dir} to keep it where it is"
            ) from None
    return former


def store_path(settings: Settings) -> Path:
    """The store file's path (`kpijmf cache path`), after moving a store from its former default place."""
    move_former_store(settings)
    return settings.store_path


def store_info(settings: Settings) -> dict[str, Any]:
    """Counts and dates of the store (`kpijmf cache info`); StoreError when there is none or it is damaged."""
    move_former_store(settings)
    with Store.open(settings.store_path, create=False) as store:
        return store.info()


def clear_store(
    settings: Settings, *, everything: bool = False, on_wait: Callable[[str], None] | None = None
) -> Cleared:
    """Empty the store but keep its revision history; `everything` deletes the files, history included.

    A damaged store cannot be emptied in place: it is moved aside (kpijmf.sqlite.damaged-<time>) instead."""
    move_former_store(settings, on_wait)
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
