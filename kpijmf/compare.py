"""Tidy observations -> the comparison frame: kommun vs peers, published and recomputed means, ranks, trends.

In memory, no I/O and no SQL: the tidy frame becomes one value matrix (pandas factorize, numpy), from which
ranks and kpijmf's own means are row-wise numpy and each comparison row is an index lookup. One row per
kpi × unit × year × gender; reshaping to the audit layout happens at the edge.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kpijmf.domain import vocab
from kpijmf.domain.catalog import ALLA_ID, Peer, Unit
from kpijmf.domain.targets import Target

SOURCE_KOLADA = vocab.SOURCE_KOLADA
SOURCE_OWN = vocab.SOURCE_OWN
GAP = "K-M"
COLUMNS = [
    "kpi", "kpi_title", "kpi_label", "kpi_unit", "direction", "year", "gender", "id", "title", "role",
    "value", "count", "computed_mean", "computed_count", "mean_differs", "rank", "rank_of", "quartile",
    "diff_alla", "change_prev", "source", "fetched_at",
]  # fmt: skip
# The fields of each row as build_comparison makes it (the KPI's own columns are added to the frame after).
_ROW = [
    "kpi", "year", "gender", "id", "title", "role", "value", "count", "computed_mean", "computed_count",
    "mean_differs", "rank", "rank_of", "quartile", "diff_alla", "source", "fetched_at",
]  # fmt: skip
_VALUE = _ROW.index("value")


@dataclass(frozen=True)
class KpiInfo:
    """What a comparison needs to know of a KPI: Kolada's title plus the set's label, unit and direction."""

    id: str
    title: str
    label: str
    unit: str = ""
    direction: str = "neutral"
    divided_by_gender: bool = False


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

    def column(self, unit_ids: Sequence[str]) -> list[int]:
        """The matrix columns of those units that have any observation (each once)."""
        return [self.columns[u] for u in dict.fromkeys(unit_ids) if u in self.columns]

    def unit_values(self, unit_id: str) -> np.ndarray:
        """One unit's values per row (NaN where it has none)."""
        c = self.columns.get(unit_id)
        return self.value[:, c] if c is not None else np.full(len(self.rows), np.nan)


def _ranks(held: _Held, kommun_values: np.ndarray, own: np.ndarray, directions: dict[str, str]) -> np.ndarray:
    """Rows of (rank, rank_of, quartile) of `own` among every kommun with a value; NaN where `own` has none.

    1 = best (highest unless lower is better); ties share the best rank, as pandas' rank(method="min")."""
    lower = np.array([directions.get(kpi) == "lower" for kpi in held.row_kpis], dtype=bool)[:, None]
    mine = own[:, None]
    rank = np.where(lower, kommun_values < mine, kommun_values > mine).sum(axis=1) + 1.0
    of = (~np.isnan(kommun_values)).sum(axis=1).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        ranks = np.column_stack([rank, of, np.ceil(4 * rank / of)])
    ranks[np.isnan(own)] = np.nan
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


def build_comparison(
    observations: pd.DataFrame,
    *,
    kommun: Unit,
    peers: Sequence[Peer],
    kpis: Sequence[KpiInfo],
    years: Sequence[int],
    kommun_ids: Sequence[str],
    genders: Sequence[str] = ("T",),
    gap: bool = False,
) -> pd.DataFrame:
    """The comparison frame (columns `COLUMNS`) for one kommun against its peers.

    `observations` is the store's tidy frame (kpi, year, unit_id, gender, value, count, status, fetched_at);
    it must hold every kommun's values for ranks and recomputed means to be right. One row per kpi × gender ×
    unit × year, in that order: the kommun first, then the peers as given; a K-M row follows when `gap` is set.
    """
    held = _Held(observations)
    kommun_set = set(kommun_ids)
    kommun_values = held.value[:, [c for unit_id, c in held.columns.items() if unit_id in kommun_set]]
    directions = {k.id: k.direction for k in kpis}
    ranks = _ranks(held, kommun_values, held.unit_values(kommun.id), directions)
    alla = held.unit_values(ALLA_ID)
    means = {
        p.id: _member_means(held.value[:, held.column([m for m in p.members if m in kommun_set])])
        for p in peers
        if p.members
    }
    units = [("kommun", kommun.id, kommun.title), *((p.role, p.id, p.title) for p in peers)]
    years = [int(y) for y in years]
    no_rank = (math.nan, math.nan, math.nan)

    rows: list[tuple] = []
    for info in kpis:
        kpi_genders = _kpi_genders(info, genders)
        for gender in kpi_genders:
            for role, unit_id, title in units:
                c = held.columns.get(unit_id)
                for year in years:
                    r = held.rows.get((info.id, year, gender))
                    value = count = computed = computed_count = math.nan
                    fetched_at = ""
                    if r is not None and c is not None:
                        value, count, fetched_at = held.value[r, c], held.count[r, c], held.fetched_at[r, c]
                    if r is not None and unit_id in means:
                        computed, computed_count = means[unit_id][0][r], means[unit_id][1][r]
                    if role == "egen":
                        value, count = computed, computed_count
                    rank = ranks[r] if r is not None and role == "kommun" else no_rank
                    diff = value - alla[r] if r is not None else math.nan
                    differs = role != "egen" and means_differ(value, computed)
                    source = SOURCE_OWN if role == "egen" else SOURCE_KOLADA
                    rows.append((info.id, year, gender, unit_id, title, role, value, count, computed, computed_count,
                                 differs, *rank, diff, source, fetched_at))  # fmt: skip
        if gap and {"K", "M"} <= set(kpi_genders):
            rows.extend(_gap_rows(rows, info.id, len(units), len(years)))
    frame = pd.DataFrame.from_records(rows, columns=_ROW)
    frame["year"] = frame["year"].astype("int64")
    frame["mean_differs"] = frame["mean_differs"].astype(bool)
    for column in ("value", "count", "computed_mean", "computed_count", "rank", "rank_of", "quartile", "diff_alla"):
        frame[column] = frame[column].astype("float64")
    frame["change_prev"] = _changes(frame, years)
    info = {k.id: k for k in kpis}
    frame["kpi_title"] = [info[k].title for k in frame["kpi"]]
    frame["kpi_label"] = [info[k].label for k in frame["kpi"]]
    frame["kpi_unit"] = [info[k].unit for k in frame["kpi"]]
    frame["direction"] = [info[k].direction for k in frame["kpi"]]
    return frame[COLUMNS]


def _gap_rows(rows: list[tuple], kpi: str, n_units: int, n_years: int) -> list[tuple]:
    """Women minus men for each unit and year (kpijmf's own processing), from the K and M rows just built.

    The rows of one KPI are ordered gender (T, K, M) × unit × year, so K and M are the last two blocks."""
    block = n_units * n_years
    women, men = rows[len(rows) - 2 * block : len(rows) - block], rows[len(rows) - block :]
    gaps = []
    nan = math.nan
    for w, m in zip(women, men, strict=True):
        _, year, _, unit_id, title, role = w[:6]
        gaps.append((kpi, year, GAP, unit_id, title, role, w[_VALUE] - m[_VALUE], nan, nan, nan, False,
                     nan, nan, nan, nan, SOURCE_OWN, ""))  # fmt: skip
    return gaps


def _changes(frame: pd.DataFrame, years: Sequence[int]) -> list[float]:
    """Each row's change since the previous year, where that year is part of the comparison."""
    value = {
        (k, g, u, y): v
        for k, g, u, y, v in zip(frame["kpi"], frame["gender"], frame["id"], frame["year"], frame["value"], strict=True)
    }
    shown = set(years)
    return [
        v - value.get((k, g, u, y - 1), math.nan) if y - 1 in shown else math.nan
        for k, g, u, y, v in zip(frame["kpi"], frame["gender"], frame["id"], frame["year"], frame["value"], strict=True)
    ]


def kpis_with_data(frame: pd.DataFrame) -> list[str]:
    """The KPIs for which any row of the comparison has a value."""
    return sorted(frame.loc[frame["value"].notna(), "kpi"].unique())


def apply_targets(frame: pd.DataFrame, targets: Sequence[Target], kommun_id: str) -> pd.DataFrame:
    """Add `target`, `target_comparison` and `target_status` (met / not met / no data) to the kommun's rows.

    `targets` must already be narrowed to this kommun; a later target for the same KPI, year and gender wins."""
    frame = frame.copy()
    frame["target"] = np.nan
    frame["target_comparison"] = ""
    frame["target_status"] = ""
    rows = frame.index[frame["id"].eq(kommun_id)]
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
