"""The audit layout: the tidy comparison frame reshaped to one row per kpi × unit (× gender), years across.

Used by every output that people read (wide CSV, XLSX, Markdown, the terminal table), so the reshape,
the row order, the row labels and the Swedish number style live here once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from kpijmf.domain.vocab import ROLES, SOURCE_LINE

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

DEFAULT_SOURCE_LINE = SOURCE_LINE  # for frames without provenance; the wording lives in kpijmf.domain.vocab
CITATION_RULE = (
    'Värden som Kolada publicerar citeras "Källa: Kolada"; värden som kpijmf har beräknat '
    "(rang, kvartil, egna medelvärden, skillnader och förändringar) citeras "
    '"egen bearbetning av data från Kolada".'
)
MISSING = "–"  # en dash: how the audits print a missing value
MINUS = "\u2212"  # typographic minus, so a negative number never looks like the missing dash
THIN_GROUP = "\u00a0"  # no-break space between thousands: "1 456" must not wrap in a report

# Kommun first, then --vs kommuner, the peers in a fixed order, Riket last; unknown roles just before Riket.
ROLE_ORDER = {role: 99 if role == "riket" else order for order, role in enumerate(ROLES)}
GENDER_ORDER = {"T": 0, "K": 1, "M": 2, "K-M": 3}
TARGET_ROLE = "mål"
TARGET_STATUS_SV = {"met": "uppfyllt", "not met": "ej uppfyllt", "no data": "inga data"}
COMPARISON_SIGN = {">=": "≥", "<=": "≤"}
GENDER_LABEL = {"K": "kvinnor", "M": "män", "K-M": "skillnad kvinnor−män"}

BASE_COLUMNS = ["kpi", "nyckeltal", "enhet", "id", "title", "role"]
RANK_COLUMNS = ["rang", "rang_år"]
DETAIL_COLUMNS = ["etikett", "gender", "kvartil", "förändring", "riktning", "decimaler", "år", "kommun_id"]

# Columns the reshape can do without; a frame lacking them is filled with "missing".
_OPTIONAL_TEXT = (
    "kpi_title", "kpi_label", "kpi_unit", "direction", "title", "role", "source", "fetched_at", "kommun_id", "status",
    "note",
)  # fmt: skip
_OPTIONAL_NUMBER = (
    "count",
    "computed_mean",
    "computed_count",
    "rank",
    "rank_of",
    "quartile",
    "diff_alla",
    "change_prev",
)


def is_missing(value: Any) -> bool:
    """True for None, NaN, pd.NA and infinities: everything an output shows as an empty or "–" cell."""
    if value is None:
        return True
    if isinstance(value, str):
        return False
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, int):
        return False
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def text(value: Any) -> str:
    """A text cell's string; missing becomes ""."""
    return "" if is_missing(value) else str(value)


def source_line(attrs: Mapping[Any, Any] | None) -> str:
    """The citation printed under every table: the frame's own, else the default wording."""
    line = (attrs or {}).get("source_line")
    return line if isinstance(line, str) and line.strip() else DEFAULT_SOURCE_LINE


def kpi_heading(label: str, unit: str) -> str:
    """'Långtidsarbetslöshet 25-64 år (%)', or just the label when the KPI has no unit."""
    return f"{label} ({unit})" if unit else label


def row_label(title: str, gender: str) -> str:
    """The unit's name, with the gender spelled out for K, M and K-M rows: 'Östersund (kvinnor)'."""
    if gender in ("", "T"):
        return title
    return f"{title} ({GENDER_LABEL.get(gender, gender)})"


def rank_text(rank: Any, rank_of: Any) -> str:
    """'4 av 18', '4' when the total is unknown, '' without a rank."""
    if is_missing(rank):
        return ""
    if is_missing(rank_of):
        return f"{int(rank)}"
    return f"{int(rank)} av {int(rank_of)}"


def decimals_for(unit: str, values: list[float]) -> int:
    """Decimals to show for a KPI: by unit as the audits print them, else as few as the values need (≤ 2)."""
    u = unit.strip().lower()
    if u == "%":
        return 1
    if u.startswith("kr") or u in ("antal", "st", "st."):
        return 0
    needed = 0
    for v in values:
        if is_missing(v):
            continue
        for d in range(3):
            if abs(round(v, d) - v) < 1e-9:
                needed = max(needed, d)
                break
        else:
            needed = 2
    return needed


def _half_up(value: float, decimals: int) -> Decimal:
    # Round half up from the shortest decimal form (repr), as people do by hand: 3.25 → 3,3 and
    # 3.05 → 3,1, where float formatting would give 3,2 and 3,0.
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def round_shown(value: float, decimals: int) -> float:
    """The number exactly as `format_sv` shows it (half up), for display files that hold numbers; NaN stays."""
    if not math.isfinite(value):
        return value
    return float(_half_up(value, decimals)) + 0.0  # + 0.0 turns -0.0 into 0.0


def kpi_decimals(frame: pd.DataFrame) -> dict[str, int]:
    """Display decimals per KPI of a comparison frame, as the wide layout picks them (`decimals_for`)."""
    if frame.empty:
        return {}
    units = frame["kpi_unit"] if "kpi_unit" in frame.columns else [""] * len(frame)
    values: dict[str, list[float]] = {}
    unit_of: dict[str, str] = {}
    for kpi, unit, value in zip(frame["kpi"], units, frame["value"], strict=True):
        key = text(kpi)
        values.setdefault(key, []).append(value)
        if not unit_of.get(key):
            unit_of[key] = text(unit)
    return {kpi: decimals_for(unit_of[kpi], vals) for kpi, vals in values.items()}


def format_sv(value: Any, decimals: int, *, signed: bool = False) -> str:
    """A number the Swedish way: decimal comma, no-break space between thousands, '−' for minus, '–' missing."""
    if is_missing(value):
        return MISSING
    if isinstance(value, str):
        return value  # a text cell of the layout, e.g. a målvärde's "uppfyllt"
    x = _half_up(float(value), decimals)
    body = f"{abs(x):,.{decimals}f}".replace(",", THIN_GROUP).replace(".", ",")
    if x == 0:
        return body  # never "−0,0"
    if x < 0:
        return MINUS + body
    return "+" + body if signed else body


class UnitKey(NamedTuple):
    """One row of the audit layout: a unit's row of one KPI (and gender) in one focus kommun's block."""

    kommun_id: str
    kpi: str
    role: str
    id: str
    gender: str


@dataclass(frozen=True)
class MeanNote:
    """A group value whose published mean disagrees with kpijmf's own mean of the members."""

    kpi: str
    role: str
    id: str
    gender: str
    year: int
    label: str
    published: float | None
    computed: float | None
    computed_count: int | None


def normalised(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every optional column present, so outputs need not guard each lookup."""
    out = frame.copy()
    for col in _OPTIONAL_TEXT:
        if col not in out.columns:
            out[col] = ""
    for col in _OPTIONAL_NUMBER:
        if col not in out.columns:
            out[col] = float("nan")
    if "gender" not in out.columns:
        out["gender"] = "T"
    if "mean_differs" not in out.columns:
        out["mean_differs"] = False
    for col in ("kpi", "id", "gender", "role", "title", "kommun_id"):
        out[col] = [text(v) for v in out[col]]
    out["gender"] = [g or "T" for g in out["gender"]]
    return out


def years_of(frame: pd.DataFrame) -> list[int]:
    """The years present in the frame, oldest first."""
    if frame.empty:
        return []
    return sorted({int(y) for y in frame["year"] if not is_missing(y)})


def _first_text(values: Any) -> str:
    for v in values:
        s = text(v)
        if s:
            return s
    return ""


def _number(value: Any) -> float | None:
    return None if is_missing(value) else float(value)


def _kpi_meta(kpi: str, rows: pd.DataFrame) -> tuple[str, str, str, int]:
    label = _first_text(rows["kpi_label"]) or _first_text(rows["kpi_title"]) or kpi
    unit = _first_text(rows["kpi_unit"])
    direction = _first_text(rows["direction"]) or "neutral"
    return label, unit, direction, decimals_for(unit, list(rows["value"]))


def years_by_kpi(frame: pd.DataFrame) -> dict[str, list[int]]:
    """Each KPI's own years in the frame, oldest first (with `--last` they differ from KPI to KPI)."""
    if frame.empty:
        return {}
    return {str(k): sorted({int(y) for y in ys}) for k, ys in frame.groupby("kpi", sort=False)["year"]}


def focus_kommuner(frame: pd.DataFrame) -> list[str]:
    """The focus kommuner of the frame in its order (one block each), [""] for a frame without `kommun_id`."""
    if "kommun_id" not in frame.columns or frame.empty:
        return [""]
    return [text(k) for k in dict.fromkeys(frame["kommun_id"])]


def wide_frame(frame: pd.DataFrame, *, detail: bool = False) -> pd.DataFrame:
    """One row per kpi × unit (× gender), a column per year, and the latest year's rank as '4 av 18'.

    Columns: [kommun_id — only with several focus kommuner], kpi, nyckeltal, enhet, id, title, role, [kön — only
    when the frame has K/M rows], <years…>, rang, rang_år. The year columns are the union of the KPIs' years; a
    KPI's own years are in `år` (detail). With ``detail`` also etikett (display label), gender, kvartil, förändring
    (latest change_prev), riktning, decimaler (display decimals for the KPI), år and kommun_id — for renderers,
    not for files. Rows: per focus kommun, KPIs in the frame's order; kommun first, --vs kommuner, peers, Riket
    last; T, K, M, K-M within a unit.
    """
    import pandas as pd

    f = normalised(frame)
    years = years_of(f)
    with_gender = bool(set(f["gender"]) - {"T"})
    several = len(focus_kommuner(f)) > 1
    columns = (["kommun_id"] if several else []) + BASE_COLUMNS + (["kön"] if with_gender else []) + years
    columns += RANK_COLUMNS
    if detail:
        columns = columns + [c for c in DETAIL_COLUMNS if c not in columns]
    if f.empty:
        return pd.DataFrame(columns=columns)

    keys = ["kommun_id", "kpi", "role", "id", "gender"]
    dupes = f.duplicated([*keys, "year"])
    if dupes.any():
        first = f.loc[dupes, [*keys, "year"]].iloc[0].tolist()
        raise ValueError(f"comparison frame has more than one row for kommun_id/kpi/role/id/gender/year {first}")

    f["year"] = f["year"].astype("int64")
    f["value"] = pd.to_numeric(f["value"], errors="coerce").astype("float64")
    meta = {str(kpi): _kpi_meta(str(kpi), rows) for kpi, rows in f.groupby("kpi", sort=False)}
    own_years = years_by_kpi(f)
    latest = f.groupby("kpi", sort=False)["year"].max()
    at_latest = f[f["year"] == f["kpi"].map(latest)].set_index(keys)
    named = f[f["title"] != ""].sort_values("year", kind="stable")
    titles = named.groupby(keys, sort=False)["title"].last()  # the newest name, should a title drift

    units = f.drop_duplicates(keys)[keys].reset_index(drop=True)  # first appearance = the frame's order
    index = pd.MultiIndex.from_frame(units)
    values = f.set_index([*keys, "year"])["value"].unstack("year").reindex(index=index, columns=years)
    rows = at_latest.reindex(index)

    out = pd.DataFrame({"kpi": units["kpi"]})
    out["kommun_id"] = units["kommun_id"]
    out["nyckeltal"] = [meta[k][0] for k in units["kpi"]]
    out["enhet"] = [meta[k][1] for k in units["kpi"]]
    out["id"] = units["id"]
    out["title"] = [text(t) or uid for t, uid in zip(titles.reindex(index), units["id"], strict=True)]
    out["role"] = units["role"]
    if with_gender:
        out["kön"] = units["gender"]
    for y in years:
        out[y] = values[y].to_numpy(dtype="float64", na_value=float("nan"))
    out["rang"] = [rank_text(r, n) for r, n in zip(rows["rank"], rows["rank_of"], strict=True)]
    out["rang_år"] = [int(latest[k]) for k in units["kpi"]]
    if detail:
        out["etikett"] = [row_label(t, g) for t, g in zip(out["title"], units["gender"], strict=True)]
        out["gender"] = units["gender"]
        out["kvartil"] = pd.array([None if is_missing(q) else int(q) for q in rows["quartile"]], dtype="Int64")
        out["förändring"] = [_number(c) for c in rows["change_prev"]]
        out["förändring"] = out["förändring"].astype("float64")
        out["riktning"] = [meta[k][2] for k in units["kpi"]]
        out["decimaler"] = [meta[k][3] for k in units["kpi"]]
        out["år"] = [tuple(own_years[k]) for k in units["kpi"]]

    named_units = [UnitKey(**{str(k): str(v) for k, v in u.items()}) for u in units[keys].to_dict("records")]
    focus_pos = {k: i for i, k in enumerate(dict.fromkeys(u.kommun_id for u in named_units))}
    kpi_pos = {k: i for i, k in enumerate(meta)}
    unit_pos = {u: i for i, u in enumerate(dict.fromkeys((u.role, u.id) for u in named_units))}
    order = sorted(
        range(len(named_units)),
        key=lambda i: (
            focus_pos[named_units[i].kommun_id],
            kpi_pos[named_units[i].kpi],
            ROLE_ORDER.get(named_units[i].role, 98),
            unit_pos[(named_units[i].role, named_units[i].id)],
            GENDER_ORDER.get(named_units[i].gender, 9),
        ),
    )
    ordered = out.iloc[order].reset_index(drop=True)[columns]
    return _with_target_rows(ordered, f, years, meta) if "target_status" in f.columns else ordered


def _with_target_rows(wide: pd.DataFrame, f: pd.DataFrame, years: list[int], meta: dict) -> pd.DataFrame:
    """Insert a 'Målvärde ≥ 40,0' row under the kommun's row of each KPI with a target: per year
    uppfyllt / ej uppfyllt / inga data."""
    import pandas as pd

    targeted = f[f["target_status"].fillna("").astype(str) != ""]
    if targeted.empty:
        return wide
    pieces, start = [], 0
    own_years = years_by_kpi(f)
    for (focus, kpi, gender), rows in targeted.groupby(["kommun_id", "kpi", "gender"], sort=False):
        decimals = meta[kpi][3]
        tuples: list[Any] = list(rows.itertuples())
        by_year = {int(r.year): r for r in tuples}
        goals = {(r.target_comparison, float(r.target)) for r in by_year.values()}

        def goal(r: Any, decimals: int = decimals) -> str:
            return f"{COMPARISON_SIGN.get(r.target_comparison, r.target_comparison)} {format_sv(r.target, decimals)}"

        one_goal = len(goals) == 1
        title = f"Målvärde {goal(next(iter(by_year.values())))}" if one_goal else "Målvärde"
        row: dict[Hashable, Any] = {c: "" for c in wide.columns}
        row.update(kpi=kpi, nyckeltal=meta[kpi][0], enhet=meta[kpi][1], id=str(rows.iloc[0]["id"]), title=title,
                   role=TARGET_ROLE, rang_år=wide.loc[wide["kpi"] == kpi, "rang_år"].iloc[0])  # fmt: skip
        for y in years:
            r = by_year.get(y)
            status = TARGET_STATUS_SV.get(r.target_status, r.target_status) if r is not None else ""
            row[y] = status if one_goal or r is None else f"{goal(r)}: {status}"
        if "kön" in wide.columns:
            row["kön"] = gender
        detail = {
            "etikett": row_label(title, str(gender)),
            "gender": gender,
            "kvartil": pd.NA,
            "förändring": float("nan"),
            "riktning": meta[kpi][2],
            "decimaler": meta[kpi][3],
            "år": tuple(own_years[str(kpi)]),
            "kommun_id": focus,
        }
        row.update({k: v for k, v in detail.items() if k in wide.columns})
        kommun_rows = wide.index[(wide["kpi"] == kpi) & (wide["role"] == "kommun")]
        if "kommun_id" in wide.columns:
            kommun_rows = kommun_rows[wide.loc[kommun_rows, "kommun_id"].eq(focus)]
        gender_column = "gender" if "gender" in wide.columns else "kön" if "kön" in wide.columns else None
        if gender_column is not None:
            kommun_rows = kommun_rows[wide.loc[kommun_rows, gender_column].eq(gender)]
        at = (int(kommun_rows[-1]) + 1) if len(kommun_rows) else len(wide)
        pieces.append((at, row))
    records: list[dict[Hashable, Any]] = wide.to_dict("records")
    out_rows: list[dict[Hashable, Any]] = []
    for at, row in sorted(pieces, key=lambda p: p[0]):
        out_rows.extend(records[start:at])
        out_rows.append(row)
        start = at
    out_rows.extend(records[start:])
    return pd.DataFrame(out_rows, columns=wide.columns)


def mean_notes(frame: pd.DataFrame) -> list[MeanNote]:
    """Every group value flagged mean_differs, with both means, in the wide layout's row order."""
    f = normalised(frame)
    if f.empty:
        return []
    flagged = f[[bool(v) if not is_missing(v) else False for v in f["mean_differs"]]]
    notes = []
    for _, r in flagged.iterrows():
        cc = r["computed_count"]
        notes.append(
            MeanNote(
                kpi=r["kpi"],
                role=r["role"],
                id=r["id"],
                gender=r["gender"],
                year=int(r["year"]),
                label=row_label(text(r["title"]) or r["id"], r["gender"]),
                published=_number(r["value"]),
                computed=_number(r["computed_mean"]),
                computed_count=None if is_missing(cc) else int(cc),
            )
        )
    notes.sort(key=lambda n: (ROLE_ORDER.get(n.role, 98), n.id, GENDER_ORDER.get(n.gender, 9), n.year))
    return notes


def mean_note_text(note: MeanNote, decimals: int) -> str:
    """'Storlek 2021: Kolada 2,8, eget medel 3,1 (22 kommuner)' — one footnote line."""
    n = f" ({note.computed_count} kommuner)" if note.computed_count is not None else ""
    return (
        f"{note.label} {note.year}: Kolada {format_sv(note.published, decimals)}, "
        f"eget medel {format_sv(note.computed, decimals)}{n}"
    )


MEAN_NOTE_INTRO = (
    "* Koladas publicerade medelvärde skiljer sig från kpijmf:s eget ovägda medelvärde av "
    "medlemmarnas värden (egen bearbetning av data från Kolada):"
)


# --- short labels for narrow tables -------------------------------------------------------------------

SHORT_LABEL_WIDTH = 24  # longer short labels are cut with "…"; the legend under the table has the full title
# Patterns as strings, compiled (and cached by `re`) on first use: only the terminal table needs them.
_OVAGT = r"(?i)\s*\(ovägt medel\)\s*"
_SIZE = r"(?i)^kommuner med (?P<range>.+?) invånare"
_COUNTY = r"(?i)^(?P<lan>.+ län)s kommuner$"
_LIKNANDE = r"(?i)^liknande kommuner (?P<area>[^,]+),"
_EGEN = r"(?i)^egen jämförelsegrupp"


def short_label(title: str, role: str) -> str:
    """A peer's short name for an 80-column table: 'Alla kommuner', '50 000–99 999 inv.', 'Jämtlands län',
    'Liknande (arbetsmarknad)', 'Riket'; a kommun keeps its name. Never longer than SHORT_LABEL_WIDTH."""
    name = " ".join(title.split())
    if role not in ("kommun", "vs", TARGET_ROLE):
        name = re.sub(_OVAGT, " ", name).strip()
        if role == "alla":
            name = "Alla kommuner"
        elif role == "riket":
            name = name or "Riket"
        elif (size := re.match(_SIZE, name)) is not None:
            name = re.sub(r"(?<=\d) (?=\d{3})", THIN_GROUP, re.sub(r"\s+-\s+", "–", size["range"])) + " inv."
            name = name[0].upper() + name[1:]
        elif (county := re.match(_COUNTY, name)) is not None:
            name = county["lan"]
        elif (similar := re.match(_LIKNANDE, name)) is not None:
            name = f"Liknande ({similar['area'].strip()})"
        elif role == "egen" or re.match(_EGEN, name):
            name = "Egen jämförelsegrupp"
    if len(name) > SHORT_LABEL_WIDTH:
        name = name[: SHORT_LABEL_WIDTH - 1].rstrip(" ,:;-") + "…"
    return name


# --- ranks per cell -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankCell:
    """A ranked value's place among all kommuner: rank (1 = best), of how many, and its quartile."""

    rank: int | None
    of: int | None
    quartile: int | None


def _whole(value: Any) -> int | None:
    return None if is_missing(value) else int(value)


def cell_ranks(frame: pd.DataFrame) -> dict[tuple[str, str, str, str, int], RankCell]:
    """(kpi, role, id, gender, year) → RankCell for every ranked cell of the comparison frame."""
    if frame.empty or "rank" not in frame.columns:
        return {}
    genders = frame["gender"] if "gender" in frame.columns else ["T"] * len(frame)
    of = frame["rank_of"] if "rank_of" in frame.columns else [None] * len(frame)
    quartile = frame["quartile"] if "quartile" in frame.columns else [None] * len(frame)
    cells = {}
    for kpi, role, uid, gender, year, r, n, q in zip(
        frame["kpi"], frame["role"], frame["id"], genders, frame["year"], frame["rank"], of, quartile, strict=True
    ):
        if is_missing(r):
            continue
        key = (text(kpi), text(role), text(uid), text(gender) or "T", int(year))
        cells[key] = RankCell(_whole(r), _whole(n), _whole(q))
    return cells
