"""Powertools logger, metrics and tracer: one of each for the whole function, and the job's metrics."""

from __future__ import annotations

from collections.abc import Mapping

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from connect_profiles.contract import METRICS_NAMESPACE, SERVICE_NAME

logger = Logger(service=SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)
tracer = Tracer(service=SERVICE_NAME)


def emit_job_metrics(
    *,
    dry_run: bool,
    counts: Mapping[str, int] | None = None,
    retries: int = 0,
    duration: float | None = None,
    rejected: bool = False,
    failed: bool = False,
) -> None:
    """One job's metrics, emitted once from inside a durable step (a replay does not repeat them).
    `retries` are this job's own, summed over its batches, whichever invocations ran them."""
    metrics.add_dimension(name="Mode", value="dry-run" if dry_run else "apply")
    metrics.add_metric(name="Jobs", unit=MetricUnit.Count, value=1)
    if rejected:
        metrics.add_metric(name="JobsRejected", unit=MetricUnit.Count, value=1)
    if failed:
        metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)
    for status, count in (counts or {}).items():
        metrics.add_metric(name=f"Rows{status.capitalize()}", unit=MetricUnit.Count, value=count)
    if counts is not None:
        metrics.add_metric(name="ConnectRetries", unit=MetricUnit.Count, value=retries)
    if duration is not None:
        metrics.add_metric(name="JobDuration", unit=MetricUnit.Seconds, value=duration)


def emit_snapshot_metrics(*, users: int, duration: float) -> None:
    metrics.add_dimension(name="Mode", value="snapshot")
    metrics.add_metric(name="Snapshots", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="SnapshotUsers", unit=MetricUnit.Count, value=users)
    metrics.add_metric(name="JobDuration", unit=MetricUnit.Seconds, value=duration)
