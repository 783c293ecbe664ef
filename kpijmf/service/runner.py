"""Carry out a run file: refresh the store, then write every output for every kommun × set.

A failed refresh stops the run before any file is touched; a failed output is reported and the others
are still written. Every file is written atomically, so a killed run leaves the previous files intact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kpijmf.domain.runfile import RunSpec, needs_placeholders
from kpijmf.domain.vocab import REPORT_FORMATS, parse_gender
from kpijmf.errors import InvalidFileError, KpijmfError, OutputError
from kpijmf.service.sync import FetchResult
from kpijmf.service.workspace import Workspace

if TYPE_CHECKING:  # pragma: no cover
    from kpijmf.output.report import ReportFile


@dataclass
class RunReport:
    """What a run did: files written, failures (one line each), the refresh summary."""

    written: list[Path] = field(default_factory=list)
    failures: list[tuple[str, KpijmfError]] = field(default_factory=list)
    refresh: FetchResult | None = None

    @property
    def exit_code(self) -> int:
        """0 when everything was written, else the exit code of the first failure."""
        return self.failures[0][1].exit_code if self.failures else 0


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder {folder}: {exc.strerror}") from None


def write_files(files: Sequence[ReportFile]) -> None:
    """Write a report's files in order (images first), each atomically, creating their folders."""
    from kpijmf.output.sink import write_output

    for file in files:
        _make_folder(file.path.parent)
        write_output(file.data, str(file.path))


def execute(
    spec: RunSpec, workspace: Workspace, on_written: Callable[[Path], None] | None = None, *, lang: str = "sv"
) -> RunReport:
    """Refresh, then compare and write each output; failures of single outputs don't stop the others. Reports
    (html, md-report) are written in `lang`."""
    from kpijmf.output.files import render_bytes
    from kpijmf.output.sink import write_output

    problems = needs_placeholders(spec)
    if problems:
        raise InvalidFileError(problems)
    report = RunReport()
    if spec.refresh:
        for set_name in spec.sets:
            report.refresh = workspace.refresh(set_name=set_name, kommuner=spec.kommuner)
    genders, gap = parse_gender(spec.gender)
    for kommun in spec.kommuner:
        for set_name in spec.sets:
            label = f"{kommun} / {Path(set_name).stem}"
            try:
                frame = workspace.compare(
                    kommun,
                    set_name=set_name,
                    years=spec.years,
                    last=spec.last,
                    peers=spec.peers,
                    vs=spec.vs,
                    genders=genders,
                    gap=gap,
                )
            except KpijmfError as exc:
                report.failures.append((label, exc))
                continue
            for output in spec.outputs:
                try:
                    target = output.target(spec.base, frame.attrs["kommun_id"], frame.attrs["kommun_title"],
                                           frame.attrs["kpi_set"])  # fmt: skip
                    _make_folder(target.parent)
                    if output.format in REPORT_FORMATS:
                        from kpijmf.output.report import report_files

                        distribution = workspace.distribution(frame)
                        write_files(report_files(frame, distribution, output.format, target, lang=lang))
                    else:
                        write_output(render_bytes(frame, output.format, wide=output.wide), str(target))
                except KpijmfError as exc:
                    report.failures.append((label, exc))
                    continue
                report.written.append(target)
                if on_written is not None:
                    on_written(target)
    return report
