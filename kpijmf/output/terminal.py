"""The comparison frame as rich tables in the terminal, one per KPI, in the audit layout. No fetching.

Every string that comes from the data (titles, labels) is put in a `rich.text.Text`, never in a markup
string: Text is neither parsed for markup nor for ":emoji:" codes, so a title like "[red]x[/red]" is
shown literally (`rich.markup.escape` alone would still turn ":warning:" into an emoji). Text does pass
ESC sequences through, so data strings also go through `printable` first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kpijmf.output.clean import printable
from kpijmf.output.layout import (
    MEAN_NOTE_INTRO,
    MINUS,
    MISSING,
    format_sv,
    is_missing,
    kpi_heading,
    mean_note_text,
    mean_notes,
    source_line,
    wide_frame,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from rich.console import Console
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


def _rank_cell(rang: str, quartile: Any) -> Text:
    from rich.text import Text

    if not rang:
        return Text("")
    return Text(rang if is_missing(quartile) else f"{rang}, kvartil {int(quartile)}")


REVISED_MARK = "†"


def _caption(notes: list, decimals: int, rank_year: int, src: str, *, revised: bool = False) -> Text:
    from rich.text import Text

    lines = []
    if notes:
        lines.append(MEAN_NOTE_INTRO)
        lines += [f"  {mean_note_text(n, decimals)}" for n in notes]
    if revised:
        lines.append(f"{REVISED_MARK} reviderat av Kolada sedan en tidigare hämtning (se `kpijmf revisions`).")
    lines.append(f"Rang och förändring avser {rank_year}; förändring jämfört med föregående år.")
    lines.append(src)
    return Text(printable("\n".join(lines)), style="dim")


def revised_cells(frame: pd.DataFrame, kpi: str) -> set[tuple[str, str, str, int]]:
    """(role, id, gender, year) of the KPI's cells Kolada revised, when the frame carries `revised`."""
    if "revised" not in frame.columns:
        return set()
    rows = frame[(frame["kpi"] == kpi) & frame["revised"].astype(bool)]
    return {(r.role, r.id, r.gender, int(r.year)) for r in rows.itertuples()}


def render_table(frame: pd.DataFrame, console: Console) -> None:
    """Print one table per KPI: kommun, peers, Riket by year, rank with quartile, last change, source."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    src = source_line(frame.attrs)
    wide = wide_frame(frame, detail=True)
    if wide.empty:
        console.print(Text(f"Inga värden att visa ({MISSING})."))
        console.print(Text(src, style="dim"))
        return
    years = [c for c in wide.columns if isinstance(c, int)]
    notes = mean_notes(frame)
    for kpi, block in wide.groupby("kpi", sort=False):
        first = block.iloc[0]
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
        table = Table(
            title=title,
            title_justify="left",
            caption=_caption(kpi_notes, decimals, rank_year, src, revised=bool(revised)),
            caption_justify="left",
            box=box.SIMPLE_HEAD,
        )
        table.add_column("Nyckeltal", overflow="fold")
        for y in years:
            table.add_column(str(y), justify="right", no_wrap=True)
        table.add_column(f"Rang {rank_year}", justify="right")
        table.add_column("Förändring", justify="right", no_wrap=True)
        for _, r in block.iterrows():
            cells: list[Text] = [Text(printable(str(r["etikett"])), style="bold" if r["role"] == "kommun" else "")]
            for y in years:
                # Unmarked numbers get a space where the "*" would be, so decimal commas stay aligned.
                key = (r["role"], r["id"], r["gender"], y)
                mark = "*" if key in flagged else " " if flagged else ""
                mark += REVISED_MARK if key in revised else " " if revised else ""
                cells.append(Text(format_sv(r[y], decimals) + mark))
            cells.append(_rank_cell(str(r["rang"]), r["kvartil"]))
            # A K-M gap has no better or worse direction, so its change is never coloured.
            cells.append(change_text(r["förändring"], decimals, str(r["riktning"]), colour=r["gender"] != "K-M"))
            table.add_row(*cells)
        console.print(table)
        console.print()


def render_revisions(rows: list[dict[str, Any]], console: Console) -> None:
    """Print revisions as a table: KPI, unit, year, gender, old → new, when seen."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    if not rows:
        console.print(Text("Inga revideringar registrerade."))
        return
    table = Table(box=box.SIMPLE_HEAD, title=Text("Revideringar i Kolada sedan tidigare hämtning", style="bold"))
    for name, justify in (("KPI", "left"), ("Enhet", "left"), ("År", "right"), ("Kön", "left"),
                          ("Förut", "right"), ("Nu", "right"), ("Sedd", "left")):  # fmt: skip
        table.add_column(name, justify=justify)
    for row in rows:
        table.add_row(
            Text(printable(str(row["kpi"]))),
            Text(printable(f"{row['unit_title']} ({row['unit_id']})")),
            str(row["year"]),
            str(row["gender"]),
            format_sv(row["old_value"], 2),
            "återkallat" if row["kind"] == "removed" else format_sv(row["new_value"], 2),
            str(row["seen_at"]),
        )
    console.print(table)
