"""Group rows through `connect-profiles` against the Connect emulator over loopback HTTP: what
they change, what the files say, and the calls they cost."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from connect_emulator import Behaviour, generate_seed, instance_from_seed
from tests.conftest import EmulatorFactory, RunningEmulator
from tests.integration import test_cli
from tests.integration.test_cli import _cli, _read_csv, _snapshot, _write_csv

run_cli = test_cli.run_cli  # the same fixture

FAST = ("--rate", "500", "--burst", "50")  # this counts calls; the benchmark measures time


def _users(running: RunningEmulator, *names: str) -> dict[str, str]:
    return {u.username: u.id for u in running.instance.users.values() if u.username in names}


def test_a_routing_profile_row_applies_to_its_members_among_their_own_rows(
    emulator: RunningEmulator, run_cli: object, tmp_path: Path
) -> None:
    # Given the sample's Sales routing profile (five agents; wsilva holds tier Tier2 at 4)
    ids = _users(emulator, "qrossi", "brossi", "gfischer", "qito", "wsilva")
    changes = _write_csv(
        tmp_path / "team.csv",
        [
            ("qito", "username", "add", "tier", "Tier2", "1"),  # before the group row: qito is already so
            ("sales", "routing_profile", "add", "tier", "Tier2", "3"),  # case-insensitive match
            ("qrossi", "username", "update", "tier", "Tier2", "5"),  # after it: sees level 3
        ],
    )
    out = tmp_path / "out"
    # When it is applied
    assert _cli(run_cli, emulator, "apply", str(changes), "--out", str(out), *FAST) == 0
    # Then each member folded the group row in file order
    after = _snapshot(emulator)
    assert after[ids["qito"]] == {("tier", "Tier2"): 1.0}
    assert after[ids["qrossi"]] == {("tier", "Tier2"): 5.0}
    assert after[ids["brossi"]] == {("tier", "Tier2"): 3.0}
    assert after[ids["wsilva"]][("tier", "Tier2")] == 4.0
    report = _read_csv(out / "report.csv")
    assert [(r["line"], r["status"], r["message"]) for r in report][1] == (
        "3",
        "succeeded",
        "5 users: 3 changed, 2 already so, 0 failed; routing profile matched 'Sales' ignoring case",
    )
    assert report[1]["user_id"] == ""
    # And changes.csv has one row per member change, with the group row's line
    changed = [(r["username"], r["line"], r["level_after"]) for r in _read_csv(out / "changes.csv")]
    assert sorted(changed) == [
        ("brossi", "3", "3"),
        ("gfischer", "3", "3"),
        ("qito", "2", "1"),
        ("qrossi", "4", "5"),
    ]
    # And the rollback undoes it exactly
    rollback = tmp_path / "undo"
    assert _cli(run_cli, emulator, "apply", str(out / "rollback.csv"), "--out", str(rollback), *FAST) == 0
    assert all(("tier", "Tier2") not in _snapshot(emulator)[ids[n]] for n in ("qito", "qrossi", "brossi"))


def test_a_dry_run_of_a_hierarchy_row_says_how_many_users_it_reaches(
    emulator: RunningEmulator, run_cli: object, tmp_path: Path
) -> None:
    before = _snapshot(emulator)
    changes = _write_csv(tmp_path / "plan.csv", [("EMEA", "hierarchy_group", "add", "skill", "Sales", "2")])
    assert _cli(run_cli, emulator, "plan", str(changes), "--out", str(tmp_path / "out"), *FAST) == 0
    report = _read_csv(tmp_path / "out" / "report.csv")
    # EMEA holds three agents itself and five in UK beneath it: WITH_CHILD_GROUPS reaches all eight
    assert (report[0]["status"], report[0]["message"]) == (
        "planned",
        "8 users: 8 would change, 0 already so, 0 failed",
    )
    assert _snapshot(emulator) == before


def test_the_guard_rail_stops_a_group_over_the_limit_before_any_write(
    emulator: RunningEmulator, run_cli: object, tmp_path: Path
) -> None:
    changes = _write_csv(tmp_path / "all.csv", [("*", "all", "add", "tier", "Tier1", "1")])
    out = tmp_path / "out"
    status = _cli(
        run_cli, emulator, "apply", str(changes), "--out", str(out), "--max-group-users", "10", *FAST
    )
    assert status == 1
    report = _read_csv(out / "report.csv")
    assert report[0]["status"] == "failed"
    assert report[0]["message"].startswith(
        "every user reaches 50 users, over the limit of 10 users per group row"
    )
    assert emulator.service.stats().writes == []
    assert emulator.service.stats().calls["ListUserProficiencies"] == 0


def test_a_group_row_in_a_sync_file_is_refused(
    emulator: RunningEmulator, run_cli: object, tmp_path: Path
) -> None:
    desired = _write_csv(
        tmp_path / "desired.csv", [("Sales", "routing_profile", "set", "tier", "Tier1", "1")]
    )
    out = tmp_path / "out"
    assert _cli(run_cli, emulator, "apply", "--sync", str(desired), "--out", str(out), *FAST) == 1
    assert "sync rows name users" in _read_csv(out / "report.csv")[0]["message"]
    assert emulator.service.stats().writes == []


def test_group_rows_cost_one_list_per_kind_and_search_pages_per_group(
    start_emulator: EmulatorFactory, run_cli: object, tmp_path: Path
) -> None:
    # Given 1,200 users: 1,100 in one routing profile (three SearchUsers pages of 500), 100 in
    # another, and pages capped at 500 so the lists are paged too
    seed = generate_seed(users=1200, seed=3, max_initial=2)
    seed["routing_profiles"] = [{"id": "rp-big", "name": "Big"}, {"id": "rp-small", "name": "Small"}]
    seed["security_profiles"] = [{"id": f"sp-{n}", "name": f"Profile {n}"} for n in range(600)]
    for index, user in enumerate(seed["users"]):
        user["routing_profile_id"] = "rp-big" if index < 1100 else "rp-small"
        user["security_profile_ids"] = ["sp-7"] if index % 100 == 0 else []
    running = start_emulator(instance=instance_from_seed(seed, behaviour=Behaviour(page_cap=500)))
    changes = _write_csv(
        tmp_path / "groups.csv",
        [
            ("Big", "routing_profile", "add", "tier", "Tier3", "2"),
            ("rp-small", "routing_profile", "add", "tier", "Tier3", "2"),
            ("Profile 7", "security_profile", "remove", "tier", "Tier3", ""),
        ],
    )
    _cli(
        run_cli,
        running,
        "apply",
        str(changes),
        "--out",
        str(tmp_path / "out"),
        "--max-group-users",
        "2000",
        *FAST,
    )
    calls = running.service.stats().calls
    writes = running.service.stats().writes
    # Then one list call per kind used, paged (3 routing profiles: 1 page; 601 security profiles: 2)
    assert calls["ListRoutingProfiles"] == 1
    assert calls["ListSecurityProfiles"] == 2
    assert calls["ListUserHierarchyGroups"] == 0
    # And SearchUsers: the size probe, then 3 + 1 + 1 pages for the three groups
    assert calls["SearchUsers"] == 1 + 3 + 1 + 1
    assert calls["ListUsers"] == 0
    # And each member costs one read and at most one call per write API
    assert calls["ListUserProficiencies"] == 1200
    assert max(Counter((w.user_id, w.operation) for w in writes).values()) == 1
    assert calls["DescribeInstance"] == 1  # the CLI names the instance before the job
    assert sum(calls.values()) == 1 + 1 + 2 + 6 + 1200 + calls["DescribePredefinedAttribute"] + len(writes)
    assert calls["DescribePredefinedAttribute"] == 1
