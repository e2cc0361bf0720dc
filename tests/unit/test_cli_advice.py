"""The CLI's one line of advice for what AWS can answer: Connect busy past every retry, refused
permissions, and rows failed for throttling or 5xx."""

from __future__ import annotations

import pytest

from connect_profiles.domain.engine import ConnectBusy, EngineSettings, run_job
from connect_profiles.entrypoints.aws_target import advice, busy_rows_hint
from connect_profiles.ports import ConnectCallError, ConnectUnreachable
from tests.fakes import ASSOCIATE, FakeConnect, connect_error, csv_file, permission_denied


@pytest.mark.parametrize(
    "error",
    [
        ConnectCallError("SearchUsers", "ThrottlingException", "Rate exceeded", status=429),
        ConnectCallError("SearchUsers", "InternalServiceException", "oops", status=500),
        ConnectUnreachable("SearchUsers: Read timeout"),
        ConnectBusy("ListUserProficiencies failed: ThrottlingException: Rate exceeded"),
    ],
    ids=["throttled", "5xx", "unreachable", "busy"],
)
def test_connect_busy_past_the_retries_says_what_happened_and_to_run_again(error: Exception) -> None:
    said = advice(error)
    assert said is not None
    assert said.startswith("nothing was applied: Connect stayed throttled or unavailable past every retry (")
    assert str(error) in said
    assert "run the same command again" in said


def test_an_error_that_will_not_pass_gets_no_busy_advice() -> None:
    assert advice(ConnectCallError("SearchUsers", "InvalidParameterException", "bad")) is None


def test_a_refused_permission_names_the_action_and_the_readme_part() -> None:
    said = advice(permission_denied("ListUserProficiencies"))
    assert said is not None
    assert said.startswith("permission denied: connect:ListUserProficiencies on ")
    assert "Permissions for the CLI" in said


def test_rows_failed_for_throttling_say_to_wait_and_apply_retry_csv() -> None:
    # Given Connect answering the Associate with throttling past every retry
    fake = FakeConnect(attributes={"tier": ["Tier1"]})
    fake.add_user("u-1", "jdoe")
    fake.add_user("u-2", "asmith")
    fake.inject(ASSOCIATE, connect_error(ASSOCIATE, "ThrottlingException", "Rate exceeded", 429))
    rows = csv_file("jdoe,username,add,tier,Tier1,2", "asmith,username,add,tier,Tier9,2")
    result = run_job(rows, fake, EngineSettings(), dry_run=False)
    # Then only the throttled row counts, and the hint names retry.csv
    assert busy_rows_hint(result, "run-1/retry.csv") == (
        "1 rows failed because Connect stayed throttled or unavailable past every retry: wait a few "
        "minutes, then apply run-1/retry.csv, which holds only the failed rows (the report shows what "
        "was done)"
    )
    assert "run it again" in (busy_rows_hint(result, None) or "")


def test_no_busy_hint_when_rows_failed_for_other_reasons() -> None:
    fake = FakeConnect(attributes={"tier": ["Tier1"]})
    fake.add_user("u-1", "jdoe")

    result = run_job(csv_file("ghost,username,add,tier,Tier1,2"), fake, EngineSettings(), dry_run=False)
    assert result.failed == 1
    assert busy_rows_hint(result, "retry.csv") is None
