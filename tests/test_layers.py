"""The layers hold: httpx and msgspec only in kpijmf/kolada, sqlite3 only in kpijmf/store, the CLI reaches the store
only through the service, and no module imports a layer above its own (imports read with `ast`, lazy ones too)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "kpijmf"

# kolada → store → domain → compare → output → service → api → cli: a module may import its own layer and
# the ones before it. errors, config and messages (the words every layer says) are below everything; the
# package's own `__init__` (the lazy `kpijmf.compare` facade) is no layer.
BELOW_ALL = ("kpijmf.errors", "kpijmf.config", "kpijmf.messages")
ORDER = [*BELOW_ALL, "kpijmf.kolada", "kpijmf.store", "kpijmf.domain", "kpijmf.compare", "kpijmf.output",
         "kpijmf.service", "kpijmf.api", "kpijmf.cli", "kpijmf.__main__"]  # fmt: skip
RANK = {name: (0 if name in BELOW_ALL else i) for i, name in enumerate(ORDER)}


def imports() -> list[tuple[str, str]]:
    """(file relative to the repo, imported module) for every import statement in the package, nested ones too."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            found.extend((path.relative_to(PACKAGE.parent).as_posix(), name) for name in names)
    return found


def layer(module: str) -> str | None:
    """The layer of a kpijmf module name ("kpijmf.store.db" → "kpijmf.store"), None for the package itself."""
    parts = module.split(".")
    return next((".".join(parts[:n]) for n in (2, 1) if ".".join(parts[:n]) in RANK), None)


def module_of(file: str) -> str:
    return file.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def test_no_relative_imports_hide_from_this_test():
    assert not [
        path
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.level
    ]


def test_only_kpijmf_kolada_imports_httpx():
    users = {file for file, name in imports() if name.split(".")[0] == "httpx"}
    assert users and all(file.startswith("kpijmf/kolada/") for file in users), users


def test_only_kpijmf_kolada_imports_msgspec():
    users = {file for file, name in imports() if name.split(".")[0] == "msgspec"}
    assert users and all(file.startswith("kpijmf/kolada/") for file in users), users


def test_only_kpijmf_store_imports_sqlite3():
    users = {file for file, name in imports() if name.split(".")[0] == "sqlite3"}
    assert users and all(file.startswith("kpijmf/store/") for file in users), users


def test_the_cli_reaches_the_store_and_the_network_only_through_the_service():
    leaks = {(file, name) for file, name in imports() if file.startswith("kpijmf/cli/")
             and layer(name) in ("kpijmf.store", "kpijmf.kolada")}  # fmt: skip
    assert not leaks, leaks


def test_no_module_imports_a_layer_above_its_own():
    upward = set()
    for file, name in imports():
        mine, theirs = layer(module_of(file)), layer(name)
        if mine is not None and theirs is not None and RANK[theirs] > RANK[mine]:
            upward.add((file, name))
    assert not upward, upward


def test_the_checker_sees_a_leak_when_there_is_one():
    assert layer("kpijmf.cli.app") == "kpijmf.cli" and layer("kpijmf.store.db") == "kpijmf.store"
    assert RANK[layer("kpijmf.cli.talk")] > RANK[layer(module_of("kpijmf/output/html.py"))]
    assert ("kpijmf/kolada/client.py", "httpx") in imports()


def test_the_old_library_import_paths_still_work():
    from kpijmf import export
    from kpijmf.api import Workspace, compare, render_bytes, write_output
    from kpijmf.config import load_settings

    assert callable(compare) and callable(load_settings) and Workspace.compare
    assert export.render_bytes is render_bytes and export.write_output is write_output
    assert {"to_csv", "to_excel_csv", "to_json", "to_markdown", "to_xlsx"} <= set(export.__all__)
