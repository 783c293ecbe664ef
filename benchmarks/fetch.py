"""Benchmark `kpijmf fetch` against the emulator: requests vs the floor, bytes and wall time, cold and warm,
and the same job done by koladapy against the same emulator in the same run.

Starts the loopback emulator with a generated 290-kommun universe and 200 ms latency per request, then
runs the installed `kpijmf` (a real process, real sockets, a real SQLite file): COLD_RUNS cold fetches,
each into an empty store, then a warm one into the last of them. Against the warmed emulator each cold
fetch is followed by koladapy doing the same job (`benchmarks/koladapy_job.py`, its own process too), so
both see the same machine load. Wall times move from run to run on a shared machine, so the figures are
medians, with the fastest and slowest run beside them.
Then a fetch that adds the 13th KPI to a warm store holding 12. With --in-flight 4,6,8 it then runs cold
fetches at each KPIJMF_CONCURRENCY in turn, to show what more requests in flight would buy.
Run: python benchmarks/fetch.py [--runs N] [--no-koladapy] [--in-flight N,N…]   (koladapy: pip install -e '.[bench]')
"""

from __future__ import annotations

import argparse
import importlib.metadata
import math
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.compare import compile_bytecode
from tests.emulator import EmulatorServer, full_universe, real_universe
from tests.emulator.model import Universe
from tests.support import Run, kpijmf_env, run_kpijmf

KPIS = "N40011,U40800,U40811,N03932,N03926,N03927,N02797,U40455,U40406,U40409,N00973,N30101,N18601"
YEARS = "2015-2024"
LATENCY = 0.2
CONCURRENCY = 4  # kpijmf's default KPIJMF_CONCURRENCY
COLD_RUNS = 7
KOLADAPY_JOB = Path(__file__).resolve().parent / "koladapy_job.py"


def universe(catalogue: str) -> Universe:
    """The generated 290-kommun universe; with the "real" catalogue, Kolada's whole v3 KPI catalogue (6,099 KPIs,
    two pages of 5000, ~5.5 MB) beside its 20 KPIs, as Kolada serves it (a fetch asks only for its 13 by id, one
    request: the "metadata requests" are the municipality and group lists and that one)."""
    generated = full_universe()
    if catalogue == "real":
        generated.kpis = {**real_universe().kpis, **generated.kpis}
    return generated


def fetch(env: dict[str, str]) -> tuple[Run, float, float]:
    """One `kpijmf fetch` of the benchmark's KPIs and years: its wall time, and the CPU time its process used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run = run_kpijmf(["fetch", "--kpi", KPIS, "--years", YEARS], env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.code != 0:
        raise SystemExit(f"fetch failed: {run.stderr}")
    return run, wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


Phases = tuple[float, float, float, float]


def phases(emulator: EmulatorServer, started: float, ended: float) -> Phases:
    """From the emulator's log of one fetch (time.monotonic() is one clock for every process), in seconds: from
    the process start to the first request, from it to the first data request, from that to the last answer
    sent, and from the last answer to the end of the process."""
    log = emulator.requests
    first = min(r.started for r in log)
    data = min((r.started for r in log if r.path.startswith("/v3/data")), default=first)
    last = max(r.finished for r in log)
    return first - started, data - first, last - data, ended - last


def floor(requests: int, in_flight: int = CONCURRENCY) -> float:
    """The least time `requests` requests take on the wire, `in_flight` at once, LATENCY each."""
    return math.ceil(requests / in_flight) * LATENCY


def describe(emulator: EmulatorServer, label: str, walls: list[float], run: Run) -> None:
    """Print what the last fetch cost on the wire and the wall times of all of them."""
    data = emulator.data_requests()
    meta = [r for r in emulator.requests if not r.path.startswith("/v3/data")]
    units = len(emulator.universe.kommun_ids()) + 2  # + Riket 0000 + alla kommuner G2328
    floor = math.ceil(units / 25)
    spread = f" (median of {len(walls)}; {min(walls):.2f}–{max(walls):.2f} s)" if len(walls) > 1 else ""
    print(
        f"{label:<5} data requests {len(data):>3} (floor ⌈{units}/25⌉ = {floor}, allowed {floor + 1}), "
        f"metadata requests {len(meta)}, bytes {emulator.bytes_sent / 1e6:6.2f} MB, "
        f"wall {statistics.median(walls):5.2f} s{spread}"
    )
    if data:
        # The time the emulator took to make each answer (within the latency unless longer); its handler
        # threads share one GIL, and it shares the machine with kpijmf.
        making = [r.made - r.started for r in data]
        first, last = min(r.started for r in data), max(r.finished for r in data)
        print(
            f"      last run: data phase {last - first:.2f} s on the wire; emulator making each answer "
            f"{min(making):.2f}–{max(making):.2f} s (sum {sum(making):.2f} s)"
        )
    print(f"      kpijmf says: {run.stderr.strip()}")


def koladapy_fetch(url: str) -> tuple[int, float]:
    """koladapy doing the same job in its own process: the values it got, and its wall time."""
    first, last = (int(y) for y in YEARS.split("-"))
    years = ",".join(str(y) for y in range(first, last + 1))
    started = time.perf_counter()
    command = [sys.executable, str(KOLADAPY_JOB), url, KPIS, years]
    done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"koladapy failed: {done.stderr.strip()[-500:]}")
    return int(done.stdout.strip()), wall


def in_flight(emulator: EmulatorServer, tmp: Path, levels: list[int], runs: int, requests: int) -> None:
    """Cold fetches at each KPIJMF_CONCURRENCY in `levels`, taking turns, `runs` each: median wall and CPU time,
    beside the wire's floor for the `requests` a fetch makes."""
    walls: dict[int, list[float]] = {level: [] for level in levels}
    cpus: dict[int, list[float]] = {level: [] for level in levels}
    for number in range(runs):
        for level in levels:
            env = kpijmf_env(emulator.url, tmp / f"flight{level}-{number}", KPIJMF_CONCURRENCY=str(level))
            _run, wall, cpu = fetch(env)
            walls[level].append(wall)
            cpus[level].append(cpu)
    for level in levels:
        print(
            f"in flight {level:>2}: cold wall {statistics.median(walls[level]):.2f} s (median of {runs}; "
            f"{min(walls[level]):.2f}–{max(walls[level]):.2f} s), CPU {statistics.median(cpus[level]):.2f} s, "
            f"the wire's floor {floor(requests, level):.2f} s"
        )


def new_kpi(emulator: EmulatorServer, tmp: Path) -> None:
    """A warm store holding 12 of the 13 KPIs, then the fetch of all 13: the new KPI's metadata asked for by id
    beside its data requests, which need not wait for it."""
    kpis = KPIS.split(",")
    store = tmp / "twelve"
    if run_kpijmf(["fetch", "--kpi", ",".join(kpis[:-1]), "--years", YEARS], kpijmf_env(emulator.url, store)).code:
        raise SystemExit("the fetch of 12 KPIs failed")
    emulator.reset_log()
    _run, wall, _cpu = fetch(kpijmf_env(emulator.url, store))
    [asked] = [r for r in emulator.requests if not r.path.startswith("/v3/data")]
    data = emulator.data_requests()
    first = min(r.started for r in data)
    print(
        f"new KPI (a warm store with 12 of the 13): {len(data)} data requests and {asked.path}, the first data "
        f"request {first - asked.started:+.2f} s after it (its answer {asked.finished - asked.started:.2f} s); "
        f"wall {wall:.2f} s"
    )


def stored_values(run: Run) -> int:
    """The values kpijmf says it stored ("stored 92,787 values ...")."""
    return int(run.stderr.split("stored ", 1)[1].split(" ", 1)[0].replace(",", ""))


def main() -> None:
    """Cold fetches then a warm one, of 13 KPIs × 10 years for every kommun, Riket and G2328.

    Twice: against a fresh emulator, and against one that has already encoded its rows (a throwaway fetch
    into a scratch store first), as a real server has its data ready; there, koladapy after each cold fetch."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--runs", type=int, default=COLD_RUNS, help="cold fetches against the warmed emulator")
    options.add_argument("--no-koladapy", action="store_true", help="leave koladapy out")
    options.add_argument(
        "--catalogue", choices=["real", "small"], default="real", help="Kolada's 6,099 KPIs, or the universe's 20"
    )
    options.add_argument(
        "--in-flight", metavar="N,N…", help="then cold fetches at each of these KPIJMF_CONCURRENCY values"
    )
    args = options.parse_args()
    levels = [int(n) for n in args.in_flight.split(",")] if args.in_flight else []
    with_koladapy = not args.no_koladapy
    if with_koladapy:
        try:
            version = importlib.metadata.version("koladapy")
        except importlib.metadata.PackageNotFoundError:
            raise SystemExit("koladapy is not installed: pip install -e '.[bench]' (or --no-koladapy)") from None
    compile_bytecode()
    for emulator_state in ("fresh", "warmed"):
        served = universe(args.catalogue)
        with EmulatorServer(served, latency=LATENCY) as emulator, tempfile.TemporaryDirectory() as tmp:
            if emulator_state == "warmed":
                fetch(kpijmf_env(emulator.url, Path(tmp) / "scratch"))
            print(f"emulator {emulator_state}: {len(served.kommun_ids())} kommuner, {len(served.kpis):,} KPIs, "
                  f"latency {LATENCY * 1000:.0f} ms/request; kpijmf byte-compiled")  # fmt: skip
            runs = 1 if emulator_state == "fresh" else args.runs  # a fresh emulator is fresh only once
            walls: list[float] = []
            cpus: list[float] = []
            waits: list[Phases] = []
            theirs: list[tuple[int, float, int]] = []  # koladapy: values, wall, requests
            for number in range(runs):
                if emulator_state == "warmed" and with_koladapy:  # first, so the emulator log ends with kpijmf's
                    emulator.reset_log()
                    values, their_wall = koladapy_fetch(emulator.url)
                    theirs.append((values, their_wall, len(emulator.requests)))
                # English talk: stored_values reads "stored N values".
                env = kpijmf_env(emulator.url, Path(tmp) / f"store{number}", KPIJMF_LANG="en")
                emulator.reset_log()
                started = time.monotonic()
                run, wall, cpu = fetch(env)
                walls.append(wall)
                cpus.append(cpu)
                waits.append(phases(emulator, started, time.monotonic()))
                if theirs and theirs[-1][0] != stored_values(run):
                    raise SystemExit(f"koladapy got {theirs[-1][0]} values, kpijmf stored {stored_values(run)}")
            describe(emulator, "cold", walls, run)
            start, meta, data, tail = (statistics.median(w[i] for w in waits) for i in range(4))
            print(
                f"      medians: start → first request {start:.2f} s, → first data request {meta:.2f} s, "
                f"→ last answer {data:.2f} s, → exit {tail:.2f} s; CPU time {statistics.median(cpus):.2f} s"
            )
            made = len(emulator.requests)
            print(
                f"      the wire's floor for {made} requests, {CONCURRENCY} in flight, {LATENCY * 1000:.0f} ms "
                f"each: {floor(made):.2f} s; measured on the wire {meta + data:.2f} s"
            )
            if theirs:
                ours, other = statistics.median(walls), statistics.median(t[1] for t in theirs)
                values, _wall, requests = theirs[-1]
                print(
                    f"koladapy {version}: the same job against the same emulator, run before each cold fetch: "
                    f"{requests} requests one after the other, {values:,} values,\n"
                    f"      wall {other:5.2f} s (median of {len(theirs)}; {min(t[1] for t in theirs):.2f}–"
                    f"{max(t[1] for t in theirs):.2f} s); kpijmf cold {ours:.2f} s: {other / ours:.2f}× faster "
                    f"(3× would be ≤ {other / 3:.2f} s)"
                )
            emulator.reset_log()
            run, wall, _cpu = fetch(env)
            describe(emulator, "warm", [wall], run)
            if emulator_state == "warmed":
                new_kpi(emulator, Path(tmp))
            if emulator_state == "warmed" and levels:
                in_flight(emulator, Path(tmp), levels, args.runs, made)


if __name__ == "__main__":
    main()
