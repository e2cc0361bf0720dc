"""The function's settings: read from the environment once, each problem named."""

from __future__ import annotations

import pytest

from connect_profiles.settings import Settings, SettingsError

REQUIRED = {
    "CONNECT_INSTANCE_ID": "11111111-2222-4333-8444-555555555555",
    "SUMMARY_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:summary",
    "IDEMPOTENCY_TABLE_NAME": "idempotency",
}


def test_defaults_pace_at_the_accounts_quotas_with_headroom() -> None:
    settings = Settings.from_env(REQUIRED)
    # No rate given: each API at its applied quota (read from Service Quotas), at 90% of it.
    assert (settings.connect_rate, settings.connect_burst, settings.connect_api_rates) == (None, None, ())
    assert (settings.connect_headroom, settings.max_proficiencies) == (90.0, 10)


def test_per_api_rates_and_headroom_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            **REQUIRED,
            "CONNECT_API_RATES": "ListUserProficiencies=10:10, AssociateUserProficiencies=4",
            "CONNECT_HEADROOM": "75%",
        }
    )
    assert settings.connect_api_rates == (
        ("AssociateUserProficiencies", 4.0, None),
        ("ListUserProficiencies", 10.0, 10),
    )
    assert settings.connect_headroom == 75.0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CONNECT_API_RATES", "ListUserProficiencies", "is not API=RATE"),
        ("CONNECT_API_RATES", "ListUser=3", "unknown Connect API 'ListUser'"),
        ("CONNECT_API_RATES", "ListUsers=0", "rate must be above 0"),
        ("CONNECT_API_RATES", "ListUsers=3:0", "burst must be a whole number"),
        ("CONNECT_API_RATES", "ListUsers=3:x", "is not API=RATE"),
        ("CONNECT_API_RATES", "ListUsers=3,ListUsers=4", "given twice"),
        ("CONNECT_HEADROOM", "0", "percent from 1 to 100"),
        ("CONNECT_HEADROOM", "120", "percent from 1 to 100"),
        ("CONNECT_HEADROOM", "most", "percent from 1 to 100"),
    ],
)
def test_bad_pacing_settings_are_named_with_the_reason(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=f"environment variable {name}: .*{message}"):
        Settings.from_env({**REQUIRED, name: value})


def test_every_setting_can_be_changed() -> None:
    settings = Settings.from_env(
        {
            **REQUIRED,
            "CONNECT_RATE": "5",
            "CONNECT_BURST": "10",
            "MAX_PROFICIENCIES_PER_AGENT": "20",
            "MAX_GROUP_USERS": "40",
            "USERS_PER_BATCH": "50",
            "YIELD_BELOW_SECONDS": "300",
        }
    )
    assert (settings.connect_rate, settings.connect_burst) == (5.0, 10)
    assert settings.engine().max_proficiencies == 20
    assert settings.engine().max_group_users == 40
    assert settings.job().engine.max_group_users == 40
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
