"""Each synthesis is made once per session: jsii and CDK are slow to start, the assertions are not."""

from __future__ import annotations

import pytest

from infra.bundling import HANDLER_MODULE, LAMBDA_SOURCE_ROOT, PACKAGE_NAME
from tests.infrastructure.synthesis import EMAIL, INSTANCE_ID, Synthesis, synthesize

# Every setting away from its default, and the optional email left out.
VARIANT = {
    "instanceId": INSTANCE_ID.upper(),
    "reservedConcurrency": "off",
    "connectRate": "0.5",
    "connectBurst": "3",
    "connectApiRates": "ListUserProficiencies=10:10",
    "connectHeadroom": "75",
    "maxProficienciesPerAgent": "20",
    "maxGroupUsers": "250",
    "reportRetentionDays": "30",
    "snapshotSchedule": "rate(12 hours)",
}


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """The stack with the required instance ID, an email subscription and default settings."""
    return synthesize(
        tmp_path_factory.mktemp("cdk.out"), {"instanceId": INSTANCE_ID, "notificationEmail": EMAIL}
    )


@pytest.fixture(scope="session")
def variant(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    return synthesize(tmp_path_factory.mktemp("cdk.out.variant"), VARIANT)


@pytest.fixture(scope="session")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """The one synthesis that really builds the function's code asset (pip, no Docker)."""
    if not (LAMBDA_SOURCE_ROOT / PACKAGE_NAME / HANDLER_MODULE).is_file():
        pytest.skip(f"no handler module yet: {LAMBDA_SOURCE_ROOT / PACKAGE_NAME / HANDLER_MODULE}")
    return synthesize(tmp_path_factory.mktemp("cdk.out.bundled"), {"instanceId": INSTANCE_ID}, bundle=True)
