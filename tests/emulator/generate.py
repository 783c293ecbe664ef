"""Seeded generation of plausible values, shared by every universe and `Universe.add_year`."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from tests.emulator.metadata import EXTRA_RANGES, KPI_BY_ID, RIKET
from tests.emulator.model import BASE_UPDATED, Cell, Universe

NULL_RATE = 0.03
RIKET_COUNT_SCALE = 60  # Riket's count is a national total, far above any one kommun's


def _range(meta: dict) -> tuple[float, float, int, bool]:
    spec = KPI_BY_ID.get(meta["id"])
    if spec is not None:
        return spec.low, spec.high, spec.decimals, spec.is_count
    low, high, decimals = EXTRA_RANGES.get(meta["id"], (0.0, 100.0, 1))  # default: a KPI a test added by hand
    return low, high, decimals, meta["title"].endswith(", antal")


def _clamp(x: float, low: float, high: float) -> float:
    return min(high, max(low, x))


def draw_cell(
    meta: dict,
    rng: random.Random,
    base: float | None = None,
    riket: bool = False,
    null_rate: float = NULL_RATE,
) -> dict[str, float | None]:
    """One cell's gender values for a KPI, near `base` (last year's T) when given."""
    low, high, decimals, is_count = _range(meta)
    scale = RIKET_COUNT_SCALE if riket and is_count else 1
    level = base / scale if base is not None else rng.uniform(low, high)
    total = _clamp(level * (1 + rng.gauss(0, 0.07)), low, high)
    shown_total = round(total * scale, decimals)
    genders: dict[str, float | None] = {"T": shown_total}
    if meta["is_divided_by_gender"]:
        if is_count:
            women = round(total * scale * rng.uniform(0.35, 0.55), decimals)
            genders["K"], genders["M"] = women, round(shown_total - women, decimals)
        else:
            women = _clamp(total * (1 + rng.gauss(0, 0.1)), low, high)
            genders["K"] = round(women, decimals)
            genders["M"] = round(_clamp(2 * total - women, low, high), decimals)
    for gender in genders:
        if rng.random() < null_rate:
            genders[gender] = None
    return genders


def draw_series(
    meta: dict, years: tuple[int, ...] | list[int], seed: int | str, unit: str
) -> dict[int, dict[str, float | None]]:
    """A random walk of cells over `years` for one unit, reproducible from (seed, kpi, unit)."""
    rng = random.Random(f"{seed}:{meta['id']}:{unit}")
    series: dict[int, dict[str, float | None]] = {}
    base: float | None = None
    for year in years:
        genders = draw_cell(meta, rng, base, riket=unit == "0000")
        series[year] = genders
        base = genders["T"] if genders["T"] is not None else base
    return series


def generate_values(u: Universe, seed: str, missing_rate: float, years_by_kpi: Mapping[str, Sequence[int]]) -> None:
    """Seeded series for each KPI over its years: kommuner and Riket always, regions for type-A KPIs."""
    kommuner = u.kommun_ids()
    regions = sorted(m for m, row in u.municipalities.items() if row["type"] == "L" and m != RIKET[0])
    gaps = random.Random(f"{seed}:missing")
    for kpi, years in years_by_kpi.items():
        meta = u.kpis[kpi]
        units = [*kommuner, RIKET[0], *(regions if meta["municipality_type"] == "A" else [])]
        for unit in units:
            for year, genders in draw_series(meta, tuple(years), seed, unit).items():
                if missing_rate and gaps.random() < missing_rate:
                    continue
                u.values[(kpi, unit, year)] = Cell(genders, updated=BASE_UPDATED)
