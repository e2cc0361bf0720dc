"""What the durable handler needs beyond unpacking the event: the ports wired to AWS, retry
policies, the object-version claim, the instance lease, the batch loop (and when to end an
invocation), the snapshot's steps and the job's metrics. Each function here runs inside a
durable step (or decides one), so a replay neither repeats its effects nor emits its metrics twice.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from aws_durable_execution_sdk_python import ChildContextError, DurableContext, StepContext, StepError
from aws_durable_execution_sdk_python.config import Duration, StepConfig
from aws_durable_execution_sdk_python.retries import RetryDecision, RetryStrategyConfig, create_retry_strategy
from aws_durable_execution_sdk_python.waits import WaitForConditionConfig, WaitForConditionDecision
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyKeyError,
    IdempotencyValidationError,
)

from connect_profiles.adapters.clients import AwsClients, aws_clients, connect_gateway
from connect_profiles.adapters.dynamodb import DynamoLease
from connect_profiles.adapters.quotas import PacingOptions
from connect_profiles.adapters.s3 import S3Journal, S3Store
from connect_profiles.adapters.sns import SnsNotifier
from connect_profiles.contract import Env
from connect_profiles.domain.job import BatchDone, Job, JobState, ObjectRef
from connect_profiles.domain.snapshot import Snapshot, SnapshotState
from connect_profiles.entrypoints.observability import emit_job_metrics, emit_snapshot_metrics
from connect_profiles.ports import Lease, PermissionDenied
from connect_profiles.settings import SettingsError, settings

# Transient trouble (S3, SNS, Connect after botocore's own retries): try the step again later.
STEP_ATTEMPTS = 4
_backoff = create_retry_strategy(
    RetryStrategyConfig(
        max_attempts=STEP_ATTEMPTS,
        initial_delay=Duration.from_seconds(5),
        max_delay=Duration.from_seconds(120),
    )
)


def _job_retry(error: Exception, attempts_made: int) -> RetryDecision:
    # A refused permission will not change by waiting: the stack must be fixed.
    if isinstance(error, PermissionDenied):
        return RetryDecision.no_retry()
    return _backoff(error, attempts_made)


JOB_STEP = StepConfig(retry_strategy=_job_retry)
# A batch whose Connect calls keep failing is run again after a backoff (an outage of minutes): the
# journal keeps a rerun from sending anything twice. Its last attempt fails the rows instead.
BATCH_STEP = StepConfig(retry_strategy=_job_retry)


def _claim_retry(error: Exception, attempts_made: int) -> RetryDecision:
    # A concurrent duplicate sees "in progress" and retries until the owner is recorded; a key
    # or payload problem will not change on retry.
    if isinstance(error, IdempotencyKeyError | IdempotencyValidationError):
        return RetryDecision.no_retry()
    return _backoff(error, attempts_made)


CLAIM_STEP = StepConfig(retry_strategy=_claim_retry)

IDEMPOTENCY = IdempotencyConfig(
    # The same object version delivered twice has the same version id, sequencer and ETag.
    event_key_jmespath="[bucket, key, version_id, sequencer, etag]",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=7 * 24 * 3600,
)

# How often a job waiting for another one on the same instance looks again, and for how long.
LEASE_POLL = Duration.from_seconds(30)
LEASE_MAX_POLLS = 23 * 3600 // 30


def register_lambda_context(context: DurableContext) -> None:
    """Lets a claim left in progress by a crash expire with the invocation."""
    if context.lambda_context:
        IDEMPOTENCY.register_lambda_context(context.lambda_context)  # type: ignore[arg-type]


@functools.cache
def _claimer() -> Any:
    """Built on first use: the DynamoDB client reads its endpoint and Region when it is made."""
    persistence = DynamoDBPersistenceLayer(table_name=settings().idempotency_table)

    # A fixed key prefix: the default one contains the function's name, which changes with the stack.
    @idempotent_function(  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
        data_keyword_argument="object_ref",
        persistence_store=persistence,
        config=IDEMPOTENCY,
        key_prefix="s3-object-version",
    )
    def claim(*, object_ref: dict[str, Any], owner: str) -> dict[str, str]:
        return {"owner": owner}

    return claim


def claim(ref: ObjectRef, job_id: str) -> str:
    """The job id that owns this object version: ours, or an earlier delivery's."""
    return str(_claimer()(object_ref=ref.as_dict(), owner=job_id)["owner"])


def _clients() -> tuple[AwsClients, Lease]:
    config = settings()
    pacing = PacingOptions(
        rate=config.connect_rate,
        burst=config.connect_burst,
        api_rates=config.connect_api_rates,
        headroom_percent=config.connect_headroom,
    )
    clients = aws_clients(pacing, config.engine().workers, config.connect_max_attempts)
    lease = DynamoLease(
        clients.dynamodb,
        config.idempotency_table,
        instance_id=config.instance_id,
        seconds=config.lease_seconds,
    )
    return clients, lease


def snapshot_for() -> tuple[Snapshot, Lease]:
    config = settings()
    if not config.job_bucket:
        raise SettingsError(f"environment variable {Env.JOB_BUCKET_NAME} is required for the snapshot")
    clients, lease = _clients()
    snapshot = Snapshot(
        config=config.job(),
        store=S3Store(clients.s3, config.job_bucket),
        gateway=connect_gateway(clients, config.instance_id),
        notifier=SnsNotifier(clients.sns, config.summary_topic_arn),
    )
    return snapshot, lease


def job_for(bucket: str) -> tuple[Job, Lease]:
    config = settings()
    job = config.job()
    clients, lease = _clients()
    return (
        Job(
            config=job,
            store=S3Store(clients.s3, bucket),
            gateway=connect_gateway(clients, config.instance_id),
            notifier=SnsNotifier(clients.sns, config.summary_topic_arn),
            journal=S3Journal,
            notes=clients.pacing_lines,
        ),
        lease,
    )


def hold_instance(ctx: DurableContext, lease: Lease, job_id: str) -> float:
    """Wait, at no cost between polls, until this job holds the instance; the seconds it waited."""

    def check(state: dict[str, Any], _: Any) -> dict[str, Any]:
        now = time.time()
        return {"holder": lease.acquire(job_id, now), "first": state["first"] or now, "now": now}

    def keep_waiting(state: dict[str, Any], attempts: int) -> WaitForConditionDecision:
        if state["holder"] is None:
            return WaitForConditionDecision.stop_polling()
        if attempts >= LEASE_MAX_POLLS:
            raise TimeoutError(f"the Connect instance stayed busy with job {state['holder']}")
        ctx.logger.info("Waiting for another job on this instance", extra={"holder": state["holder"]})
        return WaitForConditionDecision.continue_waiting(LEASE_POLL)

    initial: dict[str, Any] = {"holder": None, "first": None, "now": None}
    config = WaitForConditionConfig(keep_waiting, initial_state=initial)
    held = ctx.wait_for_condition(check, config, name="hold instance")
    return float(held["now"]) - float(held["first"])


def run_batch(job: Job, state: JobState, index: int, lease: Lease, job_id: str, *, attempt: int) -> BatchDone:
    holder = lease.acquire(job_id, time.time())  # renew, so a long job keeps the instance
    if holder is not None:
        raise RuntimeError(f"the instance lease expired and job {holder} took it; trying again later")
    return job.run_batch(state, index, last_attempt=attempt >= STEP_ATTEMPTS)


def finish(
    job: Job, state: JobState, done: list[BatchDone], lease: Lease, job_id: str, *, waited: float
) -> dict[str, Any]:
    finished = job.finish(state, done, waited=waited)
    lease.release(job_id)
    emit_job_metrics(
        dry_run=state.dry_run,
        counts=finished["counts"],
        retries=finished["retries"],
        duration=finished["duration"],
        failed=finished["denied"],
    )
    return finished


def count_stopped(state: JobState, lease: Lease, job_id: str) -> None:
    lease.release(job_id)
    emit_job_metrics(
        dry_run=state.dry_run, rejected=state.rejected is not None, failed=state.denied is not None
    )


def finish_snapshot(snapshot: Snapshot, state: SnapshotState, lease: Lease, job_id: str) -> dict[str, Any]:
    finished = snapshot.finish(state)
    lease.release(job_id)
    emit_snapshot_metrics(users=finished["users"], duration=finished["duration"])
    return finished


def run_batches(ctx: DurableContext, state: JobState, job: Job, lease: Lease, job_id: str) -> list[BatchDone]:
    yield_below_ms = settings().yield_below_seconds * 1000
    done: list[BatchDone] = []
    for index in range(state.batches):

        def batch(step: StepContext, index: int = index) -> dict[str, Any]:
            result = run_batch(job, state, index, lease, job_id, attempt=step.attempt)
            # Decided inside the step, so a replay sees the same decision.
            remaining = (
                ctx.lambda_context.get_remaining_time_in_millis() if ctx.lambda_context else yield_below_ms
            )
            return {**result.as_dict(), "yield": remaining < yield_below_ms}

        checkpoint = ctx.step(batch, name=f"batch {index}", config=BATCH_STEP)
        done.append(BatchDone.from_dict(checkpoint))
        ctx.logger.info("Batch done", extra={"batch": index, "counts": checkpoint["counts"]})
        if done[-1].denied:
            break  # every later call would be refused too: finish reports the rest as not applied
        if checkpoint["yield"] and index < state.batches - 1:
            # A checkpointed timer ends this invocation; the next one replays up to here and goes on.
            ctx.wait(Duration.from_seconds(1), name=f"resume after batch {index}")
    return done


def run_snapshot(ctx: DurableContext, job_id: str) -> dict[str, Any]:
    """Everyone's proficiencies to snapshots/<UTC date>.csv, one batch of users per step."""
    snapshot, lease = snapshot_for()
    hold_instance(ctx, lease, job_id)
    try:
        state = SnapshotState.from_dict(
            ctx.step(lambda _: snapshot.plan(job_id).as_dict(), name="list users", config=JOB_STEP)
        )
        for index in range(state.batches):

            def batch(_: StepContext, index: int = index) -> int:
                return snapshot.run_batch(state, index)

            ctx.step(batch, name=f"read batch {index}", config=JOB_STEP)
        finished = ctx.step(
            lambda _: finish_snapshot(snapshot, state, lease, job_id),
            name="write",
            config=JOB_STEP,
        )
    except (StepError, ChildContextError):
        ctx.step(lambda _: lease.release(job_id), name="release after failure")
        raise
    return {"status": "snapshot", **finished}
