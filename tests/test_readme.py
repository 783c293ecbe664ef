"""The README cannot drift: generated blocks (help, tables, module map) are current, every registered command has
its help, and CI runs the test command it gives plus the static checks."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import typer.main

from kpijmf.cli.app import app
from kpijmf.domain.kpisets import list_builtin_sets

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_generated_blocks_are_current():
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "update_readme.py"), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_ci_runs_exactly_the_readme_test_command():
    blocks = re.findall(r"```sh\n(.*?)\n```", README, re.DOTALL)
    test_command = next(b for b in blocks if "pytest" in b)
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def _registered() -> dict[str, list[str]]:
    """Every command the app registers, as Typer builds it: name -> its subcommands (empty for a command)."""
    root = typer.main.get_command(app)
    return {name: sorted(getattr(command, "commands", {})) for name, command in root.commands.items()}


def _help_block(command: str) -> str:
    found = re.search(rf"<!-- help: {re.escape(command)} -->\n(.*?)<!-- /help -->", README, re.DOTALL)
    assert found, f"no help block for `{command}`"
    return found[1]


def test_every_registered_command_has_its_help_block():
    registered = _registered()
    assert {"compare", "fetch", "kommun", "cache"} <= registered.keys()  # the walk found the app's commands
    for name, subcommands in registered.items():
        block = _help_block(f"kpijmf {name}")
        for sub in subcommands:  # a group's help lists each subcommand on its own line
            assert re.search(rf"^  {sub}\b", block, re.MULTILINE), f"kpijmf {name} {sub}"


def test_every_builtin_set_is_documented():
    for name in list_builtin_sets():
        assert f"`{name}`" in README, name


def test_the_module_map_names_every_module():
    block = README.split("<!-- module-map -->", 1)[1].split("<!-- /module-map -->", 1)[0]
    for path in (ROOT / "kpijmf").rglob("*.py"):
        name = path.parent.name + "/" if path.name == "__init__.py" and path.parent.name != "kpijmf" else path.name
        assert f" {name} " in block, path


def test_ci_runs_the_static_checks():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for check in (".venv/bin/ruff check .", ".venv/bin/ruff format --check .", ".venv/bin/mypy"):
        assert f"\n{check}\n" in script, check


def test_the_quick_start_example_prints_what_the_readme_shows(emulator, tmp_path):
    from tests.support import kpijmf_env, run_kpijmf

    command = re.search(r"\.venv/bin/kpijmf (compare --kommun Östersund --years 2019-2021[^\n]*)\n", README)
    shown = re.search(r"which prints \(the emulator's hand-written values, not Kolada's\):\n\n```text\n(.*?)```",
                      README, re.DOTALL)  # fmt: skip
    assert command is not None and shown is not None
    run = run_kpijmf(command.group(1).split(), kpijmf_env(emulator.url, tmp_path / "store"))
    assert run.code == 0, run.stderr
    assert run.stdout == shown.group(1)
