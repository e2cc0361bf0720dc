"""`connect-profiles`: the engine from a terminal. This module is the front door, `main`: it parses the
arguments, runs the command and turns what stops it into one line on stderr and an exit status.

Exit status: 0 no row failed, 1 some row failed, 2 the file was rejected or the command could not
run (a one-line reason on stderr, never a traceback), 130 interrupted by Ctrl-C (files still written).

The package: `arguments` (the parser and the option checks), `commands` (validate, plan, apply,
export), `session` (caller and Region, the paced gateway, the output folder, Ctrl-C) and `exit_status`;
`entrypoints.terminal` renders and `entrypoints.aws_target` names the account, Region and instance.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from connect_profiles.domain.engine import NotConfirmed
from connect_profiles.domain.model import FileRejected
from connect_profiles.entrypoints.aws_target import advice
from connect_profiles.entrypoints.cli.arguments import build_parser
from connect_profiles.entrypoints.cli.commands import COMMANDS
from connect_profiles.entrypoints.cli.exit_status import EXIT_CANNOT_RUN, EXIT_INTERRUPTED, CommandError
from connect_profiles.ports import CallCancelled, ConnectCallError, ConnectUnavailable

__all__ = ["main"]


# Errors whose message is already the one line a person needs (advice() covers the rest it knows).
_ONE_LINE_ERRORS = (CommandError, ConnectUnavailable, ConnectCallError, ValueError)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(COMMANDS[args.command](args))
    except FileRejected as error:
        print(f"connect-profiles: file rejected, nothing applied: {error}", file=sys.stderr)
    except NotConfirmed:
        print("connect-profiles: nothing applied: not confirmed", file=sys.stderr)
    except (KeyboardInterrupt, CallCancelled):
        print("connect-profiles: interrupted before any change was made", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        said = advice(error, getattr(args, "region_choice", None))
        if said is None and not isinstance(error, _ONE_LINE_ERRORS):
            raise
        print(f"connect-profiles: {said or error}", file=sys.stderr)
    return EXIT_CANNOT_RUN
