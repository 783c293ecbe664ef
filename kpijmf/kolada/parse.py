"""What Kolada's answers mean: envelopes, error statuses, Retry-After and data rows → DataRow.

Pure functions of an httpx.Response or decoded JSON, used by `kpijmf.kolada.client` (which owns the HTTP).
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import msgspec

from kpijmf.errors import ApiBodyError, ApiError, ApiStatusError
from kpijmf.kolada.genders import GENDERS, Gender, is_gender
from kpijmf.messages import msg

if TYPE_CHECKING:  # pragma: no cover
    import httpx

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})  # Kolada's docs say 500 happens and passes
PRESSURE_STATUSES = frozenset({429, 503})  # "too much": fewer requests in flight until it passes
MAX_RETRY_AFTER = 30.0
YEARS = range(1000, 10000)  # a period is a four-digit year; anything else is not Kolada's data
MAX_COUNT = 2**63 - 1  # the store keeps counts as 64-bit integers
V3_HINT = "this is Kolada's retired v2 API; point KPIJMF_API_URL at https://api.kolada.se/v3"
LIMIT_HINT = "limit exceeded? Kolada takes at most 25 ids per list and per_page ≤ 5000"
_GENDER_ORDER = {gender: i for i, gender in enumerate(GENDERS)}

T = TypeVar("T")
Page = tuple[list[T], Any]
"""One decoded page: its items and its next_url (as it came; the client checks it)."""


class DataRecord(msgspec.Struct, frozen=True, gc=False):
    """One value: a KPI for one unit, year and gender (T total, K women, M men), with Kolada's status ('' for
    none) and whether a change feed withdrew it: a data row's entry as the writer compares it with the store."""

    kpi: str
    unit_id: str
    year: int
    gender: Gender
    value: float | None
    count: int | None
    status: str
    deleted: bool


class DataEntry(msgspec.Struct, frozen=True, gc=False):
    """One gender's value in a data row: T total, K women or M men (a row's other genders are refused, so every
    layer can rely on these three). `status` and `deleted` (Kolada's isdeleted) as they came: None when absent.

    Also the msgspec schema of a page's entries (see `DataRow`). Frozen msgspec Structs that the garbage
    collector does not track: a cold fetch reads about 100,000 entries (benchmarks/README.md)."""

    gender: Gender
    value: Annotated[float, msgspec.Meta(ge=-sys.float_info.max, le=sys.float_info.max)] | None = None  # finite
    count: Annotated[int, msgspec.Meta(ge=0, le=MAX_COUNT)] | None = None
    status: str | None = None
    deleted: bool | None = msgspec.field(default=None, name="isdeleted")


class DataRow(msgspec.Struct, frozen=True, gc=False):
    """One data row as Kolada sends it: a KPI's values for one unit and year, an entry per gender. What a fetch
    hands to the store, which keeps a row as one (`kpijmf.store.observation`).

    Also the msgspec schema of a page's rows, under Kolada's names (municipality, period, values), for the quick
    way through `row_page`: a period must be a four-digit JSON integer there, as Kolada sends it. The entries are a
    tuple, not a list: the garbage collector stops tracking a tuple of untracked entries, so a cold fetch's ~37,000
    rows no longer set off a full collection (15–18 ms, at the end of the fetch; benchmarks/README.md)."""

    kpi: str
    unit_id: str = msgspec.field(name="municipality")
    year: Annotated[int, msgspec.Meta(ge=YEARS.start, le=YEARS.stop - 1)] = msgspec.field(name="period")
    entries: tuple[DataEntry, ...] = msgspec.field(name="values")

    def records(self) -> list[DataRecord]:
        """The row value by value, T, K and M first."""
        entries = sorted(self.entries, key=_entry_order) if len(self.entries) > 1 else self.entries
        kpi, unit, year = self.kpi, self.unit_id, self.year
        return [DataRecord(kpi, unit, year, e.gender, e.value, e.count, e.status or "", e.deleted or False)
                for e in entries]  # fmt: skip


# A data page as a msgspec schema (its rows `DataRow`s), for the quick way through `row_page`: the types
# `_data_row` checks, no more (its checks are the rules; tests/test_fuzz_parse.py shows on generated rows that
# this schema accepts nothing they refuse). Not tracked by the garbage collector: JSON makes no cycles.


class _DataPage(msgspec.Struct, gc=False):
    values: list[DataRow]
    next_url: Any = None  # as it came: the client checks it


DATA_PAGE = msgspec.json.Decoder(_DataPage)


class _Envelope(msgspec.Struct, gc=False):
    next_url: Any = None  # its values are skipped, not decoded


_ENVELOPE = msgspec.json.Decoder(_Envelope)


@dataclass(frozen=True)
class Failure:
    """An attempt that did not give an envelope: the error to raise and whether a retry may help."""

    kind: type[ApiError]
    message: str
    retry: bool
    status: int | None = None
    retry_after: float | None = None
    told: str = ""  # what happened, for the "försöker igen" line, in the run's language (kpijmf.messages)

    def error(self, url: str, note: str = "") -> ApiError:
        message = f"{self.message} ({note})" if note else self.message
        if self.kind is ApiStatusError:
            return ApiStatusError(message, url, status=self.status or 0)
        return self.kind(message, url)


def envelope(response: httpx.Response, shown: str) -> dict[str, Any]:
    """Kolada's {"values": [...], "next_url": ...} from a 2xx response, or ApiBodyError."""
    _check_media(response, shown)
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise ApiBodyError(
            f"invalid JSON from {shown}: {one_line(str(exc), 200)} (truncated response?)", shown
        ) from None
    except RecursionError:
        raise ApiBodyError(f"invalid JSON from {shown}: nested too deeply to be Kolada's answer", shown) from None
    if not isinstance(body, dict) or not isinstance(body.get("values"), list):
        raise ApiBodyError(f"unexpected response shape from {shown}: no 'values' list", shown)
    return body


def _check_media(response: httpx.Response, shown: str) -> None:
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media and media != "application/json" and not media.endswith("+json"):
        raise ApiBodyError(f"expected JSON from {shown} but got {media} (a proxy or error page?)", shown)


def next_url(response: httpx.Response, shown: str) -> Any:
    """A page's next_url (as it came), its values skipped in one quick pass: what a chain of pages needs to go on,
    while the values wait to be decoded by the thread that uses them (`object_page`, `row_page`). A body that
    is not a JSON object is the typed body error, worded as `envelope` words it."""
    _check_media(response, shown)
    try:
        return _ENVELOPE.decode(response.content).next_url
    except (ValueError, TypeError, RecursionError):  # msgspec's DecodeError and ValidationError are ValueErrors
        return envelope(response, shown).get("next_url")


def object_page(response: httpx.Response, shown: str) -> Page[dict]:
    """A metadata page: its items (checked to be JSON objects) and its next_url."""
    body = envelope(response, shown)
    return objects(shown, body["values"]), body.get("next_url")


def row_page(response: httpx.Response, shown: str) -> Page[DataRow]:
    """A data page: its rows (see `data_rows`), and its next_url.

    Two ways to the same rows. The quick one: msgspec decodes the page straight into typed rows, checking the
    JSON types in C, about 5× faster than `json` and the checks in `_data_row` (benchmarks/README.md).
    It may only be stricter than those checks, never laxer (tests/test_fuzz_parse.py compares the two on
    generated rows): whatever it refuses goes the plain way, whose checks are the rules and whose message
    names the row."""
    _check_media(response, shown)
    try:
        page = DATA_PAGE.decode(response.content)
        return page.values, page.next_url
    except (ValueError, TypeError, RecursionError):  # msgspec's DecodeError and ValidationError are ValueErrors
        body = envelope(response, shown)
        return data_rows(shown, body["values"]), body.get("next_url")


def status_failure(response: httpx.Response, shown: str) -> Failure:
    """What an error status means: retry 429/502/503/504 (after Retry-After), explain the rest."""
    status = response.status_code
    message = f"Kolada answered {status} {response.reason_phrase}".rstrip() + f" for {shown}"
    if status in RETRY_STATUSES:
        wait = parse_retry_after(response.headers.get("retry-after"))
        return Failure(ApiStatusError, message, True, status, wait, msg("kolada_status", status=str(status)))
    retired = "/v2/" in urlsplit(shown).path or "/v2/" in response.url.path
    if status == 410 or (400 <= status < 500 and retired):
        return Failure(ApiStatusError, f"{message}: {V3_HINT}", retry=False, status=status)
    detail = _error_text(response)
    if detail:
        message += f": {detail}"
    if status == 422:
        message += f" ({LIMIT_HINT})"
    return Failure(ApiStatusError, message, retry=False, status=status)


def _error_text(response: httpx.Response) -> str:
    """Kolada's own explanation from an error body ({"error": ...} or FastAPI's {"detail": ...})."""
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):
        return ""
    if not isinstance(body, dict):
        return ""
    for key in ("error", "message", "detail"):
        text = body.get(key)
        if isinstance(text, list):  # FastAPI validation errors: [{"loc": [...], "msg": "..."}]
            text = "; ".join(str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in text)
        if text:
            return one_line(str(text), 200)
    return ""


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), capped at 60 s."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def objects(shown: str, values: list) -> list[dict]:
    """Metadata items, checked to be JSON objects."""
    if not all(isinstance(item, dict) for item in values):
        raise ApiBodyError(f"unexpected response shape from {shown}: 'values' holds non-objects", shown)
    return values


def data_rows(shown: str, rows: list) -> list[DataRow]:
    """Data rows checked against Kolada's shape, their entries as they came, or ApiBodyError naming the row."""
    out: list[DataRow] = []
    for row in rows:
        try:
            out.append(_data_row(row))
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            reason = f"no {exc}" if isinstance(exc, KeyError) else short_reason(exc)
            raise ApiBodyError(f"unexpected data row from {shown}: {reason} in {_snippet(row)}", shown) from None
    return out


def _data_row(row: Any) -> DataRow:
    """A data row; TypeError/ValueError/KeyError say what does not fit Kolada's shape."""
    if not isinstance(row, dict):
        raise TypeError("a data row must be an object")
    kpi, unit, period, entries = row["kpi"], row["municipality"], row["period"], row["values"]
    if not isinstance(kpi, str) or not isinstance(unit, str):
        raise TypeError("kpi and municipality must be strings")
    if not isinstance(entries, list):
        raise TypeError("'values' must be a list")
    year = _year(period)
    out = []
    for entry in entries:  # ~100,000 in a cold fetch: checked here rather than in a call per entry
        gender, value, count = entry["gender"], entry.get("value"), entry.get("count")
        status, deleted = entry.get("status"), entry.get("isdeleted")
        if not isinstance(gender, str):
            raise TypeError("gender must be a string")
        if not is_gender(gender):
            raise ValueError(f"gender {one_line(repr(gender), 20)} is not T, K or M")
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"value {one_line(repr(value), 40)} is not a number")
            value = float(value)  # OverflowError for an integer beyond any float
            if not math.isfinite(value):
                raise ValueError(f"value {value} is not a finite number")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_COUNT):
            raise TypeError(f"count {one_line(repr(count), 40)} is not a count")
        if status is not None and not isinstance(status, str):
            raise TypeError("status must be a string")
        if deleted is not None and not isinstance(deleted, bool):
            raise TypeError("isdeleted must be true or false")
        out.append(DataEntry(gender, value, count, status, deleted))
    return DataRow(kpi, unit, year, tuple(out))


def _year(period: Any) -> int:
    if isinstance(period, bool) or not isinstance(period, int | str):
        raise TypeError("period must be a year")
    if isinstance(period, str) and not (period.isascii() and period.isdigit()):
        raise ValueError(f"period {one_line(period, 20)!r} is not a year")
    year = int(period)
    if year not in YEARS:
        raise ValueError(f"period {one_line(str(period), 20)} is not a year")
    return year


def _entry_order(entry: DataEntry) -> int:
    return _GENDER_ORDER[entry.gender]


def _snippet(row: Any) -> str:
    """The row as it came, shortened for a one-line message."""
    try:
        return one_line(json.dumps(row), 160)
    except (RecursionError, TypeError, ValueError):
        return "(a row too deep to show)"


def shown_url(url: str) -> str:
    """The URL as it may appear in a message: any user:password@ removed."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def short_reason(exc: BaseException) -> str:
    """A short one-line cause: "connection refused" from "[Errno 111] Connection refused"."""
    text = one_line(re.sub(r"^\[Errno -?\d+\]\s*", "", str(exc)), 200) or type(exc).__name__
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        text = text[0].lower() + text[1:]
    return text.rstrip(".")


def one_line(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
