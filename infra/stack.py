"""The whole product in one stack: storage, notifications, idempotency, the job, its schedule, alarms and
dashboard."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_lambda as lambda_
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from connect_profiles.contract import APPLY_PREFIX, DRY_RUN_PREFIX, REPORTS_PREFIX
from infra.bundling import job_code
from infra.dashboard import JobDashboard
from infra.idempotency import IdempotencyStore
from infra.job_function import JobFunction
from infra.monitoring import JobMonitoring
from infra.notifications import JobNotifications
from infra.settings import Settings
from infra.snapshots import SnapshotSchedule
from infra.storage import JobStorage

# CDK's singleton that applies bucket notification configurations (a custom resource).
_BUCKET_NOTIFICATIONS_HANDLER = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"


class ConnectProfilesStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        code: lambda_.Code | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)

        storage = JobStorage(self, "Storage", report_retention=Duration.days(settings.report_retention_days))
        notifications = JobNotifications(self, "Notifications", email=settings.notification_email)
        idempotency = IdempotencyStore(self, "Idempotency")
        job = JobFunction(
            self,
            "Job",
            settings=settings,
            code=code if code is not None else job_code(),
            topic=notifications.topic,
            topic_key=notifications.key,
            table=idempotency.table,
            bucket=storage.bucket,
        )
        storage.notify_on_new_input(job.alias)
        if settings.snapshot_schedule is not None:
            SnapshotSchedule(
                self,
                "Snapshots",
                expression=settings.snapshot_schedule,
                target=job.alias,
                dead_letter_queue=job.failed_events,
            )
        monitoring = JobMonitoring(
            self,
            "Monitoring",
            function=job.function,
            failed_events=job.failed_events,
            topic=notifications.topic,
        )
        dashboard = JobDashboard(
            self,
            "Dashboard",
            function=job.function,
            failed_events=job.failed_events,
            alarms=[monitoring.errors, monitoring.failed_events, monitoring.throttles],
        )

        self._acknowledge_bucket_notifications_handler()

        bucket = storage.bucket.bucket_name
        CfnOutput(self, "BucketName", value=bucket, description="Drop CSV files here")
        CfnOutput(
            self, "TopicArn", value=notifications.topic.topic_arn, description="Job summaries and alarms"
        )
        CfnOutput(
            self,
            "UploadCommand",
            value=f"aws s3 cp changes.csv s3://{bucket}/{APPLY_PREFIX}changes.csv",
            description="Apply a file",
        )
        CfnOutput(
            self,
            "DryRunCommand",
            value=f"aws s3 cp changes.csv s3://{bucket}/{DRY_RUN_PREFIX}changes.csv",
            description="Plan a file without applying it",
        )
        CfnOutput(
            self,
            "ReportsLocation",
            value=f"s3://{bucket}/{REPORTS_PREFIX}",
            description="report.csv, rollback.csv, retry.csv and backup.csv, per job",
        )
        CfnOutput(self, "FunctionAlias", value=job.alias.function_arn, description="The invoked alias")
        CfnOutput(self, "FailedEventsQueueUrl", value=job.failed_events.queue_url)
        CfnOutput(
            self,
            "DashboardUrl",
            value=dashboard.url,
            description="Jobs, rows, Connect retries, durations, failed events and the function's health",
        )

    def _acknowledge_bucket_notifications_handler(self) -> None:
        handler = self.node.try_find_child(_BUCKET_NOTIFICATIONS_HANDLER)
        role = handler.node.try_find_child("Role") if handler is not None else None
        if role is None:
            return
        NagSuppressions.add_resource_suppressions(
            role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM4",
                    reason="CDK's bucket-notifications custom resource (runs during deployments only): CDK "
                    "always attaches AWSLambdaBasicExecutionRole, for its logs, even to a supplied role. "
                    "Its bucket permission is CDK's own inline policy, scoped to the job bucket.",
                    applies_to=[
                        "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
                    ],
                ),
            ],
        )
