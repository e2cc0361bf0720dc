"""Builds the CDK app: settings from context, the stack, and the cdk-nag checks on every synth."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.settings import Settings
from infra.stack import ConnectProfilesStack

STACK_NAME = "ConnectProfiles"


def create_app(**app_props: Any) -> cdk.App:
    """`app_props` go to `cdk.App` (tests pass `context` and `outdir`); raises SettingsError first."""
    app = cdk.App(**app_props)
    settings = Settings.from_context(app.node.get_all_context())
    ConnectProfilesStack(
        app,
        STACK_NAME,
        settings=settings,
        description="Connect User Profile Manager: CSV files in S3 drive Amazon Connect proficiencies",
        tags={"project": "connect-profiles"},
    )
    # Errors fail `cdk synth`/`cdk deploy`; every acknowledged finding carries its reason in the template.
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return app
