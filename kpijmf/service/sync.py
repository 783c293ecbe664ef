"""Bring the store up to date from Kolada: metadata on first need, data for the cells the store lacks.

Network first, then one write transaction: a failure anywhere leaves the store as it was.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from kpijmf.config import Settings
from kpijmf.domain.parsing import default_fetch_years
from kpijmf.store.db import Cell, FetchLogEntry, Store, parse_timestamp, utc_now
from kpijmf.store.lock import store_lock
from kpijmf.store.writer import Block, cell_count

if TYPE_CHECKING:  # pragma: no cover
    from kpijmf.kolada.client import KoladaClient

Progress = Callable[[int, int], None]


@dataclass
class FetchResult:
    """What one fetch did, for the summary line and the benchmarks."""

    rows: int = 0
    cells: int = 0
    changed: int = 0
    removed: int = 0
    requests: int = 0
    data_requests: int = 0
    bytes: int = 0
    seconds: float = 0.0


class Syncer:
    """Fetches from Kolada into a store. The HTTP client (and httpx) is only loaded when needed."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        client: KoladaClient | None = None,
        progress: Progress | None = None,
        on_wait: Callable[[str], None] | None = None,
        command: str = "fetch",
    ) -> None:
        self.settings = settings
        self.store = store
        self._client = client
        self._owns_client = client is None
        self.progress = progress
        self.on_wait = on_wait
        self.command = command

    @property
    def client(self) -> KoladaClient:
        """The Kolada client, built on first use from the settings."""
        if self._client is None:
            from kpijmf.kolada.client import KoladaClient

            s = self.settings
            self._client = KoladaClient(
                s.api_url,
                concurrency=s.concurrency,
                timeout=s.timeout,
                retry_seconds=s.retry_seconds,
                backoff_base=s.backoff_seconds,
                max_tries=s.max_tries,
                retry_budget=s.retry_budget,
                on_wait=self.on_wait,
            )
        return self._client

    def close(self) -> None:
        """Close the client if this syncer built it."""
        if self._client is not None and self._owns_client:
            self._client.close()

    def __enter__(self) -> Syncer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _lock(self):
        return store_lock(self.store.path.parent, self.command, self.settings.lock_timeout, self.on_wait)

    def _stale_before(self) -> str:
        cutoff = datetime.now(UTC) - timedelta(days=self.settings.max_age_days)
        return cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")

    def metadata_is_stale(self) -> bool:
        """True when there is no metadata or it is older than the configured maximum age."""
        fetched = self.store.metadata_fetched_at()
        return fetched is None or parse_timestamp(fetched) < parse_timestamp(self._stale_before())

    def ensure_metadata(self, *, refresh: bool = False) -> bool:
        """Fetch KPI, municipality and group metadata when missing, stale or asked to; True if fetched."""
        if not refresh and not self.metadata_is_stale():
            return False
        with self._lock(), paused_gc():
            if not refresh and not self.metadata_is_stale():  # another process did it while we waited
                return False
            client = self.client
            # Three independent lists: ask for them at once, so metadata costs one round trip, not three.
            with ThreadPoolExecutor(max_workers=3) as pool:
                kpis, municipalities, groups = (
                    future.result()
                    for future in [
                        pool.submit(client.kpis),
                        pool.submit(client.municipalities),
                        pool.submit(client.groups),
                    ]
                )
            self.store.write_metadata(kpis, municipalities, groups, utc_now())
        return True

    def fetch(
        self,
        kpis: Sequence[str],
        units: Sequence[str],
        years: Sequence[int],
        *,
        refresh: bool = False,
        fresh_only: bool = True,
    ) -> FetchResult:
        """Fetch the (kpi, year, unit) cells the store lacks; `refresh` fetches them all again.

        With `fresh_only`, cells fetched longer ago than KPIJMF_MAX_AGE_DAYS count as lacking.
        """
        started, started_at = time.monotonic(), utc_now()
        result = FetchResult()
        with self._lock(), paused_gc():
            plans, first = self._plan(kpis, units, years, refresh=refresh, fresh_only=fresh_only)
            if not plans:
                return result
            before = self.totals()
            blocks: list[Block] = []
            done_batches = 0
            total_batches = sum(_batches(p) for p in plans)
            # One transaction for the whole fetch; each batch is written as it arrives, while the others are
            # still on the wire. Any failure rolls everything back.
            with self.store.atomic(), self.store.writer(utc_now(), first=first) as writer:
                for plan_kpis, plan_units, plan_years in plans:
                    offset = done_batches

                    def report(done: int, _total: int, offset: int = offset) -> None:
                        if self.progress is not None:
                            self.progress(offset + done, total_batches)

                    self.client.data(
                        plan_kpis,
                        plan_units,
                        plan_years,
                        progress=report,
                        on_batch=lambda batch: writer.add([r for r in batch if not r.deleted]),
                    )
                    blocks.append(Block(plan_kpis, plan_years, plan_units))
                    done_batches += _batches((plan_kpis, plan_units, plan_years))
                after = self.totals()
                log = FetchLogEntry(
                    started_at=started_at,
                    command=self.command,
                    kpis=sorted(set(kpis)),
                    units=len(set(units)),
                    years=sorted(set(years)),
                    from_date=None,
                    requests=after[0] - before[0],
                    bytes=after[2] - before[2],
                )
                summary = writer.finish(blocks, log)
                self.store.mark_refreshed(sorted({k for b in blocks for k in b.kpis}), started_at[:10])
        result.rows, result.changed, result.removed = summary.rows, summary.changed, summary.removed
        result.cells = cell_count(blocks)
        result.requests, result.data_requests, result.bytes = (a - b for a, b in zip(after, before, strict=True))
        result.seconds = time.monotonic() - started
        return result

    def refresh(self, kpis: Sequence[str] | None = None, units: Sequence[str] | None = None) -> FetchResult:
        """Bring stored KPIs up to date: values changed since their last refresh (Kolada's `from_date`),
        withdrawn values removed, newly published years picked up; a full fetch where there was none.

        `kpis`/`units` narrow the refresh to part of the store (and may add units to it). Everything is
        fetched first and written in one transaction.
        """
        started, started_at = time.monotonic(), utc_now()
        result = FetchResult()
        with self._lock(), paused_gc():
            before = self.totals()
            jobs = self._refresh_jobs(kpis, units)
            fetched = []
            for number, (job_kpis, job_units, job_years, last) in enumerate(jobs, start=1):
                if last is None:
                    records = self.client.data(job_kpis, job_units, job_years)
                    blocks = [Block(job_kpis, job_years, job_units)]
                    fetched.append(([r for r in records if not r.deleted], blocks, None))
                else:
                    # The stored years, plus any newer year Kolada may have published since.
                    asked = sorted(set(job_years) | set(range(max(job_years) + 1, date.today().year + 1)))
                    records = [
                        r
                        for r in self.client.data(job_kpis, job_units, asked, from_date=_date(last))
                        if r.year in asked
                    ]
                    seen = {(r.kpi, r.year) for r in records}
                    blocks = [
                        Block([k], sorted(set(job_years) | {y for kk, y in seen if kk == k}), job_units)
                        for k in job_kpis
                    ]
                    fetched.append((records, blocks, last))
                if self.progress is not None:
                    self.progress(number, len(jobs))
            with self.store.atomic():
                for records, blocks, last in fetched:
                    kpi_ids = sorted({k for b in blocks for k in b.kpis})
                    part = self.store.write_data(
                        records, blocks, utc_now(), self._log(started_at, kpi_ids, last), incremental=last is not None
                    )
                    result.rows += part.rows
                    result.changed += part.changed
                    result.removed += part.removed
                    result.cells += cell_count(blocks)
                self.store.mark_refreshed(sorted({k for job in jobs for k in job[0]}), started_at[:10])
            after = self.totals()
        result.requests, result.data_requests, result.bytes = (a - b for a, b in zip(after, before, strict=True))
        result.seconds = time.monotonic() - started
        return result

    def _refresh_jobs(
        self, kpis: Sequence[str] | None, units: Sequence[str] | None
    ) -> list[tuple[list[str], list[str], list[int], str | None]]:
        """Group KPIs that share a last-refresh date, units and years, so each group costs one batched fetch."""
        stored = self.store.stored_scope()
        wanted = list(kpis) if kpis is not None else sorted(stored)
        groups: dict[tuple, list[str]] = {}
        for kpi in wanted:
            years, kpi_units = stored.get(kpi, (set(), set()))
            all_units = set(units) if units is not None else kpi_units
            last = self.store.last_refresh(kpi)
            if not years or all_units - kpi_units:
                last = None  # nothing (or not every unit) fetched before: fetch the whole product
            key = (last, tuple(sorted(all_units)), tuple(sorted(years) or default_fetch_years()))
            groups.setdefault(key, []).append(kpi)
        return [(group_kpis, list(u), list(y), last) for (last, u, y), group_kpis in groups.items() if u]

    def _log(self, started_at: str, kpis: Sequence[str], from_date: str | None) -> FetchLogEntry:
        requests, _, size = self.totals()
        return FetchLogEntry(started_at, self.command, list(kpis), 0, [], from_date, requests, size)

    def _plan(
        self, kpis: Sequence[str], units: Sequence[str], years: Sequence[int], *, refresh: bool, fresh_only: bool
    ) -> tuple[list[tuple[list[str], list[str], list[int]]], bool]:
        """Request plans for the cells the store lacks, and whether none of them was ever fetched (a first fetch:
        the whole product, not listed cell by cell). The usual warm case, everything stored, costs one COUNT."""
        product = (sorted(set(kpis)), sorted(set(units)), sorted(set(years)))
        if not all(product):
            return [], False
        if not refresh:
            after = self._stale_before() if fresh_only else None
            fresh = self.store.count_covered(kpis, years, units, after)
            if fresh == len(product[0]) * len(product[1]) * len(product[2]):
                return [], False
            if fresh == 0 and (after is None or self.store.count_covered(kpis, years, units) == 0):
                return [product], True
        return plan_requests(self.missing_cells(kpis, units, years, refresh=refresh, fresh_only=fresh_only)), False

    def missing_cells(
        self, kpis: Sequence[str], units: Sequence[str], years: Sequence[int], *, refresh: bool, fresh_only: bool
    ) -> list[Cell]:
        """The cells of kpis × years × units not yet (freshly) in the store."""
        after = self._stale_before() if fresh_only else None
        if refresh:
            covered: set[Cell] = set()
        elif self.store.count_covered(kpis, years, units, after) == len(set(kpis)) * len(set(years)) * len(set(units)):
            return []  # the usual warm case, answered by one COUNT
        else:
            covered = self.store.covered_cells(kpis, years, after)
        return [(k, y, u) for k in kpis for y in years for u in units if (k, y, u) not in covered]

    def totals(self) -> tuple[int, int, int]:
        """Requests, data requests and bytes over this syncer's life (0s when no client was needed)."""
        if self._client is None:
            return (0, 0, 0)
        s = self._client.stats
        return (s.requests, s.data_requests, s.bytes)


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a fetch parses and stores its values (restored afterwards).

    A cold fetch makes ~300,000 objects, none in a cycle, so collecting frees nothing; but each collection of
    the oldest generation walks every object alive, and those runs took a third of a cold fetch's wall time.
    Reference counting still frees everything as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _date(day: str) -> date:
    return date.fromisoformat(day[:10])


def plan_requests(missing: Iterable[Cell]) -> list[tuple[list[str], list[str], list[int]]]:
    """Group missing cells into as few kpis × units × years products as is simple.

    Units that lack the same (kpi, year) pairs go into one product, so the usual cases (nothing stored,
    or a few new units) cost one batched fetch each.
    """
    by_unit: dict[str, set[tuple[str, int]]] = {}
    for kpi, year, unit in missing:
        by_unit.setdefault(unit, set()).add((kpi, year))
    by_signature: dict[frozenset[tuple[str, int]], list[str]] = {}
    for unit, pairs in by_unit.items():
        by_signature.setdefault(frozenset(pairs), []).append(unit)
    plans = []
    for signature, plan_units in by_signature.items():
        plan_kpis = sorted({k for k, _ in signature})
        plan_years = sorted({y for _, y in signature})
        plans.append((plan_kpis, sorted(plan_units), plan_years))
    return sorted(plans, key=lambda p: (-len(p[1]), p[0], p[2]))


def _batches(plan: tuple[Sequence[str], Sequence[str], Sequence[int]]) -> int:
    def chunks(n: int) -> int:
        return max(1, -(-n // 25))

    kpis, units, years = plan
    return chunks(len(kpis)) * chunks(len(units)) * chunks(len(years))
