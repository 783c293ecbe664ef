"""Benchmark a warm `kpijmf compare` (everything in the store) against the floor `python -c "import pandas"`.

Also times `kpijmf --help`, and `compare` on a store grown to over 1,000,000 observations.
Run: python benchmarks/compare.py
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.emulator import EmulatorServer, full_universe
from tests.support import ENTRY_POINT, kpijmf_env, run_kpijmf

RUNS = 7
COMPARE = ["compare", "--kommun", "2380", "--format", "csv", "--output", "-"]


def median_seconds(command: list[str], env: dict[str, str] | None = None) -> float:
    """Median wall time of RUNS runs (after one warm-up run)."""
    times = []
    for attempt in range(RUNS + 1):
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, check=False)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{command} failed: {done.stderr.decode()}")
        if attempt:
            times.append(elapsed)
    return statistics.median(times)


def grow(store: Path, target: int) -> int:
    """Add made-up KPIs' observations (all kommuner, 10 years, 3 genders) until the store holds `target`."""
    with sqlite3.connect(store) as conn:
        units = [r[0] for r in conn.execute("SELECT id FROM municipality WHERE type = 'K'")]
        count = conn.execute("SELECT COUNT(*) FROM observation").fetchone()[0]
        rng = random.Random(1)
        number = 0
        while count < target:
            number += 1
            kpi = f"X{number:05d}"
            rows = [
                (kpi, year, unit, gender, round(rng.uniform(0, 100), 1), 1, "", "2026-01-01T00:00:00Z")
                for year in range(2015, 2025)
                for unit in units
                for gender in ("T", "K", "M")
            ]
            conn.executemany("INSERT INTO observation VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            count += len(rows)
        return conn.execute("SELECT COUNT(*) FROM observation").fetchone()[0]


def main() -> None:
    """Fill a store from the emulator, then time the floor, --help and warm compare on a small and a big store."""
    python = sys.executable
    with EmulatorServer(full_universe()) as emulator, tempfile.TemporaryDirectory() as tmp:
        small, big = Path(tmp) / "small", Path(tmp) / "big"
        env = kpijmf_env(emulator.url, small)
        if run_kpijmf(["fetch", "--kommun", "2380"], env).code != 0:
            raise SystemExit("fetch failed")
        rows = sqlite3.connect(small / "kpijmf.sqlite").execute("SELECT COUNT(*) FROM observation").fetchone()[0]
        emulator.reset_log()

        floor = median_seconds([python, "-c", "import pandas"])
        help_time = median_seconds([str(ENTRY_POINT), "--help"], env)
        warm = median_seconds([str(ENTRY_POINT), *COMPARE], env)
        offline = median_seconds([str(ENTRY_POINT), *COMPARE, "--offline"], env)
        requests = len(emulator.requests)

        shutil.copytree(small, big)
        grown = grow(big / "kpijmf.sqlite", 1_000_000)
        big_env = kpijmf_env(emulator.url, big)
        warm_big = median_seconds([str(ENTRY_POINT), *COMPARE], big_env)

    print(f"medians of {RUNS} runs")
    print(f"floor  python -c 'import pandas'         {floor:5.2f} s")
    print(f"kpijmf --help                            {help_time:5.2f} s  = {help_time / floor:4.2f} × floor "
          "(goal ≤ 0.5)")  # fmt: skip
    print(f"warm compare, {rows:>9,} observations    {warm:5.2f} s  = {warm / floor:4.2f} × floor (goal ≤ 1.5)")
    print(f"warm compare --offline                   {offline:5.2f} s  = {offline / floor:4.2f} × floor")
    print(f"warm compare, {grown:>9,} observations    {warm_big:5.2f} s  = {warm_big / warm:4.2f} × the small store "
          "(goal ≤ 1.2)")  # fmt: skip
    print(f"HTTP requests during the warm compares: {requests}")


if __name__ == "__main__":
    main()
