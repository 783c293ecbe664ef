"""Serve the Kolada emulator until Ctrl-C: `python -m tests.emulator --latency 0.2` (the real universe)."""

from __future__ import annotations

import argparse
import time

from tests.emulator import EmulatorServer, Universe, full_universe, real_universe, small_universe


def build(name: str, kommuner: int, seed: int) -> Universe:
    """The universe named on the command line."""
    if name == "small":
        return small_universe()
    if name == "full":
        return full_universe(kommuner, seed)
    return real_universe(seed)


def main(argv: list[str] | None = None) -> int:
    """Parse options, start the emulator and block until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.emulator",
        description="Serve a local Kolada v3 emulator. Example: python -m tests.emulator --port 8080",
    )
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument(
        "--universe",
        choices=("real", "small", "full"),
        default="real",
        help="real: Kolada's real units, groups and KPI catalogue (default); small: 18 kommuner; full: generated",
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds from each request to its answer")
    parser.add_argument("--kommuner", type=int, default=290, help="kommuner in the full universe")
    parser.add_argument("--seed", type=int, default=7, help="seed of the real and full universes' values")
    args = parser.parse_args(argv)

    universe = build(args.universe, args.kommuner, args.seed)
    with EmulatorServer(universe, latency=args.latency, port=args.port) as emulator:
        print(f"Kolada emulator ({args.universe} universe) serving {emulator.url}", flush=True)
        print(f"  export KPIJMF_API_URL={emulator.url}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
