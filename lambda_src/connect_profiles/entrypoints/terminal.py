"""What the CLI shows: notes and the confirmation question on stderr, progress on stderr (only on a
terminal), the per-row table and the summary on stdout, or the summary as JSON for scripts.

Colour and progress only on a terminal; never colour with NO_COLOR set (https://no-color.org). rich
honours NO_COLOR by dropping colours but keeps bold and the like, so with NO_COLOR the consoles get
no colour system at all: no styling escapes whatever the style.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from connect_profiles.domain.engine import JobResult
from connect_profiles.domain.model import RowOutcome, Status, failures_by_reason
from connect_profiles.domain.outputs import format_table

OUTCOME_COLUMNS = ("line", "identifier", "action", "attribute", "value", "level", "status", "message")
_STATUS_STYLES = {
    Status.SUCCEEDED: "green",
    Status.PLANNED: "cyan",
    Status.SKIPPED: "dim",
    Status.FAILED: "bold red",
}


def _console(stream: TextIO, environ: Mapping[str, str]) -> Console:
    plain = bool(environ.get("NO_COLOR"))
    return Console(file=stream, color_system=None if plain else "auto", highlight=False)


# Narrower than this, a table would leave the message (what people read) a sliver: each row is shown
# as a line of its cells with its message indented under it instead.
TABLE_MIN_WIDTH = 120


class Terminal:
    """The CLI's two streams, and whether a person is there to answer."""

    def __init__(
        self,
        *,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        self._stdin = stdin or sys.stdin
        self.out = _console(stdout or sys.stdout, environ)
        self.err = _console(stderr or sys.stderr, environ)

    @property
    def interactive(self) -> bool:
        """A person can answer: stdin and stderr are terminals (stdout may be piped)."""
        return self._stdin.isatty() and self.err.is_terminal

    def note(self, text: str, *, style: str = "") -> None:
        """One line on stderr, never wrapped (a pipe's width is no reason to break it)."""
        self.err.print(Text(text, style=style), soft_wrap=True)

    def say(self, text: str) -> None:
        """Text on stdout, as it is."""
        self.out.print(Text(text), soft_wrap=True)

    def ask(self, question: str) -> bool:
        """A yes/no question on stderr; anything but y or yes (end of input too) is no."""
        self.err.print(Text(question, style="bold"), end=" ", soft_wrap=True)
        answer = self._stdin.readline()
        return answer.strip().lower() in {"y", "yes"}

    def outcome_table(self, outcomes: Sequence[RowOutcome]) -> None:
        """Every row's outcome: a table fitting the terminal's width, or plain aligned columns on a
        pipe (one line per row, for grep and awk)."""
        cells = [
            (
                str(o.row.line),
                o.row.identifier,
                o.row.action,
                o.row.attribute,
                o.row.value,
                o.row.level,
                o.status.value,
                o.message,
            )
            for o in outcomes
        ]
        if not self.out.is_terminal:
            self.say(format_table(OUTCOME_COLUMNS, cells))
            return
        if self.out.width < TABLE_MIN_WIDTH:
            for outcome, row in zip(outcomes, cells, strict=True):
                pair = "=".join(cell for cell in row[3:5] if cell)
                line = Text(f"line {row[0]}  {'  '.join(c for c in (row[1], row[2], pair, row[5]) if c)}  ")
                line.append(row[6], style=_STATUS_STYLES[outcome.status])
                self.out.print(line, overflow="fold")
                if row[7]:
                    self.out.print(Padding(Text(row[7]), (0, 0, 0, 4)), overflow="fold")
            return
        # expand: the message column takes what the short ones leave (ratio works only when expanded)
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, expand=True)
        for name in OUTCOME_COLUMNS:
            wraps = name in ("identifier", "message")
            table.add_column(name, no_wrap=not wraps, overflow="fold", ratio=3 if name == "message" else None)
        for outcome, row in zip(outcomes, cells, strict=True):
            table.add_row(*row[:6], Text(row[6], style=_STATUS_STYLES[outcome.status]), row[7])
        self.out.print(table)

    def progress(
        self, label: str, *, unit: str = "users", stats: Callable[[], str] | None = None
    ) -> JobProgress:
        return JobProgress(self.err, label, unit=unit, stats=stats)


class _Stats(ProgressColumn):
    """Calls sent and throttles met so far, read at each refresh (not only when a user finishes)."""

    def __init__(self, stats: Callable[[], str]) -> None:
        super().__init__()
        self._stats = stats

    def render(self, task: Task) -> Text:
        return Text(self._stats())


class _Rate(ProgressColumn):
    def __init__(self, unit: str) -> None:
        super().__init__()
        self._unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} {self._unit}/s" if speed else f"- {self._unit}/s")


class JobProgress:
    """Progress on stderr: done/total, calls sent, throttles, rate and time remaining. Drawn only on a
    terminal; on a pipe every call is a no-op."""

    def __init__(
        self, console: Console, label: str, *, unit: str = "users", stats: Callable[[], str] | None = None
    ) -> None:
        self._label = label
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if console.is_terminal:
            columns: list[str | ProgressColumn] = [
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(unit),
            ]
            if stats:
                columns.append(_Stats(stats))
            columns += [_Rate(unit), TimeRemainingColumn()]
            self._progress = Progress(*columns, console=console)

    def __enter__(self) -> JobProgress:
        if self._progress:
            self._progress.start()
            self._task = self._progress.add_task(self._label, total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress:
            self._progress.stop()

    def update(self, done: int, total: int) -> None:
        if self._progress and self._task is not None:
            self._progress.update(self._task, completed=done, total=total)

    def pause(self) -> None:
        """Stop drawing (the bar so far stays on screen), e.g. to ask a question."""
        if self._progress:
            self._progress.stop()

    def next_phase(self, label: str) -> None:
        """Go on drawing, with a new bar for the next pass over the users."""
        if self._progress:
            if self._task is not None:
                self._progress.remove_task(self._task)  # its last state is on screen already
            self._progress.start()
            self._task = self._progress.add_task(label, total=None)


def summary_document(
    result: JobResult,
    *,
    command: str,
    file: str,
    instance: Mapping[str, str],
    out: str | None,
    files: Sequence[str],
    exit_status: int,
    duration_seconds: float,
    interrupted: bool,
) -> str:
    """The result summary as one JSON document, for scripts: the same keys every time."""
    statuses = [status.value for status in Status]
    counts = result.counts()
    document: dict[str, Any] = {
        "command": command,
        "file": file,
        "instance": dict(instance),
        "dry_run": result.dry_run,
        "sync": result.sync,
        "rows": len(result.outcomes),
        "counts": {status: counts[status] for status in statuses},
        "counts_by_action": {
            action: {status: by_status[status] for status in statuses}
            for action, by_status in sorted(result.counts_by_action().items())
        },
        "failures_by_reason": [
            {"reason": reason, "count": len(lines), "lines": lines}
            for reason, lines in failures_by_reason(result.failures)
        ],
        "changes": len(result.changes),
        "warnings": list(result.warnings),
        "out": out,
        "files": list(files),
        "denied": str(result.denied) if result.denied else None,
        "interrupted": interrupted,
        "duration_seconds": round(duration_seconds, 3),
        "exit_status": exit_status,
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
