"""Kolada v3 routing without sockets: (universe, path, query) -> status, content type and body.

Routes (all paged with page/per_page, at most 25 ids per comma-separated list):
/v3/kpi[/{ids}][?title=], /v3/municipality[/{ids}][?title=&region_type=K|L],
/v3/municipality_groups[/{ids}][?title=], /v3/kpi_groups[/{ids}][?title=],
/v3/data/kpi/{kpis}/municipality/{ids}[/year/{years}], /v3/data/kpi/{kpis}/year/{years},
/v3/data/municipality/{ids}/year/{years}, /v3/data?kpi_id=&municipality_id=&year=; data routes take
from_date=YYYY-MM-DD (cells updated on or after it, withdrawn ones as isdeleted; group rows whose members
changed unless `Universe.change_feed_groups` is False). /v2/... is 410.
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple, cast
from urllib.parse import quote, urlencode

from tests.emulator.model import Universe

JSON_TYPE = "application/json; charset=utf-8"
GONE_BODY = {"error": "This endpoint is deprecated. Please use /v3 instead."}
MAX_PER_PAGE = 5000
MAX_IDS = 25

QueryPairs = list[tuple[str, str]]


@dataclass(frozen=True)
class Response:
    """What to send. `drop_after`: send only that many body bytes, then cut the connection."""

    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()
    drop_after: int | None = None


class HttpError(Exception):
    """An error answer: status plus the message for the JSON `error` field."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_response(status: int, payload: object, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    """A JSON answer, UTF-8, non-ASCII kept as is (as Kolada sends "Östersund")."""
    return Response(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), JSON_TYPE, headers)


def route(universe: Universe, path: str, pairs: QueryPairs, next_base: str, page_cap: int | None = None) -> Response:
    """Answer one GET. `next_base` prefixes next/previous URLs ("" makes them relative);
    `page_cap` makes pages smaller than the asked per_page, as a server may."""
    try:
        return _dispatch(universe, path, pairs, next_base, page_cap)
    except HttpError as error:
        return json_response(error.status, {"error": error.message})


def _dispatch(universe: Universe, path: str, pairs: QueryPairs, next_base: str, page_cap: int | None) -> Response:
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["v2"]:
        raise HttpError(410, GONE_BODY["error"])
    if parts[:1] != ["v3"] or len(parts) < 2:
        raise HttpError(404, "Not found")
    query = dict(pairs)
    page, per_page = _paging(query)
    if page_cap:
        per_page = min(per_page, page_cap)
    with universe.lock:
        items = _items(universe, parts[1:], query)
    start = (page - 1) * per_page
    chunk = items[start : start + per_page]
    more = start + per_page < len(items)
    next_url = _page_url(next_base, path, pairs, page + 1) if more else None
    previous_url = _page_url(next_base, path, pairs, page - 1) if page > 1 else None
    if parts[1] == "data":
        return Response(200, _data_page(cast(list[DataRow], chunk), next_url, previous_url), JSON_TYPE, ())
    return json_response(
        200, {"values": chunk, "count": len(chunk), "next_url": next_url, "previous_url": previous_url}
    )


def _data_page(rows: list[DataRow], next_url: str | None, previous_url: str | None) -> bytes:
    """The envelope of a data page, encoded by hand (the hot path of every benchmark): each row as one of its
    texts, which differ in the order of the gender entries, picked at random (Kolada does not guarantee one)."""
    rng = random.random
    parts = [row.texts[int(rng() * len(row.texts))] for row in rows]
    tail = json.dumps({"count": len(rows), "next_url": next_url, "previous_url": previous_url}, ensure_ascii=False)
    return ('{"values":[' + ",".join(parts) + "]," + tail[1:]).encode("utf-8")


class DataRow(NamedTuple):
    """One data row: its sort key (kpi, municipality, period) and its JSON text for each gender order."""

    kpi: str
    municipality: str
    period: int
    texts: tuple[str, ...]


def _data_row(kpi: str, unit: str, year: int, entries: list[str]) -> DataRow:
    head = f'{{"kpi":"{kpi}","municipality":"{unit}","period":{year},"values":['
    texts = tuple(head + ",".join(entries[i] for i in order) + "]}" for order in _ORDERS[len(entries)])
    return DataRow(kpi, unit, year, texts)


def _encoded(gender: str, count: int, status: str, value: float | None, deleted: bool) -> str:
    """One gender entry as JSON text."""
    shown = "null" if value is None else repr(float(value))
    return (
        f'{{"gender":"{gender}","count":{count},"status":{_text(status)},"value":{shown},'
        f'"isdeleted":{"true" if deleted else "false"}}}'
    )


def _text(value: str) -> str:
    return '""' if not value else json.dumps(value, ensure_ascii=False)


_ORDERS = {n: list(itertools.permutations(range(n))) for n in range(0, 5)}


def _items(u: Universe, rest: list[str], query: dict[str, str]) -> list[dict] | list[DataRow]:
    head, args = rest[0], rest[1:]
    tables = {"kpi": u.kpis, "municipality": u.municipalities, "municipality_groups": u.groups}
    tables["kpi_groups"] = u.kpi_groups
    if head in tables and len(args) <= 1:
        table = tables[head]
        wanted = _ids(args[0]) if args else sorted(table)
        found = [table[i] for i in wanted if i in table]
        if "title" in query:
            needle = query["title"].casefold()
            found = [item for item in found if needle in item["title"].casefold()]
        if head == "municipality" and query.get("region_type"):
            found = [item for item in found if item["type"] == query["region_type"].upper()]
        return [json.loads(json.dumps(item)) for item in found]  # a snapshot, safe outside the lock
    if head == "data":
        return _data_items(u, args, query)
    raise HttpError(404, "Not found")


def _data_items(u: Universe, args: list[str], query: dict[str, str]) -> list[DataRow]:
    named = dict(zip(args[::2], args[1::2], strict=False))
    shape = tuple(args[::2])
    if not args:  # query form: /data?kpi_id=&municipality_id=&year= (wrong names: empty answer)
        if not all(query.get(k) for k in ("kpi_id", "municipality_id", "year")):
            return []
        named = {"kpi": query["kpi_id"], "municipality": query["municipality_id"], "year": query["year"]}
    elif len(args) % 2 or shape not in (
        ("kpi", "municipality", "year"),
        ("kpi", "municipality"),
        ("kpi", "year"),
        ("municipality", "year"),
    ):
        raise HttpError(404, "Not found")
    kpis = _ids(named["kpi"]) if "kpi" in named else sorted(u.kpis)
    units = _ids(named["municipality"]) if "municipality" in named else sorted([*u.municipalities, *u.groups])
    years = _years(named["year"]) if "year" in named else None
    since = _date(query["from_date"]) if query.get("from_date") else None
    if since is not None and not u.change_feed_groups:
        units = [unit for unit in units if unit not in u.groups]
    rows = []
    for kpi in sorted(set(kpis) & set(u.kpis)):
        for year in sorted(set(years) if years is not None else u.years_of(kpi)):
            for unit in set(units):
                build = _group_row if unit in u.groups else _row
                row = build(u, kpi, unit, year, since)
                if row is not None:
                    rows.append(row)
    rows.sort()  # by kpi, municipality, period: a row's first three fields
    return rows


def _row(u: Universe, kpi: str, unit: str, year: int, since: date | None) -> DataRow | None:
    cell = u.values.get((kpi, unit, year))
    if cell is None or (cell.deleted and since is None) or (since is not None and cell.updated < since):
        return None
    # Encoding is cached per cell and checked against the cell's current content, so mutations are seen.
    signature = (tuple(cell.genders.items()), cell.status, cell.deleted)
    cached = u.encoded.get((kpi, unit, year))
    if cached is None or cached[0] != signature:
        if cell.deleted:
            entries = [_encoded(g, 1, cell.status, None, True) for g in cell.genders]
        else:
            entries = [_encoded(g, 1, cell.status, v, False) for g, v in cell.genders.items()]
        cached = (signature, _data_row(kpi, unit, year, entries))
        u.encoded[(kpi, unit, year)] = cached
    return cached[1]


def _group_row(u: Universe, kpi: str, group: str, year: int, since: date | None) -> DataRow | None:
    # Inlined (the caller holds the lock): the year route computes hundreds of groups per kpi and year.
    cells = [
        found
        for member in u.groups[group]["members"]
        if (found := u.values.get((kpi, member["member_id"], year))) is not None
    ]
    if since is not None and (not cells or max(c.updated for c in cells) < since):
        return None
    live = [c for c in cells if not c.deleted]
    entries = []
    for gender in u.genders_of(kpi):
        values = [value for c in live if (value := c.genders.get(gender)) is not None]
        override = u.group_overrides.get((kpi, group, year, gender))
        if values or override is not None:
            value = override if override is not None else sum(values) / len(values)
            entries.append(_encoded(gender, len(values), "", value, False))
    return _data_row(kpi, group, year, entries) if entries else None


# ---- parameters -----------------------------------------------------------------------------------


def _ids(text: str) -> list[str]:
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if len(ids) > MAX_IDS:
        raise HttpError(422, f"Too many ids in a list: {len(ids)} (at most {MAX_IDS}).")
    return ids


def _years(text: str) -> list[int]:
    try:
        return [int(y) for y in _ids(text)]
    except ValueError:
        raise HttpError(422, f"Invalid year list: {text!r}.") from None


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HttpError(422, f"Invalid from_date {text!r}: expected YYYY-MM-DD.") from None


def _paging(query: dict[str, str]) -> tuple[int, int]:
    try:
        page = int(query.get("page", 1))
        per_page = int(query.get("per_page", MAX_PER_PAGE))
    except ValueError:
        raise HttpError(422, "page and per_page must be integers.") from None
    if per_page > MAX_PER_PAGE:
        raise HttpError(422, f"per_page must be at most {MAX_PER_PAGE}.")
    if per_page < 1 or page < 1:
        raise HttpError(422, "page and per_page must be at least 1.")
    return page, per_page


def _page_url(base: str, path: str, pairs: QueryPairs, page: int) -> str:
    """The same request on another page: every other parameter kept, in its order."""
    kept = [(k, v) for k, v in pairs if k != "page"]
    kept.append(("page", str(page)))
    return f"{base}{quote(path, safe='/,')}?{urlencode(kept)}"
