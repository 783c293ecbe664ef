"""A small comparison frame built by hand, shaped exactly like compare.py's output, for output tests.

Östersund (2380) against Alla kommuner, its size class, an explicit group whose title is a spreadsheet
formula, a custom peer list whose title carries rich markup and a pipe, and Riket; two KPIs, 2019–2021.
Differences and changes are computed here by subtraction, so they carry real float noise (2.9 − 3.1).
"""

from __future__ import annotations

import math

import pandas as pd

KOLADA = "Källa: Kolada"
OWN = "egen bearbetning av data från Kolada"
NAN = math.nan

COLUMNS = [
    "kpi",
    "kpi_title",
    "kpi_label",
    "kpi_unit",
    "direction",
    "year",
    "gender",
    "id",
    "title",
    "role",
    "value",
    "count",
    "computed_mean",
    "computed_count",
    "mean_differs",
    "rank",
    "rank_of",
    "quartile",
    "diff_alla",
    "change_prev",
    "source",
    "fetched_at",
    "kommun_id",
    "status",
    "note",
]

FORMULA_TITLE = '=HYPERLINK("http://example.invalid";"klicka")'
MARKUP_TITLE = "Egna jämförelsekommuner [red]x[/red] | urval"
SIZE_TITLE = "Kommuner med 50 000 - 99 999 invånare (ovägt medel)"

KPIS = {
    "N03926": (
        "Långtidsarbetslösa i befolkningen, 25-65 år, andel (%)",
        "Långtidsarbetslöshet 25-64 år",
        "%",
    ),
    "N40011": (
        "Nettokostnad arbetsmarknadsåtgärder, kr/inv",
        "Nettokostnad arbetsmarknadsåtgärder",
        "kr/inv",
    ),
}

# (id, title, role, count) — the units, kommun first as compare.py emits them.
UNITS = [
    ("2380", "Östersund", "kommun", 1),
    ("G2328", "Alla kommuner (ovägt medel)", "alla", 290),
    ("G30831", SIZE_TITLE, "storlek", 23),
    ("G99999", FORMULA_TITLE, "grupp", 12),
    ("egen", MARKUP_TITLE, "egen", 5),
    ("0000", "Riket", "riket", NAN),
]

# kpi -> unit id -> values 2019, 2020, 2021 (NaN = Kolada has no value)
VALUES = {
    "N03926": {
        "2380": (2.6, 3.1, 2.9),
        "G2328": (2.9, 3.4, 3.2),
        "G30831": (2.7, NAN, 2.8),
        "G99999": (NAN, 3.3, 3.0),
        "egen": (2.75, 3.25, 3.0),
        "0000": (2.5, 3.0, 2.7),
    },
    "N40011": {
        "2380": (1456.0, NAN, 1612.0),
        "G2328": (1302.4, 1388.7, 1420.1),
        "G30831": (1190.3, 1250.0, 1301.6),
        "G99999": (1100.0, 1150.5, 1175.25),
        "egen": (1380.0, 1402.5, 1510.75),
        "0000": (1105.0, 1167.0, 1210.0),
    },
}
YEARS = (2019, 2020, 2021)

# kommun rank, rank_of, quartile per kpi and year
RANKS = {
    "N03926": {2019: (88, 290, 2), 2020: (101, 290, 2), 2021: (97, 290, 2)},
    "N40011": {2019: (190, 287, 3), 2020: (NAN, 286, NAN), 2021: (201, 287, 3)},
}
# (kpi, id, year) -> kpijmf's own mean of the members, where it disagrees with Kolada's
DISAGREEING = {("N03926", "G30831", 2021): (3.05, 22)}

ATTRS = {
    "api_url": "https://api.kolada.se/v3/data/kpi/N03926,N40011/municipality/2380,G2328,G30831,0000/year/2019,2020,2021",
    "kpijmf_version": "0.1.0",
    "generated_at": "2026-03-24T09:30:00+01:00",
    "kommun_id": "2380",
    "kommun_title": "Östersund",
    "kpi_set": "arbetsmarknad",
    "years": [2019, 2020, 2021],
    "source_line": (
        "Källa: Kolada (api.kolada.se/v3); rang, egna medelvärden och förändringar: "
        "egen bearbetning av data från Kolada"
    ),
}


def _gender_rows(rows: list[dict]) -> list[dict]:
    """K, M and K-M rows for the kommun's N03926, as a gender-split KPI would have them."""
    extra = []
    women = {2019: 2.4, 2020: 2.8, 2021: 2.7}
    men = {2019: 2.8, 2020: 3.4, 2021: 3.1}
    for row in rows:
        if row["kpi"] != "N03926" or row["id"] != "2380":
            continue
        y = row["year"]
        for gender, value in (("K", women[y]), ("M", men[y]), ("K-M", women[y] - men[y])):
            prev = {"K": women, "M": men}.get(gender)
            change = NAN
            if y - 1 in women:
                change = value - (prev[y - 1] if prev else women[y - 1] - men[y - 1])
            extra.append(
                row
                | {
                    "gender": gender,
                    "value": value,
                    "rank": NAN,
                    "rank_of": NAN,
                    "quartile": NAN,
                    "diff_alla": NAN,
                    "change_prev": change,
                }
            )
    return extra


def sample_frame(*, with_gender: bool = False) -> pd.DataFrame:
    """The hand-built comparison frame; with_gender adds Östersund's K, M and K-M rows for N03926."""
    rows: list[dict] = []
    for kpi, (kpi_title, label, unit) in KPIS.items():
        for uid, title, role, count in UNITS:
            for i, year in enumerate(YEARS):
                value = VALUES[kpi][uid][i]
                alla = VALUES[kpi]["G2328"][i]
                prev = VALUES[kpi][uid][i - 1] if i else NAN
                is_group = role not in ("kommun", "riket")
                computed, computed_count = (value, count) if is_group else (NAN, NAN)
                if is_group and math.isnan(value):
                    computed, computed_count = NAN, NAN
                differs = (kpi, uid, year) in DISAGREEING
                if differs:
                    computed, computed_count = DISAGREEING[(kpi, uid, year)]
                rank, rank_of, quartile = RANKS[kpi][year] if role == "kommun" else (NAN, NAN, NAN)
                rows.append(
                    {
                        "kpi": kpi,
                        "kpi_title": kpi_title,
                        "kpi_label": label,
                        "kpi_unit": unit,
                        "direction": "lower",
                        "year": year,
                        "gender": "T",
                        "id": uid,
                        "title": title,
                        "role": role,
                        "value": value,
                        "count": count if not math.isnan(value) else NAN,
                        "computed_mean": computed,
                        "computed_count": computed_count,
                        "mean_differs": differs,
                        "rank": rank,
                        "rank_of": rank_of,
                        "quartile": quartile,
                        "diff_alla": value - alla,
                        "change_prev": value - prev,
                        "source": OWN if role == "egen" else KOLADA,
                        "fetched_at": "" if role == "egen" else f"2026-03-2{i + 1}T08:0{i}:00+00:00",
                        "kommun_id": "2380",
                        "status": "",
                        "note": "",
                    }
                )
    if with_gender:
        rows += _gender_rows(rows)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("count", "computed_count", "rank", "rank_of", "quartile"):
        frame[col] = frame[col].astype("Int64")
    frame["year"] = frame["year"].astype("int64")
    frame["mean_differs"] = frame["mean_differs"].astype(bool)
    frame.attrs = dict(ATTRS)
    return frame


def two_kommun_frame() -> pd.DataFrame:
    """The sample frame for Östersund (2380) and a second block for Umeå (2480), worse than alla kommuner."""
    one = sample_frame()
    other = one.copy()
    other["kommun_id"] = "2480"
    kommun = other["role"] == "kommun"
    other.loc[kommun, ["id", "title"]] = ["2480", "Umeå"]
    mine = kommun & (other["kpi"] == "N03926")
    other.loc[mine, "value"] = [3.5, 3.8, 3.9]
    other.loc[mine, "diff_alla"] = [3.5 - 2.9, 3.8 - 3.4, 3.9 - 3.2]
    other.loc[mine, "change_prev"] = [float("nan"), 3.8 - 3.5, 3.9 - 3.8]
    other.loc[mine, ["rank", "rank_of", "quartile"]] = [250, 290, 4]
    frame = pd.concat([one, other], ignore_index=True)
    frame.attrs = {**one.attrs, "kommuner": [{"id": "2380", "title": "Östersund"}, {"id": "2480", "title": "Umeå"}]}
    return frame
