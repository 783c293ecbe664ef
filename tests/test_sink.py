"""The writer: stdout, devices and FIFOs written in place, regular files replaced atomically, one-line errors."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading

import pytest

from kpijmf.errors import OutputError
from kpijmf.output import sink
from kpijmf.output.sink import write_output

needs_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mknod needs root")


def test_write_output_to_dash_or_none_goes_to_stdout(capsysbinary):
    write_output(b"a,b\n", "-")
    write_output(b"c\n", None)
    captured = capsysbinary.readouterr()
    assert captured.out == b"a,b\nc\n"
    assert captured.err == b""


def test_write_output_replaces_the_file_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_bytes(b"old")
    write_output(b"new", str(target))
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["out.csv"]


def test_write_output_keeps_an_existing_file_intact_when_the_rename_fails(tmp_path, monkeypatch):
    target = tmp_path / "report.xlsx"
    target.write_bytes(b"last week's report")

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(sink.os, "replace", refuse)
    with pytest.raises(OutputError, match=r"^cannot write .*report\.xlsx: permission denied$"):
        write_output(b"half a new report", str(target))
    assert target.read_bytes() == b"last week's report"
    assert os.listdir(tmp_path) == ["report.xlsx"]


def test_write_output_keeps_an_existing_file_intact_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "report.csv"
    target.write_bytes(b"old")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sink.os, "fsync", disk_full)
    with pytest.raises(OutputError, match="no space left on device"):
        write_output(b"new", str(target))
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["report.csv"]


def test_write_output_to_a_directory_raises_a_one_line_output_error(tmp_path):
    with pytest.raises(OutputError) as err:
        write_output(b"x", str(tmp_path))
    assert str(err.value) == f"cannot write {tmp_path}: is a directory"
    assert err.value.exit_code == 1


def test_write_output_into_a_missing_directory_raises_output_error(tmp_path):
    with pytest.raises(OutputError, match=r"cannot write .*: no such directory"):
        write_output(b"x", str(tmp_path / "nope" / "out.csv"))


def test_write_output_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    target = tmp_path / "shared.csv"
    target.write_bytes(b"old")
    target.chmod(0o640)
    write_output(b"new", str(target))
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_an_empty_name_or_a_nul_byte_is_a_one_line_error(tmp_path):
    with pytest.raises(OutputError, match=r"^cannot write '': empty file name$"):
        write_output(b"x", "  ")
    with pytest.raises(OutputError, match="NUL"):
        write_output(b"x", str(tmp_path / "a\x00b.csv"))


# -- devices, FIFOs, symlinks ---------------------------------------------------------------------------


@needs_root
def test_a_character_device_is_written_in_place_and_stays_a_device(tmp_path):
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # the same device as /dev/null
    write_output(b"gone", str(null))
    assert stat.S_ISCHR(null.stat().st_mode)
    assert null.stat().st_rdev == os.makedev(1, 3)
    assert os.listdir(tmp_path) == ["null"]  # no temp file left beside it


@needs_root
def test_a_symlink_to_a_device_keeps_both_the_link_and_the_device(tmp_path):
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    link = tmp_path / "out.csv"
    link.symlink_to(null)
    write_output(b"gone", str(link))
    assert link.is_symlink() and stat.S_ISCHR(null.stat().st_mode)


def test_a_full_device_is_a_one_line_error_naming_it():
    with pytest.raises(OutputError, match=r"^cannot write /dev/full: no space left on device$"):
        write_output(b"x" * 100_000, "/dev/full")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_fifo_is_written_in_place_for_its_reader(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_output(b"a,b\n1,2\n", str(fifo))
    reader.join(10)
    assert got == [b"a,b\n1,2\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_symlink_to_a_regular_file_replaces_the_target_and_keeps_the_link(tmp_path):
    target = tmp_path / "real.csv"
    target.write_bytes(b"old")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    write_output(b"new", str(link))
    assert link.is_symlink() and target.read_bytes() == b"new"


WRITE = "import sys; from kpijmf.output.sink import write_output; write_output(b'row\\n', sys.argv[1])"


@pytest.mark.parametrize("path", ["-", "/dev/stdout"])
def test_stdout_by_name_works_into_a_pipe(path):
    done = subprocess.run([sys.executable, "-c", WRITE, path], capture_output=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"row\n", b"")


FULL = """import sys
from kpijmf.errors import OutputError
from kpijmf.output.sink import write_output
try:
    write_output(b"x" * 100000, "-")
except OutputError as exc:
    print(exc, file=sys.stderr)
"""


def test_stdout_on_a_full_disk_is_an_output_error():
    with open("/dev/full", "wb") as full:
        done = subprocess.run([sys.executable, "-c", FULL], stdout=full, stderr=subprocess.PIPE, timeout=60)
    assert done.stderr.decode().splitlines()[0] == "cannot write to stdout: no space left on device"
