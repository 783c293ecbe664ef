"""The Kolada v3 HTTP client: URLs, ≤25-id batching, next_url paging, retries and typed errors.

With `kpijmf.kolada.parse`, the only code that touches httpx, imported lazily (in the functions that send), so
that importing this module costs little until a request is made. Every HTTP outcome passes through
`KoladaClient._get`, which turns it into an answer whose next_url is read (its values are decoded in the thread
that uses them) or a `kpijmf.errors.ApiError` subclass whose one-line message names the URL and the cause.

Retries are bounded by time, not by count: each request retries what a retry can fix (429, 500, 502, 503,
504, dropped connections, timeouts) with exponential backoff and full jitter, or as long as Retry-After says,
until its retry time (KPIJMF_RETRY_SECONDS) is used up. Requests in flight start at the configured
concurrency, halve on 429/503 and grow back one at a time after each success.
"""

from __future__ import annotations

import itertools
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlencode, urljoin, urlsplit, urlunsplit

from kpijmf import __version__
from kpijmf.errors import ApiBodyError, ApiTimeoutError, ApiUnreachableError
from kpijmf.kolada import tls
from kpijmf.kolada.parse import (
    MAX_RETRY_AFTER,
    PRESSURE_STATUSES,
    DataEntry,
    DataRecord,
    DataRow,
    Failure,
    Page,
    next_url,
    object_page,
    row_page,
    short_reason,
    shown_url,
    status_failure,
)
from kpijmf.messages import msg

if TYPE_CHECKING:  # pragma: no cover
    import ssl

    import httpx

__all__ = ["MAX_IDS", "PER_PAGE", "ClientStats", "DataEntry", "DataRecord", "DataRow", "KoladaClient", "RequestEvent"]

MAX_IDS = 25  # Kolada answers 422 to a comma-separated list of 26 ids
PER_PAGE = 5000  # Kolada's maximum page size; more is a 422
MAX_BACKOFF = 30.0  # the longest wait between two tries of a request, Retry-After included
RETRY_SECONDS = 120.0  # KPIJMF_RETRY_SECONDS: how long one request may go on retrying
CATALOGUE_PAGES = 2  # Kolada's KPI catalogue: ~6,100 KPIs, two pages of PER_PAGE, asked for at once
TELL_AFTER = 1.0  # waits shorter than this are not worth a line; nor is a second line within this time

T = TypeVar("T")


@dataclass(frozen=True)
class RequestEvent:
    """What one HTTP attempt did; handed to `on_request` after each attempt."""

    url: str
    status: int | None
    bytes: int
    seconds: float
    attempt: int
    error: str | None


@dataclass(frozen=True)
class ClientStats:
    """Counters over the client's life: attempts, attempts on /data routes, body bytes, retries."""

    requests: int = 0
    data_requests: int = 0
    bytes: int = 0
    retries: int = 0


@dataclass(frozen=True)
class _Answer:
    """A 2xx response, read whole, and the seconds its exchange took."""

    response: httpx.Response
    seconds: float


class _Cancelled(Exception):
    """Another batch failed; this chain stops before its next attempt."""


class KoladaClient:
    """Fetch KPI metadata, municipalities, groups and values from Kolada v3."""

    def __init__(
        self,
        base_url: str = "https://api.kolada.se/v3",
        *,
        http: httpx.Client | None = None,
        concurrency: int = 4,
        timeout: float = 30.0,
        retry_seconds: float = RETRY_SECONDS,
        max_tries: int | None = None,
        retry_budget: int | None = None,
        backoff_base: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[float], float] | None = None,
        on_request: Callable[[RequestEvent], None] | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        """`retry_seconds` bounds each request's retrying; `max_tries` (per request) and `retry_budget` (over
        the client's life) are optional extra limits. `jitter` turns a backoff ceiling into a wait (default:
        uniform between 0 and the ceiling); `on_wait` hears, in the run's language, when kpijmf waits out the API."""
        if concurrency < 1 or timeout <= 0 or backoff_base < 0 or retry_seconds < 0:
            raise ValueError("concurrency must be ≥ 1, timeout > 0, backoff_base and retry_seconds ≥ 0")
        if (max_tries is not None and max_tries < 1) or (retry_budget is not None and retry_budget < 0):
            raise ValueError("max_tries must be ≥ 1 and retry_budget ≥ 0")
        self.base_url = base_url.rstrip("/")
        self._concurrency = concurrency
        self._timeout = timeout
        self._retry_seconds = retry_seconds
        self._max_tries = max_tries
        self._retries_left = retry_budget
        self._backoff_base = backoff_base
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter if jitter is not None else _full_jitter
        self._on_request = on_request
        self._on_wait = on_wait
        self._told_at: float | None = None
        self._lock = threading.Lock()
        self._stats = ClientStats()
        self._pressure = _Pressure(concurrency)
        self._proxy = None if http is not None else _environment_proxy(self.base_url)
        self._owns_http = http is None
        self._http = http if http is not None else _build_http(concurrency, timeout)

    def __enter__(self) -> KoladaClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the httpx client if this object built it (an injected one stays open)."""
        if self._owns_http:
            self._http.close()

    @property
    def stats(self) -> ClientStats:
        """A snapshot of the counters so far."""
        with self._lock:
            return self._stats

    @property
    def concurrency_limit(self) -> int:
        """Requests allowed in flight right now: the configured maximum, less while Kolada is under pressure."""
        return self._pressure.limit

    # -- public verbs -------------------------------------------------------------------------------

    def kpis(self, ids: Sequence[str] | None = None, *, pages: int = CATALOGUE_PAGES) -> list[dict]:
        """KPI objects as Kolada gives them: all of them, or those with the given ids (≤ MAX_IDS a request).

        The whole catalogue is asked for as `pages` pages at once (`page=1..pages`); the last one follows
        next_url, so a catalogue that outgrew them is still read whole. A page past the end is empty."""
        if ids is None:
            if pages < 1:
                raise ValueError("pages must be ≥ 1")
            chains = [("/kpi", {"per_page": PER_PAGE, "page": n}) for n in range(1, pages + 1)]
            found = self._run_chains(chains, object_page, follow_last_only=True)
            return list({k["id"]: k for k in found}.values())  # a KPI that moved pages between two asks: once
        chains = [(f"/kpi/{_join(chunk)}", {"per_page": PER_PAGE}) for chunk in _chunks(_unique(ids))]
        return self._run_chains(chains, object_page)

    def municipalities(self) -> list[dict]:
        """Every municipality and region: {"id", "title", "type"}."""
        return self._run_chains([("/municipality", {"per_page": PER_PAGE})], object_page)

    def groups(self) -> list[dict]:
        """Every municipality group: {"id", "title", "members": [{"member_id", "member_title"}]}."""
        return self._run_chains([("/municipality_groups", {"per_page": PER_PAGE})], object_page)

    def kpi_groups(self) -> list[dict]:
        """Every KPI group: {"id", "title", "members": [{"member_id", "member_title"}]} (members are KPI ids)."""
        return self._run_chains([("/kpi_groups", {"per_page": PER_PAGE})], object_page)

    def data(
        self,
        kpis: Sequence[str],
        units: Sequence[str],
        years: Sequence[int] | None,
        *,
        from_date: date | None = None,
        progress: Callable[[int, int], None] | None = None,
        on_batch: Callable[[list[DataRow]], None] | None = None,
    ) -> list[DataRow]:
        """Values for every kpi × unit × year (all years when `years` is None): Kolada's data rows, an entry per
        gender in each (`DataRow.records()` gives them value by value).

        `on_batch` gets each batch's rows in the caller's thread as soon as it completes, so the caller can
        store them while the other batches are still on the wire; the rows are then not returned."""
        return self.data_many([(kpis, units, years)], from_date=from_date, progress=progress, on_batch=on_batch)

    def data_many(
        self,
        products: Sequence[tuple[Sequence[str], Sequence[str], Sequence[int] | None]],
        *,
        from_date: date | None = None,
        progress: Callable[[int, int], None] | None = None,
        on_batch: Callable[[list[DataRow]], None] | None = None,
        on_sent: Callable[[], None] | None = None,
    ) -> list[DataRow]:
        """Values for several kpis × units × years products at once: their batches share one pool (see data).

        `on_sent` runs in the caller's thread once the requests are handed to the pool, before any answer is
        waited for: work the caller would otherwise do after them, done while they are on the wire."""
        params: dict[str, Any] = {"per_page": PER_PAGE}
        if from_date is not None:
            params["from_date"] = from_date.isoformat()
        chains = []
        for kpis, units, years in products:
            year_chunks: list[list[str]] | list[None]
            year_chunks = [None] if years is None else _chunks(_unique(str(int(y)) for y in years))
            for kpi_chunk, unit_chunk, year_chunk in itertools.product(
                _chunks(_unique(kpis)), _chunks(_unique(units)), year_chunks
            ):
                path = f"/data/kpi/{_join(kpi_chunk)}/municipality/{_join(unit_chunk)}"
                if year_chunk is not None:
                    path += f"/year/{_join(year_chunk)}"
                chains.append((path, params))
        return self._run_chains(chains, row_page, progress, on_batch, on_sent=on_sent)

    # -- batches and pages --------------------------------------------------------------------------

    def _run_chains(
        self,
        chains: list[tuple[str, dict[str, Any]]],
        decode: Callable[[httpx.Response, str], Page[T]],
        progress: Callable[[int, int], None] | None = None,
        on_batch: Callable[[list[T]], None] | None = None,
        *,
        follow_last_only: bool = False,
        on_sent: Callable[[], None] | None = None,
    ) -> list[T]:
        """Run each (path, params) page chain, at most `concurrency` at once; results in chain order.

        The pool's threads only fetch: of an answer they read its next_url, and are free for the next request
        at once. Each chain's pages are decoded here, in the caller's thread, as the chain completes, and its
        items reach `on_batch` (or the result). A page whose values `decode` refuses raises its typed body error
        here; the attempt was recorded (`on_request`) as the exchange it was. `follow_last_only`: the chains are
        pages of one list asked for at once; only the last follows next_url."""
        if not chains:
            return []
        stop = threading.Event()
        results: list[list[T]] = [[] for _ in chains]
        pool = ThreadPoolExecutor(max_workers=min(self._concurrency, len(chains)), thread_name_prefix="kolada")
        try:
            last = len(chains) - 1
            futures = {
                pool.submit(self._fetch_chain, path, params, stop, not follow_last_only or index == last): index
                for index, (path, params) in enumerate(chains)
            }
            if on_sent is not None:
                on_sent()
            for done, future in enumerate(as_completed(futures), start=1):
                items = [item for response, shown in future.result() for item in decode(response, shown)[0]]
                if on_batch is not None:
                    on_batch(items)  # handed over, not kept: the caller stores it
                else:
                    results[futures[future]] = items
                if progress is not None:
                    progress(done, len(chains))
        except BaseException:
            stop.set()  # chains still running give up before their next attempt
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return [item for result in results for item in result]

    def _fetch_chain(
        self, path: str, params: dict[str, Any], stop: threading.Event, follow: bool = True
    ) -> list[tuple[httpx.Response, str]]:
        """Fetch one route and every page after it by following next_url until null (`follow`; else the one
        page): each page's answer and its URL as shown, in order, not yet decoded."""
        url = f"{self.base_url}{path}?{urlencode(params)}"
        seen = {url}
        pages: list[tuple[httpx.Response, str]] = []
        while True:
            response, following = self._get(url, stop)
            shown = shown_url(url)
            pages.append((response, shown))
            if following is None or following == "" or not follow:
                return pages
            if not isinstance(following, str):
                raise ApiBodyError(f"unexpected response shape from {shown}: next_url is not a string", shown)
            url = self._resolve(following, url)
            if url in seen:
                raise ApiBodyError(f"next_url from Kolada loops back to {shown_url(url)}", shown_url(url))
            seen.add(url)

    def _resolve(self, next_url: str, current: str) -> str:
        """Make next_url absolute: as is, against the base origin ("/..."), the base path or this page."""
        resolved = urljoin(current if next_url.startswith("?") else self.base_url + "/", next_url)
        base, target = urlsplit(self.base_url), urlsplit(resolved)
        if base.scheme == "https" and target.scheme == "http" and target.netloc == base.netloc:
            resolved = urlunsplit(target._replace(scheme="https"))  # a proxy's http next_url: stay on TLS
        return resolved

    # -- the one choke point for HTTP outcomes ------------------------------------------------------

    def _get(self, url: str, stop: threading.Event | None = None) -> tuple[httpx.Response, Any]:
        """GET `url`, retrying what a retry can fix until its retry time is up: the answer and its next_url; or
        raise a typed ApiError naming the URL. The place in flight is held for the exchange only."""
        shown = shown_url(url)
        deadline: float | None = None
        blind = 0  # failures without a Retry-After: each doubles the backoff; a Retry-After says the wait itself
        for attempt in itertools.count(1):
            if stop is not None and stop.is_set():
                raise _Cancelled
            with self._pressure.slot(stop):
                outcome = self._attempt(url, shown, attempt)
            if not isinstance(outcome, Failure):
                self._pressure.eased()
                return outcome.response, self._next_url(url, shown, attempt, outcome)
            if outcome.status in PRESSURE_STATUSES:
                self._pressure.pressed()
            if not outcome.retry:
                raise outcome.error(shown)
            now = self._clock()
            if deadline is None:
                deadline = now + self._retry_seconds
            blind += outcome.retry_after is None
            wait = self._wait(outcome, blind)
            note = self._give_up(attempt, outcome, wait, deadline - now)
            if note is not None:
                raise outcome.error(shown, note)
            wait = min(wait, deadline - now)  # a last try when the retry time is up, not a wait past it
            self._tell(outcome, wait)
            self._pause(wait, stop)
        raise AssertionError("unreachable")  # pragma: no cover

    def _next_url(self, url: str, shown: str, attempt: int, answer: _Answer) -> Any:
        """A 2xx answer's next_url, and the attempt recorded (with the reason when its body is not Kolada's)."""
        response = answer.response
        try:
            following = next_url(response, shown)
        except ApiBodyError as exc:
            self._record(url, attempt, answer.seconds, response.status_code, len(response.content), str(exc))
            raise
        self._record(url, attempt, answer.seconds, response.status_code, len(response.content), None)
        return following

    def _wait(self, outcome: Failure, blind: int) -> float:
        """Seconds before the next try: Retry-After when given (capped), else backoff with full jitter below a
        ceiling that doubles with each failure that came without one."""
        if outcome.retry_after is not None:
            return min(outcome.retry_after, MAX_RETRY_AFTER)
        return self._jitter(min(self._backoff_base * 2 ** (blind - 1), MAX_BACKOFF))

    def _give_up(self, attempt: int, outcome: Failure, wait: float, left: float) -> str | None:
        """Why this request retries no more (None while it may): retry time, tries or budget used up."""
        if left <= 0:
            tries = f"{attempt} tries" if attempt > 1 else "1 try"
            return f"gave up after {tries} in {self._retry_seconds:g} s (KPIJMF_RETRY_SECONDS)"
        if outcome.retry_after is not None and wait > left:
            return f"Retry-After {wait:g} s outlasts the retry time left (KPIJMF_RETRY_SECONDS)"
        if self._max_tries is not None and attempt >= self._max_tries:
            return f"gave up after {attempt} tries" if attempt > 1 else ""
        if not self._take_retry():
            return "retry budget used up"
        return None

    def _attempt(self, url: str, shown: str, attempt: int) -> _Answer | Failure:
        """One GET: a 2xx answer (read whole, not yet decoded), or a Failure (recorded) saying what went wrong and
        whether to retry."""
        import httpx

        started = time.monotonic()
        status: int | None = None
        size = 0
        try:
            response = self._http.get(url, timeout=self._timeout)
        except httpx.TimeoutException:
            told = msg("kolada_timeout", seconds=f"{self._timeout:g}")
            message = f"timed out after {self._timeout:g} s: {shown}"
            outcome: Failure = Failure(ApiTimeoutError, message, True, told=told)
        except httpx.ConnectError as exc:
            outcome = self._unreachable(shown, exc, _tls_failure(exc) is None, msg("kolada_no_contact"))
        except (httpx.ReadError, httpx.WriteError, httpx.CloseError, httpx.RemoteProtocolError) as exc:
            outcome = self._unreachable(shown, exc, _tls_failure(exc) is None, msg("kolada_dropped"))
        except (httpx.HTTPError, httpx.InvalidURL) as exc:  # proxy refusal, bad scheme, redirect loop
            outcome = self._unreachable(shown, exc, False, "")
        else:
            status, size = response.status_code, len(response.content)
            if 200 <= status < 300:
                return _Answer(response, time.monotonic() - started)
            outcome = status_failure(response, shown)
        self._record(url, attempt, time.monotonic() - started, status, size, outcome.message)
        return outcome

    def _unreachable(self, shown: str, exc: Exception, retry: bool, told: str) -> Failure:
        via = f" via proxy {self._proxy}" if self._proxy else ""
        tls = _tls_failure(exc)
        reason = (
            short_reason(exc)
            if tls is None
            else (
                f"TLS certificate verification failed ({tls.verify_message or short_reason(tls)}); "
                "if a proxy re-signs HTTPS traffic, set SSL_CERT_FILE to its CA bundle"
            )
        )
        return Failure(ApiUnreachableError, f"cannot reach Kolada at {shown}{via}: {reason}", retry, told=told)

    def _record(self, url: str, attempt: int, seconds: float, status: int | None, size: int, error: str | None) -> None:
        is_data = "data" in urlsplit(url).path.removeprefix(urlsplit(self.base_url).path).split("/")[:2]
        with self._lock:
            s = self._stats
            self._stats = ClientStats(s.requests + 1, s.data_requests + is_data, s.bytes + size, s.retries)
        if self._on_request is not None:
            self._on_request(RequestEvent(shown_url(url), status, size, seconds, attempt, error))

    def _take_retry(self) -> bool:
        """Count one retry, spending it from the optional budget shared by every thread; False when used up."""
        with self._lock:
            if self._retries_left is not None:
                if self._retries_left <= 0:
                    return False
                self._retries_left -= 1
            s = self._stats
            self._stats = ClientStats(s.requests, s.data_requests, s.bytes, s.retries + 1)
            return True

    def _tell(self, outcome: Failure, wait: float) -> None:
        """Say (in the run's language, like the rest of the talk) that kpijmf waits out the API; at most one
        line a second, and none for a short wait."""
        if self._on_wait is None or wait < TELL_AFTER:
            return
        now = self._clock()
        with self._lock:
            if self._told_at is not None and now - self._told_at < TELL_AFTER:
                return
            self._told_at = now
        self._on_wait(msg("kolada_retry", what=outcome.told or msg("kolada_silent"), seconds=round(wait)))

    def _pause(self, seconds: float, stop: threading.Event | None) -> None:
        if self._sleep is time.sleep and stop is not None:
            if stop.wait(seconds):  # wake at once when another batch failed or Ctrl-C was pressed
                raise _Cancelled
        else:
            self._sleep(seconds)


def _full_jitter(ceiling: float) -> float:
    """A wait drawn evenly from [0, ceiling]: clients that failed together do not come back together."""
    return random.uniform(0.0, ceiling)


class _Pressure:
    """How many requests may be in flight: starts at the maximum, halves when Kolada says it is overloaded
    (429, 503) and grows back by one after each success, never above the maximum."""

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.limit = maximum
        self._in_flight = 0
        self._changed = threading.Condition()

    @contextmanager
    def slot(self, stop: threading.Event | None) -> Iterator[None]:
        """Hold one of the `limit` places for the duration of one attempt."""
        with self._changed:
            while self._in_flight >= self.limit:
                self._changed.wait(0.1)
                if stop is not None and stop.is_set():
                    raise _Cancelled
            self._in_flight += 1
        try:
            yield
        finally:
            with self._changed:
                self._in_flight -= 1
                self._changed.notify_all()

    def pressed(self) -> None:
        with self._changed:
            self.limit = max(1, self.limit // 2)

    def eased(self) -> None:
        with self._changed:
            if self.limit < self.maximum:
                self.limit += 1
                self._changed.notify_all()


# -- building the httpx client ----------------------------------------------------------------------


def _build_http(concurrency: int, timeout: float) -> httpx.Client:
    """The shared httpx client: TLS verified with `kpijmf.kolada.tls`'s context (SSL_CERT_FILE, SSL_CERT_DIR or
    certifi), through the proxy the environment names (HTTPS_PROXY and the rest: trust_env)."""
    trust = tls.loading()  # on the other core, while the imports below hold this one
    import httpcore  # noqa: F401  (httpx imports it when a client is built: here, beside the loading)
    import httpx

    try:
        return httpx.Client(
            verify=trust.result(),
            headers={"User-Agent": f"kpijmf/{__version__}", "Accept": "application/json"},
            timeout=httpx.Timeout(timeout),
            follow_redirects=True,
            trust_env=True,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
    except (OSError, ValueError) as exc:  # an unreadable SSL_CERT_FILE / SSL_CERT_DIR, a bad proxy URL
        raise ApiUnreachableError(f"cannot set up HTTPS ({_tls_settings()}): {short_reason(exc)}") from None


def _tls_settings() -> str:
    names = ("SSL_CERT_FILE", "SSL_CERT_DIR", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
    found = [f"{name}={shown_url(os.environ[name])}" for name in names if os.environ.get(name)]
    return ", ".join(found) or "no SSL_CERT_FILE, SSL_CERT_DIR or proxy set"


def _environment_proxy(base_url: str) -> str | None:
    """The proxy httpx will use for base_url according to the environment, without credentials."""
    import urllib.request

    parts = urlsplit(base_url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return shown_url(proxy if "://" in proxy else f"http://{proxy}")


# -- small helpers -----------------------------------------------------------------------------------


def _unique(ids: Iterable[str]) -> list[str]:
    """Ids in first-seen order without repeats (a repeat would only fetch the same values twice)."""
    return list(dict.fromkeys(ids))


def _chunks(ids: list[str]) -> list[list[str]]:
    return [ids[i : i + MAX_IDS] for i in range(0, len(ids), MAX_IDS)]


def _join(ids: list[str]) -> str:
    return ",".join(quote(str(i), safe="") for i in ids)


def _tls_failure(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate error behind a connect error, if any: no retry will fix that."""
    import ssl

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
