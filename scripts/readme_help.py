"""Keep the README's `--help` blocks true: regenerate them (default) or check them (--check).

A block is written between `<!-- help: kpijmf compare -->` and `<!-- /help -->` markers.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"(<!-- help: (?P<command>[^>]+?) -->\n)(?P<body>.*?)(<!-- /help -->)", re.DOTALL)


def help_text(command: str) -> str:
    """The help of a kpijmf command, as a fixed-width terminal would show it."""
    args = command.split()[1:]
    env = {**os.environ, "COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "kpijmf", *args, "--help"], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout.replace("python -m kpijmf", "kpijmf").rstrip() + "\n"


def render(text: str) -> str:
    """The README with every help block regenerated."""
    return BLOCK.sub(lambda m: f"{m[1]}```text\n$ {m['command']} --help\n{help_text(m['command'])}```\n{m[4]}", text)


def main() -> int:
    """Regenerate the README, or with --check report whether it is current."""
    current = README.read_text(encoding="utf-8")
    fresh = render(current)
    if "--check" in sys.argv[1:]:
        if fresh != current:
            print("README.md help blocks are stale: run `python scripts/readme_help.py`", file=sys.stderr)
            return 1
        return 0
    README.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
