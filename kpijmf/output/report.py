"""A report as the files to write: the HTML page, or the Markdown file and its PNG charts in `<name>_filer/`.

Nothing here writes: `report_files` returns (path, bytes) pairs and the caller hands each to the one atomic writer
(`kpijmf.output.files.write_output`). Without matplotlib the report still has every table and summary; the charts
are left out and `charts_missing_hint` says how to add them.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kpijmf.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

REPORT_FORMATS = ("html", "md-report")


def charts_available() -> bool:
    """True when matplotlib can be imported (the `charts` extra is installed)."""
    try:
        return importlib.util.find_spec("matplotlib") is not None
    except (ImportError, ValueError):  # None in sys.modules, or a broken package
        return False


def charts_install_command() -> str:
    """The pip command that adds charts: for a clone (pyproject.toml beside the package) the editable extra."""
    source = Path(__file__).resolve().parents[2]
    if (source / "pyproject.toml").is_file() and (source / "kpijmf").is_dir():
        return "pip install -e '.[charts]'"
    return "pip install 'kpijmf[charts]'"


@dataclass(frozen=True)
class ReportFile:
    """One file of a report: where to write it and what."""

    path: Path
    data: bytes


def chart_folder(target: Path) -> Path:
    """The folder a Markdown report keeps its images in: `rapport.md` -> `rapport_filer/` beside it."""
    return target.with_name(f"{target.stem}_filer")


def report_files(
    frame: pd.DataFrame, distribution: pd.DataFrame | None, fmt: str, target: Path, *, lang: str = "sv"
) -> list[ReportFile]:
    """The files of a report in `fmt` ('html' or 'md-report') for `target`: images first, the report last."""
    from kpijmf.output.html import build_html
    from kpijmf.output.markdown import build_markdown

    charts = charts_available()
    if fmt == "html":
        page = build_html(frame, distribution, lang=lang, charts=charts)
        return [ReportFile(target, page.encode("utf-8"))]
    if fmt == "md-report":
        folder = chart_folder(target)
        built = build_markdown(frame, distribution, lang=lang, chart_folder=folder.name, charts=charts)
        images = [ReportFile(folder / name, data) for name, data in built.images.items()]
        return [*images, ReportFile(target, built.text.encode("utf-8"))]
    raise UsageError(f"unknown report format {fmt!r}; choose one of: {', '.join(REPORT_FORMATS)}")
