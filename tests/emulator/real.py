"""The real universe: Kolada's real units, groups and KPI catalogue (snapshot of 2026-03-23), generated values."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from tests.emulator.generate import generate_values
from tests.emulator.metadata import KPI_GROUPS
from tests.emulator.model import Universe
from tests.emulator.snapshot import load_snapshot

__all__ = ["SET_KPIS", "published_years", "real_universe"]

# Every KPI the built-in KPI sets (kpi_sets/*.toml) name that is in the v3 catalogue (N17434, which
# N18601 replaces, is not); a test checks this list against the sets.
SET_KPIS = (
    "N40011", "U40800", "U40811", "N03932", "N03926", "N03927", "N02797", "U40455", "U40406", "U40409",
    "N00973", "N30101", "N18601", "N03941", "N03942", "N03935", "N30005", "N31807", "N31816", "N31814",
    "N31008", "U31804",
)  # fmt: skip
CAPTURED = date(2026, 3, 23)
FIRST_YEAR = 2015
DISCONTINUED_LAST_YEAR = 2023
UNSCHEDULED_LAST_YEAR = 2024  # KPIs without a publication plan (RKA's own surveys, U…): last year 2024


def published_years(meta: dict, captured: date = CAPTURED) -> tuple[int, ...]:
    """The years a KPI has values for on `captured`, from its catalogue entry.

    A "(-2023)" title ends in 2023. `publ_period` is the period the next publication brings: it is out
    once its `publication_date` (or `prel_publication_date`) has passed, else the year before is the last.
    """
    if meta["title"].endswith("(-2023)"):
        last = DISCONTINUED_LAST_YEAR
    elif not meta["publ_period"]:
        last = UNSCHEDULED_LAST_YEAR
    else:
        dates = [d for d in (meta["prel_publication_date"], meta["publication_date"]) if d]
        out = any(date.fromisoformat(d) <= captured for d in dates)
        last = int(meta["publ_period"]) - (0 if out else 1)
    return tuple(range(FIRST_YEAR, last + 1))


def real_universe(seed: int = 7) -> Universe:
    """Every real unit (290 kommuner, 21 regions, Riket), all 3,630 real municipality groups with their real
    members, the full catalogue of 6,099 KPIs, and the hand-written KPI groups.

    Values are generated (as in full_universe: ~3 % null, ~2 % of rows missing) only for `SET_KPIS`, for
    every kommun and Riket (regions too for type-A KPIs), over `published_years` of each: e.g. N03941 and
    N03926 to 2025, N40011 and the U-KPIs to 2024, N03932 (-2023), N02797 and N18601 to 2023. Group values
    are the lazily computed unweighted member means. Each call returns a fresh copy.
    """
    return _real_template(seed).copy()


@lru_cache(maxsize=2)
def _real_template(seed: int) -> Universe:
    snapshot = load_snapshot()
    u = Universe()
    u.kpis = {kpi["id"]: dict(kpi) for kpi in snapshot["kpis"]}
    u.municipalities = {m["id"]: dict(m) for m in snapshot["municipalities"]}
    titles = {mid: m["title"] for mid, m in u.municipalities.items()}
    u.groups = {
        g["id"]: {
            "id": g["id"],
            "title": g["title"],
            "members": [{"member_id": mid, "member_title": titles[mid]} for mid in g["members"]],
        }
        for g in snapshot["groups"]
    }
    for group_id, title, members in KPI_GROUPS:
        u.add_kpi_group(group_id, title, members)
    years = {kpi: published_years(u.kpis[kpi]) for kpi in SET_KPIS}
    generate_values(u, f"real:{seed}", missing_rate=0.02, years_by_kpi=years)
    return u
