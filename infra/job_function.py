"""The durable job function: its role, log group, live alias and where failed events go."""

from __future__ import annotations

from typing import cast

import jsii
from aws_cdk import Annotations, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from connect_profiles.contract import METRICS_NAMESPACE, SERVICE_NAME, Env
from infra import permissions
from infra.bundling import ARCHITECTURE, HANDLER, RUNTIME
from infra.settings import Settings

ALIAS_NAME = "live"

# One invocation holds ~1,800 Connect writes at 2/s; longer files continue in the next invocation
# from the last checkpoint. A day bounds the whole job; its state is kept two weeks for inspection.
INVOCATION_TIMEOUT = Duration.minutes(15)
EXECUTION_TIMEOUT = Duration.days(1)
EXECUTION_RETENTION = Duration.days(14)
MEMORY_MB = 512
LOG_RETENTION = logs.RetentionDays.ONE_MONTH
# Throttled events (one job at a time) wait in Lambda's async queue; six hours is the longest wait.
MAX_EVENT_AGE = Duration.hours(6)
# No async retries: steps already retry inside the durable execution, and a re-run of a failed job
# would be suppressed as a duplicate by the idempotency claim anyway. A failed event goes straight
# to the on-failure queue (and its alarm) with the original S3 event, for a person to look at.
ASYNC_RETRY_ATTEMPTS = 0


@jsii.implements(lambda_.IDestination)
class QueueDestination:
    """An SQS on-failure destination that grants nothing itself.

    CDK's `SqsDestination` calls `grant_send_messages`, which adds sqs:GetQueueAttributes and
    sqs:GetQueueUrl too; Lambda needs only sqs:SendMessage (AWS Lambda Developer Guide, "Asynchronous
    invocation": destination permissions), which `PLATFORM_GRANTS` grants. jsii passes the bind
    options positionally.
    """

    def __init__(self, queue: sqs.IQueue) -> None:
        self._queue = queue

    def bind(
        self, _scope: Construct, _fn: lambda_.IFunction, _options: object = None, **_kwargs: object
    ) -> lambda_.DestinationConfig:
        return lambda_.DestinationConfig(destination=self._queue.queue_arn)


class JobFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        code: lambda_.Code,
        topic: sns.ITopic,
        topic_key: kms.IKey,
        table: dynamodb.ITable,
        bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Connect profiles job: reads inputs, applies proficiencies, writes reports",
        )
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )

        self.failed_events = sqs.Queue(
            self,
            "FailedEvents",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        NagSuppressions.add_resource_suppressions(
            self.failed_events,
            [
                NagPackSuppression(
                    id="AwsSolutions-SQS3",
                    reason="This queue is itself the function's on-failure destination; nothing consumes "
                    "it automatically, so a dead-letter queue behind it would never receive anything.",
                )
            ],
        )

        self.function = lambda_.Function(
            self,
            "Function",
            description="Applies Connect proficiency CSVs dropped into the job bucket",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=HANDLER,
            code=code,
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            timeout=INVOCATION_TIMEOUT,
            memory_size=MEMORY_MB,
            reserved_concurrent_executions=settings.reserved_concurrency,
            durable_config=lambda_.DurableConfig(
                execution_timeout=EXECUTION_TIMEOUT,
                retention_period=EXECUTION_RETENTION,
            ),
            # In-flight executions replay on the version they started on: never delete old versions.
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.RETAIN),
            environment={
                Env.CONNECT_INSTANCE_ID: settings.instance_id,
                Env.SUMMARY_TOPIC_ARN: topic.topic_arn,
                Env.IDEMPOTENCY_TABLE_NAME: table.table_name,
                # The scheduled snapshot has no S3 event to name the bucket.
                Env.JOB_BUCKET_NAME: bucket.bucket_name,
                **({Env.CONNECT_RATE: settings.connect_rate_text} if settings.connect_rate_text else {}),
                **({Env.CONNECT_BURST: str(settings.connect_burst)} if settings.connect_burst else {}),
                **({Env.CONNECT_API_RATES: settings.connect_api_rates} if settings.connect_api_rates else {}),
                Env.CONNECT_HEADROOM: f"{settings.connect_headroom:g}",
                Env.MAX_PROFICIENCIES_PER_AGENT: str(settings.max_proficiencies_per_agent),
                Env.MAX_GROUP_USERS: str(settings.max_group_users),
                "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
        )

        NagSuppressions.add_resource_suppressions(
            self.function,
            [
                NagPackSuppression(
                    id="AwsSolutions-L1",
                    reason="python3.13 is a current, supported durable runtime. 3.14 is newer, but the "
                    "code asset is import-tested on an interpreter of the runtime's own version, and no "
                    "CPython 3.14 can be installed where the project is built and tested.",
                )
            ],
        )
        Annotations.of(self.function).acknowledge_info(
            "aws-lambda:Function.DurableConfig",
            "The function is durable from its first deployment, so no existing function is replaced.",
        )

        # Durable functions are invoked through a qualified ARN: S3 targets this alias.
        self.alias = lambda_.Alias(
            self,
            "LiveAlias",
            alias_name=ALIAS_NAME,
            version=self.function.current_version,
            on_failure=cast(lambda_.IDestination, QueueDestination(self.failed_events)),
            retry_attempts=ASYNC_RETRY_ATTEMPTS,
            max_event_age=MAX_EVENT_AGE,
        )

        self._grant(settings.instance_id, topic=topic, topic_key=topic_key, table=table, bucket=bucket)

    def _grant(
        self,
        instance_id: str,
        *,
        topic: sns.ITopic,
        topic_key: kms.IKey,
        table: dynamodb.ITable,
        bucket: s3.IBucket,
    ) -> None:
        """Every statement the role has, from the contract's `JOB_ACTIONS` and `PLATFORM_GRANTS`.

        The checkpoint grant names the function, so it lives in its own policy: the role's default
        policy must exist before the function. Nothing can invoke the function (S3 goes through the
        alias) before it can checkpoint.
        """
        stack = Stack.of(self)
        permissions.grant_job_actions(
            self.role,
            permissions.job_targets(stack, instance_id=instance_id, bucket=bucket, topic=topic, table=table),
        )
        durable_policy = iam.Policy(self, "DurableExecutionPolicy")
        self.role.attach_inline_policy(durable_policy)
        self.alias.node.add_dependency(durable_policy)
        permissions.grant_platform_needs(
            self.role,
            permissions.platform_targets(
                log_group=self.log_group,
                function=self.function,
                failed_events=self.failed_events,
                topic_key=topic_key,
            ),
            policies={permissions.PlatformNeed.OWN_EXECUTIONS: durable_policy},
        )
