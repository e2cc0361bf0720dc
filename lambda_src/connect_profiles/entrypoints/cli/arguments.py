"""The command line: the argparse tree of validate, plan, apply and export; the checks of options
argparse cannot make itself (the instance id, the pacing options); the engine settings they give."""

from __future__ import annotations

import argparse
import os
import re
from importlib import metadata
from pathlib import Path

from connect_profiles.adapters.quotas import PacingOptions
from connect_profiles.contract import (
    DEFAULT_CONNECT_BURST,
    DEFAULT_CONNECT_RATE,
    DEFAULT_HEADROOM_PERCENT,
    DEFAULT_MAX_GROUP_USERS,
    DEFAULT_MAX_PROFICIENCIES,
    parse_api_rates,
    parse_headroom,
)
from connect_profiles.domain.engine import EngineSettings
from connect_profiles.entrypoints.cli.exit_status import CommandError

TABLE_ROWS = 50  # the per-row table for small files; larger ones get the summary (and --verbose)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _version() -> str:
    try:
        return metadata.version("connect-profiles")
    except metadata.PackageNotFoundError:
        return "unknown"


_EPILOG = """examples:
  connect-profiles validate changes.csv
  connect-profiles plan changes.csv --instance-id 11111111-2222-4333-8444-555555555555
  connect-profiles apply changes.csv --instance-id <id> --out run-1
  connect-profiles apply changes.csv --instance-id <id> --yes --output json   # scripts, CI
  connect-profiles apply run-1/rollback.csv --instance-id <id>        # undo run-1
  connect-profiles apply --sync run-1/backup.csv --instance-id <id>   # put its users back exactly
  connect-profiles export --instance-id <id> -o everyone.csv

exit status:
  0  no row failed      1  some rows failed (retry.csv holds them)
  2  the file was rejected, or the command could not run (one line on stderr says why)
  130  interrupted by Ctrl-C (the files still describe what was done)

On a terminal, apply shows the account, Region and instance, then asks before the first write
(--yes skips the question; without a terminal it does not ask). NO_COLOR turns colour off.
"""


def _instance_id(text: str) -> str:
    """The instance id, refused before any call when it is not one: an ARN is a common slip."""
    value = text.strip()
    if value.lower().startswith("arn:"):
        _, _, tail = value.partition("instance/")
        hint = f" ({tail.split('/')[0]})" if tail else ""
        raise argparse.ArgumentTypeError(
            f"{value!r} is an instance ARN: pass only the id after 'instance/'{hint}"
        )
    if not _UUID.fullmatch(value.lower()):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an instance id: it is the UUID at the end of the instance ARN "
            "(Amazon Connect console > your instance)"
        )
    return value.lower()


def build_parser() -> argparse.ArgumentParser:
    """The parser; each command sets `command` to its name (commands.COMMANDS runs it)."""
    parser = argparse.ArgumentParser(
        prog="connect-profiles",
        description="Bulk-manage Amazon Connect agents' routing proficiencies.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check a file offline; nothing is sent to AWS")
    validate.add_argument("file", type=Path)
    validate.add_argument("--sync", action="store_true", help="FILE is a desired-state file")
    _output_option(validate)
    validate.set_defaults(command="validate")

    for name, help_text in (
        ("plan", "dry run against the instance: what would change; nothing is changed"),
        ("apply", "apply a file to the instance"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("file", type=Path)
        command.add_argument(
            "--verbose", action="store_true", help=f"print every row, even past {TABLE_ROWS} rows"
        )
        if name == "apply":
            command.add_argument(
                "--dry-run", action="store_true", help="plan instead: what would change, nothing is changed"
            )
            command.add_argument(
                "-y",
                "--yes",
                action="store_true",
                help="do not ask before writing (on a terminal apply asks once users are resolved; "
                "without one it never asks)",
            )
        else:
            command.set_defaults(yes=True)
        _output_option(command)
        command.add_argument(
            "--sync",
            action="store_true",
            help="FILE is a desired-state file: each user it names ends with exactly the pairs listed "
            "(held pairs not listed are removed)",
        )
        _connect_options(command)
        command.add_argument(
            "--out",
            type=Path,
            help="folder for report.csv, changes.csv, rollback.csv, retry.csv, backup.csv and job.json "
            + ("(default: none for plan)" if name == "plan" else "(default: <file>-<UTC time>/)"),
        )
        command.set_defaults(command=name)

    export = commands.add_parser(
        "export", help="every user's proficiencies as a sync file (set rows; the daily snapshot's format)"
    )
    _connect_options(export)
    export.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    export.set_defaults(command="export")
    return parser


def _output_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--output",
        choices=("text", "json"),
        default="text",
        help="json: the result summary as one JSON document on stdout, and nothing else there",
    )


def _connect_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--instance-id",
        type=_instance_id,
        default=os.environ.get("CONNECT_INSTANCE_ID"),
        required="CONNECT_INSTANCE_ID" not in os.environ,
        help="the Connect instance id (default: $CONNECT_INSTANCE_ID)",
    )
    command.add_argument(
        "--region",
        help="AWS Region of the instance (default: $AWS_REGION, else $AWS_DEFAULT_REGION, else the "
        "profile's region)",
    )
    command.add_argument("--profile", help="AWS named profile")
    command.add_argument(
        "--rate",
        type=float,
        help="requests per second for every Connect API, instead of the account's quotas (default: each "
        "API at its applied quota from Service Quotas, or Connect's documented "
        f"{DEFAULT_CONNECT_RATE:g}/s when they cannot be read)",
    )
    command.add_argument(
        "--burst",
        type=int,
        help=f"burst for every Connect API (default {DEFAULT_CONNECT_BURST}, or the quota value if higher)",
    )
    command.add_argument(
        "--api-rate",
        action="append",
        default=[],
        metavar="API=RATE[:BURST]",
        help="one Connect API's rate (and burst), over --rate and the quotas; repeatable "
        "(e.g. --api-rate ListUserProficiencies=10:10)",
    )
    command.add_argument(
        "--headroom",
        default=str(DEFAULT_HEADROOM_PERCENT),
        metavar="PERCENT",
        help=f"percent of each account quota to use; others share it (default {DEFAULT_HEADROOM_PERCENT:g})",
    )
    command.add_argument(
        "--max-proficiencies",
        type=int,
        default=DEFAULT_MAX_PROFICIENCIES,
        help=f"the per-agent proficiency quota (default {DEFAULT_MAX_PROFICIENCIES})",
    )
    command.add_argument(
        "--max-group-users",
        type=int,
        default=DEFAULT_MAX_GROUP_USERS,
        help="a group row (routing_profile, security_profile, hierarchy_group, all) reaching more users "
        f"than this fails before any write (default {DEFAULT_MAX_GROUP_USERS:,})",
    )


def engine_settings(args: argparse.Namespace) -> EngineSettings:
    return EngineSettings(max_proficiencies=args.max_proficiencies, max_group_users=args.max_group_users)


def pacing_options(args: argparse.Namespace) -> PacingOptions:
    """--rate, --burst, --api-rate and --headroom, checked (a bad one is exit 2 with one line)."""
    if args.rate is not None and args.rate <= 0:
        raise CommandError(f"--rate must be above 0, got {args.rate:g}")
    if args.burst is not None and args.burst < 1:
        raise CommandError(f"--burst must be at least 1, got {args.burst}")
    try:
        api_rates: dict[str, tuple[float, int | None]] = {}
        for item in args.api_rate:
            for api, value in parse_api_rates(item, source="--api-rate").items():
                if api in api_rates:
                    raise ValueError(f"--api-rate: {api} is given twice")
                api_rates[api] = value
        headroom = parse_headroom(args.headroom, source="--headroom")
    except ValueError as error:
        raise CommandError(str(error)) from error
    return PacingOptions.build(
        rate=args.rate, burst=args.burst, api_rates=api_rates, headroom_percent=headroom
    )
