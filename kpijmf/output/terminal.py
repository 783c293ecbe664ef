"""The comparison frame as rich tables in the terminal, one per KPI, in the audit layout. No fetching.

Every string that comes from the data (titles, labels) is put in a `rich.text.Text`, never in a markup
string: Text is neither parsed for markup nor for ":emoji:" codes, so a title like "[red]x[/red]" is
shown literally (`rich.markup.escape` alone would still turn ":warning:" into an emoji). Text does pass
ESC sequences through, so data strings also go through `printable` first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kpijmf.output.clean import printable
from kpijmf.output.colours import COLOURED_ROLES
from kpijmf.output.layout import (
    MEAN_NOTE_INTRO,
    MINUS,
    MISSING,
    cell_ranks,
    focus_kommuner,
    format_sv,
    is_missing,
    kpi_heading,
    mean_note_text,
    mean_notes,
    row_label,
    short_label,
    source_line,
    wide_frame,
)
from kpijmf.output.notes import BREAK_MARK, block_notes, break_years, focus_heading

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

_GOOD, _BAD = "green", "red"


def change_text(change: Any, decimals: int, direction: str, *, colour: bool = True) -> Text:
    """'−0,2 ↓' in green when the change is an improvement for the KPI's direction, red when worse."""
    from rich.text import Text

    if is_missing(change):
        return Text(MISSING)
    shown = format_sv(change, decimals, signed=True)
    if not shown.startswith(("+", MINUS)):  # signed=True marks every change that survives rounding
        return Text(f"{shown} →")
    up = float(change) > 0
    style = ""
    if colour and direction in ("higher", "lower"):
        style = _GOOD if up == (direction == "higher") else _BAD
    return Text(f"{shown} {'↑' if up else '↓'}", style=style)


REVISED_MARK = "†"
QUARTILE_HEADER = "Kv."


def colour_enabled(console: Console) -> bool:
    """Colours only on a colour terminal and without NO_COLOR (rich sets no_color from the environment)."""
    return console.color_system is not None and not console.no_color and console.is_terminal


def _quartile_style(quartile: Any, direction: str) -> str:
    from kpijmf.output.colours import quartile_colour, text_colour

    fill = quartile_colour(quartile, direction)
    return f"{text_colour(fill)} on {fill}" if fill else ""


def _colour_legend() -> Text:
    from rich.text import Text

    from kpijmf.output.colours import PALETTE_NAME, QUARTILE_COLOURS, QUARTILE_WORDS

    legend = Text("Färg: ", style="dim")
    for q in QUARTILE_COLOURS:
        legend.append(f" {q} ", style=_quartile_style(q, "higher"))
        legend.append(" ")
    first, last = QUARTILE_WORDS[1].split(" ", 2)[2], QUARTILE_WORDS[4].split(" ", 2)[2]
    legend.append(f"kvartil 1 {first} … 4 {last}; {PALETTE_NAME}.", style="dim")
    return legend


REVISED_NOTE = f"{REVISED_MARK} reviderat av Kolada sedan en tidigare hämtning (se `kpijmf revisions`)."


def _caption(
    notes: list,
    decimals: int,
    rank_year: int,
    src: str,
    *,
    revised: bool = False,
    extra: list[str] | None = None,
    ranked: bool = True,
) -> Text:
    from rich.text import Text

    lines = []
    if notes:
        lines.append(MEAN_NOTE_INTRO)
        lines += [f"  {mean_note_text(n, decimals)}" for n in notes]
    if revised:
        lines.append(REVISED_NOTE)
    lines += extra or []
    if ranked:
        lines.append(
            f"Rang, {QUARTILE_HEADER} (kvartil, 1 = bästa fjärdedelen) och förändring avser {rank_year}; "
            "förändring jämfört med föregående år."
        )
    else:
        lines.append(f"Förändring avser {rank_year}; förändring jämfört med föregående år.")
    lines.append(src)
    return Text(printable("\n".join(lines)), style="dim")


def _legend(labels: dict[str, str], coloured: bool) -> Text:
    """Once under all tables: the colours (when shown) and each short label's full title."""
    from rich.text import Text

    lines = [_colour_legend()] if coloured else []
    lines += [Text(printable(f"{short} = {full}"), style="dim") for short, full in labels.items()]
    return Text("\n").join(lines)


def revised_cells(frame: pd.DataFrame, kpi: str) -> set[tuple[str, str, str, int]]:
    """(role, id, gender, year) of the KPI's cells Kolada revised, when the frame carries `revised`."""
    if "revised" not in frame.columns:
        return set()
    rows = frame[(frame["kpi"] == kpi) & frame["revised"].astype(bool)]
    return {
        (str(role), str(uid), str(gender), int(year))
        for role, uid, gender, year in zip(rows["role"], rows["id"], rows["gender"], rows["year"], strict=True)
    }


def _table(title: Text, numeric: list[str], rows: list[list[Text]]) -> Table:
    """A table whose first column (labels) may wrap and whose numeric columns never wrap or shrink:
    each is at least as wide as its widest cell, so a narrow terminal wraps labels, never numbers."""
    from rich import box
    from rich.table import Table

    table = Table(
        title=title, title_justify="left", caption_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False
    )
    table.add_column("Nyckeltal", overflow="fold")
    for j, header in enumerate(numeric, start=1):
        width = max([len(header)] + [r[j].cell_len for r in rows])
        table.add_column(header, justify="right", no_wrap=True, width=width)
    for cells in rows:
        table.add_row(*cells)
    return table


def render_table(frame: pd.DataFrame, console: Console) -> int:
    """Print one table per KPI: kommun, peers (short labels), Riket by year, rank, quartile, last change, source.

    Numeric columns never wrap, so a number or "10 av 18" is never split; long labels wrap instead and the
    full group titles follow in a legend under the tables. On a colour terminal the kommun's and `vs` rows' values are
    filled with their quartile's colour (`kpijmf.output.colours`). Returns how many unit rows it printed."""
    from rich.text import Text

    src = source_line(frame.attrs)
    wide = wide_frame(frame, detail=True)
    if wide.empty:
        console.print(Text(f"Inga värden att visa ({MISSING})."))
        console.print(Text(src, style="dim"))
        return 0
    notes = mean_notes(frame)
    several = len(focus_kommuner(frame)) > 1
    ranks = cell_ranks(frame)
    colour = colour_enabled(console)
    printed = 0
    labels: dict[str, str] = {}
    coloured = False
    for (focus, kpi), block in wide.groupby(["kommun_id", "kpi"], sort=False):
        first = block.iloc[0]
        if several and block.index[0] == wide.index[wide["kommun_id"] == focus][0]:
            console.print(Text(printable(focus_heading(frame, str(focus))), style="bold underline"))
            console.print()
        years = list(first["år"])
        breaks = break_years(frame, str(kpi))
        decimals = int(first["decimaler"])
        rank_year = int(first["rang_år"])
        kpi_notes = [n for n in notes if n.kpi == kpi]
        flagged = {(n.role, n.id, n.gender, n.year) for n in kpi_notes}
        revised = revised_cells(frame, str(kpi))
        title = Text.assemble(
            (printable(kpi_heading(str(first["nyckeltal"]), str(first["enhet"]))), "bold"),
            "  ",
            (printable(str(kpi)), "dim"),
        )
        rows: list[list[Text]] = []
        for _, r in block.iterrows():
            role, direction = str(r["role"]), str(r["riktning"])
            short = short_label(str(r["title"]), role)
            if short != " ".join(str(r["title"]).split()):
                labels.setdefault(short, str(r["title"]))
            label = row_label(short, str(r["gender"]))
            cells: list[Text] = [Text(printable(label), style="bold" if role == "kommun" else "")]
            paint = colour and role in COLOURED_ROLES
            for y in years:
                # Unmarked numbers get a space where the "*" would be, so decimal commas stay aligned.
                key = (role, str(r["id"]), str(r["gender"]), int(y))
                mark = "*" if key in flagged else " " if flagged else ""
                mark += REVISED_MARK if key in revised else " " if revised else ""
                cell = ranks.get((str(kpi), *key))
                style = _quartile_style(cell.quartile, direction) if paint and cell is not None else ""
                coloured = coloured or bool(style)
                cells.append(Text(format_sv(r[y], decimals), style=style) + Text(mark))
            cells.append(Text(str(r["rang"])))
            quartile = r["kvartil"]
            shown = "" if is_missing(quartile) else str(int(quartile))
            cells.append(Text(shown, style=_quartile_style(quartile, direction) if paint and shown else ""))
            # A K-M gap has no better or worse direction, so its change is never coloured.
            cells.append(change_text(r["förändring"], decimals, direction, colour=r["gender"] != "K-M"))
            rows.append(cells)
        heads = [f"{y}{BREAK_MARK}" if y in breaks else str(y) for y in years]
        table = _table(title, [*heads, f"Rang {rank_year}", QUARTILE_HEADER, "Förändring"], rows)
        console.print(table)
        # Under the table rather than as its caption: a caption wraps at the table's width, not the terminal's.
        caption = _caption(
            kpi_notes,
            decimals,
            rank_year,
            src,
            revised=bool(revised),
            extra=block_notes(frame, str(kpi), str(focus)),
            ranked=str(first["riktning"]) in ("higher", "lower"),
        )
        console.print(caption)
        console.print()
        printed += len(rows)
    if labels or coloured:
        console.print(_legend(labels, coloured))
    return printed
