"""`connect-profiles` against the Connect emulator over loopback HTTP."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from connect_emulator import (
    Behaviour,
    Faults,
    OnAssociateExisting,
    OnDisassociateMissing,
    Outage,
    Quota,
    generate_seed,
    instance_from_seed,
)
from connect_profiles.adapters.connect import ConnectGateway, pace_client
from connect_profiles.adapters.pacing import Pacer, Rate
from connect_profiles.domain.model import INPUT_COLUMNS, REPORT_COLUMNS
from connect_profiles.entrypoints.cli import main
from local_stand_ins import LocalAws
from tests.conftest import EmulatorFactory, RunningEmulator

Snapshot = dict[str, dict[tuple[str, str], float]]


def _snapshot(running: RunningEmulator) -> Snapshot:
    return {uid: dict(user.proficiencies) for uid, user in running.instance.users.items()}


def _write_csv(path: Path, rows: Sequence[Sequence[str]], header: Sequence[str] = INPUT_COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch) -> object:
    def run(running: RunningEmulator, *args: str) -> int:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CONNECT", running.endpoint_url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_SERVICE_QUOTAS", running.endpoint_url)
        return main([*args, "--instance-id", running.instance.id])

    return run


def _cli(run_cli: object, running: RunningEmulator, *args: str) -> int:
    assert callable(run_cli)
    return int(run_cli(running, *args))


@pytest.fixture(
    params=[
        (OnAssociateExisting.REJECT, OnDisassociateMissing.REJECT),
        (OnAssociateExisting.REJECT, OnDisassociateMissing.IGNORE),
        (OnAssociateExisting.OVERWRITE, OnDisassociateMissing.REJECT),
        (OnAssociateExisting.OVERWRITE, OnDisassociateMissing.IGNORE),
    ],
    ids=lambda modes: f"associate-{modes[0]}-disassociate-{modes[1]}",
)
def any_mode(request: pytest.FixtureRequest, start_emulator: EmulatorFactory) -> RunningEmulator:
    """The sample instance under each reading of Connect's undocumented write behaviour."""
    associate, disassociate = request.param
    return start_emulator(
        behaviour=Behaviour(on_associate_existing=associate, on_disassociate_missing=disassociate)
    )


class TestApply:
    def test_applies_rolls_back_exactly_and_retries_only_failures(
        self, any_mode: RunningEmulator, run_cli: object, tmp_path: Path
    ) -> None:
        emulator = any_mode
        # Given the sample instance and a file of adds, updates, removes and a few bad rows
        instance = emulator.instance
        jdoe = next(u for u in instance.users.values() if u.username == "jdoe")
        jdoe.proficiencies = {("language", "English"): 2.0, ("tier", "Tier1"): 1.0}
        original = _snapshot(emulator)
        changes = _write_csv(
            tmp_path / "changes.csv",
            [
                ("jdoe", "username", "add", "language", "French", "4"),
                ("jdoe", "username", "update", "language", "English", "5"),
                ("jdoe", "username", "remove", "tier", "Tier1", ""),
                (jdoe.id, "user_id", "add", "region", "EMEA", "3.0"),
                ("Maria.Garcia", "username", "add", "skill", "Sales", "2"),
                ("ghost", "username", "add", "tier", "Tier1", "1"),
                ("jdoe", "username", "add", "tier", "Tier2", "6"),
                ("jdoe", "username", "add", "language", "Klingon", "1"),
            ],
        )
        out = tmp_path / "out"
        # When it is applied
        status = _cli(run_cli, emulator, "apply", str(changes), "--out", str(out))
        # Then Connect holds exactly the intended state, and the exit status says rows failed
        assert status == 1
        after = _snapshot(emulator)
        assert after[jdoe.id] == {
            ("language", "English"): 5.0,
            ("language", "French"): 4.0,
            ("region", "EMEA"): 3.0,
        }
        report = _read_csv(out / "report.csv")
        assert list(report[0]) == list(REPORT_COLUMNS)
        assert [(r["line"], r["status"]) for r in report] == [
            ("2", "succeeded"),
            ("3", "succeeded"),
            ("4", "succeeded"),
            ("5", "succeeded"),
            ("6", "succeeded"),
            ("7", "failed"),
            ("8", "failed"),
            ("9", "failed"),
        ]
        assert all(r["user_id"] == jdoe.id for r in report[:4])
        # And retry.csv holds exactly the failed rows, in input format
        retry = _read_csv(out / "retry.csv")
        assert [tuple(r[c] for c in INPUT_COLUMNS) for r in retry] == [
            ("ghost", "username", "add", "tier", "Tier1", "1"),
            ("jdoe", "username", "add", "tier", "Tier2", "6"),
            ("jdoe", "username", "add", "language", "Klingon", "1"),
        ]
        # With why each failed, after the input columns
        assert list(retry[0]) == [*INPUT_COLUMNS, "message"]
        assert retry[0]["message"].startswith("no user with username 'ghost'")
        # And backup.csv has every touched user's proficiencies before the job
        backup = {
            (r["identifier"], r["attribute"], r["value"], r["level"]) for r in _read_csv(out / "backup.csv")
        }
        assert (jdoe.id, "language", "English", "2") in backup
        assert (jdoe.id, "tier", "Tier1", "1") in backup
        # When rollback.csv is applied
        assert (
            _cli(run_cli, emulator, "apply", str(out / "rollback.csv"), "--out", str(tmp_path / "undo")) == 0
        )
        # Then the instance is exactly as it was
        assert _snapshot(emulator) == original

    def test_a_clean_file_exits_0_and_a_second_run_changes_nothing(
        self, any_mode: RunningEmulator, run_cli: object, tmp_path: Path
    ) -> None:
        emulator = any_mode
        changes = _write_csv(tmp_path / "clean.csv", [("jdoe", "username", "add", "product", "TV", "3")])
        assert _cli(run_cli, emulator, "apply", str(changes), "--out", str(tmp_path / "a")) == 0
        writes = len(emulator.service.stats().writes)
        assert _cli(run_cli, emulator, "apply", str(changes), "--out", str(tmp_path / "b")) == 0
        assert len(emulator.service.stats().writes) == writes
        assert _read_csv(tmp_path / "b" / "report.csv")[0]["message"] == "already at level 3"

    def test_a_failed_call_fails_only_the_rows_it_carried(
        self, start_emulator: EmulatorFactory, run_cli: object, tmp_path: Path
    ) -> None:
        # Given Connect's real limit is 2 while the command is told 10
        running = start_emulator(behaviour=Behaviour(max_proficiencies_per_agent=2))
        user = running.instance.add_user("busy.agent")
        running.instance.set_proficiency(user.id, "tier", "Tier1", 1)
        changes = _write_csv(
            tmp_path / "busy.csv",
            [
                ("busy.agent", "username", "add", "language", "English", "2"),
                ("busy.agent", "username", "add", "language", "Spanish", "2"),
                ("busy.agent", "username", "update", "tier", "Tier1", "4"),
            ],
        )
        assert _cli(run_cli, running, "apply", str(changes), "--out", str(tmp_path / "out")) == 1
        report = _read_csv(tmp_path / "out" / "report.csv")
        # Then the Associate's two rows fail with the API's error, the Update's row succeeds
        assert [r["status"] for r in report] == ["failed", "failed", "succeeded"]
        assert report[0]["message"].startswith("AssociateUserProficiencies failed: InvalidRequestException: ")
        assert "at most 2 proficiencies" in report[0]["message"]
        assert running.instance.users[user.id].proficiencies == {("tier", "Tier1"): 4.0}
        rollback = _read_csv(tmp_path / "out" / "rollback.csv")
        assert [(r["action"], r["attribute"], r["level"]) for r in rollback] == [("update", "tier", "1")]

    @pytest.mark.parametrize("client_rate", ["2", "8"], ids=["paced-at-quota", "paced-too-fast"])
    def test_no_row_fails_for_throttling_or_transient_errors_at_connect_quotas(
        self, start_emulator: EmulatorFactory, run_cli: object, tmp_path: Path, client_rate: str
    ) -> None:
        # Given Connect's 2/s burst-5 buckets on every API, and 10% of requests failing with 500
        running = start_emulator(quota=Quota(rate=2.0, burst=5), faults=Faults(rate=0.1, seed=11))
        users = sorted(running.instance.users.values(), key=lambda u: u.username)[:6]
        rows = []
        for user in users:
            user.proficiencies = {("tier", "Tier1"): 1.0, ("region", "NA"): 2.0}
            rows += [
                (user.username, "username", "add", "product", "Mobile", "3"),
                (user.username, "username", "update", "tier", "Tier1", "5"),
                (user.username, "username", "remove", "region", "NA", ""),
            ]
        changes = _write_csv(tmp_path / "busy.csv", rows)
        # When the file is applied
        args = ("apply", str(changes), "--out", str(tmp_path / "out"), "--rate", client_rate, "--burst", "5")
        status = _cli(run_cli, running, *args)
        # Then every row succeeded although requests failed on the way (and, when the client is told
        # a rate above the quota, were throttled too)
        assert status == 0
        stats = running.service.stats()
        assert sum(stats.faults.values()) > 0
        if client_rate == "8":
            assert sum(stats.throttles.values()) > 0
        assert {r["status"] for r in _read_csv(tmp_path / "out" / "report.csv")} == {"succeeded"}
        for user in users:
            assert user.proficiencies == {("tier", "Tier1"): 5.0, ("product", "Mobile"): 3.0}


class TestCallCounts:
    def test_300_rows_over_60_users_cost_pages_not_rows(
        self, start_emulator: EmulatorFactory, run_cli: object, tmp_path: Path
    ) -> None:
        # Given an instance of 1,500 users, and 300 mixed rows over 60 of them, found by username
        seed = generate_seed(users=1500, seed=21, max_initial=3)
        running = start_emulator(instance=instance_from_seed(seed))
        rng = random.Random(5)
        chosen = rng.sample(seed["users"], 60)
        keys = [(a["name"], v) for a in seed["predefined_attributes"] for v in a["values"]]
        rows = []
        for user in chosen:
            for attribute, value in rng.sample(keys, 5):
                action = rng.choice(["add", "update", "remove"])
                rows.append((user["username"], "username", action, attribute, value, str(rng.randint(1, 5))))
        changes = _write_csv(tmp_path / "mixed.csv", rows)
        # When it is applied
        # (paced far above Connect's 2/s: this test counts calls, the benchmark measures time)
        _cli(
            run_cli,
            running,
            "apply",
            str(changes),
            "--out",
            str(tmp_path / "out"),
            "--rate",
            "500",
            "--burst",
            "50",
        )
        calls = running.service.stats().calls
        writes = running.service.stats().writes
        # Then usernames resolve by two ListUsers pages (plus one SearchUsers probe of the size)
        assert calls["ListUsers"] == 2
        assert calls["SearchUsers"] == 1
        # And each user costs one read and at most one call per write API
        assert calls["ListUserProficiencies"] == 60
        per_user_api = Counter((w.user_id, w.operation) for w in writes)
        assert max(per_user_api.values()) == 1
        assert {w.user_id for w in writes} <= {u["id"] for u in chosen}
        # And each attribute is described once
        assert calls["DescribePredefinedAttribute"] == len({row[3] for row in rows})
        # And the one DescribeInstance that names the instance before the job
        assert calls["DescribeInstance"] == 1
        assert sum(calls.values()) == 1 + 1 + 2 + 60 + calls["DescribePredefinedAttribute"] + len(writes)


class TestPlan:
    def test_plan_changes_nothing_and_says_what_would_change(
        self, emulator: RunningEmulator, run_cli: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        before = _snapshot(emulator)
        changes = _write_csv(
            tmp_path / "dry.csv",
            [
                ("jdoe", "username", "add", "product", "Billing", "2"),
                ("jdoe", "username", "remove", "tier", "X", ""),
            ],
        )
        status = _cli(run_cli, emulator, "plan", str(changes), "--out", str(tmp_path / "out"))
        assert status == 1  # the second row names a value the attribute does not have
        assert _snapshot(emulator) == before
        assert emulator.service.stats().writes == []
        report = _read_csv(tmp_path / "out" / "report.csv")
        assert (report[0]["status"], report[0]["message"]) == ("planned", "would add at level 2")
        printed = capsys.readouterr().out
        assert "DRY RUN" in printed
        assert "would add at level 2" in printed

    def test_plan_writes_no_files_unless_asked_and_lists_none(
        self,
        emulator: RunningEmulator,
        run_cli: object,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        changes = _write_csv(tmp_path / "dry.csv", [("jdoe", "username", "add", "product", "Billing", "2")])
        monkeypatch.chdir(tmp_path)
        assert _cli(run_cli, emulator, "plan", str(changes)) == 0
        assert sorted(p.name for p in tmp_path.iterdir()) == ["dry.csv"]
        printed = capsys.readouterr().out
        assert "Files in" not in printed
        assert "rollback.csv" not in printed

    def test_the_summary_says_how_to_apply_rollback_csv_with_the_cli(
        self,
        emulator: RunningEmulator,
        run_cli: object,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        changes = _write_csv(tmp_path / "c.csv", [("jdoe", "username", "add", "product", "Billing", "2")])
        out = tmp_path / "run-1"
        assert _cli(run_cli, emulator, "apply", str(changes), "--out", str(out)) == 0
        printed = capsys.readouterr().out
        undo = f"connect-profiles apply {out}/rollback.csv --instance-id {emulator.instance.id}"
        assert undo in printed
        assert "incoming/" not in printed
        # And the line does what it says: run as printed (its files land in the working folder), it
        # undoes the job
        before = _snapshot(emulator)
        monkeypatch.chdir(tmp_path)
        assert main(undo.split()[1:]) == 0
        assert _snapshot(emulator) != before
        assert ("product", "Billing") not in _snapshot(emulator)[
            next(u.id for u in emulator.instance.users.values() if u.username == "jdoe")
        ]


class TestExport:
    def test_export_round_trips_as_an_input_file(
        self, emulator: RunningEmulator, run_cli: object, tmp_path: Path
    ) -> None:
        # Given one user who holds nothing
        users = emulator.instance.users.values()
        empty = next(iter(users))
        empty.proficiencies = {}
        exported = tmp_path / "export.csv"
        fast = ("--rate", "500", "--burst", "50")  # this test is about content, not pacing
        assert _cli(run_cli, emulator, "export", "-o", str(exported), *fast) == 0
        # Then every user's proficiencies are set rows by user id, with the username beside them
        rows = _read_csv(exported)
        held = sum(len(user.proficiencies) for user in users)
        assert len(rows) == held + sum(1 for user in users if not user.proficiencies)
        assert list(rows[0]) == [*INPUT_COLUMNS, "username"]
        assert {r["action"] for r in rows} == {"set"}
        assert [r for r in rows if r["identifier"] == empty.id] == [
            {
                **dict.fromkeys(INPUT_COLUMNS, ""),
                "identifier": empty.id,
                "identifier_type": "user_id",
                "action": "set",
                "username": empty.username,
            }
        ]
        # And dropped back unchanged as a sync file, it is all skipped and sends no write
        out = tmp_path / "out"
        assert _cli(run_cli, emulator, "apply", "--sync", str(exported), "--out", str(out), *fast) == 0
        assert {r["status"] for r in _read_csv(out / "report.csv")} == {"skipped"}
        assert emulator.service.stats().writes == []

    def test_apply_sync_sets_whole_sets_and_backup_restores_them(
        self, emulator: RunningEmulator, run_cli: object, tmp_path: Path
    ) -> None:
        # Given jdoe holds three pairs
        jdoe = next(u for u in emulator.instance.users.values() if u.username == "jdoe")
        jdoe.proficiencies = {("language", "English"): 2.0, ("tier", "Tier1"): 1.0, ("region", "NA"): 3.0}
        before = _snapshot(emulator)
        desired = _write_csv(
            tmp_path / "desired.csv",
            [
                ("jdoe", "username", "set", "language", "English", "4"),
                ("jdoe", "username", "set", "skill", "Sales", "2"),
            ],
        )
        # When the desired state is applied
        out = tmp_path / "out"
        assert _cli(run_cli, emulator, "apply", "--sync", str(desired), "--out", str(out)) == 0
        # Then jdoe holds exactly the listed pairs, the removals reported after the data rows
        assert jdoe.proficiencies == {("language", "English"): 4.0, ("skill", "Sales"): 2.0}
        report = _read_csv(out / "report.csv")
        assert [(r["line"], r["action"], r["message"]) for r in report[2:]] == [
            ("", "remove", "not in the desired state"),
            ("", "remove", "not in the desired state"),
        ]
        assert len(_read_csv(out / "changes.csv")) == 4
        job = json.loads((out / "job.json").read_text())
        assert job["mode"] == "apply sync"
        assert job["uploader"].startswith("unknown (")  # no STS here: the job still ran
        # When backup.csv is applied as a sync file, jdoe is back exactly
        assert (
            _cli(run_cli, emulator, "apply", "--sync", str(out / "backup.csv"), "--out", str(tmp_path / "b"))
            == 0
        )
        assert _snapshot(emulator) == before

    def test_job_json_names_the_caller(
        self,
        emulator: RunningEmulator,
        run_cli: object,
        tmp_path: Path,
        local_aws: LocalAws,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # Given STS answers (moto), as for any caller with credentials
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", local_aws.endpoint_url)
        changes = _write_csv(tmp_path / "one.csv", [("jdoe", "username", "add", "product", "TV", "2")])
        assert _cli(run_cli, emulator, "apply", str(changes), "--out", str(tmp_path / "out")) == 0
        job = json.loads((tmp_path / "out" / "job.json").read_text())
        assert job["uploader"].startswith("arn:aws:sts::123456789012:")
        assert job["object"] == {"file": str(changes.resolve())}
        assert job["counts"] == {"succeeded": 1}


class TestUsernames:
    def test_case_insensitive_fallback_and_ambiguity(
        self, emulator: RunningEmulator, run_cli: object, tmp_path: Path
    ) -> None:
        emulator.instance.add_user("Sam.Lee")
        emulator.instance.add_user("sam.LEE")
        changes = _write_csv(
            tmp_path / "names.csv",
            [
                ("maria.garcia", "username", "add", "tier", "Tier3", "2"),
                ("SAM.lee", "username", "add", "tier", "Tier3", "2"),
                ("Sam.Lee", "username", "add", "tier", "Tier3", "2"),
            ],
        )
        assert _cli(run_cli, emulator, "apply", str(changes), "--out", str(tmp_path / "out")) == 1
        report = _read_csv(tmp_path / "out" / "report.csv")
        assert report[0]["status"] == "succeeded"
        assert report[0]["message"].endswith("username matched 'Maria.Garcia' ignoring case")
        assert report[1]["status"] == "failed"
        assert "matches 2 users ignoring case" in report[1]["message"]
        assert report[2]["status"] == "succeeded"


class TestCannotRun:
    def test_rejected_file_exits_2_with_one_line_and_applies_nothing(
        self,
        emulator: RunningEmulator,
        run_cli: object,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        bad = _write_csv(tmp_path / "bad.csv", [("jdoe", "add")], header=("identifier", "action"))
        assert _cli(run_cli, emulator, "apply", str(bad)) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("connect-profiles: file rejected, nothing applied:")
        assert "identifier_type" in err
        assert "\n" not in err
        assert sum(emulator.service.stats().requests.values()) == 0

    def test_unknown_instance_exits_2(
        self,
        emulator: RunningEmulator,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CONNECT", emulator.endpoint_url)
        changes = _write_csv(tmp_path / "c.csv", [("jdoe", "username", "add", "tier", "Tier1", "1")])
        other = "99999999-2222-4333-8444-555555555555"
        assert main(["apply", str(changes), "--instance-id", other]) == 2
        said = capsys.readouterr().err
        assert f"no Amazon Connect instance {other} in Region us-east-1 (ResourceNotFoundException" in said
        assert "--region" in said

    def test_validate_works_offline(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        changes = _write_csv(
            tmp_path / "v.csv",
            [
                ("jdoe", "username", "add", "tier", "Tier1", "2.5"),
                ("jdoe", "username", "add", "tier", "Tier1", "2.5"),
            ],
        )
        assert main(["validate", str(changes)]) == 1
        out = capsys.readouterr().out
        assert "line 2: failed: level must be a whole number from 1 to 5" in out
        assert "line 3: skipped: duplicate of line 2" in out


class RecordingPacer(Pacer):
    def __init__(self) -> None:
        super().__init__(Rate(10_000.0, 10_000))
        self.waited: list[str] = []

    def wait(self, api: str) -> float:
        self.waited.append(api)
        return super().wait(api)


def test_every_attempt_waits_for_its_apis_token_retries_included(start_emulator: EmulatorFactory) -> None:
    # Given an API whose first two requests fail with 500 (counted by request, not by time)
    running = start_emulator(outages=[Outage("ListUserProficiencies", first_calls=2)])
    pacer = RecordingPacer()
    gateway = ConnectGateway(pace_client(running.client(attempts=5), pacer), running.instance.id)
    user_id = next(iter(running.instance.users))
    # When one read goes out and botocore retries it twice
    gateway.list_proficiencies(user_id)
    # Then each retry took a token too, so it never jumps the queue of other callers
    assert pacer.waited == ["ListUserProficiencies"] * 3
    assert gateway.retries == 2


class TestInterrupt:
    def test_ctrl_c_stops_new_calls_writes_the_files_and_exits_130(
        self, start_emulator: EmulatorFactory, tmp_path: Path
    ) -> None:
        # Given 40 users each needing one Associate, applied at 2 writes/s in a separate process
        running = start_emulator()
        users = sorted(running.instance.users.values(), key=lambda u: u.username)[:40]
        for user in users:
            user.proficiencies = {}
        before = _snapshot(running)
        changes = _write_csv(
            tmp_path / "big.csv", [(u.username, "username", "add", "product", "TV", "2") for u in users]
        )
        out = tmp_path / "out"
        command = [sys.executable, "-m", "connect_profiles", "apply", str(changes), "--out", str(out)]
        command += ["--instance-id", running.instance.id, "--rate", "2", "--burst", "1"]
        environment = {**os.environ, "AWS_ENDPOINT_URL_CONNECT": running.endpoint_url}
        process = subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True)
        try:
            # When Ctrl-C is pressed once 5 writes have been applied
            _wait_until(lambda: len(running.service.stats().writes) >= 5, process)
            at_press = len(running.service.request_log())
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=60)
        finally:
            process.kill()
        # Then it exits 130 having sent no new call after the press: a dozen users were waiting for
        # a token then, and at most the one or two calls already on their way went out
        assert process.returncode == 130, stderr
        assert len(running.service.request_log()) <= at_press + 2
        applied = len(running.service.stats().writes)
        assert applied < len(users)
        # And the report says what was done and what was not
        report = _read_csv(out / "report.csv")
        statuses = Counter(row["status"] for row in report)
        assert statuses == {"succeeded": applied, "failed": len(users) - applied}
        assert {r["message"] for r in report if r["status"] == "failed"} == {"not applied: interrupted"}
        assert len(_read_csv(out / "retry.csv")) == len(users) - applied
        # And the rollback undoes exactly what was applied
        rollback = _read_csv(out / "rollback.csv")
        assert len(rollback) == applied
        assert "interrupted" in stderr
        os.environ["AWS_ENDPOINT_URL_CONNECT"] = running.endpoint_url
        try:
            undo = ["apply", str(out / "rollback.csv"), "--out", str(tmp_path / "undo")]
            assert main([*undo, "--instance-id", running.instance.id]) == 0
        finally:
            del os.environ["AWS_ENDPOINT_URL_CONNECT"]
        assert _snapshot(running) == before

    def test_an_unusable_out_folder_is_refused_before_any_call(
        self, emulator: RunningEmulator, run_cli: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        changes = _write_csv(tmp_path / "one.csv", [("jdoe", "username", "add", "product", "TV", "2")])
        taken = tmp_path / "taken"
        taken.write_text("a file, not a folder")
        assert _cli(run_cli, emulator, "apply", str(changes), "--out", str(taken)) == 2
        [line] = capsys.readouterr().err.strip().splitlines()
        assert line == f"connect-profiles: --out {taken} is a file, not a folder: choose another path"
        assert sum(emulator.service.stats().requests.values()) == 0


def _wait_until(condition: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    """Poll until `condition` holds; a bounded number of polls, failing if the process ends first."""
    for _ in range(3000):
        if condition():
            return
        assert process.poll() is None, "the command ended before the condition held"
        time.sleep(0.01)
    raise AssertionError("condition not reached")


class TestAdvice:
    @pytest.mark.parametrize(
        ("given", "said"),
        [
            (
                "arn:aws:connect:us-east-1:123456789012:instance/11111111-2222-4333-8444-555555555555",
                "is an instance ARN: pass only the id after 'instance/' "
                "(11111111-2222-4333-8444-555555555555)",
            ),
            ("my-contact-centre", "is not an instance id: it is the UUID at the end of the instance ARN"),
        ],
    )
    def test_an_instance_id_that_is_not_one_is_refused_before_any_call(
        self,
        emulator: RunningEmulator,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        given: str,
        said: str,
    ) -> None:
        changes = _write_csv(tmp_path / "one.csv", [("jdoe", "username", "add", "product", "TV", "2")])
        with pytest.raises(SystemExit) as exited:
            main(["apply", str(changes), "--instance-id", given])
        assert exited.value.code == 2
        assert said in capsys.readouterr().err
        assert sum(emulator.service.stats().requests.values()) == 0

    def test_version_and_help_say_what_people_need(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit):
            main(["--version"])
        assert capsys.readouterr().out.startswith("connect-profiles ")
        with pytest.raises(SystemExit):
            main(["--help"])
        shown = capsys.readouterr().out
        assert "exit status:" in shown
        assert "130  interrupted" in shown
        assert "apply run-1/rollback.csv" in shown

    def test_apply_dry_run_is_plan(self, emulator: RunningEmulator, run_cli: object, tmp_path: Path) -> None:
        changes = _write_csv(tmp_path / "one.csv", [("jdoe", "username", "add", "product", "TV", "2")])
        assert _cli(run_cli, emulator, "apply", "--dry-run", str(changes), "--out", str(tmp_path / "o")) == 0
        assert emulator.service.stats().writes == []
        assert _read_csv(tmp_path / "o" / "report.csv")[0]["status"] == "planned"
