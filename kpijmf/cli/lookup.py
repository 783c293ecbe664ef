"""The discovery and housekeeping commands: `kpijmf kommun`, `kpi`, `sets` and `cache`."""

# No `from __future__ import annotations`: see kpijmf/cli/__init__.py.

from pathlib import Path
from typing import Annotated

import typer

from kpijmf.cli.options import Quiet, workspace
from kpijmf.cli.talk import Talk
from kpijmf.messages import SV, msg
from kpijmf.output.clean import printable

kommun_app = typer.Typer(help="Find kommuner and their peer groups.", no_args_is_help=True)
kpi_app = typer.Typer(help="Find KPIs in Kolada's catalogue.", no_args_is_help=True)
sets_app = typer.Typer(help="KPI sets: built-in lists of KPIs with labels, units and directions.", no_args_is_help=True)
cache_app = typer.Typer(help="The local store (one SQLite file).", no_args_is_help=True)


@kommun_app.command("search")
def kommun_search(
    text: Annotated[str | None, typer.Argument(help="Part of a name or id, without case or diacritics.")] = None,
    lan: Annotated[
        str | None, typer.Option("--lan", metavar="NAME", help="Only kommuner in this län (name or code).")
    ] = None,
    quiet: Quiet = False,
) -> None:
    """List kommuner whose name or id contains TEXT, or every kommun in a län.

    Example: kpijmf kommun search --lan Jämtland
    """
    from kpijmf.errors import NotFoundError, UsageError

    if text is None and lan is None:
        raise UsageError("give TEXT, --lan NAME or both")
    talk = Talk(quiet=quiet)
    with workspace(talk, command="kommun") as space:
        catalog = space.catalog()
        found = catalog.search_kommuner(text) if text is not None else None
        if lan is not None:
            from kpijmf.domain.search import kommuner_in_lan

            region, in_lan = kommuner_in_lan(catalog.units.values(), lan)
            found = in_lan if found is None else [u for u in found if u in in_lan]
            talk.say(msg("kommuner_in_lan", region=region.title, n=len(in_lan)))
    if not found:
        raise NotFoundError(f"no kommun matches {text!r}" + (f" in {lan}" if lan else ""))
    for unit in found:
        typer.echo(printable(f"{unit.id}\t{unit.title}"))


@kommun_app.command("show")
def kommun_show(
    kommun: Annotated[str, typer.Argument(help="Kommun id or name.")],
    quiet: Quiet = False,
) -> None:
    """Show a kommun and its peer groups by role, with ids and member counts.

    Example: kpijmf kommun show Östersund
    """
    talk = Talk(quiet=quiet)
    with workspace(talk, command="kommun") as space:
        catalog = space.catalog()
        unit = catalog.find_kommun(kommun)
        peers, warnings = catalog.resolve_peers(unit)
    for warning in warnings:
        talk.warn(warning)
    typer.echo(printable(f"{unit.id}\t{unit.title}"))
    for peer in peers:
        members = f"{len(peer.members)} kommuner" if peer.members else "viktat riksvärde"
        typer.echo(printable(f"  {peer.role:<12}{peer.id:<9}{peer.title} ({members})"))


def _successor_of(kpi_id: str) -> str | None:
    """The id that replaced a removed KPI. Calls `kpijmf.domain.lineage.successor_of` (the domain branch) when it
    is there; until the branches meet, a stub reads the built-in sets' `replaces` entries."""
    try:
        from kpijmf.domain.lineage import successor_of  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        from kpijmf.domain.kpisets import successors

        return successors().get(kpi_id.strip().upper())
    found: str | None = successor_of(kpi_id)
    return found


@kpi_app.command("search")
def kpi_search(
    text: Annotated[str, typer.Argument(help="Words in the KPI's id, title or description.")],
    limit: Annotated[int, typer.Option("--limit", metavar="N", min=1, help="Show at most this many.")] = 30,
    show_all: Annotated[bool, typer.Option("--all", help="Also list discontinued series ('(-2023)').")] = False,
    quiet: Quiet = False,
) -> None:
    """List KPIs matching TEXT, best first: live series before discontinued, a whole word in the title before the
    start of a word, before anywhere in the title, before the description; common synonyms searched too
    (försörjningsstöd finds ekonomiskt bistånd).

    Example: kpijmf kpi search arbetslöshet
    """
    from kpijmf.domain.search import Match, search_kpis

    talk = Talk(quiet=quiet)
    with workspace(talk, command="kpi") as space:
        catalog = space.kpi_catalogue()  # a search needs Kolada's whole catalogue: fetched once, then stored
        hits = search_kpis(catalog.kpis.values(), text)
        successor = None
        if not any(h.match == Match.ID for h in hits):
            successor = _successor_of(text)
            if successor and successor in catalog.kpis:
                talk.say(msg("kpi_removed", kpi=text.strip().upper(), successor=successor))
                hits = search_kpis(catalog.kpis.values(), successor)[:1] + hits
    hidden = 0 if show_all else sum(h.discontinued for h in hits)
    shown = hits if show_all else [h for h in hits if not h.discontinued]
    if not shown and not hidden:
        from kpijmf.errors import NotFoundError

        raise NotFoundError(f"no KPI matches {text!r}")
    for hit in shown[:limit]:
        mark = f"  [{msg('discontinued_mark')}]" if hit.discontinued else ""
        typer.echo(printable(f"{hit.kpi['id']}\t{hit.kpi['title']}{mark}"))
    if len(shown) > limit:
        talk.say(msg("more_hits", n=len(shown) - limit))
    if hidden:
        talk.say(msg("hidden_discontinued", n=hidden))


@kpi_app.command("show")
def kpi_show(
    kpi_id: Annotated[str, typer.Argument(metavar="ID", help="KPI id, e.g. N03926.")],
    quiet: Quiet = False,
) -> None:
    """Show a KPI: title, description, unit, gender split, discontinued marker, successor hint.

    Example: kpijmf kpi show N03926
    """
    from kpijmf.domain.catalog import unit_of
    from kpijmf.domain.kpisets import successors
    from kpijmf.domain.search import is_discontinued

    talk = Talk(quiet=quiet)
    follow = successors()
    with workspace(talk, command="kpi") as space:
        kpi = space.find_kpi(kpi_id)  # by id; a removed id names its successor
    lines = [
        f"{kpi['id']}  {kpi['title']}",
        f"enhet: {unit_of(kpi['title']) or '–'}   könsuppdelad: {'ja' if kpi.get('is_divided_by_gender') else 'nej'}"
        f"   kommuntyp: {kpi.get('municipality_type') or '–'}   område: {kpi.get('operating_area') or '–'}",
        f"publicerad: {kpi.get('publication_date') or '–'}   period: {kpi.get('publ_period') or '–'}"
        + (f"   preliminär publicering: {kpi['prel_publication_date']}" if kpi.get("prel_publication_date") else ""),
    ]
    if is_discontinued(str(kpi.get("title") or "")):
        lines.append("UPPHÖRD SERIE: Kolada uppdaterar den inte längre.")
    if kpi["id"] in follow:
        lines.append(f"efterföljare: {follow[kpi['id']]}")
    lines += ["", kpi.get("description") or ""]
    typer.echo(printable("\n".join(lines).rstrip()))


@kpi_app.command("groups")
def kpi_groups_command(
    words: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[TEXT | show ID]", help="Part of a group's title or id; or `show ID`.", show_default=False
        ),
    ] = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="Fetch the groups from Kolada again.")] = False,
    quiet: Quiet = False,
) -> None:
    """List Kolada's KPI groups (Öppna jämförelser, Kommunens kvalitet i korthet, …) matching TEXT, or show one
    group's KPIs with `show ID`.

    Example: kpijmf kpi groups "kvalitet i korthet"; kpijmf kpi groups show G2KPI150159
    """
    from kpijmf.errors import NotFoundError, UsageError
    from kpijmf.service.kpigroups import kpi_groups, search_groups

    words = list(words or [])
    talk = Talk(quiet=quiet)
    if words[:1] == ["show"]:
        if len(words) != 2:
            raise UsageError("give one group id: kpijmf kpi groups show ID")
        _kpi_group_show(talk, words[1], refresh)
        return
    text = " ".join(words)
    with workspace(talk, command="kpi") as space:
        found = search_groups(kpi_groups(space, refresh=refresh), text)
    if not found:
        raise NotFoundError(f"no KPI group matches {text!r}")
    for group in found:
        members = msg("kpi_group_members", n=len(group["members"]))
        typer.echo(printable(f"{group['id']}\t{group['title']}\t{members}"))


def _kpi_group_show(talk: Talk, group_id: str, refresh: bool) -> None:
    """A KPI group's KPIs (id and title as the catalogue has it; discontinued ones marked)."""
    from kpijmf.domain.search import is_discontinued
    from kpijmf.service.kpigroups import find_group, kpi_groups

    with workspace(talk, command="kpi") as space:
        group = find_group(kpi_groups(space, refresh=refresh), group_id)
        titles = {k: str(v.get("title") or "") for k, v in space.catalog().kpis.items()}
    typer.echo(printable(f"{group['id']}  {group['title']}"))
    for member in group["members"]:
        title = titles.get(member["member_id"]) or member["member_title"]
        mark = f"  [{msg('discontinued_mark')}]" if is_discontinued(title) else ""
        typer.echo(printable(f"  {member['member_id']}\t{title}{mark}"))


# -- sets --------------------------------------------------------------------------------------------


@sets_app.command("list")
def sets_list() -> None:
    """List the built-in KPI sets.

    Example: kpijmf sets list
    """
    from kpijmf.domain.kpisets import list_builtin_sets, load_set

    for name in list_builtin_sets():
        kpi_set = load_set(name)
        typer.echo(printable(f"{name}\t{len(kpi_set.kpis)} KPIs\t{kpi_set.title}"))


@sets_app.command("show")
def sets_show(name: Annotated[str, typer.Argument(help="A built-in set name or a .toml path.")]) -> None:
    """Show the KPIs of a set with label, unit and direction.

    Example: kpijmf sets show arbetsmarknad
    """
    from kpijmf.domain.kpisets import load_set

    kpi_set = load_set(name)
    typer.echo(printable(f"{kpi_set.name}: {kpi_set.title} ({kpi_set.source})"))
    for spec in kpi_set.kpis:
        sentences = (f"{r[0].upper()}{r[1:]}" + ("" if r.endswith(".") else ".") for r in spec.remarks)
        remarks = " ".join(filter(None, (spec.note, *sentences)))
        note = f"  – {remarks}" if remarks else ""
        typer.echo(printable(f"  {spec.id}  {spec.label} [{spec.unit or '–'}, {spec.direction}]{note}"))


@sets_app.command("validate")
def sets_validate(path: Annotated[Path, typer.Argument(help="A KPI-set .toml file.")]) -> None:
    """Check a KPI-set file; print every problem as file: key: message (exit 5 if any).

    Example: kpijmf sets validate my_set.toml
    """
    from kpijmf.domain.kpisets import validate_file
    from kpijmf.errors import InvalidFileError, NotFoundError

    if not path.exists():
        raise NotFoundError(f"no such file: {path}")
    problems = validate_file(path)
    if problems:
        for problem in problems:
            typer.echo(printable(problem), err=True)
        raise InvalidFileError(problems)
    typer.echo(f"{path}: ok")


# -- cache -------------------------------------------------------------------------------------------


@cache_app.command("path")
def cache_path() -> None:
    """Print the store file's path.

    Example: kpijmf cache path
    """
    from kpijmf.config import load_settings
    from kpijmf.service.cache import store_path

    typer.echo(str(store_path(load_settings())))


@cache_app.command("info")
def cache_info() -> None:
    """Show what the store holds: counts, sizes, last fetch.

    Example: kpijmf cache info
    """
    from kpijmf.config import load_settings
    from kpijmf.service.cache import store_info

    info = store_info(load_settings())
    never = msg("cache_never")
    lines = [
        msg("cache_store", path=info["path"], mb=info["bytes"] / 1e6, schema=str(info["schema_version"])),
        msg("cache_metadata", when=info["metadata_fetched_at"] or never),
        msg("cache_kpi_catalogue", when=info["kpi_catalogue_fetched_at"] or msg("cache_kpis_by_id")),
        *(msg("cache_count", table=table, n=count) for table, count in info["counts"].items()),
    ]
    last = info["last_fetch"]
    lines.append(msg("cache_last_fetch", when=f"{last['finished_at']} ({last['command']})" if last else never))
    typer.echo(printable("\n".join(lines)))


@cache_app.command("clear")
def cache_clear(
    everything: Annotated[
        bool, typer.Option("--all", help="Delete the store file itself, the revision history included.")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Empty the store but keep the revision history (--all deletes it too).

    Values and metadata can be fetched again; the history of revised values cannot, so it is kept unless
    --all is given. A damaged store is moved aside (kpijmf.sqlite.damaged-<time>), not deleted.

    Example: kpijmf cache clear
    """
    from kpijmf.config import load_settings
    from kpijmf.service.cache import clear_store

    talk = Talk(quiet=quiet)
    cleared = clear_store(load_settings(), everything=everything, on_wait=talk.warn)
    if cleared.moved_to is not None:
        talk.warn(cleared.damage)
        talk.say(msg("cache_moved_aside", path=cleared.moved_to))
    elif cleared.removed_files:
        talk.say(msg("cache_removed_files", files=", ".join(map(str, cleared.removed_files))))
    elif cleared.rows:
        removed = ", ".join(
            msg("cache_rows", n=count, what=msg(f"table_{table}") if f"table_{table}" in SV else table)
            for table, count in cleared.rows.items()
            if count
        )
        talk.say(msg("cache_cleared", removed=removed or msg("cache_cleared_nothing"), path=cleared.path,
                     revisions=cleared.kept_revisions))  # fmt: skip
    else:
        talk.say(msg("cache_no_store", path=cleared.path))
