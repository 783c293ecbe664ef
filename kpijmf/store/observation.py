"""The observation table's layout: one row per kpi × year × unit (Kolada's data row), its genders side by side.

Kolada sends a cell's T, K and M values in one row, and the store keeps them so: a value, a count and a status
for each gender, and when the row last came. A gender the row lacked has a NULL status (a value published as
null has the status '' or Kolada's own). Writing folds records into these rows and merges a row into the stored
one gender by gender; reading gives one (kpi, year, unit_id, gender, value, count, status, fetched_at) tuple
per stored gender, the shape the rest of kpijmf sees.

Schema 1 kept one row per gender; `migrate_from_1` rewrites such a store in place.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from kpijmf.kolada.genders import GENDERS

if TYPE_CHECKING:  # pragma: no cover
    from kpijmf.kolada.client import DataRow

Cell = tuple[str, int, str]  # kpi, year, unit_id
Key = tuple[str, int, str, str]  # kpi, year, unit_id, gender

_FIELDS = ("value", "count", "status")
_LEAD = ("kpi", "year", "unit_id", "fetched_at")


def columns(gender: str) -> tuple[str, str, str]:
    """The value, count and status columns of a gender: t_value, t_count, t_status."""
    return tuple(f"{gender.lower()}_{field}" for field in _FIELDS)  # type: ignore[return-value]


_GENDER_COLUMNS = [c for g in GENDERS for c in columns(g)]
WIDTH = len(_LEAD) + len(_GENDER_COLUMNS)
_SLOT = {g: len(_LEAD) + i * len(_FIELDS) for i, g in enumerate(GENDERS)}  # where a gender's value sits in a row
_TYPES = {"value": "REAL", "count": "INTEGER", "status": "TEXT"}
_NO_GENDERS = (None,) * len(_GENDER_COLUMNS)

TABLE = (
    "CREATE TABLE observation (kpi TEXT NOT NULL, year INTEGER NOT NULL, unit_id TEXT NOT NULL, "
    "fetched_at TEXT NOT NULL, "
    + ", ".join(f"{c} {_TYPES[f]}" for g in GENDERS for c, f in zip(columns(g), _FIELDS, strict=True))
    + ", PRIMARY KEY (kpi, year, unit_id)) WITHOUT ROWID"
)
ROWS_PER_INSERT = 999 // WIDTH  # parameters below 999, the limit of SQLite builds before 3.32
# A row merges into the stored one: the genders it carries replace theirs, the others stay.
_MERGE = " ON CONFLICT DO UPDATE SET fetched_at = excluded.fetched_at, " + ", ".join(
    f"{c} = CASE WHEN excluded.{columns(g)[2]} IS NULL THEN {c} ELSE excluded.{c} END"
    for g in GENDERS
    for c in columns(g)
)
# Values, not rows: a gender held has a status.
VALUE_COUNT = "SELECT " + " + ".join(f"COUNT({columns(g)[2]})" for g in GENDERS) + " FROM observation"


def any_value(genders: Sequence[str] = GENDERS) -> str:
    """SQL: the row has a non-null value for one of these genders."""
    return _any_not_null(genders, "value")


def _any_gender(genders: Sequence[str]) -> str:
    """SQL: the row holds one of these genders (its status is set)."""
    return _any_not_null(genders, "status")


def _any_not_null(genders: Sequence[str], field: str) -> str:
    column = _FIELDS.index(field)
    return "(" + " OR ".join(f"{columns(g)[column]} IS NOT NULL" for g in genders) + ")"


@functools.lru_cache(maxsize=4)
def insert_sql(rows: int) -> str:
    """INSERT of `rows` observation rows in one statement, each merged into a stored row of its cell."""
    row = "(" + ",".join("?" * WIDTH) + ")"
    return "INSERT INTO observation VALUES " + ",".join([row] * rows) + _MERGE


def fold(rows: Iterable[DataRow], fetched_at: str) -> tuple[list[Any], int]:
    """The data rows as observation rows, flattened into one parameter list, and how many values they hold.
    Consecutive rows of one cell share an observation row; a cell met again later gets one of its own, which the
    insert merges. Withdrawal marks are left out (the writer settles them)."""
    values: list[Any] = []
    extend = values.extend
    slot = _SLOT
    last: tuple[str, int, str] | None = None
    row: list[Any] = []
    filled = 0
    for r in rows:
        cell = (r.kpi, r.year, r.unit_id)
        if cell != last:
            extend(row)
            row = [r.kpi, r.year, r.unit_id, fetched_at, *_NO_GENDERS]
            last = cell
        for e in r.entries:
            if e.deleted:
                continue
            i = slot[e.gender]
            filled += row[i + 2] is None
            row[i] = e.value
            row[i + 1] = e.count
            row[i + 2] = e.status or ""
    extend(row)
    return values, filled


def select(genders: Sequence[str] = GENDERS, stamp: str = "fetched_at") -> str:
    """SELECT of the cells that hold one of these genders, their columns in `unpack`'s order (`stamp`: the SQL
    giving fetched_at); the caller adds a WHERE clause's conditions after "AND"."""
    wanted = ", ".join(c for g in genders for c in columns(g))
    return f"SELECT kpi, year, unit_id, {stamp}, {wanted} FROM observation WHERE {_any_gender(genders)}"


def unpack(rows: Iterable[Sequence[Any]], genders: Sequence[str] = GENDERS) -> list[tuple]:
    """Rows read by `select(genders)` as (kpi, year, unit_id, gender, value, count, status, fetched_at), one per
    gender the cell holds."""
    out: list[tuple] = []
    append = out.append
    for row in rows:
        kpi, year, unit, fetched_at = row[0], row[1], row[2], row[3]
        at = 4
        for gender in genders:
            status = row[at + 2]
            if status is not None:
                append((kpi, year, unit, gender, row[at], row[at + 1], status, fetched_at))
            at += 3
    return out


def clear_genders(conn: sqlite3.Connection, keys: Sequence[Key]) -> None:
    """Remove these stored values: their gender's columns emptied, and a cell left with no gender deleted."""
    for gender in GENDERS:
        cells = [key[:3] for key in keys if key[3] == gender]
        if cells:
            emptied = ", ".join(f"{c} = NULL" for c in columns(gender))
            conn.executemany(f"UPDATE observation SET {emptied} WHERE kpi = ? AND year = ? AND unit_id = ?", cells)
    conn.executemany(
        f"DELETE FROM observation WHERE kpi = ? AND year = ? AND unit_id = ? AND NOT {_any_gender(GENDERS)}",
        sorted({key[:3] for key in keys}),
    )


def migrate_from_1(conn: sqlite3.Connection) -> str | None:
    """Rewrite schema 1's observation table (a row per gender) in this layout, inside the caller's transaction;
    the cell's newest fetch time becomes the row's. Returns why it cannot (values of another gender), or None."""
    others = conn.execute(
        f"SELECT COUNT(*) FROM observation WHERE gender NOT IN ({','.join('?' * len(GENDERS))})", GENDERS
    ).fetchone()[0]
    if others:
        return f"it holds values of a gender other than {', '.join(GENDERS)} ({others})"
    conn.execute(TABLE.replace("CREATE TABLE observation", "CREATE TABLE observation_new", 1))
    picked = ", ".join(f"MAX(CASE WHEN gender = '{g}' THEN {f} END)" for g in GENDERS for f in _FIELDS)
    conn.execute(
        f"INSERT INTO observation_new SELECT kpi, year, unit_id, MAX(fetched_at), {picked} "
        "FROM observation GROUP BY kpi, year, unit_id"
    )
    conn.execute("DROP TABLE observation")
    conn.execute("ALTER TABLE observation_new RENAME TO observation")
    return None
