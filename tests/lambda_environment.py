"""The Lambda function's execution environment, for tests: settings and clients are read once per
environment, so each test that changes the environment starts a new one."""

from __future__ import annotations

from connect_profiles import settings
from connect_profiles.adapters import clients
from connect_profiles.entrypoints import durable


def forget_settings() -> None:
    settings.settings.cache_clear()
    clients.aws_clients.cache_clear()
    durable._claimer.cache_clear()
