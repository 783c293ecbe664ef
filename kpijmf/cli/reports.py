"""The `kpijmf plot` and `kpijmf report` commands: charts and a self-contained report for a kommun."""

# No `from __future__ import annotations`: see kpijmf/cli/__init__.py.

import os
from pathlib import Path
from typing import Annotated

import typer

from kpijmf.cli.options import (
    KommunerOpt,
    KommunOpt,
    KpiOpt,
    LastOpt,
    OfflineOpt,
    PeersOpt,
    Quiet,
    SetOpt,
    TargetsOpt,
    VsOpt,
    YearsOpt,
    parse_year_choice,
    workspace,
)
from kpijmf.cli.talk import Talk
from kpijmf.domain.parsing import split_list
from kpijmf.errors import NotFoundError, UsageError
from kpijmf.messages import LANG_ENV, current_lang, msg

LangOpt = Annotated[
    str | None,
    typer.Option(
        "--lang",
        metavar="sv|en",
        help="Language of the report and the talk (default: KPIJMF_LANG or sv).",
        show_default=False,
    ),
]
_CHART_FORMATS = {".png": "png", ".svg": "svg"}
_REPORT_FORMATS = {".html": "html", ".htm": "html", ".md": "md-report"}


def _use_lang(lang: str | None) -> str:
    """The command's --lang, else the run's language; a command's choice holds for its talk too."""
    chosen = current_lang(lang)
    os.environ[LANG_ENV] = chosen
    return chosen


def _suffix_format(output: str, formats: dict[str, str], what: str) -> str:
    fmt = formats.get(Path(output).suffix.lower())
    if fmt is None:
        raise UsageError(f"{what} are written as {', '.join(sorted(formats))}: give --output with one of those endings")
    return fmt


def plot(
    kommun: KommunOpt,
    kpi: Annotated[str, typer.Option("--kpi", metavar="ID", help="The KPI to draw, e.g. U40455.")],
    output: Annotated[str, typer.Option("--output", "-o", metavar="PATH", help="A .png or .svg file to write.")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            metavar="line|strip",
            help="line: kommun and peers over the years; "
            "strip: all kommuner in the latest year, with rank and quartiles.",
        ),
    ] = "line",
    set_name: SetOpt = None,
    years: YearsOpt = None,
    last: LastOpt = None,
    peers: PeersOpt = None,
    targets: TargetsOpt = None,
    lang: LangOpt = None,
    offline: OfflineOpt = False,
    quiet: Quiet = False,
) -> None:
    """Draw one chart of a KPI for a kommun (matplotlib: pip install 'kpijmf[charts]').

    Example: kpijmf plot --kommun Östersund --kpi U40455 --years 2016-2023 --output u40455.svg
    """
    from kpijmf.output.charts import kpi_charts
    from kpijmf.output.sink import write_output

    lang = _use_lang(lang)
    talk = Talk(quiet=quiet)
    fmt = _suffix_format(output, _CHART_FORMATS, "charts")
    if kind not in ("line", "strip"):
        raise UsageError(f"unknown chart kind {kind!r}: choose line or strip")
    year_list, last = parse_year_choice(years, last)
    with talk.progress(msg("progress_fetch")) as progress, workspace(talk, offline, "plot", progress) as space:
        frame = space.compare(kommun, set_name=set_name, kpi_ids=split_list([kpi]), years=year_list, last=last,
                              peers=split_list(peers) or None, targets_file=targets)  # fmt: skip
        kpi_id = str(frame["kpi"].iloc[0]) if len(frame) else kpi.upper()
        distribution = space.distribution(frame) if kind == "strip" else None
    charts = kpi_charts(frame, distribution, kpi_id, fmt=fmt, lang=lang, kinds=(kind,))
    if kind not in charts:
        raise NotFoundError(f"no values of {kpi_id} for all kommuner: the strip chart needs them")
    write_output(charts[kind], output)
    talk.say(msg("wrote", path=output))


def report(
    kommun: KommunerOpt,
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            metavar="PATH",
            help="rapport.html (one self-contained file) or rapport.md (charts as PNG files in rapport_filer/).",
        ),
    ],
    set_name: SetOpt = None,
    kpi: KpiOpt = None,
    years: YearsOpt = None,
    last: LastOpt = None,
    peers: PeersOpt = None,
    vs: VsOpt = None,
    targets: TargetsOpt = None,
    lang: LangOpt = None,
    offline: OfflineOpt = False,
    quiet: Quiet = False,
) -> None:
    """Write a report for a kommun: per KPI the audit table, charts, a summary sentence; provenance at the end.

    Several kommuner (--kommun 2380,2480) get one section each.

    Example: kpijmf report --kommun 2380 --vs Sundsvall --years 2019-2021 --output rapport.html
    """
    from kpijmf.output.report import charts_available, charts_install_command, report_files
    from kpijmf.service.runner import write_files

    lang = _use_lang(lang)
    talk = Talk(quiet=quiet)
    fmt = _suffix_format(output, _REPORT_FORMATS, "reports")
    year_list, last = parse_year_choice(years, last)
    with talk.progress(msg("progress_fetch")) as progress, workspace(talk, offline, "report", progress) as space:
        kommuner = split_list(kommun) or kommun  # only blanks: let the lookup name the problem
        frame = space.compare(kommuner if len(kommuner) != 1 else kommuner[0], set_name=set_name,
                              kpi_ids=split_list(kpi), years=year_list, last=last, peers=split_list(peers) or None,
                              vs=split_list(vs), targets_file=targets)  # fmt: skip
        distribution = space.distribution(frame)
    if not charts_available():
        talk.warn(msg("no_matplotlib", command=charts_install_command()))
    files = report_files(frame, distribution, fmt, Path(output), lang=lang)
    write_files(files)
    images = len(files) - 1
    extra = msg("report_images", n=images, folder=files[0].path.parent) if images else ""
    talk.say(msg("wrote_report", path=output, kpis=frame["kpi"].nunique(), images=extra))
