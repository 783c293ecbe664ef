"""The comparison as a report: one self-contained HTML file, or Markdown with PNG charts beside it.

Per KPI: a heading, a summary written from the numbers, the audit-layout table (from `kpijmf.output.layout.wide_frame`,
numbers by `format_sv`), the line chart and the strip chart; provenance at the end. The HTML loads nothing: the
CSS is inline, the charts are inline SVG, and a Content-Security-Policy forbids every fetch and every script,
so the file opens the same offline, from an e-mail or years later. Every text from the data goes through
`html.escape` (or the Markdown escaper of `kpijmf.output.files`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

from kpijmf.domain.vocab import SOURCE_LINE_EN
from kpijmf.output.clean import printable
from kpijmf.output.colours import COLOURED_ROLES, QUARTILE_COLOURS, quartile_colour, text_colour
from kpijmf.output.layout import (
    TARGET_ROLE,
    cell_ranks,
    focus_kommuner,
    is_missing,
    kpi_heading,
    mean_notes,
    row_label,
    source_line,
    text,
    wide_frame,
)
from kpijmf.output.notes import BREAK_MARK, block_notes, block_rows, break_years, focus_heading
from kpijmf.output.terminal import REVISED_MARK, revised_cells
from kpijmf.output.words import (
    QUARTILE_WORDS_BY_LANG,
    REPORT_WORDS,
    YearFacts,
    check_lang,
    format_number,
    mean_note_line,
    note_text,
    span_text,
    summary,
    target_sentence,
    target_text_en,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
PRELIMINARY_MARK = "p"
MEAN_MARK = "*"

CSS = resources.files("kpijmf.output").joinpath("report.css").read_text(encoding="utf-8").strip()


@dataclass
class Row:
    """One line of the audit table: a unit (and gender), its values by year with footnote marks, rank, change."""

    label: str
    role: str
    cells: list[tuple[str, str]]
    rank: str
    change: str
    quartiles: list[int | None] = field(default_factory=list)  # per year cell: its colour's quartile, or None
    rank_quartile: int | None = None  # the rank cell's colour


@dataclass
class Block:
    """Everything the report shows for one KPI, as plain text (escaped only when rendered)."""

    kpi: str
    label: str
    unit: str
    direction: str
    decimals: int
    years: list[int]
    rank_year: int
    rows: list[Row] = field(default_factory=list)
    year_marks: dict[int, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    summary: str = ""
    kommun_id: str = ""  # the focus kommun, when the report has several

    @property
    def heading(self) -> str:
        """'Långtidsarbetslöshet 25-64 år (%)'."""
        return kpi_heading(self.label, self.unit)

    @property
    def anchor(self) -> str:
        """The block's id part: 'N03926', or '2380-N03926' when the report has several kommuner."""
        return slug(f"{self.kommun_id}-{self.kpi}" if self.kommun_id else self.kpi)

    @property
    def coloured(self) -> bool:
        """True when a cell of the table is filled with its quartile's colour."""
        return any(q is not None for row in self.rows for q in (*row.quartiles, row.rank_quartile))


@dataclass
class Section:
    """One focus kommun's part of the report: its heading (empty for a one-kommun report), rows and blocks."""

    kommun_id: str
    heading: str
    frame: pd.DataFrame
    blocks: list[Block]


def _flag_set(frame: pd.DataFrame, column: str, kpi: str) -> set[tuple[str, str, str, int]]:
    """(role, id, gender, year) of the KPI's rows where a boolean column is true; empty without the column."""
    if column not in frame.columns:
        return set()
    rows = frame[(frame["kpi"] == kpi) & frame[column].fillna(False).astype(bool)]
    return {(text(r.role), text(r.id), text(r.gender) or "T", _int(r.year)) for r in rows.itertuples()}


def _int(value: Any) -> int:
    """A whole number from a frame cell (pandas types its cells as anything)."""
    return int(value)


def frame_attrs(frame: pd.DataFrame) -> dict[str, Any]:
    """The frame's attrs, keyed by str as kpijmf writes them."""
    return {str(k): v for k, v in (frame.attrs or {}).items()}


def kommun_name(frame: pd.DataFrame) -> str:
    name = text(frame.attrs.get("kommun_title")) if frame.attrs else ""
    if name:
        return name
    if "role" in frame.columns:
        kommun = frame.loc[frame["role"] == "kommun", "title"]
        if len(kommun):
            return text(kommun.iloc[0])
    return text((frame.attrs or {}).get("kommun_id"))


def _kommun_id(frame: pd.DataFrame) -> str:
    kommun_id = text((frame.attrs or {}).get("kommun_id"))
    if kommun_id or "role" not in frame.columns:
        return kommun_id
    ids = frame.loc[frame["role"] == "kommun", "id"]
    return text(ids.iloc[0]) if len(ids) else ""


def _number(value: Any) -> float | None:
    return None if is_missing(value) else float(value)


def _facts(frame: pd.DataFrame, kpi: str, kommun_id: str = "") -> list[YearFacts]:
    """The kommun's yearly numbers for one KPI (gender T), for the summary: one focus kommun's rows only."""
    rows = block_rows(frame, kpi, kommun_id or _kommun_id(frame))
    rows = rows[rows["role"] == "kommun"]
    if "gender" in rows.columns:
        rows = rows[rows["gender"].fillna("T").isin(["T", ""])]
    facts = []
    for r in rows.itertuples():
        value, diff = _number(r.value), _number(getattr(r, "diff_alla", None))
        facts.append(
            YearFacts(
                year=_int(r.year),
                value=value,
                alla=value - diff if value is not None and diff is not None else None,
                rank=_number(getattr(r, "rank", None)),
                rank_of=_number(getattr(r, "rank_of", None)),
                quartile=_number(getattr(r, "quartile", None)),
                change=_number(getattr(r, "change_prev", None)),
            )
        )
    return facts


def build_blocks(frame: pd.DataFrame, lang: str = "sv") -> list[Block]:
    """One Block per KPI, in the frame's order, with the rows of the audit layout and their footnotes."""
    words = REPORT_WORDS[check_lang(lang)]
    wide = wide_frame(frame, detail=True)
    if wide.empty:
        return []
    notes = mean_notes(frame)
    kommun = kommun_name(frame)
    kommun_id = _kommun_id(frame)
    ranks = cell_ranks(frame)
    blocks = []
    for kpi, part in wide.groupby("kpi", sort=False):
        kpi = str(kpi)
        first = part.iloc[0]
        years = list(first["år"])  # each KPI's own years
        directed = text(first["riktning"]) in ("higher", "lower")
        block = Block(
            kpi=kpi,
            label=text(first["nyckeltal"]) or kpi,
            unit=text(first["enhet"]),
            direction=text(first["riktning"]) or "neutral",
            decimals=_int(first["decimaler"]),
            years=years,
            rank_year=_int(first["rang_år"]),
        )
        flagged = {(n.role, n.id, n.gender, n.year) for n in notes if n.kpi == kpi}
        revised = revised_cells(frame, kpi)
        preliminary = _flag_set(frame, "preliminary", kpi)
        keys = {(text(r["role"]), text(r["id"]), text(r["gender"]) or "T") for _, r in part.iterrows()}
        whole_years = {y for y in years if keys and all((*k, y) in preliminary for k in keys)}
        breaks = break_years(frame, kpi)  # ‡ on the year a new definition starts, as in the tables
        for y in years:
            mark = (BREAK_MARK if y in breaks else "") + (PRELIMINARY_MARK if y in whole_years else "")
            if mark:
                block.year_marks[y] = mark
        for _, r in part.iterrows():
            cells = []
            for y in years:
                key = (text(r["role"]), text(r["id"]), text(r["gender"]) or "T", y)
                marks = "".join(
                    mark
                    for mark, on in (
                        (MEAN_MARK, key in flagged),
                        (PRELIMINARY_MARK, key in preliminary and y not in whole_years),
                        (REVISED_MARK, key in revised),
                    )
                    if on
                )
                shown = format_number(r[y], block.decimals, lang)
                if lang == "en" and text(r["role"]) == TARGET_ROLE:
                    shown = target_text_en(shown)
                cells.append((shown, marks))
            # wide_frame's rank is layout.rank_text, "10 av 17"; only the word changes in English.
            rank = text(r["rang"]) if lang == "sv" else text(r["rang"]).replace(" av ", " of ")
            rank = rank if directed else ""  # a neutral KPI is never ranked (compare.py gives it no rank either)
            if rank and not is_missing(r["kvartil"]):
                rank += ", " + words["quartile"].format(q=int(r["kvartil"]))
            role, direction = text(r["role"]), text(r["riktning"])
            quartiles: list[int | None] = [None] * len(years)
            rank_quartile = None
            if role in COLOURED_ROLES:
                key3 = (kpi, role, text(r["id"]), text(r["gender"]) or "T")
                found = [ranks.get((*key3, y)) for y in years]
                quartiles = [_coloured(c.quartile if c else None, direction) for c in found]
                rank_quartile = _coloured(None if is_missing(r["kvartil"]) else int(r["kvartil"]), direction)
            change = "" if is_missing(r["förändring"]) else format_number(r["förändring"], block.decimals, lang,
                                                                            signed=True)  # fmt: skip
            label = row_label(text(r["title"]), text(r["gender"]) or "T") if lang == "sv" else _row_label_en(r)
            block.rows.append(Row(label=label, role=role, cells=cells, rank=rank, change=change or "–",
                                  quartiles=quartiles, rank_quartile=rank_quartile))  # fmt: skip
        marked = sorted({y for y in years for k in keys if (*k, y) in preliminary})
        if marked:
            block.notes.append(words["preliminary"].format(years=span_text(marked)))
        kpi_notes = [n for n in notes if n.kpi == kpi]
        if kpi_notes:
            lines = "; ".join(mean_note_line(n, block.decimals, lang) for n in kpi_notes)
            block.notes.append(f"{words['mean_intro']} {lines}.")
        said = block_notes(frame, kpi, kommun_id)
        block.notes += [note_text(n, lang) for n in said]
        if revised:
            block.notes.append(words["revised"])
        block.summary = summary(_facts(frame, kpi, kommun_id), kommun=kommun, direction=block.direction,
                                decimals=block.decimals, unit=block.unit, lang=lang)  # fmt: skip
        for _, target_row in part[part["role"] == TARGET_ROLE].iterrows():
            block.summary += " " + target_sentence(target_row, years, lang)
        blocks.append(block)
    return blocks


def _coloured(quartile: int | None, direction: str) -> int | None:
    """The quartile whose colour fills the cell (colours.quartile_colour decides), or None: no fill."""
    return quartile if quartile_colour(quartile, direction) is not None else None


def build_sections(frame: pd.DataFrame, lang: str = "sv") -> list[Section]:
    """One Section per focus kommun: its rows only (attrs naming it), its blocks; one unheaded for one kommun."""
    focuses = focus_kommuner(frame)
    if len(focuses) <= 1:
        return [Section("", "", frame, build_blocks(frame, lang))]
    sections = []
    for kommun_id in focuses:
        part = frame[frame["kommun_id"] == kommun_id].copy()
        own = part.loc[part["role"] == "kommun", "title"]
        attrs: dict[Hashable, Any] = {**frame.attrs, "kommun_id": kommun_id}
        attrs["kommun_title"] = text(own.iloc[0]) if len(own) else kommun_id
        part.attrs = attrs
        blocks = build_blocks(part, lang)
        for block in blocks:
            block.kommun_id = kommun_id
        sections.append(Section(kommun_id, focus_heading(frame, kommun_id), part, blocks))
    return sections


def kommun_names(frame: pd.DataFrame, lang: str) -> str:
    """The focus kommuner's names for the title: 'Östersund', 'Östersund och Umeå', 'A, B och C'."""
    focuses = [k for k in focus_kommuner(frame) if k]
    if len(focuses) <= 1:
        return kommun_name(frame)
    names = [focus_heading(frame, k).removesuffix(f" ({k})") for k in focuses]
    return f"{', '.join(names[:-1])} {'och' if lang == 'sv' else 'and'} {names[-1]}"


_GENDER_EN = {"K": "women", "M": "men", "K-M": "gap women−men"}


def _row_label_en(row: Any) -> str:
    gender = text(row["gender"]) or "T"
    title = text(row["title"])
    if text(row["role"]) == TARGET_ROLE:
        title = target_text_en(title)
    return title if gender == "T" else f"{title} ({_GENDER_EN.get(gender, gender)})"


def provenance(frame: pd.DataFrame, lang: str, *, charts: bool = True) -> list[tuple[str, str]]:
    """(label, value) pairs for the provenance block, in the report's language; empty values left out."""
    words = REPORT_WORDS[lang]
    attrs = frame_attrs(frame)
    fetched_from, fetched_to = text(attrs.get("fetched_from")), text(attrs.get("fetched_to"))
    if not fetched_from and "fetched_at" in frame.columns:
        stamps = sorted({text(v) for v in frame["fetched_at"]} - {""})
        fetched_from, fetched_to = (stamps[0], stamps[-1]) if stamps else ("", "")
    fetched = fetched_from if fetched_from == fetched_to else f"{fetched_from} – {fetched_to}"
    years = attrs.get("years")
    peers = attrs.get("peers")
    peer_titles = [text(p.get("title")) for p in peers if isinstance(p, dict)] if isinstance(peers, list) else []
    kommun = kommun_name(frame)
    kommun_id = _kommun_id(frame)
    focuses = [k for k in focus_kommuner(frame) if k]
    kommuner = f"{kommun} ({kommun_id})" if kommun_id and kommun_id != kommun else kommun
    peers_text = "; ".join(t for t in peer_titles if t)
    if len(focuses) > 1:  # each kommun has its own peers: name them per kommun, from the rows
        kommuner = ", ".join(focus_heading(frame, k) for k in focuses)
        peers_text = " ".join(f"{focus_heading(frame, k)}: {'; '.join(_peer_titles(frame, k))}." for k in focuses)
    vs = attrs.get("vs")
    named = [v for v in vs if isinstance(v, dict)] if isinstance(vs, list) else []
    vs_text = ", ".join(f"{text(v.get('title'))} ({text(v.get('id'))})" for v in named)
    directions = {text(d) or "neutral" for d in frame["direction"]} if "direction" in frame.columns else set()
    ranks = words["ranks"]
    if directions and not directions & {"higher", "lower"}:
        ranks = words["ranks_none"]
    elif directions - {"higher", "lower"}:
        ranks = f"{ranks} {words['ranks_neutral']}"
    pairs = [
        (words["p_source"], source_line(attrs) if lang == "sv" else SOURCE_LINE_EN),
        (words["p_citation"], words["citation"]),
        (words["p_charts"], words["charts"] if charts else words["no_charts"]),
        (words["p_ranks"], ranks),
        (words["p_kommun"], kommuner),
        (words["p_vs"], vs_text),
        (words["p_set"], text(attrs.get("kpi_set"))),
        (words["p_years"], span_text([int(y) for y in years]) if isinstance(years, (list, tuple)) else text(years)),
        (words["p_peers"], peers_text),
        (words["p_api"], text(attrs.get("api_url"))),
        (words["p_fetched"], fetched.strip(" –")),
        (words["p_version"], text(attrs.get("kpijmf_version"))),
        (words["p_generated"], text(attrs.get("generated_at"))),
    ]
    return [(k, v) for k, v in pairs if v]


def _peer_titles(frame: pd.DataFrame, kommun_id: str) -> list[str]:
    """The titles of one focus kommun's peer groups, in the frame's order."""
    rows = frame[(frame["kommun_id"] == kommun_id) & ~frame["role"].isin(["kommun", "vs", "riket", TARGET_ROLE])]
    return [t for t in dict.fromkeys(text(v) for v in rows["title"]) if t]


def subtitle(frame: pd.DataFrame, blocks: list[Block], lang: str) -> str:
    words = REPORT_WORDS[lang]
    parts = [words["subtitle"]]
    kpi_set = text((frame.attrs or {}).get("kpi_set"))
    if kpi_set:
        parts.append(words["kpi_set"].format(name=kpi_set))
    if blocks:
        parts.append(span_text(blocks[0].years))
    return ", ".join(parts)


def charts_for(
    frame: pd.DataFrame, distribution: pd.DataFrame | None, block: Block, fmt: str, lang: str
) -> tuple[bytes, bytes | None]:
    """(line chart, strip chart or None) for one KPI."""
    from kpijmf.output.charts import kpi_charts

    charts = kpi_charts(frame, distribution, block.kpi, fmt=fmt, lang=lang)
    return charts["line"], charts.get("strip")


# --- HTML --------------------------------------------------------------------------------------------

_TAG = re.compile(r"<[^<>]+>")


def inline_svg(svg: bytes, prefix: str, label: str) -> str:
    """matplotlib's SVG made fit to sit inside HTML: no XML prolog, metadata or style, ids made unique by prefix."""
    body = svg.decode("utf-8")
    body = body[body.index("<svg") :]
    body = re.sub(r"\s*<metadata>.*?</metadata>", "", body, count=1, flags=re.DOTALL)
    body = re.sub(r'\s*<style type="text/css">.*?</style>', "", body, count=1, flags=re.DOTALL)

    def fix_tag(match: re.Match[str]) -> str:
        # Only inside tags: text content is escaped by matplotlib, so a title cannot fake an attribute.
        tag = match.group(0)
        tag = re.sub(r'\bid="([^"]*)"', lambda m: f'id="{prefix}{m[1]}"', tag)
        tag = re.sub(r"url\(#([^)]*)\)", lambda m: f"url(#{prefix}{m[1]})", tag)
        return re.sub(r'xlink:href="#([^"]*)"', lambda m: f'xlink:href="#{prefix}{m[1]}"', tag)

    body = _TAG.sub(fix_tag, body)
    # The HTML parser puts <svg> in the SVG namespace by itself; dropping the declarations keeps the file free
    # of every http:// string but the provenance.
    opening = body[: body.index(">") + 1]
    cleaned = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", opening)
    cleaned = cleaned.replace("<svg ", f'<svg role="img" aria-label="{_escape(label)}" ', 1)
    return cleaned + body[len(opening) :]


def _escape(value: str) -> str:
    """Text from the data for HTML: control characters shown as \\x1b etc. (invalid in HTML), then escaped."""
    return html.escape(printable(value))


def slug(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", value)


def _html_table(block: Block, lang: str) -> str:
    words = REPORT_WORDS[lang]
    e = _escape
    change_span = f"{block.rank_year - 1}–{block.rank_year}"
    head = [f'<th scope="col">{e(words["first_column"])}</th>']
    for y in block.years:
        mark = block.year_marks.get(y, "")
        head.append(f'<th scope="col">{y}{f"<sup>{e(mark)}</sup>" if mark else ""}</th>')
    head.append(f'<th scope="col">{e(words["rank"].format(year=block.rank_year))}</th>')
    head.append(f'<th scope="col">{e(words["change"].format(span=change_span))}</th>')
    lines = [f'<table id="table-{block.anchor}">', "<thead><tr>" + "".join(head) + "</tr></thead>", "<tbody>"]
    legend = QUARTILE_WORDS_BY_LANG[lang]
    for row in block.rows:
        cells = [f'<th scope="row">{e(row.label)}</th>']
        quartiles = row.quartiles or [None] * len(row.cells)
        for (shown, marks), q in zip(row.cells, quartiles, strict=True):
            cells.append(f"<td{_quartile_attrs(q, legend)}>{e(shown)}{f'<sup>{e(marks)}</sup>' if marks else ''}</td>")
        cells.append(f"<td{_quartile_attrs(row.rank_quartile, legend)}>{e(row.rank)}</td>")
        cells.append(f"<td>{e(row.change)}</td>")
        lines.append(f'<tr class="{e(slug(row.role))}">' + "".join(cells) + "</tr>")
    lines += ["</tbody>", "</table>"]
    return "\n".join(lines)


def _quartile_attrs(quartile: int | None, words: dict[int, str]) -> str:
    """' class="q2" title="kvartil 2"' for a coloured cell (the title says it without colour), '' otherwise."""
    return "" if quartile is None else f' class="q{quartile}" title="{_escape(words[quartile])}"'


def quartile_css() -> str:
    """The quartile fills as CSS, from the one palette (colours.py), each with its contrasting text colour; placed
    after the page's CSS and as specific as its kommun-row rule, so a fill wins over the row's background."""
    rules = [f"tbody td.q{q} {{ background: {c}; color: {text_colour(c)}; }}" for q, c in QUARTILE_COLOURS.items()]
    rules += [f".swatch.q{q} {{ background: {c}; color: {text_colour(c)}; }}" for q, c in QUARTILE_COLOURS.items()]
    return "\n".join(rules)


def colour_legend(lang: str) -> str:
    """The legend under the first coloured table: the four quartile swatches and the palette's name."""
    words = REPORT_WORDS[lang]
    swatches = " ".join(
        f'<span class="swatch q{q}">{_escape(w)}</span>' for q, w in QUARTILE_WORDS_BY_LANG[lang].items()
    )
    return f'<p class="legend">{_escape(words["legend"].format(palette=words["palette"]))} {swatches}</p>'


def direction_text(direction: str, lang: str) -> str:
    key = f"direction_{direction}" if direction in ("higher", "lower") else "direction_neutral"
    return REPORT_WORDS[lang][key]


def _html_block(
    frame: pd.DataFrame,
    distribution: pd.DataFrame | None,
    block: Block,
    lang: str,
    charts: bool = True,
    *,
    level: int = 2,
    legend: bool = False,
) -> str:
    words = REPORT_WORDS[lang]
    e = _escape
    anchor = block.anchor
    kommun = kommun_name(frame)
    src = source_line(frame_attrs(frame)) if lang == "sv" else SOURCE_LINE_EN
    meta = f"{words['kolada_id'].format(kpi=block.kpi)} · {direction_text(block.direction, lang)}"
    parts = [
        f'<section class="kpi" id="kpi-{anchor}">',
        f"<h{level}>{e(block.heading)}</h{level}>",
        f'<p class="kpi-meta">{e(meta)}</p>',
    ]
    if block.summary:
        parts.append(f'<p class="summary">{e(block.summary)}</p>')
    parts.append(_html_table(block, lang))
    if legend:
        parts.append(colour_legend(lang))
    parts += [f'<p class="notes">{e(note)}</p>' for note in block.notes]
    parts.append(f'<p class="source">{e(src)}</p>')
    if not charts:
        parts.append("</section>")
        return "\n".join(parts)
    line, strip = charts_for(frame, distribution, block, "svg", lang)
    parts.append('<div class="charts">')
    line_label = words["line_chart"].format(label=block.label, kommun=kommun)
    parts.append(f'<figure class="line-chart">{inline_svg(line, f"line-{anchor}-", line_label)}</figure>')
    if strip is not None:
        strip_label = words["strip_chart"].format(label=block.label, kommun=kommun, year=block.rank_year)
        parts.append(f'<figure class="strip-chart">{inline_svg(strip, f"strip-{anchor}-", strip_label)}</figure>')
    parts += ["</div>", "</section>"]
    return "\n".join(parts)


def build_html(frame: pd.DataFrame, distribution: pd.DataFrame | None, *, lang: str = "sv", charts: bool = True) -> str:
    """The whole report as one self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched).

    `distribution` holds every kommun's values (kpi, year, unit_id, value; gender T) for the strip charts;
    None leaves them out. `charts=False` leaves every chart out (no matplotlib); tables and summaries stay.
    """
    words = REPORT_WORDS[check_lang(lang)]
    e = _escape
    sections = build_sections(frame, lang)
    blocks = [b for section in sections for b in section.blocks]
    title = words["title"].format(kommun=kommun_names(frame, lang))
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{lang}">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="kpijmf {e(text((frame.attrs or {}).get("kpijmf_version")))}">',
        f"<title>{e(title)}</title>",
        f"<style>\n{CSS}\n{quartile_css()}\n</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{e(title)}</h1>",
        f'<p class="subtitle">{e(subtitle(frame, blocks, lang))}</p>',
        "</header>",
    ]
    several = len(sections) > 1
    if len(blocks) > 1:
        out.append(f'<nav aria-label="{e(words["contents"])}"><h2>{e(words["contents"])}</h2><ol>')
        for section in sections:
            items = [f'<li><a href="#kpi-{b.anchor}">{e(b.heading)}</a></li>' for b in section.blocks]
            if several:
                link = f'<a href="#kommun-{slug(section.kommun_id)}">{e(section.heading)}</a>'
                items = [f"<li>{link}<ol>", *items, "</ol></li>"]
            out += items
        out.append("</ol></nav>")
    legend_at = next((b for b in blocks if b.coloured), None)
    for section in sections:
        if several:
            out.append(f'<section class="kommun" id="kommun-{slug(section.kommun_id)}">')
            out.append(f"<h2>{e(section.heading)}</h2>")
        for block in section.blocks:
            level = 3 if several else 2
            out.append(_html_block(section.frame, distribution, block, lang, charts, level=level,
                                   legend=block is legend_at))  # fmt: skip
        if several:
            out.append("</section>")
    if not blocks:
        out.append(f"<p>{e(words['no_data'])}</p>")
    out.append(f'<footer id="provenance"><h2>{e(words["provenance"])}</h2><dl>')
    out += [f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in provenance(frame, lang, charts=charts)]
    out += ["</dl></footer>", "</body>", "</html>", ""]
    return "\n".join(out)
