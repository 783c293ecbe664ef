"""Charts of the comparison as SVG or PNG bytes: the kommun against its peers over the years, and where it sits
among all kommuner in one year.

matplotlib is an optional dependency (`pip install 'kpijmf[charts]'`), imported inside the functions. Every
chart is a fresh `matplotlib.figure.Figure` drawn on the Agg canvas (never pyplot, so nothing leaks between
calls), inside an `rc_context` that fixes the SVG hash salt and turns off mathtext, so the same frame gives the
same bytes and a title with "$" is printed as it is. SVG text stays text (`svg.fonttype: none`): it can be
searched and copied, and the unit titles are in the file.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kpijmf.errors import NotFoundError, UsageError
from kpijmf.output.clean import printable
from kpijmf.output.layout import TARGET_ROLE, decimals_for, is_missing, wide_frame
from kpijmf.output.words import CHART_WORDS, check_lang, format_number, rank_words

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

FORMATS = ("svg", "png")
PNG_DPI = 150
CHART_WIDTH = 6.0  # inches; 576 CSS px, about the width of a report column, so text is not scaled down
LEGEND_WRAP = 32  # characters per legend line: two columns of 8-point text fit well inside CHART_WIDTH

KOMMUN_COLOUR = "#0b3c6f"
RIKET_COLOUR = "#333333"
TARGET_COLOUR = "#b8860b"  # dark goldenrod: distinct from every peer colour
# Okabe–Ito hues (distinguishable with the common colour-vision deficiencies), then three muted extras.
PEER_COLOURS = ("#d55e00", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#999933", "#882255", "#7f7f7f")
DOT_COLOUR = "#8c8c8c"
QUARTILE_COLOUR = "#555555"

_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "kpijmf",
    "text.parse_math": False,
    "text.usetex": False,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
}
_LABEL_BOX = {"boxstyle": "square,pad=0.15", "facecolor": "white", "edgecolor": "none"}
_MEAN_SUFFIX = re.compile(r"\s*\((ovägt|vägt) medel\)\s*$", re.IGNORECASE)


def _matplotlib() -> Any:
    """The matplotlib package, or a UsageError that says how to install it."""
    try:
        import matplotlib
        import matplotlib.backends.backend_agg
        import matplotlib.figure
        import matplotlib.ticker
    except ImportError as exc:
        from kpijmf.output.report import charts_install_command

        raise UsageError(f"charts need matplotlib: {charts_install_command()}") from exc
    return matplotlib


def _check(fmt: str, lang: str) -> dict[str, Any]:
    if fmt not in FORMATS:
        raise UsageError(f"unknown chart format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    return CHART_WORDS[check_lang(lang)]


@contextmanager
def _figure(mpl: Any, width: float, height: float) -> Iterator[Any]:
    """A fresh Figure on its own Agg canvas with constrained layout, inside kpijmf's rc settings."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with mpl.rc_context(_RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        FigureCanvasAgg(fig)
        yield fig


def _save(fig: Any, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "svg":
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "kpijmf"})
    else:
        fig.savefig(buf, format="png", dpi=PNG_DPI, metadata={"Software": "kpijmf"})
    return buf.getvalue()


def tick_decimals(values: Sequence[float], most: int = 6) -> int:
    """The fewest decimals (≤ `most`) that print every tick exactly: 0 for 30, 35; 1 for 32.5, 35; 2 for 0.25."""
    finite = [float(v) for v in values if math.isfinite(v)]
    if not finite:
        return 0
    scale = max(1.0, *(abs(v) for v in finite))
    for decimals in range(most + 1):
        if all(abs(round(v, decimals) - v) <= 1e-9 * scale for v in finite):
            return decimals
    return most


def _formatter(lang: str) -> Any:
    """A tick formatter with as many decimals as the ticks need: decimal comma for sv, point for en."""
    from matplotlib.ticker import Formatter

    class TickFormatter(Formatter):
        decimals = 0

        def format_ticks(self, values: Any) -> list[str]:
            self.decimals = tick_decimals(list(values))
            return [self(v, i) for i, v in enumerate(values)]

        def __call__(self, x: float, pos: int | None = None) -> str:
            return format_number(x, self.decimals, lang)

    return TickFormatter()


def is_count(unit: str) -> bool:
    """True for units that count people or things ('antal', 'st'), whose Riket value is a national total."""
    return unit.strip().lower() in ("antal", "st", "st.")


def legend_title(title: str, width: int = LEGEND_WRAP) -> str:
    """A unit title for the legend: whole, '(ovägt medel)' dropped (the source line says whose means they are),
    wrapped onto lines of at most `width` characters, never cut."""
    short = _MEAN_SUFFIX.sub("", " ".join(title.split())) or title
    wrapped = textwrap.fill(short, width, break_on_hyphens=False)
    # matplotlib hides legend labels starting with "_"; a zero-width space keeps such a title visible.
    return "\u200b" + wrapped if wrapped.startswith("_") else wrapped


def _slug(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", value)


def _source_text(fig: Any, text: str) -> None:
    # A figure-level x label: constrained layout keeps room for it below the legend.
    fig.supxlabel(text, x=0.01, ha="left", fontsize=7, color="#555555")


def line_chart(frame: pd.DataFrame, kpi: str, *, fmt: str = "svg", lang: str = "sv") -> bytes:
    """The kommun and its peers over the years for one KPI (gender T); a missing year is a gap, never a zero.

    One line per unit in the audit layout's order: the kommun bold, Riket dashed. Each line's SVG group has the
    id `series-<unit id>`.
    """
    words = _check(fmt, lang)
    mpl = _matplotlib()
    rows = frame[(frame["kpi"] == kpi)]
    if rows.empty:
        raise NotFoundError(f"KPI {kpi} is not in the comparison")
    if "gender" in rows.columns:
        rows = rows[rows["gender"].fillna("T").isin(["T", ""])]
    wide = wide_frame(rows, detail=True)
    wide = wide[wide["role"] != TARGET_ROLE]  # a målvärde is drawn as its own line below, not as a series
    years: list[int] = [int(c) for c in wide.columns if isinstance(c, int)]
    label = printable(str(wide["nyckeltal"].iloc[0])) if not wide.empty else printable(kpi)
    unit = printable(str(wide["enhet"].iloc[0])) if not wide.empty else ""
    own = bool((wide["role"] == "egen").any()) if not wide.empty else False
    # For a count Riket is the whole country's total, tens of times any kommun: it would flatten every other
    # line, so the chart leaves it out (the table keeps it) and says so.
    without_riket = is_count(unit) and bool((wide["role"] == "riket").any())
    if without_riket:
        wide = wide[wide["role"] != "riket"]

    labels = [legend_title(printable(str(t))) for t in wide["etikett"]]
    columns = 2 if len(labels) > 1 else 1
    # Each legend row is as tall as its tallest (wrapped) label; the figure grows by that, the plot keeps its size.
    lines = [max(label.count("\n") + 1 for label in labels[i : i + columns]) for i in range(0, len(labels), columns)]
    height = 3.0 + 0.17 * sum(lines) + (0.25 if labels else 0)
    with _figure(mpl, CHART_WIDTH, height) as fig:
        ax = fig.add_subplot()
        ax.set_title(textwrap.fill(label, 60), loc="left")
        ax.set_ylabel(unit or words["value"])
        peers = iter(PEER_COLOURS * 3)
        plotted = 0
        for (_, r), legend_label in zip(wide.iterrows(), labels, strict=True):
            values = [float(r[y]) if not is_missing(r[y]) else math.nan for y in years]
            style: dict[str, Any] = {"marker": "o", "markersize": 4, "linewidth": 1.5, "zorder": 2}
            if r["role"] == "kommun":
                style |= {"color": KOMMUN_COLOUR, "linewidth": 3.0, "markersize": 6, "zorder": 4}
            elif r["role"] == "riket":
                style |= {"color": RIKET_COLOUR, "linestyle": (0, (5, 3)), "marker": "s", "zorder": 3}
            else:
                style |= {"color": next(peers)}
            (line,) = ax.plot(years, values, label=legend_label, **style)
            line.set_gid(f"series-{_slug(str(r['id']))}")
            plotted += sum(not math.isnan(v) for v in values)
        _target_line(ax, rows, years, words)
        if not plotted:
            ax.text(0.5, 0.5, words["no_values"], transform=ax.transAxes, ha="center", va="center", color="#555555")
        ax.set_xticks(years, [str(y) for y in years])
        if years:
            ax.set_xlim(years[0] - 0.25, years[-1] + 0.25)
        ax.yaxis.set_major_formatter(_formatter(lang))
        ax.margins(y=0.12)
        if len(wide):
            # An axes legend below the plot: constrained layout makes room for it, and for the source under it; the
            # wrapped names keep two columns narrower than the figure, so nothing is clipped.
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncols=columns, fontsize=8, handlelength=2.6)
        source = words["source_own_means"] if own else words["source"]
        _source_text(fig, f"{source}. {words['riket_left_out']}" if without_riket else source)
        return _save(fig, fmt)


def _target_line(ax: Any, rows: pd.DataFrame, years: list[int], words: dict[str, str]) -> None:
    """The kommun's målvärde per year as a dotted step line (gaps where a year has no target)."""
    if "target" not in rows.columns:
        return
    goals = rows[rows["role"].eq("kommun") & rows["target"].notna()]
    if goals.empty:
        return
    by_year = dict(zip(goals["year"].astype(int), goals["target"].astype(float), strict=True))
    values = [by_year.get(y, math.nan) for y in years]
    (line,) = ax.plot(years, values, color=TARGET_COLOUR, linestyle=":", linewidth=2.0, drawstyle="steps-mid",
                      label=words["target"], zorder=5)  # fmt: skip
    line.set_gid("series-target")


@dataclass(frozen=True)
class Rank:
    """The kommun's place among all kommuner in one year, as the comparison computed it (1 = best)."""

    rank: int
    of: int
    quartile: int


def frame_rank(frame: pd.DataFrame, kpi: str, year: int) -> Rank | None:
    """The kommun's rank, rank_of and quartile for one KPI and year (gender T), read from the comparison frame.

    The rank rule lives in `kpijmf.compare` only; a chart shows what the tables show.
    """
    needed = {"kpi", "role", "year", "rank", "rank_of", "quartile"}
    if not needed <= set(frame.columns):
        return None
    rows = frame[(frame["kpi"] == kpi) & (frame["role"] == "kommun") & (frame["year"].astype("int64") == int(year))]
    if "gender" in rows.columns:
        rows = rows[rows["gender"].fillna("T").isin(["T", ""])]
    for r in rows.itertuples():
        if not (is_missing(r.rank) or is_missing(r.rank_of) or is_missing(r.quartile)):
            rank: Any = (r.rank, r.rank_of, r.quartile)
            return Rank(int(rank[0]), int(rank[1]), int(rank[2]))
    return None


def quartile_boundaries(values: list[float], direction: str) -> list[float]:
    """The three values that split the kommuner into the rank quartiles of `kpijmf.compare`, ascending.

    The boundary after rank m = floor(q · n / 4) lies midway between the m-th and (m+1)-th best value, so a dot's
    side of a line agrees with its quartile (ties aside).
    """
    n = len(values)
    if n < 4:
        return []
    best_first = sorted(values, reverse=direction != "lower")
    bounds = []
    for q in (1, 2, 3):
        m = math.floor(q * n / 4)
        if 1 <= m < n:
            bounds.append((best_first[m - 1] + best_first[m]) / 2)
    return sorted(bounds)


def strip_chart(
    distribution: pd.DataFrame,
    kpi: str,
    *,
    kommun_id: str,
    year: int,
    direction: str,
    rank: Rank | None = None,
    fmt: str = "svg",
    lang: str = "sv",
    label: str = "",
    unit: str = "",
    kommun_title: str = "",
) -> bytes:
    """Every kommun's value of one KPI in one year as a dot, the quartile boundaries, the kommun and its rank.

    `distribution` is tidy (kpi, year, unit_id, value; gender T when it has a gender column) and holds only
    kommuner. `rank` is the comparison's rank of the kommun that year (`frame_rank`); without it the kommun's note
    gives its value only. The kommun's dot has the SVG id `kommun`, the boundaries `quartile-1` … `quartile-3`.
    """
    words = _check(fmt, lang)
    mpl = _matplotlib()
    d = distribution[(distribution["kpi"] == kpi) & (distribution["year"].astype("int64") == int(year))]
    if "gender" in d.columns:
        d = d[d["gender"].fillna("T").isin(["T", ""])]
    d = d[d["value"].notna()]
    values = d.set_index(d["unit_id"].astype(str))["value"].astype("float64")
    values = values[~values.index.duplicated(keep="first")]
    # Control characters from the data would make the SVG invalid XML: shown as \x1b etc. instead.
    name, label, unit = printable(kommun_title or kommun_id), printable(label or kpi), printable(unit)
    decimals = decimals_for(unit, list(values))

    with _figure(mpl, CHART_WIDTH, 2.5) as fig:
        ax = fig.add_subplot()
        ax.set_title(textwrap.fill(f"{label}, {words['all_kommuner'].format(year=year)}", 60), loc="left")
        ax.set_xlabel(unit or words["value"])
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ax.grid(False)
        ax.set_ylim(-1.15, 0.95)
        ordered = values.sort_values(kind="stable")
        others = ordered.drop(kommun_id, errors="ignore")
        # A deterministic jitter (golden-ratio steps) keeps equal values apart without randomness.
        jitter = [((i * 0.618034) % 1 - 0.5) * 1.0 for i in range(len(ordered))]
        position = dict(zip(ordered.index, jitter, strict=True))
        dots = ax.scatter(list(others), [position[u] for u in others.index], s=22, color=DOT_COLOUR, alpha=0.7, lw=0)
        dots.set_gid("kommuner")
        for i, (bound, text) in enumerate(zip(quartile_boundaries(list(values), direction), words["percentiles"],
                                              strict=False), start=1):  # fmt: skip
            line = ax.axvline(bound, color=QUARTILE_COLOUR, linestyle=(0, (3, 2)), linewidth=1, zorder=1)
            line.set_gid(f"quartile-{i}")
            ax.text(bound, 0.88, text, ha="center", va="bottom", fontsize=7.5, color=QUARTILE_COLOUR, bbox=_LABEL_BOX)
        if kommun_id in values.index:
            x = float(values.loc[kommun_id])
            mark = ax.scatter([x], [0.0], s=90, color=KOMMUN_COLOUR, edgecolors="white", linewidths=1.2, zorder=5)
            mark.set_gid("kommun")
            note = f"{name}: {format_number(x, decimals, lang)}"
            if rank is not None:
                place = words["rank"].format(rank=rank_words(rank.rank, rank.of, lang))
                note += f", {place} ({words['quartile'].format(q=rank.quartile)})"
            left = x <= (float(values.min()) + float(values.max())) / 2
            ax.annotate(note, (x, 0.0), xytext=(x, -0.85), textcoords="data",
                        ha="left" if left else "right", fontsize=8.5, fontweight="bold", color=KOMMUN_COLOUR,
                        bbox=_LABEL_BOX, arrowprops={"arrowstyle": "-", "color": KOMMUN_COLOUR, "lw": 0.8,
                                    "relpos": (0.0 if left else 1.0, 1.0)})  # fmt: skip
        else:
            ax.text(0.5, 0.06, words["no_kommun_value"].format(kommun=name, year=year), transform=ax.transAxes,
                    ha="center", va="bottom", fontsize=9, color="#555555", bbox=_LABEL_BOX)  # fmt: skip
        if values.empty:
            ax.set_xticks([])
        else:
            ax.xaxis.set_major_formatter(_formatter(lang))
            ax.margins(x=0.06)
        if direction in ("higher", "lower"):
            arrow = words["better_left"] if direction == "lower" else words["better_right"]
            ax.text(0.0 if direction == "lower" else 1.0, -0.3, arrow, transform=ax.transAxes, fontsize=7.5,
                    ha="left" if direction == "lower" else "right", va="top", color="#555555")  # fmt: skip
        _source_text(fig, words["source_own_ranks"])
        return _save(fig, fmt)


def kpi_charts(
    frame: pd.DataFrame,
    distribution: pd.DataFrame | None,
    kpi: str,
    *,
    fmt: str = "svg",
    lang: str = "sv",
    kinds: Sequence[str] = ("line", "strip"),
) -> dict[str, bytes]:
    """The charts of one KPI of a comparison, by kind ('line', 'strip'); the strip chart only with a distribution
    that holds the KPI. Every argument is read from the frame: its attrs, the KPI's label, unit and direction, and
    the kommun's rank in the latest year."""
    rows = frame[frame["kpi"] == kpi]
    if rows.empty:
        raise NotFoundError(f"KPI {kpi} is not in the comparison")
    charts: dict[str, bytes] = {}
    if "line" in kinds:
        charts["line"] = line_chart(frame, kpi, fmt=fmt, lang=lang)
    if "strip" in kinds and distribution is not None and bool((distribution["kpi"] == kpi).any()):
        first = rows.iloc[0]
        year = rank_year(frame, kpi)
        attrs = frame.attrs or {}
        kommun_id = str(attrs.get("kommun_id") or _kommun_of(rows, "id"))
        charts["strip"] = strip_chart(
            distribution, kpi, kommun_id=kommun_id, year=year, direction=str(first.get("direction") or "neutral"),
            rank=frame_rank(frame, kpi, year), fmt=fmt, lang=lang, label=_text(first.get("kpi_label")) or kpi,
            unit=_text(first.get("kpi_unit")), kommun_title=str(attrs.get("kommun_title") or _kommun_of(rows, "title")),
        )  # fmt: skip
    return charts


def rank_year(frame: pd.DataFrame, kpi: str) -> int:
    """The year the tables rank the kommun in (`wide_frame`'s rang_år): the KPI's latest year in the comparison."""
    return int(frame.loc[frame["kpi"] == kpi, "year"].max())


def _kommun_of(rows: pd.DataFrame, column: str) -> str:
    own = rows.loc[rows["role"] == "kommun", column]
    return str(own.iloc[0]) if len(own) else ""


def _text(value: Any) -> str:
    return "" if is_missing(value) else str(value)
