"""How `connect-profiles` ends: its exit statuses, and CommandError for "cannot run" (exit 2, one line)."""

from __future__ import annotations

from connect_profiles.domain.engine import JobResult

EXIT_OK, EXIT_ROWS_FAILED, EXIT_CANNOT_RUN = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


class CommandError(Exception):
    """The command cannot run; the message is the one line the person sees."""


def job_exit_status(result: JobResult, *, interrupted: bool = False) -> int:
    if result.denied:
        return EXIT_CANNOT_RUN
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_ROWS_FAILED if result.failed else EXIT_OK
