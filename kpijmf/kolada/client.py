"""The Kolada v3 HTTP client: URLs, ≤25-id batching, next_url paging, retries and typed errors.

With `client_parse`, the only code that touches httpx, imported lazily so that importing `DataRecord`
stays cheap. Every HTTP outcome passes through `KoladaClient._get_json`, which turns it into an
envelope or a `kpijmf.errors.ApiError` subclass whose one-line message names the URL and the cause.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlencode, urljoin, urlsplit, urlunsplit

from kpijmf import __version__
from kpijmf.errors import ApiBodyError, ApiTimeoutError, ApiUnreachableError
from kpijmf.kolada.parse import (
    DataRecord,
    Failure,
    envelope,
    objects,
    records,
    short_reason,
    shown_url,
    status_failure,
)

if TYPE_CHECKING:  # pragma: no cover
    import ssl

    import httpx

__all__ = ["MAX_IDS", "PER_PAGE", "ClientStats", "DataRecord", "KoladaClient", "RequestEvent"]

MAX_IDS = 25  # Kolada answers 422 to a comma-separated list of 26 ids
PER_PAGE = 5000  # Kolada's maximum page size; more is a 422
MAX_BACKOFF = 30.0

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
        max_tries: int = 5,
        retry_budget: int = 30,
        backoff_base: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        on_request: Callable[[RequestEvent], None] | None = None,
    ) -> None:
        if concurrency < 1 or max_tries < 1 or retry_budget < 0 or timeout <= 0 or backoff_base < 0:
            raise ValueError("concurrency and max_tries must be ≥ 1, retry_budget ≥ 0, timeout > 0")
        self.base_url = base_url.rstrip("/")
        self._concurrency = concurrency
        self._timeout = timeout
        self._max_tries = max_tries
        self._retries_left = retry_budget
        self._backoff_base = backoff_base
        self._sleep = sleep
        self._on_request = on_request
        self._lock = threading.Lock()
        self._stats = ClientStats()
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

    # -- public verbs -------------------------------------------------------------------------------

    def kpis(self, ids: Sequence[str] | None = None) -> list[dict]:
        """KPI objects as Kolada gives them: all of them, or those with the given ids."""
        if ids is None:
            return self._run_chains([("/kpi", {"per_page": PER_PAGE})], objects)
        chains = [(f"/kpi/{_join(chunk)}", {"per_page": PER_PAGE}) for chunk in _chunks(_unique(ids))]
        return self._run_chains(chains, objects)

    def municipalities(self) -> list[dict]:
        """Every municipality and region: {"id", "title", "type"}."""
        return self._run_chains([("/municipality", {"per_page": PER_PAGE})], objects)

    def groups(self) -> list[dict]:
        """Every municipality group: {"id", "title", "members": [{"member_id", "member_title"}]}."""
        return self._run_chains([("/municipality_groups", {"per_page": PER_PAGE})], objects)

    def kpi_groups(self) -> list[dict]:
        """Every KPI group: {"id", "title", "members": [{"member_id", "member_title"}]} (members are KPI ids)."""
        return self._run_chains([("/kpi_groups", {"per_page": PER_PAGE})], objects)

    def data(
        self,
        kpis: Sequence[str],
        units: Sequence[str],
        years: Sequence[int] | None,
        *,
        from_date: date | None = None,
        progress: Callable[[int, int], None] | None = None,
        on_batch: Callable[[list[DataRecord]], None] | None = None,
    ) -> list[DataRecord]:
        """Values for every kpi × unit × year (all years when `years` is None), one record per gender.

        `on_batch` gets each batch's records in the caller's thread as soon as it completes, so the caller
        can store them while the other batches are still on the wire; the records are then not returned."""
        params: dict[str, Any] = {"per_page": PER_PAGE}
        if from_date is not None:
            params["from_date"] = from_date.isoformat()
        year_chunks: list[list[str]] | list[None]
        year_chunks = [None] if years is None else _chunks(_unique(str(int(y)) for y in years))
        chains = []
        for kpi_chunk, unit_chunk, year_chunk in itertools.product(
            _chunks(_unique(kpis)), _chunks(_unique(units)), year_chunks
        ):
            path = f"/data/kpi/{_join(kpi_chunk)}/municipality/{_join(unit_chunk)}"
            if year_chunk is not None:
                path += f"/year/{_join(year_chunk)}"
            chains.append((path, params))
        return self._run_chains(chains, records, progress, on_batch)

    # -- batches and pages --------------------------------------------------------------------------

    def _run_chains(
        self,
        chains: list[tuple[str, dict[str, Any]]],
        parse: Callable[[str, list], list[T]],
        progress: Callable[[int, int], None] | None = None,
        on_batch: Callable[[list[T]], None] | None = None,
    ) -> list[T]:
        """Run each (path, params) page chain, at most `concurrency` at once; results in chain order.

        The pool's threads only fetch and decode pages, so each is free for its next request at once;
        `parse` turns a chain's pages into items here, in the caller's thread, as each chain completes."""
        if not chains:
            return []
        stop = threading.Event()
        results: list[list[T]] = [[] for _ in chains]
        pool = ThreadPoolExecutor(max_workers=min(self._concurrency, len(chains)), thread_name_prefix="kolada")
        try:
            futures = {
                pool.submit(self._fetch_chain, path, params, stop): index for index, (path, params) in enumerate(chains)
            }
            for done, future in enumerate(as_completed(futures), start=1):
                items = [item for shown, values in future.result() for item in parse(shown, values)]
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

    def _fetch_chain(self, path: str, params: dict[str, Any], stop: threading.Event) -> list[tuple[str, list]]:
        """Fetch one route and every page after it by following next_url until null: (shown URL, values)s."""
        url = f"{self.base_url}{path}?{urlencode(params)}"
        seen = {url}
        pages: list[tuple[str, list]] = []
        while True:
            page = self._get_json(url, stop)
            pages.append((shown_url(url), page["values"]))
            next_url = page.get("next_url")
            if next_url is None or next_url == "":
                return pages
            if not isinstance(next_url, str):
                shown = shown_url(url)
                raise ApiBodyError(f"unexpected response shape from {shown}: next_url is not a string", shown)
            url = self._resolve(next_url, url)
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

    def _get_json(self, url: str, stop: threading.Event | None = None) -> dict[str, Any]:
        """GET `url` with retries; return Kolada's envelope or raise a typed ApiError naming the URL."""
        shown = shown_url(url)
        for attempt in itertools.count(1):
            if stop is not None and stop.is_set():
                raise _Cancelled
            outcome = self._attempt(url, shown, attempt)
            if isinstance(outcome, dict):
                return outcome
            if not outcome.retry:
                raise outcome.error(shown)
            if attempt >= self._max_tries:
                raise outcome.error(shown, f"gave up after {attempt} tries" if attempt > 1 else "")
            if not self._take_retry():
                raise outcome.error(shown, "retry budget used up")
            self._pause(outcome.retry_after if outcome.retry_after is not None else self._backoff(attempt), stop)
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(self, url: str, shown: str, attempt: int) -> dict[str, Any] | Failure:
        """One GET: the envelope, or a Failure saying what went wrong and whether to retry."""
        import httpx

        started = time.monotonic()
        status: int | None = None
        size = 0
        try:
            response = self._http.get(url, timeout=self._timeout)
        except httpx.TimeoutException:
            outcome: dict[str, Any] | Failure = Failure(
                ApiTimeoutError, f"timed out after {self._timeout:g} s: {shown}", retry=True
            )
        except (httpx.ConnectError, httpx.ReadError, httpx.WriteError, httpx.CloseError) as exc:
            outcome = self._unreachable(shown, exc, retry=_tls_failure(exc) is None)
        except httpx.RemoteProtocolError as exc:
            outcome = self._unreachable(shown, exc, retry=True)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:  # proxy refusal, bad scheme, redirect loop
            outcome = self._unreachable(shown, exc, retry=False)
        else:
            status, size = response.status_code, len(response.content)
            if 200 <= status < 300:
                try:
                    outcome = envelope(response, shown)
                except ApiBodyError as exc:
                    self._record(url, attempt, started, status, size, str(exc))
                    raise
            else:
                outcome = status_failure(response, shown)
        self._record(url, attempt, started, status, size, None if isinstance(outcome, dict) else outcome.message)
        return outcome

    def _unreachable(self, shown: str, exc: Exception, *, retry: bool) -> Failure:
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
        return Failure(ApiUnreachableError, f"cannot reach Kolada at {shown}{via}: {reason}", retry)

    def _record(self, url: str, attempt: int, started: float, status: int | None, size: int, error: str | None) -> None:
        seconds = time.monotonic() - started
        is_data = "data" in urlsplit(url).path.removeprefix(urlsplit(self.base_url).path).split("/")[:2]
        with self._lock:
            s = self._stats
            self._stats = ClientStats(s.requests + 1, s.data_requests + is_data, s.bytes + size, s.retries)
        if self._on_request is not None:
            self._on_request(RequestEvent(shown_url(url), status, size, seconds, attempt, error))

    def _take_retry(self) -> bool:
        """Spend one retry from the budget shared by every thread; False when it is used up."""
        with self._lock:
            if self._retries_left <= 0:
                return False
            self._retries_left -= 1
            s = self._stats
            self._stats = ClientStats(s.requests, s.data_requests, s.bytes, s.retries + 1)
            return True

    def _backoff(self, attempt: int) -> float:
        return min(self._backoff_base * 2 ** (attempt - 1), MAX_BACKOFF)

    def _pause(self, seconds: float, stop: threading.Event | None) -> None:
        if self._sleep is time.sleep and stop is not None:
            if stop.wait(seconds):  # wake at once when another batch failed or Ctrl-C was pressed
                raise _Cancelled
        else:
            self._sleep(seconds)


# -- building the httpx client ----------------------------------------------------------------------


def _build_http(concurrency: int, timeout: float) -> httpx.Client:
    """The shared httpx client: TLS verified, HTTPS_PROXY / SSL_CERT_FILE / SSL_CERT_DIR honoured.

    The TLS context is made in a thread while httpx is imported: reading the CA certificates runs outside
    the GIL, so the two overlap (tens of milliseconds before the first request)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kpijmf-tls") as pool:
        context = pool.submit(_tls_context)
        import httpx

        try:
            return httpx.Client(
                headers={"User-Agent": f"kpijmf/{__version__}", "Accept": "application/json"},
                timeout=httpx.Timeout(timeout),
                follow_redirects=True,
                verify=context.result(),
                trust_env=True,
                limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            )
        except (OSError, ValueError) as exc:  # an unreadable SSL_CERT_FILE / SSL_CERT_DIR, a bad proxy URL
            raise ApiUnreachableError(f"cannot set up HTTPS ({_tls_settings()}): {short_reason(exc)}") from None


def _tls_context() -> ssl.SSLContext:
    """The verifying context httpx makes for verify=True: SSL_CERT_FILE, else SSL_CERT_DIR, else certifi's CAs."""
    import ssl

    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


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
