"""The entry point runs an app narrowed to the command asked for: same help, same errors, as the whole app."""

from __future__ import annotations

import pytest
import typer.main

from kpijmf.cli import app as cli


def _all_commands() -> list[list[str]]:
    root = typer.main.get_command(cli.app)
    found = []
    for name, command in root.commands.items():
        found.append([name])
        found.extend([name, sub] for sub in getattr(command, "commands", {}))
    return found


def _output(capsys, run) -> tuple[int, str, str]:
    try:
        run()
        code = 0
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("words", _all_commands(), ids=" ".join)
def test_help_of_every_command_is_the_whole_apps_help(capsys, words):
    narrowed = _output(capsys, lambda: cli.main([*words, "--help"]))
    whole = _output(capsys, lambda: cli.app([*words, "--help"], prog_name="kpijmf", standalone_mode=False))
    assert narrowed[0] == 0
    assert narrowed[1] == whole[1]
    assert f"Usage: kpijmf {' '.join(words)} " in narrowed[1]


def test_narrowed_app_holds_only_the_command_run():
    assert [c.callback.__name__ for c in cli.narrowed_app(["compare", "--kommun", "x"]).registered_commands] == [
        "compare"
    ]
    assert [g.name for g in cli.narrowed_app(["-h", "kommun", "show"]).registered_groups] == ["kommun"]
    assert cli.narrowed_app(["--version"]) is cli.app
    assert cli.narrowed_app(["compar"]) is cli.app  # unknown: the whole app says "No such command"
    assert len(cli.app.registered_commands) > 1  # narrowing copies; the app itself keeps every command


def test_no_command_prints_the_whole_help_and_exits_2(capsys):
    code, out, err = _output(capsys, lambda: cli.main([]))
    assert code == 2 and out == ""
    assert err.startswith("Usage: kpijmf [OPTIONS] COMMAND [ARGS]...\n")
    assert "\nCommands:\n" in err and "  compare " in err


def test_misspelt_command_is_an_error_line_with_the_whole_apps_message(capsys):
    code, _, err = _output(capsys, lambda: cli.main(["compar"]))
    assert code == 2
    assert err == "kpijmf: error: No such command 'compar'. Did you mean 'compare'? (see `kpijmf --help`)\n"
