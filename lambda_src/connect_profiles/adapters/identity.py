"""Who is calling: the CLI records the caller's identity in job.json (the Lambda records the S3
event's principal instead). GetCallerIdentity needs no permission (STS API reference)."""

from __future__ import annotations

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

_QUICK = Config(retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=3, read_timeout=5)


def caller_arn(*, region: str | None = None, profile: str | None = None) -> str:
    """The caller's ARN, or why it is unknown: the job.json line must never stop a job."""
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
        return str(session.client("sts", config=_QUICK).get_caller_identity()["Arn"])
    except (BotoCoreError, ClientError) as error:
        return f"unknown ({error})"
