"""The local store: one SQLite file with metadata, observations, coverage, revisions and a fetch log.

Every write happens in one transaction, so a failed or killed fetch leaves the previous content as it was.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpijmf.errors import StoreBusyError, StoreError
from kpijmf.kolada.genders import GENDERS
from kpijmf.store import observation
from kpijmf.store.advice import CANNOT_WRITE, DamagedStoreError, damaged, recovery_hint, write_hint
from kpijmf.store.writer import Block, Cell, DataWriter, FetchLogEntry, WriteSummary, log_fetch, qmarks

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from kpijmf.kolada.client import DataRow

SCHEMA_VERSION = 2  # 2: one observation row per kpi × year × unit (kpijmf.store.observation); 1 is migrated
_KEPT_BY_CLEAR = frozenset({"meta", "revision", "fetch_log", "sqlite_sequence"})  # the history, and the version
BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE kpi (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
    is_divided_by_gender INTEGER NOT NULL DEFAULT 0, municipality_type TEXT NOT NULL DEFAULT '',
    operating_area TEXT NOT NULL DEFAULT '', prel_publication_date TEXT, publication_date TEXT,
    publ_period TEXT, raw TEXT NOT NULL);
CREATE TABLE municipality (id TEXT PRIMARY KEY, title TEXT NOT NULL, type TEXT NOT NULL);
CREATE TABLE muni_group (id TEXT PRIMARY KEY, title TEXT NOT NULL);
CREATE TABLE group_member (
    group_id TEXT NOT NULL, member_id TEXT NOT NULL, PRIMARY KEY (group_id, member_id)) WITHOUT ROWID;
{observation};
CREATE TABLE coverage (
    kpi TEXT NOT NULL, year INTEGER NOT NULL, unit_id TEXT NOT NULL, fetched_at TEXT NOT NULL,
    PRIMARY KEY (kpi, year, unit_id)) WITHOUT ROWID;
CREATE TABLE revision (
    id INTEGER PRIMARY KEY, kpi TEXT NOT NULL, year INTEGER NOT NULL, unit_id TEXT NOT NULL,
    gender TEXT NOT NULL, old_value REAL, new_value REAL, old_fetched_at TEXT, seen_at TEXT NOT NULL,
    kind TEXT NOT NULL);
CREATE INDEX revision_seen ON revision (seen_at);
CREATE TABLE refresh_state (kpi TEXT PRIMARY KEY, last_refresh TEXT NOT NULL);
CREATE TABLE fetch_log (
    id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT NOT NULL, command TEXT NOT NULL,
    kpis TEXT NOT NULL, units INTEGER NOT NULL, years TEXT NOT NULL, from_date TEXT,
    requests INTEGER NOT NULL, bytes INTEGER NOT NULL, rows INTEGER NOT NULL, revisions INTEGER NOT NULL);
""".replace("{observation}", observation.TABLE)


def utc_now() -> str:
    """Now as an ISO-8601 UTC timestamp with seconds, e.g. 2026-11-23T13:50:02Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> datetime:
    """Parse a timestamp written by utc_now()."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


class Store:
    """A kpijmf store file. Open with `Store.open(path)`; use as a context manager."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    # -- opening -------------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, create: bool = True) -> Store:
        """Open (and if needed create) the store; raise StoreError for a corrupt or newer file."""
        if not create and not path.exists():
            raise StoreError(f"no store at {path} yet: run `kpijmf fetch` first")
        if path.is_dir():
            raise StoreError(
                f"the store path {path} is a folder, not a store file; move it aside, "
                "or set KPIJMF_CACHE_DIR to another folder"
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the store folder {path.parent}: {exc.strerror}; {write_hint(path.parent)}"
            ) from None
        if not path.exists():
            cls._create(path)
        elif path.is_file() and path.stat().st_size == 0:
            # kpijmf never leaves an empty file (see _create): this one was truncated or damaged, and
            # silently starting afresh in it would hide the loss of the stored revisions.
            raise DamagedStoreError(f"the store {path} is an empty file (0 bytes); {recovery_hint(path)}")
        try:
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the store {path}: {exc}") from None
        store = cls(conn, path)
        try:
            with store._guard():
                store._prepare()
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def _create(cls, path: Path) -> None:
        """Make a new, empty store beside `path` and link it into place in one step, so a process killed
        meanwhile never leaves a half-made store, and a store another process made first is kept."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
        try:
            conn = sqlite3.connect(tmp, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            try:
                fresh = cls(conn, tmp)
                with fresh._guard():
                    fresh._prepare()
            finally:
                conn.close()  # the last connection: SQLite folds the WAL into the file and removes it
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another kpijmf process created the store meanwhile: use theirs
            except OSError:  # a file system without hard links: a plain rename, unless one appeared
                if not path.exists():
                    os.replace(tmp, path)
        except (OSError, sqlite3.Error) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise StoreError(f"cannot create the store {path}: {reason}; {write_hint(path.parent)}") from None
        finally:
            for leftover in (tmp, *(tmp.with_name(tmp.name + suffix) for suffix in ("-wal", "-shm", "-journal"))):
                with contextlib.suppress(OSError):
                    leftover.unlink()

    def _prepare(self) -> None:
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # With WAL, NORMAL keeps the file consistent on any crash; only the last commit may be lost on power loss.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA cache_size = -65536")  # 64 MB: a whole fetch's pages stay in memory
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                if not conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone():
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(
                        "INSERT INTO meta (key, value) VALUES ('schema_version', ?), ('created_at', ?)",
                        (str(SCHEMA_VERSION), utc_now()),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return
        if "meta" not in tables:
            raise DamagedStoreError(f"{self.path} is a SQLite file but not a kpijmf store; {recovery_hint(self.path)}")
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        try:
            version = int(row[0]) if row else 0
        except (TypeError, ValueError):
            raise damaged(self.path, f"its schema_version is {row[0]!r}, not a number") from None
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the store {self.path} was written by a newer kpijmf (schema {version}, this one reads "
                f"{SCHEMA_VERSION}); upgrade kpijmf, or set KPIJMF_CACHE_DIR to another folder"
            )
        if version == 1:
            self._migrate_from_1()
        elif version < SCHEMA_VERSION:
            raise damaged(self.path, f"it has an unknown schema {version}")

    def _migrate_from_1(self) -> None:
        """Rewrite a schema 1 store in this schema, in one transaction (another process may have done it first)."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "1":
                why = observation.migrate_from_1(conn)
                if why is not None:
                    raise StoreError(
                        f"this kpijmf cannot read the store {self.path} (schema 1): {why}; keep using the kpijmf "
                        "that wrote it, or set KPIJMF_CACHE_DIR to another folder"
                    )
                conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn SQLite failures into StoreError / StoreBusyError with a recovery path."""
        try:
            yield
        except (sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise  # a bug in kpijmf, not a damaged file
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreBusyError(f"the store {self.path} stayed locked by another process: {exc}") from None
            if any(words in str(exc).lower() for words in CANNOT_WRITE):
                raise StoreError(
                    f"the store {self.path} cannot be written ({exc}); {write_hint(self.path.parent)}"
                ) from None
            raise damaged(self.path, f"it cannot be used ({exc})") from None
        except sqlite3.DatabaseError as exc:
            raise DamagedStoreError(f"the store {self.path} is corrupt ({exc}); {recovery_hint(self.path)}") from None

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction around several writes: all of them land, or none."""
        with self._transaction():
            yield

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if self._conn.in_transaction:  # inside atomic(): the outer transaction commits or rolls back
            yield self._conn
            return
        with self._guard():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._guard():
            return self._conn.execute(sql, params).fetchall()

    # -- meta ----------------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """A value from the meta table."""
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    # -- metadata ------------------------------------------------------------------------------------

    def metadata_fetched_at(self) -> str | None:
        """When municipality and group metadata (and the KPIs then stored) were last stored, or None."""
        return self.get_meta("metadata_fetched_at")

    def kpi_catalogue_fetched_at(self) -> str | None:
        """When Kolada's whole KPI catalogue was last stored, or None while the store holds only KPIs asked for
        by id (a fetch stores just the KPIs it names)."""
        return self.get_meta("kpi_catalogue_fetched_at")

    def write_metadata(
        self,
        kpis: Sequence[dict],
        municipalities: Sequence[dict],
        groups: Sequence[dict],
        fetched_at: str,
        *,
        catalogue: bool = False,
        asked: Sequence[str] = (),
    ) -> None:
        """Replace the municipalities and groups and store the KPIs (`catalogue`: Kolada's whole catalogue;
        `asked`: the ids they were asked for by; see `write_kpis`), in one transaction."""
        with self._transaction() as conn:
            self.write_kpis(kpis, catalogue_at=fetched_at if catalogue else None, asked=asked)
            conn.execute("DELETE FROM municipality")
            conn.executemany(
                "INSERT OR REPLACE INTO municipality VALUES (?, ?, ?)",
                ((m["id"], m.get("title") or m["id"], m.get("type") or "") for m in municipalities),
            )
            conn.execute("DELETE FROM muni_group")
            conn.execute("DELETE FROM group_member")
            conn.executemany(
                "INSERT OR REPLACE INTO muni_group VALUES (?, ?)",
                ((g["id"], g.get("title") or g["id"]) for g in groups),
            )
            conn.executemany(
                "INSERT OR IGNORE INTO group_member VALUES (?, ?)",
                ((g["id"], m["member_id"]) for g in groups for m in g.get("members") or []),
            )
            conn.execute(
                "INSERT OR REPLACE INTO meta VALUES ('metadata_fetched_at', ?)",
                (fetched_at,),
            )

    def write_kpis(self, kpis: Sequence[dict], *, catalogue_at: str | None = None, asked: Sequence[str] = ()) -> None:
        """Add (or replace) these KPIs, dropping no stored KPI; or, with `catalogue_at` (when it was fetched), store
        them as Kolada's whole catalogue, which replaces the stored KPIs.

        `asked`: the ids these KPIs were asked for by; those Kolada's answer lacked are kept as absent (see
        `kpis_absent`), those it had no longer are. The whole catalogue settles every id: none is kept absent."""
        found = {k["id"] for k in kpis}
        absent = set() if catalogue_at is not None else (self.kpis_absent() - found) | (set(asked) - found)
        with self._transaction() as conn:
            if catalogue_at is not None:
                conn.execute("DELETE FROM kpi")
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('kpi_catalogue_fetched_at', ?)", (catalogue_at,))
            _insert_kpis(conn, kpis)
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('kpis_absent', ?)", (json.dumps(sorted(absent)),))

    def kpis_absent(self) -> set[str]:
        """KPI ids asked for by id that Kolada did not have then: not asked for again until the metadata is
        renewed, and, offline, known not to be in Kolada rather than never fetched."""
        text = self.get_meta("kpis_absent")
        try:
            found = json.loads(text) if text else []
        except ValueError:
            raise damaged(self.path, "its list of absent KPIs is not JSON") from None
        return {k for k in found if isinstance(k, str)} if isinstance(found, list) else set()

    def kpi_ids(self, among: Sequence[str] | None = None) -> set[str]:
        """The ids of the stored KPIs (of `among`, when given)."""
        if among is None:
            return {i for (i,) in self._query("SELECT id FROM kpi")}
        if not among:
            return set()
        return {i for (i,) in self._query(f"SELECT id FROM kpi WHERE id IN ({qmarks(among)})", among)}

    # -- KPI groups: their own tables, made when first written, so stores of schema 1 need no migration --------

    _KPI_GROUP_SCHEMA = (
        "CREATE TABLE IF NOT EXISTS kpi_group (id TEXT PRIMARY KEY, title TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS kpi_group_member (group_id TEXT NOT NULL, kpi_id TEXT NOT NULL, "
        "kpi_title TEXT NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (group_id, kpi_id)) WITHOUT ROWID",
    )

    def write_kpi_groups(self, groups: Sequence[dict], fetched_at: str) -> None:
        """Replace the stored KPI groups (Kolada's /kpi_groups) in one transaction."""
        with self._transaction() as conn:
            for statement in self._KPI_GROUP_SCHEMA:
                conn.execute(statement)
            conn.execute("DELETE FROM kpi_group")
            conn.execute("DELETE FROM kpi_group_member")
            conn.executemany("INSERT OR REPLACE INTO kpi_group VALUES (?, ?)",
                             ((g["id"], g.get("title") or g["id"]) for g in groups))  # fmt: skip
            conn.executemany(
                "INSERT OR IGNORE INTO kpi_group_member VALUES (?, ?, ?, ?)",
                ((g["id"], m["member_id"], m.get("member_title") or "", i)
                 for g in groups for i, m in enumerate(g.get("members") or [])),
            )  # fmt: skip
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('kpi_groups_fetched_at', ?)", (fetched_at,))

    def kpi_groups(self) -> list[dict]:
        """The stored KPI groups, {"id", "title", "members": [{"member_id", "member_title"}]}; [] before any."""
        if not self._query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kpi_group'"):
            return []
        members: dict[str, list[dict]] = {}
        for group_id, kpi_id, kpi_title in self._query(
            "SELECT group_id, kpi_id, kpi_title FROM kpi_group_member ORDER BY group_id, position"
        ):
            members.setdefault(group_id, []).append({"member_id": kpi_id, "member_title": kpi_title})
        return [{"id": i, "title": t, "members": members.get(i, [])}
                for i, t in self._query("SELECT id, title FROM kpi_group ORDER BY id")]  # fmt: skip

    def kpis(self) -> list[dict]:
        """All stored KPI metadata as v3 dicts."""
        names = ["id", "title", "description", "is_divided_by_gender", "municipality_type", "operating_area",
                 "prel_publication_date", "publication_date", "publ_period"]  # fmt: skip
        rows = self._query(f"SELECT {', '.join(names)} FROM kpi ORDER BY id")
        kpis = [dict(zip(names, row, strict=True)) for row in rows]
        for kpi in kpis:
            kpi["is_divided_by_gender"] = bool(kpi["is_divided_by_gender"])
        return kpis

    def municipalities(self) -> list[dict]:
        """All stored municipalities (kommuner, regions, Riket)."""
        rows = self._query("SELECT id, title, type FROM municipality ORDER BY id")
        return [{"id": i, "title": t, "type": ty} for i, t, ty in rows]

    def groups(self) -> list[dict]:
        """All stored groups with member id tuples: {"id", "title", "members": (...)}."""
        members: dict[str, list[str]] = {}
        for gid, mid in self._query("SELECT group_id, member_id FROM group_member ORDER BY group_id, member_id"):
            members.setdefault(gid, []).append(mid)
        rows = self._query("SELECT id, title FROM muni_group ORDER BY id")
        return [{"id": gid, "title": title, "members": tuple(members.get(gid, ()))} for gid, title in rows]

    # -- data ----------------------------------------------------------------------------------------

    def count_covered(
        self, kpis: Sequence[str], years: Sequence[int], units: Sequence[str], fetched_after: str | None = None
    ) -> int:
        """How many of the kpis × years × units cells are already fetched (one indexed COUNT)."""
        if not kpis or not years or not units:
            return 0
        sql = (
            f"SELECT COUNT(*) FROM coverage WHERE kpi IN ({qmarks(kpis)}) AND year IN ({qmarks(years)}) "
            f"AND +unit_id IN ({qmarks(units)})"
        )
        params: list[Any] = [*kpis, *years, *units]
        if fetched_after is not None:
            sql += " AND fetched_at >= ?"
            params.append(fetched_after)
        return self._query(sql, params)[0][0]

    def covered_cells(self, kpis: Sequence[str], years: Sequence[int], fetched_after: str | None = None) -> set[Cell]:
        """The (kpi, year, unit) cells already fetched (optionally: fetched at or after a timestamp)."""
        if not kpis or not years:
            return set()
        sql = f"SELECT kpi, year, unit_id FROM coverage WHERE kpi IN ({qmarks(kpis)}) AND year IN ({qmarks(years)})"
        params: list[Any] = [*kpis, *years]
        if fetched_after is not None:
            sql += " AND fetched_at >= ?"
            params.append(fetched_after)
        return {(k, y, u) for k, y, u in self._query(sql, params)}

    def write_data(
        self,
        rows: Iterable[DataRow],
        blocks: Sequence[Block],
        fetched_at: str,
        log: FetchLogEntry,
        *,
        incremental: bool = False,
    ) -> WriteSummary:
        """Store one complete fetch of the blocks' cells in one transaction, keeping revisions (see DataWriter)."""
        with self.writer(fetched_at, incremental=incremental) as writer:
            writer.add(rows)
            summary = writer.finish(blocks)
            self.log_fetch(log, fetched_at, summary)
            return summary

    def log_fetch(self, log: FetchLogEntry, finished_at: str, summary: WriteSummary) -> None:
        """Add one line to the fetch log (inside the caller's transaction, if any)."""
        with self._transaction() as conn:
            log_fetch(conn, log, finished_at, summary)

    @contextmanager
    def writer(self, fetched_at: str, *, incremental: bool = False, first: bool = False) -> Iterator[DataWriter]:
        """A DataWriter inside one transaction: everything it wrote commits together, or nothing does."""
        with self._transaction() as conn:
            yield DataWriter(conn, fetched_at, incremental=incremental, first=first, path=self.path)

    def mark_refreshed(self, kpis: Sequence[str], day: str) -> None:
        """Remember the date of the last successful refresh of these KPIs (for `from_date`)."""
        with self._transaction() as conn:
            conn.executemany("INSERT OR REPLACE INTO refresh_state VALUES (?, ?)", ((k, day) for k in kpis))

    def last_refresh(self, kpi: str) -> str | None:
        """The date (YYYY-MM-DD) of the last successful fetch or refresh of a KPI, or None."""
        rows = self._query("SELECT last_refresh FROM refresh_state WHERE kpi = ?", (kpi,))
        return rows[0][0] if rows else None

    def stored_scope(self) -> dict[str, tuple[set[int], set[str]]]:
        """For each KPI in the store: the years and units it has been fetched for."""
        scope: dict[str, tuple[set[int], set[str]]] = {}
        for kpi, year, unit in self._query("SELECT kpi, year, unit_id FROM coverage"):
            years, units = scope.setdefault(kpi, (set(), set()))
            years.add(year)
            units.add(unit)
        return scope

    def observations(
        self,
        kpis: Sequence[str],
        years: Sequence[int] | Mapping[str, Sequence[int]] | None = None,
        units: Sequence[str] | None = None,
        genders: Sequence[str] | None = None,
        stamped: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Stored observations as a tidy frame: kpi, year, unit_id, gender, value, count, status, fetched_at.

        `years` is one list for every KPI, or each KPI's own (a KPI missing from the mapping gets none).
        `stamped` narrows only fetched_at (blank for other units); every other column is always read."""
        import pandas as pd

        if isinstance(years, Mapping):  # one query per distinct year list: no row of a year the KPI doesn't use
            by_years: dict[tuple[int, ...], list[str]] = {}
            for kpi in kpis:
                by_years.setdefault(tuple(years.get(kpi, ())), []).append(kpi)
            rows: list[tuple] = []
            for own, group in by_years.items():
                if own:
                    rows.extend(self._observation_rows(group, own, units, genders, stamped))
        else:
            rows = self._observation_rows(kpis, years, units, genders, stamped)
        columns = ["kpi", "year", "unit_id", "gender", "value", "count", "status", "fetched_at"]
        frame = pd.DataFrame.from_records(rows, columns=columns)
        try:
            frame["value"] = frame["value"].astype("float64")
            frame["count"] = frame["count"].astype("float64")
            frame["year"] = frame["year"].astype("int64")
        except (TypeError, ValueError) as exc:
            raise damaged(self.path, f"its observation table holds text where numbers belong ({exc})") from None
        return frame

    def _observation_rows(
        self,
        kpis: Sequence[str],
        years: Sequence[int] | None,
        units: Sequence[str] | None,
        genders: Sequence[str] | None,
        stamped: Sequence[str] | None,
    ) -> list[tuple]:
        # fetched_at is a long string per row: read it only for the units the caller shows (`stamped`).
        stamp = (
            f"CASE WHEN unit_id IN ({qmarks(stamped)}) THEN fetched_at ELSE '' END"
            if stamped is not None
            else "fetched_at"
        )
        shown = [g for g in GENDERS if genders is None or g in genders]
        if not kpis or not shown:
            return []
        clauses = [observation.select(shown, stamp), f"kpi IN ({qmarks(kpis)})"]
        params: list[Any] = [*(stamped or ()), *kpis]
        if years is not None:
            clauses.append(f"year IN ({qmarks(years)})")
            params.extend(years)
        if units is not None:  # "+": filter, don't seek — one range scan per kpi and year is faster
            clauses.append(f"+unit_id IN ({qmarks(units)})")
            params.extend(units)
        with self._guard():
            return observation.unpack(self._conn.execute(" AND ".join(clauses), params), shown)

    def years_with_data(self, kpis: Sequence[str], last: int, newest: int) -> list[int]:
        """The `last` most recent years (at most `newest`) with a non-null value for any of these KPIs, ascending.

        Probes year by year with an indexed EXISTS, newest first (down to the oldest stored year), instead of
        scanning every stored value."""
        found: list[int] = []
        if not kpis:
            return found
        # One indexed MIN per KPI (a seek to the first row of its primary-key range), not a scan.
        oldest = self._query(
            "SELECT MIN(m) FROM ("
            + " UNION ALL ".join(["SELECT MIN(year) AS m FROM observation WHERE kpi = ?"] * len(kpis))
            + ")",
            list(kpis),
        )[0][0]
        if oldest is None:
            return found
        sql = (
            f"SELECT 1 FROM observation WHERE kpi IN ({qmarks(kpis)}) AND year = ? AND {observation.any_value()} "
            "LIMIT 1"
        )
        for year in range(newest, oldest - 1, -1):
            if self._query(sql, [*kpis, year]):
                found.append(year)
                if len(found) == last:
                    break
        return sorted(found)

    def revisions(self, since: str | None = None, units: Sequence[str] | None = None) -> list[dict]:
        """Recorded revisions, oldest first."""
        sql = "SELECT kpi, year, unit_id, gender, old_value, new_value, old_fetched_at, seen_at, kind FROM revision"
        clauses: list[str] = []
        params: list[Any] = []
        if since:
            clauses.append("seen_at >= ?")
            params.append(since)
        if units:
            clauses.append(f"unit_id IN ({qmarks(units)})")
            params.extend(units)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        names = ["kpi", "year", "unit_id", "gender", "old_value", "new_value", "old_fetched_at", "seen_at", "kind"]
        return [dict(zip(names, row, strict=True)) for row in self._query(sql + " ORDER BY id", params)]

    def info(self) -> dict[str, Any]:
        """Counts and dates for `kpijmf cache info`."""
        counted = {table: f"SELECT COUNT(*) FROM {table}" for table in ("kpi", "municipality", "muni_group")}
        counted["observation"] = observation.VALUE_COUNT  # values, not rows
        counted |= {table: f"SELECT COUNT(*) FROM {table}" for table in ("revision", "fetch_log")}
        counts = {table: self._query(sql)[0][0] for table, sql in counted.items()}
        last = self._query("SELECT finished_at, command FROM fetch_log ORDER BY id DESC LIMIT 1")
        return {
            "path": str(self.path),
            "bytes": self.path.stat().st_size if self.path.exists() else 0,
            "schema_version": SCHEMA_VERSION,
            "metadata_fetched_at": self.metadata_fetched_at(),
            "kpi_catalogue_fetched_at": self.kpi_catalogue_fetched_at(),
            "counts": counts,
            "last_fetch": {"finished_at": last[0][0], "command": last[0][1]} if last else None,
        }

    def clear(self) -> dict[str, int]:
        """Delete every value, coverage mark, refresh date and all metadata, keeping the revision history and
        the fetch log (they cannot be fetched again); then give the space back. Rows removed per table."""
        removed: dict[str, int] = {}
        with self._transaction() as conn:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")]
            for table in tables:  # every table but the history, so that tables added later are cleared too
                if table not in _KEPT_BY_CLEAR:
                    values = conn.execute(observation.VALUE_COUNT).fetchone()[0] if table == "observation" else None
                    deleted = conn.execute(f'DELETE FROM "{table}"').rowcount
                    removed[table] = deleted if values is None else values  # observation: values, not rows
            conn.execute("DELETE FROM meta WHERE key NOT IN ('schema_version', 'created_at')")
        with self._guard():
            self._conn.execute("VACUUM")
        return removed

    def integrity_ok(self) -> bool:
        """PRAGMA integrity_check says ok."""
        return self._query("PRAGMA integrity_check")[0][0] == "ok"


def _insert_kpis(conn: sqlite3.Connection, kpis: Iterable[dict]) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO kpi VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (
                k["id"],
                k.get("title") or k["id"],
                k.get("description") or "",
                int(bool(k.get("is_divided_by_gender"))),
                k.get("municipality_type") or "",
                k.get("operating_area") or "",
                k.get("prel_publication_date"),
                k.get("publication_date"),
                k.get("publ_period"),
                json.dumps(k, ensure_ascii=False),
            )
            for k in kpis
        ),
    )


def move_store(source: Path, target: Path) -> None:
    """Move a store file to `target` (absent) so that the target is whole or absent at every moment: the WAL
    folded into the file first, then linked (or, across file systems, copied beside the target and linked)
    into place, then the source removed. A damaged store is moved as it is, with its WAL and SHM files."""
    with contextlib.suppress(sqlite3.Error):
        conn = sqlite3.connect(source, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()  # the last connection: SQLite removes the WAL and SHM files
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm", ""):  # the store file last: once it is there, it is whole
        part, moved = source.with_name(source.name + suffix), target.with_name(target.name + suffix)
        if not part.exists():
            continue
        try:
            os.link(part, moved)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            tmp = moved.with_name(f".{moved.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
            try:
                shutil.copyfile(part, tmp)
                with open(tmp, "rb+") as copied:
                    os.fsync(copied.fileno())
                os.link(tmp, moved)
            finally:
                with contextlib.suppress(OSError):
                    tmp.unlink()
    for suffix in ("-wal", "-shm", ""):
        with contextlib.suppress(FileNotFoundError):
            source.with_name(source.name + suffix).unlink()


def remove_store_files(path: Path) -> list[Path]:
    """Delete the store file and its WAL/SHM companions; works on a corrupt file. Returns what was removed."""
    removed = []
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if candidate.exists():
            candidate.unlink()
            removed.append(candidate)
    return removed
