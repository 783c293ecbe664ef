"""Two of the universes the emulator serves: a small hand-written one and a large generated one (the real one
is in real.py)."""

from __future__ import annotations

import random
from functools import lru_cache

from tests.emulator.generate import generate_values
from tests.emulator.metadata import (
    COUNTIES,
    DECOY_GROUPS,
    KPI_BY_ID,
    KPI_GROUPS,
    KPI_SPECS,
    LIKNANDE_AM,
    NAMED_KOMMUNER,
    RIKET,
    SIZE_CLASSES,
    SKR_GROUPS,
    county_of,
)
from tests.emulator.model import BASE_UPDATED, Cell, Universe

__all__ = ["Cell", "Universe", "full_universe", "small_universe"]

HAND_YEARS = (2019, 2020, 2021)
NULL_ROW = (None, None, None)  # row present, every gender null

Triple = tuple[float | None, float | None, float | None]
# kommun -> (2019, 2020, 2021), each (T, K, M), NULL_ROW, or None for "no row at all"
HandTable = dict[str, tuple[Triple | None, Triple | None, Triple | None]]

N03926_HAND: HandTable = {
    "2303": ((3.9, 3.1, 4.6), NULL_ROW, (4.4, 3.6, 5.1)),
    "2305": ((3.5, 2.8, 4.1), (4.1, 3.3, 4.8), (4.0, 3.2, 4.7)),
    "2309": ((1.8, 1.5, 2.1), (2.3, 2.0, 2.6), (2.2, 1.9, 2.5)),
    "2313": ((4.2, 3.5, 4.8), (4.8, 4.0, 5.5), (4.6, 3.9, 5.2)),
    "2321": ((1.5, 1.3, 1.7), (2.7, 2.4, 3.0), (2.1, 1.8, 2.4)),
    "2326": ((3.1, 2.5, 3.6), (3.6, 3.0, 4.1), None),
    "2361": ((2.9, 2.3, 3.4), (3.4, 2.9, 3.9), (3.3, 2.7, 3.8)),
    "2380": ((2.6, 2.2, 3.0), (3.0, 2.6, 3.4), (3.2, 2.8, 3.6)),
    "2480": ((2.3, 2.1, 2.5), (2.9, 2.6, 3.2), (2.8, 2.5, 3.1)),
    "2482": ((2.0, 1.7, 2.3), (2.6, 2.2, 2.9), (2.4, 2.1, 2.7)),
    "0980": ((2.5, 2.1, 2.9), (3.2, 2.8, 3.6), (2.9, 2.5, 3.3)),
    "1080": ((3.1, 2.7, 3.5), (3.7, 3.3, 4.1), (3.5, 3.1, 3.9)),
    "1383": ((1.5, 1.3, 1.7), (2.1, 1.8, 2.4), (1.9, 1.7, 2.1)),
    "1489": ((2.4, 2.2, 2.6), (3.0, 2.7, 3.3), (2.9, 2.6, 3.2)),
    "1496": ((2.3, 2.0, 2.6), (3.0, 2.6, 3.4), (2.8, 2.4, 3.2)),
    "2080": ((2.7, 2.3, 3.1), (3.3, 2.9, 3.7), (3.2, 2.9, 3.5)),
    "2580": ((2.1, 1.8, 2.4), (2.7, 2.3, 3.1), (2.5, 2.2, 2.8)),
    "0180": ((3.3, 3.1, 3.5), (4.1, 3.9, 4.3), (3.9, 3.7, 4.1)),
    "0000": ((3.0, 2.7, 3.3), (3.6, 3.3, 3.9), (3.4, 3.1, 3.7)),
}

U40455_HAND: HandTable = {
    "2303": ((44.4, 47.1, 41.2), (38.5, 40.0, 37.0), (46.7, 50.0, 43.8)),
    "2305": ((35.0, 36.4, 33.3), NULL_ROW, (40.0, 42.9, 37.5)),
    "2309": ((52.3, 55.0, 50.0), (47.8, 50.0, 45.5), (50.9, 53.8, 48.3)),
    "2313": ((30.6, 33.3, 28.6), (27.3, 28.6, 26.1), (33.3, 35.0, 31.3)),
    "2321": ((55.6, 57.1, 54.5), (49.2, 51.7, 47.1), (53.1, 56.3, 50.0)),
    "2326": ((41.7, 45.5, 38.5), (36.4, 40.0, 33.3), (39.1, 41.7, 36.4)),
    "2361": ((28.6, 30.0, 27.3), (33.3, 35.7, 31.3), None),
    "2380": ((41.9, 44.2, 40.1), (41.5, 43.0, 40.2), (38.9, 41.3, 36.8)),
    "2480": ((46.2, 48.5, 44.3), (43.8, 45.9, 42.0), (45.1, 47.6, 43.0)),
    "2482": ((39.4, 41.8, 37.5), (37.2, 39.0, 35.7), (40.6, 42.3, 39.1)),
    "0980": ((33.7, 35.2, 32.4), (30.9, 32.1, 29.8), (34.5, 36.8, 32.6)),
    "1080": ((37.8, 40.1, 35.9), (35.6, 37.3, 34.1), (36.9, 38.4, 35.6)),
    "1383": ((48.3, 50.6, 46.4), (45.0, 47.7, 42.8), (47.2, 49.9, 45.0)),
    "1489": ((42.5, 44.0, 41.2), (39.9, 41.5, 38.5), (41.8, 43.6, 40.3)),
    "1496": ((44.9, 46.3, 43.7), (42.1, 44.8, 39.9), (43.5, 45.0, 42.2)),
    "2080": ((40.2, 42.7, 38.1), (38.4, 40.6, 36.5), (39.6, 41.0, 38.3)),
    "2580": ((36.1, 38.0, 34.5), (34.7, 36.2, 33.4), (35.8, 37.4, 34.4)),
    "0180": ((31.2, 33.0, 29.7), (28.8, 30.5, 27.4), (30.4, 32.1, 29.0)),
    "0000": ((38.7, 40.6, 37.1), (36.5, 38.2, 35.0), (37.9, 39.8, 36.3)),
}

U40800_NO_SURVEY = ("2305", "2326", "0980", "1489")  # never answered RKA's voluntary survey
SMALL_REGIONS = ("0023", "0024")
SMALL_SEED = "kpijmf-small"


def small_universe() -> Universe:
    """The hand-written universe: 18 real kommuner, Riket + 2 regions, real group ids, 20 KPIs.

    Hand-written (everything else is seeded-generated, ~3 % nulls, `updated` 2025-03-01 everywhere):
    - N03926 and U40455, genders T/K/M, all 18 kommuner and Riket 0000, years 2019-2021
      (tables `N03926_HAND`, `U40455_HAND`). Riket has its own values, not the mean.
    - Östersund 2380 N03926 T: 2019 2.6, 2020 3.0, 2021 3.2.
    - Tie: Falun 2080 N03926 T 2021 = 3.2, exactly Östersund's. No other 2021 T equals 3.2.
    - Null row: N03926 2020 Ragunda 2303 and U40455 2020 Bräcke 2305 are present with T, K, M all null.
    - Missing row: N03926 2021 Berg 2326 and U40455 2021 Härjedalen 2361 have no row at all.
    - U40800 (antal, voluntary survey) has no rows at all for 2305 Bräcke, 2326 Berg, 0980 Gotland,
      1489 Alingsås.
    - Override: N03926 G30831 (50 000 - 99 999 inv.) 2021 T is published as 3.2, while the mean of its
      8 members (2380 3.2, 0980 2.9, 1080 3.5, 1383 1.9, 1496 2.8, 2080 3.2, 2482 2.4, 2580 2.5) is 2.8.
    - Handy hand-computed means for N03926 T: G33630 Jämtland 2021 = 23.8 / 7 = 3.4 (Berg missing);
      G33630 2020 = 23.9 / 7 (Ragunda null); G216379 2021 = 19.7 / 7.
    - N03932 and N03927 ("(-2023)") have values only up to 2023; the others 2015-2024.
    - N40011 has prel_publication_date 2026-03-31; U-KPIs have no publication dates.
    Groups (real ids, memberships as in Kolada restricted to these 18): G2328 (all 18); size classes
    G30830 (2303 2305 2326), G30824 (2313 2321 2361), G30826 (2309), G30829 (1489),
    G30831 (2380 0980 1080 1383 1496 2080 2482 2580), G30825 (2480), G30828 (0180); SKR G92786
    (2305 2326), G92787 Storstäder (0180), G92788 (2482 0980 1080 1383 1496 2080), G92790 Större stad
    (2380 2480 2580), G92791 (2303 2313), G92792 (2309), G92793 (1489), G92794 (2321 2361); counties
    G33612 G33619 G33620 G33622 G33623 G33627 G33630 (the 8 in Jämtland) G33631 (2480 2482) G33632;
    liknande arbetsmarknad G216379 Östersund 2024 (0980 1080 1383 1489 1496 2080 2580, not 2380),
    G199001 Östersund 2022 (older, 2482 instead of 1489), G216333 Umeå 2024; decoys G216500
    "Liknande kommuner IFO, Östersund, 2024" and G114500 "Nätverk Mittsverige (ovägt medel)".
    KPI groups: the four hand-written `metadata.KPI_GROUPS` (G2KPI900101-G2KPI900104).
    Each call returns a fresh copy.
    """
    return _small_template().copy()


@lru_cache(maxsize=1)
def _small_template() -> Universe:
    named = list(NAMED_KOMMUNER)
    u = Universe()
    _add_kpis(u)
    _add_municipalities(u, named, {k: v[0] for k, v in NAMED_KOMMUNER.items()}, SMALL_REGIONS)
    _add_standard_groups(u, named, {k: (v[1], v[2]) for k, v in NAMED_KOMMUNER.items()})
    for kommun, members in LIKNANDE_AM.items():
        title = NAMED_KOMMUNER[kommun][0]
        u.add_group(NAMED_KOMMUNER[kommun][3], f"Liknande kommuner arbetsmarknad, {title}, 2024", members)
    for group_id, title, members in DECOY_GROUPS:
        u.add_group(group_id, title, members)
    _generate_values(u, SMALL_SEED, missing_rate=0.0)
    for kommun in U40800_NO_SURVEY:
        for year in KPI_BY_ID["U40800"].years:
            u.values.pop(("U40800", kommun, year), None)
    _apply_hand_table(u, "N03926", N03926_HAND)
    _apply_hand_table(u, "U40455", U40455_HAND)
    u.group_overrides[("N03926", "G30831", 2021, "T")] = 3.2
    return u


def full_universe(n_kommuner: int = 290, seed: int = 7) -> Universe:
    """A generated universe of `n_kommuner` kommuner (the 18 named ones first), ~400 groups, 20 KPIs.

    Every value is generated from `seed` (~3 % null, ~2 % of rows missing). Generated kommuner have ids
    county code + index (never one of the 18) and titles "Kommun NNNN". Each call returns a fresh copy.
    """
    return _full_template(n_kommuner, seed).copy()


@lru_cache(maxsize=4)
def _full_template(n_kommuner: int, seed: int) -> Universe:
    if n_kommuner < len(NAMED_KOMMUNER):
        raise ValueError(f"n_kommuner must be at least {len(NAMED_KOMMUNER)}")
    rng = random.Random(f"full:{seed}")
    titles = {k: v[0] for k, v in NAMED_KOMMUNER.items()}
    classes = {k: (v[1], v[2]) for k, v in NAMED_KOMMUNER.items()}
    counties = [code for code in COUNTIES if code != "09"]  # Gotland is one kommun
    next_index = dict.fromkeys(counties, 1)
    while len(titles) < n_kommuner:
        code = counties[(len(titles) - len(NAMED_KOMMUNER)) % len(counties)]
        if next_index[code] > 99:
            raise ValueError("n_kommuner too large for 2-digit indexes per county")
        kommun = f"{code}{next_index[code]:02d}"
        next_index[code] += 1
        if kommun in titles:
            continue
        titles[kommun] = f"Kommun {kommun}"
        classes[kommun] = (_weighted(rng, SIZE_CLASSES), _weighted(rng, SKR_GROUPS))
    kommuner = sorted(titles)
    regions = tuple(region for _group, _title, region, _rtitle in COUNTIES.values())

    u = Universe()
    _add_kpis(u)
    _add_municipalities(u, kommuner, titles, regions)
    _add_standard_groups(u, kommuner, classes)
    for kommun, (title, _size, _skr, group_id) in NAMED_KOMMUNER.items():
        others = [k for k in kommuner if k != kommun]
        members = LIKNANDE_AM.get(kommun) or rng.sample(others, 7)
        u.add_group(group_id, f"Liknande kommuner arbetsmarknad, {title}, 2024", members)
    for group_id, title, members in DECOY_GROUPS:
        u.add_group(group_id, title, members)
    _add_decoys(u, kommuner, rng, target_total=400)
    _generate_values(u, f"full:{seed}", missing_rate=0.02)
    return u


# ---- building blocks --------------------------------------------------------------------------------


def _add_kpis(u: Universe) -> None:
    """The 20 KPIs and the hand-written KPI groups over them."""
    for spec in KPI_SPECS:
        u.kpis[spec.id] = spec.as_kolada()
    for group_id, title, members in KPI_GROUPS:
        u.add_kpi_group(group_id, title, members)


def _add_municipalities(u: Universe, kommuner: list[str], titles: dict[str, str], regions: tuple[str, ...]) -> None:
    region_titles = {region: rtitle for _g, _t, region, rtitle in COUNTIES.values()}
    u.municipalities[RIKET[0]] = {"id": RIKET[0], "title": RIKET[1], "type": "L"}
    for region in regions:
        u.municipalities[region] = {"id": region, "title": region_titles[region], "type": "L"}
    for kommun in sorted(kommuner):
        u.municipalities[kommun] = {"id": kommun, "title": titles[kommun], "type": "K"}


def _add_standard_groups(u: Universe, kommuner: list[str], classes: dict[str, tuple[str, str]]) -> None:
    """G2328, size classes, SKR kommungrupper and county groups; empty ones are left out."""
    u.add_group("G2328", "Alla kommuner (ovägt medel)", sorted(kommuner))
    for table, index in ((SIZE_CLASSES, 0), (SKR_GROUPS, 1)):
        for group_id, (title, _weight) in table.items():
            members = sorted(k for k in kommuner if classes[k][index] == group_id)
            if members:
                u.add_group(group_id, title, members)
    for code, (group_id, title, _region, _rtitle) in COUNTIES.items():
        members = sorted(k for k in kommuner if county_of(k) == code)
        if members:
            u.add_group(group_id, title, members)


def _add_decoys(u: Universe, kommuner: list[str], rng: random.Random, target_total: int) -> None:
    areas = ("IFO", "ekonomiskt bistånd", "socioekonomi", "äldreomsorg", "grundskola", "LSS")
    index = 0
    while len(u.groups) < target_total:
        index += 1
        if index % 4:
            owner = rng.choice(kommuner)
            area = rng.choice(areas)
            title = f"Liknande kommuner {area}, {u.municipalities[owner]['title']}, 2024"
            members = rng.sample([k for k in kommuner if k != owner], 7)
            u.add_group(f"G{230000 + index}", title, members)
        else:
            members = rng.sample(kommuner, rng.randint(3, 9))
            u.add_group(f"G{120000 + index}", f"Samverkansnätverk {index} (ovägt medel)", members)


def _weighted(rng: random.Random, table: dict[str, tuple[str, int]]) -> str:
    ids = list(table)
    return rng.choices(ids, weights=[table[i][1] for i in ids])[0]


def _generate_values(u: Universe, seed: str, missing_rate: float) -> None:
    """Seeded series for the 20 KPIs over their years (see generate_values)."""
    generate_values(u, seed, missing_rate, {spec.id: spec.years for spec in KPI_SPECS})


def _apply_hand_table(u: Universe, kpi: str, table: HandTable) -> None:
    for unit, per_year in table.items():
        for year, triple in zip(HAND_YEARS, per_year, strict=True):
            if triple is None:
                u.values.pop((kpi, unit, year), None)
            else:
                genders = dict(zip("TKM", triple, strict=True))
                u.values[(kpi, unit, year)] = Cell(genders, updated=BASE_UPDATED)
