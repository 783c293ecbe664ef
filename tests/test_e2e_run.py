"""End to end: `kpijmf run FILE` for cron and CI — outputs, atomicity under SIGKILL, two runs at once."""

from __future__ import annotations

import io
import signal
import subprocess
import time
from datetime import date

import openpyxl
import pandas as pd
import pytest

from tests.support import ENTRY_POINT, kpijmf_env, run_kpijmf, store_digest

RUN_FILE = """
kommuner = ["2380", "Umeå"]
sets = ["arbetsmarknad"]
years = "2019-2021"

[[output]]
format = "csv"
path = "out/{kommun_id}.csv"

[[output]]
format = "excel"
path = "out/{kommun}-excel.csv"

[[output]]
format = "xlsx"
path = "out/{kommun}.xlsx"
"""


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "kpijmf.toml").write_text(RUN_FILE, encoding="utf-8")
    return tmp_path


@pytest.fixture
def env(emulator, workdir):
    return kpijmf_env(emulator.url, workdir / "store")


def outputs(workdir):
    return {p.name: p.read_bytes() for p in sorted((workdir / "out").iterdir())}


def test_run_writes_every_output_for_every_kommun(workdir, env):
    run = run_kpijmf(["run", str(workdir / "kpijmf.toml")], env)
    assert run.code == 0, run.stderr
    assert set(outputs(workdir)) == {
        "2380.csv", "2480.csv", "Östersund-excel.csv", "Umeå-excel.csv", "Östersund.xlsx", "Umeå.xlsx",
    }  # fmt: skip
    frame = pd.read_csv(workdir / "out" / "2380.csv", dtype={"id": str})
    row = frame[(frame.kpi == "N03926") & (frame.id == "2380") & (frame.year == 2021)].iloc[0]
    assert row["value"] == 3.2
    assert {"fetched_at", "source"} <= set(frame.columns)
    excel = (workdir / "out" / "Umeå-excel.csv").read_bytes()
    assert excel.startswith(b"\xef\xbb\xbf")
    swedish = pd.read_csv(io.BytesIO(excel[3:]), sep=";", decimal=",", dtype={"id": str})
    assert set(swedish.id) >= {"2480", "G2328", "0000"}
    book = openpyxl.load_workbook(workdir / "out" / "Östersund.xlsx")
    assert "Källa" in book.sheetnames


def test_quiet_run_prints_nothing_on_success(workdir, env):
    run = run_kpijmf(["run", str(workdir / "kpijmf.toml"), "--quiet"], env)
    assert (run.code, run.stdout, run.stderr) == (0, "", "")


def test_one_failing_output_is_reported_and_the_others_written(workdir, env):
    (workdir / "kpijmf.toml").write_text(
        RUN_FILE + '\n[[output]]\nformat = "json"\npath = "blocked/{kommun_id}.json"\n', encoding="utf-8"
    )
    (workdir / "blocked" / "2380.json").mkdir(parents=True)  # a directory where a file should go
    run = run_kpijmf(["run", str(workdir / "kpijmf.toml")], env)
    assert run.code == 1
    errors = [line for line in run.stderr.splitlines() if line.startswith("kpijmf: error:")]
    assert len(errors) == 1 and "2380.json" in errors[0] and "is a directory" in errors[0]
    assert (workdir / "blocked" / "2480.json").is_file()
    assert len(outputs(workdir)) == 6


def test_invalid_run_file_lists_every_problem_and_exits_5(workdir, env):
    (workdir / "bad.toml").write_text('kommuner = "2380"\nyears = "2021-2019"\ncolour = 1\n', encoding="utf-8")
    run = run_kpijmf(["run", str(workdir / "bad.toml")], env)
    assert run.code == 5
    assert "bad.toml: colour: unknown key" in run.stderr
    assert "bad.toml: years:" in run.stderr and "reversed" in run.stderr
    assert "bad.toml: output:" in run.stderr
    assert "Traceback" not in run.stderr


def test_run_killed_midway_leaves_store_and_previous_outputs_intact(emulator, workdir, env):
    assert run_kpijmf(["run", str(workdir / "kpijmf.toml")], env).code == 0
    before_files, before_store = outputs(workdir), store_digest(workdir / "store")
    emulator.universe.mutate_fraction(0.2, date.today(), seed=9)
    emulator.latency = 2.0  # the refresh's first request takes 2 s: the kill lands inside it
    process = subprocess.Popen([str(ENTRY_POINT), "run", str(workdir / "kpijmf.toml")], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    time.sleep(1.0)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    assert outputs(workdir) == before_files
    assert not [p for p in (workdir / "out").iterdir() if p.name.startswith(".")]  # no temp files left
    assert store_digest(workdir / "store") == before_store


def test_second_run_waits_for_the_lock_then_gives_up_clearly(emulator, workdir, env):
    assert run_kpijmf(["run", str(workdir / "kpijmf.toml")], env).code == 0  # metadata and data stored
    emulator.universe.mutate_fraction(0.05, date.today(), seed=4)
    emulator.latency = 2.0  # the first run's refresh holds the store's lock for over 2 s
    first = subprocess.Popen([str(ENTRY_POINT), "run", str(workdir / "kpijmf.toml")], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    time.sleep(0.8)
    second = run_kpijmf(["run", str(workdir / "kpijmf.toml")], {**env, "KPIJMF_LOCK_TIMEOUT": "0.5"})
    _, first_err = first.communicate(timeout=120)
    assert first.returncode == 0, first_err
    assert second.code == 7, second.stderr
    assert "väntar upp till 0,5 s på att pid" in second.stderr  # in the run's language, like the rest of its talk
    assert "still in use by pid" in second.stderr and "KPIJMF_LOCK_TIMEOUT" in second.stderr
    assert "Traceback" not in second.stderr and "database is locked" not in second.stderr


def test_two_runs_at_once_both_finish_when_the_wait_is_long_enough(emulator, workdir, env):
    emulator.latency = 0.2
    runs = [
        subprocess.Popen(
            [str(ENTRY_POINT), "run", str(workdir / "kpijmf.toml")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in runs]
    assert [code for code, _ in results] == [0, 0], results
    assert any("väntar upp till" in err for _, err in results)
    frame = pd.read_csv(workdir / "out" / "2380.csv", dtype={"id": str})
    assert len(frame) > 0


# -- contained placeholders (issue 13) --------------------------------------------------------------


def test_a_kommun_titled_tilde_writes_only_inside_its_output_folder(tmp_path, monkeypatch):
    from tests.emulator import EmulatorServer, small_universe

    universe = small_universe()
    universe.municipalities["2380"]["title"] = "~"
    universe.municipalities["2480"]["title"] = "~root"
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    (work / "kpijmf.toml").write_text(
        'kommuner = ["2380", "2480"]\nrefresh = false\nyears = "2019-2021"\n'
        '[[output]]\nformat = "csv"\npath = "{kommun}/x-{kommun_id}.csv"\n'
        '[[output]]\nformat = "json"\npath = "{kommun}.json"\n',
        encoding="utf-8",
    )
    with EmulatorServer(universe) as emulator:
        env = {**kpijmf_env(emulator.url, tmp_path / "store"), "HOME": str(home)}
        run = run_kpijmf(["run", str(work / "kpijmf.toml"), "--quiet"], env)
    assert run.code == 0, run.stderr
    assert sorted(p.relative_to(work).as_posix() for p in work.rglob("*.*") if p.name != "kpijmf.toml") == [
        "_.json", "_/x-2380.csv", "root.json", "root/x-2480.csv",
    ]  # fmt: skip
    assert list(home.iterdir()) == []


def test_one_output_escaping_through_a_symlink_fails_alone(workdir, env):
    (workdir / "out").mkdir()
    (workdir / "elsewhere").mkdir()
    (workdir / "kpijmf.toml").write_text(
        RUN_FILE + '\n[[output]]\nformat = "json"\npath = "links/{kommun_id}/data.json"\n', encoding="utf-8"
    )
    (workdir / "links").mkdir()
    (workdir / "links" / "2380").symlink_to(workdir / "elsewhere")
    run = run_kpijmf(["run", str(workdir / "kpijmf.toml")], env)
    assert run.code == 1
    errors = [line for line in run.stderr.splitlines() if line.startswith("kpijmf: error:")]
    assert len(errors) == 1 and "would be written outside" in errors[0] and "links" in errors[0]
    assert list((workdir / "elsewhere").iterdir()) == []
    assert (workdir / "links" / "2480" / "data.json").is_file()
    assert len(outputs(workdir)) == 6


def test_unreadable_or_hostile_run_files_get_one_line_and_their_exit_code(workdir, env):
    nested = workdir / "nested.toml"
    nested.write_text("x = " + "[" * 10_000, encoding="utf-8")
    nul = workdir / "nul.toml"
    nul.write_text(RUN_FILE.replace('path = "out/{kommun_id}.csv"', 'path = "out/\\u0000{kommun_id}.csv"'))
    for path, code, message in (
        (nested, 5, "nested 10000 deep"),
        (nul, 5, "output[1].path: must not hold control characters"),
        ("/dev/zero", 5, "larger than 1 MB"),
    ):
        run = run_kpijmf(["run", str(path)], env)
        assert run.code == code, run.stderr
        assert message in run.stderr and "Traceback" not in run.stderr


def test_run_file_vs_gives_the_named_kommuner_a_row_each(workdir, env):
    text = RUN_FILE.replace('years = "2019-2021"', 'years = "2021"\nvs = ["2580", "Skellefteå"]')
    (workdir / "kpijmf.toml").write_text(text, encoding="utf-8")
    run = run_kpijmf(["run", str(workdir / "kpijmf.toml"), "--quiet"], env)
    assert run.code == 0, run.stderr
    frame = pd.read_csv(workdir / "out" / "2380.csv", dtype={"id": str})
    assert list(dict.fromkeys(frame[frame.role == "vs"].id)) == ["2580", "2482"]
