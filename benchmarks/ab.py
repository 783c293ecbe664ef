"""A/B: two installed kpijmf versions (e.g. a worktree of an older commit with its own venv, and this one) run
the same command against the same emulator, taking turns round by round, with `python -c "import pandas"` as the
floor. Each version gets its own store, filled by a first run of the command.

Run: python benchmarks/ab.py OLD_KPIJMF NEW_KPIJMF [--rounds N] [-- kpijmf arguments]
     (default arguments: compare --kommun 2380 --format csv --output -)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.emulator import EmulatorServer, full_universe

DEFAULT_ARGS = ["compare", "--kommun", "2380", "--format", "csv", "--output", "-"]


def main() -> int:
    """Fill a store per version, then time the command for each version and the floor, in turns."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", help="the old version's kpijmf entry point")
    parser.add_argument("new", help="the new version's kpijmf entry point")
    parser.add_argument("--rounds", type=int, default=15)
    ours, theirs = _split(sys.argv[1:])  # kpijmf's arguments after "--", so that its options stay its own
    options = parser.parse_args(ours)
    args = theirs or DEFAULT_ARGS
    with EmulatorServer(full_universe()) as emulator, tempfile.TemporaryDirectory() as root:
        envs = {}
        for name in ("old", "new"):
            env = {**os.environ, "KPIJMF_API_URL": emulator.url, "KPIJMF_CACHE_DIR": f"{root}/{name}"}
            env.update(NO_COLOR="1", KPIJMF_LANG="en")
            subprocess.run([getattr(options, name), *args], env=env, capture_output=True, check=True)
            envs[name] = env
        commands = {
            "old": ([options.old, *args], envs["old"]),
            "new": ([options.new, *args], envs["new"]),
            "floor (import pandas)": ([sys.executable, "-c", "import pandas"], dict(os.environ)),
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(options.rounds):
            for name, (command, env) in commands.items():
                started = time.perf_counter()
                subprocess.run(command, env=env, capture_output=True, check=True)
                times[name].append(time.perf_counter() - started)
    print(f"{' '.join(args)}: {options.rounds} rounds, in turns")
    for name, walls in times.items():
        print(f"{name:<22} median {statistics.median(walls):.3f} s   min {min(walls):.3f} s")
    old, new = statistics.median(times["old"]), statistics.median(times["new"])
    print(f"new / old: {new / old:.3f} (median), {min(times['new']) / min(times['old']):.3f} (min)")
    return 0


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    """The arguments before the first "--", and those after it."""
    if "--" not in argv:
        return argv, []
    at = argv.index("--")
    return argv[:at], argv[at + 1 :]


if __name__ == "__main__":
    raise SystemExit(main())
