"""Keep README.md true: regenerate its generated blocks (default) or check them (--check).

Generated blocks: each command's `--help` (between `<!-- help: kpijmf compare -->` and `<!-- /help -->`),
the environment table (`<!-- env-table -->`) and the exit-code table (`<!-- exit-codes -->`), from the code.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
HELP = re.compile(r"(<!-- help: (?P<command>[^>]+?) -->\n)(?P<body>.*?)(<!-- /help -->)", re.DOTALL)


def help_text(command: str) -> str:
    """The help of a kpijmf command, as a 100-column terminal without colour shows it."""
    env = {**os.environ, "COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "kpijmf", *command.split()[1:], "--help"],
        capture_output=True, text=True, env=env, check=True, cwd=ROOT,
    )  # fmt: skip
    return done.stdout.rstrip() + "\n"


def _table(header: str, rows: list[tuple[str, ...]]) -> str:
    columns = header.count("|") - 1
    return "\n".join([header, "|" + "---|" * columns, *("| " + " | ".join(row) + " |" for row in rows)]) + "\n"


def env_table() -> str:
    """The environment variables, from kpijmf.config.ENVIRONMENT."""
    from kpijmf.config import ENVIRONMENT

    rows = []
    for name, (default, meaning) in ENVIRONMENT.items():
        shown = f"`{default}`" if default.replace(".", "").isdigit() or default.startswith("http") else default
        rows.append((f"`{name}`", shown, meaning))
    return _table("| variable | default | meaning |", rows)


def exit_table() -> str:
    """The exit codes, from kpijmf.errors.EXIT_CODES."""
    from kpijmf.errors import EXIT_CODES

    return _table("| code | meaning |", [(str(code), meaning) for code, meaning in EXIT_CODES.items()])


def _replace(text: str, marker: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {marker} -->\n).*?(<!-- /{marker} -->)", re.DOTALL)
    return pattern.sub(lambda m: m[1] + body + m[2], text)


def render(text: str) -> str:
    """The README with every generated block rebuilt."""
    sys.path.insert(0, str(ROOT))
    text = HELP.sub(lambda m: f"{m[1]}```text\n$ {m['command']} --help\n{help_text(m['command'])}```\n{m[4]}", text)
    text = _replace(text, "env-table", env_table())
    return _replace(text, "exit-codes", exit_table())


def main() -> int:
    """Rewrite README.md, or with --check say whether it is current (exit 1 when stale)."""
    current = README.read_text(encoding="utf-8")
    fresh = render(current)
    if "--check" in sys.argv[1:]:
        if fresh != current:
            print("README.md is stale: run `python scripts/update_readme.py`", file=sys.stderr)
            return 1
        return 0
    README.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
