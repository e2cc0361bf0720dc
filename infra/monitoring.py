"""Alarms that tell a person (through the notification topic) that jobs are failing or stuck."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

PERIOD = Duration.minutes(5)
# Throttles are expected while a second file waits for the running job (reserved concurrency 1);
# they matter when they persist, because a waiting event is dropped after six hours.
THROTTLE_PERIODS = 3


class JobMonitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.Function,
        failed_events: sqs.IQueue,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        notify = actions.SnsAction(topic)

        # Function-wide metrics, not the alias's: executions replay on the version they started on.
        self.errors = cloudwatch.Alarm(
            self,
            "JobErrors",
            alarm_description="The Connect profiles job raised errors. See the function's logs.",
            metric=function.metric_errors(period=PERIOD, statistic=cloudwatch.Stats.SUM),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.failed_events = cloudwatch.Alarm(
            self,
            "FailedEvents",
            alarm_description="An event could not be processed and is in the on-failure queue. For an "
            "upload the message holds the original S3 event: fix the cause and upload the file again. A "
            "snapshot event the schedule could not deliver, or that failed, is there too.",
            metric=failed_events.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.throttles = cloudwatch.Alarm(
            self,
            "JobThrottles",
            alarm_description="Upload events have been throttled for 15 minutes: files are queueing behind "
            "a long job. Events still waiting after six hours go to the on-failure queue.",
            metric=function.metric_throttles(period=PERIOD, statistic=cloudwatch.Stats.SUM),
            threshold=1,
            evaluation_periods=THROTTLE_PERIODS,
            datapoints_to_alarm=THROTTLE_PERIODS,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        for alarm in (self.errors, self.failed_events, self.throttles):
            alarm.add_alarm_action(notify)
