"""The durable job function: its role, log group, live alias and where failed events go."""

from __future__ import annotations

from aws_cdk import Annotations, ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import Construct

from connect_profiles.contract import METRICS_NAMESPACE, SERVICE_NAME, Env
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

CONNECT_INSTANCE_READS = ("connect:ListUsers", "connect:SearchUsers", "connect:ListPredefinedAttributes")
CONNECT_USER_READS = ("connect:DescribeUser", "connect:ListUserProficiencies")
CONNECT_ATTRIBUTE_READS = ("connect:DescribePredefinedAttribute",)
CONNECT_PROFICIENCY_WRITES = (
    "connect:AssociateUserProficiencies",
    "connect:UpdateUserProficiencies",
    "connect:DisassociateUserProficiencies",
)
DURABLE_EXECUTION_ACTIONS = ("lambda:CheckpointDurableExecution", "lambda:GetDurableExecutionState")


def connect_instance_arn(stack: Stack, instance_id: str, child: str = "") -> str:
    """`arn:…:connect:<region>:<account>:instance/<id>` or, with `child`, a resource inside it."""
    return stack.format_arn(
        service="connect",
        resource="instance",
        resource_name=f"{instance_id}{child}",
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )


class JobFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        code: lambda_.Code,
        topic: sns.ITopic,
        table: dynamodb.ITable,
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
        self.log_group.grant_write(self.role)

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
                Env.CONNECT_RATE: settings.connect_rate_text,
                Env.CONNECT_BURST: str(settings.connect_burst),
                Env.MAX_PROFICIENCIES_PER_AGENT: str(settings.max_proficiencies_per_agent),
                "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
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
            on_failure=destinations.SqsDestination(self.failed_events),
            retry_attempts=ASYNC_RETRY_ATTEMPTS,
            max_event_age=MAX_EVENT_AGE,
        )

        self._allow_durable_checkpoints()
        self._allow_connect(settings.instance_id)
        self._acknowledge_xray()

    def _allow_durable_checkpoints(self) -> None:
        """The SDK checkpoints through the Lambda API against the execution's ARN.

        Execution ARNs are `<function ARN>:<version>/durable-execution/<name>/<id>`, so `:*` after
        this function's own ARN is the narrowest pattern that survives new versions. It lives in its
        own policy: the role's default policy must exist before the function, and this one names it.
        """
        policy = iam.Policy(
            self,
            "DurableExecutionPolicy",
            statements=[
                iam.PolicyStatement(
                    sid="CheckpointOwnExecutions",
                    actions=list(DURABLE_EXECUTION_ACTIONS),
                    resources=[f"{self.function.function_arn}:*"],
                )
            ],
        )
        self.role.attach_inline_policy(policy)
        # Nothing can invoke the function (S3 goes through the alias) before it can checkpoint.
        self.alias.node.add_dependency(policy)
        NagSuppressions.add_resource_suppressions(
            policy,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="Durable execution ARNs extend this function's own ARN with a version and an "
                    "execution id unknown at deploy time; the wildcard cannot leave this function.",
                    applies_to=[RegexAppliesTo(regex="/^Resource::<.*Function[0-9A-F]{8}\\.Arn>:\\*$/")],
                )
            ],
        )

    def _allow_connect(self, instance_id: str) -> None:
        """Connect permissions, confined to the one configured instance.

        Connect authorises instance-wide list and search calls against the instance ARN, and per-user
        calls against the user's ARN (`instance/<id>/agent/<user id>`). The users to change are only
        known from the file, hence `agent/*` within the instance. Proficiency writes also name the
        predefined attributes being assigned, so they may use `predefined-attribute/*` of the same
        instance too. Nothing here reaches another instance, or any other Connect resource type.
        """
        stack = Stack.of(self)
        instance = connect_instance_arn(stack, instance_id)
        users = connect_instance_arn(stack, instance_id, "/agent/*")
        attributes = connect_instance_arn(stack, instance_id, "/predefined-attribute/*")
        statements = [
            ("ConnectInstanceReads", CONNECT_INSTANCE_READS, [instance]),
            ("ConnectUserReads", CONNECT_USER_READS, [users]),
            ("ConnectAttributeReads", CONNECT_ATTRIBUTE_READS, [attributes]),
            ("ConnectProficiencyWrites", CONNECT_PROFICIENCY_WRITES, [users, attributes]),
        ]
        for sid, actions, resources in statements:
            self.role.add_to_principal_policy(
                iam.PolicyStatement(sid=sid, actions=list(actions), resources=resources)
            )
        NagSuppressions.add_resource_suppressions(
            self.role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="Which agents a file changes, and which predefined attributes it assigns, are "
                    "only known at run time; the wildcards stay inside the one configured instance.",
                    applies_to=[
                        f"Resource::arn:<AWS::Partition>:connect:<AWS::Region>:<AWS::AccountId>:instance/{instance_id}/agent/*",
                        f"Resource::arn:<AWS::Partition>:connect:<AWS::Region>:<AWS::AccountId>:instance/{instance_id}/predefined-attribute/*",
                    ],
                )
            ],
            apply_to_children=True,
        )

    def _acknowledge_xray(self) -> None:
        NagSuppressions.add_resource_suppressions(
            self.role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level "
                    "permissions; CDK adds them for active tracing.",
                    applies_to=["Resource::*"],
                )
            ],
            apply_to_children=True,
        )
