"""S3 event records to object references: real AWS shape and moto's shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connect_profiles.domain.job import ObjectRef, is_job_key, output_prefix
from connect_profiles.entrypoints.handler import object_refs

EVENTS = Path(__file__).parents[1] / "fixtures" / "events"


def _event(name: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / name).read_text()))


def test_the_documented_event_shape_gives_the_exact_object_version() -> None:
    [ref] = object_refs(_event("s3-object-created-put.json"))
    assert ref.bucket == "connect-profiles-bucket"
    # Keys arrive URL-encoded: '+' is a space, '%2B' a plus, '%26' an ampersand
    assert ref.key == "incoming/Team A/agents & skills + tiers.csv"
    assert ref.version_id == "096fKKXTRTtl3on89fVO.nfljtsv6qko"
    assert ref.sequencer == "0055AED6DCD90281E5"
    assert not ref.dry_run
    assert ref.name == "Team A/agents & skills + tiers"
    assert ref.file_name == "agents & skills + tiers.csv"


def test_motos_event_shape_has_no_version_and_an_encoded_slash() -> None:
    [ref] = object_refs(_event("moto-object-created.json"))
    assert ref.key == "dry-run/new hires.csv"
    assert ref.version_id is None
    assert ref.sequencer is None
    assert ref.dry_run
    assert ref.name == "new hires"


def test_every_record_is_read_and_only_csv_under_the_trigger_prefixes_is_a_job() -> None:
    refs = object_refs(_event("s3-two-records.json"))
    assert [ref.key for ref in refs] == ["incoming/a.csv", "reports/a/report.csv"]
    assert [is_job_key(ref.key) for ref in refs] == [True, False]


@pytest.mark.parametrize(
    ("key", "is_job"),
    [
        ("incoming/x.csv", True),
        ("incoming/x.CSV", True),
        ("dry-run/team/x.csv", True),
        ("incoming/x.xlsx", False),
        ("reports/x/20261125T120000Z-abcd1234/report.csv", False),
        ("x.csv", False),
    ],
)
def test_job_keys(key: str, is_job: bool) -> None:
    assert is_job_key(key) is is_job


def test_not_an_s3_event_is_refused() -> None:
    with pytest.raises(ValueError, match="no Records"):
        object_refs({"hello": "world"})


def test_outputs_go_under_reports_by_name_time_and_short_id() -> None:
    ref = ObjectRef("b", "incoming/team/changes.csv", "v1", None, None, None)
    prefix = output_prefix(ref, datetime(2026, 11, 25, 12, 30, 5, tzinfo=UTC), "arn:exec#0")
    assert prefix.startswith("reports/team/changes/20261125T123005Z-")
    assert len(prefix.rsplit("-", 1)[1]) == len("abcd1234/")
    assert output_prefix(ref, datetime(2026, 11, 25, tzinfo=UTC), "arn:exec#1") != output_prefix(
        ref, datetime(2026, 11, 25, tzinfo=UTC), "arn:exec#0"
    )
    assert ObjectRef.from_dict(ref.as_dict()) == ref
