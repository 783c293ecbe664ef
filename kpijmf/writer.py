"""Writing fetched values into the store, batch by batch, inside one transaction, keeping revisions.

A DataWriter is used between `store.atomic()` enter and exit: `add()` each batch as it arrives (so the
write overlaps the network wait for the other batches), then `finish()` once with the whole scope. Any
exception before the transaction commits leaves the store exactly as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from kpijmf.client import DataRecord

Cell = tuple[str, int, str]  # kpi, year, unit_id
Key = tuple[str, int, str, str]  # kpi, year, unit_id, gender
# Published values are rounded by Kolada; differences below this are not revisions.
VALUE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class WriteSummary:
    """What one data write changed."""

    rows: int
    changed: int
    removed: int


@dataclass(frozen=True)
class FetchLogEntry:
    """One line of the fetch log."""

    started_at: str
    command: str
    kpis: Sequence[str]
    units: int
    years: Sequence[int]
    from_date: str | None
    requests: int
    bytes: int


def qmarks(items: Sequence[Any]) -> str:
    """ "?,?,?" for an SQL IN list of these items."""
    return ",".join("?" * len(items))


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= VALUE_TOLERANCE


class DataWriter:
    """Adds batches of records to an open transaction; `finish()` settles coverage, removals and the log.

    Full mode: the records are the whole truth for every scope cell, so a stored value the records lack is
    removed. Incremental mode (`from_date`): only the records' keys change; `deleted` records remove values.
    """

    def __init__(self, conn: sqlite3.Connection, fetched_at: str, *, incremental: bool = False) -> None:
        self._conn = conn
        self._fetched_at = fetched_at
        self._incremental = incremental
        self._seen: set[Key] = set()
        self._rows = self._changed = self._removed = 0

    def _old(self, keys: Iterable[Key]) -> dict[Key, tuple[float | None, str]]:
        """Stored value and fetch time for the given keys (looked up by their kpis, years and units)."""
        wanted = set(keys)
        if not wanted:
            return {}
        kpis, years, units = (sorted({k[i] for k in wanted}) for i in (0, 1, 2))
        rows = self._conn.execute(
            "SELECT kpi, year, unit_id, gender, value, fetched_at FROM observation "
            f"WHERE kpi IN ({qmarks(kpis)}) AND year IN ({qmarks(years)}) AND unit_id IN ({qmarks(units)})",
            [*kpis, *years, *units],
        )
        return {(k, y, u, g): (v, f) for k, y, u, g, v, f in rows if (k, y, u, g) in wanted}

    def add(self, records: Iterable[DataRecord]) -> None:
        """Store one batch: new and changed values (changes kept as revisions), withdrawn values removed."""
        new: dict[Key, DataRecord] = {}
        deleted: set[Key] = set()
        for rec in records:
            key = (rec.kpi, rec.year, rec.unit_id, rec.gender)
            if rec.deleted:
                deleted.add(key)
                new.pop(key, None)
            else:
                new[key] = rec
                deleted.discard(key)
        if not self._incremental:
            deleted.clear()  # a full fetch never carries withdrawals; absent values are settled in finish()
        old = self._old(new.keys() | deleted)
        revisions = [
            (*key, old[key][0], rec.value, old[key][1], self._fetched_at, "changed")
            for key, rec in new.items()
            if key in old and not _same(old[key][0], rec.value)
        ]
        self._changed += len(revisions)
        self._remove([key for key in deleted if key in old], old)
        fetched_at = self._fetched_at
        self._conn.executemany(  # in primary-key order: B-tree appends instead of scattered page splits
            "INSERT OR REPLACE INTO observation VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            sorted((r.kpi, r.year, r.unit_id, r.gender, r.value, r.count, r.status, fetched_at) for r in new.values()),
        )
        self._record(revisions)
        self._seen.update(new)
        self._rows += len(new)

    def _remove(self, keys: list[Key], old: dict[Key, tuple[float | None, str]]) -> None:
        self._conn.executemany(
            "DELETE FROM observation WHERE kpi = ? AND year = ? AND unit_id = ? AND gender = ?", keys
        )
        self._record([(*key, old[key][0], None, old[key][1], self._fetched_at, "removed") for key in keys])
        self._removed += len(keys)

    def _record(self, revisions: list[tuple]) -> None:
        self._conn.executemany(
            "INSERT INTO revision (kpi, year, unit_id, gender, old_value, new_value, old_fetched_at, seen_at, kind) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            revisions,
        )

    def finish(self, scope: Iterable[Cell], log: FetchLogEntry) -> WriteSummary:
        """Mark the scope fetched, remove (full mode) stored values the fetch no longer has, log the fetch."""
        scope = set(scope)
        kpis, years = sorted({c[0] for c in scope}), sorted({c[1] for c in scope})
        if not self._incremental and scope:
            # Values are only ever stored for covered cells, so only cells covered before can lose one.
            before = {
                cell
                for cell in self._conn.execute(
                    "SELECT kpi, year, unit_id FROM coverage "
                    f"WHERE kpi IN ({qmarks(kpis)}) AND year IN ({qmarks(years)})",
                    [*kpis, *years],
                )
                if cell in scope
            }
            old = {
                (k, y, u, g): (v, f)
                for k, y, u, g, v, f in self._conn.execute(
                    "SELECT kpi, year, unit_id, gender, value, fetched_at FROM observation "
                    f"WHERE kpi IN ({qmarks(kpis)}) AND year IN ({qmarks(years)})",
                    [*kpis, *years],
                )
                if (k, y, u) in before and (k, y, u, g) not in self._seen
            } if before else {}  # fmt: skip
            self._remove(sorted(old), old)
        self._conn.executemany(
            "INSERT OR REPLACE INTO coverage VALUES (?, ?, ?, ?)", sorted((*cell, self._fetched_at) for cell in scope)
        )
        self._conn.execute(
            "INSERT INTO fetch_log (started_at, finished_at, command, kpis, units, years, from_date, "
            "requests, bytes, rows, revisions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                log.started_at, self._fetched_at, log.command, ",".join(log.kpis), log.units,
                ",".join(map(str, log.years)), log.from_date, log.requests, log.bytes, self._rows,
                self._changed + self._removed,
            ),
        )  # fmt: skip
        return WriteSummary(rows=self._rows, changed=self._changed, removed=self._removed)
