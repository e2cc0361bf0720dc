"""Row semantics (DESIGN.md section 2): each row folded over the user's current proficiencies."""

from __future__ import annotations

import pytest

from connect_profiles.domain.csv_input import check_row
from connect_profiles.domain.model import Change, CsvRow, Proficiency, Status
from connect_profiles.domain.planning import fold

USER = "user-1"


def _change(
    line: int, action: str, attribute: str = "language", value: str = "English", level: str = ""
) -> Change:
    checked = check_row(CsvRow(line, "jdoe", "username", action, attribute, value, level))
    assert isinstance(checked, Change), checked
    return checked


def _held(*entries: tuple[str, str, int]) -> list[Proficiency]:
    return [Proficiency(*entry) for entry in entries]


ENGLISH_3 = ("language", "English", 3)


@pytest.mark.parametrize(
    ("held", "action", "level", "status", "message", "calls"),
    [
        ([], "add", "3", Status.SUCCEEDED, "added at level 3", ("associate",)),
        ([ENGLISH_3], "add", "3", Status.SKIPPED, "already at level 3", ()),
        ([ENGLISH_3], "add", "4", Status.SKIPPED, "already at level 3; use update", ()),
        ([ENGLISH_3], "update", "5", Status.SUCCEEDED, "updated from level 3 to 5", ("update",)),
        ([ENGLISH_3], "update", "3", Status.SKIPPED, "already at level 3", ()),
        ([], "update", "3", Status.FAILED, "not assigned; use add", ()),
        ([ENGLISH_3], "remove", "", Status.SUCCEEDED, "removed (was level 3)", ("disassociate",)),
        ([], "remove", "", Status.SKIPPED, "not assigned", ()),
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
    ],
)
def test_every_line_of_the_semantics_table(
    held: list[tuple[str, str, int]],
    action: str,
    level: str,
    status: Status,
    message: str,
    calls: tuple[str, ...],
) -> None:
    # Given a user holding `held`, When one row is folded over it
    plan = fold(USER, _held(*held), [_change(2, action, level=level)], max_proficiencies=10)
    # Then the row's outcome and the calls needed are exactly those of the table
    [outcome] = plan.outcomes
    assert (outcome.status, outcome.message, outcome.user_id) == (status, message, USER)
    writes = plan.writes_from(plan.before)
    needed = tuple(
        name
        for name, items in (
            ("associate", writes.associate),
            ("update", writes.update),
            ("disassociate", writes.disassociate),
        )
        if items
    )
    assert needed == calls


def test_each_row_sees_the_state_the_rows_before_it_leave() -> None:
    # Given a user at the limit of 2
    held = _held(("language", "English", 3), ("tier", "Tier1", 1))
    changes = [
        _change(2, "add", "region", "EMEA", "2"),  # over the limit: fails
        _change(3, "remove", "tier", "Tier1"),  # frees a slot
        _change(4, "add", "region", "EMEA", "2"),  # takes it
        _change(5, "update", "region", "EMEA", "4"),  # sees the add of line 4
        _change(6, "add", "language", "English", "3"),  # still held
    ]
    plan = fold(USER, held, changes, max_proficiencies=2)
    assert [(o.row.line, o.status, o.message) for o in plan.outcomes] == [
        (2, Status.FAILED, "would exceed the limit of 2 proficiencies per agent (the user holds 2)"),
        (3, Status.SUCCEEDED, "removed (was level 1)"),
        (4, Status.SUCCEEDED, "added at level 2"),
        (5, Status.SUCCEEDED, "updated from level 2 to 4"),
        (6, Status.SKIPPED, "already at level 3"),
    ]
    # And the rows fold into one call per write API, with the net levels
    writes = plan.writes_from(plan.before)
    assert writes.disassociate == [("tier", "Tier1")]
    assert writes.associate == [Proficiency("region", "EMEA", 4)]
    assert writes.update == []
    assert plan.carried == {("tier", "Tier1"): [1], ("region", "EMEA"): [2, 3]}


def test_many_rows_for_one_user_fold_into_at_most_one_call_per_write_api() -> None:
    held = _held(("language", "English", 1), ("language", "Spanish", 1), ("tier", "Tier1", 1))
    changes = [
        _change(2, "update", "language", "English", "2"),
        _change(3, "update", "language", "Spanish", "5"),
        _change(4, "remove", "tier", "Tier1"),
        _change(5, "add", "tier", "Tier2", "3"),
        _change(6, "add", "region", "NA", "1"),
        _change(7, "add", "product", "TV", "4"),
    ]
    plan = fold(USER, held, changes, max_proficiencies=10)
    assert all(outcome.status is Status.SUCCEEDED for outcome in plan.outcomes)
    writes = plan.writes_from(plan.before)
    assert writes.update == [Proficiency("language", "English", 2), Proficiency("language", "Spanish", 5)]
    assert writes.disassociate == [("tier", "Tier1")]
    assert writes.associate == [
        Proficiency("tier", "Tier2", 3),
        Proficiency("region", "NA", 1),
        Proficiency("product", "TV", 4),
    ]


def test_rows_that_cancel_out_need_no_call() -> None:
    # Given an add then a remove of the same proficiency, and a remove then a re-add at the same level
    held = _held(ENGLISH_3)
    changes = [
        _change(2, "add", "tier", "Tier1", "2"),
        _change(3, "remove", "tier", "Tier1"),
        _change(4, "remove", "language", "English"),
        _change(5, "add", "language", "English", "3"),
    ]
    plan = fold(USER, held, changes, max_proficiencies=10)
    # Then every row is true, and nothing needs sending
    assert [o.status for o in plan.outcomes] == [Status.SUCCEEDED] * 4
    assert not plan.has_writes
    assert plan.carried == {}


def test_notes_from_resolution_are_added_to_the_message() -> None:
    plan = fold(
        USER,
        [],
        [_change(7, "add", level="2")],
        max_proficiencies=10,
        notes={7: "username matched 'JDoe' ignoring case"},
    )
    assert plan.outcomes[0].message == "added at level 2; username matched 'JDoe' ignoring case"
