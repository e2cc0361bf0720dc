"""The S3-triggered job as three kinds of step: plan, one per batch of users, finish.

Each step keeps its results in S3 under the job's folder and returns only pointers and counts, so
the durable execution's checkpoints stay small whatever the file's size. The handler decides the
order and the checkpoints; this module knows nothing of the durable SDK.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote_plus

from connect_profiles.contract import (
    APPLY_PREFIX,
    DEFAULT_USERS_PER_BATCH,
    DRY_RUN_PREFIX,
    JOB_STATE_FOLDER,
    REPORTS_PREFIX,
)
from connect_profiles.domain.csv_output import report_csv
from connect_profiles.domain.engine import (
    EngineSettings,
    JobPlan,
    assemble,
    check_offline,
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
from connect_profiles.domain.model import FileRejected
from connect_profiles.domain.outputs import REPORT, rejection_summary, render_files, summarise
from connect_profiles.ports import Connect, ConnectUnavailable, Journal, Notifier, Store

REJECTION = "rejection.txt"


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """One S3 record of the event: which object version to process."""

    bucket: str
    key: str
    version_id: str | None
    sequencer: str | None
    etag: str | None
    size: int | None

    @property
    def dry_run(self) -> bool:
        return self.key.startswith(DRY_RUN_PREFIX)

    @property
    def name(self) -> str:
        """`incoming/team-a/changes.csv` -> `team-a/changes`."""
        prefix = DRY_RUN_PREFIX if self.dry_run else APPLY_PREFIX
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
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ObjectRef:
        return cls(**data)


def object_refs(event: dict[str, Any]) -> list[ObjectRef]:
    """Every record of an S3 event notification, keys URL-decoded (S3 sends them encoded)."""
    records = event.get("Records")
    if not isinstance(records, list):
        raise ValueError("not an S3 event notification: no Records list")
    refs = []
    for record in records:
        s3 = record["s3"]
        key = unquote_plus(s3["object"]["key"])
        refs.append(
            ObjectRef(
                bucket=s3["bucket"]["name"],
                key=key,
                version_id=s3["object"].get("versionId"),
                sequencer=s3["object"].get("sequencer"),
                etag=s3["object"].get("eTag"),
                size=s3["object"].get("size"),
            )
        )
    return refs


def is_job_key(key: str) -> bool:
    return key.lower().endswith(".csv") and key.startswith((APPLY_PREFIX, DRY_RUN_PREFIX))


def output_prefix(ref: ObjectRef, started: datetime, job_id: str) -> str:
    """`reports/<name>/<UTC time>-<short id>/`: never under a prefix that triggers the function."""
    short = hashlib.sha256(job_id.encode()).hexdigest()[:8]
    return f"{REPORTS_PREFIX}{ref.name}/{started.strftime('%Y%m%dT%H%M%SZ')}-{short}/"


@dataclass(frozen=True, slots=True)
class JobConfig:
    instance_id: str
    engine: EngineSettings = field(default_factory=EngineSettings)
    users_per_batch: int = DEFAULT_USERS_PER_BATCH


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
    ) -> None:
        self.config = config
        self.engine = config.engine
        self.store = store
        self.gateway = gateway
        self.notifier = notifier
        self._journal = journal

    # --- step: plan -----------------------------------------------------------------------

    def plan(self, ref: ObjectRef, job_id: str) -> dict[str, Any]:
        """Read and check the file, look up users and attributes, keep the plan in S3."""
        started = datetime.now(UTC)
        prefix = output_prefix(ref, started, job_id)
        info: dict[str, Any] = {
            "prefix": prefix,
            "state": f"{prefix}{JOB_STATE_FOLDER}",
            "started": started.timestamp(),
            "dry_run": ref.dry_run,
            "file": ref.file_name,
        }
        try:
            offline = check_offline(self.store.read_version(ref.key, ref.version_id), self.engine.limits)
            plan = prepare(offline, self.gateway)
        except (FileRejected, ConnectUnavailable) as error:
            return {**info, "rejected": self._reject(info, str(error))}
        # Each batch step reads only its own users; finish reads the rows settled here.
        size = self.config.users_per_batch
        batches = [plan.users[start : start + size] for start in range(0, len(plan.users), size)]
        for index, users in enumerate(batches):
            self.store.put_json(f"{info['state']}users-{index}.json", users_to_json(users))
        settled = JobPlan(plan.settled, [], plan.warnings, plan.data_rows)
        self.store.put_json(f"{info['state']}plan.json", plan_to_json(settled))
        return {
            **info,
            "rejected": None,
            "rows": plan.data_rows,
            "users": len(plan.users),
            "batches": len(batches),
        }

    def _reject(self, info: dict[str, Any], reason: str) -> str:
        """A file that cannot be applied still gets a report of why, and an email. Not retried."""
        prefix = info["prefix"]
        self.store.put_bytes(f"{prefix}{REJECTION}", f"{reason}\n".encode(), "text/plain; charset=utf-8")
        self.store.put_bytes(f"{prefix}{REPORT}", report_csv([]))
        summary = rejection_summary(
            file_name=info["file"],
            instance_id=self.config.instance_id,
            reason=reason,
            dry_run=info["dry_run"],
            location=self._location(prefix),
        )
        self.notifier.publish(summary.subject, summary.body)
        return reason

    # --- step: one batch of users ---------------------------------------------------------

    def run_batch(self, info: dict[str, Any], index: int) -> dict[str, Any]:
        users = users_from_json(self.store.get_json(f"{info['state']}users-{index}.json"))
        journal = self._journal(self.store, f"{info['state']}journal/")
        results = run_users(users, self.gateway, self.engine, dry_run=info["dry_run"], journal=journal)
        self.store.put_json(f"{info['state']}batch-{index}.json", results_to_json(results))
        counts = Counter(outcome.status.value for result in results for outcome in result.outcomes)
        return {"index": index, "users": len(users), "counts": dict(counts), "retries": self.gateway.retries}

    # --- step: finish ---------------------------------------------------------------------

    def finish(self, info: dict[str, Any]) -> dict[str, Any]:
        """Assemble the report files from the batches, write them, publish the summary."""
        plan = plan_from_json(self.store.get_json(f"{info['state']}plan.json"))
        results = [
            result
            for index in range(info["batches"])
            for result in results_from_json(self.store.get_json(f"{info['state']}batch-{index}.json"))
        ]
        result = assemble(plan, results, dry_run=info["dry_run"])
        prefix = info["prefix"]
        for name, content in render_files(result).items():
            self.store.put_bytes(f"{prefix}{name}", content)
        duration = time.time() - info["started"]
        summary = summarise(
            result,
            file_name=info["file"],
            instance_id=self.config.instance_id,
            duration_seconds=duration,
            location=self._location(prefix),
        )
        message_id = self.notifier.publish(summary.subject, summary.body)
        return {
            "counts": dict(result.counts()),
            "duration": round(duration, 3),
            "subject": summary.subject,
            "message_id": message_id,
        }

    def _location(self, prefix: str) -> str:
        return f"s3://{self.store.bucket}/{prefix}"
