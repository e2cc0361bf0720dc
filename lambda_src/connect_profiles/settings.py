"""The Lambda function's settings, read from the environment once and checked."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass

from connect_profiles.engine import EngineSettings
from connect_profiles.pacing import Rate


class SettingsError(ValueError):
    """An environment variable is missing or malformed; the message names it."""


@dataclass(frozen=True, slots=True)
class Settings:
    instance_id: str
    summary_topic_arn: str
    idempotency_table: str
    connect_rate: float = 2.0
    connect_burst: int = 5
    max_proficiencies: int = 10
    users_per_batch: int = 200
    # End the invocation (and resume in a new one) when less than this is left after a batch.
    yield_below_seconds: int = 240

    def engine(self) -> EngineSettings:
        return EngineSettings(
            rate=Rate(self.connect_rate, self.connect_burst), max_proficiencies=self.max_proficiencies
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise SettingsError(f"environment variable {name} is required")
            return value

        def number(name: str, default: float, cast: type[int] | type[float]) -> float:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                value = cast(raw)
            except ValueError as error:
                raise SettingsError(f"environment variable {name} must be a number, got {raw!r}") from error
            if value <= 0:
                raise SettingsError(f"environment variable {name} must be above 0, got {raw!r}")
            return value

        return cls(
            instance_id=required("CONNECT_INSTANCE_ID"),
            summary_topic_arn=required("SUMMARY_TOPIC_ARN"),
            idempotency_table=required("IDEMPOTENCY_TABLE_NAME"),
            connect_rate=float(number("CONNECT_RATE", 2.0, float)),
            connect_burst=int(number("CONNECT_BURST", 5, int)),
            max_proficiencies=int(number("MAX_PROFICIENCIES_PER_AGENT", 10, int)),
            users_per_batch=int(number("USERS_PER_BATCH", 200, int)),
            yield_below_seconds=int(number("YIELD_BELOW_SECONDS", 240, int)),
        )


@functools.cache
def settings() -> Settings:
    """Read once per execution environment (not at import: tests set the environment first)."""
    return Settings.from_env(os.environ)
