"""The Lambda function: S3 event in, one durable job per new CSV object version.

Thin by design: it unpacks the event (Powertools' S3 event data class), claims each object version
once, takes the Connect instance's lease, and sequences the job's steps (plan, one per batch of
users, finish) as checkpointed durable steps. The steps are the domain's (`domain/job.py`); the
retry policies, the claim, the lease wait, the batch loop and the snapshot's steps are in `durable.py`.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import unquote_plus

from aws_durable_execution_sdk_python import (
    ChildContextError,
    DurableContext,
    StepError,
    durable_execution,
)
from aws_lambda_powertools.utilities.data_classes import S3Event

from connect_profiles.contract import INPUT_PREFIXES, SNAPSHOT_EVENT
from connect_profiles.domain.job import JobState, ObjectRef, is_job_key
from connect_profiles.entrypoints import durable
from connect_profiles.entrypoints.observability import logger, metrics, tracer


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
        done = durable.run_batches(ctx, state, job, lease, job_id)
        finished = ctx.step(
            lambda _: durable.finish(job, state, done, lease, job_id, waited=waited),
            name="finish",
            config=durable.JOB_STEP,
        )
    except (StepError, ChildContextError):
        ctx.step(lambda _: lease.release(job_id), name="release after failure")
        raise
    return {"key": ref.key, "status": "done", "prefix": state.prefix, **finished}


@durable_execution
def _durable_handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    durable.register_lambda_context(context)
    context.set_logger(logger)  # replay-aware: lines already logged are not logged again
    execution = context.execution_context.durable_execution_arn
    if event == SNAPSHOT_EVENT:  # the stack's schedule
        logger.append_keys(job_id=execution)
        return context.run_in_child_context(
            lambda child: durable.run_snapshot(child, execution), name="snapshot"
        )
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
