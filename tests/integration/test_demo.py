"""`make demo`'s program: the whole job on local stand-ins, from a clean process."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from local_stand_ins import demo

ROOT = Path(__file__).resolve().parents[2]


def _run_demo(*args: str) -> subprocess.CompletedProcess[str]:
    """The demo in its own process, as `make demo` runs it (moto's state is per process)."""
    command = [sys.executable, "-m", "local_stand_ins.demo", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


def test_the_demo_runs_the_job_and_leaves_its_files(tmp_path: Path) -> None:
    out = tmp_path / "demo-output"
    result = _run_demo("--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    printed = result.stdout
    assert "LOCAL STAND-INS" in printed
    assert "Subject: Connect profiles: demo-changes.csv: 7 succeeded, 3 skipped, 4 failed" in printed
    assert "To run for real" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "backup.csv",
        "changes.csv",
        "job.json",
        "report.csv",
        "report.html",
        "retry.csv",
        "rollback.csv",
    ]
    report = list(csv.DictReader(io.StringIO((out / "report.csv").read_text(encoding="utf-8-sig"))))
    # The sample covers add, update, remove, a duplicate, a bad level and an unknown user
    assert {row["action"] for row in report} == {"add", "update", "remove"}
    messages = " | ".join(row["message"] for row in report)
    assert "duplicate of line 9" in messages
    assert "level must be a whole number from 1 to 5" in messages
    assert "no user with username 'agent.unknown'" in messages
    # and a group row: the Sales routing profile's five agents, one already at a level
    group = next(row for row in report if row["identifier_type"] == "routing_profile")
    assert (group["status"], group["message"]) == ("succeeded", "5 users: 4 changed, 1 already so, 0 failed")


def test_the_demo_dry_runs_another_file(tmp_path: Path) -> None:
    # Given a file of one good row and one misspelt attribute
    changes = tmp_path / "mine.csv"
    changes.write_text(
        "identifier,identifier_type,action,attribute,value,level\n"
        "jdoe,username,add,product,TV,3\n"
        "jdoe,username,add,langauge,French,2\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    # When the demo runs on it as a dry run (make demo CSV=... DRY_RUN=1), in a process of its own:
    # moto's state is per process, and the suite's own moto server already holds the stack's table
    result = _run_demo("--csv", str(changes), "--dry-run", "--out", str(out))
    # Then the file went to dry-run/, and the job planned it without writing
    assert result.returncode == 0, result.stderr[-2000:]
    printed = result.stdout
    assert "to s3://connect-profiles-local/dry-run/mine.csv" in printed
    assert "Subject: DRY RUN Connect profiles: mine.csv: 1 planned, 1 failed" in printed
    report = list(csv.DictReader(io.StringIO((out / "report.csv").read_text(encoding="utf-8-sig"))))
    assert [row["status"] for row in report] == ["planned", "failed"]
    assert "Associate" not in printed.split("Connect calls made:")[1]


def test_a_missing_file_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.csv"
    assert demo.main(["--csv", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"demo: no such file: {missing} (CSV= takes the path of a CSV file)\n"
    assert captured.out == ""


def test_make_demo_passes_csv_and_dry_run_to_the_demo() -> None:
    make = shutil.which("make")
    assert make is not None, "make is what the README runs"

    def demo_command(*variables: str) -> str:
        # -n prints the commands (install's too) and runs none of them.
        shown = subprocess.run(
            [make, "-n", "demo", *variables], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        [command] = [line for line in shown.splitlines() if "local_stand_ins.demo" in line]
        return command

    assert demo_command("CSV=x.csv", "DRY_RUN=1").endswith(
        "-m local_stand_ins.demo --out demo-output --csv 'x.csv' --dry-run"
    )
    assert demo_command().endswith("-m local_stand_ins.demo --out demo-output")
    assert demo_command("DRY_RUN=0").endswith("-m local_stand_ins.demo --out demo-output")
