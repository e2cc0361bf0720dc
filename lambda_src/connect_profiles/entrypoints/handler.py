"""The Lambda function: S3 event in, one durable job per new CSV object version.

Thin by design: it unpacks the event (Powertools' S3 event data class), claims each object version
once, takes the Connect instance's lease, and sequences the job's steps (plan, one per batch of
users, finish) as checkpointed durable steps. The steps are the domain's (`domain/job.py`); the
retry policies and the claim are in `durable.py`.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import unquote_plus

from aws_durable_execution_sdk_python import (
    ChildContextError,
    DurableContext,
    StepContext,
    StepError,
    durable_execution,
)
from aws_durable_execution_sdk_python.config import Duration
from aws_lambda_powertools.utilities.data_classes import S3Event

from connect_profiles.contract import INPUT_PREFIXES, SNAPSHOT_EVENT
from connect_profiles.domain.job import BatchDone, JobState, ObjectRef, is_job_key
from connect_profiles.domain.snapshot import SnapshotState
from connect_profiles.entrypoints import durable
from connect_profiles.entrypoints.observability import logger, metrics, tracer
from connect_profiles.settings import settings


def object_refs(event: dict[str, Any]) -> list[ObjectRef]:
    """Every record of an S3 event notification, keys URL-decoded (S3 sends them encoded; the data
    class's per-record key does not decode). moto's events carry no sequencer or version id."""
    if not isinstance(event.get("Records"), list):
        raise ValueError("not an S3 event notification: no Records list")
    refs = []
    for record in S3Event(event).records:
        s3_object = record.s3.get_object
        refs.append(
            ObjectRef(
                bucket=record.s3.bucket.name,
                key=unquote_plus(s3_object.key),
                version_id=s3_object.version_id,
                sequencer=s3_object.get("sequencer"),
                etag=s3_object.etag or None,
                size=s3_object.get("size"),
                uploader=(record.get("userIdentity") or {}).get("principalId"),
            )
        )
    return refs


def _run_record(ctx: DurableContext, ref: ObjectRef, job_id: str) -> dict[str, Any]:
    """One object version: claim it, wait for the instance, plan, run each batch, finish."""
    job, lease = durable.job_for(ref.bucket)
    claim = ctx.step(lambda _: durable.claim(ref, job_id), name="claim", config=durable.CLAIM_STEP)
    if claim != job_id:
        ctx.logger.info(
            "Duplicate delivery: this object version is another execution's job", extra={"owner": claim}
        )
        return {"key": ref.key, "status": "duplicate"}
    waited = durable.hold_instance(ctx, lease, job_id)
    try:
        state = JobState.from_dict(
            ctx.step(lambda _: job.plan(ref, job_id).as_dict(), name="plan", config=durable.JOB_STEP)
        )
        if state.stopped:
            ctx.step(lambda _: durable.count_stopped(state, lease, job_id), name="metrics")
            why = state.rejected or (state.denied.message if state.denied else "")
            ctx.logger.warning("Job stopped before any change", extra={"reason": why, "prefix": state.prefix})
            return {
                "key": ref.key,
                "status": "rejected" if state.rejected else "denied",
                "prefix": state.prefix,
            }
        done = _run_batches(ctx, state, job, lease, job_id)
        finished = ctx.step(
            lambda _: durable.finish(job, state, done, lease, job_id, waited=waited),
            name="finish",
            config=durable.JOB_STEP,
        )
    except (StepError, ChildContextError):
        ctx.step(lambda _: lease.release(job_id), name="release after failure")
        raise
    return {"key": ref.key, "status": "done", "prefix": state.prefix, **finished}


def _run_batches(ctx: DurableContext, state: JobState, job: Any, lease: Any, job_id: str) -> list[BatchDone]:
    yield_below_ms = settings().yield_below_seconds * 1000
    done: list[BatchDone] = []
    for index in range(state.batches):

        def batch(step: StepContext, index: int = index) -> dict[str, Any]:
            result = durable.run_batch(job, state, index, lease, job_id, attempt=step.attempt)
            # Decided inside the step, so a replay sees the same decision.
            remaining = (
                ctx.lambda_context.get_remaining_time_in_millis() if ctx.lambda_context else yield_below_ms
            )
            return {**result.as_dict(), "yield": remaining < yield_below_ms}

        checkpoint = ctx.step(batch, name=f"batch {index}", config=durable.BATCH_STEP)
        done.append(BatchDone.from_dict(checkpoint))
        ctx.logger.info("Batch done", extra={"batch": index, "counts": checkpoint["counts"]})
        if done[-1].denied:
            break  # every later call would be refused too: finish reports the rest as not applied
        if checkpoint["yield"] and index < state.batches - 1:
            # A checkpointed timer ends this invocation; the next one replays up to here and goes on.
            ctx.wait(Duration.from_seconds(1), name=f"resume after batch {index}")
    return done


def _run_snapshot(ctx: DurableContext, job_id: str) -> dict[str, Any]:
    """Everyone's proficiencies to snapshots/<UTC date>.csv, one batch of users per step."""
    snapshot, lease = durable.snapshot_for()
    durable.hold_instance(ctx, lease, job_id)
    try:
        state = SnapshotState.from_dict(
            ctx.step(lambda _: snapshot.plan(job_id).as_dict(), name="list users", config=durable.JOB_STEP)
        )
        for index in range(state.batches):

            def batch(_: StepContext, index: int = index) -> int:
                return snapshot.run_batch(state, index)

            ctx.step(batch, name=f"read batch {index}", config=durable.JOB_STEP)
        finished = ctx.step(
            lambda _: durable.finish_snapshot(snapshot, state, lease, job_id),
            name="write",
            config=durable.JOB_STEP,
        )
    except (StepError, ChildContextError):
        ctx.step(lambda _: lease.release(job_id), name="release after failure")
        raise
    return {"status": "snapshot", **finished}


@durable_execution
def _durable_handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    durable.register_lambda_context(context)
    context.set_logger(logger)  # replay-aware: lines already logged are not logged again
    execution = context.execution_context.durable_execution_arn
    if event == SNAPSHOT_EVENT:  # the stack's schedule
        logger.append_keys(job_id=execution)
        return context.run_in_child_context(lambda child: _run_snapshot(child, execution), name="snapshot")
    results, failures = [], []
    for number, ref in enumerate(object_refs(event)):
        if not is_job_key(ref.key):
            context.logger.info(
                f"Ignored: not a .csv under {', '.join(INPUT_PREFIXES)}", extra={"key": ref.key}
            )
            continue
        job_id = f"{execution}#{number}"
        logger.append_keys(job_id=job_id, object_key=ref.key)

        def record(child: DurableContext, ref: ObjectRef = ref, job_id: str = job_id) -> dict[str, Any]:
            return _run_record(child, ref, job_id)

        try:
            results.append(context.run_in_child_context(record, name=f"record {number}"))
        except (ChildContextError, StepError) as error:
            # Other records still run; the execution then fails, so the failure reaches the alarm.
            context.logger.error("Job failed", extra={"key": ref.key, "error": str(error)})
            failures.append(ref.key)
    if failures:
        raise RuntimeError(f"Jobs failed for {', '.join(failures)}")
    return {"records": results}


@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(_durable_handler(event, cast(Any, context)))
