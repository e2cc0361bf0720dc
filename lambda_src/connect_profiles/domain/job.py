"""The S3-triggered job as three kinds of step: plan, one per batch of users, finish.

Each step keeps its results in S3 under the job's folder and returns only pointers and counts, so
the durable execution's checkpoints stay small whatever the file's size. The handler decides the
order and the checkpoints; this module knows nothing of the durable SDK.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from connect_profiles.contract import (
    APPLY_PREFIX,
    DEFAULT_USERS_PER_BATCH,
    DRY_RUN_PREFIX,
    DRY_RUN_SYNC_PREFIX,
    INPUT_PREFIXES,
    JOB_STATE_FOLDER,
    REPORTS_PREFIX,
    SYNC_PREFIX,
)
from connect_profiles.domain.csv_output import report_csv
from connect_profiles.domain.engine import (
    EngineSettings,
    JobPlan,
    UserResult,
    assemble,
    check_offline,
    not_reached,
    prepare,
    run_users,
)
from connect_profiles.domain.job_state import (
    plan_from_json,
    plan_to_json,
    results_from_json,
    results_to_json,
    users_from_json,
    users_to_json,
)
from connect_profiles.domain.model import JOB_RECORD, REPORT, REPORT_HTML, Denial, FileRejected
from connect_profiles.domain.outputs import (
    Summary,
    denial_summary,
    job_record,
    rejection_summary,
    render_files,
    s3_console_links,
    summarise,
)
from connect_profiles.ports import (
    Connect,
    ConnectUnavailable,
    ConnectUnreachable,
    Journal,
    Notifier,
    PermissionDenied,
    Store,
)

REJECTION = "rejection.txt"
_TEXT = "text/plain; charset=utf-8"
_CSV = "text/csv; charset=utf-8"
# S3 serves an object with the Content-Type it was put with (system metadata, UserGuide/UsingMetadata),
# so the console opens report.html as a page instead of downloading it.
_CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".csv": _CSV}


def _content_type(name: str) -> str:
    return _CONTENT_TYPES.get(PurePosixPath(name).suffix, _CSV)


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """One S3 record of the event: which object version to process."""

    bucket: str
    key: str
    version_id: str | None
    sequencer: str | None
    etag: str | None
    size: int | None
    uploader: str | None = None  # the event's principal: who put the file

    @property
    def dry_run(self) -> bool:
        return self.key.startswith(DRY_RUN_PREFIX)

    @property
    def sync(self) -> bool:
        """A desired-state file: under sync/ (applied) or dry-run/sync/ (planned)."""
        return self.key.startswith((SYNC_PREFIX, DRY_RUN_SYNC_PREFIX))

    @property
    def name(self) -> str:
        """`incoming/team-a/changes.csv` -> `team-a/changes`; `dry-run/sync/all.csv` -> `all`."""
        prefixes = (DRY_RUN_SYNC_PREFIX, DRY_RUN_PREFIX, SYNC_PREFIX, APPLY_PREFIX)
        prefix = next(p for p in prefixes if self.key.startswith(p))
        return str(PurePosixPath(self.key[len(prefix) :]).with_suffix(""))

    @property
    def file_name(self) -> str:
        return PurePosixPath(self.key).name

    def as_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "key": self.key,
            "version_id": self.version_id,
            "sequencer": self.sequencer,
            "etag": self.etag,
            "size": self.size,
            "uploader": self.uploader,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ObjectRef:
        return cls(**data)


def is_job_key(key: str) -> bool:
    return key.lower().endswith(".csv") and key.startswith(INPUT_PREFIXES)


def output_prefix(ref: ObjectRef, started: datetime, job_id: str) -> str:
    """`reports/<name>/<UTC time>-<short id>/`: never under a prefix that triggers the function."""
    return report_folder(ref.name, started, job_id)


def report_folder(name: str, started: datetime, job_id: str) -> str:
    short = hashlib.sha256(job_id.encode()).hexdigest()[:8]
    return f"{REPORTS_PREFIX}{name}/{started.strftime('%Y%m%dT%H%M%SZ')}-{short}/"


@dataclass(frozen=True, slots=True)
class JobConfig:
    instance_id: str
    engine: EngineSettings = field(default_factory=EngineSettings)
    users_per_batch: int = DEFAULT_USERS_PER_BATCH


@dataclass(frozen=True, slots=True)
class JobState:
    """What the plan step decided, checkpointed (small: the plan itself is in S3)."""

    prefix: str
    started: float
    dry_run: bool
    file: str
    key: str = ""
    version_id: str | None = None
    uploader: str | None = None
    sync: bool = False
    rows: int = 0
    users: int = 0
    batches: int = 0
    rejected: str | None = None
    denied: Denial | None = None

    @property
    def state(self) -> str:
        return f"{self.prefix}{JOB_STATE_FOLDER}"

    @property
    def stopped(self) -> bool:
        return self.rejected is not None or self.denied is not None

    def as_dict(self) -> dict[str, Any]:
        data = {f: getattr(self, f) for f in self.__dataclass_fields__ if f != "denied"}
        return {**data, "denied": self.denied.as_dict() if self.denied else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobState:
        denied = Denial.from_dict(data["denied"]) if data.get("denied") else None
        return cls(**{**data, "denied": denied})


@dataclass(frozen=True, slots=True)
class BatchDone:
    """One batch's checkpoint: counts and the Connect retries it needed; its results are in S3."""

    index: int
    users: int
    counts: dict[str, int]
    retries: int
    denied: Denial | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "users": self.users,
            "counts": self.counts,
            "retries": self.retries,
            "denied": self.denied.as_dict() if self.denied else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchDone:
        denied = Denial.from_dict(data["denied"]) if data.get("denied") else None
        return cls(data["index"], data["users"], dict(data["counts"]), data["retries"], denied)


JournalFactory = Callable[[Store, str], Journal]


class Job:
    """The steps of one job, over its ports."""

    def __init__(
        self,
        *,
        config: JobConfig,
        store: Store,
        gateway: Connect,
        notifier: Notifier,
        journal: JournalFactory,
        clock: Callable[[], float] = time.time,
        notes: Callable[[], Sequence[str]] | None = None,
    ) -> None:
        self.config = config
        self._notes = notes  # extra summary lines (how Connect was paced), asked for at finish
        self.engine = config.engine
        self.store = store
        self.gateway = gateway
        self.notifier = notifier
        self._journal = journal
        self._clock = clock

    # --- step: plan -----------------------------------------------------------------------

    def plan(self, ref: ObjectRef, job_id: str) -> JobState:
        """Read and check the file, look up users and attributes, keep the plan in S3."""
        started = datetime.fromtimestamp(self._clock(), UTC)
        state = JobState(
            prefix=output_prefix(ref, started, job_id),
            started=started.timestamp(),
            dry_run=ref.dry_run,
            file=ref.file_name,
            key=ref.key,
            version_id=ref.version_id,
            uploader=ref.uploader,
            sync=ref.sync,
        )
        try:
            data = self.store.read_version(ref.key, ref.version_id)
            offline = check_offline(data, self.engine.limits, sync=ref.sync)
            plan = prepare(offline, self.gateway, max_group_users=self.engine.max_group_users)
        except ConnectUnreachable:
            raise  # the network, not the file: the step is tried again later
        except (FileRejected, ConnectUnavailable) as error:
            return replace(state, rejected=self._reject(state, str(error)))
        except PermissionDenied as error:
            return replace(
                state, denied=self._deny(state, Denial(error.action, error.resource, error.message))
            )
        # Each batch step reads only its own users; finish reads the rows settled here.
        size = self.config.users_per_batch
        batches = [plan.users[start : start + size] for start in range(0, len(plan.users), size)]
        for index, users in enumerate(batches):
            self.store.put_json(f"{state.state}users-{index}.json", users_to_json(users))
        settled = JobPlan(plan.settled, [], plan.warnings, plan.data_rows, plan.groups, plan.delimiter)
        self.store.put_json(f"{state.state}plan.json", plan_to_json(settled))
        return replace(state, rows=plan.data_rows, users=len(plan.users), batches=len(batches))

    def _reject(self, state: JobState, reason: str) -> str:
        """A file that cannot be applied still gets a report of why, and an email. Not retried."""
        self.store.put_bytes(
            f"{state.prefix}{REJECTION}", f"{reason}\n".encode(), "text/plain; charset=utf-8"
        )
        self.store.put_bytes(f"{state.prefix}{REPORT}", report_csv([]))
        summary = rejection_summary(
            file_name=state.file,
            instance_id=self.config.instance_id,
            reason=reason,
            dry_run=state.dry_run,
            location=self._location(state.prefix),
        )
        self.notifier.publish(summary.subject, summary.body)
        return reason

    def _deny(self, state: JobState, denial: Denial) -> Denial:
        """Nothing was applied: say which permission is missing and how to fix it, once. Writing the
        explanation beside the reports may itself be refused; the email is what matters."""
        summary = self._denial(state, denial, applied=False)
        with contextlib.suppress(PermissionDenied):
            self.store.put_bytes(f"{state.prefix}{REJECTION}", f"{summary.body}\n".encode(), _TEXT)
        self.notifier.publish(summary.subject, summary.body)
        return denial

    # --- step: one batch of users ---------------------------------------------------------

    def run_batch(self, state: JobState, index: int, *, last_attempt: bool) -> BatchDone:
        """Run one batch. Raises ConnectBusy when Connect stays unavailable, so the step is tried
        again later; on the last attempt the rows fail instead and retry.csv holds them."""
        users = users_from_json(self.store.get_json(f"{state.state}users-{index}.json"))
        journal = self._journal(self.store, f"{state.state}journal/")
        retries = self.gateway.retries
        run = run_users(
            users,
            self.gateway,
            self.engine,
            dry_run=state.dry_run,
            journal=journal,
            retry_later=not last_attempt,
        )
        self.store.put_json(f"{state.state}batch-{index}.json", results_to_json(run.results))
        counts = Counter(outcome.status.value for result in run.results for outcome in result.outcomes)
        denied = Denial(run.denied.action, run.denied.resource, run.denied.message) if run.denied else None
        return BatchDone(index, len(users), dict(counts), self.gateway.retries - retries, denied)

    # --- step: finish ---------------------------------------------------------------------

    def finish(self, state: JobState, batches: list[BatchDone], *, waited: float = 0.0) -> dict[str, Any]:
        """Assemble the report files from the batches, write them, publish the summary. Batches a
        refused permission kept from running report their rows as not applied."""
        plan = plan_from_json(self.store.get_json(f"{state.state}plan.json"))
        denied = next((batch.denied for batch in batches if batch.denied), None)
        ran = {batch.index for batch in batches}
        results: list[UserResult] = []
        for index in range(state.batches):
            if index in ran:
                results += results_from_json(self.store.get_json(f"{state.state}batch-{index}.json"))
            else:
                users = users_from_json(self.store.get_json(f"{state.state}users-{index}.json"))
                results += [not_reached(work, _stopped_reason(denied)) for work in users]
        result = assemble(plan, results, dry_run=state.dry_run, sync=state.sync)
        files = render_files(result, file_name=state.file, instance_id=self.config.instance_id)
        for name, content in files.items():
            self.store.put_bytes(f"{state.prefix}{name}", content, _content_type(name))
        finished = self._clock()
        record = job_record(
            result,
            who=state.uploader or "unknown (the S3 event named no principal)",
            source={"bucket": self.store.bucket, "key": state.key, "version_id": state.version_id},
            instance_id=self.config.instance_id,
            started=state.started,
            finished=finished,
        )
        self.store.put_bytes(f"{state.prefix}{JOB_RECORD}", record, "application/json")
        duration = finished - state.started
        summary = summarise(
            result,
            file_name=state.file,
            instance_id=self.config.instance_id,
            duration_seconds=duration,
            location=self._location(state.prefix),
            waited_seconds=waited,
            notes=self._notes() if self._notes else (),
            links=self._links(state.prefix, (REPORT_HTML, REPORT)),
        )
        if denied:
            stop = self._denial(state, denied, applied=True)
            summary = Summary(stop.subject, f"{stop.body}\n\n{summary.body}")
        message_id = self.notifier.publish(summary.subject, summary.body)
        return {
            "counts": dict(result.counts()),
            "duration": round(duration, 3),
            "subject": summary.subject,
            "message_id": message_id,
            "retries": sum(batch.retries for batch in batches),
            "denied": denied is not None,
        }

    def _denial(self, state: JobState, denial: Denial, *, applied: bool) -> Summary:
        return denial_summary(
            file_name=state.file,
            instance_id=self.config.instance_id,
            denial=denial,
            dry_run=state.dry_run,
            location=self._location(state.prefix),
            applied=applied,
        )

    def _location(self, prefix: str) -> str:
        return f"s3://{self.store.bucket}/{prefix}"

    def _links(self, prefix: str, names: Sequence[str]) -> list[str]:
        return s3_console_links(self.store.bucket, prefix, self.store.region, names)


def _stopped_reason(denied: Denial | None) -> str:
    if denied is None:
        return "not applied: the job stopped before this batch"
    return f"not applied: the job stopped because {denied.action} on {denied.resource} was denied"
