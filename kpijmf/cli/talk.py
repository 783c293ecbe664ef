"""Talk on stderr: messages, warnings, errors and the progress bar. stdout is kept for data."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from kpijmf.errors import UsageError
from kpijmf.messages import msg
from kpijmf.output.clean import printable

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console


class Talk:
    """Writes human-facing lines to stderr; `quiet` keeps only errors."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.quiet = quiet
        self._console: Console | None = None
        if quiet:
            _silence_libraries()

    @property
    def console(self) -> Console:
        """A rich console on stderr (colour only on a terminal; NO_COLOR honoured by rich)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True, highlight=False, soft_wrap=True)
        return self._console

    def say(self, message: str) -> None:
        """An informational line (silenced by --quiet)."""
        if not self.quiet:
            self._plain(message)

    def warn(self, message: str) -> None:
        """A warning line (silenced by --quiet)."""
        if not self.quiet:
            self._plain(f"kpijmf: warning: {message}")

    def interrupted(self) -> None:
        """The line for Ctrl-C and SIGTERM: always shown, in the run's language (Swedish when that is unknown)."""
        try:
            word = msg("interrupted")
        except UsageError:  # a bad KPIJMF_LANG, interrupted before the root option could say so
            word = msg("interrupted", lang="sv")
        self._plain(f"kpijmf: {word}")

    def error(self, message: str) -> None:
        """An error line: always shown, always one line."""
        self._plain(f"kpijmf: error: {' '.join(str(message).split())}")

    @staticmethod
    def _plain(line: str) -> None:
        sys.stderr.write(printable(line) + "\n")
        sys.stderr.flush()

    @contextmanager
    def progress(self, description: str) -> Iterator[Callable[[int, int], None]]:
        """A progress bar on stderr, shown only on a terminal and without --quiet; yields an update(done, total)."""
        if self.quiet or not sys.stderr.isatty():
            yield lambda _done, _total: None
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        ) as bar:
            task = bar.add_task(description, total=None)

            def update(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            yield update


def _silence_libraries() -> None:
    """--quiet: Python warnings and library log lines (matplotlib's "mkdir -p failed", "created a temporary cache
    directory") stay off stderr; errors still show. The CLI owns the process, so it may set this for it."""
    import logging
    import warnings

    warnings.simplefilter("ignore")
    for name in ("matplotlib", "fontTools", "PIL"):
        logging.getLogger(name).setLevel(logging.ERROR)
