"""One CloudWatch dashboard: the job's own metrics, the failed-events queue and the function's health.

The job's metrics are what `connect_profiles.entrypoints.observability.emit_job_metrics` emits: the
namespace `contract.METRICS_NAMESPACE`, and one dimension set, Powertools' `service`
(`contract.SERVICE_NAME`) with `Mode`. CloudWatch matches a metric only on its exact dimension set,
so every job metric here names both, once per mode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from connect_profiles.contract import METRICS_NAMESPACE, SERVICE_NAME

# The job's `Mode` dimension, and the row statuses each mode reports (DESIGN.md section 3).
MODES = ("apply", "dry-run")
ROW_STATUSES: Mapping[str, tuple[str, ...]] = {
    "apply": ("succeeded", "skipped", "failed"),
    "dry-run": ("planned", "skipped", "failed"),
}
JOB_COUNTS = ("Jobs", "JobsRejected", "JobsFailed")
# Jobs are few and long: an hour per point keeps one job one point. Lambda's health is finer.
JOB_PERIOD = Duration.hours(1)
HEALTH_PERIOD = Duration.minutes(5)
WIDTH = 12
HEIGHT = 6


def job_metric(name: str, mode: str, *, statistic: str = cloudwatch.Stats.SUM) -> cloudwatch.Metric:
    """A metric the job emits, with exactly the dimensions it is emitted with."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": SERVICE_NAME, "Mode": mode},
        statistic=statistic,
        period=JOB_PERIOD,
        label=f"{name} ({mode})",
    )


def console_url(dashboard: cloudwatch.Dashboard) -> str:
    return (
        f"https://{Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region={Aws.REGION}"
        f"#dashboards:name={dashboard.dashboard_name}"
    )


class JobDashboard(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.Function,
        failed_events: sqs.IQueue,
        alarms: Sequence[cloudwatch.IAlarm],
    ) -> None:
        super().__init__(scope, construct_id)
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            # Dashboards are global to the account: the Region keeps two deployments apart.
            dashboard_name=f"{Stack.of(self).stack_name}-{Aws.REGION}",
            default_interval=Duration.days(7),
        )
        self.url = console_url(self.dashboard)

        def graph(
            title: str, metrics: list[cloudwatch.IMetric], unit: str = "Count"
        ) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(
                title=title,
                left=metrics,
                left_y_axis=cloudwatch.YAxisProps(label=unit, min=0, show_units=False),
                width=WIDTH,
                height=HEIGHT,
            )

        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(alarms), width=2 * WIDTH, height=3)
        )
        self.dashboard.add_widgets(
            graph(
                "Jobs, rejected files and failed jobs",
                [job_metric(name, mode) for mode in MODES for name in JOB_COUNTS],
            ),
            graph(
                "Rows by status",
                [
                    job_metric(f"Rows{status.capitalize()}", mode)
                    for mode in MODES
                    for status in ROW_STATUSES[mode]
                ],
            ),
        )
        self.dashboard.add_widgets(
            graph(
                "Connect retries",
                [job_metric("ConnectRetries", mode) for mode in MODES],
            ),
            graph(
                "Job duration",
                [
                    job_metric("JobDuration", mode, statistic=statistic).with_(
                        label=f"JobDuration {statistic} ({mode})"
                    )
                    for mode in MODES
                    for statistic in (cloudwatch.Stats.AVERAGE, cloudwatch.Stats.MAXIMUM)
                ],
                unit="Seconds",
            ),
        )
        # The function's metrics are function-wide, not the alias's, as the alarms are: executions
        # replay on the version they started on.
        self.dashboard.add_widgets(
            graph(
                "Failed events (on-failure queue)",
                [
                    failed_events.metric_approximate_number_of_messages_visible(
                        period=HEALTH_PERIOD, statistic=cloudwatch.Stats.MAXIMUM, label="Messages waiting"
                    )
                ],
            ),
            graph(
                "Lambda errors and throttles",
                [
                    function.metric_errors(
                        period=HEALTH_PERIOD, statistic=cloudwatch.Stats.SUM, label="Errors"
                    ),
                    function.metric_throttles(
                        period=HEALTH_PERIOD, statistic=cloudwatch.Stats.SUM, label="Throttles"
                    ),
                ],
            ),
        )
        self.dashboard.add_widgets(
            graph(
                "Lambda duration, per invocation",
                [
                    function.metric_duration(
                        period=HEALTH_PERIOD, statistic=statistic, label=f"Duration {statistic}"
                    )
                    for statistic in (cloudwatch.Stats.AVERAGE, cloudwatch.Stats.MAXIMUM)
                ],
                unit="Milliseconds",
            ),
        )
