"""The library's public entry points: `compare()` for one call, `Workspace` for several, and the formats.

Example: `from kpijmf.api import compare; frame = compare("Östersund", years="2019-2021")`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from kpijmf.config import Settings, load_settings
from kpijmf.domain.parsing import parse_years
from kpijmf.output.files import render_bytes
from kpijmf.output.sink import write_output
from kpijmf.service.workspace import Workspace

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Settings", "Workspace", "compare", "load_settings", "render_bytes", "write_output"]


def compare(
    kommun: str | Sequence[str],
    *,
    kpi_set: str | None = None,
    kpis: Sequence[str] = (),
    years: str | Sequence[int] | None = None,
    last: int | None = None,
    peers: Sequence[str] | None = None,
    vs: Sequence[str] = (),
    genders: Sequence[str] = ("T",),
    offline: bool = False,
    targets_file: str | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Compare a kommun (id or name; or a list, one block each) with its peer groups and the `vs` kommuner;
    returns the tidy comparison DataFrame.

    Example: `compare("Östersund", years="2019-2021")`, `compare(["2380", "2480"], vs=["Sundsvall"])`.
    """
    year_list = parse_years(years) if isinstance(years, str) else (list(years) if years else None)
    with Workspace(settings, offline=offline, command="compare") as workspace:
        return workspace.compare(
            kommun,
            set_name=kpi_set,
            kpi_ids=kpis,
            years=year_list,
            last=last,
            peers=peers,
            vs=vs,
            genders=genders,
            targets_file=targets_file,
        )
