"""Writing fetched values into the store, batch by batch, inside one transaction, keeping revisions.

A DataWriter is used between `store.atomic()` enter and exit: `add()` each batch as it arrives (so the
write overlaps the network wait for the other batches), then `finish()` once with the whole scope. Any
exception before the transaction commits leaves the store exactly as it was.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from kpijmf.store import observation
from kpijmf.store.advice import damaged
from kpijmf.store.observation import Cell, Key

if TYPE_CHECKING:  # pragma: no cover
    from kpijmf.kolada.client import DataRecord, DataRow

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


class Block(NamedTuple):
    """The cells kpis × years × units that one fetch request plan (or refresh job) covers."""

    kpis: Sequence[str]
    years: Sequence[int]
    units: Sequence[str]


def cell_count(blocks: Iterable[Block]) -> int:
    """How many (kpi, year, unit) cells the blocks cover (blocks of one write do not overlap)."""
    return sum(len(b.kpis) * len(b.years) * len(b.units) for b in blocks)


def log_fetch(conn: sqlite3.Connection, log: FetchLogEntry, finished_at: str, summary: WriteSummary) -> None:
    """Add one line to the fetch log."""
    conn.execute(
        "INSERT INTO fetch_log (started_at, finished_at, command, kpis, units, years, from_date, "
        "requests, bytes, rows, revisions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            log.started_at, finished_at, log.command, ",".join(log.kpis), log.units,
            ",".join(map(str, log.years)), log.from_date, log.requests, log.bytes, summary.rows,
            summary.changed + summary.removed,
        ),
    )  # fmt: skip


@functools.cache
def sqlite_has_json() -> bool:
    """True when this SQLite has json_each (built in since 3.38; an option before)."""
    try:
        with contextlib.closing(sqlite3.connect(":memory:")) as conn:
            conn.execute("SELECT value FROM json_each('[1]')").fetchall()
    except sqlite3.OperationalError:
        return False
    return True


def qmarks(items: Sequence[Any]) -> str:
    """ "?,?,?" for an SQL IN list of these items."""
    return ",".join("?" * len(items))


def _rows_of(records: Iterable[DataRecord]) -> list[DataRow]:
    """Values back into data rows: one per run of consecutive values of a cell."""
    # Here, not at the top: a store opened to read (compare, cache info) then never imports msgspec.
    from kpijmf.kolada.parse import DataEntry, DataRow

    return [
        DataRow(kpi, unit, year, tuple(DataEntry(r.gender, r.value, r.count, r.status) for r in run))
        for (kpi, year, unit), run in itertools.groupby(records, key=lambda r: (r.kpi, r.year, r.unit_id))
    ]


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= VALUE_TOLERANCE


class DataWriter:
    """Adds batches of records to an open transaction; `finish()` settles coverage and removals.

    Full mode: the records are the whole truth for every scope cell, so a stored value the records lack is
    removed. Incremental mode (`from_date`): only the records' keys change; `deleted` records remove values.
    First mode (a full fetch of cells none of which was fetched before): there is nothing stored to compare
    with or remove, since values are only ever stored for covered cells, so values are just inserted.

    Outside first mode, `touched` collects the cells whose stored value changed, appeared or was removed
    (a value received again unchanged touches nothing): what a refresh must re-fetch group means for.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        fetched_at: str,
        *,
        incremental: bool = False,
        first: bool = False,
        path: Path = Path("store"),
    ) -> None:
        self._conn = conn
        self._path = path
        self._fetched_at = fetched_at
        self._incremental = incremental
        self._first = first and not incremental
        self._seen: set[Key] = set()
        self._rows = self._changed = self._removed = 0
        self.touched: set[Cell] = set()
        self._covered: list[Block] = []  # by cover_ahead()

    def _old(self, keys: Iterable[Key]) -> dict[Key, tuple[float | None, str]]:
        """Stored value and fetch time for the given keys (looked up by their kpis, years and units)."""
        wanted = set(keys)
        if not wanted:
            return {}
        kpis, years, units = (sorted({k[i] for k in wanted}) for i in (0, 1, 2))
        rows = self._conn.execute(
            f"{observation.select()} AND kpi IN ({qmarks(kpis)}) AND year IN ({qmarks(years)}) "
            f"AND unit_id IN ({qmarks(units)})",
            [*kpis, *years, *units],
        )
        old = {(k, y, u, g): (v, f) for k, y, u, g, v, _, _, f in observation.unpack(rows) if (k, y, u, g) in wanted}
        for value, _ in old.values():
            if value is not None and not isinstance(value, float | int):
                raise damaged(self._path, f"its observation table holds text where numbers belong ({value!r:.40})")
        return old

    def add(self, rows: Iterable[DataRow]) -> None:
        """Store one batch of data rows: new and changed values (changes kept as revisions); withdrawn values
        removed (a change feed's marks: a full fetch ignores them). In first mode the rows are stored as they
        are; otherwise value by value (`DataRow.records()`), each compared with the stored one."""
        if self._first:
            self._rows += self._insert(rows)
            return
        new: dict[Key, DataRecord] = {}
        deleted: set[Key] = set()
        incremental = self._incremental
        for rec in (r for row in rows for r in row.records()):
            key = (rec.kpi, rec.year, rec.unit_id, rec.gender)
            if rec.deleted:
                if incremental:  # a full fetch never carries withdrawals; absent values are settled in finish()
                    deleted.add(key)
                    new.pop(key, None)
            else:
                new[key] = rec
                if deleted:
                    deleted.discard(key)
        self._rows += len(new)
        old = self._old(new.keys() | deleted)
        revisions = [
            (*key, old[key][0], rec.value, old[key][1], self._fetched_at, "changed")
            for key, rec in new.items()
            if key in old and not _same(old[key][0], rec.value)
        ]
        self._changed += len(revisions)
        self.touched.update(r[:3] for r in revisions)
        self.touched.update(key[:3] for key in new if key not in old)
        self._remove([key for key in deleted if key in old], old)
        self._insert(_rows_of(new.values()))
        self._record(revisions)
        self._seen.update(new)

    def _insert(self, rows: Iterable[DataRow]) -> int:
        """Store the rows in arrival order, one observation row per cell (`observation.fold`), many rows per
        statement; a cell's stored row keeps the genders these lack. Returns how many values they held.

        executemany's row-at-a-time costs more per row, most of all while other threads run: it hands the GIL
        over around every row. (Sorting into key order first cost more than the B-tree locality it bought.)"""
        values, filled = observation.fold(rows, self._fetched_at)
        width = observation.WIDTH
        step = observation.ROWS_PER_INSERT * width
        for start in range(0, len(values), step):
            chunk = values[start : start + step]
            self._conn.execute(observation.insert_sql(len(chunk) // width), chunk)
        return filled

    def _remove(self, keys: list[Key], old: dict[Key, tuple[float | None, str]]) -> None:
        observation.clear_genders(self._conn, keys)
        self._record([(*key, old[key][0], None, old[key][1], self._fetched_at, "removed") for key in keys])
        self._removed += len(keys)
        self.touched.update(key[:3] for key in keys)

    def _record(self, revisions: list[tuple]) -> None:
        self._conn.executemany(
            "INSERT INTO revision (kpi, year, unit_id, gender, old_value, new_value, old_fetched_at, seen_at, kind) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            revisions,
        )

    def cover_ahead(self, blocks: Sequence[Block]) -> None:
        """First mode: mark the blocks' cells fetched before their records come (nothing stored is compared or
        removed, so coverage does not depend on them), while the answers are still on the wire; `finish()` then
        covers only the blocks not covered here. Outside first mode, coverage waits for `finish()`."""
        if not self._first:
            raise ValueError("coverage can only be written ahead in first mode")
        for block in blocks:
            if block.kpis and block.years and block.units and block not in self._covered:
                self._cover(block)
                self._covered.append(block)

    def finish(self, blocks: Sequence[Block]) -> WriteSummary:
        """Mark the blocks' cells fetched and remove (full mode) stored values the fetch no longer has."""
        blocks = [b for b in blocks if b.kpis and b.years and b.units]
        if not self._incremental and not self._first and blocks:
            self._remove_absent(blocks)
        for block in blocks:
            if block not in self._covered:
                self._cover(block)
        return WriteSummary(rows=self._rows, changed=self._changed, removed=self._removed)

    def _cover(self, block: Block) -> None:
        """Mark every cell of the block fetched now: a cross product SQLite makes from three JSON lists (one
        statement, not a row per cell), or row by row where SQLite lacks its JSON functions (before 3.38,
        unless built with them)."""
        kpis, years, units = sorted(set(block.kpis)), sorted(set(block.years)), sorted(set(block.units))
        if sqlite_has_json():
            self._conn.execute(
                "INSERT OR REPLACE INTO coverage SELECT k.value, y.value, u.value, ? "
                "FROM json_each(?) AS k, json_each(?) AS y, json_each(?) AS u",
                (self._fetched_at, json.dumps(kpis), json.dumps(years), json.dumps(units)),
            )
        else:
            self._conn.executemany(
                "INSERT OR REPLACE INTO coverage VALUES (?, ?, ?, ?)",
                ((k, y, u, self._fetched_at) for k in kpis for y in years for u in units),
            )

    def _remove_absent(self, blocks: Sequence[Block]) -> None:
        """Remove stored values of cells fetched before whose value this fetch did not bring."""
        kpis = sorted({k for b in blocks for k in b.kpis})
        years = sorted({y for b in blocks for y in b.years})
        sets = [(set(b.kpis), set(b.years), set(b.units)) for b in blocks]

        def in_scope(kpi: str, year: int, unit: str) -> bool:
            return any(kpi in ks and year in ys and unit in us for ks, ys, us in sets)

        # Values are only ever stored for covered cells, so only cells covered before can lose one.
        before = {
            cell
            for cell in self._conn.execute(
                f"SELECT kpi, year, unit_id FROM coverage WHERE kpi IN ({qmarks(kpis)}) AND year IN ({qmarks(years)})",
                [*kpis, *years],
            )
            if in_scope(*cell)
        }
        if not before:
            return
        rows = self._conn.execute(
            f"{observation.select()} AND kpi IN ({qmarks(kpis)}) AND year IN ({qmarks(years)})", [*kpis, *years]
        )
        old = {
            (k, y, u, g): (v, f)
            for k, y, u, g, v, _, _, f in observation.unpack(rows)
            if (k, y, u) in before and (k, y, u, g) not in self._seen
        }
        self._remove(sorted(old), old)
