"""The function's settings: read from the environment once, each problem named."""

from __future__ import annotations

import pytest

from connect_profiles.settings import Settings, SettingsError

REQUIRED = {
    "CONNECT_INSTANCE_ID": "11111111-2222-4333-8444-555555555555",
    "SUMMARY_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:summary",
    "IDEMPOTENCY_TABLE_NAME": "idempotency",
}


def test_defaults_follow_connects_quotas() -> None:
    settings = Settings.from_env(REQUIRED)
    assert (settings.connect_rate, settings.connect_burst, settings.max_proficiencies) == (2.0, 5, 10)


def test_every_setting_can_be_changed() -> None:
    settings = Settings.from_env(
        {
            **REQUIRED,
            "CONNECT_RATE": "5",
            "CONNECT_BURST": "10",
            "MAX_PROFICIENCIES_PER_AGENT": "20",
            "USERS_PER_BATCH": "50",
            "YIELD_BELOW_SECONDS": "300",
        }
    )
    assert (settings.connect_rate, settings.connect_burst) == (5.0, 10)
    assert settings.engine().max_proficiencies == 20
    assert (settings.users_per_batch, settings.yield_below_seconds) == (50, 300)


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_a_missing_required_variable_is_named(missing: str) -> None:
    env = {name: value for name, value in REQUIRED.items() if name != missing}
    with pytest.raises(SettingsError, match=f"environment variable {missing} is required"):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("name", "value"), [("CONNECT_RATE", "fast"), ("CONNECT_BURST", "0"), ("USERS_PER_BATCH", "-1")]
)
def test_a_malformed_number_is_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({**REQUIRED, name: value})
