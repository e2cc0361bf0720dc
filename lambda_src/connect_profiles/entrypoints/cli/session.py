"""What a command needs around the engine: the caller and Region, the gateway paced at the account's
quotas, the output folder, and Ctrl-C while a job runs."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connect_profiles.adapters.connect import ConnectGateway, connect_client
from connect_profiles.adapters.identity import Caller, RegionChoice, caller, resolve_region
from connect_profiles.adapters.pacing import Pacer
from connect_profiles.adapters.quotas import PacingPlan, resolve_pacing
from connect_profiles.domain.engine import EngineSettings
from connect_profiles.entrypoints.cli.arguments import pacing_options
from connect_profiles.entrypoints.cli.exit_status import EXIT_INTERRUPTED, CommandError


def resolve_caller(args: argparse.Namespace) -> Caller:
    """The Region (--region, AWS_REGION, AWS_DEFAULT_REGION, the profile: botocore alone reads only
    the last two) and the caller; no Region or no credentials stop here, before any Connect call."""
    choice: RegionChoice = resolve_region(args.region, args.profile)
    args.region, args.region_choice = choice.name, choice
    return caller(region=choice.name, profile=args.profile)


_WRITE_APIS = frozenset(
    {"AssociateUserProficiencies", "UpdateUserProficiencies", "DisassociateUserProficiencies"}
)


def call_counts(pacer: Pacer) -> Callable[[], str]:
    """For the progress line: writes sent (attempts, retries included) and throttles met so far."""

    def counts() -> str:
        paces = pacer.paces()
        writes = sum(pace.sent for pace in paces if pace.api in _WRITE_APIS)
        throttles = sum(pace.throttles for pace in paces)
        return f"{writes} writes, {throttles} throttled"

    return counts


def paced_gateway(
    args: argparse.Namespace, settings: EngineSettings, *, cancel: threading.Event | None = None
) -> tuple[ConnectGateway, Pacer, PacingPlan]:
    """The gateway, paced at the account's quotas (read first, unless every rate was given)."""
    plan = resolve_pacing(pacing_options(args), region=args.region, profile=args.profile)
    for warning in plan.warnings:
        print(f"connect-profiles: warning: {warning}", file=sys.stderr)
    pacer = plan.pacer(cancel=cancel)
    client = connect_client(pacer, region=args.region, profile=args.profile, pool_size=settings.workers * 2)
    return ConnectGateway(client, args.instance_id), pacer, plan


def prepare_out_folder(folder: Path) -> bool:
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


def default_out_folder(file: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(f"{file.stem}-{stamp}")
