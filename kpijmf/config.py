"""Settings read from the environment once per command, passed down explicitly (no mutable globals)."""

from __future__ import annotations

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
    "KPIJMF_CACHE_DIR": ("the platform's user cache dir for kpijmf", "folder of the SQLite store"),
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
        """The store folder: KPIJMF_CACHE_DIR or the platform's user cache dir."""
        if self.cache_dir is not None:
            return self.cache_dir
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("kpijmf", appauthor=False))


def validate_api_url(url: str) -> str:
    """Return the URL without a trailing slash, or raise UsageError for something that is not http(s)."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"KPIJMF_API_URL must be an http(s) URL like {DEFAULT_API_URL}, got {url!r}")
    return url.rstrip("/")


def _number(env: Mapping[str, str], name: str, default: float, *, minimum: float, integer: bool) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise UsageError(f"{name} must be {kind}, got {raw!r}") from None
    if value < minimum:
        raise UsageError(f"{name} must be at least {minimum:g}, got {raw!r}")
    return value


def _limit(env: Mapping[str, str], name: str, *, minimum: int) -> int | None:
    """An optional whole-number limit: None (no limit) when unset."""
    if not env.get(name, "").strip():
        return None
    return int(_number(env, name, minimum, minimum=minimum, integer=True))


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from environment variables (os.environ by default)."""
    env = os.environ if env is None else env
    api_url = env.get("KPIJMF_API_URL", "")
    cache_dir = env.get("KPIJMF_CACHE_DIR", "").strip()
    return Settings(
        api_url=validate_api_url(api_url) if api_url.strip() else DEFAULT_API_URL,
        cache_dir=Path(cache_dir).expanduser() if cache_dir else None,
        timeout=_number(env, "KPIJMF_TIMEOUT", 30.0, minimum=0.1, integer=False),
        concurrency=int(_number(env, "KPIJMF_CONCURRENCY", 4, minimum=1, integer=True)),
        retry_seconds=_number(env, "KPIJMF_RETRY_SECONDS", 120.0, minimum=0, integer=False),
        backoff_seconds=_number(env, "KPIJMF_BACKOFF_SECONDS", 0.5, minimum=0, integer=False),
        max_tries=_limit(env, "KPIJMF_MAX_TRIES", minimum=1),
        retry_budget=_limit(env, "KPIJMF_RETRY_BUDGET", minimum=0),
        max_age_days=_number(env, "KPIJMF_MAX_AGE_DAYS", 30.0, minimum=0, integer=False),
        lock_timeout=_number(env, "KPIJMF_LOCK_TIMEOUT", 60.0, minimum=0, integer=False),
    )
