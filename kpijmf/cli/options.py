"""Options and helpers shared by the `kpijmf` commands (app.py, lookup.py, reports.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from kpijmf.cli.talk import Talk
from kpijmf.domain.parsing import parse_years
from kpijmf.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from kpijmf.service.workspace import Workspace

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr; no progress or summary.")]
KommunOpt = Annotated[
    str, typer.Option("--kommun", metavar="ID|NAME", help="Kommun id or name (2380, Östersund, ostersund).")
]
KommunerOpt = Annotated[
    list[str],
    typer.Option(
        "--kommun",
        metavar="ID|NAME",
        help="Kommun id or name (2380, Östersund, ostersund); repeat or comma-separate for one block each.",
    ),
]
VsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--vs",
        metavar="ID|NAME",
        help="A kommun to show beside it, one row each with its own rank; repeat or comma-separate.",
        show_default=False,
    ),
]
KpiOpt = Annotated[
    list[str] | None,
    typer.Option("--kpi", metavar="ID", help="KPI id; repeat or comma-separate (N03926,N40011).", show_default=False),
]
SetOpt = Annotated[
    str | None,
    typer.Option("--set", metavar="NAME|PATH", help="KPI set: a built-in name or a .toml path.", show_default=False),
]
YearsOpt = Annotated[
    str | None,
    typer.Option("--years", metavar="YEARS", help="One year (2021) or a range (2019-2021).", show_default=False),
]
LastOpt = Annotated[
    int | None, typer.Option("--last", metavar="N", min=1, max=30, help="The N latest years with data (default 4).")
]
PeersOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--peers",
        metavar="PEERS",
        help="alla,storlek,kommungrupp,lan,liknande,riket (default: all), group ids, or kommuner (own group).",
        show_default=False,
    ),
]
OfflineOpt = Annotated[bool, typer.Option("--offline", help="Never touch the network; say what is missing.")]
TargetsOpt = Annotated[
    str | None,
    typer.Option("--targets", metavar="FILE", help="Målvärden ([[target]] tables) beside the set's own."),
]


def workspace(
    talk: Talk, offline: bool = False, command: str = "fetch", progress: Callable[[int, int], None] | None = None
) -> Workspace:
    """The library's Workspace, with warnings going to stderr."""
    from kpijmf.service.workspace import Workspace

    return Workspace(offline=offline, progress=progress, on_message=talk.warn, command=command)


def parse_year_choice(years: str | None, last: int | None) -> tuple[list[int] | None, int | None]:
    """--years or --last (not both)."""
    year_list = parse_years(years) if years is not None else None
    if year_list and last:
        raise UsageError("give either --years or --last, not both")
    return year_list, last
