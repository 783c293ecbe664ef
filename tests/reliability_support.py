"""Helpers for the reliability tests: prepared stores, SQLite's own integrity check, the one error line."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from tests.support import Run


def copy_store(source: Path, target: Path) -> Path:
    """A private copy of a prepared store folder (the SQLite file and its lock file)."""
    shutil.copytree(source, target)
    return target


def integrity(cache_dir: Path) -> str:
    """What `PRAGMA integrity_check` says about the store ("ok" when sound)."""
    with sqlite3.connect(cache_dir / "kpijmf.sqlite") as conn:
        return "; ".join(row[0] for row in conn.execute("PRAGMA integrity_check"))


def table(cache_dir: Path, sql: str) -> list[tuple]:
    """Rows of a query on the store, read with plain sqlite3."""
    with sqlite3.connect(cache_dir / "kpijmf.sqlite") as conn:
        return conn.execute(sql).fetchall()


def error_line(run: Run) -> str:
    """The run's only stderr line, checked to be a kpijmf error and no traceback; stdout must be empty."""
    assert "Traceback" not in run.stderr, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("kpijmf: error: "), run.stderr
    assert run.stdout == "", run.stdout
    return lines[0]
