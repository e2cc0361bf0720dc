"""Group rows (routing_profile, security_profile, hierarchy_group, all): how names resolve, how
each member folds the row among the member's own rows, what the row's one report row says, the
calls it costs, and the guard rail."""

from __future__ import annotations

from collections import Counter

import pytest

from connect_profiles.domain.engine import EngineSettings, JobResult, check_offline, prepare, run_job
from connect_profiles.domain.job_state import plan_from_json, plan_to_json
from connect_profiles.domain.model import IdentifierType, Status
from connect_profiles.domain.outputs import summarise
from connect_profiles.domain.resolution import Directory, resolve_groups
from tests.fakes import (
    ASSOCIATE,
    DESCRIBE_ATTRIBUTE,
    LIST_PROFICIENCIES,
    LIST_USERS,
    SEARCH_USERS,
    UPDATE,
    FakeConnect,
    csv_file,
)

RP, SP, HG, ALL = (
    IdentifierType.ROUTING_PROFILE,
    IdentifierType.SECURITY_PROFILE,
    IdentifierType.HIERARCHY_GROUP,
    IdentifierType.ALL,
)
ATTRIBUTES = {"language": ["English", "French", "German"], "tier": ["Tier1", "Tier2"]}
SETTINGS = EngineSettings(max_proficiencies=3, workers=4)


def instance() -> FakeConnect:
    """Sales (rp-sales): ann, bob, cy; Support (rp-support): dee. ann holds French 4."""
    fake = FakeConnect(attributes=ATTRIBUTES)
    fake.add_user("u-ann", "ann", ("language", "French", 4))
    fake.add_user("u-bob", "bob")
    fake.add_user("u-cy", "cy")
    fake.add_user("u-dee", "dee")
    fake.add_group(RP, "rp-sales", "Sales", "u-ann", "u-bob", "u-cy")
    fake.add_group(RP, "rp-support", "Support", "u-dee")
    fake.add_group(SP, "sp-agent", "Agent", "u-ann", "u-bob", "u-cy", "u-dee")
    fake.add_group(HG, "hg-emea", "EMEA", "u-ann")
    fake.add_group(HG, "hg-emea-uk", "UK", "u-bob", parent="hg-emea")
    fake.add_group(HG, "hg-emea-uk-ldn", "London", "u-cy", parent="hg-emea-uk")
    return fake


def apply(
    fake: FakeConnect, *rows: str, dry_run: bool = False, settings: EngineSettings = SETTINGS
) -> JobResult:
    return run_job(csv_file(*rows), fake, settings, dry_run=dry_run)


def row(result: JobResult, line: int) -> tuple[Status, str, str]:
    outcome = next(o for o in result.outcomes if o.row.line == line)
    return outcome.status, outcome.message, outcome.user_id


# --- resolution -------------------------------------------------------------------------------


def resolve(fake: FakeConnect, kind: IdentifierType, identifier: str) -> tuple[list[str] | None, str]:
    groups = resolve_groups(fake, [(kind, identifier)], Directory({}, {}, False), max_users=1000)
    group = groups[(kind, identifier)]
    return (None if group.members is None else sorted(u.id for u in group.members)), group.note


def test_a_group_name_resolves_exactly_first() -> None:
    fake = instance()
    fake.add_group(RP, "rp-sales-lower", "sales")  # differs only by case: the exact name wins
    assert resolve(fake, RP, "Sales") == (["u-ann", "u-bob", "u-cy"], "")
    assert resolve(fake, RP, "sales") == ([], "")


def test_a_group_name_falls_back_to_one_case_insensitive_match_and_says_so() -> None:
    assert resolve(instance(), RP, "SALES") == (
        ["u-ann", "u-bob", "u-cy"],
        "routing profile matched 'Sales' ignoring case",
    )


def test_several_case_insensitive_matches_are_ambiguous() -> None:
    fake = instance()
    fake.add_group(RP, "rp-sales-2", "SALES")
    members, note = resolve(fake, RP, "sales")
    assert members is None
    assert note == (
        "routing profile 'sales' matches 2 routing profiles ignoring case "
        "('SALES' (rp-sales-2), 'Sales' (rp-sales)); use the exact name or the id"
    )


def test_an_unknown_group_does_not_resolve() -> None:
    assert resolve(instance(), SP, "Nobody") == (
        None,
        "no security profile with the name or id 'Nobody' in this instance",
    )


def test_a_group_may_be_named_by_its_id() -> None:
    assert resolve(instance(), SP, "sp-agent") == (["u-ann", "u-bob", "u-cy", "u-dee"], "")


def test_a_hierarchy_group_reaches_the_groups_beneath_it() -> None:
    fake = instance()
    assert resolve(fake, HG, "EMEA")[0] == ["u-ann", "u-bob", "u-cy"]
    assert resolve(fake, HG, "UK")[0] == ["u-bob", "u-cy"]
    assert resolve(fake, HG, "London")[0] == ["u-cy"]


def test_one_list_call_per_kind_used_and_one_search_per_group() -> None:
    fake = instance()
    result = apply(
        fake,
        "Sales,routing_profile,add,tier,Tier1,1",
        "Support,routing_profile,add,tier,Tier1,1",
        "Agent,security_profile,add,tier,Tier2,2",
    )
    assert result.failed == 0
    assert fake.calls["ListRoutingProfiles"] == 1
    assert fake.calls["ListSecurityProfiles"] == 1
    assert fake.calls["ListUserHierarchyGroups"] == 0
    assert fake.member_searches == [(RP, "rp-sales"), (RP, "rp-support"), (SP, "sp-agent")]
    assert fake.calls[SEARCH_USERS] == 1 + 3  # the instance probe, then one per group
    assert fake.calls[LIST_USERS] == 0
    # The usual: one read per member, at most one call per write API per member.
    assert fake.calls[LIST_PROFICIENCIES] == 4
    assert fake.calls[ASSOCIATE] == 4  # each member's two tiers go in one call
    assert fake.calls[DESCRIBE_ATTRIBUTE] == 1


def test_an_all_row_lists_the_instance_once() -> None:
    fake = instance()
    result = apply(fake, "*,all,add,tier,Tier1,1", "ann,username,add,tier,Tier2,2")
    assert row(result, 2)[:2] == (Status.SUCCEEDED, "4 users: 4 changed, 0 already so, 0 failed")
    assert fake.calls[LIST_USERS] == 1  # usernames resolve from the same listing
    assert fake.calls[SEARCH_USERS] == 1  # the instance probe only
    assert fake.calls[LIST_PROFICIENCIES] == 4


def test_paging_counts_every_page() -> None:
    fake = FakeConnect(attributes=ATTRIBUTES)
    ids = [f"u-{n:04}" for n in range(1001)]
    for uid in ids:
        fake.add_user(uid, uid)
    fake.add_group(RP, "rp-big", "Big", *ids)
    for n in range(1000):
        fake.add_group(RP, f"rp-{n}", f"Other {n}")
    plan = prepare(
        check_offline(csv_file("Big,routing_profile,add,tier,Tier1,1")), fake, max_group_users=2000
    )
    assert len(plan.users) == 1001
    assert fake.calls["ListRoutingProfiles"] == 2  # 1,001 profiles, 1,000 a page
    assert fake.calls[SEARCH_USERS] == 1 + 3  # the probe, then 1,001 members at 500 a page


# --- folding among a member's own rows ---------------------------------------------------------------


def test_a_group_row_applies_to_each_member_between_its_rows_before_and_after() -> None:
    fake = instance()
    result = apply(
        fake,
        "bob,username,add,language,German,2",  # line 2: before the group row
        "Sales,routing_profile,add,language,German,5",  # line 3: bob already has it (line 2)
        "cy,username,update,language,German,1",  # line 4: after it: cy got German 5 from line 3
        "ann,username,remove,language,French,",
    )
    assert row(result, 2)[0] is Status.SUCCEEDED
    assert row(result, 3)[:2] == (Status.SUCCEEDED, "3 users: 2 changed, 1 already so, 0 failed")
    assert row(result, 4)[:2] == (Status.SUCCEEDED, "updated from level 5 to 1")
    assert fake.held("u-bob") == {("language", "German"): 2}
    assert fake.held("u-cy") == {("language", "German"): 1}
    assert fake.held("u-ann") == {("language", "German"): 5}
    # cy: one Associate at the net level, no Update (the rows fold into the fewest calls).
    assert fake.calls[UPDATE] == 0
    assert fake.calls[LIST_PROFICIENCIES] == 3


def test_a_remove_of_what_a_member_does_not_hold_is_already_so() -> None:
    result = apply(instance(), "Sales,routing_profile,remove,language,French,")
    assert row(result, 2) == (Status.SUCCEEDED, "3 users: 1 changed, 2 already so, 0 failed", "")


def test_no_member_needing_a_change_is_skipped() -> None:
    fake = instance()
    result = apply(fake, "EMEA,hierarchy_group,remove,tier,Tier1,")
    assert row(result, 2)[:2] == (Status.SKIPPED, "3 users: 0 changed, 3 already so, 0 failed")
    assert fake.write_calls() == []


def test_a_group_with_no_members_is_skipped() -> None:
    fake = instance()
    fake.add_group(RP, "rp-empty", "Empty")
    result = apply(fake, "Empty,routing_profile,add,tier,Tier1,1")
    assert row(result, 2)[:2] == (Status.SKIPPED, "0 users: 0 changed, 0 already so, 0 failed")


def test_any_member_failing_fails_the_row_and_changes_csv_says_who_and_why() -> None:
    fake = instance()
    result = apply(fake, "Sales,routing_profile,update,language,French,2")
    status, message, user_id = row(result, 2)
    assert status is Status.FAILED
    assert message.startswith("3 users: 1 changed, 0 already so, 2 failed; first failure: ")
    assert user_id == ""
    assert fake.held("u-ann") == {("language", "French"): 2}
    by_user = {(c.username, c.status, c.line, c.message) for c in result.changes}
    assert by_user == {
        ("ann", Status.SUCCEEDED, 2, "updated from level 4 to 2"),
        ("bob", Status.FAILED, 2, "not assigned; use add"),
        ("cy", Status.FAILED, 2, "not assigned; use add"),
    }
    # retry.csv holds the group row itself, as it was written
    assert [o.row.line for o in result.retry] == [2]


def test_a_failed_write_fails_the_member_and_the_row() -> None:
    fake = instance()
    fake.max_proficiencies = 1  # Connect refuses ann's second proficiency
    result = apply(fake, "Sales,routing_profile,add,tier,Tier1,1")
    status, message, _ = row(result, 2)
    assert status is Status.FAILED
    assert message.startswith("3 users: 2 changed, 0 already so, 1 failed; first failure: u-ann: ")


def test_per_member_changes_and_undo_rows_carry_the_group_rows_line() -> None:
    fake = instance()
    result = apply(fake, "Support,routing_profile,add,tier,Tier2,2")
    assert [(c.user_id, c.username, c.level_before, c.level_after, c.line) for c in result.changes] == [
        ("u-dee", "dee", None, 2, 2)
    ]
    assert result.rollback == [("u-dee", "user_id", "remove", "tier", "Tier2", "")]
    assert ("u-dee", "user_id", "set", "", "", "") in result.backup


def test_a_dry_run_says_how_many_users_the_row_reaches() -> None:
    fake = instance()
    result = apply(fake, "Sales,routing_profile,add,language,French,4", dry_run=True)
    assert row(result, 2)[:2] == (Status.PLANNED, "3 users: 2 would change, 1 already so, 0 failed")
    assert fake.write_calls() == []
    summary = summarise(
        result, file_name="x.csv", instance_id="i", duration_seconds=1.0, location="s3://b/r/"
    )
    assert "line 2: routing_profile Sales add language=French: 3 users: 2 would change, 1 already so" in (
        summary.body
    )


def test_the_case_insensitive_note_follows_the_counts() -> None:
    result = apply(instance(), "support,routing_profile,add,tier,Tier1,1")
    assert row(result, 2)[:2] == (
        Status.SUCCEEDED,
        "1 users: 1 changed, 0 already so, 0 failed; routing profile matched 'Support' ignoring case",
    )


def test_an_unknown_group_fails_its_row_only() -> None:
    fake = instance()
    result = apply(fake, "Nope,routing_profile,add,tier,Tier1,1", "dee,username,add,tier,Tier1,1")
    assert row(result, 2)[:2] == (
        Status.FAILED,
        "no routing profile with the name or id 'Nope' in this instance",
    )
    assert row(result, 3)[0] is Status.SUCCEEDED


# --- guard rails ------------------------------------------------------------------------------


def test_a_group_over_the_limit_fails_with_its_count_before_any_write() -> None:
    fake = instance()
    settings = EngineSettings(max_proficiencies=3, workers=4, max_group_users=2)
    result = apply(
        fake, "Sales,routing_profile,add,tier,Tier1,1", "*,all,add,tier,Tier2,1", settings=settings
    )
    assert row(result, 2)[:2] == (
        Status.FAILED,
        "routing profile 'Sales' reaches 3 users, over the limit of 2 users per group row "
        "(max group users); nothing was applied for this row",
    )
    assert row(result, 3)[1].startswith("every user reaches 4 users, over the limit of 2")
    assert fake.write_calls() == []
    assert fake.calls[LIST_PROFICIENCIES] == 0


def test_a_group_at_the_limit_goes_ahead() -> None:
    settings = EngineSettings(max_proficiencies=3, workers=4, max_group_users=3)
    result = apply(instance(), "Sales,routing_profile,add,tier,Tier1,1", settings=settings)
    assert row(result, 2)[0] is Status.SUCCEEDED


def test_the_default_limit_is_1000() -> None:
    assert EngineSettings().max_group_users == 1000
    with pytest.raises(ValueError, match="max group users"):
        EngineSettings(max_group_users=0)


@pytest.mark.parametrize("kind", ["routing_profile", "security_profile", "hierarchy_group", "all"])
def test_group_rows_are_refused_in_sync_files(kind: str) -> None:
    offline = check_offline(csv_file(f"*,{kind},set,tier,Tier1,1"), sync=True)
    assert [o.status for o in offline.settled] == [Status.FAILED]
    assert "sync rows name users" in offline.settled[0].message


def test_an_all_rows_identifier_is_a_star() -> None:
    offline = check_offline(csv_file("everyone,all,add,tier,Tier1,1", "*,all,add,tier,Tier1,1"))
    assert offline.settled[0].message == "an all row's identifier must be *, got 'everyone'"
    assert [c.row.line for c in offline.changes] == [3]


# --- the durable job's plan -------------------------------------------------------------------------


def test_the_plan_keeps_its_group_rows_through_json() -> None:
    fake = instance()
    plan = prepare(check_offline(csv_file("Sales,routing_profile,add,tier,Tier1,1")), fake)
    again = plan_from_json(plan_to_json(plan))
    assert again.groups == plan.groups
    assert [g.members for g in again.groups] == [3]


def test_the_report_row_echoes_the_group_row() -> None:
    result = apply(instance(), "Sales,routing_profile,add,tier,Tier1,1")
    outcome = result.outcomes[0]
    assert (outcome.row.identifier, outcome.row.identifier_type) == ("Sales", "routing_profile")
    assert Counter(o.status for o in result.outcomes) == Counter({Status.SUCCEEDED: 1})
