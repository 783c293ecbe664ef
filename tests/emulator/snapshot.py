"""Kolada's real v3 metadata of 2026-03-23 (units, municipality groups, KPIs), read from tests/data."""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from pathlib import Path

SNAPSHOT = Path(__file__).resolve().parent.parent / "data" / "kolada_snapshot.json.gz"


@lru_cache(maxsize=1)
def load_snapshot() -> dict:
    """The snapshot dict (source, captured, municipalities, groups, kpis), read once; do not mutate it."""
    return json.loads(gzip.decompress(SNAPSHOT.read_bytes()))
