"""Run files: parsing, checking, and placeholders that cannot leave the output's folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kpijmf.domain.runfile import Output, load_run_file, safe_part
from kpijmf.errors import InvalidFileError, NotFoundError, OutputError, UsageError

VALID = 'kommuner = ["2380"]\n[[output]]\nformat = "csv"\npath = "out/{kommun}-{set}.csv"\n'


def write(tmp_path: Path, text: str | bytes, name: str = "kpijmf.toml") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.mark.parametrize(
    ("title", "part"),
    [
        ("Östersund", "Östersund"),
        ("~", "_"),
        ("~root", "root"),
        ("..", "_"),
        ("../../escaped", "____escaped"),
        (".hidden", "hidden"),
        ("a/b\\c", "a_b_c"),
        ("nul\x00here", "nulhere"),
        ("\x1b[2Jclear", "[2Jclear"),
        ("evil\u202etxt.exe", "eviltxt.exe"),
        ("", "_"),
        ("   ", "_"),
        ("x" * 300, "x" * 100),
    ],
)
def test_placeholder_values_are_made_safe_for_one_file_name(title, part):
    assert safe_part(title) == part


@pytest.mark.parametrize("title", ["~", "~root", "..", "../..", "/etc/passwd", "..\\..", ".", "~/.ssh/x"])
@pytest.mark.parametrize("template", ["{kommun}.csv", "{kommun}/x-{kommun_id}.csv", "out/{kommun}/{set}.csv"])
def test_a_hostile_title_stays_inside_the_output_folder(tmp_path, title, template):
    output = Output("csv", template)
    target = output.target(tmp_path, "2380", title, "arbetsmarknad")
    assert Path(os.path.realpath(target)).is_relative_to(os.path.realpath(output.folder(tmp_path)))
    assert Path(os.path.realpath(target)).is_relative_to(tmp_path.resolve())
    assert all(not part.startswith(("~", ".")) for part in target.relative_to(tmp_path).parts)


def test_a_symlink_named_like_a_kommun_cannot_lead_outside(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "Östersund").symlink_to(tmp_path.parent)
    with pytest.raises(OutputError, match="would be written outside"):
        Output("csv", "out/{kommun}/x.csv").target(tmp_path, "2380", "Östersund", "s")


def test_template_tilde_is_the_users_home_but_never_a_titles(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert Output("csv", "~/r/{kommun}.csv").target(tmp_path, "1", "~", "s") == tmp_path / "home" / "r" / "_.csv"


def test_output_folder_is_the_path_before_the_first_placeholder(tmp_path):
    assert Output("csv", "rapporter/{kommun}/{set}.csv").folder(tmp_path) == tmp_path / "rapporter"
    assert Output("csv", "{kommun}.csv").folder(tmp_path) == tmp_path
    assert Output("csv", "/srv/out/{kommun}.csv").folder(tmp_path) == Path("/srv/out")


def test_valid_run_file_loads(tmp_path):
    spec = load_run_file(write(tmp_path, VALID))
    assert spec.kommuner == ("2380",) and spec.outputs == (Output("csv", "out/{kommun}-{set}.csv"),)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (VALID.replace("{set}", "{year}"), "output[1].path: unknown placeholder {year}"),
        (VALID.replace("out/", "out\\u0000/"), "output[1].path: must not hold control characters"),
        ('sets = ["a\\u0000.toml"]\n' + VALID, "sets: must not hold control characters"),
        ('gender = "X"\n' + VALID, "gender: must be T, K, M or all"),
        ('years = ""\n' + VALID, "years: no years given"),
        ("last = true\n" + VALID, "last: must be a whole number from 1 to 30, got boolean true"),
        ("years = true\n" + VALID, 'years: must be a year or a range like "2019-2021"'),
        ("x = " + "[" * 10_000, "nested 10000 deep"),
        ('kommuner = ["2380"\n', "line 2, column 1"),
    ],
)
def test_run_file_problems_are_invalid_file_lines(tmp_path, text, problem):
    with pytest.raises(InvalidFileError) as caught:
        load_run_file(write(tmp_path, text))
    assert any(problem in line for line in caught.value.problems), caught.value.problems
    assert caught.value.exit_code == 5


def test_unreadable_run_file_exits_5_not_2(tmp_path, monkeypatch):
    path = write(tmp_path, VALID)

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)  # chmod 0 does not stop root
    with pytest.raises(InvalidFileError, match="cannot read: Permission denied") as caught:
        load_run_file(path)
    assert caught.value.exit_code == 5


def test_missing_folder_nul_and_device_run_files(tmp_path):
    with pytest.raises(NotFoundError, match="no such run file"):
        load_run_file(tmp_path / "nope.toml")
    with pytest.raises(UsageError, match="is a directory, not a run file"):
        load_run_file(tmp_path)
    with pytest.raises(UsageError, match="NUL byte"):
        load_run_file(Path("a\x00b.toml"))
    with pytest.raises(InvalidFileError, match="larger than 1 MB"):
        load_run_file(Path("/dev/zero"))
