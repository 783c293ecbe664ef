"""Benchmark `kpijmf fetch` against the emulator: requests vs the floor, bytes and wall time, cold and warm.

Starts the loopback emulator with a generated 290-kommun universe and 200 ms latency per request, then
runs the installed `kpijmf` (a real process, real sockets, a real SQLite file) twice.
Run: python benchmarks/fetch.py
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.emulator import EmulatorServer, full_universe
from tests.support import kpijmf_env, run_kpijmf

KPIS = "N40011,U40800,U40811,N03932,N03926,N03927,N02797,U40455,U40406,U40409,N00973,N30101,N18601"
LATENCY = 0.2


def measure(emulator: EmulatorServer, env: dict[str, str], label: str) -> None:
    """Run one fetch and print what it cost."""
    emulator.reset_log()
    started = time.perf_counter()
    run = run_kpijmf(["fetch", "--kpi", KPIS, "--years", "2015-2024"], env)
    wall = time.perf_counter() - started
    if run.code != 0:
        raise SystemExit(f"{label} fetch failed: {run.stderr}")
    data = emulator.data_requests()
    meta = [r for r in emulator.requests if not r.path.startswith("/v3/data")]
    units = len(emulator.universe.kommun_ids()) + 2  # + Riket 0000 + alla kommuner G2328
    floor = math.ceil(units / 25)
    print(
        f"{label:<5} data requests {len(data):>3} (floor ⌈{units}/25⌉ = {floor}, allowed {floor + 1}), "
        f"metadata requests {len(meta)}, bytes {emulator.bytes_sent / 1e6:6.2f} MB, wall {wall:5.2f} s"
    )
    if data:
        # The time the emulator took to make each answer (within the latency unless longer); its handler
        # threads share one GIL, and it shares the machine with kpijmf.
        making = [r.made - r.started for r in data]
        first, last = min(r.started for r in data), max(r.finished for r in data)
        print(
            f"      data phase {last - first:.2f} s on the wire; emulator making each answer "
            f"{min(making):.2f}–{max(making):.2f} s (sum {sum(making):.2f} s)"
        )
    print(f"      kpijmf says: {run.stderr.strip()}")


def main() -> None:
    """Cold then warm fetch of 13 KPIs × 10 years for every kommun, Riket and G2328.

    Run twice: once against a fresh emulator, and once against one that has already encoded its rows (a
    throwaway fetch into a scratch store first), as a real server has its data ready. kpijmf's store is
    empty for each "cold" run."""
    for emulator_state in ("fresh", "warmed"):
        with EmulatorServer(full_universe(), latency=LATENCY) as emulator, tempfile.TemporaryDirectory() as tmp:
            if emulator_state == "warmed":
                run_kpijmf(["fetch", "--kpi", KPIS, "--years", "2015-2024"], kpijmf_env(emulator.url, Path(tmp) / "x"))
            env = kpijmf_env(emulator.url, Path(tmp) / "store")
            print(f"emulator {emulator_state}: {len(emulator.universe.kommun_ids())} kommuner, "
                  f"latency {LATENCY * 1000:.0f} ms/request")  # fmt: skip
            measure(emulator, env, "cold")
            measure(emulator, env, "warm")


if __name__ == "__main__":
    main()
