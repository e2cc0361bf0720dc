"""The engine against an in-memory Connect as strict as AWS (tests/fakes.py): what each row does to
a user, which calls it costs, and what the job says about it."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from connect_profiles.domain.csv_input import Limits, read_csv
from connect_profiles.domain.csv_output import input_format_csv
from connect_profiles.domain.engine import (
    ConnectBusy,
    EngineSettings,
    JobResult,
    NotConfirmed,
    Preview,
    UserWork,
    check_offline,
    prepare,
    run_job,
    run_user,
    run_users,
)
from connect_profiles.domain.model import ChangeRecord, FileRejected, Proficiency, Status
from connect_profiles.domain.outputs import render_files
from connect_profiles.ports import ConnectCallError, ConnectUnavailable, ConnectUnreachable
from tests.fakes import (
    ASSOCIATE,
    DESCRIBE_ATTRIBUTE,
    DISASSOCIATE,
    HEADER,
    LIST_ATTRIBUTES,
    LIST_PROFICIENCIES,
    UPDATE,
    WRITE_APIS,
    FakeConnect,
    FakeJournal,
    Write,
    csv_file,
    permission_denied,
)

LANGUAGES = [
    "English",
    "Spanish",
    "French",
    "German",
    "Italian",
    "Portuguese",
    "Japanese",
    "Chinese",
    "Korean",
    "Arabic",
    "Hindi",
    "Dutch",
]
ATTRIBUTES = {
    "language": LANGUAGES,
    "region": ["EMEA", "APAC", "NA", "LATAM"],
    "tier": ["Tier1", "Tier2", "Tier3"],
}
SETTINGS = EngineSettings(max_proficiencies=10, workers=4)
JDOE, ASMITH = "u-jdoe", "u-asmith"


def connect(**options: object) -> FakeConnect:
    fake = FakeConnect(attributes=ATTRIBUTES, **options)  # type: ignore[arg-type]
    fake.add_user(JDOE, "jdoe", ("language", "English", 3))
    fake.add_user(ASMITH, "asmith")
    return fake


def apply(
    fake: FakeConnect, *rows: str, dry_run: bool = False, settings: EngineSettings = SETTINGS
) -> JobResult:
    return run_job(csv_file(*rows), fake, settings, dry_run=dry_run)


def by_line(result: JobResult) -> dict[int, tuple[Status, str]]:
    return {o.row.line: (o.status, o.message) for o in result.outcomes}


def writes(fake: FakeConnect) -> list[tuple[str, str]]:
    return [(w.operation, w.user_id) for w in fake.writes]


# --- row semantics (DESIGN.md section 2), end to end ----------------------------------------------


@pytest.mark.parametrize(
    ("row", "status", "message", "after", "calls"),
    [
        (
            "jdoe,username,add,tier,Tier1,2",
            Status.SUCCEEDED,
            "added at level 2",
            {("tier", "Tier1"): 2},
            [ASSOCIATE],
        ),
        ("jdoe,username,add,language,English,3", Status.SKIPPED, "already at level 3", {}, []),
        ("jdoe,username,add,language,English,5", Status.SKIPPED, "already at level 3; use update", {}, []),
        (
            "jdoe,username,update,language,English,5",
            Status.SUCCEEDED,
            "updated from level 3 to 5",
            {("language", "English"): 5},
            [UPDATE],
        ),
        ("jdoe,username,update,language,English,3", Status.SKIPPED, "already at level 3", {}, []),
        ("jdoe,username,update,tier,Tier1,2", Status.FAILED, "not assigned; use add", {}, []),
        (
            "jdoe,username,remove,language,English,",
            Status.SUCCEEDED,
            "removed (was level 3)",
            {("language", "English"): None},
            [DISASSOCIATE],
        ),
        ("jdoe,username,remove,tier,Tier1,", Status.SKIPPED, "not assigned", {}, []),
        (
            "jdoe,username,set,tier,Tier1,2",
            Status.SUCCEEDED,
            "added at level 2",
            {("tier", "Tier1"): 2},
            [ASSOCIATE],
        ),
        (
            "jdoe,username,set,language,English,5",
            Status.SUCCEEDED,
            "updated from level 3 to 5",
            {("language", "English"): 5},
            [UPDATE],
        ),
        ("jdoe,username,set,language,English,3", Status.SKIPPED, "already at level 3", {}, []),
    ],
    ids=[
        "add-absent",
        "add-same-level",
        "add-other-level",
        "update-other-level",
        "update-same-level",
        "update-absent",
        "remove-present",
        "remove-absent",
        "set-absent",
        "set-other-level",
        "set-same-level",
    ],
)
def test_each_line_of_the_row_semantics_table_against_connect(
    row: str, status: Status, message: str, after: dict[tuple[str, str], int | None], calls: list[str]
) -> None:
    # Given jdoe holding language/English at level 3
    fake = connect()
    before = fake.held(JDOE)
    # When the one-row file is applied
    result = apply(fake, row)
    # Then the row's outcome is the table's
    assert by_line(result) == {2: (status, message)}
    assert result.outcomes[0].user_id == JDOE
    # And Connect holds what the row says, reached with the table's call and no other
    expected = {**before, **after}
    assert fake.held(JDOE) == {k: v for k, v in expected.items() if v is not None}
    assert [w.operation for w in fake.writes] == calls
    assert fake.calls[LIST_PROFICIENCIES] == 1


def test_each_row_sees_the_state_the_rows_before_it_leave() -> None:
    # Given jdoe holding English 3
    fake = connect()
    # When a file removes it, re-adds it at 4, and updates the re-added one
    result = apply(
        fake,
        "jdoe,username,remove,language,English,",
        "jdoe,username,add,language,English,4",
        "jdoe,username,update,language,English,5",
        "jdoe,username,add,language,English,5",
    )
    # Then each row was judged against the rows before it
    assert [o.status for o in result.outcomes] == [Status.SUCCEEDED] * 3 + [Status.SKIPPED]
    assert by_line(result)[5] == (Status.SKIPPED, "already at level 5")
    # And the net change is one Update, no remove and re-add
    assert writes(fake) == [(UPDATE, JDOE)]
    assert fake.held(JDOE) == {("language", "English"): 5}


def test_removals_go_before_additions_so_a_user_at_the_limit_can_swap() -> None:
    # Given a user holding ten proficiencies, the per-agent limit, in a Connect that enforces it
    fake = FakeConnect(attributes=ATTRIBUTES, max_proficiencies=10)
    fake.add_user("u-full", "full", *[("language", name, 1) for name in LANGUAGES[:10]])
    # When one file adds an eleventh (listed first) and removes one of the ten
    result = apply(
        fake,
        "full,username,add,language,Dutch,2",
        "full,username,remove,language,English,",
        "full,username,update,language,Spanish,4",
    )
    # Then the add is evaluated in file order and fails before any call...
    assert by_line(result)[2] == (
        Status.FAILED,
        "would exceed the limit of 10 proficiencies per agent (the user holds 10)",
    )
    assert fake.calls[ASSOCIATE] == 0
    # ...and an add after the remove takes the freed slot: the Disassociate is sent first
    fake = FakeConnect(attributes=ATTRIBUTES, max_proficiencies=10)
    fake.add_user("u-full", "full", *[("language", name, 1) for name in LANGUAGES[:10]])
    result = apply(
        fake,
        "full,username,add,tier,Tier1,2",  # over the limit here: fails
        "full,username,remove,language,English,",
        "full,username,add,language,Dutch,2",
        "full,username,update,language,Spanish,4",
    )
    assert [o.status for o in result.outcomes] == [Status.FAILED] + [Status.SUCCEEDED] * 3
    assert [w.operation for w in fake.writes] == [DISASSOCIATE, UPDATE, ASSOCIATE]
    assert all(w.applied and w.error is None for w in fake.writes)
    held = fake.held("u-full")
    assert len(held) == 10
    assert held[("language", "Dutch")] == 2
    assert ("language", "English") not in held


def test_many_rows_for_one_user_cost_one_read_and_at_most_one_call_per_write_api() -> None:
    # Given jdoe (English 3, Spanish 1, Tier1 1) and asmith (nothing)
    fake = FakeConnect(attributes=ATTRIBUTES)
    fake.add_user(JDOE, "jdoe", ("language", "English", 3), ("language", "Spanish", 1), ("tier", "Tier1", 1))
    fake.add_user(ASMITH, "asmith")
    # When a file has nine rows for jdoe, interleaved with rows for asmith
    result = apply(
        fake,
        "jdoe,username,update,language,English,4",
        "asmith,username,add,region,EMEA,1",
        "jdoe,username,update,language,Spanish,5",
        "jdoe,username,remove,tier,Tier1,",
        "asmith,username,add,region,APAC,2",
        "jdoe,username,add,tier,Tier2,3",
        "jdoe,username,add,region,NA,1",
        "jdoe,username,add,language,French,2",
        "jdoe,username,remove,language,German,",
        "jdoe,username,update,language,English,2",
        "jdoe,username,add,region,LATAM,4",
    )
    assert result.failed == 0
    # Then each user was read once, and written with at most one call per write API
    assert fake.calls[LIST_PROFICIENCIES] == 2
    assert sorted(writes(fake)) == sorted(
        [(DISASSOCIATE, JDOE), (UPDATE, JDOE), (ASSOCIATE, JDOE), (ASSOCIATE, ASMITH)]
    )
    # And the calls carried the net levels
    jdoe_writes = {w.operation: set(w.items) for w in fake.writes if w.user_id == JDOE}
    assert jdoe_writes[UPDATE] == {
        Proficiency("language", "English", 2),
        Proficiency("language", "Spanish", 5),
    }
    assert jdoe_writes[DISASSOCIATE] == {("tier", "Tier1")}
    assert jdoe_writes[ASSOCIATE] == {
        Proficiency("tier", "Tier2", 3),
        Proficiency("region", "NA", 1),
        Proficiency("language", "French", 2),
        Proficiency("region", "LATAM", 4),
    }
    # And each attribute was described once, however many rows name it
    assert fake.calls[DESCRIBE_ATTRIBUTE] == 3


def test_an_exact_repeat_is_skipped_as_a_duplicate_and_costs_nothing() -> None:
    fake = connect()
    result = apply(
        fake,
        "asmith,username,add,tier,Tier1,2",
        "",  # a blank row still counts in line numbers
        " asmith , username ,add, tier ,Tier1, 2 ",  # the same six cells after trimming
        "asmith,username,add,tier,Tier1,3",  # not a repeat: another level
    )
    assert by_line(result) == {
        2: (Status.SUCCEEDED, "added at level 2"),
        4: (Status.SKIPPED, "duplicate of line 2"),
        5: (Status.SKIPPED, "already at level 2; use update"),
    }
    assert writes(fake) == [(ASSOCIATE, ASMITH)]
    assert fake.writes[0].items == (Proficiency("tier", "Tier1", 2),)


def test_a_row_that_would_pass_the_per_agent_limit_fails_before_any_call_and_names_the_limit() -> None:
    # Given a limit of 2 and asmith holding one
    fake = FakeConnect(attributes=ATTRIBUTES, max_proficiencies=2)
    fake.add_user(ASMITH, "asmith", ("region", "EMEA", 1))
    settings = EngineSettings(max_proficiencies=2, workers=1)
    result = apply(
        fake,
        "asmith,username,add,region,APAC,1",
        "asmith,username,add,region,NA,1",
        settings=settings,
    )
    assert by_line(result) == {
        2: (Status.SUCCEEDED, "added at level 1"),
        3: (Status.FAILED, "would exceed the limit of 2 proficiencies per agent (the user holds 2)"),
    }
    # And only the row within the limit was sent
    assert [w.items for w in fake.writes] == [(Proficiency("region", "APAC", 1),)]


def test_unknown_attributes_and_values_fail_their_rows_with_what_to_fix_and_the_rest_go_on() -> None:
    fake = connect()
    result = apply(
        fake,
        "asmith,username,add,skill,Sales,2",
        "asmith,username,add,language,Klingon,2",
        "asmith,username,add,region,NA,2",
    )
    status, message = by_line(result)[2]
    assert status is Status.FAILED
    assert message == (
        "attribute 'skill' is not a predefined attribute in this instance "
        "(attributes: language, region, tier)"
    )
    status, message = by_line(result)[3]
    assert status is Status.FAILED
    assert message.startswith(
        "value 'Klingon' is not a value of attribute 'language' (values: English, Spanish"
    )
    # the list shown is clipped at ten values
    assert "Arabic, …)" in message
    assert "Hindi" not in message
    assert by_line(result)[4] == (Status.SUCCEEDED, "added at level 2")
    assert writes(fake) == [(ASSOCIATE, ASMITH)]


def test_an_unknown_attribute_names_the_closest_one_ignoring_case_and_lists_the_instance_s() -> None:
    # Given an instance whose attributes differ from the file's by case and by a typo
    fake = FakeConnect(attributes={"Skill": ["Sales"], "language": ["French"], "Region": ["NA"]})
    fake.add_user(ASMITH, "asmith")
    # When the file names them
    result = apply(fake, "asmith,username,add,skill,Sales,2", "asmith,username,add,langauge,French,2")
    # Then each row says which attribute was meant, and which there are (sorted, ignoring case)
    there = "(attributes: language, Region, Skill)"
    assert by_line(result) == {
        2: (
            Status.FAILED,
            "attribute 'skill' is not a predefined attribute in this instance; did you mean 'Skill'? "
            f"{there}",
        ),
        3: (
            Status.FAILED,
            "attribute 'langauge' is not a predefined attribute in this instance; did you mean 'language'? "
            f"{there}",
        ),
    }
    # And the attributes were listed once for the job, not once per row
    assert fake.calls[LIST_ATTRIBUTES] == 1


def test_the_attribute_list_shown_is_clipped_at_ten_names_and_not_read_when_all_are_known() -> None:
    fake = FakeConnect(attributes={f"attr{n:02}": ["x"] for n in range(12)})
    fake.add_user(ASMITH, "asmith")
    result = apply(fake, "asmith,username,add,colour,x,2")
    [(status, message)] = by_line(result).values()
    assert status is Status.FAILED
    assert message.endswith(
        "(attributes: attr00, attr01, attr02, attr03, attr04, attr05, attr06, attr07, attr08, attr09, …)"
    )
    assert "did you mean" not in message
    # An instance with no attributes at all says so
    empty = FakeConnect()
    empty.add_user(ASMITH, "asmith")
    assert by_line(apply(empty, "asmith,username,add,skill,x,2"))[2] == (
        Status.FAILED,
        "attribute 'skill' is not a predefined attribute in this instance; "
        "this instance has no predefined attributes at all",
    )
    # And a file whose attributes all exist never lists them
    known = connect()
    apply(known, "asmith,username,add,region,NA,2", "asmith,username,add,region,Mars,2")
    assert known.calls[LIST_ATTRIBUTES] == 0


@pytest.mark.parametrize(
    "error",
    [permission_denied(LIST_ATTRIBUTES), ConnectCallError(LIST_ATTRIBUTES, "ThrottlingException", "slow")],
)
def test_when_the_attributes_cannot_be_listed_the_row_fails_as_before_and_the_rest_go_on(
    error: Exception,
) -> None:
    # Given ListPredefinedAttributes refused (denied, or busy after the adapter's retries)
    fake = connect()
    fake.inject(LIST_ATTRIBUTES, error)
    # When a file names an unknown attribute beside a good row
    result = apply(fake, "asmith,username,add,skill,Sales,2", "asmith,username,add,region,NA,2")
    # Then the unknown one fails with the plain message, and the good row is applied
    assert by_line(result) == {
        2: (Status.FAILED, "attribute 'skill' is not a predefined attribute in this instance"),
        3: (Status.SUCCEEDED, "added at level 2"),
    }
    assert fake.calls[LIST_ATTRIBUTES] == 1


def test_a_value_list_of_ten_or_fewer_is_shown_whole() -> None:
    fake = connect()
    result = apply(fake, "asmith,username,add,region,Mars,2")
    assert by_line(result)[2] == (
        Status.FAILED,
        "value 'Mars' is not a value of attribute 'region' (values: EMEA, APAC, NA, LATAM)",
    )


def test_an_unknown_user_fails_its_rows_and_other_users_go_on() -> None:
    fake = connect()
    result = apply(
        fake,
        "u-nobody,user_id,add,tier,Tier1,2",
        "u-nobody,user_id,remove,tier,Tier2,",
        "nobody,username,add,tier,Tier1,2",
        "u-asmith,user_id,add,tier,Tier1,2",
    )
    lines = by_line(result)
    assert lines[2] == (Status.FAILED, "no user with id 'u-nobody' in this instance")
    assert lines[3] == (Status.FAILED, "no user with id 'u-nobody' in this instance")
    assert lines[4] == (
        Status.FAILED,
        "no user with username 'nobody' in this instance (usernames are case-sensitive)",
    )
    assert lines[5] == (Status.SUCCEEDED, "added at level 2")
    assert writes(fake) == [(ASSOCIATE, ASMITH)]
    # The file names users by id, so the instance was listed: the unknown id cost no read of its own
    assert fake.calls[LIST_PROFICIENCIES] == 1
    # A user that does not exist (by id or by username) has no user_id in the report; one that does
    # has its own
    assert [o.user_id for o in result.outcomes] == ["", "", "", ASMITH]


def test_a_username_matched_ignoring_case_says_so_and_an_ambiguous_one_fails() -> None:
    fake = FakeConnect(attributes=ATTRIBUTES)
    fake.add_user("u-1", "Mary.Major")
    fake.add_user("u-2", "PAT")
    fake.add_user("u-3", "Pat")
    result = apply(fake, "mary.major,username,add,tier,Tier1,2", "pat,username,add,tier,Tier1,2")
    assert by_line(result)[2] == (
        Status.SUCCEEDED,
        "added at level 2; username matched 'Mary.Major' ignoring case",
    )
    assert result.outcomes[0].user_id == "u-1"
    status, message = by_line(result)[3]
    assert status is Status.FAILED
    assert message == (
        "username 'pat' matches 2 users ignoring case ('PAT', 'Pat'); use the exact username or the user_id"
    )
    assert writes(fake) == [(ASSOCIATE, "u-1")]


def test_rows_that_fail_offline_never_reach_connect() -> None:
    fake = connect()
    result = apply(fake, "jdoe,username,add,tier,Tier1,6", "jdoe,username,frobnicate,tier,Tier1,2")
    assert [o.status for o in result.outcomes] == [Status.FAILED, Status.FAILED]
    assert "whole number from 1 to 5" in result.outcomes[0].message
    assert fake.calls[LIST_PROFICIENCIES] == 0
    assert fake.calls[DESCRIBE_ATTRIBUTE] == 0
    assert fake.writes == []


# --- dry run ------------------------------------------------------------------------------------


def test_a_dry_run_plans_every_change_and_sends_no_write() -> None:
    fake = connect()
    result = apply(
        fake,
        "jdoe,username,update,language,English,5",
        "jdoe,username,remove,language,English,",
        "asmith,username,add,tier,Tier1,2",
        "asmith,username,add,tier,Tier1,2",
        "asmith,username,update,tier,Tier2,2",
        dry_run=True,
    )
    assert result.dry_run
    assert by_line(result) == {
        2: (Status.PLANNED, "would update from level 3 to 5"),
        3: (Status.PLANNED, "would remove (was level 5)"),
        4: (Status.PLANNED, "would add at level 2"),
        5: (Status.SKIPPED, "duplicate of line 4"),
        6: (Status.FAILED, "not assigned; use add"),
    }
    assert fake.writes == []
    assert fake.held(JDOE) == {("language", "English"): 3}
    assert result.rollback == []
    # The backup still shows what each touched user holds now, as set rows; asmith holds nothing
    assert result.backup == [
        (JDOE, "user_id", "set", "language", "English", "3"),
        (ASMITH, "user_id", "set", "", "", ""),
    ]


# --- failed calls, undo files --------------------------------------------------------------------


def test_a_refused_call_fails_exactly_the_rows_it_carries() -> None:
    # Given Connect refusing jdoe's Associate
    fake = connect()
    fake.inject(ASSOCIATE, ConnectCallError(ASSOCIATE, "AccessDeniedException", "not allowed", status=403))
    result = apply(
        fake,
        "jdoe,username,add,tier,Tier1,2",
        "jdoe,username,update,language,English,4",
        "jdoe,username,add,region,NA,2",
        "jdoe,username,add,region,NA,5",
    )
    lines = by_line(result)
    # Then the two rows the Associate carried failed, with Connect's reason
    for line in (2, 4):
        status, message = lines[line]
        assert status is Status.FAILED
        assert "AccessDeniedException" in message
        assert "not allowed" in message
    # And the Update went through and is reported and undoable; the skipped row stays skipped
    assert lines[3] == (Status.SUCCEEDED, "updated from level 3 to 4")
    assert lines[5][0] is Status.SKIPPED
    assert fake.held(JDOE) == {("language", "English"): 4}
    assert result.rollback == [(JDOE, "user_id", "update", "language", "English", "3")]
    assert [o.row.line for o in result.retry] == [2, 4]
    # And the user was read again (settling) to learn what the failed call left
    assert fake.settling_reads == [JDOE]


def test_connect_unreachable_for_a_user_fails_that_users_rows() -> None:
    fake = connect()
    fake.inject(LIST_PROFICIENCIES, ConnectUnavailable("ListUserProficiencies: connection refused"))
    work = UserWork(ASMITH, check_offline(csv_file("asmith,user_id,add,tier,Tier1,2")).changes)
    result = run_user(work, fake, SETTINGS, dry_run=False)
    assert [(o.status, o.message) for o in result.outcomes] == [
        (Status.FAILED, "ListUserProficiencies: connection refused")
    ]
    assert fake.writes == []


def test_rollback_undoes_every_change_removals_first_and_restores_the_state() -> None:
    # Given a user at the limit and another one
    fake = FakeConnect(attributes=ATTRIBUTES, max_proficiencies=10)
    fake.add_user("u-full", "full", *[("language", name, 1) for name in LANGUAGES[:10]])
    fake.add_user(ASMITH, "asmith", ("region", "EMEA", 2))
    before = {uid: fake.held(uid) for uid in fake.users}
    # When a job adds, updates and removes across both
    result = apply(
        fake,
        "asmith,username,add,tier,Tier1,2",
        "full,username,update,language,Spanish,4",
        "full,username,remove,language,English,",
        "full,username,add,language,Dutch,3",
        "asmith,username,remove,region,EMEA,",
    )
    assert result.failed == 0
    # Then rollback.csv lists every undo, removals first, then updates, then additions
    actions = [row[2] for row in result.rollback]
    assert actions == sorted(actions, key=["remove", "update", "add"].index)
    assert sorted(result.rollback) == sorted(
        [
            (ASMITH, "user_id", "remove", "tier", "Tier1", ""),
            ("u-full", "user_id", "update", "language", "Spanish", "1"),
            ("u-full", "user_id", "add", "language", "English", "1"),
            ("u-full", "user_id", "remove", "language", "Dutch", ""),
            (ASMITH, "user_id", "add", "region", "EMEA", "2"),
        ]
    )
    # And dropped back in (a user at the limit again needs its removal first), it restores everything
    undo = run_job(_input_file(result.rollback), fake, SETTINGS, dry_run=False)
    assert undo.failed == 0
    assert {uid: fake.held(uid) for uid in fake.users} == before


def _input_file(rows: list[tuple[str, str, str, str, str, str]]) -> bytes:
    return input_format_csv(rows)


def test_backup_lists_every_touched_users_proficiencies_before_the_job() -> None:
    fake = FakeConnect(attributes=ATTRIBUTES)
    fake.add_user(JDOE, "jdoe", ("language", "English", 3), ("region", "NA", 2))
    fake.add_user(ASMITH, "asmith", ("tier", "Tier1", 1))
    fake.add_user("u-other", "other", ("tier", "Tier2", 1))
    result = apply(fake, "jdoe,username,remove,region,NA,", "asmith,username,update,tier,Tier1,5")
    assert sorted(result.backup) == [
        (ASMITH, "user_id", "set", "tier", "Tier1", "1"),
        (JDOE, "user_id", "set", "language", "English", "3"),
        (JDOE, "user_id", "set", "region", "NA", "2"),
    ]
    # and it reads back as a valid input file
    rows = read_csv(_input_file(result.backup)).rows
    assert [row.cells() for row in rows] == [tuple(cells) for cells in result.backup]


def test_counts_by_status_and_action() -> None:
    fake = connect()
    result = apply(
        fake,
        "asmith,username,add,tier,Tier1,2",
        "asmith,username,add,tier,Tier2,2",
        "asmith,username,add,tier,Tier1,2",
        "jdoe,username,update,tier,Tier1,2",
        "jdoe,username,remove,tier,Tier1,",
        "jdoe,username,REMOVE,language,English,",
        "jdoe,username,,language,English,",
    )
    assert dict(result.counts()) == {"succeeded": 3, "skipped": 2, "failed": 2}
    assert result.failed == 2
    assert {action: dict(c) for action, c in result.counts_by_action().items()} == {
        "add": {"succeeded": 2, "skipped": 1},
        "update": {"failed": 1},
        "remove": {"skipped": 1, "succeeded": 1},
        "(blank)": {"failed": 1},
    }


# --- a batch retried after a crash -------------------------------------------------------------


def test_a_user_retried_after_a_crash_sends_only_what_is_left_and_still_reports_and_undoes_it_all() -> None:
    # Given a user whose Disassociate went through before the process died at the Associate
    fake = connect()
    fake.inject(ASSOCIATE, RuntimeError("the Lambda sandbox was frozen"))
    journal = FakeJournal()
    work = UserWork(
        JDOE,
        check_offline(
            csv_file("jdoe,user_id,remove,language,English,", "jdoe,user_id,add,tier,Tier1,2")
        ).changes,
    )
    with pytest.raises(RuntimeError):
        run_user(work, fake, SETTINGS, dry_run=False, journal=journal)
    # what the user held was journalled before the first write
    assert journal.recorded == [JDOE]
    assert journal.recall(JDOE) == [Proficiency("language", "English", 3)]
    assert fake.held(JDOE) == {}
    # When the user runs again with the same journal
    result = run_user(work, fake, SETTINGS, dry_run=False, journal=journal)
    # Then only the Associate is sent, and both rows are reported and undone
    assert [(w.operation, w.applied) for w in fake.writes] == [
        (DISASSOCIATE, True),
        (ASSOCIATE, False),
        (ASSOCIATE, True),
    ]
    assert [(o.status, o.message) for o in result.outcomes] == [
        (Status.SUCCEEDED, "removed (was level 3)"),
        (Status.SUCCEEDED, "added at level 2"),
    ]
    assert result.before == [Proficiency("language", "English", 3)]
    assert sorted(result.undo) == [
        (JDOE, "user_id", "add", "language", "English", "3"),
        (JDOE, "user_id", "remove", "tier", "Tier1", ""),
    ]
    assert journal.recorded == [JDOE]  # not journalled a second time
    assert fake.held(JDOE) == {("tier", "Tier1"): 2}


def test_nothing_is_journalled_for_a_dry_run_or_a_user_with_nothing_to_write() -> None:
    fake = connect()
    journal = FakeJournal()
    changes = check_offline(
        csv_file("jdoe,user_id,add,language,English,3", "u-asmith,user_id,add,tier,Tier1,1")
    )
    users = [UserWork(JDOE, [changes.changes[0]]), UserWork(ASMITH, [changes.changes[1]])]
    run_users(users, fake, SETTINGS, dry_run=True, journal=journal)
    assert journal.recorded == []
    run_users(users, fake, SETTINGS, dry_run=False, journal=journal)
    assert journal.recorded == [ASMITH]


def test_a_write_whose_response_was_lost_is_settled_by_what_connect_now_holds() -> None:
    fake = connect()
    fake.inject(ASSOCIATE, applied=True)  # applied, then a 500
    result = apply(fake, "asmith,username,add,tier,Tier1,2")
    assert fake.held(ASMITH) == {("tier", "Tier1"): 2}
    assert by_line(result)[2] == (
        Status.SUCCEEDED,
        "added at level 2 (confirmed by reading the user again after: "
        "AssociateUserProficiencies failed: InternalServiceException: injected fault)",
    )
    assert result.rollback == [(ASMITH, "user_id", "remove", "tier", "Tier1", "")]
    assert fake.settling_reads == [ASMITH]
    assert result.retry == []


# --- the steps one by one -------------------------------------------------------------------------


def test_users_run_side_by_side_and_progress_reports_each_one_done() -> None:
    fake = FakeConnect(attributes=ATTRIBUTES)
    for n in range(7):
        fake.add_user(f"u-{n}", f"user{n}")
    offline = check_offline(csv_file(*[f"u-{n},user_id,add,tier,Tier1,{n % 5 + 1}" for n in range(7)]))
    plan = prepare(offline, fake)
    seen: list[tuple[int, int]] = []
    run = run_users(plan.users, fake, SETTINGS, dry_run=False, progress=lambda d, t: seen.append((d, t)))
    results = run.results
    assert run.denied is None
    assert seen == [(n, 7) for n in range(1, 8)]
    assert [r.user_id for r in results] == [f"u-{n}" for n in range(7)]
    assert {uid: fake.held(uid) for uid in fake.users} == {
        f"u-{n}": {("tier", "Tier1"): n % 5 + 1} for n in range(7)
    }


def test_prepare_groups_rows_by_user_in_file_order_whichever_way_they_are_named() -> None:
    fake = connect()
    offline = check_offline(
        csv_file(
            "jdoe,username,add,tier,Tier1,2",
            "asmith,username,add,tier,Tier1,2",
            "u-jdoe,user_id,add,tier,Tier2,2",
        )
    )
    plan = prepare(offline, fake)
    assert [(w.user_id, [c.row.line for c in w.changes]) for w in plan.users] == [
        (JDOE, [2, 4]),
        (ASMITH, [3]),
    ]
    assert plan.data_rows == 3
    assert plan.settled == []


def test_an_unknown_instance_stops_the_job_before_any_row_is_judged() -> None:
    fake = connect()
    fake.inject("SearchUsers", ConnectUnavailable("Instance x: ResourceNotFoundException: no such instance"))
    with pytest.raises(ConnectUnavailable):
        apply(fake, "jdoe,username,add,tier,Tier1,2")
    assert fake.calls[LIST_PROFICIENCIES] == 0


def test_engine_settings_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        EngineSettings(max_proficiencies=0)
    with pytest.raises(ValueError, match="workers"):
        EngineSettings(workers=0)
    assert EngineSettings(max_proficiencies=1, workers=1).max_proficiencies == 1


# --- the fake is as strict as Connect -------------------------------------------------------------


def test_the_fake_refuses_what_connect_refuses_and_applies_nothing() -> None:
    fake = connect()
    refused: list[tuple[Callable[[], object], str]] = [
        (lambda: fake.associate(JDOE, [Proficiency("language", "English", 2)]), "InvalidRequestException"),
        (lambda: fake.disassociate(JDOE, [("tier", "Tier1")]), "InvalidRequestException"),
        (lambda: fake.update(JDOE, [Proficiency("tier", "Tier1", 2)]), "InvalidRequestException"),
        (lambda: fake.associate("u-x", [Proficiency("tier", "Tier1", 2)]), "ResourceNotFoundException"),
        (lambda: fake.associate(JDOE, [Proficiency("skill", "Sales", 2)]), "ResourceNotFoundException"),
        (lambda: fake.associate(JDOE, [Proficiency("tier", "Gold", 2)]), "InvalidParameterException"),
        (lambda: fake.associate(JDOE, [Proficiency("tier", "Tier1", 6)]), "InvalidParameterException"),
        (lambda: fake.associate(JDOE, []), "InvalidParameterException"),
        (lambda: fake.list_proficiencies("u-x"), "ResourceNotFoundException"),
    ]
    for call, code in refused:
        with pytest.raises(ConnectCallError) as caught:
            call()
        assert caught.value.code == code
    assert fake.held(JDOE) == {("language", "English"): 3}
    assert all(not w.applied for w in fake.writes)
    # a call that would pass the limit is refused whole
    small = FakeConnect(attributes=ATTRIBUTES, max_proficiencies=2)
    small.add_user("u", "u", ("tier", "Tier1", 1))
    with pytest.raises(ConnectCallError, match="limit"):
        small.associate("u", [Proficiency("tier", "Tier2", 1), Proficiency("tier", "Tier3", 1)])
    assert small.held("u") == {("tier", "Tier1"): 1}


def test_the_fakes_lenient_modes_and_injected_faults() -> None:
    fake = connect(on_associate_existing="overwrite", on_disassociate_missing="ignore")
    fake.associate(JDOE, [Proficiency("language", "English", 5)])
    fake.disassociate(JDOE, [("tier", "Tier1")])
    assert fake.held(JDOE) == {("language", "English"): 5}
    # the second Update fails before it is applied; the third is applied and its answer lost
    fake.inject(UPDATE, nth=2)
    fake.inject(UPDATE, nth=3, applied=True)
    fake.update(JDOE, [Proficiency("language", "English", 1)])
    with pytest.raises(ConnectCallError) as caught:
        fake.update(JDOE, [Proficiency("language", "English", 2)])
    assert caught.value.transient
    assert fake.held(JDOE) == {("language", "English"): 1}
    with pytest.raises(ConnectCallError):
        fake.update(JDOE, [Proficiency("language", "English", 3)])
    assert fake.held(JDOE) == {("language", "English"): 3}
    assert [(w.operation, w.applied, w.error) for w in fake.writes[-3:]] == [
        (UPDATE, True, None),
        (UPDATE, False, "InternalServiceException"),
        (UPDATE, True, "InternalServiceException"),
    ]
    assert fake.calls[UPDATE] == 3
    assert all(op in WRITE_APIS for op, _ in writes(fake))
    assert isinstance(fake.writes[0], Write)


# --- what the steps carry along --------------------------------------------------------------------


def test_the_settings_limits_apply_to_the_file() -> None:
    tight = EngineSettings(max_proficiencies=10, workers=1, limits=Limits(max_rows=1))
    data = csv_file("jdoe,username,add,tier,Tier1,2", "jdoe,username,add,tier,Tier2,2")
    with pytest.raises(FileRejected, match="2 data rows; the limit is 1"):
        check_offline(data, tight.limits)
    with pytest.raises(FileRejected, match="the limit is 1"):
        run_job(data, connect(), tight, dry_run=True)


def test_warnings_about_the_file_reach_the_result() -> None:
    fake = connect()
    data = csv_file("jdoe,username,add,tier,Tier1,2,hello", header=HEADER + ",notes")
    result = run_job(data, fake, SETTINGS, dry_run=False)
    assert result.warnings == [
        "Ignored unknown column: 'notes'. The columns used are "
        "identifier, identifier_type, action, attribute, value, level."
    ]


@pytest.mark.parametrize(("count", "clipped"), [(10, False), (11, True)])
def test_an_attribute_with_more_than_ten_values_shows_the_first_ten(count: int, clipped: bool) -> None:
    fake = FakeConnect(attributes={"tier": [f"T{n}" for n in range(count)]})
    fake.add_user(ASMITH, "asmith")
    [outcome] = apply(fake, "asmith,username,add,tier,Gold,2").outcomes
    shown = ", ".join(f"T{n}" for n in range(10))
    assert (
        outcome.message
        == f"value 'Gold' is not a value of attribute 'tier' (values: {shown}{', …' if clipped else ''})"
    )


def test_rows_failed_by_a_refused_call_keep_their_user_id() -> None:
    fake = connect()
    fake.inject(DISASSOCIATE, ConnectCallError(DISASSOCIATE, "InvalidRequestException", "no"))
    [outcome] = apply(fake, "jdoe,username,remove,language,English,").outcomes
    assert (outcome.status, outcome.user_id) == (Status.FAILED, JDOE)


def test_every_row_of_a_dry_run_is_planned_whatever_comes_before_it() -> None:
    fake = connect()
    result = apply(
        fake,
        "jdoe,username,add,language,English,3",  # skipped
        "jdoe,username,add,tier,Tier1,2",
        "jdoe,username,update,region,NA,2",  # failed
        "jdoe,username,remove,language,English,",
        dry_run=True,
    )
    assert [(o.status, o.message, o.user_id) for o in result.outcomes] == [
        (Status.SKIPPED, "already at level 3", JDOE),
        (Status.PLANNED, "would add at level 2", JDOE),
        (Status.FAILED, "not assigned; use add", JDOE),
        (Status.PLANNED, "would remove (was level 3)", JDOE),
    ]


def test_run_job_reports_progress_user_by_user() -> None:
    fake = connect()
    seen: list[tuple[int, int]] = []
    run_job(
        csv_file("jdoe,username,add,tier,Tier1,2", "asmith,username,add,tier,Tier1,2"),
        fake,
        SETTINGS,
        dry_run=True,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(1, 2), (2, 2)]


# --- the offline checks, as a person meets them ------------------------------------------------------


def rejection(data: bytes, limits: Limits | None = None) -> str:
    with pytest.raises(FileRejected) as caught:
        check_offline(data, limits or Limits())
    return str(caught.value)


def test_a_file_over_the_size_limit_says_both_sizes_in_units_a_person_reads() -> None:
    assert rejection(b"x" * 1025, Limits(max_bytes=1024)) == (
        "The file is 1.0 KiB (1,025 bytes); the limit is 1.0 KiB (1,024 bytes). Split it into smaller files."
    )
    assert rejection(b"x" * 1024, Limits(max_bytes=1023)).startswith(
        "The file is 1.0 KiB (1,024 bytes); the limit is 1,023 bytes."
    )
    mib = 1024 * 1024
    assert rejection(b"x" * (mib + 52429), Limits(max_bytes=mib)).startswith(
        "The file is 1.1 MiB (1,101,005 bytes); the limit is 1.0 MiB (1,048,576 bytes)."
    )
    assert rejection(b"x" * mib, Limits(max_bytes=mib - 1)).startswith(
        "The file is 1.0 MiB (1,048,576 bytes); the limit is 1024.0 KiB"
    )


def test_too_many_rows_says_how_many_and_what_to_do() -> None:
    data = csv_file(*["jdoe,username,add,tier,Tier1,2"] * 3)
    assert rejection(data, Limits(max_rows=2)) == (
        "The file has 3 data rows; the limit is 2. "
        "Split it into several files and drop them one after another."
    )


def test_files_that_are_not_csv_say_how_to_save_them() -> None:
    assert rejection(b"PK\x03\x04rest") == (
        "The file is a spreadsheet workbook (.xlsx), not a CSV. In Excel use "
        "File > Save As > 'CSV UTF-8 (Comma delimited)' and drop that file."
    )
    assert rejection("identifier".encode("utf-16")) == (
        "The file contains NUL bytes: it looks like UTF-16 ('Unicode Text') or a binary file, not a CSV. "
        "Save it as 'CSV UTF-8 (Comma delimited)'."
    )


def test_a_windows_1252_file_is_read_with_a_warning() -> None:
    offline = check_offline(csv_file("jos\xe9,username,add,tier,Tier1,2").decode().encode("cp1252"))
    assert offline.changes[0].row.identifier == "jos\xe9"
    assert offline.warnings == [
        "The file is not UTF-8; it was read as Windows-1252 (cp1252). "
        "Save it as 'CSV UTF-8' if accented letters look wrong in the report."
    ]


def test_a_broken_header_is_rejected_at_line_1_with_how_to_quote() -> None:
    message = rejection(
        b'"identifier"x,identifier_type,action,attribute,value,level\r\njdoe,username,add,t,v,2\r\n'
    )
    assert message.startswith("The file is not valid CSV at line 1: ")
    assert "',' expected after '\"'" in message  # the csv module's own words on what it found
    assert message.endswith(
        'Check the quotes (") on that line: a quoted cell must end with a quote followed by the delimiter, '
        'and a quote inside it is written as "".'
    )


def test_a_cell_longer_than_the_csv_reader_allows_names_the_limit() -> None:
    data = csv_file('jdoe,username,add,"' + "x" * 140_000 + '",v,2')
    assert rejection(data) == (
        "Line 2: a cell is longer than the csv reader allows (limit 1,000 characters). "
        'Shorten it, or check for a missing closing quote (") above it.'
    )


def test_a_semicolon_file_with_quoted_header_cells_is_read() -> None:
    data = b'"identifier";identifier_type;action;attribute;value;level\r\njdoe;username;add;tier;Tier1;2\r\n'
    assert [c.row.cells() for c in check_offline(data).changes] == [
        ("jdoe", "username", "add", "tier", "Tier1", "2")
    ]


def test_an_unnamed_column_in_the_middle_of_the_header_is_ignored() -> None:
    data = csv_file(
        "jdoe,,username,add,tier,Tier1,2", header="identifier,,identifier_type,action,attribute,value,level"
    )
    assert [c.row.cells() for c in check_offline(data).changes] == [
        ("jdoe", "username", "add", "tier", "Tier1", "2")
    ]


def test_missing_and_unknown_columns_are_named_singular_or_plural() -> None:
    assert rejection(
        csv_file("jdoe,username,add,tier", header="identifier,identifier_type,action,attribute")
    ) == (
        "The header is missing the required column value. Columns found (reading it as comma-delimited): "
        "'identifier', 'identifier_type', 'action', 'attribute'. The first row must name identifier, "
        "identifier_type, action, attribute, value, and level for set, add and update rows, in any order."
    )
    offline = check_offline(csv_file("jdoe,username,add,tier,Tier1,2,a,b", header=HEADER + ",notes,owner"))
    assert offline.warnings == [
        "Ignored unknown columns: 'notes', 'owner'. The columns used are "
        "identifier, identifier_type, action, attribute, value, level."
    ]


def test_a_cell_over_the_cell_limit_is_named_by_line_and_column() -> None:
    limits = Limits(max_cell_chars=7)
    assert check_offline(csv_file("jdoe,user_id,add,tier,Tier1,2"), limits).changes  # 7 characters fit
    assert rejection(csv_file("jdoe,user_id,add,tier,Tier1234,2"), limits) == (
        "Line 2, column 5 (value): the cell is 8 characters long; the limit is 7. "
        'Shorten it, or check for a missing closing quote (") above it.'
    )
    assert rejection(csv_file("jdoe,user_id,add,tier,Tier1,2,,toolonger"), limits).startswith(
        "Line 2, column 8: the cell is 9 characters long"
    )


def test_cells_are_trimmed_and_lose_one_leading_quote() -> None:
    [change] = check_offline(csv_file("jdoe ,username,add,\t'=tier ,Tier1,1.0")).changes
    assert (change.row.identifier, change.row.attribute, change.level) == ("jdoe", "=tier", 1)
    # a cell that starts with the quote keeps the rest verbatim: safe_cell wrote it
    [change] = check_offline(csv_file("' jdoe ,username,add,tier,Tier1,1")).changes
    assert change.row.identifier == " jdoe "


def test_row_problems_are_all_named_with_what_to_give() -> None:
    offline = check_offline(csv_file(",,,,,2", "jdoe,x" * 1 + ",y,t,v,2"))
    assert offline.settled[0].message == (
        "identifier is empty: give the user's username or user ID; "
        "identifier_type must be username or user_id "
        "(or routing_profile, security_profile, hierarchy_group, all), got it is empty; "
        "action must be add, update, remove or set, got it is empty; "
        "attribute is empty: give the predefined attribute's name; "
        "value is empty: give one of the attribute's values"
    )
    assert offline.settled[1].message == (
        "identifier_type must be username or user_id "
        "(or routing_profile, security_profile, hierarchy_group, all), got 'x'; "
        "action must be add, update, remove or set, got 'y'"
    )


@pytest.mark.parametrize(("length", "shown"), [(40, "a" * 40), (41, "a" * 40 + "...")])
def test_a_bad_cell_is_echoed_up_to_40_characters(length: int, shown: str) -> None:
    [outcome] = check_offline(csv_file(f"jdoe,username,{'a' * length},tier,Tier1,2")).settled
    assert outcome.message == f"action must be add, update, remove or set, got '{shown}'"


def test_duplicates_are_found_after_an_overfull_row() -> None:
    offline = check_offline(
        csv_file(
            "jdoe,username,add,tier,Tier1,2,extra",
            "jdoe,username,add,tier,Tier2,2",
            "jdoe,username,add,tier,Tier2,2",
        )
    )
    assert [(o.row.line, o.message) for o in offline.settled][-1] == (4, "duplicate of line 3")


# --- set rows outside a sync file -------------------------------------------------------------------


def test_a_set_row_that_adds_past_the_limit_fails_and_one_that_updates_needs_no_slot() -> None:
    # Given a limit of 2 and asmith holding two
    fake = FakeConnect(attributes=ATTRIBUTES, max_proficiencies=2)
    fake.add_user(ASMITH, "asmith", ("region", "EMEA", 1), ("region", "NA", 1))
    settings = EngineSettings(max_proficiencies=2, workers=1)
    result = apply(
        fake, "asmith,username,set,region,APAC,1", "asmith,username,set,region,NA,4", settings=settings
    )
    assert by_line(result) == {
        2: (Status.FAILED, "would exceed the limit of 2 proficiencies per agent (the user holds 2)"),
        3: (Status.SUCCEEDED, "updated from level 1 to 4"),
    }
    assert writes(fake) == [(UPDATE, ASMITH)]
    assert fake.held(ASMITH) == {("region", "EMEA"): 1, ("region", "NA"): 4}


# --- desired-state (sync) files (DESIGN.md 2) -------------------------------------------------------


def sync(
    fake: FakeConnect, *rows: str, dry_run: bool = False, settings: EngineSettings = SETTINGS
) -> JobResult:
    return run_job(csv_file(*rows), fake, settings, dry_run=dry_run, sync=True)


def report(result: JobResult) -> list[tuple[int, str, str, str, str, str, Status, str]]:
    return [
        (
            o.row.line,
            o.row.identifier,
            o.row.action,
            o.row.attribute,
            o.row.value,
            o.user_id,
            o.status,
            o.message,
        )
        for o in result.outcomes
    ]


def test_a_sync_file_ends_each_user_at_the_listed_set_and_reports_each_implicit_removal_last() -> None:
    # Given jdoe holding English 3, NA 2 and Tier1 1, and asmith holding EMEA 1
    fake = FakeConnect(attributes=ATTRIBUTES)
    fake.add_user(JDOE, "jdoe", ("language", "English", 3), ("region", "NA", 2), ("tier", "Tier1", 1))
    fake.add_user(ASMITH, "asmith", ("region", "EMEA", 1))
    # When a sync file lists jdoe's English at 4, Tier2 (an add row, read as set) and Tier1 as held,
    # and asmith's APAC
    result = sync(
        fake,
        "jdoe,username,set,language,English,4",
        "jdoe,username,add,tier,Tier2,2",
        "jdoe,username,set,tier,Tier1,1",
        "asmith,username,set,region,APAC,3",
    )
    # Then the listed rows are judged against what each user held, and every held pair not listed
    # gets a row of its own after the data rows: line blank (0), action remove, "not in the desired state"
    assert result.sync
    assert report(result) == [
        (2, "jdoe", "set", "language", "English", JDOE, Status.SUCCEEDED, "updated from level 3 to 4"),
        (3, "jdoe", "add", "tier", "Tier2", JDOE, Status.SUCCEEDED, "added at level 2"),
        (4, "jdoe", "set", "tier", "Tier1", JDOE, Status.SKIPPED, "already at level 1"),
        (5, "asmith", "set", "region", "APAC", ASMITH, Status.SUCCEEDED, "added at level 3"),
        (0, "jdoe", "remove", "region", "NA", JDOE, Status.SUCCEEDED, "not in the desired state"),
        (0, "asmith", "remove", "region", "EMEA", ASMITH, Status.SUCCEEDED, "not in the desired state"),
    ]
    assert [o.row.identifier_type for o in result.outcomes[-2:]] == ["username", "username"]
    assert [o.row.level for o in result.outcomes[-2:]] == ["", ""]
    # And Connect holds exactly the listed sets, removals sent first
    assert fake.held(JDOE) == {("language", "English"): 4, ("tier", "Tier2"): 2, ("tier", "Tier1"): 1}
    assert fake.held(ASMITH) == {("region", "APAC"): 3}
    assert [w.operation for w in fake.writes if w.user_id == JDOE] == [DISASSOCIATE, UPDATE, ASSOCIATE]
    # And the rollback undoes the removals too; retry.csv never holds an implicit removal
    assert (JDOE, "user_id", "add", "region", "NA", "2") in result.rollback
    assert (ASMITH, "user_id", "add", "region", "EMEA", "1") in result.rollback
    assert result.retry == []


def test_a_sync_file_refuses_update_and_remove_rows() -> None:
    fake = connect()
    result = sync(fake, "jdoe,username,update,language,English,4", "asmith,username,remove,tier,Tier1,")
    assert by_line(result) == {
        2: (Status.FAILED, "sync files list the desired proficiencies: use set"),
        3: (Status.FAILED, "sync files list the desired proficiencies: use set"),
    }
    assert fake.writes == []


def test_a_sync_user_with_a_bad_row_is_left_untouched_and_every_row_names_the_bad_lines() -> None:
    # Given jdoe holding English 3
    fake = connect()
    result = sync(
        fake,
        "jdoe,username,set,language,Spanish,4",
        "jdoe,username,set,tier,Gold,2",  # no such value
        "u-jdoe,user_id,set,region,NA,9",  # the same user by id; a bad level
        "asmith,username,set,tier,Tier1,2",
    )
    lines = by_line(result)
    # Then the good row of jdoe fails too, naming both bad lines
    assert lines[2] == (
        Status.FAILED,
        "not applied: line 3, 4 of this user failed its checks, and a sync file changes a user all or "
        "nothing; fix it and drop the file again",
    )
    assert lines[3][0] is Status.FAILED
    assert lines[3][1].startswith("value 'Gold' is not a value")
    assert lines[4][0] is Status.FAILED
    assert "whole number from 1 to 5" in lines[4][1]
    # And jdoe was not read, written, nor told to drop English: no implicit removal for jdoe
    assert fake.held(JDOE) == {("language", "English"): 3}
    assert [o.row.line for o in result.outcomes] == [2, 3, 4, 5]
    assert [o.row.line for o in result.retry] == [2, 3, 4]
    # While asmith, whose rows are good, got the set
    assert lines[5] == (Status.SUCCEEDED, "added at level 2")
    assert writes(fake) == [(ASSOCIATE, ASMITH)]
    assert fake.calls[LIST_PROFICIENCIES] == 1


def test_the_limit_applies_to_a_sync_users_final_set() -> None:
    # Given a limit of 3 and jdoe holding three
    fake = FakeConnect(attributes=ATTRIBUTES, max_proficiencies=3)
    fake.add_user(JDOE, "jdoe", *[("language", name, 1) for name in LANGUAGES[:3]])
    settings = EngineSettings(max_proficiencies=3, workers=1)
    # When the desired set swaps one for another: still three, though an add row listed first would
    # not fit
    result = sync(
        fake,
        "jdoe,username,set,language,German,2",
        "jdoe,username,set,language,Spanish,1",
        "jdoe,username,set,language,French,1",
        settings=settings,
    )
    assert result.failed == 0
    assert fake.held(JDOE) == {
        ("language", "German"): 2,
        ("language", "Spanish"): 1,
        ("language", "French"): 1,
    }
    assert [w.operation for w in fake.writes] == [DISASSOCIATE, ASSOCIATE]
    # But a desired set of four fails every row of the user and changes nothing
    fake.writes.clear()
    before = fake.held(JDOE)
    result = sync(
        fake,
        "jdoe,username,set,language,German,2",
        "jdoe,username,set,language,Spanish,1",
        "jdoe,username,set,language,French,1",
        "jdoe,username,set,language,Italian,1",
        settings=settings,
    )
    message = (
        "the desired set has 4 proficiencies, over the limit of 3 per agent; the user was left unchanged"
    )
    assert by_line(result) == dict.fromkeys((2, 3, 4, 5), (Status.FAILED, message))
    assert fake.writes == []
    assert fake.held(JDOE) == before


def test_the_empty_set_row_removes_everything_and_is_skipped_for_a_user_who_holds_nothing() -> None:
    fake = FakeConnect(attributes=ATTRIBUTES)
    fake.add_user(JDOE, "jdoe", ("language", "English", 3), ("tier", "Tier1", 1))
    fake.add_user(ASMITH, "asmith")
    result = sync(fake, "jdoe,username,set,,,", "u-asmith,user_id,set,,,")
    assert report(result) == [
        (2, "jdoe", "set", "", "", JDOE, Status.SUCCEEDED, "desired set is empty: 2 removed"),
        (3, "u-asmith", "set", "", "", ASMITH, Status.SKIPPED, "already holds nothing"),
        (0, "jdoe", "remove", "language", "English", JDOE, Status.SUCCEEDED, "not in the desired state"),
        (0, "jdoe", "remove", "tier", "Tier1", JDOE, Status.SUCCEEDED, "not in the desired state"),
    ]
    assert fake.held(JDOE) == {}
    assert writes(fake) == [(DISASSOCIATE, JDOE)]
    # No attribute was described for the empty-set rows
    assert fake.calls[DESCRIBE_ATTRIBUTE] == 0


def test_a_sync_dry_run_plans_the_implicit_removals_and_sends_nothing() -> None:
    fake = connect()
    result = sync(fake, "jdoe,username,set,tier,Tier1,2", dry_run=True)
    assert [(o.row.line, o.status, o.message) for o in result.outcomes] == [
        (2, Status.PLANNED, "would add at level 2"),
        (0, Status.PLANNED, "not in the desired state"),
    ]
    assert fake.writes == []


# --- changes.csv's records ----------------------------------------------------------------------------


def test_each_change_is_recorded_per_user_and_pair_with_levels_before_and_after() -> None:
    # Given jdoe holding English 3 and NA 2, asmith nothing; Connect refusing asmith's Associate
    fake = FakeConnect(attributes=ATTRIBUTES)
    fake.add_user(JDOE, "jdoe", ("language", "English", 3), ("region", "NA", 2))
    fake.add_user(ASMITH, "asmith")
    fake.inject(ASSOCIATE, ConnectCallError(ASSOCIATE, "InvalidRequestException", "refused"), nth=2)
    settings = EngineSettings(workers=1)
    result = apply(
        fake,
        "jdoe,username,update,language,English,5",
        "jdoe,username,remove,region,NA,",
        "jdoe,username,add,tier,Tier1,2",
        "jdoe,username,add,language,English,5",  # skipped: no change of its own
        "asmith,username,add,tier,Tier2,1",
        settings=settings,
    )
    # Then each pair changed, or tried, has one record with the last row that asked for it
    assert result.changes == [
        ChangeRecord(
            JDOE, "jdoe", "language", "English", 3, 5, Status.SUCCEEDED, 2, "updated from level 3 to 5"
        ),
        ChangeRecord(JDOE, "jdoe", "region", "NA", 2, None, Status.SUCCEEDED, 3, "removed (was level 2)"),
        ChangeRecord(JDOE, "jdoe", "tier", "Tier1", None, 2, Status.SUCCEEDED, 4, "added at level 2"),
        ChangeRecord(
            ASMITH,
            "asmith",
            "tier",
            "Tier2",
            None,
            1,
            Status.FAILED,
            6,
            "AssociateUserProficiencies failed: InvalidRequestException: refused",
        ),
    ]
    assert result.usernames == {JDOE: "jdoe", ASMITH: "asmith"}


def test_a_sync_files_implicit_removal_is_recorded_at_line_0_and_a_dry_run_records_what_it_would_do() -> None:
    fake = connect()
    result = sync(fake, "u-jdoe,user_id,set,tier,Tier1,2", dry_run=True)
    assert result.changes == [
        ChangeRecord(JDOE, "jdoe", "tier", "Tier1", None, 2, Status.PLANNED, 2, "would add at level 2"),
        ChangeRecord(
            JDOE, "jdoe", "language", "English", 3, None, Status.PLANNED, 0, "not in the desired state"
        ),
    ]


# --- backup.csv puts users back exactly ----------------------------------------------------------------


def test_the_backup_dropped_into_a_sync_run_puts_every_touched_user_back_exactly() -> None:
    # Given jdoe holding English 3 and NA 2, asmith nothing, and a user the job does not touch
    fake = FakeConnect(attributes=ATTRIBUTES)
    fake.add_user(JDOE, "jdoe", ("language", "English", 3), ("region", "NA", 2))
    fake.add_user(ASMITH, "asmith")
    fake.add_user("u-other", "other", ("tier", "Tier3", 5))
    before = {uid: fake.held(uid) for uid in fake.users}
    # When a job adds, updates and removes for jdoe and gives asmith two
    result = apply(
        fake,
        "jdoe,username,remove,language,English,",
        "jdoe,username,update,region,NA,4",
        "jdoe,username,add,tier,Tier1,2",
        "asmith,username,add,region,EMEA,1",
        "asmith,username,set,tier,Tier2,3",
    )
    assert result.failed == 0
    # Then the backup is set rows: jdoe's pairs, and the empty-set row for asmith, who held nothing
    assert sorted(result.backup) == [
        (ASMITH, "user_id", "set", "", "", ""),
        (JDOE, "user_id", "set", "language", "English", "3"),
        (JDOE, "user_id", "set", "region", "NA", "2"),
    ]
    # And backup.csv as written (with its username column), run as a sync file, restores them exactly
    backup_csv = render_files(result, file_name="changes.csv", instance_id="inst-1")["backup.csv"]
    assert check_offline(backup_csv, sync=True).warnings == []
    restore = run_job(backup_csv, fake, SETTINGS, dry_run=False, sync=True)
    assert restore.failed == 0
    assert {uid: fake.held(uid) for uid in fake.users} == before


def test_a_user_never_reached_gets_no_backup_row() -> None:
    fake = connect()
    interrupt = threading.Event()
    interrupt.set()
    result = run_job(
        csv_file("jdoe,username,add,tier,Tier1,2"), fake, SETTINGS, dry_run=False, interrupt=interrupt
    )
    assert result.backup == []


# --- a write whose outcome is unknown is settled by reading the user again -------------------------


def test_a_lost_disassociate_response_is_confirmed_and_its_undo_is_in_the_rollback() -> None:
    fake = connect()
    fake.inject(DISASSOCIATE, applied=True)
    result = apply(fake, "jdoe,username,remove,language,English,", "jdoe,username,add,tier,Tier1,2")
    assert by_line(result) == {
        2: (
            Status.SUCCEEDED,
            "removed (was level 3) (confirmed by reading the user again after: "
            "DisassociateUserProficiencies failed: InternalServiceException: injected fault)",
        ),
        3: (Status.SUCCEEDED, "added at level 2"),
    }
    assert sorted(result.rollback) == [
        (JDOE, "user_id", "add", "language", "English", "3"),
        (JDOE, "user_id", "remove", "tier", "Tier1", ""),
    ]
    assert fake.settling_reads == [JDOE]
    assert fake.calls[LIST_PROFICIENCIES] == 2


def test_a_failed_write_that_did_not_apply_fails_its_rows_after_the_re_read() -> None:
    fake = connect()
    fake.inject(ASSOCIATE)  # a 500, not applied
    result = apply(fake, "asmith,username,add,tier,Tier1,2")
    assert by_line(result) == {
        2: (Status.FAILED, "AssociateUserProficiencies failed: InternalServiceException: injected fault")
    }
    assert fake.settling_reads == [ASMITH]
    assert result.rollback == []
    assert [o.row.line for o in result.retry] == [2]
    assert [c.status for c in result.changes] == [Status.FAILED]


def test_when_the_re_read_fails_too_the_row_says_its_outcome_is_unknown() -> None:
    fake = connect()
    fake.inject(ASSOCIATE, applied=True)
    fake.inject(
        LIST_PROFICIENCIES, ConnectCallError(LIST_PROFICIENCIES, "InvalidRequestException", "x"), nth=2
    )
    result = apply(fake, "asmith,username,add,tier,Tier1,2")
    status, message = by_line(result)[2]
    assert status is Status.FAILED
    assert message == (
        "AssociateUserProficiencies failed: InternalServiceException: injected fault; whether it was "
        "applied is unknown (re-reading failed: ListUserProficiencies failed: InvalidRequestException: x)"
    )


# --- errors that may pass: retry later, or fail the rows ---------------------------------------------


def plan_of(fake: FakeConnect, *rows: str) -> list[UserWork]:
    return prepare(check_offline(csv_file(*rows)), fake).users


def test_a_busy_connect_raises_connect_busy_and_the_rerun_sends_only_what_is_left() -> None:
    # Given three users, and Connect answering asmith's Associate with a 500 (after botocore's retries)
    fake = connect()
    fake.add_user("u-3", "third")
    fake.inject(ASSOCIATE, nth=2)
    users = plan_of(
        fake,
        "jdoe,username,add,tier,Tier1,2",
        "asmith,username,add,tier,Tier1,2",
        "third,username,add,tier,Tier1,2",
    )
    journal = FakeJournal()
    one_at_a_time = EngineSettings(workers=1)
    # When the batch runs with a later attempt to come
    with pytest.raises(ConnectBusy, match="InternalServiceException"):
        run_users(users, fake, one_at_a_time, dry_run=False, journal=journal, retry_later=True)
    # Then no user after asmith was started, and asmith's before is journalled
    assert fake.held("u-3") == {}
    assert journal.recall(ASMITH) == []
    # And run again, it finishes: nothing is sent twice, every row succeeds
    run = run_users(users, fake, one_at_a_time, dry_run=False, journal=journal, retry_later=True)
    assert [o.status for r in run.results for o in r.outcomes] == [Status.SUCCEEDED] * 3
    assert [(w.user_id, w.applied) for w in fake.writes] == [
        (JDOE, True),
        (ASMITH, False),
        (ASMITH, True),
        ("u-3", True),
    ]


def test_without_a_later_attempt_a_busy_connect_fails_the_rows_and_the_run_goes_on() -> None:
    fake = connect()
    fake.inject(ASSOCIATE, nth=1)
    users = plan_of(fake, "jdoe,username,add,tier,Tier1,2", "asmith,username,add,tier,Tier1,2")
    run = run_users(users, fake, EngineSettings(workers=1), dry_run=False, retry_later=False)
    assert [(o.status, o.message) for r in run.results for o in r.outcomes] == [
        (Status.FAILED, "AssociateUserProficiencies failed: InternalServiceException: injected fault"),
        (Status.SUCCEEDED, "added at level 2"),
    ]
    assert run.denied is None


def test_a_network_failure_reading_a_user_is_busy_with_a_later_attempt_and_fails_the_rows_without() -> None:
    fake = connect()
    fake.inject(LIST_PROFICIENCIES, ConnectUnreachable("ListUserProficiencies: connection reset"))
    users = plan_of(fake, "jdoe,username,add,tier,Tier1,2")
    with pytest.raises(ConnectBusy, match="connection reset"):
        run_users(users, fake, SETTINGS, dry_run=False, retry_later=True)
    fake.inject(LIST_PROFICIENCIES, ConnectUnreachable("ListUserProficiencies: connection reset"), nth=2)
    run = run_users(users, fake, SETTINGS, dry_run=False, retry_later=False)
    [result] = run.results
    assert [(o.status, o.message) for o in result.outcomes] == [
        (Status.FAILED, "ListUserProficiencies: connection reset")
    ]
    assert not result.read
    assert fake.writes == []


def test_an_error_that_will_not_pass_fails_the_rows_even_with_a_later_attempt() -> None:
    fake = connect()
    fake.inject(ASSOCIATE, ConnectCallError(ASSOCIATE, "InvalidRequestException", "refused"))
    users = plan_of(fake, "jdoe,username,add,tier,Tier1,2")
    run = run_users(users, fake, SETTINGS, dry_run=False, retry_later=True)
    assert [(o.status, o.message) for o in run.results[0].outcomes] == [
        (Status.FAILED, "AssociateUserProficiencies failed: InvalidRequestException: refused")
    ]


def test_run_job_has_no_later_attempt_so_a_busy_connect_fails_rows_into_retry() -> None:
    fake = connect()
    fake.inject(UPDATE)
    result = apply(fake, "jdoe,username,update,language,English,5")
    assert [o.row.line for o in result.retry] == [2]
    assert fake.held(JDOE) == {("language", "English"): 3}


# --- interrupted ----------------------------------------------------------------------------------------


def test_an_interrupt_before_a_user_starts_sends_nothing_and_fails_its_rows_as_not_applied() -> None:
    fake = connect()
    interrupt = threading.Event()
    interrupt.set()
    result = run_job(
        csv_file("jdoe,username,add,tier,Tier1,2", "asmith,username,add,tier,Tier1,2"),
        fake,
        SETTINGS,
        dry_run=False,
        interrupt=interrupt,
    )
    assert by_line(result) == {
        2: (Status.FAILED, "not applied: interrupted"),
        3: (Status.FAILED, "not applied: interrupted"),
    }
    assert fake.calls[LIST_PROFICIENCIES] == 0
    assert fake.writes == []
    assert [o.row.line for o in result.retry] == [2, 3]


def test_stopping_during_a_write_sends_no_more_but_still_settles_the_call_in_flight() -> None:
    # Given the job told to stop while jdoe's Disassociate is out, its response lost
    stopping = threading.Event()
    fake = connect(stopping=stopping)
    fake.inject(DISASSOCIATE, applied=True, stop=True)
    users = plan_of(
        fake,
        "jdoe,username,remove,language,English,",
        "jdoe,username,add,tier,Tier1,2",
        "asmith,username,add,tier,Tier1,2",
    )
    run = run_users(users, fake, EngineSettings(workers=1), dry_run=False, interrupt=stopping)
    jdoe, asmith = run.results
    # Then the settling read went out although stopping, and confirmed the removal
    assert fake.settling_reads == [JDOE]
    assert [(o.status, o.message) for o in jdoe.outcomes] == [
        (
            Status.SUCCEEDED,
            "removed (was level 3) (confirmed by reading the user again after: "
            "DisassociateUserProficiencies failed: InternalServiceException: injected fault)",
        ),
        (Status.FAILED, "not applied: interrupted"),
    ]
    assert jdoe.undo == [(JDOE, "user_id", "add", "language", "English", "3")]
    # And no other call went out: jdoe's Associate was not sent, asmith was not started
    assert [w.operation for w in fake.writes] == [DISASSOCIATE]
    assert [(o.status, o.message) for o in asmith.outcomes] == [(Status.FAILED, "not applied: interrupted")]
    assert not asmith.read
    assert fake.cancelled == []


def test_a_call_cancelled_before_it_is_sent_is_not_applied_and_the_settling_read_still_goes_out() -> None:
    # Given the pacer cancelled (the job stopping) as jdoe's Disassociate fails, not applied
    stopping = threading.Event()
    fake = connect(stopping=stopping)
    fake.inject(DISASSOCIATE, stop=True)
    users = plan_of(fake, "jdoe,username,remove,language,English,", "jdoe,username,add,tier,Tier1,2")
    [result] = run_users(users, fake, SETTINGS, dry_run=False, retry_later=False).results
    # Then the Associate waiting for its token was cancelled, never sent
    assert fake.cancelled == [ASSOCIATE]
    assert [w.operation for w in fake.writes] == [DISASSOCIATE]
    # And the re-read settled the failed Disassociate as not applied
    assert fake.settling_reads == [JDOE]
    assert [(o.status, o.message) for o in result.outcomes] == [
        (Status.FAILED, "DisassociateUserProficiencies failed: InternalServiceException: injected fault"),
        (Status.FAILED, "not applied: interrupted"),
    ]
    assert result.undo == []
    assert fake.held(JDOE) == {("language", "English"): 3}


def test_a_user_whose_first_read_is_cancelled_is_not_reached() -> None:
    stopping = threading.Event()
    fake = connect(stopping=stopping)
    users = plan_of(fake, "jdoe,username,add,tier,Tier1,2")
    stopping.set()
    [result] = run_users(users, fake, SETTINGS, dry_run=False).results
    assert [(o.status, o.message) for o in result.outcomes] == [(Status.FAILED, "not applied: interrupted")]
    assert not result.read
    assert fake.cancelled == [LIST_PROFICIENCIES]


# --- a refused permission stops the run -----------------------------------------------------------------


def test_a_refused_permission_stops_the_run_and_is_returned_in_denied() -> None:
    # Given three users, and IAM refusing the second user's Associate
    fake = connect()
    fake.add_user("u-3", "third")
    denied = permission_denied(ASSOCIATE)
    fake.inject(ASSOCIATE, denied, nth=2)
    result = run_job(
        csv_file(
            "jdoe,username,add,tier,Tier1,2",
            "asmith,username,add,tier,Tier1,2",
            "third,username,add,tier,Tier1,2",
        ),
        fake,
        EngineSettings(workers=1),
        dry_run=False,
    )
    # Then the refusal is the result's, naming the action and resource from AWS's message
    assert result.denied is denied
    assert denied.action == "connect:AssociateUserProficiencies"
    assert denied.resource == f"arn:aws:connect:us-east-1:123456789012:instance/{fake.instance_id}"
    # And what ran before stays done, the refused row says why, and the rest were not reached
    lines = by_line(result)
    assert lines[2] == (Status.SUCCEEDED, "added at level 2")
    assert lines[3] == (Status.FAILED, str(denied))
    assert lines[4] == (Status.FAILED, f"not applied: the job stopped because {denied}")
    assert fake.held("u-3") == {}
    assert fake.calls[LIST_PROFICIENCIES] == 2
    # The refused call was never settled by a re-read: IAM refuses before the call runs
    assert fake.settling_reads == []
    assert result.rollback == [(JDOE, "user_id", "remove", "tier", "Tier1", "")]
    assert sorted(b[0] for b in result.backup) == [ASMITH, JDOE]


def test_a_refused_read_stops_the_run_before_anything_is_written() -> None:
    fake = connect()
    denied = permission_denied(LIST_PROFICIENCIES)
    fake.inject(LIST_PROFICIENCIES, denied)
    users = plan_of(fake, "jdoe,username,add,tier,Tier1,2", "asmith,username,add,tier,Tier1,2")
    run = run_users(users, fake, EngineSettings(workers=1), dry_run=False)
    assert run.denied is denied
    assert [(o.status, o.message) for r in run.results for o in r.outcomes] == [
        (Status.FAILED, f"not applied: the job stopped because {denied}")
    ] * 2
    assert fake.writes == []


# --- found by these tests, fixed -------------------------------------------------------------------


def test_a_refused_settling_read_still_reports_and_undoes_the_writes_that_went_through() -> None:
    fake = connect()
    fake.inject(ASSOCIATE)  # a 500, not applied: the user is read again
    fake.inject(LIST_PROFICIENCIES, permission_denied(LIST_PROFICIENCIES), nth=2)
    result = apply(fake, "jdoe,username,remove,language,English,", "jdoe,username,add,tier,Tier1,2")
    assert fake.held(JDOE) == {}  # the Disassociate went through
    assert by_line(result)[2][0] is Status.SUCCEEDED
    assert result.rollback == [(JDOE, "user_id", "add", "language", "English", "3")]


def test_a_sync_jobs_retry_dropped_into_sync_keeps_what_the_job_did_set() -> None:
    fake = connect()
    fake.inject(ASSOCIATE, ConnectCallError(ASSOCIATE, "InvalidRequestException", "refused"))
    result = sync(fake, "jdoe,username,set,language,English,4", "jdoe,username,set,tier,Tier1,2")
    assert fake.held(JDOE) == {("language", "English"): 4}
    # The user's whole desired set, not only the failed row: it is dropped into sync/ again
    assert [o.row.line for o in result.retry] == [2, 3]
    # retry.csv exactly as the job wrote it, fixed or not, is what a person drops again
    run_job(
        render_files(result, file_name="changes.csv", instance_id="inst-1")["retry.csv"],
        fake,
        SETTINGS,
        dry_run=False,
        sync=True,
    )
    assert fake.held(JDOE) == {("language", "English"): 4, ("tier", "Tier1"): 2}


# --- confirmation before the first write (the CLI on a terminal) -----------------------------------


def test_confirm_is_asked_once_after_resolving_and_reading_before_any_write() -> None:
    # Given two users to change and one row that fails its lookup
    fake = connect()
    asked: list[tuple[Preview, int]] = []

    def confirm(preview: Preview) -> bool:
        asked.append((preview, len(fake.writes)))
        return True

    rows = (
        "jdoe,username,add,tier,Tier1,2",
        "asmith,username,add,region,EMEA,1",
        "ghost,username,add,tier,Tier1,2",
    )
    # When the job is applied with a confirmation
    result = run_job(csv_file(*rows), fake, SETTINGS, dry_run=False, confirm=confirm)
    # Then it was asked once, with what would change, when nothing had been written yet
    assert asked == [(Preview(rows=3, changes=2, users=2, failed=1), 0)]
    # And, confirmed, the job applied as it would without the question
    assert fake.held(JDOE)[("tier", "Tier1")] == 2
    assert [o.status for o in result.outcomes] == [Status.SUCCEEDED, Status.SUCCEEDED, Status.FAILED]


def test_declining_writes_nothing() -> None:
    fake = connect()
    with pytest.raises(NotConfirmed) as declined:
        run_job(
            csv_file("jdoe,username,add,tier,Tier1,2"), fake, SETTINGS, dry_run=False, confirm=lambda _: False
        )
    assert declined.value.preview.changes == 1
    assert fake.writes == []
    assert fake.held(JDOE) == {("language", "English"): 3}


@pytest.mark.parametrize(
    ("rows", "dry_run"),
    [(("jdoe,username,add,language,English,3",), False), (("jdoe,username,add,tier,Tier1,2",), True)],
    ids=["nothing-to-write", "dry-run"],
)
def test_no_question_when_nothing_would_be_written(rows: tuple[str, ...], dry_run: bool) -> None:
    fake = connect()
    asked: list[Preview] = []

    def confirm(preview: Preview) -> bool:
        asked.append(preview)
        return True

    run_job(csv_file(*rows), fake, SETTINGS, dry_run=dry_run, confirm=confirm)
    assert asked == []
    assert fake.writes == []


def _recording(asked: list[Preview]) -> Callable[[Preview], bool]:
    """A confirmation that notes each question and says yes."""

    def confirm(preview: Preview) -> bool:
        asked.append(preview)
        return True

    return confirm


def test_a_permission_refused_while_reading_asks_nothing_and_the_run_reports_it() -> None:
    # Given two users, the read of one of which the role may not make (IAM refuses it every time:
    # the real run meets it too), while the other would change
    fake = connect()
    for nth in (2, 3, 4):
        fake.inject(LIST_PROFICIENCIES, permission_denied(LIST_PROFICIENCIES), nth=nth)
    asked: list[Preview] = []
    # When the job is applied with a confirmation
    rows = ("jdoe,username,add,tier,Tier1,2", "asmith,username,add,region,EMEA,1")
    result = run_job(csv_file(*rows), fake, SETTINGS, dry_run=False, confirm=_recording(asked))
    # Then nothing was asked (there is nothing honest to ask about), and the run met the refusal
    assert asked == []
    assert fake.writes == []
    assert result.denied is not None


def test_ctrl_c_while_reading_for_the_question_asks_nothing_and_writes_nothing() -> None:
    fake = connect()
    stop = threading.Event()
    stop.set()
    asked: list[Preview] = []
    result = run_job(
        csv_file("jdoe,username,add,tier,Tier1,2"),
        fake,
        SETTINGS,
        dry_run=False,
        confirm=_recording(asked),
        interrupt=stop,
    )
    assert asked == []
    assert fake.writes == []
    assert [o.message for o in result.outcomes] == ["not applied: interrupted"]


def test_reading_for_the_question_shows_progress_and_a_busy_read_fails_its_rows_not_the_question() -> None:
    # Given two users, one of whose reads stays failing past every retry
    fake = connect()
    fake.inject(LIST_PROFICIENCIES, ConnectCallError(LIST_PROFICIENCIES, "ThrottlingException", "slow"))
    seen: list[tuple[int, int]] = []
    asked: list[Preview] = []

    def confirm(preview: Preview) -> bool:
        asked.append(preview)
        return True

    run_job(
        csv_file("jdoe,username,add,tier,Tier1,2", "asmith,username,add,region,EMEA,1"),
        fake,
        SETTINGS,
        dry_run=False,
        confirm=confirm,
        progress=lambda done, total: seen.append((done, total)),
    )
    # Then the question came, counting the user whose read failed as a failed row
    [preview] = asked
    assert (preview.changes, preview.users, preview.failed) == (1, 1, 1)
    # And progress was reported while reading, before the question, as well as while applying
    assert seen.count((2, 2)) == 2
