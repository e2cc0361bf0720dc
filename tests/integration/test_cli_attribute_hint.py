"""The CLI over the Connect emulator: a row naming an attribute the instance does not have says
which one was meant and which there are, read with ListPredefinedAttributes (every page, once)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from connect_emulator import Behaviour
from connect_profiles.domain.model import INPUT_COLUMNS
from connect_profiles.entrypoints.cli import main
from tests.conftest import EmulatorFactory, RunningEmulator

# The sample instance's attributes, sorted ignoring case.
THERE = "(attributes: language, product, region, skill, tier)"


def _plan(running: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *rows: str) -> int:
    changes = tmp_path / "changes.csv"
    changes.write_text("\n".join([",".join(INPUT_COLUMNS), *rows]) + "\n", encoding="utf-8")
    monkeypatch.setenv("AWS_ENDPOINT_URL_CONNECT", running.endpoint_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SERVICE_QUOTAS", running.endpoint_url)
    return main(["plan", str(changes), "--instance-id", running.instance.id, "--out", str(tmp_path / "out")])


def _messages(tmp_path: Path) -> dict[str, str]:
    report = (tmp_path / "out" / "report.csv").read_text(encoding="utf-8-sig")
    return {row["line"]: row["message"] for row in csv.DictReader(io.StringIO(report))}


def test_an_unknown_attribute_names_the_closest_one_and_the_instance_s_attributes(
    start_emulator: EmulatorFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the sample instance, listing at most two attributes a page
    running = start_emulator(behaviour=Behaviour(page_cap=2))
    # When a file names one attribute with another case and one misspelt, beside a good row
    status = _plan(
        running,
        tmp_path,
        monkeypatch,
        "jdoe,username,add,Skill,Retention,2",
        "jdoe,username,add,langauge,French,2",
        "jdoe,username,add,product,TV,2",
    )
    # Then those rows fail saying what was meant and what there is, and the good row is planned
    assert status == 1
    unknown = "is not a predefined attribute in this instance"
    assert _messages(tmp_path) == {
        "2": f"attribute 'Skill' {unknown}; did you mean 'skill'? {THERE}",
        "3": f"attribute 'langauge' {unknown}; did you mean 'language'? {THERE}",
        "4": "would add at level 2",
    }
    assert "did you mean 'skill'?" in capsys.readouterr().out
    # And the attributes were listed once, across every page (five attributes, two a page)
    assert running.service.stats().calls["ListPredefinedAttributes"] == 3


def test_a_file_whose_attributes_all_exist_does_not_list_them(
    emulator: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _plan(emulator, tmp_path, monkeypatch, "jdoe,username,add,product,TV,2") == 0
    assert emulator.service.stats().calls["ListPredefinedAttributes"] == 0
