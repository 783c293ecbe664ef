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
    "KPIJMF_CACHE_DIR": ("the platform's user data dir for kpijmf", "folder of the SQLite store"),
    "KPIJMF_TIMEOUT": ("30", "seconds to wait for one HTTP answer"),
    "KPIJMF_CONCURRENCY": ("4", "HTTP requests in flight at most"),
    "KPIJMF_MAX_TRIES": ("5", "tries per request for 429/502/503/504/dropped connections/timeouts"),
    "KPIJMF_RETRY_BUDGET": ("30", "retries allowed in one command, over all requests"),
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
    max_tries: int = 5
    retry_budget: int = 30
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
        max_tries=int(_number(env, "KPIJMF_MAX_TRIES", 5, minimum=1, integer=True)),
        retry_budget=int(_number(env, "KPIJMF_RETRY_BUDGET", 30, minimum=0, integer=True)),
        max_age_days=_number(env, "KPIJMF_MAX_AGE_DAYS", 30.0, minimum=0, integer=False),
        lock_timeout=_number(env, "KPIJMF_LOCK_TIMEOUT", 60.0, minimum=0, integer=False),
    )
