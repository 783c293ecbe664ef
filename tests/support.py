"""Support for end-to-end tests: run the installed `kpijmf` entry point, read the store it wrote."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ENTRY_POINT = Path(sys.executable).parent / "kpijmf"


@dataclass(frozen=True)
class Run:
    """A finished kpijmf process."""

    code: int
    stdout: str
    stderr: str


def kpijmf_env(api_url: str, cache_dir: Path, **extra: str) -> dict[str, str]:
    """The environment for a kpijmf process: the emulator's URL, a private store, fast retries."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPIJMF_")}
    env.update(
        {
            "KPIJMF_API_URL": api_url,
            "KPIJMF_CACHE_DIR": str(cache_dir),
            "KPIJMF_TIMEOUT": "5",
            "NO_COLOR": "1",
            "COLUMNS": "160",
        }
    )
    env.update(extra)
    return env


def run_kpijmf(args: list[str], env: dict[str, str], *, timeout: float = 120) -> Run:
    """Run the installed `kpijmf` console script (not the module) and capture its output."""
    done = subprocess.run(
        [str(ENTRY_POINT), *args], env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    return Run(done.returncode, done.stdout, done.stderr)


# The store's values one per gender, written out in SQL here rather than read through kpijmf.store: a row per
# kpi × year × unit, a gender's status NULL where the row lacks it.
VALUES_SQL = " UNION ALL ".join(
    f"SELECT kpi, year, unit_id, '{g}' AS gender, {g.lower()}_value AS value, {g.lower()}_count AS count, "
    f"{g.lower()}_status AS status FROM observation WHERE {g.lower()}_status IS NOT NULL"
    for g in ("T", "K", "M")
)


def observations(cache_dir: Path) -> dict[tuple[str, int, str, str], float | None]:
    """Every stored value keyed by (kpi, year, unit, gender), read with plain sqlite3."""
    with sqlite3.connect(cache_dir / "kpijmf.sqlite") as conn:
        rows = conn.execute(f"SELECT kpi, year, unit_id, gender, value FROM ({VALUES_SQL})").fetchall()
    return {(k, y, u, g): v for k, y, u, g, v in rows}


def store_digest(cache_dir: Path) -> str:
    """A digest of all observations, metadata and coverage: equal digests mean equal stored content."""
    path = cache_dir / "kpijmf.sqlite"
    if not path.exists():
        return "no store"
    digest = hashlib.sha256()
    with sqlite3.connect(path) as conn:
        for sql in (
            f"SELECT kpi, year, unit_id, gender, value, count, status FROM ({VALUES_SQL}) ORDER BY 1, 2, 3, 4",
            "SELECT id, title, type FROM municipality ORDER BY 1",
            "SELECT group_id, member_id FROM group_member ORDER BY 1, 2",
            "SELECT kpi, year, unit_id FROM coverage ORDER BY 1, 2, 3",
        ):
            for row in conn.execute(sql):
                digest.update(repr(row).encode())
    return digest.hexdigest()
