"""The job role's policy, read from the synthesised stack, enforced on the Lambda job's calls.

Nothing here copies a grant by hand: the stack is synthesised once per session, every
AWS::IAM::Policy attached to the job role (construct path `Job/Role/`) is collected, and its
intrinsics are resolved to the local stand-ins' concrete ARNs. The `iam_enforced` fixture then
checks every call the product makes (S3, SNS and its topic's KMS key, SQS, DynamoDB, Lambda in
process; Connect in process or in the emulator) against that policy, and fails the test at
teardown if any was refused.

Use in a module that has the `local_aws` fixture (tests/integration/test_lambda_job.py's pattern):

    from tests.iam_policy import IamEnforcement, iam_enforced, job_role  # noqa: F401  (fixtures)

    @pytest.fixture(autouse=True)
    def _iam(iam_enforced: IamEnforcement) -> IamEnforcement:
        return iam_enforced
"""

from __future__ import annotations

import atexit
import functools
import inspect
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from connect_emulator import ConnectEmulator, ConnectService, Instance, Quota
from iam_enforcement import (
    ACCOUNT,
    AccessLog,
    AwsCallEnforcer,
    Check,
    ConnectAuthorizer,
    Policy,
    Principal,
    not_authorized,
)
from iam_enforcement.policy import Effect, Statement
from local_stand_ins import BUCKET, REGION, TABLE, TOPIC
from tests.infrastructure.synthesis import INSTANCE_ID, Synthesis, synthesize

PARTITION = "aws"
JOB_ROLE_PATH = "Job/Role/"
JOB_BUCKET_PATH = "Storage/JobBucket/"
LOCAL_TOPIC_ARN = f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{TOPIC}"
# Actions the role holds for the Lambda service itself (logs, traces, durable checkpoints, the
# on-failure destination): no product code calls them, so no test can show them used.
RUNTIME_ACTION_PREFIXES = ("logs:", "xray:", "lambda:", "sqs:")
# Whether this tree's Connect emulator has the authorizer seam (`ConnectService(authorizer=...)`).
EMULATOR_AUTHORIZES = "authorizer" in inspect.signature(ConnectService).parameters


# --- resolving the template ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LocalResources:
    """What the stack's resources are called on the local stand-ins."""

    topic_arn: str = LOCAL_TOPIC_ARN
    bucket: str = BUCKET
    table: str = TABLE
    region: str = REGION
    account: str = ACCOUNT
    function_name: str = "connect-profiles-job"
    kms_key_id: str = "00000000-0000-4000-8000-00000000c0de"

    @property
    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::Partition": PARTITION,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "ConnectProfiles",
        }


def _local_names(
    logical_id: str, resource: Mapping[str, Any], local: LocalResources
) -> tuple[str, dict[str, str]]:
    """(what Ref gives, {attribute: what GetAtt gives}) for one template resource."""
    kind = resource["Type"]
    path = resource.get("Metadata", {}).get("aws:cdk:path", "")
    arn = f"arn:{PARTITION}:{{}}:{local.region}:{local.account}:{{}}"
    name = f"local-{logical_id.lower()}"
    if kind == "AWS::S3::Bucket":
        bucket = local.bucket if JOB_BUCKET_PATH in path else name
        return bucket, {"Arn": f"arn:{PARTITION}:s3:::{bucket}"}
    if kind == "AWS::SNS::Topic":
        return local.topic_arn, {"TopicArn": local.topic_arn, "TopicName": local.topic_arn.rpartition(":")[2]}
    if kind == "AWS::DynamoDB::Table":
        return local.table, {"Arn": arn.format("dynamodb", f"table/{local.table}")}
    if kind == "AWS::KMS::Key":
        return local.kms_key_id, {
            "Arn": arn.format("kms", f"key/{local.kms_key_id}"),
            "KeyId": local.kms_key_id,
        }
    if kind == "AWS::SQS::Queue":
        url = f"https://sqs.{local.region}.amazonaws.com/{local.account}/{name}"
        return url, {"Arn": arn.format("sqs", name), "QueueName": name, "QueueUrl": url}
    if kind == "AWS::Logs::LogGroup":
        group = f"/aws/lambda/{local.function_name}"
        return group, {"Arn": arn.format("logs", f"log-group:{group}:*")}
    if kind == "AWS::Lambda::Function":
        function = local.function_name if "Job/Function/" in path else name
        return function, {"Arn": arn.format("lambda", f"function:{function}")}
    if kind == "AWS::IAM::Role":
        return name, {"Arn": f"arn:{PARTITION}:iam::{local.account}:role/{name}"}
    return name, {}


class Resolver:
    """CloudFormation intrinsics -> concrete values: Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select."""

    def __init__(self, template: Mapping[str, Any], local: LocalResources) -> None:
        self._values = dict(local.pseudo)
        self._attributes: dict[str, dict[str, str]] = {}
        for logical_id, resource in template.get("Resources", {}).items():
            ref, attributes = _local_names(logical_id, resource, local)
            self._values[logical_id] = ref
            self._attributes[logical_id] = attributes
        for name, parameter in template.get("Parameters", {}).items():
            if "Default" in parameter:
                self._values[name] = str(parameter["Default"])

    def ref(self, name: str) -> str:
        if name not in self._values:
            raise KeyError(f"Ref to {name}: no local value (extend tests/iam_policy.py)")
        return self._values[name]

    def get_att(self, logical_id: str, attribute: str) -> str:
        try:
            return self._attributes[logical_id][attribute]
        except KeyError:
            raise KeyError(
                f"GetAtt {logical_id}.{attribute}: no local value (extend tests/iam_policy.py)"
            ) from None

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1 or not next(iter(value)).startswith(("Ref", "Fn::")):
            return {key: self.resolve(item) for key, item in value.items()}
        (function, argument), *_ = value.items()
        if function == "Ref":
            return self.ref(argument)
        if function == "Fn::GetAtt":
            logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
            return self.get_att(logical_id, attribute)
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(str(self.resolve(part)) for part in parts)
        if function == "Fn::Select":
            index, items = argument
            return self.resolve(items)[int(index)]
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return self._sub(text, {key: str(self.resolve(item)) for key, item in variables.items()})
        raise ValueError(f"intrinsic not modelled: {function} (extend tests/iam_policy.py)")

    def _sub(self, text: str, variables: Mapping[str, str]) -> str:
        out, rest = [], text
        while "${" in rest:
            before, _, after = rest.partition("${")
            name, _, rest = after.partition("}")
            out.append(before)
            if name.startswith("!"):
                out.append("${" + name[1:] + "}")
            elif name in variables:
                out.append(variables[name])
            elif "." in name:
                out.append(self.get_att(*name.split(".", 1)))
            else:
                out.append(self.ref(name))
        return "".join([*out, rest])


@dataclass(frozen=True)
class JobRole:
    """The job role's statements exactly as synthesised (intrinsics unresolved), and the template."""

    synthesis: Synthesis
    role_id: str
    statements: tuple[Mapping[str, Any], ...]

    def policy(self, local: LocalResources | None = None) -> Policy:
        resolver = Resolver(self.synthesis.template_json, local or LocalResources())
        return Policy.from_statements(resolver.resolve(dict(statement)) for statement in self.statements)

    def topic_keys(self, local: LocalResources | None = None) -> dict[str, str]:
        """SNS topic ARN -> the KMS key ARN it is encrypted with (SNS uses the publisher's rights)."""
        resolver = Resolver(self.synthesis.template_json, local or LocalResources())
        keys = {}
        for logical_id, topic in self.synthesis.resources("AWS::SNS::Topic").items():
            key = topic["Properties"].get("KmsMasterKeyId")
            if key is not None:
                keys[resolver.ref(logical_id)] = str(resolver.resolve(key))
        return keys


def job_role_from(synthesis: Synthesis) -> JobRole:
    role_id = synthesis.logical_id("AWS::IAM::Role", JOB_ROLE_PATH)
    statements: list[Mapping[str, Any]] = []
    for policy in synthesis.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            raw = policy["Properties"]["PolicyDocument"]["Statement"]
            statements.extend([raw] if isinstance(raw, Mapping) else raw)
    assert statements, f"no AWS::IAM::Policy is attached to {role_id}"
    return JobRole(synthesis, role_id, tuple(statements))


def synthesize_job_role(outdir: Path) -> JobRole:
    return job_role_from(synthesize(outdir, {"instanceId": INSTANCE_ID}))


@functools.cache
def synthesized_job_role() -> JobRole:
    """One synthesis per test process, shared by the fixture and by parametrisation at collection."""
    outdir = Path(tempfile.mkdtemp(prefix="cdk.out.iam-"))
    atexit.register(shutil.rmtree, outdir, ignore_errors=True)
    return synthesize_job_role(outdir)


# --- least privilege, the other way ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Grant:
    """One (action, resource) pair an Allow statement grants."""

    index: int  # the statement's position in the policy
    sid: str | None
    action: str
    resource: str
    statement: Statement

    def __str__(self) -> str:
        return f"{self.sid or f'statement {self.index}'}: {self.action} on {self.resource}"

    def drop_from(self, policy: Policy) -> Policy:
        return policy.without(self.index, self.action, self.resource)

    def used_by(self, check: Check) -> bool:
        narrowed = Statement(
            Effect.ALLOW, (self.action,), (self.resource,), conditions=self.statement.conditions
        )
        return check.allowed and narrowed.applies(check.action, check.resource, check.context)


def grants(policy: Policy, *, skip_prefixes: Iterable[str] = RUNTIME_ACTION_PREFIXES) -> list[Grant]:
    skip = tuple(skip_prefixes)
    found: list[Grant] = []
    for index, statement in enumerate(policy.statements):
        if statement.effect is not Effect.ALLOW or statement.not_action or statement.not_resource:
            continue
        for action in statement.actions:
            if action.lower().startswith(skip):
                continue
            found.extend(Grant(index, statement.sid, action, r, statement) for r in statement.resources)
    return found


def unused_grants(policy: Policy, checks: Iterable[Check]) -> list[Grant]:
    """Every granted (action, resource) no allowed call needed: what least privilege would drop."""
    made = list(checks)
    return [grant for grant in grants(policy) if not any(grant.used_by(check) for check in made)]


# --- the fixtures ----------------------------------------------------------------------------------


@dataclass
class IamEnforcement:
    """The job role's policy, enforced; every check lands in `log`."""

    policy: Policy
    topic_keys: dict[str, str]
    log: AccessLog = field(default_factory=AccessLog)
    principal: Principal = field(default_factory=Principal)
    # Set by a test that means to provoke refusals (the teardown check then leaves them be).
    expect_denials: bool = False

    def __post_init__(self) -> None:
        self.authorizer = ConnectAuthorizer(self.policy, principal=self.principal, log=self.log)
        self.enforcer = AwsCallEnforcer(
            self.policy, principal=self.principal, log=self.log, topic_keys=self.topic_keys
        )

    def start_connect(self, instance: Instance, quota: Quota | None = None) -> ConnectEmulator:
        """An emulator that enforces the policy itself where it can (its authorizer seam); else the
        product's Connect client is checked in process, which the enforcer does by default."""
        if EMULATOR_AUTHORIZES:
            service = ConnectService(quota=quota, authorizer=self.authorizer)  # type: ignore[call-arg,unused-ignore]
            self.enforcer.enforce_connect = False
        else:
            service = ConnectService(quota=quota)
        service.add_instance(instance)
        return ConnectEmulator(service).start()

    def denial_lines(self, checks: Iterable[Check] | None = None) -> list[str]:
        """One line per distinct refused (operation, action, resource), in AWS's words."""
        refused = [c for c in (self.log.checks if checks is None else checks) if not c.allowed]
        return [_denial_line(check, self.principal) for check in _distinct(refused)]

    def assert_all_allowed(self) -> None:
        lines = self.denial_lines()
        assert not lines, "the job role's policy refused calls the job made:\n" + "\n".join(lines)

    def assert_no_unused_grants(self, checks: Iterable[Check] | None = None) -> None:
        unused = unused_grants(self.policy, self.log.checks if checks is None else checks)
        assert not unused, "the job role grants what no call of the job used:\n" + "\n".join(map(str, unused))


def _distinct(checks: Iterable[Check]) -> list[Check]:
    seen: dict[tuple[str, str, str], Check] = {}
    for check in checks:
        seen.setdefault((check.operation, check.action, check.resource), check)
    return list(seen.values())


def _denial_line(check: Check, principal: Principal) -> str:
    return f"{check.operation}: " + not_authorized(
        principal, check.decision, quote_resource=check.action.startswith("s3:")
    )


@pytest.fixture(scope="session")
def job_role() -> JobRole:
    """The stack synthesised once per session (instance 11111111-…-555555555555), its job role read."""
    return synthesized_job_role()


@pytest.fixture
def iam_enforced(job_role: JobRole, local_aws: Any) -> Iterator[IamEnforcement]:
    """The synthesised job role's policy on every call the product makes in this test; a refused call
    fails the test at teardown (even when the product swallowed the error)."""
    local = LocalResources(topic_arn=local_aws.topic_arn or LOCAL_TOPIC_ARN)
    enforcement = IamEnforcement(job_role.policy(local), job_role.topic_keys(local))
    with enforcement.enforcer:
        yield enforcement
    if not enforcement.expect_denials:
        enforcement.assert_all_allowed()
