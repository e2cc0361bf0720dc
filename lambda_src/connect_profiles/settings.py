"""The Lambda function's settings, read from the environment once and checked."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass

from connect_profiles.contract import (
    DEFAULT_CONNECT_MAX_ATTEMPTS,
    DEFAULT_HEADROOM_PERCENT,
    DEFAULT_LEASE_SECONDS,
    DEFAULT_MAX_GROUP_USERS,
    DEFAULT_MAX_PROFICIENCIES,
    DEFAULT_USERS_PER_BATCH,
    DEFAULT_YIELD_BELOW_SECONDS,
    Env,
    parse_api_rates,
    parse_headroom,
)
from connect_profiles.domain.engine import EngineSettings
from connect_profiles.domain.job import JobConfig


class SettingsError(ValueError):
    """An environment variable is missing or malformed; the message names it."""


@dataclass(frozen=True, slots=True)
class Settings:
    instance_id: str
    summary_topic_arn: str
    idempotency_table: str
    # None: each API at the account's applied quota (Service Quotas), less the headroom.
    connect_rate: float | None = None
    connect_burst: int | None = None
    connect_api_rates: tuple[tuple[str, float, int | None], ...] = ()
    connect_headroom: float = DEFAULT_HEADROOM_PERCENT
    max_proficiencies: int = DEFAULT_MAX_PROFICIENCIES
    max_group_users: int = DEFAULT_MAX_GROUP_USERS
    users_per_batch: int = DEFAULT_USERS_PER_BATCH
    yield_below_seconds: int = DEFAULT_YIELD_BELOW_SECONDS
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    connect_max_attempts: int = DEFAULT_CONNECT_MAX_ATTEMPTS
    job_bucket: str = ""  # where the scheduled snapshot writes (S3 events name their own bucket)

    def engine(self) -> EngineSettings:
        return EngineSettings(max_proficiencies=self.max_proficiencies, max_group_users=self.max_group_users)

    def job(self) -> JobConfig:
        return JobConfig(
            instance_id=self.instance_id, engine=self.engine(), users_per_batch=self.users_per_batch
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

        def optional(name: str, cast: type[int] | type[float]) -> float | None:
            return number(name, 0, cast) if env.get(name, "").strip() else None

        try:
            api_rates = parse_api_rates(env.get(Env.CONNECT_API_RATES, ""), source=Env.CONNECT_API_RATES)
            raw_headroom = env.get(Env.CONNECT_HEADROOM, "").strip()
            headroom = (
                parse_headroom(raw_headroom, source=Env.CONNECT_HEADROOM)
                if raw_headroom
                else DEFAULT_HEADROOM_PERCENT
            )
        except ValueError as error:
            raise SettingsError(f"environment variable {error}") from error
        rate, burst = optional(Env.CONNECT_RATE, float), optional(Env.CONNECT_BURST, int)
        return cls(
            instance_id=required(Env.CONNECT_INSTANCE_ID),
            summary_topic_arn=required(Env.SUMMARY_TOPIC_ARN),
            idempotency_table=required(Env.IDEMPOTENCY_TABLE_NAME),
            job_bucket=env.get(Env.JOB_BUCKET_NAME, "").strip(),
            connect_rate=rate,
            connect_burst=None if burst is None else int(burst),
            connect_api_rates=tuple((api, r, b) for api, (r, b) in sorted(api_rates.items())),
            connect_headroom=headroom,
            max_proficiencies=int(number(Env.MAX_PROFICIENCIES_PER_AGENT, DEFAULT_MAX_PROFICIENCIES, int)),
            max_group_users=int(number(Env.MAX_GROUP_USERS, DEFAULT_MAX_GROUP_USERS, int)),
            users_per_batch=int(number(Env.USERS_PER_BATCH, DEFAULT_USERS_PER_BATCH, int)),
            yield_below_seconds=int(number(Env.YIELD_BELOW_SECONDS, DEFAULT_YIELD_BELOW_SECONDS, int)),
            lease_seconds=int(number(Env.LEASE_SECONDS, DEFAULT_LEASE_SECONDS, int)),
            connect_max_attempts=int(number(Env.CONNECT_MAX_ATTEMPTS, DEFAULT_CONNECT_MAX_ATTEMPTS, int)),
        )


@functools.cache
def settings() -> Settings:
    """Read once per execution environment (not at import: tests set the environment first)."""
    return Settings.from_env(os.environ)
