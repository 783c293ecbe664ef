"""Benchmark a warm `kpijmf compare` (everything in the store) against the floor `python -c "import pandas"`.

Also times `kpijmf --help`, `compare` on a store grown to over 1,000,000 observations, and, at 200 ms latency,
a `compare` that fetches: into an empty store, and for a KPI new to a warm one.
Run: python benchmarks/compare.py
"""

from __future__ import annotations

import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kpijmf.kolada.genders import GENDERS
from kpijmf.kolada.parse import DataEntry, DataRow
from kpijmf.store.db import Store
from tests.emulator import EmulatorServer, full_universe
from tests.support import ENTRY_POINT, kpijmf_env, run_kpijmf

RUNS = 15
COMPARE = ["compare", "--kommun", "2380", "--format", "csv", "--output", "-"]
SEVERAL = ["compare", "--kommun", "2380,2480", "--vs", "Sundsvall", "--format", "csv", "--output", "-"]


def with_sundsvall(universe):
    """The generated universe with one generated Västernorrland kommun named Sundsvall (for `--vs Sundsvall`)."""
    kommun = min(k for k in universe.kommun_ids() if k.startswith("22"))
    universe.municipalities[kommun]["title"] = "Sundsvall"
    return universe


def medians(commands: dict[str, tuple[list[str], dict[str, str] | None]]) -> dict[str, float]:
    """Median wall time of each command over RUNS rounds (after one warm-up round).

    The commands take turns within each round, so a machine that speeds up or slows down during the run
    moves all of them alike and their ratios stay fair."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_number in range(RUNS + 1):
        for name, (command, env) in commands.items():
            started = time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, check=False)
            elapsed = time.perf_counter() - started
            if done.returncode != 0:
                raise SystemExit(f"{command} failed: {done.stderr.decode()}")
            if round_number:
                times[name].append(elapsed)
    return {name: statistics.median(values) for name, values in times.items()}


def compile_bytecode() -> None:
    """Byte-compile kpijmf as `pip install` does, so that no run pays for compiling it.

    pandas in site-packages was compiled when pip installed it; an editable install compiles kpijmf on its
    first import, unless PYTHONDONTWRITEBYTECODE is set (as on some CI machines and sandboxes)."""
    package = Path(__file__).resolve().parent.parent / "kpijmf"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)


def grow(store: Path, target: int) -> int:
    """Add made-up KPIs' observations (all kommuner, 10 years, 3 genders) until the store holds `target` values,
    written the way a first fetch writes them."""
    with Store.open(store) as opened:
        units = [m["id"] for m in opened.municipalities() if m["type"] == "K"]
        count = opened.info()["counts"]["observation"]
        rng = random.Random(1)
        number = 0
        while count < target:
            number += 1
            kpi = f"X{number:05d}"
            rows = [
                DataRow(kpi, unit, year, tuple(DataEntry(g, round(rng.uniform(0, 100), 1), 1, "") for g in GENDERS))
                for year in range(2015, 2025)
                for unit in units
            ]
            with opened.writer("2026-01-01T00:00:00Z", first=True) as writer:
                writer.add(rows)
                count += writer.finish([]).rows
        return opened.info()["counts"]["observation"]


FETCHING = ["compare", "--kommun", "2380", "--years", "2019-2021", "--format", "csv", "--output", "-", "--kpi"]
FETCH_RUNS = 7


def fetching() -> None:
    """A compare that fetches, at 200 ms latency: into an empty store, and with a KPI new to a warm store (the store
    holds N03926, the compare names U40455 too). Median wall time and the requests of the last run."""
    with EmulatorServer(full_universe(), latency=0.2) as emulator, tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm"
        if run_kpijmf([*FETCHING, "N03926"], kpijmf_env(emulator.url, warm)).code != 0:
            raise SystemExit("the first compare failed")
        walls: dict[str, list[float]] = {"empty store": [], "new KPI": []}
        requests: dict[str, int] = {}
        for number in range(FETCH_RUNS):
            for case in walls:
                store = Path(tmp) / f"{case}{number}"
                if case == "new KPI":
                    shutil.copytree(warm, store)
                emulator.reset_log()
                started = time.perf_counter()
                run = run_kpijmf([*FETCHING, "N03926,U40455"], kpijmf_env(emulator.url, store))
                walls[case].append(time.perf_counter() - started)
                if run.code != 0:
                    raise SystemExit(f"compare failed: {run.stderr}")
                requests[case] = len(emulator.requests)
    for case, times in walls.items():
        print(f"compare that fetches, {case:<11}  {statistics.median(times):5.2f} s  (median of {FETCH_RUNS}; "
              f"{requests[case]} requests, 200 ms each)")  # fmt: skip


def main() -> None:
    """Fill a store from the emulator, then time the floor, --help and warm compare on a small and a big store."""
    python = sys.executable
    with EmulatorServer(with_sundsvall(full_universe())) as emulator, tempfile.TemporaryDirectory() as tmp:
        small, big = Path(tmp) / "small", Path(tmp) / "big"
        env = kpijmf_env(emulator.url, small)
        if run_kpijmf(["fetch", "--kommun", "2380", "--kommun", "2480"], env).code != 0:
            raise SystemExit("fetch failed")
        with Store.open(small / "kpijmf.sqlite") as opened:
            rows = opened.info()["counts"]["observation"]
        emulator.reset_log()

        compile_bytecode()
        small_times = medians(
            {
                "floor": ([python, "-c", "import pandas"], None),
                "help": ([str(ENTRY_POINT), "--help"], env),
                "warm": ([str(ENTRY_POINT), *COMPARE], env),
                "offline": ([str(ENTRY_POINT), *COMPARE, "--offline"], env),
                "several": ([str(ENTRY_POINT), *SEVERAL], env),
            }
        )
        floor, help_time, warm, offline = (small_times[k] for k in ("floor", "help", "warm", "offline"))
        several = small_times["several"]

        shutil.copytree(small, big)
        grown = grow(big / "kpijmf.sqlite", 1_000_000)
        big_env = kpijmf_env(emulator.url, big)
        sizes = medians({"small": ([str(ENTRY_POINT), *COMPARE], env), "big": ([str(ENTRY_POINT), *COMPARE], big_env)})
        requests = len(emulator.requests)

    print(f"medians of {RUNS} rounds; in each round the commands of a group take turns; kpijmf byte-compiled")
    print(f"floor  python -c 'import pandas'         {floor:5.2f} s")
    print(f"kpijmf --help                            {help_time:5.2f} s  = {help_time / floor:4.2f} × floor "
          "(goal ≤ 0.5)")  # fmt: skip
    print(f"warm compare, {rows:>9,} observations    {warm:5.2f} s  = {warm / floor:4.2f} × floor (goal ≤ 1.5)")
    print(f"warm compare --offline                   {offline:5.2f} s  = {offline / floor:4.2f} × floor")
    print(f"warm compare --kommun 2380,2480 --vs Sundsvall  {several:5.2f} s  = {several / floor:4.2f} × floor "
          "(goal ≤ 1.5)")  # fmt: skip
    print(f"warm compare, {rows:>9,} observations    {sizes['small']:5.2f} s  (timed in turns with the big store)")
    print(f"warm compare, {grown:>9,} observations    {sizes['big']:5.2f} s  = {sizes['big'] / sizes['small']:4.2f} × "
          "the small store (goal ≤ 1.2)")  # fmt: skip
    print(f"HTTP requests during the warm compares: {requests}")
    fetching()


if __name__ == "__main__":
    main()
