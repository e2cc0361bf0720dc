"""The Lambda function: S3 event in, one durable job per new CSV object version.

Thin by design: it unpacks the event, claims each object version once, and runs the job's steps
(plan, one per batch of users, finish) as checkpointed durable steps. Everything else is the
engine's and the adapters'.
"""

from __future__ import annotations

import functools
from typing import Any, cast

from aws_durable_execution_sdk_python import (
    ChildContextError,
    DurableContext,
    StepContext,
    StepError,
    durable_execution,
)
from aws_durable_execution_sdk_python.config import Duration, StepConfig
from aws_durable_execution_sdk_python.retries import RetryDecision, RetryStrategyConfig, create_retry_strategy
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyKeyError,
    IdempotencyValidationError,
)

from connect_profiles.adapters.clients import aws_clients, connect_gateway
from connect_profiles.adapters.pacing import Rate
from connect_profiles.adapters.s3 import S3Journal, S3Store
from connect_profiles.adapters.sns import SnsNotifier
from connect_profiles.domain.job import Job, ObjectRef, is_job_key, object_refs
from connect_profiles.entrypoints.observability import logger, metrics, tracer
from connect_profiles.settings import settings

# Transient trouble (S3, SNS, Connect after botocore's own retries): try the step again later.
_backoff = create_retry_strategy(
    RetryStrategyConfig(
        max_attempts=4, initial_delay=Duration.from_seconds(5), max_delay=Duration.from_seconds(120)
    )
)
JOB_STEP = StepConfig(retry_strategy=_backoff)


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


@functools.cache
def _claim() -> Any:
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


def _job(bucket: str) -> Job:
    config = settings()
    job = config.job()
    clients = aws_clients(Rate(config.connect_rate, config.connect_burst), job.engine.workers)
    return Job(
        config=job,
        store=S3Store(clients.s3, bucket),
        gateway=connect_gateway(clients, config.instance_id),
        notifier=SnsNotifier(clients.sns, config.summary_topic_arn),
        journal=S3Journal,
    )


def _run_record(ctx: DurableContext, ref: ObjectRef, job_id: str) -> dict[str, Any]:
    """One object version: claim it, plan, run each batch, finish."""
    job = _job(ref.bucket)
    claim = ctx.step(
        lambda _: _claim()(object_ref=ref.as_dict(), owner=job_id)["owner"], name="claim", config=CLAIM_STEP
    )
    if claim != job_id:
        ctx.logger.info(
            "Duplicate delivery: this object version is another execution's job", extra={"owner": claim}
        )
        return {"key": ref.key, "status": "duplicate"}
    info = ctx.step(lambda _: job.plan(ref, job_id), name="plan", config=JOB_STEP)
    if info["rejected"]:
        ctx.logger.warning("File rejected", extra={"reason": info["rejected"], "prefix": info["prefix"]})
        ctx.step(lambda _: _count_rejection(), name="metrics")
        return {"key": ref.key, "status": "rejected", "reason": info["rejected"], "prefix": info["prefix"]}
    yield_below_ms = settings().yield_below_seconds * 1000
    for index in range(info["batches"]):

        def batch(step: StepContext, index: int = index) -> dict[str, Any]:
            done = job.run_batch(info, index)
            # Decided inside the step, so a replay sees the same decision.
            remaining = (
                ctx.lambda_context.get_remaining_time_in_millis() if ctx.lambda_context else yield_below_ms
            )
            return {**done, "yield": remaining < yield_below_ms}

        done = ctx.step(batch, name=f"batch {index}", config=JOB_STEP)
        ctx.logger.info("Batch done", extra={"batch": index, "counts": done["counts"]})
        if done["yield"] and index < info["batches"] - 1:
            # A checkpointed timer ends this invocation; the next one replays up to here and goes on.
            ctx.wait(Duration.from_seconds(1), name=f"resume after batch {index}")
    finished = ctx.step(lambda _: _finish(job, info), name="finish", config=JOB_STEP)
    return {"key": ref.key, "status": "done", "prefix": info["prefix"], **finished}


def _finish(job: Job, info: dict[str, Any]) -> dict[str, Any]:
    finished = job.finish(info)
    # Inside the step, so a replay does not emit them again.
    metrics.add_dimension(name="Mode", value="dry-run" if info["dry_run"] else "apply")
    metrics.add_metric(name="Jobs", unit=MetricUnit.Count, value=1)
    for status, count in finished["counts"].items():
        metrics.add_metric(name=f"Rows{status.capitalize()}", unit=MetricUnit.Count, value=count)
    metrics.add_metric(name="ConnectRetries", unit=MetricUnit.Count, value=job.gateway.retries)
    metrics.add_metric(name="JobDuration", unit=MetricUnit.Seconds, value=finished["duration"])
    return finished


def _count_rejection() -> None:
    metrics.add_metric(name="JobsRejected", unit=MetricUnit.Count, value=1)


@durable_execution
def _durable_handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    if context.lambda_context:  # lets a claim left in progress by a crash expire with the invocation
        IDEMPOTENCY.register_lambda_context(cast(Any, context.lambda_context))
    context.set_logger(logger)  # replay-aware: lines already logged are not logged again
    execution = context.execution_context.durable_execution_arn
    results = []
    failures = []
    for number, ref in enumerate(object_refs(event)):
        if not is_job_key(ref.key):
            context.logger.info("Ignored: not a .csv under incoming/ or dry-run/", extra={"key": ref.key})
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
    return dict(_durable_handler(event, context))
