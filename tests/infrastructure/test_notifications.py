"""The topic: encrypted with a rotating key, TLS-only, open to this account's alarms, optional email."""

from __future__ import annotations

from aws_cdk.assertions import Match

from tests.infrastructure.intrinsics import render, statements
from tests.infrastructure.synthesis import EMAIL, Synthesis


def test_topic_is_encrypted_with_a_rotating_customer_managed_key(synth: Synthesis) -> None:
    _, topic = synth.only("AWS::SNS::Topic")
    key_id, key = synth.only("AWS::KMS::Key")

    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert key["Properties"]["EnableKeyRotation"] is True


def test_topic_refuses_publishing_without_tls(synth: Synthesis) -> None:
    topic_id, _ = synth.only("AWS::SNS::Topic")
    _, policy = synth.only("AWS::SNS::TopicPolicy")

    denials = [s for s in statements(policy["Properties"]["PolicyDocument"]) if s["Effect"] == "Deny"]
    assert denials == [
        {
            "Sid": "AllowPublishThroughSSLOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["sns:Publish"],
            "Resource": [f"${{{topic_id}}}"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    assert policy["Properties"]["Topics"] == [{"Ref": topic_id}]


def test_only_this_accounts_alarms_may_publish_as_cloudwatch(synth: Synthesis) -> None:
    _, policy = synth.only("AWS::SNS::TopicPolicy")
    _, key = synth.only("AWS::KMS::Key")

    (allow,) = [
        s
        for s in statements(policy["Properties"]["PolicyDocument"])
        if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert allow["Action"] == ["sns:Publish"]
    assert render(allow["Condition"]["ArnLike"]["aws:SourceArn"]) == (
        "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"
    )
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    (key_use,) = [
        s
        for s in statements(key["Properties"]["KeyPolicy"])
        if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert key_use["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert key_use["Resource"] == ["*"]
    assert render(key_use["Condition"]["ArnLike"]["aws:SourceArn"]) == (
        "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"
    )
    assert key_use["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert sorted(key_use["Condition"]) == ["ArnLike", "StringEquals"]


def test_email_subscription_when_an_address_is_given(synth: Synthesis) -> None:
    topic_id, _ = synth.only("AWS::SNS::Topic")

    synth.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "email", "Endpoint": EMAIL, "TopicArn": {"Ref": topic_id}},
    )
    synth.template.resource_count_is("AWS::SNS::Subscription", 1)


def test_no_subscription_without_an_address(variant: Synthesis) -> None:
    variant.template.resource_count_is("AWS::SNS::Subscription", 0)
    variant.template.resource_count_is("AWS::SNS::Topic", 1)
    variant.template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
