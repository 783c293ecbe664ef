"""Render the README's picture of the coloured terminal table: docs/table.svg, and docs/table.png when
`rsvg-convert` (Debian: librsvg2-bin) is installed. Uses the Kolada emulator's small universe, so it runs offline.

    python scripts/screenshot_table.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WIDTH = 80  # the table is built to fit a standard terminal


def main() -> int:
    """Write docs/table.svg (and .png): Östersund against its peers and Umeå, 2019–2021, at 80 columns."""
    from rich.console import Console

    from kpijmf.api import compare
    from kpijmf.config import load_settings
    from kpijmf.output.terminal import render_table
    from tests.emulator import EmulatorServer, small_universe

    with EmulatorServer(small_universe()) as emulator, tempfile.TemporaryDirectory() as store:
        settings = load_settings({"KPIJMF_API_URL": emulator.url, "KPIJMF_CACHE_DIR": store})
        frame = compare("Östersund", kpis=["N03926", "U40455"], years="2019-2021", vs=["Umeå"], settings=settings)
    console = Console(record=True, width=WIDTH, force_terminal=True, color_system="truecolor", file=open(  # noqa: SIM115
        "/dev/null", "w", encoding="utf-8"))  # fmt: skip
    render_table(frame, console)
    svg = ROOT / "docs" / "table.svg"
    title = "kpijmf compare --kommun Östersund --vs Umeå --kpi N03926,U40455 --years 2019-2021"
    console.save_svg(str(svg), title=title)
    print(f"wrote {svg}")
    converter = shutil.which("rsvg-convert")
    if converter:
        png = svg.with_suffix(".png")
        subprocess.run([converter, "--zoom", "1.2", "-o", str(png), str(svg)], check=True)
        print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
