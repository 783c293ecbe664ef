"""Workspace: settings, the store and the sync for one command or library call, with its steps named.

The CLI and `kpijmf.api` are thin layers over this.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from kpijmf import __version__
from kpijmf.config import Settings, load_settings
from kpijmf.domain.catalog import ALLA_ID, RIKET_ID, Catalog, Peer, Unit, preliminary_year
from kpijmf.domain.kpisets import DEFAULT_SET, KpiSet, KpiSpec, adhoc_set, load_set
from kpijmf.domain.parsing import default_fetch_years
from kpijmf.domain.targets import Target, load_targets_file
from kpijmf.errors import NotFoundError, StoreError, UsageError
from kpijmf.service.cache import move_former_store
from kpijmf.service.sync import FetchResult, Progress, Syncer
from kpijmf.store.db import Store, utc_now

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from kpijmf.compare import KpiInfo

SOURCE_LINE = (
    "Källa: Kolada (RKA). Rang, egna medelvärden, skillnader och förändringar: egen bearbetning av data från Kolada."
)
DEFAULT_LAST = 4


def unit_of(title: str) -> str:
    """Guess a KPI's unit from its Kolada title: '(%)' -> '%', 'kr/inv', 'antal'."""
    lowered = title.lower()
    for marker, unit in (("(%)", "%"), ("kr/inv", "kr/inv"), ("antal", "antal"), ("kr/", "kr")):
        if marker in lowered:
            return unit
    return ""


def is_discontinued(kpi: dict) -> bool:
    """A title ending in '(-2023)' marks a series Kolada no longer updates."""
    title = kpi.get("title", "").rstrip()
    return title.endswith(")") and "(-" in title[-8:]


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
        self.settings = settings or load_settings()
        self.offline = offline
        self.on_message = on_message or (lambda _message: None)
        move_former_store(self.settings, self.on_message)
        self.store = Store.open(self.settings.store_path)
        self.syncer = Syncer(self.settings, self.store, progress=progress, on_wait=self.on_message, command=command)
        self._catalog: Catalog | None = None

    def close(self) -> None:
        """Close the client and the store."""
        self.syncer.close()
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- metadata ------------------------------------------------------------------------------------

    def catalog(self, *, refresh: bool = False) -> Catalog:
        """The catalogue, fetching metadata first when missing or stale (never when offline)."""
        if self._catalog is None or refresh:
            if self.offline:
                if self.store.metadata_fetched_at() is None:
                    raise StoreError("--offline: the store has no Kolada metadata yet; run `kpijmf fetch` first")
            else:
                self.syncer.ensure_metadata(refresh=refresh)
            self._catalog = Catalog(self.store.municipalities(), self.store.groups(), self.store.kpis())
        return self._catalog

    def select_kpis(self, set_name: str | None = None, kpi_ids: Sequence[str] = ()) -> Selection:
        """The KPIs from `--kpi` (labels from the set when it has them) or from the set, checked against Kolada."""
        catalog = self.catalog()
        kpi_set = load_set(set_name or DEFAULT_SET)
        if kpi_ids:
            known = {catalog.find_kpi(k)["id"] for k in kpi_ids}  # unknown explicit ids are errors
            wanted = [k.upper() for k in kpi_ids]
            specs = [kpi_set.get(k) or _adhoc_spec(k, catalog.kpis[k]) for k in wanted if k in known]
            return Selection(adhoc_set(wanted) if set_name is None else kpi_set, tuple(specs), ())
        specs, skipped = [], []
        for spec in kpi_set.kpis:
            if spec.id in catalog.kpis:
                specs.append(spec)
            else:
                skipped.append(spec.id)
                self.on_message(f"{spec.id} (set {kpi_set.name}) is not in Kolada's catalogue; skipped")
        if not specs:
            raise NotFoundError(f"none of the KPIs of set {kpi_set.name!r} is in Kolada's catalogue")
        return Selection(kpi_set, tuple(specs), tuple(skipped))

    def units_for(self, kommuner: Sequence[Unit]) -> list[str]:
        """Every kommun, Riket, alla kommuner and each kommun's default peer groups: what ranks and means need."""
        catalog = self.catalog()
        units = dict.fromkeys([*catalog.kommun_ids, RIKET_ID, ALLA_ID])
        for kommun in kommuner:
            peers, _ = catalog.resolve_peers(kommun)
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
        catalog = self.catalog(refresh=refresh)
        selection = self.select_kpis(set_name, kpi_ids)
        units = self.units_for([catalog.find_kommun(k) for k in kommuner])
        result = self.syncer.fetch(selection.ids, units, years or default_fetch_years(), refresh=refresh)
        result.requests, result.data_requests, result.bytes = self.syncer.totals()
        return result

    def compare(
        self,
        kommun: str,
        *,
        set_name: str | None = None,
        kpi_ids: Sequence[str] = (),
        years: Sequence[int] | None = None,
        last: int | None = None,
        peers: Sequence[str] | None = None,
        genders: Sequence[str] = ("T",),
        gap: bool = False,
        show_revisions: bool = False,
        targets_file: str | None = None,
    ) -> pd.DataFrame:
        """The comparison frame for one kommun; fetches what the store lacks unless offline.

        Adds `preliminary` (Kolada still calls the value preliminary) and, with `show_revisions`, `revised`
        (Kolada changed the value since an earlier fetch)."""
        from kpijmf.compare import apply_targets, build_comparison, kpis_with_data

        catalog = self.catalog()
        unit = catalog.find_kommun(kommun)
        selection = self.select_kpis(set_name, kpi_ids)
        peer_list, warnings = catalog.resolve_peers(unit, peers)
        for warning in warnings:
            self.on_message(warning)
        units = list(dict.fromkeys([*catalog.kommun_ids, RIKET_ID, ALLA_ID, *(p.id for p in peer_list if p.published)]))
        if years:
            chosen = list(years)
            self._ensure_data(selection.ids, units, chosen)
        else:
            chosen = self._default_years(selection.ids, units, last or DEFAULT_LAST)
        shown = [unit.id, *(p.id for p in peer_list)]
        observations = self.store.observations(
            selection.ids, chosen, units, genders=sorted(set(genders) | {"T"}), stamped=shown
        )
        infos = [self._kpi_info(spec, catalog) for spec in selection.specs]
        frame = build_comparison(
            observations,
            kommun=unit,
            peers=peer_list,
            kpis=infos,
            years=chosen,
            kommun_ids=catalog.kommun_ids,
            genders=genders,
            gap=gap,
        )
        with_data = set(kpis_with_data(frame))
        empty = [k for k in selection.ids if k not in with_data]
        if empty:
            span = str(chosen[0]) if chosen[0] == chosen[-1] else f"{chosen[0]}–{chosen[-1]}"
            ended = [k for k in empty if is_discontinued(catalog.kpis[k])]
            why = f" ({', '.join(ended)}: discontinued, Kolada no longer updates it)" if ended else ""
            self.on_message(f"no data in {span} for {', '.join(empty)}{why}; left out")
            frame = frame[frame["kpi"].isin(with_data)].reset_index(drop=True)
        targets = self._targets_for(unit, selection, targets_file)
        if targets:
            frame = apply_targets(frame, targets, unit.id)
        today = date.today()
        prel = {k: preliminary_year(catalog.kpis[k], today) for k in selection.ids}
        frame["preliminary"] = [prel.get(k) == y for k, y in zip(frame["kpi"], frame["year"], strict=True)]
        if show_revisions:
            revised = {(r["kpi"], r["year"], r["unit_id"], r["gender"]) for r in self.store.revisions(units=units)}
            frame["revised"] = [
                (k, y, u, g) in revised
                for k, y, u, g in zip(frame["kpi"], frame["year"], frame["id"], frame["gender"], strict=True)
            ]
        frame.attrs.update(self._provenance(unit, selection, chosen, peer_list, frame))
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
        self.syncer.ensure_metadata()
        catalog = self.catalog()
        narrowed = bool(set_name or kpi_ids)
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
        """Recorded revisions (oldest first) with unit titles; `kommuner` narrows to them and their peers.

        The history outlives the rest of the store (`cache clear` keeps it): without metadata, and offline,
        the units are listed by id."""
        units = None
        titles: dict[str, str] = {}
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
        rows = self.store.revisions(since=since, units=units)
        for row in rows:
            row["unit_title"] = titles.get(row["unit_id"], row["unit_id"])
        return rows

    def _targets_for(self, unit: Unit, selection: Selection, targets_file: str | None) -> list[Target]:
        """The set's målvärden plus those of a targets file, narrowed to this kommun (names resolved)."""
        targets = list(selection.kpi_set.targets)
        if targets_file:
            targets += load_targets_file(Path(targets_file), {spec.id: spec for spec in selection.specs})
        catalog = self.catalog()
        mine = []
        for target in targets:
            try:
                if catalog.find_kommun(target.kommun).id == unit.id:
                    mine.append(target)
            except NotFoundError as exc:
                self.on_message(f"målvärde for {target.kpi} skipped: {exc}")
        return mine

    def _default_years(self, kpis: Sequence[str], units: Sequence[str], last: int) -> list[int]:
        """The `last` latest years with data, their values ensured (fetched, or checked when offline)."""
        fetched = [] if self.offline else default_fetch_years()
        if fetched:
            self.syncer.fetch(kpis, units, fetched, fresh_only=False)
        years = self.store.years_with_data(kpis, last, date.today().year)
        if not years:
            raise StoreError("the store has no values for these KPIs; run `kpijmf fetch` first")
        if not set(years) <= set(fetched):  # older years than the fetch window, or offline
            self._ensure_data(kpis, units, years)
        return years

    def _ensure_data(self, kpis: Sequence[str], units: Sequence[str], years: Sequence[int]) -> None:
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
        )

    def _provenance(self, unit: Unit, selection: Selection, years: Sequence[int], peers: Sequence[Peer], frame) -> dict:
        fetched = sorted(f for f in frame["fetched_at"].unique() if f)
        return {
            "api_url": self.settings.api_url,
            "kpijmf_version": __version__,
            "generated_at": utc_now(),
            "kommun_id": unit.id,
            "kommun_title": unit.title,
            "kpi_set": selection.kpi_set.name,
            "years": [int(y) for y in years],
            "peers": [{"role": p.role, "id": p.id, "title": p.title} for p in peers],
            "fetched_from": fetched[0] if fetched else "",
            "fetched_to": fetched[-1] if fetched else "",
            "source_line": SOURCE_LINE,
        }


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
