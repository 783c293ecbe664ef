"""Workspace: settings, the store and the sync for one command or library call, with its steps named.

The CLI and `kpijmf.api` are thin layers over this.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from kpijmf import __version__
from kpijmf.config import Settings, load_settings
from kpijmf.domain.catalog import ALLA_ID, RIKET_ID, Catalog, Focus, Unit, preliminary_year, unit_of
from kpijmf.domain.kpisets import DEFAULT_SET, KpiSet, KpiSpec, adhoc_set, load_set
from kpijmf.domain.lineage import successor_of
from kpijmf.domain.parsing import default_fetch_years
from kpijmf.domain.search import is_discontinued
from kpijmf.domain.targets import Target, load_targets_file, targets_for
from kpijmf.domain.vocab import SOURCE_LINE
from kpijmf.errors import ApiError, NotFoundError, StoreError, UsageError
from kpijmf.messages import msg
from kpijmf.service.cache import move_former_store
from kpijmf.service.sync import FetchResult, PendingKpis, PendingMetadata, Progress, Syncer, askable_kpis
from kpijmf.store.db import Store, utc_now

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from kpijmf.compare import KpiInfo

DEFAULT_LAST = 4


def _import_meanwhile(module: str) -> None:
    """Import `module` in a thread of its own, in time the process would spend waiting on the wire (pandas takes
    ~0.3 s on a slow machine). Whoever imports it next waits on Python's import lock for this import rather than
    making a second one; the process waits for the thread before it exits."""
    threading.Thread(target=importlib.import_module, args=(module,), name=f"import {module}").start()


class _Checked:
    """A fetch's gate while its metadata is on its way (see `Workspace._checking`), and the KPI selection it made."""

    def __init__(self) -> None:
        self.selection: Selection | None = None
        self.started = False  # the KPIs' check began
        self.gate: Callable[[], list[str]] = lambda: []


@dataclass(frozen=True)
class Selection:
    """The KPIs a command works on, with their set's labels, after checking them against Kolada's catalogue."""

    kpi_set: KpiSet
    specs: tuple[KpiSpec, ...]
    skipped: tuple[str, ...]

    @property
    def ids(self) -> list[str]:
        """The KPI ids."""
        return [s.id for s in self.specs]


class Workspace:
    """Settings, the store and a lazily built Kolada client for one command or library call."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        offline: bool = False,
        progress: Progress | None = None,
        on_message: Callable[[str], None] | None = None,
        command: str = "fetch",
    ) -> None:
        """`on_message` hears every warning, in the run's language (kpijmf.messages: KPIJMF_LANG, else Swedish)."""
        self.settings = settings or load_settings()
        self.offline = offline
        self.on_message = on_message or (lambda _message: None)
        move_former_store(self.settings, self.on_message)
        self.store = Store.open(self.settings.store_path)
        self.syncer = Syncer(self.settings, self.store, progress=progress, on_wait=self.on_message, command=command)
        self._catalog: Catalog | None = None
        self._pending: PendingMetadata | PendingKpis | None = None  # a fetch's metadata, while its gate checks KPIs
        self._sets: dict[str, KpiSet] = {}

    def close(self) -> None:
        """Close the client and the store."""
        self.syncer.close()
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- metadata ------------------------------------------------------------------------------------

    def catalog(self, kpis: Sequence[str] = (), *, refresh: bool = False) -> Catalog:
        """Municipalities, groups and the stored KPIs, fetched first where the store lacks them or they are stale
        (never offline): `kpis` names the KPIs the caller needs, asked for by id (see `Syncer.ensure_metadata`)."""
        if self._pending is not None:  # inside a cold fetch's gate: the lists on their way, not the store
            assert self._catalog is not None
            return self._catalog
        if self._catalog is not None and not refresh and all(k in self._catalog.kpis for k in kpis):
            return self._catalog
        if self.offline:
            if self.store.metadata_fetched_at() is None:
                raise StoreError("--offline: the store has no Kolada metadata yet; run `kpijmf fetch` first")
            fetched = False
        else:
            fetched = self.syncer.ensure_metadata(kpis, refresh=refresh)
        if fetched or self._catalog is None:
            self._catalog = self._stored_catalog()
        return self._catalog

    def kpi_catalogue(self) -> Catalog:
        """The catalogue with Kolada's whole KPI list, for a search or a did-you-mean: fetched once when the store
        holds only the KPIs asked for by id (offline: the KPIs stored)."""
        if self._pending is not None:
            self._catalog = self._pending.widened()
            return self._catalog
        if self.offline:
            return self.catalog()
        if self.syncer.ensure_metadata(catalogue=True) or self._catalog is None:
            self._catalog = self._stored_catalog()
        return self._catalog

    def _stored_catalog(self) -> Catalog:
        return Catalog(self.store.municipalities(), self.store.groups(), self.store.kpis())

    def find_kpi(self, kpi_id: str) -> dict:
        """A KPI by id (asked for by id when the store lacks it), or NotFoundError: for an id Kolada lacks, with
        suggestions from the whole catalogue (see `kpi_catalogue`)."""
        key = kpi_id.strip().upper()
        catalog = self.catalog([key])
        if key not in catalog.kpis and successor_of(key) is None:  # a removed id names its successor instead
            self._stop_offline_without([key], catalog)
            catalog = self.kpi_catalogue()
        return catalog.find_kpi(kpi_id)

    def _stop_offline_without(self, kpis: Sequence[str], catalog: Catalog) -> None:
        """Offline, with only some KPIs stored, a KPI the store lacks may well be in Kolada: say so (StoreError)
        rather than call it unknown. (Its values cannot be stored either: a fetch stores the KPIs it fetches.)"""
        if not self.offline or self.store.kpi_catalogue_fetched_at() is not None:
            return
        absent = self.store.kpis_absent()  # asked for when fetched, and not in Kolada then
        lacking = [k for k in askable_kpis(kpis) if k not in catalog.kpis and k not in absent]
        if lacking:
            named = ", ".join(lacking)
            raise StoreError(f"--offline: the store lacks {named} (never fetched: no metadata, no values); run without "
                             "--offline to fetch")  # fmt: skip

    def kpi_set(self, set_name: str | None = None) -> KpiSet:
        """The KPI set by name or path (default: the arbetsmarknad set), read once per workspace."""
        name = set_name or DEFAULT_SET
        if name not in self._sets:
            self._sets[name] = load_set(name)
        return self._sets[name]

    def select_kpis(self, set_name: str | None = None, kpi_ids: Sequence[str] = ()) -> Selection:
        """The KPIs from `--kpi` (labels from the set when it has them) or from the set, checked against Kolada."""
        kpi_set = self.kpi_set(set_name)  # a bad set file stops before any metadata is fetched
        if kpi_ids:
            self.catalog([k.strip().upper() for k in kpi_ids])  # those the store lacks: by id, in one go
            known = {self.find_kpi(k)["id"] for k in kpi_ids}  # unknown explicit ids are errors
            wanted = [k.upper() for k in kpi_ids]
            catalog = self.catalog()
            specs = [kpi_set.get(k) or _adhoc_spec(k, catalog.kpis[k]) for k in wanted if k in known]
            return Selection(adhoc_set(wanted) if set_name is None else kpi_set, tuple(specs), ())
        catalog = self.catalog([spec.id for spec in kpi_set.kpis])
        self._stop_offline_without([spec.id for spec in kpi_set.kpis], catalog)
        specs, skipped = [], []
        for spec in kpi_set.kpis:
            if spec.id in catalog.kpis:
                specs.append(spec)
                continue
            skipped.append(spec.id)
            successor = successor_of(spec.id)
            if successor:
                self.on_message(msg("kpi_set_successor", kpi=spec.id, set=kpi_set.name, successor=successor))
            else:
                self.on_message(msg("kpi_not_in_catalogue", kpi=spec.id, set=kpi_set.name))
        if not specs:
            raise NotFoundError(f"none of the KPIs of set {kpi_set.name!r} is in Kolada's catalogue")
        return Selection(kpi_set, tuple(specs), tuple(skipped))

    def named_kpis(self, set_name: str | None = None, kpi_ids: Sequence[str] = ()) -> list[str]:
        """The KPI ids a command names: `--kpi`'s, else its set's (the metadata to ask for with the rest)."""
        return [k.strip().upper() for k in kpi_ids] or [spec.id for spec in self.kpi_set(set_name).kpis]

    def units_for(
        self, kommuner: Sequence[Unit], liknande: str | None = None, *, catalog: Catalog | None = None
    ) -> list[str]:
        """Every kommun, Riket, alla kommuner and each kommun's default peer groups: what ranks and means need."""
        catalog = catalog or self.catalog()
        units = dict.fromkeys([*catalog.kommun_ids, RIKET_ID, ALLA_ID])
        for kommun in kommuner:
            peers, _ = catalog.resolve_peers(kommun, liknande=liknande)
            units.update(dict.fromkeys(p.id for p in peers if p.published))
        return list(units)

    # -- data ----------------------------------------------------------------------------------------

    def fetch(
        self,
        kpi_ids: Sequence[str] = (),
        *,
        set_name: str | None = None,
        kommuner: Sequence[str] = (),
        years: Sequence[int] | None = None,
        refresh: bool = False,
    ) -> FetchResult:
        """`kpijmf fetch`: store values for every kommun, Riket and the kommuner's peer groups."""
        if self.offline:
            raise UsageError("fetch cannot run --offline")
        years = years or default_fetch_years()
        wanted = self.named_kpis(set_name, kpi_ids)
        pending = self.syncer.pending_metadata(wanted, refresh=refresh)
        if pending is not None:
            with pending:
                result = self._fetch_with_metadata(pending, wanted, kpi_ids, set_name, kommuner, years, refresh)
        else:
            catalog = self.catalog(wanted, refresh=refresh)  # KPIs published since they were stored: by id
            selection = self.select_kpis(set_name, kpi_ids)
            units = self.units_for([catalog.find_kommun(k) for k in kommuner], selection.kpi_set.liknande)
            result = self.syncer.fetch(selection.ids, units, years, refresh=refresh)
        result.requests, result.data_requests, result.bytes = self.syncer.totals()
        return result

    def _fetch_with_metadata(
        self,
        pending: PendingMetadata | PendingKpis,
        wanted: list[str],
        kpi_ids: Sequence[str],
        set_name: str | None,
        kommuner: Sequence[str],
        years: Sequence[int],
        refresh: bool,
    ) -> FetchResult:
        """A fetch whose metadata is still on its way (see `Syncer.pending_metadata`): its data requests start
        once the unit ids are known (the municipality list, or the store's; the groups when kommuner bring peers),
        not after the KPIs, which are checked before anything is written (see `_checking`)."""
        kpi_set = adhoc_set(wanted) if kpi_ids and not set_name else self.kpi_set(set_name)
        units_known = pending.units(groups=bool(kommuner))
        named = [units_known.find_kommun(k) for k in kommuner]
        units = self.units_for(named, kpi_set.liknande, catalog=units_known)
        with self._checking(pending, set_name, kpi_ids, units_known) as checked:
            return self.syncer.fetch(wanted, units, years, refresh=refresh, gate=checked.gate)

    @contextlib.contextmanager
    def _checking(
        self, pending: PendingMetadata | PendingKpis, set_name: str | None, kpi_ids: Sequence[str], units: Catalog
    ) -> Iterator[_Checked]:
        """While a fetch's metadata is on its way: the catalogue is `units` (the unit lists, for the units to ask
        for) until the fetch's gate checks the KPIs against the lists on their way and stores them in the fetch's
        transaction. An id Kolada lacks stops the fetch with nothing written (its did-you-mean from the whole
        catalogue), keeping what was learned about KPIs; afterwards the catalogue is the store's again."""
        checked = _Checked()

        def check() -> Selection:
            checked.started = True
            self._catalog = pending.catalog()
            checked.selection = self.select_kpis(set_name, kpi_ids)  # an unknown KPI raises NotFoundError here
            return checked.selection

        def gate() -> list[str]:
            ids = check().ids
            pending.store(self.store)  # in the fetch's transaction
            return ids

        checked.gate = gate
        self._pending, self._catalog = pending, units  # the lists on their way, not the store's (see catalog())
        try:
            yield checked
        except NotFoundError:
            if checked.started:  # an unknown KPI, not an unknown kommun
                self.syncer.remember(pending)
            raise
        except ApiError:
            if checked.selection is None:  # the data failed before the KPIs were checked: an unknown KPI says more
                with contextlib.suppress(ApiError):
                    check()
            raise
        finally:
            self._catalog, self._pending = None, None  # later steps read the catalogue as stored

    def compare(
        self,
        kommun: str | Sequence[str],
        *,
        set_name: str | None = None,
        kpi_ids: Sequence[str] = (),
        years: Sequence[int] | None = None,
        last: int | None = None,
        peers: Sequence[str] | None = None,
        vs: Sequence[str] = (),
        genders: Sequence[str] = ("T",),
        gap: bool = False,
        show_revisions: bool = False,
        targets_file: str | None = None,
    ) -> pd.DataFrame:
        """The comparison frame for one kommun (a str) or several (one block each); fetches what the store lacks
        unless offline.

        `years` is one range for every KPI; without it each KPI gets its own `last` latest years with data.
        `vs` names kommuner shown one row each (role `vs`) beside the focus kommun. Adds `preliminary` (Kolada
        still calls the value preliminary) and, with `show_revisions`, `revised` (Kolada changed the value since
        an earlier fetch)."""
        liknande = self.kpi_set(set_name).liknande if set_name else None  # the set's liknande area, else the default
        wanted = self.named_kpis(set_name, kpi_ids)
        span = sorted({int(y) for y in years}) if years else default_fetch_years()
        pending = None if self.offline else self.syncer.pending_metadata(wanted)
        if pending is None:
            self.catalog(wanted)
            focuses = self.select_focuses(kommun, peers, vs, liknande=liknande)
            selection = self.select_kpis(set_name, kpi_ids)
            units = self.data_units(focuses)
            if not self.offline or years:
                self.ensure_data(selection.ids, units, span)
        else:  # the data requests start once the units are known, beside the KPIs' metadata (see `_checking`)
            _import_meanwhile("kpijmf.compare")  # pandas and the frame code, while the requests are on the wire
            with pending, self._checking(pending, set_name, kpi_ids, pending.units(groups=True)) as checked:
                focuses = self.select_focuses(kommun, peers, vs, liknande=liknande)
                units = self.data_units(focuses)
                self.syncer.fetch(wanted, units, span, fresh_only=False, gate=checked.gate)
            assert checked.selection is not None  # the gate ran, even with nothing to fetch
            selection = checked.selection
        if years:
            chosen: dict[str, list[int]] = {k: span for k in selection.ids}
        else:
            chosen = self.latest_years(selection.ids, last or DEFAULT_LAST)
            self._ensure_years(chosen, units)
        observations = self.load(selection.ids, chosen, units, genders, focuses)
        frame = self.comparison(observations, focuses, selection, chosen, genders=genders, gap=gap)
        frame = self._drop_empty(frame, selection, chosen)
        frame = self._with_targets(frame, focuses, selection, targets_file)
        frame = self._with_flags(frame, selection.ids, units, show_revisions)
        frame.attrs.update(self._provenance(focuses, selection, chosen, frame, per_kpi=not years))
        return frame

    # The steps of `compare`, in order.

    def select_focuses(
        self,
        kommun: str | Sequence[str],
        peers: Sequence[str] | None = None,
        vs: Sequence[str] = (),
        *,
        liknande: str | None = None,
    ) -> list[Focus]:
        """Each kommun asked for (id or name) with its peers (`--peers`, default all; `liknande` the area of the
        liknande group) and the `--vs` kommuner."""
        catalog = self.catalog()
        names = [kommun] if isinstance(kommun, str) else list(kommun)
        if not names:
            raise UsageError("no kommun given")
        named = tuple(catalog.find_kommun(v) for v in vs)
        focuses = []
        for unit in dict.fromkeys(catalog.find_kommun(k) for k in names):
            peer_list, warnings = catalog.resolve_peers(unit, peers, liknande=liknande)
            for warning in warnings:
                self.on_message(warning)
            focuses.append(Focus(unit, tuple(peer_list), tuple(dict.fromkeys(named))))
        return focuses

    def data_units(self, focuses: Sequence[Focus]) -> list[str]:
        """Every kommun (ranks and own means need them), Riket, alla kommuner and each focus's published peers."""
        catalog = self.catalog()
        published = (p.id for f in focuses for p in f.peers if p.published)
        return list(dict.fromkeys([*catalog.kommun_ids, RIKET_ID, ALLA_ID, *published]))

    def latest_years(self, kpis: Sequence[str], last: int) -> dict[str, list[int]]:
        """Each KPI's own `last` latest years with data in the store (none for a KPI without data)."""
        newest = date.today().year
        chosen = {k: self.store.years_with_data([k], last, newest) for k in kpis}
        if not any(chosen.values()):
            raise StoreError("the store has no values for these KPIs; run `kpijmf fetch` first")
        return chosen

    def load(
        self,
        kpis: Sequence[str],
        years: dict[str, list[int]],
        units: Sequence[str],
        genders: Sequence[str],
        focuses: Sequence[Focus],
    ) -> pd.DataFrame:
        """The stored observations a comparison needs (status and fetch time only for the units it shows)."""
        shown = [u for f in focuses for u in (f.kommun.id, *(v.id for v in f.vs), *(p.id for p in f.peers))]
        return self.store.observations(
            kpis, years, units, genders=sorted(set(genders) | {"T"}), stamped=list(dict.fromkeys(shown))
        )

    def comparison(
        self,
        observations: pd.DataFrame,
        focuses: Sequence[Focus],
        selection: Selection,
        years: dict[str, list[int]],
        *,
        genders: Sequence[str] = ("T",),
        gap: bool = False,
    ) -> pd.DataFrame:
        """The comparison frame (kpijmf.compare) of the loaded observations."""
        from kpijmf.compare import build_comparisons

        catalog = self.catalog()
        infos = [self._kpi_info(spec, catalog) for spec in selection.specs]
        return build_comparisons(observations, focuses, kpis=infos, years=years, kommun_ids=catalog.kommun_ids,
                                 genders=genders, gap=gap)  # fmt: skip

    def _drop_empty(self, frame: pd.DataFrame, selection: Selection, years: dict[str, list[int]]) -> pd.DataFrame:
        """Leave out KPIs without any value in their years, saying so (and why, for a discontinued series)."""
        from kpijmf.compare import kpis_with_data

        with_data = set(kpis_with_data(frame))
        empty = [k for k in selection.ids if k not in with_data]
        if not empty:
            return frame
        catalog = self.catalog()
        every_year = sorted({y for k in empty for y in years.get(k, [])})
        span = msg("no_data_span", years=_span(every_year)) if every_year else ""
        ended = [k for k in empty if is_discontinued(str(catalog.kpis[k].get("title") or ""))]
        why = msg("no_data_ended", kpis=", ".join(ended)) if ended else ""
        self.on_message(msg("no_data", span=span, kpis=", ".join(empty), why=why))
        return frame[frame["kpi"].isin(with_data)].reset_index(drop=True)

    def _with_targets(
        self, frame: pd.DataFrame, focuses: Sequence[Focus], selection: Selection, targets_file: str | None
    ) -> pd.DataFrame:
        from kpijmf.compare import apply_targets

        for focus in focuses:
            targets = self._targets_for(focus.kommun, selection, targets_file)
            if targets:
                frame = apply_targets(frame, targets, focus.kommun.id)
        return frame

    def _with_flags(
        self, frame: pd.DataFrame, kpis: Sequence[str], units: Sequence[str], show_revisions: bool
    ) -> pd.DataFrame:
        """`preliminary` on every row, and `revised` when asked for."""
        catalog = self.catalog()
        today = date.today()
        prel = {k: preliminary_year(catalog.kpis[k], today) for k in kpis}
        frame["preliminary"] = [prel.get(k) == y for k, y in zip(frame["kpi"], frame["year"], strict=True)]
        if show_revisions:
            revised = {(r["kpi"], r["year"], r["unit_id"], r["gender"]) for r in self.store.revisions(units=units)}
            frame["revised"] = [
                (k, y, u, g) in revised
                for k, y, u, g in zip(frame["kpi"], frame["year"], frame["id"], frame["gender"], strict=True)
            ]
        return frame

    def distribution(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Every kommun's value (gender T) for the KPIs and years of a comparison: where the kommun sits."""
        kpis = list(dict.fromkeys(frame["kpi"]))
        years = sorted({int(y) for y in frame["year"]})
        return self.store.observations(kpis, years, self.catalog().kommun_ids, genders=["T"])

    def refresh(
        self, *, set_name: str | None = None, kpi_ids: Sequence[str] = (), kommuner: Sequence[str] = ()
    ) -> FetchResult:
        """`kpijmf refresh`: bring the store up to date (all of it, or the given set/KPIs and kommuner)."""
        if self.offline:
            raise UsageError("refresh cannot run --offline")
        narrowed = bool(set_name or kpi_ids)
        catalog = self.catalog(self.named_kpis(set_name, kpi_ids) if narrowed else ())
        kpis = self.select_kpis(set_name, kpi_ids).ids if narrowed else None
        units = self.units_for([catalog.find_kommun(k) for k in kommuner]) if kommuner else None
        result = self.syncer.refresh(kpis, units)
        if narrowed:  # KPIs asked for but never fetched: fetch them now
            assert kpis is not None
            extra = self.syncer.fetch(kpis, units or self.units_for([]), default_fetch_years(), fresh_only=False)
            result.rows += extra.rows
            result.cells += extra.cells
        result.requests, result.data_requests, result.bytes = self.syncer.totals()
        return result

    def revisions(self, *, since: str | None = None, kommuner: Sequence[str] = ()) -> list[dict]:
        """Recorded revisions (oldest first) with unit and KPI titles and the KPI's unit; `kommuner` narrows to
        them and their peers.

        The history outlives the rest of the store (`cache clear` keeps it): without metadata, and offline,
        the units are listed by id."""
        units = None
        titles: dict[str, str] = {}
        kpi_titles: dict[str, str] = {}
        if kommuner or not self.offline or self.store.metadata_fetched_at() is not None:
            catalog = self.catalog()
            if kommuner:
                found = [catalog.find_kommun(k) for k in kommuner]
                units = [u.id for u in found]
                for kommun in found:
                    units += [p.id for p in catalog.resolve_peers(kommun)[0]]
            titles = {
                **{g: d["title"] for g, d in catalog.groups.items()},
                **{u: d.title for u, d in catalog.units.items()},
            }
            kpi_titles = {k: str(meta.get("title") or "") for k, meta in catalog.kpis.items()}
        rows = self.store.revisions(since=since, units=units)
        for row in rows:
            row["unit_title"] = titles.get(row["unit_id"], row["unit_id"])
            row["kpi_title"] = kpi_titles.get(str(row["kpi"]), "")
            row["kpi_unit"] = unit_of(row["kpi_title"])
        return rows

    def _targets_for(self, unit: Unit, selection: Selection, targets_file: str | None) -> list[Target]:
        """The set's målvärden plus those of a targets file, narrowed to this kommun (names resolved)."""
        targets = list(selection.kpi_set.targets)
        if targets_file:
            targets += load_targets_file(Path(targets_file), {spec.id: spec for spec in selection.specs})
        return targets_for(targets, unit.id, self.catalog().find_kommun)

    def _ensure_years(self, years: dict[str, list[int]], units: Sequence[str]) -> None:
        """Make sure each KPI's chosen years are stored: those outside the fetch window (or all, offline)."""
        window = set() if self.offline else set(default_fetch_years())
        by_years: dict[tuple[int, ...], list[str]] = {}
        for kpi, chosen in years.items():
            if chosen and not set(chosen) <= window:
                by_years.setdefault(tuple(chosen), []).append(kpi)
        for chosen_years, kpis in by_years.items():
            self.ensure_data(kpis, units, list(chosen_years))

    def ensure_data(self, kpis: Sequence[str], units: Sequence[str], years: Sequence[int]) -> None:
        """Fetch what the store lacks of these cells; offline, say exactly what is missing."""
        if not self.offline:
            self.syncer.fetch(kpis, units, years, fresh_only=False)
            return
        missing = self.syncer.missing_cells(kpis, units, years, refresh=False, fresh_only=False)
        if missing:
            raise StoreError(f"--offline: the store lacks {describe_missing(missing)}; run without --offline to fetch")

    @staticmethod
    def _kpi_info(spec: KpiSpec, catalog: Catalog) -> KpiInfo:
        from kpijmf.compare import KpiInfo

        meta = catalog.kpis[spec.id]
        return KpiInfo(
            id=spec.id,
            title=meta.get("title", spec.id),
            label=spec.label if spec.label != spec.id else meta.get("title", spec.id),
            unit=spec.unit or unit_of(meta.get("title", "")),
            direction=spec.direction,
            divided_by_gender=bool(meta.get("is_divided_by_gender")),
            breaks=tuple(spec.breaks),
            break_note=spec.break_note,
            ended=spec.ended,
            successor=spec.successor,
        )

    def _provenance(
        self, focuses: Sequence[Focus], selection: Selection, years: dict[str, list[int]], frame: pd.DataFrame,
        *, per_kpi: bool,
    ) -> dict:  # fmt: skip
        fetched = sorted(f for f in frame["fetched_at"].unique() if f)
        shown = set(frame["kpi"])
        own = {k: ys for k, ys in years.items() if k in shown}
        first = focuses[0]
        return {
            "api_url": self.settings.api_url,
            "kpijmf_version": __version__,
            "generated_at": utc_now(),
            "kommun_id": first.kommun.id,
            "kommun_title": first.kommun.title,
            "kommuner": [{"id": f.kommun.id, "title": f.kommun.title} for f in focuses],
            "vs": [{"id": u.id, "title": u.title} for u in first.vs],
            "kpi_set": selection.kpi_set.name,
            "years": sorted({y for ys in (own or years).values() for y in ys}),
            "years_by_kpi": own,
            "years_per_kpi": per_kpi and len({tuple(ys) for ys in own.values()}) > 1,
            "peers": [
                {"role": p.role, "id": p.id, "title": p.title, **({"year": p.year} if p.year else {})}
                for p in first.peers
            ],
            "fetched_from": fetched[0] if fetched else "",
            "fetched_to": fetched[-1] if fetched else "",
            "source_line": SOURCE_LINE,
        }


def _span(years: Sequence[int]) -> str:
    return str(years[0]) if years[0] == years[-1] else f"{years[0]}–{years[-1]}"


def _adhoc_spec(kpi_id: str, meta: dict) -> KpiSpec:
    return KpiSpec(id=kpi_id, label=meta.get("title", kpi_id), unit=unit_of(meta.get("title", "")), direction="neutral")


def describe_missing(cells: Sequence[tuple[str, int, str]]) -> str:
    """'N03926 2019–2021 (297 units), N40011 2021 (3 units)' for a list of missing cells."""
    by_kpi: dict[str, tuple[set[int], set[str]]] = {}
    for kpi, year, unit in cells:
        years, units = by_kpi.setdefault(kpi, (set(), set()))
        years.add(year)
        units.add(unit)
    parts = []
    for kpi, (years, units) in sorted(by_kpi.items()):
        span = f"{min(years)}–{max(years)}" if len(years) > 1 else str(min(years))
        parts.append(f"{kpi} {span} ({len(units)} units)")
    return ", ".join(parts)
