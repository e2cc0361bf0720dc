"""`connect-profiles`: the engine from a terminal.

Exit status: 0 no row failed, 1 some row failed, 2 the file was rejected or the command could not
run (a one-line reason on stderr, never a traceback), 130 interrupted by Ctrl-C (files still written).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from connect_profiles.adapters.connect import ConnectGateway, connect_client
from connect_profiles.adapters.identity import Caller, RegionChoice, caller, resolve_region
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
from connect_profiles.domain.engine import (
    EngineSettings,
    JobResult,
    NotConfirmed,
    Preview,
    check_offline,
    run_job,
)
from connect_profiles.domain.model import JOB_RECORD, RETRY, FileRejected, Status
from connect_profiles.domain.outputs import job_record, render_files, summarise
from connect_profiles.domain.snapshot import read_everyone, snapshot_csv
from connect_profiles.entrypoints.aws_target import Target, advice, busy_rows_hint, find_target
from connect_profiles.entrypoints.terminal import JobProgress, Terminal, summary_document
from connect_profiles.ports import CallCancelled, ConnectCallError, ConnectUnavailable

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


# Errors whose message is already the one line a person needs (advice() covers the rest it knows).
_ONE_LINE_ERRORS = (CommandError, ConnectUnavailable, ConnectCallError, ValueError)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
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
    _output_option(validate)
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
        command.set_defaults(run=run)

    export = commands.add_parser(
        "export", help="every user's proficiencies as a sync file (set rows; the daily snapshot's format)"
    )
    _connect_options(export)
    export.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    export.set_defaults(run=_export)
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


# --- commands ---------------------------------------------------------------------------------


def _validate(args: argparse.Namespace) -> int:
    offline = check_offline(_read(args.file), sync=args.sync)
    problems = sorted(offline.settled, key=lambda outcome: outcome.row.line)
    failed = sum(1 for outcome in problems if outcome.status is Status.FAILED)
    status = EXIT_ROWS_FAILED if failed else EXIT_OK
    if args.output == "json":
        document = {
            "command": "validate",
            "file": str(args.file),
            "rows": offline.data_rows,
            "passed": len(offline.changes),
            "failed": failed,
            "skipped": len(problems) - failed,
            "problems": [
                {"line": o.row.line, "status": o.status.value, "message": o.message} for o in problems
            ],
            "warnings": list(offline.warnings),
            "exit_status": status,
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return status
    for warning in offline.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for outcome in problems:
        print(f"line {outcome.row.line}: {outcome.status.value}: {outcome.message}")
    print(
        f"{args.file.name}: {offline.data_rows} rows; {len(offline.changes)} pass the offline checks, "
        f"{failed} failed, {len(problems) - failed} skipped "
        "(users, attributes and values are checked by plan)"
    )
    return status


def _plan(args: argparse.Namespace) -> int:
    return _run(args, dry_run=True)


def _apply(args: argparse.Namespace) -> int:
    return _run(args, dry_run=args.dry_run)


def _run(args: argparse.Namespace, *, dry_run: bool) -> int:
    data = _read(args.file)
    settings = _settings(args)
    check_offline(data, settings.limits, sync=args.sync)  # a rejected file is refused before any call
    out_dir = args.out or (None if dry_run else _default_out(args.file))
    created = _check_out(out_dir) if out_dir else False  # before the first call: no change without files
    terminal = Terminal()
    interrupts = Interrupts()
    who = _where(args)
    gateway, pacer, plan = _paced_gateway(args, settings, cancel=interrupts.event)
    target = find_target(gateway, who, args.region_choice)
    terminal.note(target.line(), style="bold")
    if target.note:
        terminal.note(target.note)
    asking = not dry_run and not args.yes and terminal.interactive
    started, started_at = time.monotonic(), time.time()
    label = "reading" if asking else ("planning" if dry_run else "applying")
    progress = terminal.progress(label, stats=_call_counts(pacer))
    try:
        with interrupts, progress:
            result = run_job(
                data,
                gateway,
                settings,
                dry_run=dry_run,
                progress=progress.update,
                interrupt=interrupts.event,
                sync=args.sync,
                confirm=(lambda preview: _confirm(terminal, progress, target, preview)) if asking else None,
            )
    except (NotConfirmed, KeyboardInterrupt):
        # Declined, or Ctrl-C at the question: nothing applied, so no files (nor their folder) either.
        if created and out_dir and not any(out_dir.iterdir()):
            out_dir.rmdir()
        raise
    files = _write_files(result, out_dir, args, who=who, started_at=started_at) if out_dir else []
    interrupted = interrupts.event.is_set()
    status = _exit_status(result, interrupted=interrupted)
    duration = time.monotonic() - started
    if args.output == "json":
        print(
            summary_document(
                result,
                command="plan" if dry_run else "apply",
                file=str(args.file),
                instance=target.as_dict(),
                out=str(out_dir) if out_dir else None,
                files=files,
                exit_status=status,
                duration_seconds=duration,
                interrupted=interrupted,
            )
        )
    else:
        summary = summarise(
            result,
            file_name=args.file.name,
            instance_id=args.instance_id,
            duration_seconds=duration,
            location=str(out_dir) if out_dir else None,
            notes=pacing_lines(plan, pacer),
            door="cli",
        )
        if args.verbose or len(result.outcomes) <= TABLE_ROWS:
            terminal.outcome_table(result.outcomes)
            terminal.say("")
        terminal.say(summary.subject)
        terminal.say(summary.body)
    if result.denied:
        print(f"connect-profiles: stopped: {advice(result.denied)}", file=sys.stderr)
    elif interrupted:
        print(
            f"connect-profiles: interrupted; what was done is in {out_dir or 'the summary'}", file=sys.stderr
        )
    else:
        hint = busy_rows_hint(result, str(out_dir / RETRY) if out_dir and not dry_run else None)
        if hint:
            print(f"connect-profiles: {hint}", file=sys.stderr)
    return status


def _write_files(
    result: JobResult, out_dir: Path, args: argparse.Namespace, *, who: Caller, started_at: float
) -> list[str]:
    files = render_files(result, file_name=args.file.name, instance_id=args.instance_id)
    for name, content in files.items():
        (out_dir / name).write_bytes(content)
    record = job_record(
        result,
        who=who.arn,
        source={"file": str(args.file.resolve())},
        instance_id=args.instance_id,
        started=started_at,
        finished=time.time(),
    )
    (out_dir / JOB_RECORD).write_bytes(record)
    return [*files, JOB_RECORD]


def _confirm(terminal: Terminal, progress: JobProgress, target: Target, preview: Preview) -> bool:
    """Asked once users are read and folded, before the first write. Ctrl-C here quits at once
    (nothing is written yet), rather than asking the running job to stop."""
    progress.pause()
    failing = f"; {preview.failed} rows would fail" if preview.failed else ""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yes = terminal.ask(
            f"Apply {preview.changes} changes to {preview.users} users on {target.where}{failing}? [y/N]"
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    if yes:
        progress.next_phase("applying")
    return yes


def _export(args: argparse.Namespace) -> int:
    settings = _settings(args)
    terminal = Terminal()
    who = _where(args)
    gateway, pacer, _ = _paced_gateway(args, settings)
    terminal.note(find_target(gateway, who, args.region_choice).line(), style="bold")
    gateway.count_users()  # unknown instance or credentials: exit 2 before any output
    users = list(gateway.list_users())
    terminal.note(f"reading the proficiencies of {len(users)} users...")
    progress = terminal.progress("reading", stats=_call_counts(pacer))
    with progress:
        holdings = read_everyone(gateway, users, workers=settings.workers, progress=progress.update)
    content = snapshot_csv(holdings)
    proficiencies = sum(len(held) for _, held in holdings)
    if args.output:
        args.output.write_bytes(content)
        terminal.note(f"{proficiencies} proficiencies of {len(holdings)} users written to {args.output}")
    else:
        sys.stdout.buffer.write(content)
    return EXIT_OK


# --- helpers ----------------------------------------------------------------------------------


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror or error}") from error


def _where(args: argparse.Namespace) -> Caller:
    """The Region (--region, AWS_REGION, AWS_DEFAULT_REGION, the profile: botocore alone reads only
    the last two) and the caller; no Region or no credentials stop here, before any Connect call."""
    choice: RegionChoice = resolve_region(args.region, args.profile)
    args.region, args.region_choice = choice.name, choice
    return caller(region=choice.name, profile=args.profile)


_WRITE_APIS = frozenset(
    {"AssociateUserProficiencies", "UpdateUserProficiencies", "DisassociateUserProficiencies"}
)


def _call_counts(pacer: Pacer) -> Callable[[], str]:
    """For the progress line: writes sent (attempts, retries included) and throttles met so far."""

    def counts() -> str:
        paces = pacer.paces()
        writes = sum(pace.sent for pace in paces if pace.api in _WRITE_APIS)
        throttles = sum(pace.throttles for pace in paces)
        return f"{writes} writes, {throttles} throttled"

    return counts


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


def _check_out(folder: Path) -> bool:
    """Create the output folder and prove it writable, or say in one line why it cannot be. True
    when it was created here."""
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".connect-profiles-{os.getpid()}.tmp"
        probe.write_bytes(b"")
        probe.unlink()
    except FileExistsError as error:
        raise CommandError(f"--out {folder} is a file, not a folder: choose another path") from error
    except OSError as error:
        raise CommandError(f"cannot write to --out {folder}: {error.strerror or error}") from error
    return created


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


def _exit_status(result: JobResult, *, interrupted: bool = False) -> int:
    if result.denied:
        return EXIT_CANNOT_RUN
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_ROWS_FAILED if result.failed else EXIT_OK

