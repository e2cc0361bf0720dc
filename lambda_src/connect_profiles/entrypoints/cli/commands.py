"""The commands: validate (offline), plan and apply (a job against the instance, its files and its
summary), export (everyone's proficiencies as a sync file)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from connect_profiles.adapters.identity import Caller
from connect_profiles.adapters.quotas import pacing_lines
from connect_profiles.domain.engine import JobResult, NotConfirmed, Preview, check_offline, run_job
from connect_profiles.domain.model import JOB_RECORD, RETRY, Status
from connect_profiles.domain.outputs import job_record, render_files, summarise
from connect_profiles.domain.snapshot import read_everyone, snapshot_csv
from connect_profiles.entrypoints.aws_target import Target, advice, busy_rows_hint, find_target
from connect_profiles.entrypoints.cli.arguments import TABLE_ROWS, engine_settings
from connect_profiles.entrypoints.cli.exit_status import (
    EXIT_OK,
    EXIT_ROWS_FAILED,
    CommandError,
    job_exit_status,
)
from connect_profiles.entrypoints.cli.session import (
    Interrupts,
    call_counts,
    default_out_folder,
    paced_gateway,
    prepare_out_folder,
    resolve_caller,
)
from connect_profiles.entrypoints.terminal import JobProgress, Terminal, summary_document


def validate(args: argparse.Namespace) -> int:
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


def plan(args: argparse.Namespace) -> int:
    return _plan_or_apply(args, dry_run=True)


def apply(args: argparse.Namespace) -> int:
    return _plan_or_apply(args, dry_run=args.dry_run)


def _plan_or_apply(args: argparse.Namespace, *, dry_run: bool) -> int:
    data = _read(args.file)
    settings = engine_settings(args)
    check_offline(data, settings.limits, sync=args.sync)  # a rejected file is refused before any call
    out_dir = args.out or (None if dry_run else default_out_folder(args.file))
    # Before the first call: no change is made without its files.
    created = prepare_out_folder(out_dir) if out_dir else False
    terminal = Terminal()
    interrupts = Interrupts()
    who = resolve_caller(args)
    gateway, pacer, pacing = paced_gateway(args, settings, cancel=interrupts.event)
    target = find_target(gateway, who, args.region_choice)
    terminal.note(target.line(), style="bold")
    if target.note:
        terminal.note(target.note)
    asking = not dry_run and not args.yes and terminal.interactive
    started, started_at = time.monotonic(), time.time()
    label = "reading" if asking else ("planning" if dry_run else "applying")
    progress = terminal.progress(label, stats=call_counts(pacer))
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
    status = job_exit_status(result, interrupted=interrupted)
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
            notes=pacing_lines(pacing, pacer),
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


def export(args: argparse.Namespace) -> int:
    settings = engine_settings(args)
    terminal = Terminal()
    who = resolve_caller(args)
    gateway, pacer, _ = paced_gateway(args, settings)
    terminal.note(find_target(gateway, who, args.region_choice).line(), style="bold")
    gateway.count_users()  # unknown instance or credentials: exit 2 before any output
    users = list(gateway.list_users())
    terminal.note(f"reading the proficiencies of {len(users)} users...")
    progress = terminal.progress("reading", stats=call_counts(pacer))
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


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror or error}") from error


# By the name the parser sets in `command`.
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "validate": validate,
    "plan": plan,
    "apply": apply,
    "export": export,
}
