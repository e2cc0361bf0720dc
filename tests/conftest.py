"""Shared fixtures: dummy AWS credentials and the Connect emulator on a free loopback port."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import boto3
import pytest
from botocore.config import Config

from connect_emulator import (
    SAMPLE_SEED,
    Authorizer,
    Behaviour,
    ConnectEmulator,
    ConnectService,
    Faults,
    Instance,
    Outage,
    Quota,
    load_seed,
)

NO_SERVICE_QUOTAS = "http://127.0.0.1:9"
# Fast enough that tests not about throttling never see it.
UNTHROTTLED = Quota(rate=10_000.0, burst=10_000)


@pytest.fixture(scope="session", autouse=True)
def _dummy_aws_credentials() -> Iterator[None]:
    """No test may reach AWS: dummy credentials and a region, and no shared config files."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_SESSION_TOKEN", "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.setenv("AWS_REGION", "us-east-1")
        patch.setenv("AWS_CONFIG_FILE", os.devnull)
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        patch.delenv("AWS_PROFILE", raising=False)
        # Service Quotas is read at the start of every job: nowhere (connection refused) unless a test
        # points it at the emulator's stand-in.
        patch.setenv("AWS_ENDPOINT_URL_SERVICE_QUOTAS", NO_SERVICE_QUOTAS)
        # The CLI asks STS who is calling, for job.json: nowhere either, unless a test says so.
        patch.setenv("AWS_ENDPOINT_URL_STS", NO_SERVICE_QUOTAS)
        yield


class RunningEmulator:
    def __init__(self, emulator: ConnectEmulator, instance: Instance) -> None:
        self.emulator = emulator
        self.service = emulator.service
        self.instance = instance
        self.endpoint_url = emulator.endpoint_url

    def client(self, *, attempts: int = 1) -> Any:
        """A stock boto3 client; `attempts=1` shows each error as it comes back."""
        config = Config(retries={"total_max_attempts": attempts, "mode": "standard"})
        return boto3.client("connect", endpoint_url=self.endpoint_url, config=config)


EmulatorFactory = Callable[..., RunningEmulator]


@pytest.fixture
def start_emulator() -> Iterator[EmulatorFactory]:
    """Start emulators with chosen seed, quotas, faults, outages, clock, authorizer and behaviour;
    all stopped afterwards."""
    running: list[ConnectEmulator] = []

    def start(
        *,
        instance: Instance | None = None,
        quota: Quota = UNTHROTTLED,
        quotas: dict[str, Quota] | None = None,
        faults: Faults | Sequence[Faults] | None = None,
        outages: Sequence[Outage] = (),
        behaviour: Behaviour | None = None,
        clock: Callable[[], float] = time.monotonic,
        authorizer: Authorizer | None = None,
    ) -> RunningEmulator:
        service = ConnectService(
            quota=quota, quotas=quotas, faults=faults, outages=outages, clock=clock, authorizer=authorizer
        )
        seeded = service.add_instance(instance or load_seed(SAMPLE_SEED, behaviour=behaviour))
        emulator = ConnectEmulator(service).start()
        running.append(emulator)
        return RunningEmulator(emulator, seeded)

    yield start
    for emulator in running:
        emulator.stop()


@pytest.fixture
def emulator(start_emulator: EmulatorFactory) -> RunningEmulator:
    """The sample instance, unthrottled."""
    return start_emulator()
