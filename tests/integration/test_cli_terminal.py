"""`connect-profiles` as a person meets it: the target shown before writing, the question on a real
pseudo-terminal, colour only there (never with NO_COLOR), JSON for scripts, and one line of advice
where AWS would stop it."""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from connect_emulator import AllowActions
from connect_profiles.adapters.identity import resolve_region
from connect_profiles.domain.model import INPUT_COLUMNS
from connect_profiles.entrypoints.aws_target import NO_REGION
from connect_profiles.entrypoints.cli import main
from tests.conftest import EmulatorFactory, RunningEmulator

ANY_ESCAPE = re.compile(rb"\x1b")
STYLING = re.compile(rb"\x1b\[[0-9;]*m")  # SGR: colour, bold and the like
QUESTION = b"[y/N]"


def _changes(folder: Path, *rows: tuple[str, ...]) -> Path:
    path = folder / "changes.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(INPUT_COLUMNS)
        writer.writerows(rows or [("jdoe", "username", "add", "product", "TV", "2")])
    return path


def _environment(running: RunningEmulator, **extra: str) -> dict[str, str]:
    environment = {
        k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE")
    }
    return {
        **environment,
        "AWS_ENDPOINT_URL_CONNECT": running.endpoint_url,
        "TERM": "xterm-256color",
        **extra,
    }


def _command(running: RunningEmulator, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "connect_profiles.entrypoints.cli",
        *args,
        "--instance-id",
        running.instance.id,
    ]


def _on_a_terminal(
    command: list[str], environment: dict[str, str], answer: bytes | None, *, columns: int = 120
) -> tuple[int, bytes]:
    """Run `command` with stdin, stdout and stderr on a pseudo-terminal `columns` wide; type
    `answer` when the question appears. Returns the exit status and everything shown."""
    main_fd, child_fd = os.openpty()
    fcntl.ioctl(child_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    process = subprocess.Popen(command, stdin=child_fd, stdout=child_fd, stderr=child_fd, env=environment)
    os.close(child_fd)
    shown = b""
    answered = False
    try:
        while True:
            ready, _, _ = select.select([main_fd], [], [], 60)
            assert ready, f"no output for 60 s; so far: {shown!r}"
            try:
                chunk = os.read(main_fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if answer is not None and not answered and QUESTION in shown:
                os.write(main_fd, answer)
                answered = True
        return process.wait(timeout=60), shown
    finally:
        process.kill()
        os.close(main_fd)


class TestConfirmation:
    def test_declining_on_a_terminal_changes_nothing_and_writes_no_files(
        self, emulator: RunningEmulator, tmp_path: Path
    ) -> None:
        # Given a file with one change, applied on a terminal
        before = {uid: dict(u.proficiencies) for uid, u in emulator.instance.users.items()}
        out = tmp_path / "out"
        command = _command(emulator, "apply", str(_changes(tmp_path)), "--out", str(out))
        # When the person answers n
        status, shown = _on_a_terminal(command, _environment(emulator), b"n\n")
        # Then it named the target and what it would do, then applied nothing and wrote nothing
        assert b"Target: account " in shown
        assert b"instance sample-contact-centre (11111111-2222-4333-8444-555555555555)" in shown
        assert b"Apply 1 changes to 1 users on sample-contact-centre (11111111-" in shown
        assert b"nothing applied: not confirmed" in shown
        assert status == 2
        assert emulator.service.stats().writes == []
        assert {uid: dict(u.proficiencies) for uid, u in emulator.instance.users.items()} == before
        assert not out.exists()

    def test_confirming_on_a_terminal_applies_in_colour(
        self, emulator: RunningEmulator, tmp_path: Path
    ) -> None:
        command = _command(emulator, "apply", str(_changes(tmp_path)), "--out", str(tmp_path / "out"))
        status, shown = _on_a_terminal(command, _environment(emulator), b"y\n")
        assert status == 0, shown
        jdoe = next(u for u in emulator.instance.users.values() if u.username == "jdoe")
        assert jdoe.proficiencies[("product", "TV")] == 2.0
        assert (tmp_path / "out" / "report.csv").exists()
        # A terminal gets colour and the drawn table
        assert STYLING.search(shown)
        assert "━".encode() in shown or "─".encode() in shown

    def test_yes_skips_the_question(self, emulator: RunningEmulator, tmp_path: Path) -> None:
        command = _command(emulator, "apply", str(_changes(tmp_path)), "--yes", "--out", str(tmp_path / "o"))
        status, shown = _on_a_terminal(command, _environment(emulator), None)
        assert status == 0, shown
        assert QUESTION not in shown
        assert len(emulator.service.stats().writes) == 1

    def test_a_narrow_terminal_shows_each_row_with_its_whole_message_under_it(
        self, emulator: RunningEmulator, tmp_path: Path
    ) -> None:
        # Given a row whose message is long, planned on a terminal 80 columns wide
        changes = _changes(tmp_path, ("jdoe", "username", "add", "langauge", "French", "3"))
        status, shown = _on_a_terminal(
            _command(emulator, "plan", str(changes)), _environment(emulator), None, columns=80
        )
        assert status == 1, shown
        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode())  # styles and cursor moves
        lines = [line.rstrip("\r ").rpartition("\r")[2].rstrip() for line in text.split("\n")]
        # Then the row is one line of its cells, and the message follows it, indented, words whole
        start = lines.index("line 2  jdoe  add  langauge=French  3  failed")
        message = []
        for line in lines[start + 1 :]:
            if not line.startswith("    "):
                break
            message.append(line.strip())
        assert " ".join(message).startswith(
            "attribute 'langauge' is not a predefined attribute in this instance; did you mean 'language'?"
        )
        assert all(len(line) <= 80 for line in lines[start : start + 1 + len(message)])

    def test_no_color_on_a_terminal_has_no_styling(self, emulator: RunningEmulator, tmp_path: Path) -> None:
        command = _command(emulator, "apply", str(_changes(tmp_path)), "--out", str(tmp_path / "out"))
        status, shown = _on_a_terminal(command, _environment(emulator, NO_COLOR="1"), b"y\n")
        assert status == 0, shown
        assert QUESTION in shown
        assert not STYLING.search(shown), STYLING.findall(shown)[:5]

    def test_without_a_terminal_it_asks_nothing_and_prints_no_escapes(
        self, emulator: RunningEmulator, tmp_path: Path
    ) -> None:
        command = _command(emulator, "apply", str(_changes(tmp_path)), "--out", str(tmp_path / "out"))
        finished = subprocess.run(
            command,
            env=_environment(emulator),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert finished.returncode == 0, finished.stderr
        assert QUESTION not in finished.stderr
        assert len(emulator.service.stats().writes) == 1
        assert not ANY_ESCAPE.search(finished.stdout + finished.stderr)
        # The target is still named, on stderr
        assert b"instance sample-contact-centre (" in finished.stderr


class TestProgress:
    def test_export_shows_its_progress_on_a_terminal(self, emulator: RunningEmulator, tmp_path: Path) -> None:
        exported = tmp_path / "everyone.csv"
        command = _command(emulator, "export", "-o", str(exported), "--rate", "500", "--burst", "50")
        status, shown = _on_a_terminal(command, _environment(emulator, NO_COLOR="1"), None)
        assert status == 0, shown
        users = len(emulator.instance.users)
        # The bar's last state: every user read, with the rate and the calls column
        assert f"{users}/{users} users".encode() in shown
        assert b"users/s" in shown
        assert b"0 writes, 0 throttled" in shown
        assert exported.exists()


class TestJson:
    def test_apply_output_json_is_the_summary_and_nothing_else(
        self,
        emulator: RunningEmulator,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CONNECT", emulator.endpoint_url)
        changes = _changes(
            tmp_path,
            ("jdoe", "username", "add", "product", "TV", "2"),
            ("ghost", "username", "add", "product", "TV", "2"),
            ("casper", "username", "add", "product", "TV", "2"),
            ("jdoe", "username", "add", "product", "Nope", "2"),
        )
        out = tmp_path / "out"
        status = main(
            [
                "apply",
                str(changes),
                "--out",
                str(out),
                "--output",
                "json",
                "--instance-id",
                emulator.instance.id,
            ]
        )
        document = json.loads(capsys.readouterr().out)  # stdout is one JSON document, nothing else
        assert status == 1
        assert list(document) == [
            "command", "file", "instance", "dry_run", "sync", "rows", "counts", "counts_by_action",
            "failures_by_reason", "changes", "warnings", "out", "files", "denied", "interrupted",
            "duration_seconds", "exit_status",
        ]  # fmt: skip
        report = list(csv.DictReader(io.StringIO((out / "report.csv").read_text(encoding="utf-8-sig"))))
        assert document["rows"] == len(report) == 4
        assert document["counts"] == {"succeeded": 1, "skipped": 0, "failed": 3, "planned": 0}
        assert document["counts_by_action"] == {
            "add": {"succeeded": 1, "skipped": 0, "failed": 3, "planned": 0}
        }
        reasons = {r["reason"]: r["lines"] for r in document["failures_by_reason"]}
        assert sorted(line for lines in reasons.values() for line in lines) == [3, 4, 5]
        assert sum(r["count"] for r in document["failures_by_reason"]) == 3
        assert document["instance"] == {
            "id": emulator.instance.id,
            "alias": "sample-contact-centre",
            "account": "",
            "region": "us-east-1",
        }
        assert set(document["files"]) == {p.name for p in out.iterdir()}
        assert (document["dry_run"], document["exit_status"], document["out"]) == (False, 1, str(out))

    def test_plan_output_json_without_out_lists_no_files(
        self,
        emulator: RunningEmulator,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CONNECT", emulator.endpoint_url)
        assert (
            main(["plan", str(_changes(tmp_path)), "--output", "json", "--instance-id", emulator.instance.id])
            == 0
        )
        document = json.loads(capsys.readouterr().out)
        assert (document["dry_run"], document["files"], document["out"]) == (True, [], None)
        assert document["counts"]["planned"] == 1

    def test_validate_output_json(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        changes = _changes(tmp_path, ("jdoe", "username", "add", "tier", "Tier1", "9"))
        assert main(["validate", str(changes), "--output", "json"]) == 1
        document = json.loads(capsys.readouterr().out)
        assert (document["rows"], document["failed"], document["exit_status"]) == (1, 1, 1)
        assert document["problems"][0]["line"] == 2


class TestRegionAndCredentials:
    def test_the_region_comes_from_the_flag_then_aws_region_then_aws_default_region_then_the_profile(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        config = tmp_path / "config"
        config.write_text("[profile admin]\nregion = ap-south-1\n")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
        monkeypatch.delenv("AWS_REGION")
        monkeypatch.delenv("AWS_DEFAULT_REGION")
        both = {"AWS_REGION": "eu-west-2", "AWS_DEFAULT_REGION": "us-west-2"}
        assert resolve_region("ca-central-1", "admin", environ=both).name == "ca-central-1"
        assert resolve_region(None, "admin", environ=both) == resolve_region(None, None, environ=both)
        assert resolve_region(None, "admin", environ=both).source == "AWS_REGION"
        assert resolve_region(None, "admin", environ={"AWS_DEFAULT_REGION": "us-west-2"}).name == "us-west-2"
        from_profile = resolve_region(None, "admin", environ={})
        assert (from_profile.name, from_profile.source) == ("ap-south-1", "profile admin")

    def test_aws_region_alone_is_used(
        self,
        emulator: RunningEmulator,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        # Given only AWS_REGION, which botocore on its own ignores
        monkeypatch.delenv("AWS_DEFAULT_REGION")
        monkeypatch.setenv("AWS_REGION", "eu-west-2")
        monkeypatch.setenv("AWS_ENDPOINT_URL_CONNECT", emulator.endpoint_url)
        assert main(["plan", str(_changes(tmp_path)), "--instance-id", emulator.instance.id]) == 0
        assert "Region eu-west-2 (from AWS_REGION)" in capsys.readouterr().err

    def test_no_region_says_how_to_set_one(
        self,
        emulator: RunningEmulator,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.delenv("AWS_DEFAULT_REGION")
        monkeypatch.delenv("AWS_REGION")
        monkeypatch.setenv("AWS_ENDPOINT_URL_CONNECT", emulator.endpoint_url)
        assert main(["apply", str(_changes(tmp_path)), "--instance-id", emulator.instance.id]) == 2
        assert capsys.readouterr().err.splitlines() == [f"connect-profiles: {NO_REGION}"]
        assert sum(emulator.service.stats().requests.values()) == 0

    def test_no_credentials_names_aws_configure_sso_login_and_profile(
        self,
        emulator: RunningEmulator,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name)
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        monkeypatch.setenv("AWS_ENDPOINT_URL_CONNECT", emulator.endpoint_url)
        assert main(["plan", str(_changes(tmp_path)), "--instance-id", emulator.instance.id]) == 2
        [line] = capsys.readouterr().err.splitlines()
        assert "no usable AWS credentials" in line
        for named in ("`aws configure`", "`aws sso login`", "--profile"):
            assert named in line
        assert sum(emulator.service.stats().requests.values()) == 0

    def test_an_unknown_profile_says_so(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        status = main(["plan", str(_changes(tmp_path)), "--profile", "nobody", "--region", "us-east-1",
                       "--instance-id", "11111111-2222-4333-8444-555555555555"])  # fmt: skip
        assert status == 2
        assert "no AWS profile 'nobody'" in capsys.readouterr().err

    def test_an_unknown_instance_names_the_region_and_where_it_came_from(
        self,
        emulator: RunningEmulator,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CONNECT", emulator.endpoint_url)
        other = "99999999-2222-4333-8444-555555555555"
        assert (
            main(["plan", str(_changes(tmp_path)), "--region", "eu-central-1", "--instance-id", other]) == 2
        )
        line = capsys.readouterr().err.splitlines()[-1]
        assert f"no Amazon Connect instance {other} in Region eu-central-1 (ResourceNotFoundException" in line
        assert line.endswith("(from --region)")

    def test_a_refused_describe_instance_shows_the_id_and_runs(
        self,
        start_emulator: EmulatorFactory,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        # Given credentials that may do the job but not connect:DescribeInstance
        job = {"SearchUsers", "ListUsers", "DescribePredefinedAttribute", "ListUserProficiencies"}
        running = start_emulator(
            authorizer=AllowActions({f"connect:{a}" for a in job} | {"connect:AssociateUserProficiencies"})
        )
        monkeypatch.setenv("AWS_ENDPOINT_URL_CONNECT", running.endpoint_url)
        out = tmp_path / "out"
        assert (
            main(["apply", str(_changes(tmp_path)), "--out", str(out), "--instance-id", running.instance.id])
            == 0
        )
        err = capsys.readouterr().err
        assert f"instance {running.instance.id}\n" in err
        assert "note: the instance alias is not shown: connect:DescribeInstance was denied" in err
        assert len(running.service.stats().writes) == 1
