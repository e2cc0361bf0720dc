"""The dashboard shows what the function really emits, the failed-events queue and the function's health.

The job's metrics are taken from the function's own emitter (Powertools EMF, serialised in-process),
so a renamed metric, a new dimension or a new row status on the function side fails here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from connect_profiles.contract import METRICS_NAMESPACE
from connect_profiles.domain.model import Status
from connect_profiles.entrypoints import observability
from tests.infrastructure.intrinsics import render
from tests.infrastructure.synthesis import Synthesis

# (namespace, metric name, dimensions as sorted (name, value) pairs)
MetricKey = tuple[str, str, tuple[tuple[str, str], ...]]
# The statuses a row can end with in each mode: nothing succeeds in a dry run, nothing is planned in one
# that applies (DESIGN.md section 3).
REAL_STATUSES = {
    False: tuple(status for status in Status if status is not Status.PLANNED),
    True: tuple(status for status in Status if status is not Status.SUCCEEDED),
}


def emitted(*, dry_run: bool, statuses: tuple[Status, ...]) -> set[MetricKey]:
    """Every metric one job's end emits, with its dimensions, as CloudWatch will store it."""
    observability.metrics.clear_metrics()
    try:
        observability.emit_job_metrics(
            dry_run=dry_run,
            counts={status.value: 1 for status in statuses},
            retries=1,
            duration=1.0,
            rejected=True,
            failed=True,
        )
        document: dict[str, Any] = dict(observability.metrics.serialize_metric_set())
    finally:
        observability.metrics.clear_metrics()
    found: set[MetricKey] = set()
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            dimensions = tuple(sorted((name, str(document[name])) for name in dimension_set))
            found.update(
                (directive["Namespace"], metric["Name"], dimensions) for metric in directive["Metrics"]
            )
    return found


def dashboard_body(synth: Synthesis) -> dict[str, Any]:
    _, dashboard = synth.only("AWS::CloudWatch::Dashboard")
    body: dict[str, Any] = json.loads(render(dashboard["Properties"]["DashboardBody"]))
    return body


def graphed(synth: Synthesis) -> Iterator[tuple[str, MetricKey, dict[str, Any]]]:
    """(widget title, metric, its options) for every metric line on the dashboard."""
    for widget in dashboard_body(synth)["widgets"]:
        if widget["type"] != "metric":
            continue
        properties = widget["properties"]
        assert properties["region"] == "${AWS::Region}"
        for line in properties["metrics"]:
            *identity, options = line
            namespace, name, *pairs = identity
            assert "." not in identity, "no shorthand: each line names its namespace and dimensions"
            dimensions = tuple(sorted(zip(pairs[::2], pairs[1::2], strict=True)))
            # CloudWatch's default statistic, which CDK leaves out.
            yield properties["title"], (namespace, name, dimensions), {"stat": "Average", **options}


def job_lines(synth: Synthesis) -> set[MetricKey]:
    return {key for _, key, _ in graphed(synth) if key[0] == METRICS_NAMESPACE}


def test_the_emitter_is_read_as_cloudwatch_will_store_it() -> None:
    keys = emitted(dry_run=False, statuses=(Status.SUCCEEDED,))

    assert (METRICS_NAMESPACE, "Jobs", (("Mode", "apply"), ("service", "connect-profiles"))) in keys


@pytest.mark.parametrize("dry_run", [False, True], ids=["apply", "dry-run"])
def test_every_metric_a_job_emits_is_on_the_dashboard_with_its_exact_dimensions(
    synth: Synthesis, dry_run: bool
) -> None:
    missing = emitted(dry_run=dry_run, statuses=REAL_STATUSES[dry_run]) - job_lines(synth)

    assert missing == set()


def test_every_job_metric_on_the_dashboard_is_one_the_function_emits(synth: Synthesis) -> None:
    every_status = tuple(Status)
    possible = emitted(dry_run=False, statuses=every_status) | emitted(dry_run=True, statuses=every_status)

    assert job_lines(synth) - possible == set()


def test_job_counts_rows_and_retries_are_sums_and_durations_average_and_maximum(synth: Synthesis) -> None:
    stats: dict[tuple[str, str], set[str]] = {}
    for _, (namespace, name, dimensions), options in graphed(synth):
        if namespace == METRICS_NAMESPACE:
            stats.setdefault((name, dict(dimensions)["Mode"]), set()).add(options["stat"])

    for (name, mode), found in stats.items():
        expected = {"Average", "Maximum"} if name == "JobDuration" else {"Sum"}
        assert found == expected, (name, mode)
    assert {mode for name, mode in stats if name == "JobDuration"} == {"apply", "dry-run"}


def test_widgets_group_jobs_rows_retries_and_duration(synth: Synthesis) -> None:
    names_by_title: dict[str, set[str]] = {}
    for title, (namespace, name, _), _ in graphed(synth):
        if namespace == METRICS_NAMESPACE:
            names_by_title.setdefault(title, set()).add(name)

    assert sorted(names_by_title.values(), key=sorted) == sorted(
        [
            {"ConnectRetries"},
            {"JobDuration"},
            {"Jobs", "JobsFailed", "JobsRejected"},
            {"RowsFailed", "RowsPlanned", "RowsSkipped", "RowsSucceeded"},
        ],
        key=sorted,
    )


def test_failed_events_and_the_functions_errors_throttles_and_duration_are_shown(synth: Synthesis) -> None:
    function = synth.logical_id("AWS::Lambda::Function", "Job/Function/")
    queue, _ = synth.only("AWS::SQS::Queue")
    by_function = (("FunctionName", f"${{{function}}}"),)

    others = {(key, options["stat"]) for _, key, options in graphed(synth) if key[0] != METRICS_NAMESPACE}
    # Function-wide (every version), as the alarms are: executions replay on the version they began on.
    assert others == {
        (
            ("AWS/SQS", "ApproximateNumberOfMessagesVisible", (("QueueName", f"${{{queue}.QueueName}}"),)),
            "Maximum",
        ),
        (("AWS/Lambda", "Errors", by_function), "Sum"),
        (("AWS/Lambda", "Throttles", by_function), "Sum"),
        (("AWS/Lambda", "Duration", by_function), "Average"),
        (("AWS/Lambda", "Duration", by_function), "Maximum"),
    }


def test_the_alarms_are_on_the_dashboard_too(synth: Synthesis) -> None:
    alarms = {f"${{{logical_id}.Arn}}" for logical_id in synth.resources("AWS::CloudWatch::Alarm")}

    (widget,) = [widget for widget in dashboard_body(synth)["widgets"] if widget["type"] == "alarm"]
    assert set(widget["properties"]["alarms"]) == alarms
    assert len(alarms) == 3


def test_the_dashboard_is_named_per_region_and_its_console_url_is_an_output(synth: Synthesis) -> None:
    dashboard_id, dashboard = synth.only("AWS::CloudWatch::Dashboard")

    # Dashboard names are global to the account: two Regions' stacks must not share one.
    assert render(dashboard["Properties"]["DashboardName"]) == "ConnectProfiles-${AWS::Region}"
    output = synth.template_json["Outputs"]["DashboardUrl"]
    assert render(output["Value"]) == (
        "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}"
        f"#dashboards:name=${{{dashboard_id}}}"
    )
    assert output["Description"]
