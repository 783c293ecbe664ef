"""The entry point: every command's help on stdout with exit 0; every failure is one line and an exit code (a bad
command, an unforeseen error, a full stdout, Ctrl-C and SIGTERM during a slow fetch with the store left intact)."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
import typer.main

from kpijmf.cli import app as cli
from tests.emulator import EmulatorServer, full_universe
from tests.reliability_support import copy_store, integrity
from tests.support import ENTRY_POINT, kpijmf_env, run_kpijmf, store_digest


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
def test_help_of_every_command_goes_to_stdout_with_exit_0(capsys, words):
    code, out, err = _output(capsys, lambda: cli.main([*words, "--help"]))
    assert (code, err) == (0, "")
    assert out.startswith(f"Usage: kpijmf {' '.join(words)} ")
    assert "  -h, --help" in out


def test_no_command_prints_the_whole_help_and_exits_2(capsys):
    code, out, err = _output(capsys, lambda: cli.main([]))
    assert code == 2 and out == ""
    assert err.startswith("Usage: kpijmf [OPTIONS] COMMAND [ARGS]...\n")
    assert "\nCommands:\n" in err and "  compare " in err


def test_misspelt_command_is_an_error_line_with_the_whole_apps_message(capsys):
    code, _, err = _output(capsys, lambda: cli.main(["compar"]))
    assert code == 2
    assert err == "kpijmf: error: No such command 'compar'. Did you mean 'compare'? (see `kpijmf --help`)\n"


# -- the top-level guard: anything unforeseen is one line, the traceback only on request ---------------


def _boom() -> list[str]:
    raise RuntimeError("something no layer expected")


def test_an_unforeseen_error_is_one_line_naming_kpijmf_debug(capsys, monkeypatch):
    monkeypatch.delenv("KPIJMF_DEBUG", raising=False)
    monkeypatch.setattr("kpijmf.domain.kpisets.list_builtin_sets", _boom)
    code, out, err = _output(capsys, lambda: cli.main(["sets", "list"]))
    assert (code, out) == (1, "")
    assert err == (
        "kpijmf: error: unexpected RuntimeError: something no layer expected (set KPIJMF_DEBUG=1 for the traceback)\n"
    )


def test_kpijmf_debug_shows_the_traceback_before_the_line(capsys, monkeypatch):
    monkeypatch.setenv("KPIJMF_DEBUG", "1")
    monkeypatch.setattr("kpijmf.domain.kpisets.list_builtin_sets", _boom)
    code, _, err = _output(capsys, lambda: cli.main(["sets", "list"]))
    assert code == 1
    assert err.startswith("Traceback (most recent call last):\n")
    assert "in _boom\n" in err
    assert err.endswith("kpijmf: error: unexpected RuntimeError: something no layer expected "
                        "(set KPIJMF_DEBUG=1 for the traceback)\n")  # fmt: skip


def test_ctrl_c_inside_a_command_is_avbrutet_or_interrupted_and_exit_130(capsys, monkeypatch):
    def interrupt() -> list[str]:
        raise KeyboardInterrupt

    monkeypatch.setattr("kpijmf.domain.kpisets.list_builtin_sets", interrupt)
    monkeypatch.delenv("KPIJMF_LANG", raising=False)
    assert _output(capsys, lambda: cli.main(["sets", "list"])) == (130, "", "kpijmf: avbrutet\n")
    monkeypatch.setenv("KPIJMF_LANG", "en")
    assert _output(capsys, lambda: cli.main(["sets", "list"])) == (130, "", "kpijmf: interrupted\n")


# -- stdout that cannot take the data: one line, exit 1, no "Exception ignored" ------------------------

FULL_STDOUT = {
    "help": ["--help"],
    "command-help": ["compare", "--help"],
    "echo": ["sets", "list"],
    "version": ["--version"],
}


@pytest.mark.parametrize("args", FULL_STDOUT.values(), ids=FULL_STDOUT.keys())
def test_stdout_on_a_full_disk_is_one_line_and_exit_1(args):
    with open("/dev/full", "wb") as full:
        done = subprocess.run([str(ENTRY_POINT), *args], stdout=full, stderr=subprocess.PIPE, timeout=60)
    assert done.returncode == 1
    assert done.stderr.decode() == "kpijmf: error: cannot write to stdout: no space left on device\n"


# -- signals: a real process interrupted during a slow fetch ------------------------------------------

BASE = ["fetch", "--kpi", "N03926", "--years", "2019-2021", "--kommun", "2380"]
SLOW = ["fetch", "--set", "arbetsmarknad", "--years", "2015-2024", "--kommun", "2380"]


@pytest.fixture(scope="module")
def slow_emulator(tmp_path_factory):
    """An emulator and a store holding one KPI; the emulator answers slowly from here on."""
    with EmulatorServer(full_universe()) as emulator:
        base = tmp_path_factory.mktemp("signals") / "base"
        assert run_kpijmf(BASE, kpijmf_env(emulator.url, base)).code == 0
        emulator.latency = 0.4
        yield emulator, base


def _default_sigint() -> None:
    # A runner started in the background may ignore SIGINT, and a child inherits that; a shell user's would not.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["INT", "TERM"])
def test_a_signal_during_a_slow_fetch_says_avbrutet_and_leaves_the_store_as_it_was(
    slow_emulator, tmp_path, signum, code
):
    emulator, base = slow_emulator
    store = copy_store(base, tmp_path / "store")
    before = store_digest(store)
    emulator.reset_log()
    proc = subprocess.Popen(
        [str(ENTRY_POINT), *SLOW],
        env=kpijmf_env(emulator.url, store),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_default_sigint,
    )
    deadline = time.monotonic() + 60
    while len(emulator.data_requests()) < 2:  # data arriving: the write transaction is open
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no data request came"
        time.sleep(0.01)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert (proc.returncode, out, err) == (code, b"", b"kpijmf: avbrutet\n")
    assert integrity(store) == "ok"
    assert store_digest(store) == before
    again = run_kpijmf(["compare", "--kommun", "2380", "--kpi", "N03926", "--years", "2019-2021", "--offline",
                        "-f", "csv"], kpijmf_env(emulator.url, store, KPIJMF_LOCK_TIMEOUT="0"))  # fmt: skip
    assert again.code == 0, again.stderr
