"""The `kpijmf` command: parse options, call the library, render, map errors to exit codes. Nothing else."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from kpijmf import __version__
from kpijmf.errors import KpijmfError, UsageError
from kpijmf.parsing import parse_years, split_list
from kpijmf.talk import Talk

FORMATS = ("table", "csv", "excel", "xlsx", "json", "md")
_EXTENSIONS = {".csv": "csv", ".xlsx": "xlsx", ".json": "json", ".md": "md", ".txt": "table"}

app = typer.Typer(
    name="kpijmf",
    help="Swedish municipal labour-market KPIs from Kolada: fetch, store locally, compare a kommun with its peers.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
kommun_app = typer.Typer(help="Find kommuner and their peer groups.", no_args_is_help=True)
kpi_app = typer.Typer(help="Find KPIs in Kolada's catalogue.", no_args_is_help=True)
sets_app = typer.Typer(help="KPI sets: built-in lists of KPIs with labels, units and directions.", no_args_is_help=True)
cache_app = typer.Typer(help="The local store (one SQLite file).", no_args_is_help=True)
app.add_typer(kommun_app, name="kommun")
app.add_typer(kpi_app, name="kpi")
app.add_typer(sets_app, name="sets")
app.add_typer(cache_app, name="cache")

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr; no progress or summary.")]
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


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kpijmf {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Swedish municipal labour-market KPIs from Kolada: fetch, store locally, compare a kommun with its peers."""


def _workspace(talk: Talk, *, offline: bool = False, command: str = "fetch", progress=None):
    from kpijmf.api import Workspace

    return Workspace(offline=offline, progress=progress, on_message=talk.warn, command=command)


def _years(text: str | None) -> list[int] | None:
    return parse_years(text) if text else None


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
    year_list = _years(years)
    with talk.progress("Hämtar från Kolada") as progress, _workspace(talk, progress=progress) as workspace:
        result = workspace.fetch(
            split_list(kpi), set_name=set_name, kommuner=split_list(kommun), years=year_list, refresh=refresh
        )
    if result.cells == 0:
        talk.say("nothing to fetch: everything asked for is stored and fresh (use --refresh to fetch again)")
        return
    talk.say(
        f"stored {result.rows:,} values for {result.cells:,} kpi×year×unit cells in {result.requests} requests "
        f"({result.data_requests} for data), {result.bytes / 1e6:.1f} MB, {result.seconds:.1f} s"
        + (f"; {result.changed} revised, {result.removed} withdrawn" if result.changed or result.removed else "")
    )


# -- compare -----------------------------------------------------------------------------------------


def _choose_format(fmt: str | None, output: str | None) -> str:
    if fmt is not None:
        if fmt not in FORMATS:
            raise UsageError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
        return fmt
    if output and output != "-":
        return _EXTENSIONS.get(Path(output).suffix.lower(), "csv")
    return "table" if sys.stdout.isatty() else "csv"


def _genders(choice: str) -> tuple[list[str], bool]:
    wanted = choice.strip().upper()
    if wanted == "ALL":
        return ["T", "K", "M"], True
    if wanted in ("T", "K", "M"):
        return [wanted], False
    raise UsageError(f"unknown gender {choice!r}: choose T (total), K (women), M (men) or all")


@app.command()
def compare(
    kommun: Annotated[
        str, typer.Option("--kommun", metavar="ID|NAME", help="Kommun id or name (2380, Östersund, ostersund).")
    ],
    set_name: SetOpt = None,
    kpi: KpiOpt = None,
    years: YearsOpt = None,
    last: Annotated[
        int | None, typer.Option("--last", metavar="N", min=1, max=30, help="The N latest years with data (default 4).")
    ] = None,
    peers: Annotated[
        list[str] | None,
        typer.Option(
            "--peers",
            metavar="PEERS",
            help="alla,storlek,kommungrupp,lan,liknande,riket (default: all), group ids, or kommuner (own group).",
            show_default=False,
        ),
    ] = None,
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
    offline: Annotated[bool, typer.Option("--offline", help="Never touch the network; say what is missing.")] = False,
    show_revisions: Annotated[
        bool, typer.Option("--show-revisions", help="Mark values Kolada revised since an earlier fetch (†).")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Compare a kommun with alla kommuner, its size class, SKR kommungrupp, county, liknande kommuner and Riket.

    Example: kpijmf compare --kommun Östersund --years 2019-2021 --format excel --output ostersund.csv
    """
    talk = Talk(quiet=quiet)
    chosen = _choose_format(fmt, output)
    genders, gap = _genders(gender)
    year_list = _years(years)
    if year_list and last:
        raise UsageError("give either --years or --last, not both")
    with (
        talk.progress("Hämtar från Kolada") as progress,
        _workspace(talk, offline=offline, command="compare", progress=progress) as workspace,
    ):
        frame = workspace.compare(
            kommun,
            set_name=set_name,
            kpi_ids=split_list(kpi),
            years=year_list,
            last=last,
            peers=split_list(peers) or None,
            genders=genders,
            gap=gap,
            show_revisions=show_revisions,
        )
    _emit(frame, chosen, output, wide, talk)


def _emit(frame, fmt: str, output: str | None, wide: bool, talk: Talk) -> None:
    from kpijmf.export import render_bytes, write_output

    if fmt == "table" and (not output or output == "-"):
        from rich.console import Console

        from kpijmf.render import render_table

        render_table(frame, Console(highlight=False))
        return
    write_output(render_bytes(frame, fmt, wide=wide), output)
    if output and output != "-":
        talk.say(f"wrote {len(frame):,} rows ({fmt}) to {output}")


# -- refresh, revisions, run ------------------------------------------------------------------------


def _summary(verb: str, result) -> str:
    revised = f"; {result.changed} revised, {result.removed} withdrawn" if result.changed or result.removed else ""
    return (
        f"{verb} {result.rows:,} values in {result.requests} requests ({result.data_requests} for data), "
        f"{result.bytes / 1e6:.2f} MB, {result.seconds:.1f} s{revised}"
    )


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
    with talk.progress("Uppdaterar") as progress, _workspace(talk, command="refresh", progress=progress) as workspace:
        result = workspace.refresh(set_name=set_name, kpi_ids=split_list(kpi), kommuner=split_list(kommun))
    talk.say(_summary("refreshed:", result))


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
    quiet: Quiet = False,
) -> None:
    """List values Kolada revised or withdrew since they were first stored: old value, new value, when seen.

    Example: kpijmf revisions --since 2026-09-01 --kommun Östersund --format csv -o revisions.csv
    """
    from kpijmf.parsing import parse_date

    talk = Talk(quiet=quiet)
    if fmt not in ("table", "csv"):
        raise UsageError(f"unknown format {fmt!r}: choose table or csv")
    day = parse_date(since) if since else None
    with _workspace(talk, offline=True, command="revisions") as workspace:
        rows = workspace.revisions(since=day, kommuner=split_list(kommun))
    from kpijmf.export import revisions_csv, write_output

    if fmt == "csv" or (output and output != "-"):
        write_output(revisions_csv(rows).encode("utf-8"), output)
    else:
        from rich.console import Console

        from kpijmf.render import render_revisions

        render_revisions(rows, Console(highlight=False))
    talk.say(f"{len(rows)} revisions" + (f" since {day}" if day else ""))


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
    from kpijmf.runfile import load_run_file
    from kpijmf.runner import execute

    talk = Talk(quiet=quiet)
    spec = load_run_file(path)
    with talk.progress("Kör") as progress, _workspace(talk, command="run", progress=progress) as workspace:
        report = execute(spec, workspace, on_written=lambda target: talk.say(f"wrote {target}"))
    if report.refresh is not None:
        talk.say(_summary("refreshed:", report.refresh))
    for label, exc in report.failures:
        talk.error(f"{label}: {exc}")
    if report.failures:
        raise typer.Exit(report.exit_code)


# -- discovery ---------------------------------------------------------------------------------------


@kommun_app.command("search")
def kommun_search(
    text: Annotated[str, typer.Argument(help="Part of a name or id, without case or diacritics.")],
    quiet: Quiet = False,
) -> None:
    """List kommuner whose name or id contains TEXT.

    Example: kpijmf kommun search ostersund
    """
    talk = Talk(quiet=quiet)
    with _workspace(talk, command="kommun") as workspace:
        found = workspace.catalog().search_kommuner(text)
    if not found:
        from kpijmf.errors import NotFoundError

        raise NotFoundError(f"no kommun matches {text!r}")
    for unit in found:
        typer.echo(f"{unit.id}\t{unit.title}")


@kommun_app.command("show")
def kommun_show(
    kommun: Annotated[str, typer.Argument(help="Kommun id or name.")],
    quiet: Quiet = False,
) -> None:
    """Show a kommun and its peer groups by role, with ids and member counts.

    Example: kpijmf kommun show Östersund
    """
    talk = Talk(quiet=quiet)
    with _workspace(talk, command="kommun") as workspace:
        catalog = workspace.catalog()
        unit = catalog.find_kommun(kommun)
        peers, warnings = catalog.resolve_peers(unit)
    for warning in warnings:
        talk.warn(warning)
    typer.echo(f"{unit.id}\t{unit.title}")
    for peer in peers:
        members = f"{len(peer.members)} kommuner" if peer.members else "viktat riksvärde"
        typer.echo(f"  {peer.role:<12}{peer.id:<9}{peer.title} ({members})")


@kpi_app.command("search")
def kpi_search(
    text: Annotated[str, typer.Argument(help="Words in the KPI's id, title or description.")],
    limit: Annotated[int, typer.Option("--limit", metavar="N", min=1, help="Show at most this many.")] = 30,
    quiet: Quiet = False,
) -> None:
    """List KPIs whose id, title (first) or description contains TEXT.

    Example: kpijmf kpi search långtidsarbetslös
    """
    from kpijmf.api import is_discontinued

    talk = Talk(quiet=quiet)
    with _workspace(talk, command="kpi") as workspace:
        found = workspace.catalog().search_kpis(text)
    if not found:
        from kpijmf.errors import NotFoundError

        raise NotFoundError(f"no KPI matches {text!r}")
    for kpi in found[:limit]:
        mark = "  [upphört]" if is_discontinued(kpi) else ""
        typer.echo(f"{kpi['id']}\t{kpi['title']}{mark}")
    if len(found) > limit:
        talk.say(f"… and {len(found) - limit} more (use --limit)")


@kpi_app.command("show")
def kpi_show(
    kpi_id: Annotated[str, typer.Argument(metavar="ID", help="KPI id, e.g. N03926.")],
    quiet: Quiet = False,
) -> None:
    """Show a KPI: title, description, unit, gender split, discontinued marker, successor hint.

    Example: kpijmf kpi show N03926
    """
    from kpijmf.api import is_discontinued, unit_of
    from kpijmf.errors import NotFoundError
    from kpijmf.kpisets import successors

    talk = Talk(quiet=quiet)
    follow = successors()
    with _workspace(talk, command="kpi") as workspace:
        catalog = workspace.catalog()
        try:
            kpi = catalog.find_kpi(kpi_id)
        except NotFoundError as exc:
            successor = follow.get(kpi_id.strip().upper())
            if successor:
                raise NotFoundError(f"{exc}; its successor is {successor} (kpijmf kpi show {successor})") from None
            raise
    lines = [
        f"{kpi['id']}  {kpi['title']}",
        f"enhet: {unit_of(kpi['title']) or '–'}   könsuppdelad: {'ja' if kpi.get('is_divided_by_gender') else 'nej'}"
        f"   kommuntyp: {kpi.get('municipality_type') or '–'}   område: {kpi.get('operating_area') or '–'}",
        f"publicerad: {kpi.get('publication_date') or '–'}   period: {kpi.get('publ_period') or '–'}"
        + (f"   preliminär publicering: {kpi['prel_publication_date']}" if kpi.get("prel_publication_date") else ""),
    ]
    if is_discontinued(kpi):
        lines.append("UPPHÖRD SERIE: Kolada uppdaterar den inte längre.")
    if kpi["id"] in follow:
        lines.append(f"efterföljare: {follow[kpi['id']]}")
    lines += ["", kpi.get("description") or ""]
    typer.echo("\n".join(lines).rstrip())


# -- sets --------------------------------------------------------------------------------------------


@sets_app.command("list")
def sets_list() -> None:
    """List the built-in KPI sets.

    Example: kpijmf sets list
    """
    from kpijmf.kpisets import list_builtin_sets, load_set

    for name in list_builtin_sets():
        kpi_set = load_set(name)
        typer.echo(f"{name}\t{len(kpi_set.kpis)} KPIs\t{kpi_set.title}")


@sets_app.command("show")
def sets_show(name: Annotated[str, typer.Argument(help="A built-in set name or a .toml path.")]) -> None:
    """Show the KPIs of a set with label, unit and direction.

    Example: kpijmf sets show arbetsmarknad
    """
    from kpijmf.kpisets import load_set

    kpi_set = load_set(name)
    typer.echo(f"{kpi_set.name}: {kpi_set.title} ({kpi_set.source})")
    for spec in kpi_set.kpis:
        note = f"  – {spec.note}" if spec.note else ""
        typer.echo(f"  {spec.id}  {spec.label} [{spec.unit or '–'}, {spec.direction}]{note}")


@sets_app.command("validate")
def sets_validate(path: Annotated[Path, typer.Argument(help="A KPI-set .toml file.")]) -> None:
    """Check a KPI-set file; print every problem as file: key: message (exit 5 if any).

    Example: kpijmf sets validate my_set.toml
    """
    from kpijmf.errors import InvalidFileError, NotFoundError
    from kpijmf.kpisets import validate_file

    if not path.exists():
        raise NotFoundError(f"no such file: {path}")
    problems = validate_file(path)
    if problems:
        for problem in problems:
            typer.echo(problem, err=True)
        raise InvalidFileError(problems)
    typer.echo(f"{path}: ok")


# -- cache -------------------------------------------------------------------------------------------


@cache_app.command("path")
def cache_path() -> None:
    """Print the store file's path.

    Example: kpijmf cache path
    """
    from kpijmf.config import load_settings

    typer.echo(str(load_settings().store_path))


@cache_app.command("info")
def cache_info() -> None:
    """Show what the store holds: counts, sizes, last fetch.

    Example: kpijmf cache info
    """
    from kpijmf.config import load_settings
    from kpijmf.store import Store

    settings = load_settings()
    with Store.open(settings.store_path, create=False) as store:
        info = store.info()
    typer.echo(f"store: {info['path']} ({info['bytes'] / 1e6:.1f} MB, schema {info['schema_version']})")
    typer.echo(f"metadata fetched: {info['metadata_fetched_at'] or 'never'}")
    for table, count in info["counts"].items():
        typer.echo(f"{table}: {count:,}")
    last = info["last_fetch"]
    typer.echo(f"last fetch: {last['finished_at']} ({last['command']})" if last else "last fetch: never")


@cache_app.command("clear")
def cache_clear(quiet: Quiet = False) -> None:
    """Delete the store (it can always be fetched again); works on a corrupt file too.

    Example: kpijmf cache clear
    """
    from kpijmf.config import load_settings
    from kpijmf.lock import store_lock
    from kpijmf.store import remove_store_files

    talk = Talk(quiet=quiet)
    settings = load_settings()
    with store_lock(settings.resolved_cache_dir, "cache clear", settings.lock_timeout, talk.warn):
        removed = remove_store_files(settings.store_path)
    talk.say(f"removed {', '.join(map(str, removed))}" if removed else f"no store at {settings.store_path}")


# -- entry point -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; expected errors become one stderr line and a documented exit code."""
    talk = Talk()
    try:
        code = app(args=argv, prog_name="kpijmf", standalone_mode=False)
    except KpijmfError as exc:
        talk.error(str(exc))
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        # The reader (`| head`) went away: stop quietly, as the Python docs advise.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except (typer.Abort, KeyboardInterrupt):
        talk.error("interrupted")
        sys.exit(130)
    except Exception as exc:
        # Click's own errors (bad option, missing argument); Typer may vendor click, so match by shape.
        if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
            raise
        context = getattr(exc, "ctx", None)
        where = f" (see `{context.command_path} --help`)" if context is not None else ""
        talk.error(f"{exc.format_message()}{where}")
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
