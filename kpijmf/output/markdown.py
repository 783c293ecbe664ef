"""The report as Markdown (`kpijmf report --output rapport.md`): the same blocks as the HTML page; the charts are
PNG images returned as bytes, to be written into a folder beside the .md file (`rapport_filer/`) and referenced
by relative path. Nothing here writes a file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

from kpijmf.domain.vocab import SOURCE_LINE_EN
from kpijmf.output.clean import printable
from kpijmf.output.files import markdown_escape
from kpijmf.output.html import (
    PRELIMINARY_MARK,
    Block,
    build_sections,
    charts_for,
    direction_text,
    frame_attrs,
    kommun_name,
    kommun_names,
    provenance,
    subtitle,
)
from kpijmf.output.layout import source_line
from kpijmf.output.words import REPORT_WORDS, check_lang

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def md_escape(value: str) -> str:
    """Text from the data for Markdown: control characters shown as \\x1b etc., Markdown specials escaped."""
    return markdown_escape(printable(value))


def _md_marks(marks: str) -> str:
    """Footnote marks in plain Markdown: '2,8\\*', '2,8 (p)'; no superscript there."""
    shown = md_escape(marks.replace(PRELIMINARY_MARK, ""))
    return shown + (" (p)" if PRELIMINARY_MARK in marks else "")


def _md_table(block: Block, lang: str) -> list[str]:
    words = REPORT_WORDS[lang]
    change_span = f"{block.rank_year - 1}–{block.rank_year}"
    head = [md_escape(words["first_column"])]
    head += [f"{y}{_md_marks(block.year_marks.get(y, ''))}" for y in block.years]
    head += [md_escape(words["rank"].format(year=block.rank_year)), md_escape(words["change"].format(span=change_span))]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join([":---", *["---:"] * (len(block.years) + 2)]) + "|"]
    for row in block.rows:
        label = f"**{md_escape(row.label)}**" if row.role == "kommun" else md_escape(row.label)
        cells = [label, *(md_escape(shown) + _md_marks(marks) for shown, marks in row.cells), md_escape(row.rank),
                 md_escape(row.change)]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return lines


@dataclass(frozen=True)
class MarkdownReport:
    """The Markdown text and its images: file name (inside the chart folder) -> PNG bytes."""

    text: str
    images: dict[str, bytes] = field(default_factory=dict)


def _chart_name(block: Block, kind: str) -> str:
    """'N03926-line.png'; '2380-N03926-line.png' when the report has several kommuner."""
    return f"{block.anchor}-{kind}.png"


def build_markdown(
    frame: pd.DataFrame,
    distribution: pd.DataFrame | None,
    *,
    lang: str = "sv",
    chart_folder: str = "rapport_filer",
    charts: bool = True,
) -> MarkdownReport:
    """The report as Markdown with its PNG charts as bytes, referenced as `<chart_folder>/<kpi>-line.png` and
    `…-strip.png`; `charts=False` leaves them out (the tables and summaries stay)."""
    words = REPORT_WORDS[check_lang(lang)]
    images: dict[str, bytes] = {}
    sections = build_sections(frame, lang)
    blocks = [b for section in sections for b in section.blocks]
    several = len(sections) > 1
    src = source_line(frame_attrs(frame)) if lang == "sv" else SOURCE_LINE_EN
    title = words["title"].format(kommun=kommun_names(frame, lang))
    out = [f"# {md_escape(title)}", "", md_escape(subtitle(frame, blocks, lang)), ""]
    for section, block in ((s, b) for s in sections for b in s.blocks):
        if several and block is section.blocks[0]:
            out += [f"## {md_escape(section.heading)}", ""]
        kommun = kommun_name(section.frame)
        meta = f"{words['kolada_id'].format(kpi=block.kpi)} · {direction_text(block.direction, lang)}"
        out += [f"{'###' if several else '##'} {md_escape(block.heading)}", "", md_escape(meta), ""]
        if block.summary:
            out += [md_escape(block.summary), ""]
        out += [*_md_table(block, lang), ""]
        out += [line for note in block.notes for line in (md_escape(note), "")]
        out += [md_escape(src), ""]
        if not charts:
            continue
        line, strip = charts_for(section.frame, distribution, block, "png", lang)
        drawn = [(line, "line", words["line_chart"].format(label=block.label, kommun=kommun))]
        if strip is not None:
            strip_alt = words["strip_chart"].format(label=block.label, kommun=kommun, year=block.rank_year)
            drawn.append((strip, "strip", strip_alt))
        for data, kind, alt in drawn:
            name = _chart_name(block, kind)
            images[name] = data
            out += [f"![{md_escape(alt)}]({quote(chart_folder)}/{quote(name)})", ""]
    if not blocks:
        out += [md_escape(words["no_data"]), ""]
    out += [f"## {md_escape(words['provenance'])}", ""]
    out += [f"- **{md_escape(k)}:** {md_escape(v)}" for k, v in provenance(frame, lang, charts=charts)]
    return MarkdownReport("\n".join(out) + "\n", images)
