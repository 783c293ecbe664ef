"""Settings read from the environment once per command, passed down explicitly (no mutable globals)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from kpijmf.errors import UsageError

DEFAULT_API_URL = "https://api.kolada.se/v3"

# name -> (default, meaning); the README's environment table is generated from this.
ENVIRONMENT: dict[str, tuple[str, str]] = {
    "KPIJMF_API_URL": (DEFAULT_API_URL, "Kolada v3 base URL"),
    "KPIJMF_CACHE_DIR": ("the platform's user data dir for kpijmf", "folder of the SQLite store"),
    "KPIJMF_TIMEOUT": ("30", "seconds to wait for one HTTP answer"),
    "KPIJMF_CONCURRENCY": ("4", "HTTP requests in flight at most (halved while Kolada answers 429 or 503)"),
    "KPIJMF_RETRY_SECONDS": (
        "120",
        "seconds one request may go on retrying 429/500/502/503/504, dropped connections and timeouts",
    ),
    "KPIJMF_BACKOFF_SECONDS": (
        "0.5",
        "longest wait before a request's first retry, doubled for each next (at most 30 s)",
    ),
    "KPIJMF_MAX_TRIES": ("no limit", "tries per request at most, besides the retry time"),
    "KPIJMF_RETRY_BUDGET": ("no limit", "retries allowed in one command over all requests, besides the retry time"),
    "KPIJMF_MAX_AGE_DAYS": ("30", "age after which stored metadata and data count as stale for `fetch`"),
    "KPIJMF_LOCK_TIMEOUT": ("60", "seconds to wait for another kpijmf process to release the store"),
    "KPIJMF_DEBUG": ("unset", "`1` shows the Python traceback of an unexpected error (after its one-line message)"),
    "KPIJMF_LANG": ("`sv`", "language of progress, summaries, warnings and reports: `sv` or `en` (`--lang` wins)"),
}


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with its source resolved."""

    api_url: str = DEFAULT_API_URL
    cache_dir: Path | None = None
    timeout: float = 30.0
    concurrency: int = 4
    retry_seconds: float = 120.0
    backoff_seconds: float = 0.5
    max_tries: int | None = None
    retry_budget: int | None = None
    max_age_days: float = 30.0
    lock_timeout: float = 60.0

    @property
    def store_path(self) -> Path:
        """The SQLite file."""
        return self.resolved_cache_dir / "kpijmf.sqlite"

    @property
    def resolved_cache_dir(self) -> Path:
        """The store folder: KPIJMF_CACHE_DIR, or the platform's user data dir (not its cache dir: the store's
        revision history cannot be fetched again, and cache dirs get cleaned)."""
        if self.cache_dir is not None:
            return self.cache_dir
        from platformdirs import user_data_dir

        return Path(user_data_dir("kpijmf", appauthor=False))

    @property
    def former_store_dir(self) -> Path | None:
        """Where kpijmf kept the store by default before it moved to the data dir; None with KPIJMF_CACHE_DIR."""
        if self.cache_dir is not None:
            return None
        from platformdirs import user_cache_dir

        former = Path(user_cache_dir("kpijmf", appauthor=False))
        return None if former == self.resolved_cache_dir else former


def _shown(raw: str) -> str:
    """A value as an error message quotes it: repr, cut to a readable length."""
    return repr(raw if len(raw) <= 60 else raw[:57] + "...")


def _url_problem(url: str, schemes: tuple[str, ...]) -> str | None:
    """Why `url` is not a usable URL with one of `schemes` (None when it is): scheme, host and port checked."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port that is not a number or out of range
    except ValueError as exc:
        return str(exc)[:1].lower() + str(exc)[1:]
    if parts.scheme not in schemes:
        return f"the scheme must be one of {', '.join(schemes)}"
    if not parts.hostname:
        return "no host"
    if port == 0:
        return "port 0"
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return "spaces or control characters"
    return None


def validate_api_url(url: str) -> str:
    """Return the URL without a trailing slash, or raise UsageError for something that is not http(s)."""
    url = url.strip()
    problem = _url_problem(url, ("http", "https"))
    if problem is not None:
        raise UsageError(f"KPIJMF_API_URL must be an http(s) URL like {DEFAULT_API_URL}, got {_shown(url)} ({problem})")
    return url.rstrip("/")


# The variables httpx reads for proxies (trust_env), upper and lower case; a bare host:port means http://.
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")
_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def validate_proxies(env: Mapping[str, str]) -> None:
    """Raise UsageError for a proxy variable httpx could not use, before anything is fetched or stored."""
    for name in (*PROXY_VARIABLES, *(n.lower() for n in PROXY_VARIABLES)):
        raw = env.get(name, "").strip()
        if not raw:
            continue
        url = raw if "://" in raw else f"http://{raw}"
        problem = _url_problem(url, _PROXY_SCHEMES)
        if problem is not None:
            raise UsageError(
                f"{name} must be a proxy URL like http://proxy.example:8080, got {_shown(raw)} ({problem})"
            )


@dataclass(frozen=True)
class Bounds:
    """The accepted range of a numeric environment variable, both ends included."""

    minimum: float
    maximum: float
    integer: bool = False


# Every numeric variable's range in one table; the upper bounds catch typos (a timeout of 1e308 s never ends).
NUMBERS: dict[str, Bounds] = {
    "KPIJMF_TIMEOUT": Bounds(0.1, 3600),
    "KPIJMF_CONCURRENCY": Bounds(1, 64, integer=True),
    "KPIJMF_RETRY_SECONDS": Bounds(0, 86_400),
    "KPIJMF_BACKOFF_SECONDS": Bounds(0, 60),
    "KPIJMF_MAX_TRIES": Bounds(1, 100, integer=True),
    "KPIJMF_RETRY_BUDGET": Bounds(0, 100_000, integer=True),
    "KPIJMF_MAX_AGE_DAYS": Bounds(0, 36_500),
    "KPIJMF_LOCK_TIMEOUT": Bounds(0, 86_400),
}


def env_number(env: Mapping[str, str], name: str, default: float) -> float:
    """A numeric environment variable within its NUMBERS bounds (finite, whole where it must be), or default."""
    bounds = NUMBERS[name]
    raw = env.get(name, "").strip()
    if not raw:
        return default
    kind = "a whole number" if bounds.integer else "a number"
    try:
        value = float(int(raw)) if bounds.integer else float(raw)
    except (ValueError, OverflowError):
        raise UsageError(f"{name} must be {kind}, got {_shown(raw)}") from None
    if not math.isfinite(value):
        raise UsageError(f"{name} must be a finite number, got {_shown(raw)}")
    if value < bounds.minimum:
        raise UsageError(f"{name} must be at least {bounds.minimum:g}, got {_shown(raw)}")
    if value > bounds.maximum:
        raise UsageError(f"{name} must be at most {bounds.maximum:g}, got {_shown(raw)}")
    return value


def _limit(env: Mapping[str, str], name: str) -> int | None:
    """An optional whole-number limit within its NUMBERS bounds: None (no limit) when unset."""
    if not env.get(name, "").strip():
        return None
    return int(env_number(env, name, 0))


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from environment variables (os.environ by default); proxies are checked here too."""
    env = os.environ if env is None else env
    api_url = env.get("KPIJMF_API_URL", "")
    cache_dir = env.get("KPIJMF_CACHE_DIR", "").strip()
    validate_proxies(env)
    return Settings(
        api_url=validate_api_url(api_url) if api_url.strip() else DEFAULT_API_URL,
        cache_dir=_cache_dir(cache_dir) if cache_dir else None,
        timeout=env_number(env, "KPIJMF_TIMEOUT", 30.0),
        concurrency=int(env_number(env, "KPIJMF_CONCURRENCY", 4)),
        retry_seconds=env_number(env, "KPIJMF_RETRY_SECONDS", 120.0),
        backoff_seconds=env_number(env, "KPIJMF_BACKOFF_SECONDS", 0.5),
        max_tries=_limit(env, "KPIJMF_MAX_TRIES"),
        retry_budget=_limit(env, "KPIJMF_RETRY_BUDGET"),
        max_age_days=env_number(env, "KPIJMF_MAX_AGE_DAYS", 30.0),
        lock_timeout=env_number(env, "KPIJMF_LOCK_TIMEOUT", 60.0),
    )


def _cache_dir(raw: str) -> Path:
    if "\x00" in raw:
        raise UsageError(f"KPIJMF_CACHE_DIR cannot hold a NUL character, got {_shown(raw)}")
    try:
        return Path(raw).expanduser()
    except RuntimeError:  # "~user" without such a user: no home to expand
        raise UsageError(f"KPIJMF_CACHE_DIR names a home folder that does not exist: {_shown(raw)}") from None
