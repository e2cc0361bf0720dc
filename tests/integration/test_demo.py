"""`make demo`'s program: the whole job on local stand-ins, from a clean process."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path


def test_the_demo_runs_the_job_and_leaves_its_files(tmp_path: Path) -> None:
    out = tmp_path / "demo-output"
    result = subprocess.run(
        [sys.executable, "-m", "local_stand_ins.demo", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
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
