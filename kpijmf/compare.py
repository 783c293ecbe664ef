"""Tidy observations -> the comparison frame: kommun vs peers, published and recomputed means, ranks, trends.

Pure pandas, no I/O. One row per kpi × unit × year × gender; reshaping to the audit layout happens at the edge.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kpijmf.catalog import ALLA_ID, Peer, Unit
from kpijmf.targets import Target

SOURCE_KOLADA = "Källa: Kolada"
SOURCE_OWN = "egen bearbetning av data från Kolada"
GAP = "K-M"
COLUMNS = [
    "kpi", "kpi_title", "kpi_label", "kpi_unit", "direction", "year", "gender", "id", "title", "role",
    "value", "count", "computed_mean", "computed_count", "mean_differs", "rank", "rank_of", "quartile",
    "diff_alla", "change_prev", "source", "fetched_at",
]  # fmt: skip
_KEY = ["kpi", "year", "gender"]


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


def _ranks(kommun_values: pd.DataFrame, directions: dict[str, str]) -> pd.DataFrame:
    """Rank every kommun with a value per kpi/year/gender; 1 = best (highest unless lower is better)."""
    groups = kommun_values.groupby(_KEY, sort=False)["value"]
    lower_first = groups.rank(method="min", ascending=True)
    higher_first = groups.rank(method="min", ascending=False)
    lower = kommun_values["kpi"].map(directions).eq("lower")
    ranked = kommun_values[[*_KEY, "unit_id"]].copy()
    ranked["rank"] = lower_first.where(lower, higher_first)
    ranked["rank_of"] = groups.transform("count").astype("float64")
    ranked["quartile"] = np.ceil(4 * ranked["rank"] / ranked["rank_of"])
    return ranked


def _computed_means(kommun_values: pd.DataFrame, peers: Sequence[Peer]) -> pd.DataFrame:
    """kpijmf's own unweighted mean of the member values it holds, per peer/kpi/year/gender."""
    pairs = [(p.id, m) for p in peers if p.members for m in p.members]
    columns = ["id", *_KEY, "computed_mean", "computed_count"]
    if not pairs:
        empty = pd.DataFrame({c: pd.Series(dtype="float64" if c.startswith("computed") else "object") for c in columns})
        empty["year"] = empty["year"].astype("int64")
        return empty
    members = pd.DataFrame(pairs, columns=["id", "unit_id"])
    joined = members.merge(kommun_values[[*_KEY, "unit_id", "value"]], on="unit_id")
    stats = joined.groupby(["id", *_KEY])["value"].agg(computed_mean="mean", computed_count="count").reset_index()
    stats["computed_count"] = stats["computed_count"].astype("float64")
    return stats[columns]


def _grid(kommun: Unit, peers: Sequence[Peer], kpis: Sequence[KpiInfo], years: Sequence[int], genders: Sequence[str]):
    rows = []
    units = [("kommun", kommun.id, kommun.title), *((p.role, p.id, p.title) for p in peers)]
    for info in kpis:
        kpi_genders = [g for g in genders if info.divided_by_gender or g == "T"] or ["T"]
        for gender in kpi_genders:
            for role, unit_id, title in units:
                for year in years:
                    rows.append((info.id, int(year), gender, unit_id, title, role))
    return pd.DataFrame(rows, columns=["kpi", "year", "gender", "id", "title", "role"])


def _gap_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Women minus men for each unit and year where both exist (kpijmf's own processing)."""
    women = frame[frame["gender"] == "K"].set_index(["kpi", "year", "id"])
    men = frame[frame["gender"] == "M"].set_index(["kpi", "year", "id"])
    common = women.index.intersection(men.index)
    if common.empty:
        return frame.iloc[0:0]
    gap = women.loc[common].copy()
    gap["value"] = women.loc[common, "value"] - men.loc[common, "value"]
    gap["gender"] = GAP
    for column in ("count", "computed_mean", "computed_count", "rank", "rank_of", "quartile", "diff_alla"):
        gap[column] = math.nan
    gap["mean_differs"] = False
    gap["fetched_at"] = ""
    return gap.reset_index()


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
    it must hold every kommun's values for ranks and recomputed means to be right.
    """
    obs = observations[observations["kpi"].isin([k.id for k in kpis]) & observations["year"].isin(list(years))]
    all_kommuner = set(kommun_ids)
    kommun_values = obs[obs["unit_id"].isin(all_kommuner) & obs["value"].notna()]
    directions = {k.id: k.direction for k in kpis}

    frame = _grid(kommun, peers, kpis, years, genders)
    published = obs.rename(columns={"unit_id": "id"})[[*_KEY, "id", "value", "count", "fetched_at"]]
    frame = frame.merge(published, on=[*_KEY, "id"], how="left")

    means = _computed_means(kommun_values, peers)
    frame = frame.merge(means, on=["id", *_KEY], how="left")
    custom = frame["role"].eq("egen")
    if custom.any():
        frame.loc[custom, "value"] = frame.loc[custom, "computed_mean"]
        frame.loc[custom, "count"] = frame.loc[custom, "computed_count"]
    differs = [means_differ(v, c) for v, c in zip(frame["value"], frame["computed_mean"], strict=True)]
    frame["mean_differs"] = pd.Series(differs, index=frame.index, dtype=bool) & ~custom

    ranks = _ranks(kommun_values, directions)
    ranks = ranks[ranks["unit_id"] == kommun.id].rename(columns={"unit_id": "id"})
    frame = frame.merge(ranks, on=[*_KEY, "id"], how="left")

    alla = obs[obs["unit_id"] == ALLA_ID][[*_KEY, "value"]].rename(columns={"value": "alla_value"})
    frame = frame.merge(alla, on=_KEY, how="left")
    frame["diff_alla"] = frame["value"] - frame["alla_value"]

    previous = frame[["kpi", "year", "gender", "id", "value"]].copy()
    previous["year"] = previous["year"] + 1
    frame = frame.merge(previous.rename(columns={"value": "prev_value"}), on=[*_KEY, "id"], how="left")
    frame["change_prev"] = frame["value"] - frame["prev_value"]

    if gap and {"K", "M"} <= set(genders):
        frame = pd.concat([frame, _gap_rows(frame)], ignore_index=True)

    info = {k.id: k for k in kpis}
    frame["kpi_title"] = frame["kpi"].map(lambda k: info[k].title)
    frame["kpi_label"] = frame["kpi"].map(lambda k: info[k].label)
    frame["kpi_unit"] = frame["kpi"].map(lambda k: info[k].unit)
    frame["direction"] = frame["kpi"].map(directions)
    own = frame["role"].eq("egen") | frame["gender"].eq(GAP)
    frame["source"] = [SOURCE_OWN if o else SOURCE_KOLADA for o in own]
    frame["fetched_at"] = frame["fetched_at"].fillna("")
    frame["mean_differs"] = frame["mean_differs"].fillna(False).astype(bool)
    for column in ("value", "count", "computed_mean", "computed_count", "rank", "rank_of", "quartile", "diff_alla"):
        frame[column] = frame[column].astype("float64")

    role_order = {"kommun": 0}
    unit_order = {unit_id: i for i, unit_id in enumerate([kommun.id, *(p.id for p in peers)])}
    gender_order = {g: i for i, g in enumerate(["T", "K", "M", GAP])}
    kpi_order = {k.id: i for i, k in enumerate(kpis)}
    frame["_k"] = frame["kpi"].map(kpi_order)
    frame["_g"] = frame["gender"].map(gender_order)
    frame["_u"] = frame["id"].map(unit_order)
    frame["_r"] = frame["role"].map(role_order).fillna(1)
    frame = frame.sort_values(["_k", "_g", "_r", "_u", "year"], kind="stable")
    return frame[COLUMNS].reset_index(drop=True)


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
