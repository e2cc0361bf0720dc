"""The DynamoDB adapter: the per-instance lease, in the table that also holds idempotency records.

Conditional writes make taking the lease atomic: it is taken when nobody holds it, when its holder
let it expire, or renewed by its holder. The expiry is also the table's TTL attribute, so DynamoDB
eventually deletes a dead job's lease (the condition does not wait for that).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from connect_profiles.ports import ACCESS_DENIED_CODES, PermissionDenied

# Powertools' DynamoDBPersistenceLayer defaults, shared by the lease items.
KEY_ATTRIBUTE = "id"
EXPIRY_ATTRIBUTE = "expiration"


class DynamoLease:
    def __init__(self, client: Any, table: str, *, instance_id: str, seconds: int) -> None:
        self._client = client
        self._table = table
        self._key = {KEY_ATTRIBUTE: {"S": f"lease#connect-instance#{instance_id}"}}
        self._seconds = seconds

    def acquire(self, owner: str, now: float) -> str | None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    **self._key,
                    "owner": {"S": owner},
                    EXPIRY_ATTRIBUTE: {"N": str(int(now) + self._seconds)},
                },
                ConditionExpression="attribute_not_exists(#id) OR #owner = :me OR #expiry < :now",
                ExpressionAttributeNames={
                    "#id": KEY_ATTRIBUTE,
                    "#owner": "owner",
                    "#expiry": EXPIRY_ATTRIBUTE,
                },
                ExpressionAttributeValues={":me": {"S": owner}, ":now": {"N": str(int(now))}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "ConditionalCheckFailedException":
                holder = error.response.get("Item", {}).get("owner", {}).get("S")
                return str(holder or "another job")
            self._raise_denied(error, "dynamodb:PutItem")
            raise
        return None

    def release(self, owner: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=self._key,
                ConditionExpression="#owner = :me",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":me": {"S": owner}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return  # expired and taken by another job, or already released: not ours to delete
            self._raise_denied(error, "dynamodb:DeleteItem")
            raise

    def _raise_denied(self, error: ClientError, action: str) -> None:
        details = error.response.get("Error", {})
        if details.get("Code") in ACCESS_DENIED_CODES:
            raise PermissionDenied.from_aws(
                action, f"table {self._table}", details.get("Message", "")
            ) from error
