"""Where the CLI points and who is calling: the Region it resolves and the caller's identity (STS
GetCallerIdentity, which needs no permission: STS API reference). The Lambda records the S3 event's
principal instead, and runs in its own Region."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)

_QUICK = Config(retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=3, read_timeout=5)
# What STS answers when the credentials exist but are not (or no longer) valid.
_BAD_CREDENTIAL_CODES = frozenset(
    {"InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "SignatureDoesNotMatch"}
)
# botocore reads the Region from AWS_DEFAULT_REGION only (configprovider.py, botocore 1.44), while the
# AWS SDKs and Tools reference names AWS_REGION as the Region's variable
# (https://docs.aws.amazon.com/sdkref/latest/guide/feature-region.html); people set either.
REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")


class NoRegion(Exception):
    """No Region from --region, the environment or the profile."""


class NoCredentials(Exception):
    """No usable credentials: none found, or refused as invalid or expired; the message says which."""


class UnknownProfile(Exception):
    def __init__(self, profile: str) -> None:
        super().__init__(profile)
        self.profile = profile


@dataclass(frozen=True, slots=True)
class RegionChoice:
    name: str
    source: str  # where it came from, for the person reading: "--region", "AWS_REGION", "profile x"


@dataclass(frozen=True, slots=True)
class Caller:
    arn: str  # the caller's ARN, or "unknown (why)": job.json's line must never stop a job
    account: str  # "" when unknown


def resolve_region(
    region: str | None, profile: str | None, *, environ: Mapping[str, str] = os.environ
) -> RegionChoice:
    """--region, then AWS_REGION, then AWS_DEFAULT_REGION, then the profile's `region`."""
    if region:
        return RegionChoice(region, "--region")
    for variable in REGION_VARIABLES:
        if environ.get(variable):
            return RegionChoice(environ[variable], variable)
    try:
        session = boto3.Session(profile_name=profile)
    except ProfileNotFound as error:
        raise UnknownProfile(profile or "") from error
    if session.region_name:
        return RegionChoice(session.region_name, f"profile {session.profile_name}")
    raise NoRegion


def caller(*, region: str, profile: str | None = None) -> Caller:
    """Who is calling. Raises NoCredentials when there are none or STS refuses them; any other
    failure (STS unreachable) leaves the caller unknown and the command goes on."""
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
        if session.get_credentials() is None:
            raise NoCredentials("none were found")
        identity = session.client("sts", config=_QUICK).get_caller_identity()
    except ProfileNotFound as error:
        raise UnknownProfile(profile or "") from error
    except (NoCredentialsError, PartialCredentialsError) as error:
        raise NoCredentials(str(error)) from error
    except (SSOError, TokenRetrievalError, CredentialRetrievalError) as error:
        raise NoCredentials(f"the sign-in has expired or failed: {error}") from error
    except ClientError as error:
        details = error.response.get("Error", {})
        if details.get("Code") in _BAD_CREDENTIAL_CODES:
            raise NoCredentials(f"{details.get('Code')}: {details.get('Message', '')}") from error
        return Caller(f"unknown ({error})", "")
    except BotoCoreError as error:
        return Caller(f"unknown ({error})", "")
    return Caller(str(identity["Arn"]), str(identity.get("Account", "")))
