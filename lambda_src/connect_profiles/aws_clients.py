"""The function's AWS clients, made once per execution environment on first use (never at
import), each honouring the standard AWS_ENDPOINT_URL_<SERVICE> variables."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from connect_profiles.connect_gateway import ConnectGateway, connect_client
from connect_profiles.pacing import Pacer
from connect_profiles.settings import Settings

_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 5})


@dataclass(frozen=True, slots=True)
class AwsClients:
    s3: Any
    sns: Any
    gateway: ConnectGateway


@functools.cache
def aws_clients(settings: Settings) -> AwsClients:
    engine = settings.engine()
    connect = connect_client(pool_size=engine.workers * 2)
    return AwsClients(
        s3=boto3.client("s3", config=_RETRIES),
        sns=boto3.client("sns", config=_RETRIES),
        gateway=ConnectGateway(connect, settings.instance_id, Pacer(engine.rate, engine.per_api)),
    )
