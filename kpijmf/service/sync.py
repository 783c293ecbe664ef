"""Bring the store up to date from Kolada: the metadata a command needs, data for the cells the store lacks.

One path for `fetch` and `refresh`: plan (jobs of kpis × units × years) → fetch (batched by the client) →
write (each batch as it arrives, all in one transaction: a failure anywhere leaves the store as it was).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Self

from kpijmf.config import Settings
from kpijmf.domain.catalog import RIKET_ID, Catalog, is_kpi_id
from kpijmf.domain.lineage import successor_of
from kpijmf.domain.parsing import default_fetch_years
from kpijmf.store.db import Cell, FetchLogEntry, Store, parse_timestamp, utc_now
from kpijmf.store.lock import store_lock
from kpijmf.store.writer import Block, WriteSummary, cell_count

if TYPE_CHECKING:  # pragma: no cover
    from kpijmf.kolada.client import DataRow, KoladaClient

Progress = Callable[[int, int], None]
Gate = Callable[[], Sequence[str]]
"""Called before a fetch writes anything (in its transaction): the KPI ids whose values may be stored; raises to
stop the fetch (an unknown KPI) with nothing written."""


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
        self._client_lock = threading.Lock()  # the client is built once, whichever thread asks first
        self._owns_client = client is None
        self.progress = progress
        self.on_wait = on_wait
        self.command = command
        self._asked: set[str] = set()  # KPI ids asked for by id
        self._catalogue_asked = False

    @property
    def client(self) -> KoladaClient:
        """The Kolada client, built on first use from the settings (one, even when a background request for
        metadata and the data requests ask for it at once)."""
        with self._client_lock:
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

    def ensure_metadata(self, kpis: Sequence[str] = (), *, catalogue: bool = False, refresh: bool = False) -> bool:
        """Fetch the metadata a command needs where the store lacks it; True if anything was fetched.

        Municipalities and groups when missing or stale (or asked to `refresh`), renewing the stored KPIs with
        them (see `start_metadata`); the KPIs `kpis` names that the store lacks, by id; Kolada's whole KPI
        catalogue only with `catalogue` (a search, a did-you-mean). Each id is asked for once in a syncer's life."""
        if not refresh and not self._lacks(kpis, catalogue):
            return False
        with self._lock():
            if not refresh and not self._lacks(kpis, catalogue):  # another process did it while we waited
                return False
            if refresh or self.metadata_is_stale():
                with self.start_metadata(kpis, catalogue=catalogue) as pending:
                    pending.store(self.store)
            elif catalogue and not self.holds_catalogue():
                self.store.write_kpis(self.ask_kpis(None), catalogue_at=utc_now())
            else:
                asked = self._unstored(kpis)
                self.store.write_kpis(self.ask_kpis(asked), asked=asked)
        return True

    def holds_catalogue(self) -> bool:
        """True when the store holds Kolada's whole KPI catalogue (or this syncer has asked for it)."""
        return self._catalogue_asked or self.store.kpi_catalogue_fetched_at() is not None

    def _lacks(self, kpis: Sequence[str], catalogue: bool) -> bool:
        if self.metadata_is_stale():
            return True
        if catalogue:
            return not self.holds_catalogue()
        return bool(self._unstored(kpis))

    def _unstored(self, kpis: Sequence[str]) -> list[str]:
        """The KPI ids worth asking Kolada for by id: neither stored, nor asked for before by this syncer, nor
        found absent when last asked (until the metadata is renewed: see `start_metadata`)."""
        wanted = [k for k in askable_kpis(kpis) if k not in self._asked]
        if not wanted or self._catalogue_asked:
            return []
        known = self.store.kpi_ids(wanted) | self.store.kpis_absent()
        return [k for k in wanted if k not in known]

    def ask_kpis(self, ids: Sequence[str] | None) -> list[dict]:
        """Kolada's KPIs with these ids (those it has; ≤ MAX_IDS a request), or its whole catalogue (None).
        Remembered as asked for, found or not."""
        if ids is None:
            found = self.client.kpis()
            self._catalogue_asked = True
            return found
        if not ids:
            return []
        wanted = set(ids)
        found = [k for k in self.client.kpis(ids) if k.get("id") in wanted]
        self._asked.update(wanted)
        return found

    def start_metadata(self, kpis: Sequence[str] = (), *, catalogue: bool = False) -> PendingMetadata:
        """Ask for municipalities, groups and KPIs at once, in the background, so that a fetch can start its data
        requests as soon as the unit ids are known (see `PendingMetadata`).

        The KPIs: Kolada's whole catalogue with `catalogue` or where the store holds it whole; else, by id, the
        KPIs `kpis` names and those stored (unless they are so many that the catalogue's pages cost less)."""
        if catalogue or self.store.kpi_catalogue_fetched_at() is not None:
            return PendingMetadata(self.client, self.ask_kpis, None)
        from kpijmf.kolada.client import MAX_IDS  # here: a warm command never needs the client or its imports

        ids = askable_kpis([*sorted(self.store.kpi_ids()), *kpis])
        return PendingMetadata(self.client, self.ask_kpis, ids if len(ids) <= BY_ID_REQUESTS * MAX_IDS else None)

    def pending_metadata(self, kpis: Sequence[str], *, refresh: bool = False) -> PendingMetadata | PendingKpis | None:
        """What a fetch naming `kpis` still needs of the metadata, asked for in the background so that its data
        requests need not wait for it: every list when the store's are missing or stale (or `refresh`), else the
        KPIs the store lacks, by id; None when it needs nothing, or when a name is not shaped like a KPI id (the
        command then checks its KPIs before any request, and says what is wrong with them)."""
        if not all(is_kpi_id(k) for k in kpis):
            return None
        if refresh or self.metadata_is_stale():
            return self.start_metadata(kpis)
        new = self._unstored(kpis)
        return PendingKpis(self.store, self.ask_kpis, new) if new else None

    def remember(self, pending: PendingMetadata | PendingKpis) -> None:
        """Keep what a fetch that stopped on an unknown KPI learned about KPIs (see their `remember`), under the
        store's lock."""
        with self._lock():
            pending.remember(self.store)

    def fetch(
        self,
        kpis: Sequence[str],
        units: Sequence[str],
        years: Sequence[int],
        *,
        refresh: bool = False,
        fresh_only: bool = True,
        gate: Gate | None = None,
    ) -> FetchResult:
        """Fetch the (kpi, year, unit) cells the store lacks; `refresh` fetches them all again.

        With `fresh_only`, cells fetched longer ago than KPIJMF_MAX_AGE_DAYS count as lacking. `gate` (see `Gate`)
        runs once, inside the transaction, before the first write: requests may be on the wire before it says
        which of `kpis` are known, and nothing is stored if it raises.
        """
        started = time.monotonic()
        with self._lock():
            jobs = self._plan(kpis, units, years, refresh=refresh, fresh_only=fresh_only)
            if not jobs:
                if gate is not None:
                    with self.store.atomic():
                        gate()
                return FetchResult()
            scope = (sorted(set(kpis)), len(set(units)), sorted(set(years)))
            return self._sync(jobs, scope, started, _Gate(gate))

    def refresh(self, kpis: Sequence[str] | None = None, units: Sequence[str] | None = None) -> FetchResult:
        """Bring stored KPIs up to date: values changed since their last refresh (Kolada's `from_date`),
        withdrawn values removed, newly published years picked up; a full fetch where there was none.
        Group and Riket values are fetched again wherever a member's value changed, appeared or went.

        `kpis`/`units` narrow the refresh to part of the store (and may add units to it). Everything is
        written in one transaction.
        """
        started = time.monotonic()
        with self._lock():
            jobs = self._refresh_jobs(kpis, units)
            if not jobs:
                return FetchResult()
            scope: tuple[list[str], int, list[int]] = (sorted({k for job in jobs for k in job.kpis}), 0, [])
            return self._sync(jobs, scope, started)

    # -- the one sync path: plan → fetch → write ---------------------------------------------------------

    def _sync(
        self, jobs: Sequence[Job], scope: tuple[list[str], int, list[int]], started: float, gate: _Gate | None = None
    ) -> FetchResult:
        """Fetch every job and write it as it arrives, in one transaction (any failure rolls all of it back);
        then, for the jobs that asked Kolada for changes only, fetch group means again where members changed."""
        started_at, fetched_at = utc_now(), utc_now()
        before = self.totals()
        result = FetchResult()
        progress = _Progress(self.progress, sum(job.requests() for job in jobs))
        gate = gate or _Gate(None)
        with self.store.atomic():
            touched: set[Cell] = set()
            fed: set[Cell] = set()
            for together in _rounds(jobs):
                job_touched, job_fed = self._run(together, fetched_at, result, progress, gate)
                touched |= job_touched
                fed |= job_fed
            if gate.keep is not None:  # the unknown KPIs asked for on the chance: neither logged nor marked
                scope = ([k for k in scope[0] if gate.allows(k)], scope[1], scope[2])
            regroup = self._group_jobs(touched, fed, {k for job in jobs if job.since is not None for k in job.kpis})
            if regroup:
                progress.total += sum(job.requests() for job in regroup)
                self._run(regroup, fetched_at, result, progress, gate)
            after = self.totals()
            since = min((job.since for job in jobs if job.since is not None), default=None)
            kpis, units, years = scope
            log = FetchLogEntry(
                started_at=started_at,
                command=self.command,
                kpis=kpis,
                units=units,
                years=years,
                from_date=since.isoformat() if since else None,
                requests=after[0] - before[0],
                bytes=after[2] - before[2],
            )
            self.store.log_fetch(log, fetched_at, WriteSummary(result.rows, result.changed, result.removed))
            self.store.mark_refreshed(sorted({k for job in jobs for k in job.kpis if gate.allows(k)}), started_at[:10])
        result.requests, result.data_requests, result.bytes = (a - b for a, b in zip(after, before, strict=True))
        result.seconds = time.monotonic() - started
        return result

    def _run(
        self, jobs: Sequence[Job], fetched_at: str, result: FetchResult, progress: _Progress, gate: _Gate
    ) -> tuple[set[Cell], set[Cell]]:
        """Fetch jobs of one kind (see `_rounds`) at once, writing each batch as it arrives; add to `result`.
        Returns the cells whose stored value they changed, added or removed, and the cells a feed held."""
        job = jobs[0]
        seen: set[Cell] = set()
        asked = set(job.years)
        with self.store.writer(fetched_at, incremental=job.since is not None, first=job.first) as writer:
            asked_kpis = {k for j in jobs for k in j.kpis}

            def write(batch: list[DataRow]) -> None:
                keep = gate()
                if keep is not None and not keep.issuperset(asked_kpis):  # a pass over the batch only when needed
                    batch = [r for r in batch if r.kpi in keep]
                if job.since is not None:
                    batch = [r for r in batch if r.year in asked]
                    seen.update((r.kpi, r.year, r.unit_id) for r in batch)
                writer.add(batch)

            def settled() -> list[Block]:
                return [kept for j in jobs for block in j.blocks(seen) if (kept := gate.narrow(block)) is not None]

            def sent() -> None:
                """While the first answers are on the wire: the KPIs checked, the metadata stored and, for a
                first fetch, its cells covered."""
                gate()
                if job.first:
                    writer.cover_ahead(settled())

            offset = progress.done
            self.client.data_many(
                [(j.kpis, j.units, j.years) for j in jobs],
                from_date=job.since,
                progress=lambda done, _total: progress(offset + done),
                on_batch=write,
                on_sent=sent,
            )
            progress.done = offset + sum(j.requests() for j in jobs)
            gate()  # no batch came (nothing asked for): still checked before anything is written
            blocks = settled()
            summary = writer.finish(blocks)
        result.rows += summary.rows
        result.changed += summary.changed
        result.removed += summary.removed
        result.cells += cell_count(blocks)
        return writer.touched, seen

    def _group_jobs(self, touched: set[Cell], fed: set[Cell], kpis: set[str]) -> list[Job]:
        """Full fetches of the group and Riket values stored for every KPI × year (of `kpis`) in which a member's
        value changed, appeared or was withdrawn: a change feed need not carry the group rows (their means) along.

        Asked for: Riket, and each stored group that holds a changed member (or whose members are unknown), less
        the group rows the feed itself brought in this refresh (current already)."""
        if not kpis or not touched:  # no change feed (a fetch), or nothing changed: no group to read
            return []
        members = {g["id"]: set(g["members"]) for g in self.store.groups()}

        def is_aggregate(unit: str) -> bool:
            return unit == RIKET_ID or unit in members or unit.startswith("G")

        changed: dict[tuple[str, int], set[str]] = {}
        for k, y, unit in touched:
            if k in kpis and not is_aggregate(unit):
                changed.setdefault((k, y), set()).add(unit)
        if not changed:
            return []
        stored = self.store.stored_scope()
        cells = [
            (k, y, unit)
            for (k, y), moved in sorted(changed.items())
            for unit in sorted(stored.get(k, (set(), set()))[1])
            if is_aggregate(unit)
            and (k, y, unit) not in fed
            and (unit == RIKET_ID or unit not in members or members[unit] & moved)
        ]
        return [Job(k, u, y) for k, u, y in plan_requests(cells)]

    def _refresh_jobs(self, kpis: Sequence[str] | None, units: Sequence[str] | None) -> list[Job]:
        """Group KPIs that share a last-refresh date, units and years, so each group costs one batched fetch.

        A KPI refreshed before asks for the changes since the day before its last refresh (a day of overlap:
        a value received again unchanged is not a revision), for its stored years and any newer one."""
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
        jobs = []
        for (last, job_units, job_years), group_kpis in groups.items():
            if not job_units:
                continue
            if last is None:
                jobs.append(Job(group_kpis, list(job_units), list(job_years)))
            else:
                newer = range(max(job_years) + 1, date.today().year + 1)
                since = date.fromisoformat(last[:10]) - OVERLAP
                jobs.append(Job(group_kpis, list(job_units), sorted({*job_years, *newer}), since, stored=job_years))
        return jobs

    def _plan(
        self, kpis: Sequence[str], units: Sequence[str], years: Sequence[int], *, refresh: bool, fresh_only: bool
    ) -> list[Job]:
        """Jobs for the cells the store lacks: the whole product when none of it was ever fetched (a first
        fetch, not listed cell by cell), else the missing cells grouped into few products."""
        missing, first = self._lacking(kpis, units, years, refresh=refresh, fresh_only=fresh_only)
        if missing is None:
            return [Job(sorted(set(kpis)), sorted(set(units)), sorted(set(years)), first=first)]
        return [Job(k, u, y) for k, u, y in plan_requests(missing)]

    def missing_cells(
        self, kpis: Sequence[str], units: Sequence[str], years: Sequence[int], *, refresh: bool, fresh_only: bool
    ) -> list[Cell]:
        """The cells of kpis × years × units not yet (freshly) in the store."""
        missing, _ = self._lacking(kpis, units, years, refresh=refresh, fresh_only=fresh_only)
        if missing is None:
            return [(k, y, u) for k in kpis for y in years for u in units]
        return missing

    def _lacking(
        self, kpis: Sequence[str], units: Sequence[str], years: Sequence[int], *, refresh: bool, fresh_only: bool
    ) -> tuple[list[Cell] | None, bool]:
        """The one coverage check: the cells lacking (None: all of them) and whether none was ever fetched.

        The usual warm case, everything stored, costs one COUNT; a first fetch two at most."""
        total = len(set(kpis)) * len(set(units)) * len(set(years))
        if not total:
            return [], False
        if refresh:
            return None, False
        after = self._stale_before() if fresh_only else None
        fresh = self.store.count_covered(kpis, years, units, after)
        if fresh == total:
            return [], False
        if fresh == 0 and (after is None or self.store.count_covered(kpis, years, units) == 0):
            return None, True
        covered = self.store.covered_cells(kpis, years, after)
        return [(k, y, u) for k in kpis for y in years for u in units if (k, y, u) not in covered], False

    def totals(self) -> tuple[int, int, int]:
        """Requests, data requests and bytes over this syncer's life (0s when no client was needed)."""
        if self._client is None:
            return (0, 0, 0)
        s = self._client.stats
        return (s.requests, s.data_requests, s.bytes)


OVERLAP = timedelta(days=1)
BY_ID_REQUESTS = 8
"""Renewing stale metadata asks for the stored KPIs by id in at most this many requests (of MAX_IDS ids); a store
with more KPIs gets the whole catalogue again (two pages asked at once) instead."""


def askable_kpis(kpis: Iterable[str]) -> list[str]:
    """The KPI ids worth asking Kolada for, once each, upper-case: shaped like an id and not removed from Kolada
    (`successor_of`)."""
    found = (k.strip().upper() for k in kpis)
    return [k for k in dict.fromkeys(found) if is_kpi_id(k) and successor_of(k) is None]


@dataclass(frozen=True)
class Job:
    """One request plan: kpis × units × years, fetched whole, or (`since`) only what changed since that day.

    `first`: none of its cells was ever fetched, so there is nothing stored to compare with. `stored`: for a
    `since` job, the years stored before (newer years it asks for are covered only where values came)."""

    kpis: Sequence[str]
    units: Sequence[str]
    years: Sequence[int]
    since: date | None = None
    first: bool = False
    stored: Sequence[int] = ()

    def requests(self) -> int:
        """How many batched requests the client makes for this job (≤ MAX_IDS ids per list)."""
        from kpijmf.kolada.client import MAX_IDS  # here: a warm compare never needs the client or its imports

        def chunks(n: int) -> int:
            return max(1, -(-n // MAX_IDS))

        return chunks(len(self.kpis)) * chunks(len(self.units)) * chunks(len(self.years))

    def blocks(self, seen: set[Cell]) -> list[Block]:
        """The cells this job settles, given the (kpi, year, unit) cells its answers held."""
        if self.since is None:
            return [Block(self.kpis, self.years, self.units)]
        return [Block([k], sorted({*self.stored, *(y for kk, y, _ in seen if kk == k)}), self.units) for k in self.kpis]


def _rounds(jobs: Sequence[Job]) -> list[list[Job]]:
    """Jobs that can share one client call and one writer: every whole fetch of cells fetched before together
    (their batches in one pool); a first fetch, or a change feed (its own from_date), alone."""
    whole = [job for job in jobs if job.since is None and not job.first]
    alone = [[job] for job in jobs if job.since is not None or job.first]
    return [whole, *alone] if whole else alone


class _Gate:
    """A `Gate` run at most once; `keep` is None while every KPI asked for may be stored."""

    def __init__(self, gate: Gate | None) -> None:
        self._gate, self._ran = gate, gate is None
        self.keep: frozenset[str] | None = None

    def __call__(self) -> frozenset[str] | None:
        if not self._ran:
            self._ran = True
            assert self._gate is not None
            self.keep = frozenset(self._gate())
        return self.keep

    def allows(self, kpi: str) -> bool:
        return self.keep is None or kpi in self.keep

    def narrow(self, block: Block) -> Block | None:
        """The block without the KPIs the gate refused; None when none is left."""
        if self.keep is None:
            return block
        kpis = [k for k in block.kpis if k in self.keep]
        return Block(kpis, block.years, block.units) if kpis else None


class _Background:
    """Metadata requests on their way in a thread pool of their own. Close it when done."""

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="metadata")

    def close(self) -> None:
        """Stop waiting: requests not yet sent are not sent (those on the wire still finish)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PendingMetadata(_Background):
    """Municipality, group and KPI metadata on its way: the three lists asked for at once in the background (the
    KPIs by id, or Kolada's whole catalogue, its pages at once too), each waited for only where it is needed.
    Close it when done."""

    def __init__(
        self, client: KoladaClient, ask_kpis: Callable[[Sequence[str] | None], list[dict]], kpi_ids: list[str] | None
    ) -> None:
        """`ask_kpis(ids)` asks Kolada for KPIs by id, or (None) for the whole catalogue; `kpi_ids` are those
        asked for (None: the whole catalogue)."""
        super().__init__(workers=3)
        self._municipalities = self._pool.submit(client.municipalities)
        self._groups = self._pool.submit(client.groups)
        self._ask_kpis = ask_kpis
        self._kpis = self._pool.submit(ask_kpis, kpi_ids)
        self._asked = kpi_ids or []
        self.catalogue = kpi_ids is None
        self._stored = False

    def municipalities(self) -> list[dict]:
        """Every municipality and region (waits for them)."""
        return self._municipalities.result()

    def groups(self) -> list[dict]:
        """Every municipality group (waits for them)."""
        return self._groups.result()

    def kpis(self) -> list[dict]:
        """The KPIs asked for that Kolada has, or its whole catalogue (waits for them)."""
        return self._kpis.result()

    def widen(self) -> list[dict]:
        """Kolada's whole KPI catalogue, asked for now unless it was already (for a did-you-mean)."""
        if not self.catalogue:
            whole: Future[list[dict]] = Future()
            whole.set_result(self._ask_kpis(None))
            self._kpis, self.catalogue = whole, True
        return self.kpis()

    def units(self, *, groups: bool) -> Catalog:
        """The municipalities, and the groups if `groups` (waits for them): what a fetch's units are read from."""
        return Catalog.from_kolada(self.municipalities(), self.groups() if groups else [], [])

    def catalog(self) -> Catalog:
        """The catalogue of the three lists (waits for them), as it will be stored."""
        return Catalog.from_kolada(self.municipalities(), self.groups(), self.kpis())

    def widened(self) -> Catalog:
        """The catalogue with Kolada's whole KPI list (see `widen`)."""
        self.widen()
        return self.catalog()

    def store(self, store: Store) -> None:
        """Store these lists (once; inside the caller's transaction, if any): the municipalities and groups
        replace those stored; the KPIs are added to the stored ones, or, the whole catalogue, replace them."""
        if not self._stored:
            kpis, municipalities, groups = self.kpis(), self.municipalities(), self.groups()
            store.write_metadata(kpis, municipalities, groups, utc_now(), catalogue=self.catalogue, asked=self._asked)
            self._stored = True

    def remember(self, store: Store) -> None:
        """After the fetch stopped on an unknown KPI: nothing is kept; the lists are stored with the values or not
        at all (a store without values keeps no metadata either)."""


class PendingKpis(_Background):
    """KPIs the store lacks, asked for by id in the background while the store's municipalities and groups are
    fresh: what a warm fetch that names new KPIs still needs, with PendingMetadata's interface (the lists are the
    stored ones). Close it when done."""

    def __init__(
        self, store: Store, ask_kpis: Callable[[Sequence[str] | None], list[dict]], kpi_ids: list[str]
    ) -> None:
        super().__init__(workers=1)
        self._store = store
        self._ask_kpis = ask_kpis
        self._kpis = self._pool.submit(ask_kpis, kpi_ids)
        self._asked = kpi_ids
        self._whole: list[dict] | None = None
        self._stored = False

    @cached_property
    def _municipalities(self) -> list[dict]:
        return self._store.municipalities()

    @cached_property
    def _groups(self) -> list[dict]:
        return self._store.groups()

    def units(self, *, groups: bool) -> Catalog:
        """The stored municipalities, and the stored groups if `groups`."""
        return Catalog(self._municipalities, self._groups if groups else [], [])

    def catalog(self) -> Catalog:
        """The stored catalogue with the KPIs asked for (waits for them)."""
        return self._with_kpis([*self._store.kpis(), *self._kpis.result()])

    def widened(self) -> Catalog:
        """The stored lists with Kolada's whole KPI catalogue (for a did-you-mean): the stored one where the store
        holds it whole, else asked for now."""
        if self._store.kpi_catalogue_fetched_at() is not None:
            return self.catalog()
        if self._whole is None:
            self._whole = self._ask_kpis(None)
        return self._with_kpis(self._whole)

    def _with_kpis(self, kpis: list[dict]) -> Catalog:
        return Catalog(self._municipalities, self._groups, kpis)

    def store(self, store: Store) -> None:
        """Add the KPIs asked for to the stored ones (once; inside the caller's transaction, if any), remembering
        those Kolada lacked."""
        if not self._stored:
            store.write_kpis(self._kpis.result(), asked=self._asked)
            self._stored = True

    def remember(self, store: Store) -> None:
        """After the fetch stopped on an unknown KPI (its transaction rolled back): keep what was learned, as a
        warm store would have kept it, Kolada's whole catalogue where the did-you-mean asked for it, else the
        KPIs asked for (those Kolada lacks as absent), so the next attempt does not ask again."""
        if self._whole is not None:
            store.write_kpis(self._whole, catalogue_at=utc_now())
        else:
            store.write_kpis(self._kpis.result(), asked=self._asked)


class _Progress:
    """Batches done of all the batches of one sync, for the progress callback."""

    def __init__(self, callback: Progress | None, total: int) -> None:
        self.callback, self.total, self.done = callback, total, 0

    def __call__(self, done: int) -> None:
        if self.callback is not None:
            self.callback(done, self.total)


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
