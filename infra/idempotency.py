"""The job table: Powertools idempotency records, one per S3 object version (redelivery is a no-op),
and the per-instance lease item. The role's access to it is the contract's (`Resource.JOB_TABLE`).
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

# Powertools' DynamoDBPersistenceLayer defaults: the function needs no extra configuration.
KEY_ATTRIBUTE = "id"
EXPIRY_ATTRIBUTE = "expiration"


class IdempotencyStore(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=KEY_ATTRIBUTE, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=EXPIRY_ATTRIBUTE,
            # Encrypted at rest with DynamoDB's default (AWS-owned) key: no key grants needed.
            encryption=dynamodb.TableEncryption.DEFAULT,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # Short-lived markers only: nothing worth keeping once the stack is gone.
            removal_policy=RemovalPolicy.DESTROY,
        )
