"""The integration tier's local AWS: one moto server for the session (two servers in one process
would share state anyway), with the product's bucket, topic, queue and table."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_stand_ins import BASE_ENVIRONMENT, LocalAws


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAws]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in BASE_ENVIRONMENT.items():
            patch.setenv(name, value)
        aws = LocalAws().start()
        for name, value in aws.environment.items():
            patch.setenv(name, value)
        aws.create_resources()
        yield aws
        aws.stop()


@pytest.fixture(autouse=True)
def _free_connect_instances(request: pytest.FixtureRequest) -> None:
    """Each test starts with no job holding the (shared) sample instance's lease."""
    if "local_aws" in request.fixturenames:
        request.getfixturevalue("local_aws").free_connect_instances()
