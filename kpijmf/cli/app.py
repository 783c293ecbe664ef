"""The `kpijmf` command: parse options, call the library, render, map errors to exit codes. Nothing else."""

# No `from __future__ import annotations`: see kpijmf/cli/__init__.py.

import contextlib
import gc
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kpijmf import __version__
from kpijmf.cli.lookup import cache_app, kommun_app, kpi_app, sets_app
from kpijmf.cli.options import (
    KommunerOpt,
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
from kpijmf.cli.reports import plot, report
from kpijmf.cli.talk import Talk
from kpijmf.domain import vocab
from kpijmf.domain.parsing import parse_years, split_list
from kpijmf.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    ApiTimeoutError,
    ApiUnreachableError,
    KpijmfError,
    UsageError,
)
from kpijmf.messages import LANG_ENV, current_lang, msg

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from kpijmf.service.sync import FetchResult

DEBUG_VARIABLE = "KPIJMF_DEBUG"
FORMATS = vocab.FORMATS

app = typer.Typer(
    name="kpijmf",
    help="Swedish municipal labour-market KPIs from Kolada: fetch, store locally, compare a kommun with its peers.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
app.add_typer(kommun_app, name="kommun")
app.add_typer(kpi_app, name="kpi")
app.add_typer(sets_app, name="sets")
app.add_typer(cache_app, name="cache")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kpijmf {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            metavar="sv|en",
            help="Language of progress, summaries, warnings and reports (or KPIJMF_LANG).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Swedish municipal labour-market KPIs from Kolada: fetch, store locally, compare a kommun with its peers."""
    chosen = current_lang(lang)  # a bad --lang or KPIJMF_LANG stops here, before any work (exit 2)
    if lang is not None:
        # The CLI's choice for this process; every message and report, the library's too, reads it through
        # kpijmf.messages.
        os.environ[LANG_ENV] = chosen


# -- fetch -------------------------------------------------------------------------------------------


@app.command()
def fetch(
    kpi: KpiOpt = None,
    set_name: SetOpt = None,
    years: YearsOpt = None,
    kommun: Annotated[
        list[str] | None,
        typer.Option(
            "--kommun",
            metavar="ID|NAME",
            help="Also store this kommun's peer groups (id or name); repeatable.",
            show_default=False,
        ),
    ] = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="Fetch again even what is stored and fresh.")] = False,
    quiet: Quiet = False,
) -> None:
    """Store values for every kommun, Riket and the kommuner's peer groups (default: the arbetsmarknad set,
    the last ten years).

    Example: kpijmf fetch --kpi N03926,N40011 --years 2015-2024 --kommun Östersund
    """
    talk = Talk(quiet=quiet)
    year_list = parse_years(years) if years is not None else None
    with talk.progress(msg("progress_fetch")) as progress, workspace(talk, progress=progress) as space:
        result = space.fetch(
            split_list(kpi), set_name=set_name, kommuner=split_list(kommun), years=year_list, refresh=refresh
        )
    if result.cells == 0:
        talk.say(msg("nothing_to_fetch"))
        return
    talk.say(
        msg("stored", rows=result.rows, cells=result.cells, requests=result.requests, data=result.data_requests,
            mb=result.bytes / 1e6, seconds=result.seconds)
        + (msg("revised_suffix", changed=result.changed, removed=result.removed) if result.changed or result.removed
           else "")
    )  # fmt: skip


# -- compare -----------------------------------------------------------------------------------------


def _choose_format(fmt: str | None, output: str | None) -> str:
    from kpijmf.output.files import format_for_path

    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    chosen = format_for_path(output, fmt)
    if chosen is not None:
        return chosen
    return "table" if sys.stdout.isatty() else "csv"


_genders = vocab.parse_gender


@app.command()
def compare(
    kommun: KommunerOpt,
    set_name: SetOpt = None,
    kpi: KpiOpt = None,
    years: YearsOpt = None,
    last: LastOpt = None,
    peers: PeersOpt = None,
    vs: VsOpt = None,
    gender: Annotated[
        str, typer.Option("--gender", metavar="T|K|M|all", help="T, K, M, or all (with the K-M gap).")
    ] = "T",
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="table, csv, excel, xlsx, json or md (default: table on a terminal, else csv).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", metavar="PATH", help="File to write, or - for stdout.", show_default=False),
    ] = None,
    wide: Annotated[bool, typer.Option("--wide", help="CSV in the audit layout (years as columns).")] = False,
    offline: OfflineOpt = False,
    show_revisions: Annotated[
        bool, typer.Option("--show-revisions", help="Mark values Kolada revised since an earlier fetch (†).")
    ] = False,
    targets: TargetsOpt = None,
    quiet: Quiet = False,
) -> None:
    """Compare a kommun with alla kommuner, its size class, SKR kommungrupp, county, liknande kommuner and Riket.

    --years is one range for every KPI; --last N (default 4) gives each KPI its own N latest years with data.

    Example: kpijmf compare --kommun Östersund --vs Sundsvall,Umeå --last 3 --format excel --output ostersund.csv
    """
    talk = Talk(quiet=quiet)
    chosen = _choose_format(fmt, output)
    genders, gap = _genders(gender)
    year_list, last = parse_year_choice(years, last)
    with (
        talk.progress(msg("progress_fetch")) as progress,
        workspace(talk, offline, "compare", progress) as space,
    ):
        kommuner = split_list(kommun) or kommun  # only blanks: let the lookup name the problem
        frame = space.compare(
            kommuner if len(kommuner) != 1 else kommuner[0],
            set_name=set_name,
            kpi_ids=split_list(kpi),
            years=year_list,
            last=last,
            peers=split_list(peers) or None,
            vs=split_list(vs),
            genders=genders,
            gap=gap,
            show_revisions=show_revisions,
            targets_file=targets,
        )
    _emit(frame, chosen, output, wide, talk)


def _emit(frame: "pd.DataFrame", fmt: str, output: str | None, wide: bool, talk: Talk) -> None:
    from kpijmf.output.files import render
    from kpijmf.output.sink import write_output

    if fmt == "table" and (not output or output == "-"):
        from rich.console import Console

        from kpijmf.output.terminal import render_table

        render_table(frame, Console(highlight=False))
        return
    rendered = render(frame, fmt, wide=wide)
    write_output(rendered.data, output)
    if output and output != "-":
        key = "wrote_rows_data" if rendered.data_rows else "wrote_rows"
        talk.say(msg(key, rows=rendered.rows, data=rendered.data_rows, fmt=fmt, path=output))


# -- refresh, revisions, run ------------------------------------------------------------------------


def _summary(result: "FetchResult") -> str:
    changed = result.changed or result.removed
    revised = msg("revised_suffix", changed=result.changed, removed=result.removed) if changed else ""
    return msg("refreshed", rows=result.rows, requests=result.requests, data=result.data_requests,
               mb=result.bytes / 1e6, seconds=result.seconds) + revised  # fmt: skip


@app.command()
def refresh(
    set_name: SetOpt = None,
    kpi: KpiOpt = None,
    kommun: Annotated[
        list[str] | None,
        typer.Option(
            "--kommun", metavar="ID|NAME", help="Also bring in this kommun's peer groups.", show_default=False
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Bring the store up to date: only values Kolada changed since the last refresh (from_date), withdrawn
    values removed, new years picked up; every change kept as a revision.

    Example: kpijmf refresh --set arbetsmarknad --kommun 2380
    """
    talk = Talk(quiet=quiet)
    with (
        talk.progress(msg("progress_refresh")) as progress,
        workspace(talk, command="refresh", progress=progress) as space,
    ):
        result = space.refresh(set_name=set_name, kpi_ids=split_list(kpi), kommuner=split_list(kommun))
    talk.say(_summary(result))


@app.command()
def revisions(
    since: Annotated[
        str | None, typer.Option("--since", metavar="DATE", help="Only revisions seen on or after YYYY-MM-DD.")
    ] = None,
    kommun: Annotated[
        list[str] | None,
        typer.Option("--kommun", metavar="ID|NAME", help="Only this kommun and its peer groups.", show_default=False),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="table or csv.")] = "table",
    output: Annotated[
        str | None, typer.Option("--output", "-o", metavar="PATH", help="File to write, or - for stdout.")
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list changes beyond the shown decimals only (avrundning).")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """List values Kolada revised or withdrew since they were first stored: old value, new value, when seen
    (local time), in the KPI's decimals; a change too small to show is marked avrundning and hidden unless --all.

    Example: kpijmf revisions --since 2026-09-01 --kommun Östersund --format csv -o revisions.csv
    """
    from kpijmf.domain.parsing import parse_date

    talk = Talk(quiet=quiet)
    if fmt not in ("table", "csv"):
        raise UsageError(f"unknown format {fmt!r}: choose table or csv")
    day = parse_date(since) if since is not None else None
    with workspace(talk, offline=True, command="revisions") as space:
        rows = space.revisions(since=day, kommuner=split_list(kommun))
    from kpijmf.output.files import revisions_csv
    from kpijmf.output.sink import write_output

    if fmt == "csv" or (output and output != "-"):
        write_output(revisions_csv(rows).encode("utf-8"), output)
    else:
        from rich.console import Console

        from kpijmf.output.revisions import render_revision_table, revision_lines

        lines = revision_lines(rows, {str(r["kpi"]): (str(r["kpi_title"]), str(r["kpi_unit"])) for r in rows})
        shown = lines if show_all else [line for line in lines if not line.rounding]
        render_revision_table(shown, Console(highlight=False), hidden=len(lines) - len(shown))
        if len(shown) < len(lines):
            talk.say(msg("revisions_rounding", n=len(lines) - len(shown)))
    talk.say(msg("revisions_since", n=len(rows), day=day) if day else msg("revisions_count", n=len(rows)))


@app.command()
def run(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="A run file (TOML), e.g. kpijmf.toml.")],
    quiet: Quiet = False,
) -> None:
    """Refresh the store, then write every output a run file asks for (for cron and CI).

    Exit 0 when everything was written; otherwise one line per failure on stderr and the first
    failure's exit code. Files are replaced atomically: a failed run leaves the previous ones.

    Example: kpijmf run kpijmf.toml --quiet
    """
    from kpijmf.domain.runfile import load_run_file
    from kpijmf.service.runner import execute

    talk = Talk(quiet=quiet)
    spec = load_run_file(path)
    with talk.progress(msg("progress_run")) as progress, workspace(talk, command="run", progress=progress) as space:
        report = execute(spec, space, on_written=lambda t: talk.say(msg("wrote", path=t)), lang=current_lang())
    if report.refresh is not None:
        talk.say(_summary(report.refresh))
    for label, exc in report.failures:
        talk.error(f"{label}: {exc}")
    if report.failures:
        raise typer.Exit(report.exit_code)


app.command()(plot)
app.command()(report)


# -- entry point -------------------------------------------------------------------------------------


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt: transactions roll back, locks are freed."""


def _terminate(_signum: int, _frame: object) -> None:
    raise Terminated


def entry() -> None:
    """The `kpijmf` console script and `python -m kpijmf`: SIGTERM handled like Ctrl-C, `main`, then the end."""
    signal.signal(signal.SIGTERM, _terminate)  # here, not in `main`: a program calling `main` keeps its own
    try:
        main()
    finally:
        # Spare the interpreter's final garbage collections a walk over every object alive: measured 15-17 %
        # of `--help` and of a warm compare (benchmarks/README.md). Not in `main`, which tests and other
        # programs call in a process that goes on.
        gc.freeze()


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; every error becomes one stderr line and a documented exit code, never a traceback."""
    args = sys.argv[1:] if argv is None else argv
    code = _run(args, Talk())
    _settle_stdout()
    sys.exit(code)


def _run(args: list[str], talk: Talk) -> int:
    """The command's exit code; the one place where exceptions become exit codes."""
    from kpijmf.output.sink import stdout_errors

    try:
        code = app(args=args, prog_name="kpijmf", standalone_mode=False)
        with stdout_errors():  # a full disk under `> file` shows here, while there is still a line to say so
            sys.stdout.flush()
    except KpijmfError as exc:
        hint = f" {msg('unreachable_hint')}" if isinstance(exc, ApiUnreachableError | ApiTimeoutError) else ""
        talk.error(f"{exc}{hint}")
        return exc.exit_code
    except BrokenPipeError:
        # The reader (`| head`) went away: stop quietly, as the Python docs advise.
        _silence_stdout()
        return EXIT_ERROR
    except (typer.Abort, KeyboardInterrupt):
        talk.interrupted()
        return EXIT_INTERRUPTED
    except Terminated:
        talk.interrupted()
        return EXIT_TERMINATED
    except Exception as exc:
        if _is_click_error(exc):
            return _click_error(exc, talk)
        return _unforeseen(exc, talk)
    if code == EXIT_INTERRUPTED:  # Typer turns a KeyboardInterrupt inside a command into this code, silently
        talk.interrupted()
    return code if isinstance(code, int) else 0


def _is_click_error(exc: Exception) -> bool:
    # Click's own errors (bad option, missing argument); Typer may vendor click, so match by shape.
    return hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int)


def _click_error(exc: Any, talk: Talk) -> int:
    context = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError":  # bare `kpijmf` or `kpijmf kommun`: the help, as it is
        sys.stderr.write(exc.format_message() + "\n")
        return int(exc.exit_code)
    where = f" (see `{context.command_path} --help`)" if context is not None else ""
    talk.error(f"{exc.format_message()}{where}")
    return int(exc.exit_code)


def _unforeseen(exc: Exception, talk: Talk) -> int:
    """Anything no layer expected: one line (the traceback only with KPIJMF_DEBUG=1), exit 1."""
    from kpijmf.output.sink import reason

    if isinstance(exc, OSError) and (_from_stdout(exc) or not _stdout_writable()):
        talk.error(f"cannot write to stdout: {reason(exc)}")
        _silence_stdout()
        return EXIT_ERROR
    if os.environ.get(DEBUG_VARIABLE, "").strip() not in ("", "0"):
        traceback.print_exception(exc)
    detail = str(exc) or "no message"
    talk.error(f"unexpected {type(exc).__name__}: {detail} (set {DEBUG_VARIABLE}=1 for the traceback)")
    return EXIT_ERROR


def _from_stdout(exc: BaseException) -> bool:
    """Whether the error was raised while writing stdout: a frame on its way holds stdout (click's echo, rich)."""
    streams = [s for s in (sys.stdout, sys.__stdout__) if s is not None]
    streams += [s.buffer for s in streams if hasattr(s, "buffer")]
    tb = exc.__traceback__
    while tb is not None:
        for value in tb.tb_frame.f_locals.values():
            if any(value is s or _file_of(value) is s for s in streams):
                return True
        tb = tb.tb_next
    return False


def _file_of(value: object) -> object:
    try:
        return getattr(value, "file", None)  # a rich Console's stream; a property may raise anything
    except Exception:
        return None


def _stdout_writable() -> bool:
    try:
        sys.stdout.flush()
    except OSError:
        return False
    return True


def _settle_stdout() -> None:
    """Flush stdout now; when it cannot take the data, point it at /dev/null so the interpreter's last flush
    does not print "Exception ignored" after the one error line."""
    if not _stdout_writable():
        _silence_stdout()


def _silence_stdout() -> None:
    # Without a real stdout (captured in a test) there is nothing to silence.
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
