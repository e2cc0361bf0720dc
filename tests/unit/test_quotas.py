"""Planning each Connect API's rate from the account's quotas, the options and the defaults."""

from __future__ import annotations

import pytest

from connect_profiles.adapters.pacing import Rate
from connect_profiles.adapters.quotas import JOB_APIS, PacingOptions, plan_pacing
from connect_profiles.contract import CONNECT_QUOTA_CODES, parse_api_rates

READS_AT_10 = {
    "ListUsers": 10.0,
    "SearchUsers": 2.0,
    "DescribePredefinedAttribute": 10.0,
    "ListPredefinedAttributes": 10.0,
    "ListUserProficiencies": 10.0,
    "AssociateUserProficiencies": 2.0,
    "UpdateUserProficiencies": 5.0,
    "DisassociateUserProficiencies": 2.0,
    "ListRoutingProfiles": 2.0,
    "ListSecurityProfiles": 2.0,
    "ListUserHierarchyGroups": 2.0,
}


def test_the_job_paces_exactly_the_connect_apis_the_contract_grants() -> None:
    assert set(JOB_APIS) == {
        "ListUsers",
        "SearchUsers",
        "DescribePredefinedAttribute",
        "ListPredefinedAttributes",
        "ListUserProficiencies",
        "AssociateUserProficiencies",
        "UpdateUserProficiencies",
        "DisassociateUserProficiencies",
        "ListRoutingProfiles",
        "ListSecurityProfiles",
        "ListUserHierarchyGroups",
    }
    assert set(JOB_APIS) <= set(CONNECT_QUOTA_CODES)


def test_each_api_at_its_quota_less_headroom_burst_5_or_the_quota_if_higher() -> None:
    plan = plan_pacing(PacingOptions(), quotas=READS_AT_10)
    assert plan.rates["ListUserProficiencies"] == Rate(9.0, 10)
    assert plan.rates["UpdateUserProficiencies"] == Rate(4.5, 5)
    assert plan.rates["AssociateUserProficiencies"] == Rate(1.8, 5)
    assert plan.sources["ListUsers"] == "quota 10/s"
    assert plan.warnings == ()


def test_headroom_is_a_setting() -> None:
    plan = plan_pacing(PacingOptions(headroom_percent=50), quotas=READS_AT_10)
    assert plan.rates["ListUserProficiencies"].per_second == 5.0


def test_a_refused_read_falls_back_to_the_documented_default_with_a_warning() -> None:
    plan = plan_pacing(PacingOptions(), quotas=None, refused="AccessDeniedException: not authorized")
    assert set(plan.rates.values()) == {Rate(1.8, 5)}
    [warning] = plan.warnings
    assert "AccessDeniedException: not authorized" in warning
    assert "documented default, 2/s burst 5" in warning


def test_a_missing_quota_falls_back_for_that_api_only_with_a_warning() -> None:
    quotas = {api: value for api, value in READS_AT_10.items() if api != "UpdateUserProficiencies"}
    plan = plan_pacing(PacingOptions(), quotas=quotas)
    assert plan.rates["UpdateUserProficiencies"] == Rate(1.8, 5)
    assert plan.rates["ListUserProficiencies"] == Rate(9.0, 10)
    [warning] = plan.warnings
    assert "no request quota for UpdateUserProficiencies" in warning


def test_overrides_win_over_rate_which_wins_over_quotas() -> None:
    options = PacingOptions.build(
        rate=3.0, api_rates=parse_api_rates("ListUserProficiencies=20:15,ListUsers=7", source="test")
    )
    plan = plan_pacing(options, quotas=READS_AT_10)
    assert plan.rates["ListUserProficiencies"] == Rate(20.0, 15)
    assert plan.rates["ListUsers"] == Rate(7.0, 7)  # burst: 5, or the rate if higher
    assert plan.rates["AssociateUserProficiencies"] == Rate(3.0, 5)
    assert plan.sources["AssociateUserProficiencies"] == "--rate"


def test_quotas_are_read_only_when_some_api_is_left_to_them() -> None:
    assert PacingOptions().needs_quotas(JOB_APIS)
    assert not PacingOptions(rate=2.0).needs_quotas(JOB_APIS)
    every = dict.fromkeys(JOB_APIS, (5.0, None))
    assert not PacingOptions.build(api_rates=every).needs_quotas(JOB_APIS)


@pytest.mark.parametrize("text", ["ListUsers=", "=3", "ListUsers=3:2:1", "ListUsers=abc"])
def test_malformed_api_rates_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="API=RATE"):
        parse_api_rates(text, source="--api-rate")
