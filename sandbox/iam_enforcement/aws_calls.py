"""IAM on the product's own boto3 calls, in-process, before they reach moto.

moto's access control (off unless INITIAL_NO_AUTH_ACTION_COUNT is set) authenticates access keys
of moto IAM users and roles and evaluates their policies, but passes `*` as the resource for SNS,
DynamoDB and most services, only the bucket/key for S3, and evaluates conditions only as
StringEquals over values it never fills in; it is also process-wide, so the harness's own calls
would be refused too. So the enforcement is here instead:

`AwsCallEnforcer` patches `botocore.client.BaseClient._make_api_call`. Each call of a *product*
client is mapped, (service, operation, params) -> the IAM requests AWS would authorise (action,
resource ARN, condition context), every one is evaluated against the job role's policy, and a
refusal raises the client's own ClientError subclass (HTTP 403, AWS's code and message) before
anything is sent. Every check, allowed or not, goes into the `AccessLog`.

Which calls are the product's: a call made by a client that was *created* while product code
(a module under one of `product_packages`, by default `connect_profiles`) was on the creating
thread's stack, or a call made while product code is on the calling thread's stack. The first
covers worker threads that run no product frame themselves (s3transfer, a thread pool started by
a library); the second covers a client that was made before enforcement began, or handed in. The
harness's own calls (moto set-up, uploads, reading reports, draining the summary queue) have
neither, so they are neither checked nor recorded. An operation of a product client that has no
mapping below is refused ("no IAM mapping"), so a new call cannot slip through unchecked.
"""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any
from urllib.parse import urlparse

from botocore.client import BaseClient

from iam_enforcement.connect import ConnectAuthorizer, connect_resources
from iam_enforcement.decisions import AccessLog, Check, Principal, not_authorized
from iam_enforcement.policy import Decision, Outcome, Policy

_PRODUCT_MARK = "_iam_enforcement_product_client"


@dataclass(frozen=True, slots=True)
class IamRequest:
    """One authorisation AWS makes for an API call: the action on one resource, with its context."""

    action: str
    resource: str
    context: Mapping[str, str | Sequence[str]]
    # How AWS answers when this one is refused: (error code, HTTP status). None: the service's own.
    error: tuple[str, int] | None = None


# The code and HTTP status each service answers a refusal with.
DENIAL_CODES: dict[str, tuple[str, int]] = {
    "s3": ("AccessDenied", 403),
    "sns": ("AuthorizationError", 403),
    "sqs": ("AccessDenied", 403),
    "dynamodb": ("AccessDeniedException", 400),
    "kms": ("AccessDeniedException", 400),
    "lambda": ("AccessDeniedException", 403),
    "connect": ("AccessDeniedException", 403),
    "logs": ("AccessDeniedException", 400),
    "servicequotas": ("AccessDeniedException", 400),
}
# Actions that need no permission at all.
UNAUTHORISED_OPERATIONS = frozenset({("sts", "GetCallerIdentity")})


class UnmappedOperation(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class CallContext:
    """What a mapping needs besides the call's parameters."""

    region: str
    account: str
    partition: str
    base: Mapping[str, str]  # the principal's global condition keys
    topic_keys: Mapping[str, str]  # SNS topic ARN -> the KMS key ARN it is encrypted with


Mapper = Callable[[str, Mapping[str, Any], CallContext], list[IamRequest]]


# --- S3 ------------------------------------------------------------------------------------------


def _s3(operation: str, params: Mapping[str, Any], ctx: CallContext) -> list[IamRequest]:
    bucket_arn = f"arn:{ctx.partition}:s3:::{params.get('Bucket', '')}"
    if "Key" in params:
        return _s3_object(operation, params, f"{bucket_arn}/{params['Key']}", ctx)
    return _s3_bucket(operation, params, bucket_arn, ctx)


def _s3_object(operation: str, params: Mapping[str, Any], arn: str, ctx: CallContext) -> list[IamRequest]:
    versioned = "VersionId" in params
    base = dict(ctx.base)
    if operation in ("GetObject", "HeadObject"):
        # HeadObject is authorised as GetObject; a named version as GetObjectVersion.
        return [IamRequest("s3:GetObjectVersion" if versioned else "s3:GetObject", arn, base)]
    if operation == "PutObject":
        requests = [IamRequest("s3:PutObject", arn, base)]
        if "Tagging" in params:
            requests.append(IamRequest("s3:PutObjectTagging", arn, base))
        if "ACL" in params:
            requests.append(IamRequest("s3:PutObjectAcl", arn, base))
        return requests
    if operation == "DeleteObject":
        return [IamRequest("s3:DeleteObjectVersion" if versioned else "s3:DeleteObject", arn, base)]
    if operation == "CopyObject":
        source = params["CopySource"]
        if isinstance(source, Mapping):
            source_arn = f"arn:{ctx.partition}:s3:::{source['Bucket']}/{source['Key']}"
            source_action = "s3:GetObjectVersion" if "VersionId" in source else "s3:GetObject"
        else:
            path, _, query = str(source).lstrip("/").partition("?versionId=")
            source_arn = f"arn:{ctx.partition}:s3:::{path}"
            source_action = "s3:GetObjectVersion" if query else "s3:GetObject"
        return [IamRequest(source_action, source_arn, base), IamRequest("s3:PutObject", arn, base)]
    raise UnmappedOperation(operation)


def _s3_bucket(operation: str, params: Mapping[str, Any], arn: str, ctx: CallContext) -> list[IamRequest]:
    base = dict(ctx.base)
    if operation in ("ListObjectsV2", "ListObjects", "ListObjectVersions"):
        context: dict[str, str | Sequence[str]] = dict(base)
        # s3:prefix is in the request context only when the request has a prefix.
        for param, condition_key in (
            ("Prefix", "s3:prefix"),
            ("Delimiter", "s3:delimiter"),
            ("MaxKeys", "s3:max-keys"),
        ):
            if param in params:
                context[condition_key] = str(params[param])
        action = "s3:ListBucketVersions" if operation == "ListObjectVersions" else "s3:ListBucket"
        return [IamRequest(action, arn, context)]
    if operation == "HeadBucket":
        return [IamRequest("s3:ListBucket", arn, base)]
    if operation in ("GetBucketLocation", "GetBucketVersioning"):
        return [IamRequest(f"s3:{operation}", arn, base)]
    raise UnmappedOperation(operation)


# --- SNS, SQS, DynamoDB, Lambda --------------------------------------------------------------------


def _sns(operation: str, params: Mapping[str, Any], ctx: CallContext) -> list[IamRequest]:
    if operation != "Publish":
        raise UnmappedOperation(operation)
    topic = str(params.get("TopicArn") or params.get("TargetArn") or params.get("PhoneNumber"))
    requests = [IamRequest("sns:Publish", topic, dict(ctx.base))]
    key = ctx.topic_keys.get(topic)
    if key:
        # An encrypted topic: SNS uses the publisher's own permissions on the key
        # (SNS developer guide, "Encryption at rest": kms:GenerateDataKey* and kms:Decrypt).
        kms_context = {**ctx.base, "kms:ViaService": f"sns.{ctx.region}.amazonaws.com"}
        kms_context["kms:CallerAccount"] = ctx.account
        # SNS answers a KMS refusal as KMSAccessDenied (400), not as its own AuthorizationError.
        requests += [
            IamRequest("kms:GenerateDataKey", key, kms_context, ("KMSAccessDenied", 400)),
            IamRequest("kms:Decrypt", key, kms_context, ("KMSAccessDenied", 400)),
        ]
    return requests


def _queue_arn(queue_url: str, ctx: CallContext) -> str:
    account, _, name = urlparse(queue_url).path.strip("/").partition("/")
    return f"arn:{ctx.partition}:sqs:{ctx.region}:{account}:{name}"


_SQS = {
    "SendMessage": "sqs:SendMessage",
    "SendMessageBatch": "sqs:SendMessage",
    "ReceiveMessage": "sqs:ReceiveMessage",
    "DeleteMessage": "sqs:DeleteMessage",
    "GetQueueAttributes": "sqs:GetQueueAttributes",
}


def _sqs(operation: str, params: Mapping[str, Any], ctx: CallContext) -> list[IamRequest]:
    if operation == "GetQueueUrl":
        account = params.get("QueueOwnerAWSAccountId", ctx.account)
        arn = f"arn:{ctx.partition}:sqs:{ctx.region}:{account}:{params['QueueName']}"
        return [IamRequest("sqs:GetQueueUrl", arn, dict(ctx.base))]
    if operation not in _SQS:
        raise UnmappedOperation(operation)
    return [IamRequest(_SQS[operation], _queue_arn(str(params["QueueUrl"]), ctx), dict(ctx.base))]


_DYNAMODB_ITEM_OPERATIONS = frozenset(
    {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "DescribeTable"}
)


def _table_arn(name: str, ctx: CallContext) -> str:
    if name.startswith("arn:"):
        return name
    return f"arn:{ctx.partition}:dynamodb:{ctx.region}:{ctx.account}:table/{name}"


def _dynamodb(operation: str, params: Mapping[str, Any], ctx: CallContext) -> list[IamRequest]:
    if operation not in _DYNAMODB_ITEM_OPERATIONS:
        raise UnmappedOperation(operation)
    arn = _table_arn(str(params["TableName"]), ctx)
    if operation in ("Query", "Scan") and "IndexName" in params:
        arn = f"{arn}/index/{params['IndexName']}"
    return [IamRequest(f"dynamodb:{operation}", arn, dict(ctx.base))]


def _lambda(operation: str, params: Mapping[str, Any], ctx: CallContext) -> list[IamRequest]:
    if operation not in ("CheckpointDurableExecution", "GetDurableExecutionState"):
        raise UnmappedOperation(operation)
    # The execution ARN extends the (qualified) function ARN: <function ARN>:<qualifier>/durable-execution/...
    execution = str(params.get("DurableExecutionArn", ""))
    return [IamRequest(f"lambda:{operation}", execution.partition("/")[0], dict(ctx.base))]


def _service_quotas(operation: str, params: Mapping[str, Any], ctx: CallContext) -> list[IamRequest]:
    # The Service Authorization Reference lists no resource types for Service Quotas' reads: "*".
    if operation not in ("ListServiceQuotas", "GetServiceQuota"):
        raise UnmappedOperation(operation)
    return [IamRequest(f"servicequotas:{operation}", "*", dict(ctx.base))]


MAPPERS: dict[str, Mapper] = {
    "s3": _s3,
    "sns": _sns,
    "sqs": _sqs,
    "dynamodb": _dynamodb,
    "lambda": _lambda,
    "servicequotas": _service_quotas,
}


def iam_requests(
    service: str, operation: str, params: Mapping[str, Any], ctx: CallContext
) -> list[IamRequest]:
    """The authorisations AWS makes for one call; UnmappedOperation when this module cannot say."""
    mapper = MAPPERS.get(service)
    if mapper is None:
        raise UnmappedOperation(f"{service}.{operation}")
    return mapper(operation, params, ctx)


# --- the patch -------------------------------------------------------------------------------------


def _has_product_frame(frame: FrameType | None, packages: tuple[str, ...]) -> bool:
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if isinstance(name, str) and name.startswith(packages):
            return True
        frame = frame.f_back
    return False


class AwsCallEnforcer:
    """Context manager: while active, the product's botocore calls are authorised and recorded."""

    _active: AwsCallEnforcer | None = None
    _install_lock = threading.Lock()

    def __init__(
        self,
        policy: Policy,
        *,
        principal: Principal | None = None,
        log: AccessLog | None = None,
        product_packages: Sequence[str] = ("connect_profiles",),
        topic_keys: Mapping[str, str] | None = None,
        enforce_connect: bool = True,
    ) -> None:
        self.policy = policy
        self.principal = principal or Principal()
        self.log = log if log is not None else AccessLog()
        self.packages = tuple(f"{p}." for p in product_packages) + tuple(product_packages)
        self.topic_keys = dict(topic_keys or {})
        # Connect is the emulator's to enforce when it has the authorizer; otherwise enforce here.
        self.enforce_connect = enforce_connect
        self._connect = ConnectAuthorizer(policy, principal=self.principal, log=self.log, source="client")

    def __enter__(self) -> AwsCallEnforcer:
        with AwsCallEnforcer._install_lock:
            if AwsCallEnforcer._active is not None:
                raise RuntimeError("IAM enforcement is already active")
            AwsCallEnforcer._active = self
            _install()
        return self

    def __exit__(self, *exc: object) -> None:
        with AwsCallEnforcer._install_lock:
            AwsCallEnforcer._active = None
            _uninstall()

    # --- called from the patch ---

    def is_product_client(self, client: BaseClient) -> bool:
        return bool(getattr(client, _PRODUCT_MARK, False))

    def is_product_caller(self) -> bool:
        return _has_product_frame(sys._getframe(2), self.packages)

    def mark_if_product(self, client: BaseClient) -> None:
        if _has_product_frame(sys._getframe(2), self.packages):
            setattr(client, _PRODUCT_MARK, True)

    def authorize(self, client: BaseClient, operation: str, params: Mapping[str, Any]) -> None:
        """Raise the ClientError AWS would answer with, when any authorisation the call needs fails."""
        service = str(client.meta.service_model.service_name)  # endpoint prefix, e.g. "s3", "sns"
        signing = str(client.meta.service_model.signing_name or service)
        if (signing, operation) in UNAUTHORISED_OPERATIONS:
            return
        region = str(client.meta.region_name or "us-east-1")
        label = f"{signing}.{operation}"
        if signing == "connect":
            if not self.enforce_connect:
                return
            reason = self._connect.authorize(
                f"connect:{operation}",
                connect_resources(params, region=region, account=self.principal.account),
            )
            if reason is not None:
                raise _client_error(client, operation, DENIAL_CODES["connect"], reason)
            return
        ctx = CallContext(
            region,
            self.principal.account,
            self.principal.partition,
            self.principal.context(region),
            self.topic_keys,
        )
        try:
            requests = iam_requests(signing, operation, params, ctx)
        except UnmappedOperation:
            action = f"{signing}:{operation}"
            decision = Decision(Outcome.IMPLICIT_DENY, action, "*")
            self.log.add([Check("client", label, action, "*", decision)])
            raise _client_error(
                client,
                operation,
                DENIAL_CODES.get(signing, ("AccessDenied", 403)),
                f"no IAM mapping for {label} in iam_enforcement.aws_calls: add one "
                "(the enforcement refuses what it cannot check)",
            ) from None
        checks = [
            Check(
                "client",
                label,
                r.action,
                r.resource,
                self.policy.evaluate(r.action, r.resource, r.context),
                r.context,
            )
            for r in requests
        ]
        self.log.add(checks)
        for request, check in zip(requests, checks, strict=True):
            if not check.allowed:
                code = request.error or DENIAL_CODES.get(signing, ("AccessDenied", 403))
                message = not_authorized(self.principal, check.decision, quote_resource=signing == "s3")
                raise _client_error(client, operation, code, message)


def _client_error(client: BaseClient, operation: str, code: tuple[str, int], message: str) -> Exception:
    error_code, status = code
    response = {
        "Error": {"Code": error_code, "Message": message, "Type": "Sender"},
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": str(uuid.uuid4()), "HTTPHeaders": {}},
    }
    error_class: type[Exception] = client.exceptions.from_code(error_code)
    return error_class(response, operation)


_original_make_api_call = BaseClient._make_api_call
_original_init = BaseClient.__init__


def _enforced_make_api_call(self: BaseClient, operation_name: str, api_params: Mapping[str, Any]) -> Any:
    enforcer = AwsCallEnforcer._active
    if enforcer is not None and (enforcer.is_product_client(self) or enforcer.is_product_caller()):
        enforcer.authorize(self, operation_name, api_params)
    return _original_make_api_call(self, operation_name, api_params)


def _marking_init(self: BaseClient, *args: Any, **kwargs: Any) -> None:
    _original_init(self, *args, **kwargs)
    enforcer = AwsCallEnforcer._active
    if enforcer is not None:
        enforcer.mark_if_product(self)


def _install() -> None:
    BaseClient._make_api_call = _enforced_make_api_call
    BaseClient.__init__ = _marking_init


def _uninstall() -> None:
    BaseClient._make_api_call = _original_make_api_call
    BaseClient.__init__ = _original_init


@contextmanager
def enforce(policy: Policy, **options: Any) -> Iterator[AwsCallEnforcer]:
    with AwsCallEnforcer(policy, **options) as enforcer:
        yield enforcer
