"""The function's AWS clients, made once per execution environment on first use (never at
import), each honouring the standard AWS_ENDPOINT_URL_<SERVICE> variables."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from connect_profiles.adapters.connect import ConnectGateway, connect_client
from connect_profiles.adapters.pacing import Pacer
from connect_profiles.adapters.quotas import PacingOptions, PacingPlan, pacing_lines, resolve_pacing

_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 5})

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AwsClients:
    s3: Any
    sns: Any
    dynamodb: Any
    connect: Any
    pacer: Pacer
    pacing: PacingPlan

    def pacing_lines(self) -> list[str]:
        """For the job summary: quota warnings, and each API's rate and how it adapted."""
        return pacing_lines(self.pacing, self.pacer)


@functools.cache
def aws_clients(pacing: PacingOptions, workers: int, connect_attempts: int) -> AwsClients:
    """One set per execution environment. The Connect client's pacer lives as long as it does:
    Connect's quotas are per account, whichever job is calling. The account's quotas are read
    (one paged ListServiceQuotas) when the environment starts its first job."""
    plan = resolve_pacing(pacing)
    for warning in plan.warnings:
        log.warning("Connect pacing: %s", warning)
    pacer = plan.pacer()
    return AwsClients(
        s3=boto3.client("s3", config=_RETRIES),
        sns=boto3.client("sns", config=_RETRIES),
        dynamodb=boto3.client("dynamodb", config=_RETRIES),
        connect=connect_client(pacer, pool_size=workers * 2, attempts=connect_attempts),
        pacer=pacer,
        pacing=plan,
    )


def connect_gateway(clients: AwsClients, instance_id: str) -> ConnectGateway:
    """A gateway per job, so its retry count (a metric) is that job's alone."""
    return ConnectGateway(clients.connect, instance_id)
