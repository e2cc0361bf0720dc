"""The function's AWS clients, made once per execution environment on first use (never at
import), each honouring the standard AWS_ENDPOINT_URL_<SERVICE> variables."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from connect_profiles.adapters.connect import ConnectGateway, connect_client
from connect_profiles.adapters.pacing import Pacer, Rate

_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 5})


@dataclass(frozen=True, slots=True)
class AwsClients:
    s3: Any
    sns: Any
    dynamodb: Any
    connect: Any


@functools.cache
def aws_clients(rate: Rate, workers: int, connect_attempts: int) -> AwsClients:
    """One set per execution environment. The Connect client's pacer lives as long as it does:
    Connect's quotas are per account, whichever job is calling."""
    return AwsClients(
        s3=boto3.client("s3", config=_RETRIES),
        sns=boto3.client("sns", config=_RETRIES),
        dynamodb=boto3.client("dynamodb", config=_RETRIES),
        connect=connect_client(Pacer(rate), pool_size=workers * 2, attempts=connect_attempts),
    )


def connect_gateway(clients: AwsClients, instance_id: str) -> ConnectGateway:
    """A gateway per job, so its retry count (a metric) is that job's alone."""
    return ConnectGateway(clients.connect, instance_id)
