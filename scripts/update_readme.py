"""Keep README.md true: regenerate its generated blocks (default) or check them (--check).

Generated blocks: each command's `--help` (between `<!-- help: kpijmf compare -->` and `<!-- /help -->`),
the environment table (`<!-- env-table -->`), the exit-code table (`<!-- exit-codes -->`), the module map
(`<!-- module-map -->`: each subpackage's and module's first docstring line) and the reliability counts
(`<!-- reliability-counts -->`: test cases collected per file), from the code.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections.abc import Sequence
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


def _table(header: str, rows: Sequence[tuple[str, ...]]) -> str:
    columns = header.count("|") - 1
    return "\n".join([header, "|" + "---|" * columns, *("| " + " | ".join(row) + " |" for row in rows)]) + "\n"


def env_table() -> str:
    """The environment variables, from kpijmf.config.ENVIRONMENT."""
    from kpijmf.config import ENVIRONMENT, NUMBERS

    rows = []
    for name, (default, meaning) in ENVIRONMENT.items():
        shown = f"`{default}`" if default.replace(".", "").isdigit() or default.startswith("http") else default
        if name in NUMBERS:
            bounds = NUMBERS[name]
            meaning += f" ({bounds.minimum:g} to {bounds.maximum:g}{', whole' if bounds.integer else ''})"
        rows.append((f"`{name}`", shown, meaning))
    return _table("| variable | default | meaning |", rows)


def exit_table() -> str:
    """The exit codes, from kpijmf.errors.EXIT_CODES."""
    from kpijmf.errors import EXIT_CODES

    return _table("| code | meaning |", [(str(code), meaning) for code, meaning in EXIT_CODES.items()])


# The module map follows the data flow; a module or subpackage not named here comes last, alphabetically.
FLOW = ["__init__.py", "__main__.py", "errors.py", "config.py", "kolada", "store", "domain", "compare.py", "output",
        "service", "api.py", "cli"]  # fmt: skip


# Up to the first ". " that ends a sentence (not "e.g. "), or the whole paragraph.
FIRST_SENTENCE = re.compile(r".*?(?<!e\.g)(?<!i\.e)\.(?=\s)|.*")


def first_line(path: Path) -> str:
    """The first sentence of a module's docstring; a module without one is an error (the map would have a hole)."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    if not doc:
        raise SystemExit(f"{path.relative_to(ROOT)} has no docstring: the README's module map needs one")
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    sentence = FIRST_SENTENCE.match(paragraph)
    return sentence[0] if sentence else paragraph


def _flow_key(path: Path) -> tuple[int, str]:
    return (FLOW.index(path.name) if path.name in FLOW else len(FLOW), path.name)


def module_map() -> str:
    """The package as a tree: every subpackage and module with the first line of its docstring."""
    package = ROOT / "kpijmf"
    rows: list[tuple[str, str]] = []
    for path in sorted(package.iterdir(), key=_flow_key):
        if path.is_file() and path.suffix == ".py":
            rows.append((f"  {path.name}", first_line(path)))
        elif path.is_dir() and (path / "__init__.py").is_file():
            rows.append((f"  {path.name}/", first_line(path / "__init__.py")))
            for module in sorted(path.glob("*.py")):
                if module.name != "__init__.py":
                    rows.append((f"    {module.name}", first_line(module)))
    width = max(len(name) for name, _ in rows) + 2
    return "```text\nkpijmf/\n" + "".join(f"{name:<{width}}{line}\n" for name, line in rows) + "```\n"


# The Reliability section's table: what each test file tries, counted from the tests pytest collects.
RELIABILITY = [
    ("network faults: 429, 5xx, drops, timeouts, bad bodies, TLS, proxies", "tests/test_reliability_faults.py"),
    ("SIGKILL while fetching or writing; the next run completes the job", "tests/test_reliability_crash.py"),
    ("concurrent fetches, refreshes, runs and readers; the store lock", "tests/test_reliability_concurrency.py"),
    ("bad input on every command and in the environment: exit code, one line, store unchanged",
     "tests/test_bad_input.py"),
    ("settings: every environment value range-checked, URLs and proxies validated", "tests/test_config.py"),
    ("hostile titles (formulas, markup, escapes, bidi) in every format; devices, FIFOs, pipes, full disks",
     "tests/test_safe_output.py"),
    ("the writer: atomic replace, devices and FIFOs in place, symlinks, write errors", "tests/test_sink.py"),
    ("the entry point: every command's help, unforeseen errors, stdout on a full disk, SIGINT/SIGTERM mid-fetch",
     "tests/test_cli_entry.py"),
    ("the layers: httpx, msgspec, sqlite3 and the store reached only where they belong", "tests/test_layers.py"),
    ("fuzz (hypothesis): TOML readers, option and name parsers, run-file paths: a result or a kpijmf error",
     "tests/test_fuzz_domain.py"),
    ("fuzz (hypothesis): any data row, body or Retry-After from the API: rows or the typed body error; "
     "the quick (msgspec) way never laxer than the plain one", "tests/test_fuzz_parse.py"),
    ("damaged, unwritable and cleared stores: the advice, the history kept", "tests/test_e2e_cache.py"),
]  # fmt: skip


def reliability_table() -> str:
    """Cases per reliability category, counted by collecting the test files (no test is run)."""
    files = [file for _, file in RELIABILITY]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *files],
        capture_output=True, text=True, cwd=ROOT, check=True,
    )  # fmt: skip
    counts = dict.fromkeys(files, 0)
    for line in done.stdout.splitlines():
        file = line.split("::", 1)[0]
        if "::" in line and file in counts:
            counts[file] += 1
    rows = [(what, f"`{file}`", str(counts[file])) for what, file in RELIABILITY]
    rows.append(("**all of the above**", "", f"**{sum(counts.values())}**"))
    return _table("| what is tried | tests | cases |", rows)


def _replace(text: str, marker: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {marker} -->\n).*?(<!-- /{marker} -->)", re.DOTALL)
    return pattern.sub(lambda m: m[1] + body + m[2], text)


def render(text: str) -> str:
    """The README with every generated block rebuilt."""
    sys.path.insert(0, str(ROOT))
    text = HELP.sub(lambda m: f"{m[1]}```text\n$ {m['command']} --help\n{help_text(m['command'])}```\n{m[4]}", text)
    text = _replace(text, "env-table", env_table())
    text = _replace(text, "module-map", module_map())
    text = _replace(text, "reliability-counts", reliability_table())
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
