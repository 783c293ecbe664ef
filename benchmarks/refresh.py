"""Benchmark `kpijmf refresh` against the emulator: bytes and requests of a refresh vs the cold fetch.

A cold fetch of the default set for every kommun (10 years), then Kolada changes 5 % of its values,
withdraws three and publishes a new year of N40011; `kpijmf refresh` asks only for what changed (from_date).
Run: python benchmarks/refresh.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.emulator import EmulatorServer, full_universe
from tests.support import kpijmf_env, run_kpijmf

LATENCY = 0.2


def run(emulator: EmulatorServer, env: dict[str, str], args: list[str]) -> tuple[int, int, float]:
    """Data requests, data bytes and wall seconds of one kpijmf command."""
    emulator.reset_log()
    started = time.perf_counter()
    done = run_kpijmf(args, env)
    if done.code != 0:
        raise SystemExit(f"kpijmf {' '.join(args)} failed: {done.stderr}")
    data = emulator.data_requests()
    return len(data), sum(r.body_bytes for r in data), time.perf_counter() - started


def main() -> None:
    """Cold fetch, change the emulator, refresh; print both."""
    with EmulatorServer(full_universe(), latency=LATENCY) as emulator, tempfile.TemporaryDirectory() as tmp:
        env = kpijmf_env(emulator.url, Path(tmp))
        cold = run(emulator, env, ["fetch", "--years", "2015-2024", "--kommun", "2380"])
        universe, today = emulator.universe, date.today()
        changed = universe.mutate_fraction(0.05, today, seed=3)
        for kpi, unit, year in (("N40011", "2303", 2020), ("U40455", "2480", 2022), ("N03926", "0180", 2024)):
            universe.delete(kpi, unit, year, today)
        added = universe.add_year("N40011", 2025, today)
        warm = run(emulator, env, ["refresh"])
        asked = {r.query.get("from_date") for r in emulator.data_requests()}
    print(f"emulator: {len(universe.kommun_ids())} kommuner, latency {LATENCY * 1000:.0f} ms/request")
    print(f"changes: {len(changed):,} values changed (5 %), 3 withdrawn, {added} new 2025 values of N40011")
    print(f"cold fetch  {cold[0]:>3} data requests  {cold[1] / 1e6:6.2f} MB  {cold[2]:5.2f} s")
    print(f"refresh     {warm[0]:>3} data requests  {warm[1] / 1e6:6.2f} MB  {warm[2]:5.2f} s  from_date={asked}")
    print(f"refresh bytes = {warm[1] / cold[1]:.1%} of the cold fetch (goal ≤ 15 %)")


if __name__ == "__main__":
    main()
