"""The topic that carries job summaries and alarm notifications to people."""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct


class JobNotifications(Construct):
    """An encrypted, TLS-only topic with an optional email subscription.

    The key is customer-managed (not alias/aws/sns) because CloudWatch alarms publish to the topic
    too, and only a customer-managed key policy can let the CloudWatch service use the key.
    """

    def __init__(self, scope: Construct, construct_id: str, *, email: str | None) -> None:
        super().__init__(scope, construct_id)

        self.key = kms.Key(
            self,
            "TopicKey",
            description="Encrypts the Connect profiles notification topic",
            enable_key_rotation=True,
            pending_window=Duration.days(7),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="Connect profiles",
            master_key=self.key,
            enforce_ssl=True,
            signature_version="2",
        )
        self._allow_cloudwatch_alarms()
        if email is not None:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

    def _allow_cloudwatch_alarms(self) -> None:
        cloudwatch = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        alarms_in_this_account = {
            "ArnLike": {
                "aws:SourceArn": Stack.of(self).format_arn(
                    service="cloudwatch",
                    resource="alarm",
                    resource_name="*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            },
            "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
        }
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarms",
                principals=[cloudwatch],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=alarms_in_this_account,
            )
        )
        # The statement CloudWatch documents for alarms on encrypted topics. In a key policy "*"
        # means "this key". The topic's conditions apply here too (the confused-deputy guard): CloudWatch
        # may use the key only for this account's alarms; its KMS requests carry both keys (unlike
        # EventBridge deliveries, which carry neither).
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[cloudwatch],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions=alarms_in_this_account,
            )
        )
