"""The README cannot drift: generated blocks are current and CI runs the test command it gives."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

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


def test_every_command_and_builtin_set_is_documented():
    for command in ("compare", "fetch", "refresh", "revisions", "run", "kommun", "kpi", "sets", "cache"):
        assert f"<!-- help: kpijmf {command}" in README, command
    for name in list_builtin_sets():
        assert f"`{name}`" in README, name
