"""Context validation: a missing or malformed value stops the synth with a message saying what to pass."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from connect_profiles.contract import DEFAULT_SNAPSHOT_SCHEDULE
from infra.application import create_app
from infra.settings import Settings, SettingsError
from tests.infrastructure.synthesis import INSTANCE_ID, PROJECT_ROOT


def problems_for(**context: object) -> list[str]:
    with pytest.raises(SettingsError) as raised:
        Settings.from_context(context)
    return raised.value.problems


def test_defaults_apply_when_only_the_instance_id_is_given() -> None:
    settings = Settings.from_context({"instanceId": INSTANCE_ID})

    assert settings == Settings(instance_id=INSTANCE_ID)
    # No rate: the function paces each Connect API at the account's quota, at 90% of it.
    assert (settings.connect_rate_text, settings.connect_burst) == (None, None)
    assert (settings.connect_api_rates, settings.connect_headroom) == ("", 90.0)
    assert (settings.max_proficiencies_per_agent, settings.reserved_concurrency) == (10, 1)
    assert settings.notification_email is None
    assert settings.report_retention_days == 90


def test_command_line_strings_and_cdk_json_numbers_both_parse() -> None:
    from_cli = Settings.from_context(
        {
            "instanceId": f" {INSTANCE_ID.upper()} ",
            "notificationEmail": "ops@example.com",
            "connectRate": "0.5",
            "connectBurst": "3",
            "maxProficienciesPerAgent": "20",
            "maxGroupUsers": "5000",
            "reservedConcurrency": "2",
            "reportRetentionDays": "30",
        }
    )
    from_json = Settings.from_context(
        {
            "instanceId": INSTANCE_ID,
            "notificationEmail": "ops@example.com",
            "connectRate": 0.5,
            "connectBurst": 3,
            "maxProficienciesPerAgent": 20.0,
            "maxGroupUsers": 5000,
            "reservedConcurrency": 2,
            "reportRetentionDays": 30,
        }
    )

    assert from_cli == from_json
    assert from_cli.instance_id == INSTANCE_ID
    assert from_cli.connect_rate_text == "0.5"


@pytest.mark.parametrize("off", ["off", "OFF", "none", "false", False])
def test_reserved_concurrency_can_be_turned_off(off: object) -> None:
    assert (
        Settings.from_context({"instanceId": INSTANCE_ID, "reservedConcurrency": off}).reserved_concurrency
        is None
    )


def test_empty_optional_values_count_as_unset() -> None:
    settings = Settings.from_context({"instanceId": INSTANCE_ID, "notificationEmail": "", "connectRate": " "})

    assert settings.notification_email is None
    assert settings.connect_rate is None


def test_per_api_rates_and_headroom_are_checked_and_normalised() -> None:
    settings = Settings.from_context(
        {
            "instanceId": INSTANCE_ID,
            "connectApiRates": " UpdateUserProficiencies=4, ListUserProficiencies=10:10",
            "connectHeadroom": 80,
        }
    )

    assert settings.connect_api_rates == "ListUserProficiencies=10:10,UpdateUserProficiencies=4"
    assert settings.connect_headroom == 80.0


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("connectApiRates", "ListUsers", "is not API=RATE"),
        ("connectApiRates", "Listusers=3", "unknown Connect API 'Listusers'"),
        ("connectApiRates", "ListUsers=-1", "rate must be above 0"),
        ("connectHeadroom", "0", "percent from 1 to 100"),
        ("connectHeadroom", "lots", "percent from 1 to 100"),
    ],
)
def test_bad_pacing_context_is_named(key: str, value: str, message: str) -> None:
    (problem,) = problems_for(instanceId=INSTANCE_ID, **{key: value})

    assert problem.startswith(f"{key}: ")
    assert message in problem


def test_missing_instance_id_says_what_to_pass() -> None:
    (problem,) = problems_for()

    assert "instanceId" in problem
    assert "is required" in problem
    assert "-c instanceId=" in problem


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("not-a-uuid", "is not an instance ID"),
        ("11111111-2222-4333-8444-55555555555", "is not an instance ID"),
        (f"arn:aws:connect:eu-west-1:123456789012:instance/{INSTANCE_ID}", "pass only the ID"),
    ],
)
def test_malformed_instance_id_is_rejected(value: str, expected: str) -> None:
    (problem,) = problems_for(instanceId=value)

    assert problem.startswith("instanceId:")
    assert expected in problem


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("notificationEmail", "not-an-email", "is not an email address"),
        ("connectRate", "fast", "is not a number"),
        ("connectRate", "0", "is outside"),
        ("connectBurst", "2.5", "is not a whole number"),
        ("connectBurst", True, "is not a whole number"),
        ("maxProficienciesPerAgent", "0", "is outside 1-1000"),
        ("maxGroupUsers", "0", "is outside 1-1000000"),
        ("maxGroupUsers", "lots", "is not a whole number"),
        ("reportRetentionDays", "-1", "is outside"),
        ("reservedConcurrency", "0", "use 'off'"),
        ("reservedConcurrency", "many", "is not a whole number"),
    ],
)
def test_malformed_values_are_rejected(key: str, value: object, expected: str) -> None:
    (problem,) = problems_for(instanceId=INSTANCE_ID, **{key: value})

    assert problem.startswith(f"{key}:")
    assert expected in problem


def test_the_snapshot_runs_on_the_contract_default_unless_told_otherwise() -> None:
    assert Settings.from_context({"instanceId": INSTANCE_ID}).snapshot_schedule == "cron(0 2 * * ? *)"
    assert Settings.from_context({"instanceId": INSTANCE_ID, "snapshotSchedule": ""}).snapshot_schedule == (
        DEFAULT_SNAPSHOT_SCHEDULE
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("cron(30 1 ? * MON-FRI *)", "cron(30 1 ? * MON-FRI *)"),
        ("cron(0 */6 * * ? *)", "cron(0 */6 * * ? *)"),
        ("cron(0 2 L * ? 2027)", "cron(0 2 L * ? 2027)"),
        ("cron(0  2 * *  ? *)", "cron(0 2 * * ? *)"),
        ("rate(1 day)", "rate(1 day)"),
        ("rate(12 hours)", "rate(12 hours)"),
        ("rate(30 minutes)", "rate(30 minutes)"),
    ],
)
def test_cron_and_rate_expressions_are_accepted(value: str, expected: str) -> None:
    settings = Settings.from_context({"instanceId": INSTANCE_ID, "snapshotSchedule": value})

    assert settings.snapshot_schedule == expected


@pytest.mark.parametrize("off", ["off", "OFF", " off ", "none", False])
def test_the_snapshot_schedule_can_be_turned_off(off: object) -> None:
    assert (
        Settings.from_context({"instanceId": INSTANCE_ID, "snapshotSchedule": off}).snapshot_schedule is None
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("cron(0 2 * * *)", "has 5 cron fields; Scheduler's cron has six"),
        ("cron(0 2 * * ? * *)", "has 7 cron fields"),
        ("cron(0 2 * * 1 *)", "'?' in exactly one of day-of-month and day-of-week"),
        ("cron(0 2 ? * ? *)", "'?' in exactly one of day-of-month and day-of-week"),
        ("cron(0 25 * * ? *)", "hours '25' outside 0-23"),
        ("cron(60 2 * * ? *)", "minutes '60' outside 0-59"),
        ("cron(0 2 * * ? *", "is not a cron(...) or rate(...) expression"),
        ("cron(0 2 * * ? $)", "invalid year field '$'"),
        ("rate(1 days)", "singular unit for 1"),
        ("rate(2 day)", "singular unit for 1 and a plural one otherwise"),
        ("rate(0 minutes)", "never fires"),
        ("rate(1 week)", "is not a cron(...) or rate(...) expression"),
        ("at(2027-01-01T02:00:00)", "is a one-time schedule"),
        ("daily", "is not a cron(...) or rate(...) expression, or 'off'"),
        (2, "is not a cron(...) or rate(...) expression, or 'off'"),
        (True, "is not a cron(...) or rate(...) expression, or 'off'"),
    ],
)
def test_malformed_snapshot_schedules_are_rejected(value: object, expected: str) -> None:
    (problem,) = problems_for(instanceId=INSTANCE_ID, snapshotSchedule=value)

    assert problem.startswith("snapshotSchedule:")
    assert expected in problem
    assert repr(value) in problem


def test_a_rejected_schedule_stops_the_synth_before_any_construct_exists() -> None:
    with pytest.raises(
        SettingsError, match=re.escape("snapshotSchedule: 'cron(0 2 * * *)' has 5 cron fields")
    ):
        create_app(context={"instanceId": INSTANCE_ID, "snapshotSchedule": "cron(0 2 * * *)"})


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_for(connectRate="x", connectBurst="y")

    assert [problem.split(":")[0] for problem in problems] == ["instanceId", "connectRate", "connectBurst"]


def test_near_miss_keys_are_not_silently_ignored() -> None:
    (problem,) = problems_for(instanceId=INSTANCE_ID, instance_ID=INSTANCE_ID)

    assert problem == "unknown context key 'instance_ID': did you mean 'instanceId'?"


def test_a_near_miss_of_the_schedule_key_is_caught_too() -> None:
    (problem,) = problems_for(instanceId=INSTANCE_ID, snapshot_schedule="off")

    assert problem == "unknown context key 'snapshot_schedule': did you mean 'snapshotSchedule'?"


def test_app_without_instance_id_exits_with_the_message_and_no_traceback() -> None:
    environment = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    environment.pop("CDK_CONTEXT_JSON", None)

    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1
    assert "instanceId: is required" in result.stderr
    assert "Traceback" not in result.stderr
