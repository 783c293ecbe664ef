"""Measure a CLI speed trick: the same warm `compare` and `--help` as benchmarks/compare.py, for variants of the
package that differ in one trick, interleaved in a shuffled order every round; wall and CPU medians.

Make each variant as a copy of `kpijmf/` (with `kpi_sets/` copied to `kpijmf/kpi_sets/`) with the trick taken
out, then: VARIANTS="both=/tmp/a,no-freeze=/tmp/b" python benchmarks/tricks.py  (PYTHONPATH picks the copy).
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.compare import COMPARE
from tests.emulator import EmulatorServer, full_universe
from tests.support import ENTRY_POINT, kpijmf_env, run_kpijmf

ROUNDS = int(os.environ.get("ROUNDS", "41"))


def timed(command: list[str], env: dict[str, str] | None) -> tuple[float, float]:
    """Wall seconds and the child's CPU seconds (user + system) of one run."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command} failed")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    """Fill a store from the emulator, then time the floor and each variant's --help and warm compare."""
    variants = dict(item.split("=", 1) for item in os.environ["VARIANTS"].split(","))
    with EmulatorServer(full_universe()) as emulator, tempfile.TemporaryDirectory() as tmp:
        env = kpijmf_env(emulator.url, Path(tmp) / "small")
        if run_kpijmf(["fetch", "--kommun", "2380"], env).code != 0:
            raise SystemExit("fetch failed")
        for path in variants.values():
            subprocess.run([sys.executable, "-m", "compileall", "-q", path], check=True)
        commands: dict[str, tuple[list[str], dict[str, str] | None]] = {
            "floor": ([sys.executable, "-c", "import pandas"], None)
        }
        for name, path in variants.items():
            commands[f"help/{name}"] = ([str(ENTRY_POINT), "--help"], {**env, "PYTHONPATH": path})
            commands[f"warm/{name}"] = ([str(ENTRY_POINT), *COMPARE], {**env, "PYTHONPATH": path})
        walls: dict[str, list[float]] = {name: [] for name in commands}
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        order = list(commands)
        rng = random.Random(7)
        for round_number in range(ROUNDS + 1):  # round 0 warms up
            rng.shuffle(order)
            for name in order:
                wall, cpu = timed(*commands[name])
                if round_number:
                    walls[name].append(wall)
                    cpus[name].append(cpu)
    print(f"medians of {ROUNDS} rounds, commands in a shuffled order each round")
    for name in commands:
        print(f"{name:20s} wall {statistics.median(walls[name]) * 1000:7.1f} ms"
              f"   cpu {statistics.median(cpus[name]) * 1000:7.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
