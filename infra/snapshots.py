"""The daily snapshot: an EventBridge Scheduler schedule that invokes the job's live alias.

The schedule sends `contract.SNAPSHOT_EVENT` as the event; the function writes every user's
proficiencies to snapshots/<UTC date>.csv (a sync file). Scheduler invokes Lambda asynchronously
(AWS Lambda Developer Guide, "Using Lambda with Amazon EventBridge Scheduler"), so the alias's own
async configuration applies after delivery: no Lambda retries, six hours' wait behind a running job,
then the on-failure queue.

The schedule's retry policy covers only delivery (the Invoke call itself). What Scheduler cannot
deliver goes to the same failed-events queue as Lambda's failed upload events: one place, and one
alarm (FailedEvents), for "an event that never ran". That queue is a standard queue with SSE-SQS,
which Scheduler accepts as a dead-letter queue (no FIFO, no key grants needed).

The execution role (Scheduler User Guide, "Setting up the execution role", "Using templated targets":
Lambda Invoke needs lambda:InvokeFunction on the target; "Configuring a dead-letter queue": the role
needs sqs:SendMessage on the queue) may invoke the alias and send to that queue, nothing else. Its
trust policy carries the confused-deputy guard the Scheduler User Guide recommends ("Confused deputy
prevention"): aws:SourceAccount, and aws:SourceArn scoped to the schedule group, never a schedule.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, Duration, Stack, TimeZone
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from connect_profiles.contract import SNAPSHOT_EVENT

# Schedules created without a group belong to the account's `default` group.
SCHEDULE_GROUP = "default"
# Delivery only (the Invoke call): a snapshot an hour late is still that day's snapshot; past that,
# the dead-letter message and its alarm tell a person.
RETRY_ATTEMPTS = 5
MAX_EVENT_AGE = Duration.hours(1)


class SnapshotSchedule(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        expression: str,
        target: lambda_.IFunction,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        """`expression`: a validated Scheduler `cron(...)` or `rate(...)` expression (infra/settings.py)."""
        super().__init__(scope, construct_id)
        stack = Stack.of(self)

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {
                        "aws:SourceAccount": Aws.ACCOUNT_ID,
                        "aws:SourceArn": stack.format_arn(
                            service="scheduler",
                            resource="schedule-group",
                            resource_name=SCHEDULE_GROUP,
                            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
                        ),
                    }
                },
            ),
            description="Connect profiles daily snapshot: invokes the job's live alias",
        )
        # LambdaInvoke grants the role lambda:InvokeFunction on the alias ARN, and the dead-letter
        # queue sqs:SendMessage on the queue ARN; nothing else.
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            description="Daily snapshot of every agent's proficiencies to snapshots/<UTC date>.csv",
            # UTC, as the snapshot's file name is. (rate() ignores the zone; CDK sets one on every schedule.)
            schedule=scheduler.ScheduleExpression.expression(expression, TimeZone.ETC_UTC),
            target=targets.LambdaInvoke(
                target,
                input=scheduler.ScheduleTargetInput.from_object(SNAPSHOT_EVENT),
                role=self.role,
                dead_letter_queue=dead_letter_queue,
                retry_attempts=RETRY_ATTEMPTS,
                max_event_age=MAX_EVENT_AGE,
            ),
            # Exactly on time: a snapshot is a point in time, and jobs queue behind each other anyway.
            time_window=scheduler.TimeWindow.off(),
        )
