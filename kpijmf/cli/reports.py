"""The `kpijmf plot` and `kpijmf report` commands: charts and a self-contained report for a kommun."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kpijmf.cli.options import (
    KommunOpt,
    KpiOpt,
    LastOpt,
    OfflineOpt,
    PeersOpt,
    Quiet,
    SetOpt,
    TargetsOpt,
    YearsOpt,
    parse_year_choice,
    workspace,
)
from kpijmf.cli.talk import Talk
from kpijmf.domain.parsing import split_list
from kpijmf.errors import UsageError

LangOpt = Annotated[str, typer.Option("--lang", metavar="sv|en", help="Language of headings and sentences.")]
_CHART_FORMATS = {".png": "png", ".svg": "svg"}
_REPORT_FORMATS = {".html": "html", ".htm": "html", ".md": "md"}


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
    lang: LangOpt = "sv",
    offline: OfflineOpt = False,
    quiet: Quiet = False,
) -> None:
    """Draw one chart of a KPI for a kommun (matplotlib: pip install 'kpijmf[charts]').

    Example: kpijmf plot --kommun Östersund --kpi U40455 --years 2016-2023 --output u40455.svg
    """
    from kpijmf.output.charts import line_chart, strip_chart
    from kpijmf.output.sink import write_output

    talk = Talk(quiet=quiet)
    fmt = _suffix_format(output, _CHART_FORMATS, "charts")
    if kind not in ("line", "strip"):
        raise UsageError(f"unknown chart kind {kind!r}: choose line or strip")
    year_list, last = parse_year_choice(years, last)
    with talk.progress("Hämtar från Kolada") as progress, workspace(talk, offline, "plot", progress) as space:
        frame = space.compare(kommun, set_name=set_name, kpi_ids=split_list([kpi]), years=year_list, last=last,
                              peers=split_list(peers) or None, targets_file=targets)  # fmt: skip
        kpi_id = str(frame["kpi"].iloc[0]) if len(frame) else kpi.upper()
        if kind == "line":
            data = line_chart(frame, kpi_id, fmt=fmt, lang=lang)
        else:
            first = frame.iloc[0]
            data = strip_chart(
                space.distribution(frame), kpi_id, kommun_id=frame.attrs["kommun_id"], year=int(frame["year"].max()),
                direction=str(first["direction"]), fmt=fmt, lang=lang, label=str(first["kpi_label"]),
                unit=str(first["kpi_unit"]), kommun_title=frame.attrs["kommun_title"],
            )  # fmt: skip
    write_output(data, output)
    talk.say(f"wrote {output}")


def report(
    kommun: KommunOpt,
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            metavar="PATH",
            help="rapport.html (one self-contained file) or rapport.md (charts as PNG files beside it).",
        ),
    ],
    set_name: SetOpt = None,
    kpi: KpiOpt = None,
    years: YearsOpt = None,
    last: LastOpt = None,
    peers: PeersOpt = None,
    targets: TargetsOpt = None,
    lang: LangOpt = "sv",
    offline: OfflineOpt = False,
    quiet: Quiet = False,
) -> None:
    """Write a report for a kommun: per KPI the audit table, charts, a summary sentence; provenance at the end.

    Example: kpijmf report --kommun 2380 --years 2019-2021 --output rapport.html
    """
    from kpijmf.output.html import build_html
    from kpijmf.output.markdown import build_markdown
    from kpijmf.output.sink import write_output

    talk = Talk(quiet=quiet)
    fmt = _suffix_format(output, _REPORT_FORMATS, "reports")
    if lang not in ("sv", "en"):
        raise UsageError(f"unknown language {lang!r}: choose sv or en")
    year_list, last = parse_year_choice(years, last)
    with talk.progress("Hämtar från Kolada") as progress, workspace(talk, offline, "report", progress) as space:
        frame = space.compare(kommun, set_name=set_name, kpi_ids=split_list(kpi), years=year_list, last=last,
                              peers=split_list(peers) or None, targets_file=targets)  # fmt: skip
        distribution = space.distribution(frame)
    if fmt == "html":
        text = build_html(frame, distribution, lang=lang)
    else:
        target = Path(output)
        text = build_markdown(frame, distribution, lang=lang, chart_dir=target.parent or Path("."),
                              chart_prefix=target.stem)  # fmt: skip
    write_output(text.encode("utf-8"), output)
    talk.say(f"wrote {output} ({frame['kpi'].nunique()} KPIs)")
