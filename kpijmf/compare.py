"""Tidy observations -> the comparison frame: kommun vs peers, published and recomputed means, ranks, trends.

In memory, no I/O and no SQL: the tidy frame becomes one value matrix (pandas factorize, numpy), from which
ranks and kpijmf's own means are row-wise numpy and each comparison row is an index lookup. One row per
kpi × unit × year × gender; reshaping to the audit layout happens at the edge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from kpijmf.domain import vocab
from kpijmf.domain.catalog import ALLA_ID, Focus, Peer, Unit
from kpijmf.domain.targets import Target
from kpijmf.kolada.genders import GENDERS

SOURCE_KOLADA = vocab.SOURCE_KOLADA
SOURCE_OWN = vocab.SOURCE_OWN
GAP = "K-M"
RIKET_TOTAL = "Riket (totalt)"  # Riket's value of a count is the national total, not a mean
COLUMNS = [
    "kpi", "kpi_title", "kpi_label", "kpi_unit", "direction", "year", "gender", "id", "title", "role",
    "value", "count", "computed_mean", "computed_count", "mean_differs", "rank", "rank_of", "quartile",
    "diff_alla", "change_prev", "source", "fetched_at", "kommun_id", "status", "note",
]  # fmt: skip
RANKED_ROLES = ("kommun", "vs")
_FLOATS = ("value", "count", "computed_mean", "computed_count", "rank", "rank_of", "quartile", "diff_alla")
_GENDERS = (*GENDERS, GAP)


@dataclass(frozen=True)
class KpiInfo:
    """What a comparison needs to know of a KPI: Kolada's title plus the set's label, unit, direction and notes."""

    id: str
    title: str
    label: str
    unit: str = ""
    direction: str = "neutral"
    divided_by_gender: bool = False
    breaks: tuple[int, ...] = ()  # first years of a new definition: no change across them
    break_note: str = ""
    ended: int | None = None  # the last year Kolada published
    successor: str | None = None

    @property
    def ranked(self) -> bool:
        """Only a KPI with a better direction has ranks and quartiles; a neutral one is just shown."""
        return self.direction in ("higher", "lower")

    @property
    def is_count(self) -> bool:
        """A count (antal) is not comparable with unweighted means: no difference from alla kommuner."""
        return self.unit.strip().lower() == "antal"

    def break_text(self, year: int) -> str:
        """The note on the rows of a break year: 'brott i serien 2023: <why>'."""
        return f"brott i serien {year}" + (f": {self.break_note}" if self.break_note else "")

    def ended_text(self) -> str:
        """'upphörde 2023; efterföljare N18601', or '' for a live series."""
        if self.ended is None:
            return ""
        return f"upphörde {self.ended}" + (f"; efterföljare {self.successor}" if self.successor else "")


@dataclass
class Row:
    """One row of the comparison frame before the KPI's own columns are added (named, never positional)."""

    kommun_id: str
    kpi: str
    year: int
    gender: str
    id: str
    title: str
    role: str
    value: float = math.nan
    count: float = math.nan
    computed_mean: float = math.nan
    computed_count: float = math.nan
    mean_differs: bool = False
    rank: float = math.nan
    rank_of: float = math.nan
    quartile: float = math.nan
    diff_alla: float = math.nan
    source: str = SOURCE_KOLADA
    fetched_at: str = ""
    status: str = ""


_ROW_FIELDS = [f.name for f in fields(Row)]


def means_differ(published: float, computed: float) -> bool:
    """True when a published mean and kpijmf's own disagree beyond Kolada's rounding."""
    if math.isnan(published) or math.isnan(computed):
        return False
    return abs(published - computed) > max(0.05, 0.001 * abs(published))


class _Held:
    """The observations as matrices: one row per kpi × year × gender, one column per unit (kommun, group, Riket).

    Every lookup the comparison makes is then an array index, and ranks and member means are row-wise numpy."""

    def __init__(self, observations: pd.DataFrame) -> None:
        kpi_codes, kpis = pd.factorize(observations["kpi"])
        year_codes, years = pd.factorize(observations["year"])
        gender_codes, genders = pd.factorize(observations["gender"])
        unit_codes, units = pd.factorize(observations["unit_id"])
        self.rows = {
            (kpi, int(year), gender): (k * len(years) + y) * len(genders) + g
            for k, kpi in enumerate(kpis)
            for y, year in enumerate(years)
            for g, gender in enumerate(genders)
        }
        self.row_kpis = [kpi for kpi, _, _ in self.rows]
        self.columns = {unit: c for c, unit in enumerate(units)}
        shape = (len(self.rows), len(units))
        at = ((kpi_codes * len(years) + year_codes) * len(genders) + gender_codes, unit_codes)
        self.value = np.full(shape, np.nan)
        self.value[at] = observations["value"].to_numpy(dtype="float64", na_value=np.nan)
        self.count = np.full(shape, np.nan)
        self.count[at] = observations["count"].to_numpy(dtype="float64", na_value=np.nan)
        self.fetched_at = np.full(shape, "", dtype=object)
        self.fetched_at[at] = observations["fetched_at"].fillna("").to_numpy(dtype=object)
        self.status = np.full(shape, "", dtype=object)
        if "status" in observations.columns:
            self.status[at] = observations["status"].fillna("").to_numpy(dtype=object)

    def column(self, unit_ids: Sequence[str]) -> list[int]:
        """The matrix columns of those units that have any observation (each once)."""
        return [self.columns[u] for u in dict.fromkeys(unit_ids) if u in self.columns]

    def unit_values(self, unit_id: str) -> np.ndarray:
        """One unit's values per row (NaN where it has none)."""
        c = self.columns.get(unit_id)
        return self.value[:, c] if c is not None else np.full(len(self.rows), np.nan)


def _ranks(held: _Held, kommun_values: np.ndarray, own: np.ndarray, directions: dict[str, str]) -> np.ndarray:
    """Rows of (rank, rank_of, quartile) of `own` among every kommun with a value; NaN where `own` has none.

    1 = best (highest unless lower is better); ties share the best rank, as pandas' rank(method="min").
    A KPI without a better direction (neutral) gets no rank at all."""
    lower = np.array([directions.get(kpi) == "lower" for kpi in held.row_kpis], dtype=bool)[:, None]
    ranked = np.array([directions.get(kpi) in ("higher", "lower") for kpi in held.row_kpis], dtype=bool)
    mine = own[:, None]
    rank = np.where(lower, kommun_values < mine, kommun_values > mine).sum(axis=1) + 1.0
    of = (~np.isnan(kommun_values)).sum(axis=1).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        ranks = np.column_stack([rank, of, np.ceil(4 * rank / of)])
    ranks[np.isnan(own) | ~ranked] = np.nan
    return ranks


def _member_means(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """kpijmf's own unweighted mean of the member values it holds, and how many, per row (NaN where none)."""
    count = (~np.isnan(values)).sum(axis=1).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(values, axis=1) / count
    count[count == 0] = np.nan
    return mean, count


def _kpi_genders(info: KpiInfo, genders: Sequence[str]) -> list[str]:
    order = ["T", "K", "M"]
    chosen = {g for g in genders if info.divided_by_gender or g == "T"} or {"T"}
    return sorted(chosen, key=order.index)


YearChoice = Sequence[int] | Mapping[str, Sequence[int]]


def years_for(years: YearChoice, kpi: str) -> list[int]:
    """The years of one KPI: its own when `years` maps KPI ids to years, else the one range for all."""
    chosen = years.get(kpi, ()) if isinstance(years, Mapping) else years
    return sorted(int(y) for y in chosen)


def build_comparison(
    observations: pd.DataFrame,
    *,
    kommun: Unit,
    peers: Sequence[Peer],
    kpis: Sequence[KpiInfo],
    years: YearChoice,
    kommun_ids: Sequence[str],
    genders: Sequence[str] = ("T",),
    gap: bool = False,
    vs: Sequence[Unit] = (),
) -> pd.DataFrame:
    """The comparison frame (columns `COLUMNS`) for one kommun against its peers; see `build_comparisons`."""
    focus = Focus(kommun, tuple(peers), tuple(vs))
    return build_comparisons(observations, [focus], kpis=kpis, years=years, kommun_ids=kommun_ids,
                             genders=genders, gap=gap)  # fmt: skip


def build_comparisons(
    observations: pd.DataFrame,
    focuses: Sequence[Focus],
    *,
    kpis: Sequence[KpiInfo],
    years: YearChoice,
    kommun_ids: Sequence[str],
    genders: Sequence[str] = ("T",),
    gap: bool = False,
) -> pd.DataFrame:
    """The comparison frame (columns `COLUMNS`): one block per focus kommun, `kommun_id` naming it on every row.

    `observations` is the store's tidy frame (kpi, year, unit_id, gender, value, count, status, fetched_at);
    it must hold every kommun's values for ranks and recomputed means to be right. `years` is one range for
    all KPIs or each KPI's own years. Rows: per focus, per KPI, gender × unit × year: the kommun first, the
    --vs kommuner, then the peers as given; a K-M row block follows when `gap` is set.
    """
    held = _Held(observations)
    kommun_set = set(kommun_ids)
    kommun_values = held.value[:, [c for unit_id, c in held.columns.items() if unit_id in kommun_set]]
    directions = {k.id: k.direction for k in kpis}
    alla = held.unit_values(ALLA_ID)
    ranks: dict[str, np.ndarray] = {}
    means: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for focus in focuses:
        for role, unit_id, _ in focus.units():
            if role in RANKED_ROLES and unit_id not in ranks:
                ranks[unit_id] = _ranks(held, kommun_values, held.unit_values(unit_id), directions)
        for p in focus.peers:
            if p.members and p.id not in means:
                means[p.id] = _member_means(held.value[:, held.column([m for m in p.members if m in kommun_set])])

    rows: list[Row] = []
    for focus in focuses:
        for info in kpis:
            kpi_years = years_for(years, info.id)
            for gender in _kpi_genders(info, genders):
                for role, unit_id, title in focus.units():
                    if role == "riket" and info.is_count:
                        title = RIKET_TOTAL
                    for year in kpi_years:
                        rows.append(_row(held, focus.kommun.id, info, year, gender, (role, unit_id, title),
                                         ranks, means, alla))  # fmt: skip
    frame = _frame(rows)
    if gap:
        frame = _with_gaps(frame, [k.id for k in kpis if {"K", "M"} <= set(_kpi_genders(k, genders))])
    info_of = {k.id: k for k in kpis}
    frame["change_prev"] = _changes(frame, {k.id: (years_for(years, k.id), k.breaks) for k in kpis})
    frame["kpi_title"] = [info_of[k].title for k in frame["kpi"]]
    frame["kpi_label"] = [info_of[k].label for k in frame["kpi"]]
    frame["kpi_unit"] = [info_of[k].unit for k in frame["kpi"]]
    frame["direction"] = [info_of[k].direction for k in frame["kpi"]]
    frame["note"] = [_note(info_of[k], int(y)) for k, y in zip(frame["kpi"], frame["year"], strict=True)]
    return frame[COLUMNS]


def _row(
    held: _Held,
    kommun_id: str,
    info: KpiInfo,
    year: int,
    gender: str,
    unit: tuple[str, str, str],
    ranks: dict[str, np.ndarray],
    means: dict[str, tuple[np.ndarray, np.ndarray]],
    alla: np.ndarray,
) -> Row:
    """One unit's row for one KPI, year and gender, every field read by name from the held matrices."""
    role, unit_id, title = unit
    row = Row(kommun_id=kommun_id, kpi=info.id, year=year, gender=gender, id=unit_id, title=title, role=role)
    r = held.rows.get((info.id, year, gender))
    if r is None:
        row.source = SOURCE_OWN if role == "egen" else SOURCE_KOLADA
        return row
    c = held.columns.get(unit_id)
    if c is not None:
        row.value, row.count = float(held.value[r, c]), float(held.count[r, c])
        row.fetched_at, row.status = held.fetched_at[r, c], held.status[r, c]
    if unit_id in means:
        row.computed_mean, row.computed_count = float(means[unit_id][0][r]), float(means[unit_id][1][r])
    if role == "egen":
        row.value, row.count, row.source = row.computed_mean, row.computed_count, SOURCE_OWN
    else:
        row.mean_differs = means_differ(row.value, row.computed_mean)
    if role in RANKED_ROLES:
        row.rank, row.rank_of, row.quartile = (float(x) for x in ranks[unit_id][r])
    if not info.is_count:
        row.diff_alla = row.value - float(alla[r])
    return row


def _frame(rows: list[Row]) -> pd.DataFrame:
    """The rows as a frame with the column types of the contract."""
    frame = pd.DataFrame({name: [getattr(row, name) for row in rows] for name in _ROW_FIELDS})
    frame["year"] = frame["year"].astype("int64")
    frame["mean_differs"] = frame["mean_differs"].astype(bool)
    for column in _FLOATS:
        frame[column] = frame[column].astype("float64")
    return frame


def _with_gaps(frame: pd.DataFrame, kpis: Sequence[str]) -> pd.DataFrame:
    """Add women minus men for each unit and year (kpijmf's own processing), from a pivot of the K and M rows.

    A gap block follows the M block of its KPI; the rows keep their order otherwise."""
    keys = ["kommun_id", "kpi", "role", "id", "year"]
    split = frame[frame["kpi"].isin(kpis) & frame["gender"].isin(["K", "M"])]
    if split.empty:
        return frame
    by_gender = split.pivot(index=keys, columns="gender", values="value")
    women = split[split["gender"] == "K"]
    gaps = women[[*keys, "title"]].copy()
    gaps["gender"] = GAP
    where = pd.MultiIndex.from_frame(women[keys])
    gaps["value"] = (by_gender["K"] - by_gender["M"]).reindex(where).to_numpy(dtype="float64")
    gaps["source"] = SOURCE_OWN
    gaps["fetched_at"] = ""
    gaps["status"] = ""
    gaps["mean_differs"] = False
    for column in _FLOATS:
        if column != "value":
            gaps[column] = math.nan
    both = pd.concat([frame, gaps[frame.columns]], ignore_index=True)
    focus_pos = {k: i for i, k in enumerate(dict.fromkeys(frame["kommun_id"]))}
    kpi_pos = {k: i for i, k in enumerate(dict.fromkeys(frame["kpi"]))}
    order = sorted(
        range(len(both)),
        key=lambda i: (focus_pos[both.at[i, "kommun_id"]], kpi_pos[both.at[i, "kpi"]],
                       _GENDERS.index(both.at[i, "gender"]), i),
    )  # fmt: skip
    return both.iloc[order].reset_index(drop=True)


def _changes(frame: pd.DataFrame, spans: Mapping[str, tuple[list[int], tuple[int, ...]]]) -> list[float]:
    """Each row's change since the previous year, where that year is part of the KPI's years and no break
    (a new definition) starts in between."""
    keys = list(zip(frame["kommun_id"], frame["kpi"], frame["gender"], frame["role"], frame["id"], frame["year"],
                    strict=True))  # fmt: skip
    value = dict(zip(keys, frame["value"], strict=True))
    changes = []
    for (f, k, g, r, u, y), v in zip(keys, frame["value"], strict=True):
        shown, breaks = spans[k]
        comparable = y - 1 in shown and y not in breaks
        changes.append(v - value.get((f, k, g, r, u, y - 1), math.nan) if comparable else math.nan)
    return changes


NOTE_SEPARATOR = " | "


def _note(info: KpiInfo, year: int) -> str:
    """The long CSV's note: a break starting this year, and a discontinued series with its successor."""
    parts = (info.break_text(year) if year in info.breaks else "", info.ended_text())
    return NOTE_SEPARATOR.join(n for n in parts if n)


def kpis_with_data(frame: pd.DataFrame) -> list[str]:
    """The KPIs for which any row of the comparison has a value."""
    return sorted(frame.loc[frame["value"].notna(), "kpi"].unique())


def apply_targets(frame: pd.DataFrame, targets: Sequence[Target], kommun_id: str) -> pd.DataFrame:
    """Add `target`, `target_comparison` and `target_status` (met / not met / no data) to the kommun's rows.

    `targets` must already be narrowed to this kommun; a later target for the same KPI, year and gender wins.
    Called once per focus kommun: columns another call added are kept."""
    frame = frame.copy()
    if "target" not in frame.columns:
        frame["target"] = np.nan
        frame["target_comparison"] = ""
        frame["target_status"] = ""
    mine = frame["id"].eq(kommun_id)
    if "role" in frame.columns:
        mine &= frame["role"].eq("kommun")
    rows = frame.index[mine]
    for target in targets:
        hit = rows[
            frame.loc[rows, "kpi"].eq(target.kpi)
            & frame.loc[rows, "gender"].eq(target.gender)
            & frame.loc[rows, "year"].map(target.applies)
        ]
        if hit.empty:
            continue
        frame.loc[hit, "target"] = target.value
        frame.loc[hit, "target_comparison"] = target.comparison
        frame.loc[hit, "target_status"] = [target.status(v) for v in frame.loc[hit, "value"]]
    return frame
