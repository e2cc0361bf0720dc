"""`connect-profiles`: the engine from a terminal.

Exit status: 0 no row failed, 1 some row failed, 2 the file was rejected or the command could not
run (a one-line reason on stderr, never a traceback), 130 interrupted by Ctrl-C (files still written).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

from connect_profiles.adapters.connect import ConnectGateway, connect_client
from connect_profiles.adapters.identity import caller_arn
from connect_profiles.adapters.pacing import Pacer
from connect_profiles.adapters.quotas import PacingOptions, PacingPlan, pacing_lines, resolve_pacing
from connect_profiles.contract import (
    DEFAULT_CONNECT_BURST,
    DEFAULT_CONNECT_RATE,
    DEFAULT_HEADROOM_PERCENT,
    DEFAULT_MAX_GROUP_USERS,
    DEFAULT_MAX_PROFICIENCIES,
    parse_api_rates,
    parse_headroom,
)
from connect_profiles.domain.engine import ConnectBusy, EngineSettings, JobResult, check_offline, run_job
from connect_profiles.domain.model import FileRejected, RowOutcome, Status
from connect_profiles.domain.outputs import JOB_RECORD, format_table, job_record, render_files, summarise
from connect_profiles.domain.snapshot import read_everyone, snapshot_csv
from connect_profiles.ports import CallCancelled, ConnectCallError, ConnectUnavailable, PermissionDenied

EXIT_OK, EXIT_ROWS_FAILED, EXIT_CANNOT_RUN = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C
TABLE_ROWS = 50  # the per-row table for small files; larger ones get the summary (and --verbose)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _version() -> str:
    try:
        return metadata.version("connect-profiles")
    except metadata.PackageNotFoundError:
        return "unknown"


class CommandError(Exception):
    """The command cannot run; the message is the one line the person sees."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except FileRejected as error:
        print(f"connect-profiles: file rejected, nothing applied: {error}", file=sys.stderr)
    except PermissionDenied as error:
        print(f"connect-profiles: {_denied(error)}", file=sys.stderr)
    except (CommandError, ConnectUnavailable, ConnectCallError, ValueError) as error:
        print(f"connect-profiles: {error}", file=sys.stderr)
    except (KeyboardInterrupt, CallCancelled):
        print("connect-profiles: interrupted before any change was made", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_CANNOT_RUN


_EPILOG = """examples:
  connect-profiles validate changes.csv
  connect-profiles plan changes.csv --instance-id 11111111-2222-4333-8444-555555555555
  connect-profiles apply changes.csv --instance-id <id> --out run-1
  connect-profiles apply run-1/rollback.csv --instance-id <id>        # undo run-1
  connect-profiles apply --sync run-1/backup.csv --instance-id <id>   # put its users back exactly
  connect-profiles export --instance-id <id> -o everyone.csv

exit status:
  0  no row failed      1  some rows failed (retry.csv holds them)
  2  the file was rejected, or the command could not run (one line on stderr says why)
  130  interrupted by Ctrl-C (the files still describe what was done)
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


def _parser() -> argparse.ArgumentParser:
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
    validate.set_defaults(run=_validate)

    for name, help_text, run in (
        ("plan", "dry run against the instance: what would change; nothing is changed", _plan),
        ("apply", "apply a file to the instance", _apply),
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
        command.set_defaults(run=run)

    export = commands.add_parser(
        "export", help="every user's proficiencies as a sync file (set rows; the daily snapshot's format)"
    )
    _connect_options(export)
    export.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    export.set_defaults(run=_export)
    return parser


def _connect_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--instance-id",
        type=_instance_id,
        default=os.environ.get("CONNECT_INSTANCE_ID"),
        required="CONNECT_INSTANCE_ID" not in os.environ,
        help="the Connect instance id (default: $CONNECT_INSTANCE_ID)",
    )
    command.add_argument("--region", help="AWS Region (default: from the AWS configuration)")
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


# --- commands ---------------------------------------------------------------------------------


def _validate(args: argparse.Namespace) -> int:
    offline = check_offline(_read(args.file), sync=args.sync)
    for warning in offline.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    problems = sorted(offline.settled, key=lambda outcome: outcome.row.line)
    for outcome in problems:
        print(f"line {outcome.row.line}: {outcome.status.value}: {outcome.message}")
    failed = sum(1 for outcome in problems if outcome.status is Status.FAILED)
    print(
        f"{args.file.name}: {offline.data_rows} rows; {len(offline.changes)} pass the offline checks, "
        f"{failed} failed, {len(problems) - failed} skipped "
        "(users, attributes and values are checked by plan)"
    )
    return EXIT_ROWS_FAILED if failed else EXIT_OK


def _plan(args: argparse.Namespace) -> int:
    return _run(args, dry_run=True)


def _apply(args: argparse.Namespace) -> int:
    return _run(args, dry_run=args.dry_run)


def _run(args: argparse.Namespace, *, dry_run: bool) -> int:
    data = _read(args.file)
    out_dir = args.out or (None if dry_run else _default_out(args.file))
    if out_dir:
        _check_out(out_dir)  # before the first call: a change must never be left without its files
    settings = _settings(args)
    interrupts = Interrupts()
    gateway, pacer, plan = _paced_gateway(args, settings, cancel=interrupts.event)
    started = time.monotonic()
    bar = ProgressBar(sys.stderr, "planning" if dry_run else "applying")
    started_at = time.time()
    with interrupts:
        result = run_job(
            data,
            gateway,
            settings,
            dry_run=dry_run,
            progress=bar.update,
            interrupt=interrupts.event,
            sync=args.sync,
        )
    bar.close()
    location = str(out_dir) if out_dir else "(not written: pass --out DIR)"
    if out_dir:
        for name, content in render_files(
            result, file_name=args.file.name, instance_id=args.instance_id
        ).items():
            (out_dir / name).write_bytes(content)
        record = job_record(
            result,
            who=caller_arn(region=args.region, profile=args.profile),
            source={"file": str(args.file.resolve())},
            instance_id=args.instance_id,
            started=started_at,
            finished=time.time(),
        )
        (out_dir / JOB_RECORD).write_bytes(record)
    summary = summarise(
        result,
        file_name=args.file.name,
        instance_id=args.instance_id,
        duration_seconds=time.monotonic() - started,
        location=location,
        notes=pacing_lines(plan, pacer),
    )
    if args.verbose or len(result.outcomes) <= TABLE_ROWS:
        print(_outcome_table(result.outcomes))
        print()
    print(summary.subject)
    print(summary.body)
    if result.denied:
        print(f"connect-profiles: stopped: {_denied(result.denied)}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    if interrupts.event.is_set():
        print(f"connect-profiles: interrupted; what was done is in {location}", file=sys.stderr)
        return EXIT_INTERRUPTED
    return _exit_status(result)


def _export(args: argparse.Namespace) -> int:
    settings = _settings(args)
    gateway = _gateway(args, settings)
    gateway.count_users()  # unknown instance or credentials: exit 2 before any output
    users = list(gateway.list_users())
    print(f"reading the proficiencies of {len(users)} users...", file=sys.stderr)
    try:
        holdings = read_everyone(gateway, users, workers=settings.workers)
    except ConnectBusy as error:
        raise CommandError(f"Connect stayed unavailable, so nothing was written: {error}") from error
    content = snapshot_csv(holdings)
    proficiencies = sum(len(held) for _, held in holdings)
    if args.output:
        args.output.write_bytes(content)
        print(
            f"{proficiencies} proficiencies of {len(holdings)} users written to {args.output}",
            file=sys.stderr,
        )
    else:
        sys.stdout.buffer.write(content)
    return EXIT_OK


# --- helpers ----------------------------------------------------------------------------------


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror or error}") from error


def _settings(args: argparse.Namespace) -> EngineSettings:
    return EngineSettings(max_proficiencies=args.max_proficiencies, max_group_users=args.max_group_users)


def _gateway(
    args: argparse.Namespace, settings: EngineSettings, *, cancel: threading.Event | None = None
) -> ConnectGateway:
    return _paced_gateway(args, settings, cancel=cancel)[0]


def _paced_gateway(
    args: argparse.Namespace, settings: EngineSettings, *, cancel: threading.Event | None = None
) -> tuple[ConnectGateway, Pacer, PacingPlan]:
    """The gateway, paced at the account's quotas (read first, unless every rate was given)."""
    plan = resolve_pacing(_pacing_options(args), region=args.region, profile=args.profile)
    for warning in plan.warnings:
        print(f"connect-profiles: warning: {warning}", file=sys.stderr)
    pacer = plan.pacer(cancel=cancel)
    client = connect_client(pacer, region=args.region, profile=args.profile, pool_size=settings.workers * 2)
    return ConnectGateway(client, args.instance_id), pacer, plan


def _pacing_options(args: argparse.Namespace) -> PacingOptions:
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


def _check_out(folder: Path) -> None:
    """Create the output folder and prove it writable, or say in one line why it cannot be."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".connect-profiles-{os.getpid()}.tmp"
        probe.write_bytes(b"")
        probe.unlink()
    except FileExistsError as error:
        raise CommandError(f"--out {folder} is a file, not a folder: choose another path") from error
    except OSError as error:
        raise CommandError(f"cannot write to --out {folder}: {error.strerror or error}") from error


def _denied(error: PermissionDenied) -> str:
    return (
        f"permission denied: {error.action} on {error.resource}. Use credentials allowed to call it "
        "(--profile, or your AWS environment), or ask your AWS administrator to grant it."
    )


class Interrupts:
    """Ctrl-C while a job runs: the first press stops new calls (calls in flight finish) and the
    files are still written for what was done; a second press quits at once."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._previous: Any = None

    def __enter__(self) -> Interrupts:
        self._previous = signal.signal(signal.SIGINT, self._on_interrupt)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self._previous)

    def _on_interrupt(self, signum: int, frame: object) -> None:
        if self.event.is_set():
            os._exit(EXIT_INTERRUPTED)
        self.event.set()
        print(
            "\nconnect-profiles: stopping: no new calls; waiting for calls in flight, then writing the "
            "files (Ctrl-C again to quit at once, without them)",
            file=sys.stderr,
        )


def _default_out(file: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(f"{file.stem}-{stamp}")


def _exit_status(result: JobResult) -> int:
    return EXIT_ROWS_FAILED if result.failed else EXIT_OK


def _outcome_table(outcomes: Sequence[RowOutcome]) -> str:
    header = ("line", "identifier", "action", "attribute", "value", "level", "status", "message")
    rows = [
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
    return format_table(header, rows)


class ProgressBar:
    """A one-line progress bar, drawn only on a terminal."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self._stream = stream
        self._label = label
        self._active = stream.isatty()
        self._drawn = False

    def update(self, done: int, total: int) -> None:
        if not self._active or total == 0:
            return
        filled = int(30 * done / total)
        self._stream.write(f"\r{self._label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} users")
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
