"""Pacing at the account's real quotas: the Service Quotas stand-in, the quota read, the CLI and
the Lambda job reporting the rates used, and adapting when another client shares a quota.

Timing never decides an outcome: where throttling is the subject, the engine's pacer, botocore's
retry backoff and the emulator's buckets all run on one fake clock that only sleeping advances."""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
import threading
import types
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from connect_emulator import AllowActions, Quota, generate_seed, instance_from_seed
from connect_profiles.adapters import quotas as quotas_module
from connect_profiles.adapters.connect import ConnectGateway, connect_client
from connect_profiles.adapters.quotas import (
    PacingOptions,
    QuotasUnavailable,
    pacing_lines,
    read_connect_quotas,
    resolve_pacing,
)
from connect_profiles.domain.engine import EngineSettings, run_job
from connect_profiles.domain.model import INPUT_COLUMNS
from connect_profiles.entrypoints.cli import main
from tests.conftest import UNTHROTTLED, EmulatorFactory, RunningEmulator

ASSOC = "AssociateUserProficiencies"
LUP = "ListUserProficiencies"
# Reads at 10/s, writes at Connect's 2/s: what Service Quotas has shown on real accounts.
ACCOUNT = {
    "ListUsers": Quota(10.0, 10),
    "DescribePredefinedAttribute": Quota(10.0, 10),
    LUP: Quota(10.0, 10),
}


def _service_quotas(running: RunningEmulator) -> Any:
    return boto3.client("service-quotas", endpoint_url=running.endpoint_url)


@pytest.fixture
def quotas_at(monkeypatch: pytest.MonkeyPatch) -> Any:
    def point(running: RunningEmulator) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SERVICE_QUOTAS", running.endpoint_url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_CONNECT", running.endpoint_url)

    return point


# --- the stand-in: as strict as Service Quotas --------------------------------------------------


class TestServiceQuotasStandIn:
    def test_lists_connects_rate_quotas_in_pages_with_the_rates_it_enforces(
        self, start_emulator: EmulatorFactory
    ) -> None:
        running = start_emulator(quota=Quota(2.0, 5), quotas=ACCOUNT)
        pages = list(
            _service_quotas(running).get_paginator("list_service_quotas").paginate(ServiceCode="connect")
        )
        quotas = {q["QuotaCode"]: q for page in pages for q in page["Quotas"]}
        assert len(pages) > 1  # every Connect API has one: a client must follow NextToken
        assert quotas["L-A59C54EE"]["QuotaName"] == "Rate of ListUserProficiencies API requests"
        assert quotas["L-A59C54EE"]["Value"] == 10.0
        assert quotas["L-2CCBA953"]["Value"] == 2.0
        assert quotas["L-2CCBA953"]["Period"] == {"PeriodValue": 1, "PeriodUnit": "SECOND"}

    def test_refuses_what_service_quotas_refuses(self, start_emulator: EmulatorFactory) -> None:
        running = start_emulator()
        client = _service_quotas(running)
        first = client.list_service_quotas(ServiceCode="connect", MaxResults=5)
        cases: list[tuple[dict[str, Any], str]] = [
            ({"ServiceCode": "nope"}, "NoSuchResourceException"),
            ({"ServiceCode": "connect", "MaxResults": 101}, "IllegalArgumentException"),
            ({"ServiceCode": "connect", "NextToken": "bm90LW91cnM="}, "InvalidPaginationTokenException"),
            # A token is bound to the request that made it.
            (
                {"ServiceCode": "connect", "QuotaCode": "L-A59C54EE", "NextToken": first["NextToken"]},
                "InvalidPaginationTokenException",
            ),
        ]
        for params, code in cases:
            with pytest.raises(ClientError) as raised:
                client.list_service_quotas(**params)
            assert raised.value.response["Error"]["Code"] == code, params

    def test_asks_the_authorizer_first(self, start_emulator: EmulatorFactory) -> None:
        running = start_emulator(authorizer=AllowActions({"connect:ListUsers"}))
        with pytest.raises(ClientError) as raised:
            _service_quotas(running).list_service_quotas(ServiceCode="connect")
        error = raised.value.response["Error"]
        assert error["Code"] == "AccessDeniedException"
        assert "not authorized to perform: servicequotas:ListServiceQuotas" in error["Message"]


# --- the adapter ------------------------------------------------------------------------------


def test_the_quota_read_matches_by_code_and_follows_every_page(start_emulator: EmulatorFactory) -> None:
    running = start_emulator(quota=Quota(2.0, 5), quotas={**ACCOUNT, ASSOC: Quota(4.0, 5)})
    found = read_connect_quotas(_service_quotas(running))
    assert found[LUP] == 10.0
    assert found[ASSOC] == 4.0
    assert found["SearchUsers"] == 2.0
    assert running.service.service_quotas.requests == math.ceil(
        len(running.service.service_quotas._quotas()) / quotas_module.PAGE
    )


def test_a_quota_listed_under_another_code_is_still_found_by_its_name(
    start_emulator: EmulatorFactory,
) -> None:
    running = start_emulator(quota=Quota(2.0, 5), quotas=ACCOUNT)
    client = _service_quotas(running)
    original = client.list_service_quotas

    def reissued(**params: Any) -> dict[str, Any]:
        page: dict[str, Any] = original(**params)
        for quota in page["Quotas"]:
            if quota["QuotaCode"] == "L-A59C54EE":
                quota["QuotaCode"] = "L-00000000"
        return page

    client.list_service_quotas = reissued
    assert read_connect_quotas(client)[LUP] == 10.0


def test_a_refused_read_is_reported_not_raised_past_the_adapter(
    start_emulator: EmulatorFactory, quotas_at: Any
) -> None:
    running = start_emulator(authorizer=AllowActions({"connect:ListUsers"}))
    with pytest.raises(QuotasUnavailable, match="AccessDeniedException"):
        read_connect_quotas(_service_quotas(running))
    quotas_at(running)
    plan = resolve_pacing(PacingOptions())
    [warning] = plan.warnings
    assert "could not read the account's Connect quotas" in warning
    assert all(rate.per_second == pytest.approx(1.8) for rate in plan.rates.values())


def test_no_endpoint_falls_back_with_a_warning() -> None:
    # The session's AWS_ENDPOINT_URL_SERVICE_QUOTAS refuses connections.
    plan = resolve_pacing(PacingOptions())
    [warning] = plan.warnings
    assert "Could not connect to the endpoint URL" in warning


def test_a_hidden_quota_falls_back_for_that_api(start_emulator: EmulatorFactory, quotas_at: Any) -> None:
    running = start_emulator(quota=Quota(2.0, 5), quotas=ACCOUNT)
    running.service.service_quotas.hidden.add("L-A59C54EE")
    quotas_at(running)
    plan = resolve_pacing(PacingOptions())
    assert plan.rates[LUP].per_second == pytest.approx(1.8)
    assert plan.rates["ListUsers"].per_second == pytest.approx(9.0)
    [warning] = plan.warnings
    assert f"no request quota for {LUP}" in warning


def test_explicit_rates_for_every_api_skip_the_quota_read(
    start_emulator: EmulatorFactory, quotas_at: Any
) -> None:
    running = start_emulator()
    quotas_at(running)
    resolve_pacing(PacingOptions(rate=3.0))
    assert running.service.service_quotas.requests == 0


# --- the CLI -----------------------------------------------------------------------------------


def _write(path: Path, rows: list[tuple[str, ...]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(INPUT_COLUMNS)
        writer.writerows(rows)
    return path


def _plan_file(tmp_path: Path) -> Path:
    return _write(tmp_path / "changes.csv", [("jdoe", "username", "add", "language", "French", "4")])


class TestCli:
    def test_reads_the_quotas_and_reports_the_rate_of_each_api(
        self,
        start_emulator: EmulatorFactory,
        quotas_at: Any,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        # Given an account whose read APIs are at 10/s and writes at 2/s
        running = start_emulator(quota=Quota(100.0, 100), quotas={**ACCOUNT, ASSOC: Quota(2.0, 5)})
        quotas_at(running)
        # When a file is planned with the defaults
        status = main(["plan", str(_plan_file(tmp_path)), "--instance-id", running.instance.id])
        # Then each API was paced at 90% of its own quota, and the output says so
        out, err = capsys.readouterr()
        assert status == 0
        assert "warning" not in err
        assert f"  {LUP}: 9/s, burst 10 (quota 10/s)" in out
        assert "  SearchUsers: 90/s, burst 100 (quota 100/s)" in out
        assert running.service.service_quotas.requests > 0

    def test_per_api_rates_and_headroom_are_options(
        self,
        start_emulator: EmulatorFactory,
        quotas_at: Any,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        running = start_emulator(quota=Quota(100.0, 100), quotas=ACCOUNT)
        quotas_at(running)
        args = ["plan", str(_plan_file(tmp_path)), "--instance-id", running.instance.id]
        status = main([*args, "--api-rate", f"{LUP}=3:4", "--headroom", "50"])
        out, _ = capsys.readouterr()
        assert status == 0
        assert f"  {LUP}: 3/s, burst 4 (--api-rate)" in out
        assert "  SearchUsers: 50/s, burst 100 (quota 100/s)" in out

    @pytest.mark.parametrize(
        ("option", "message"),
        [
            (["--api-rate", "ListUsers"], "--api-rate: 'ListUsers' is not API=RATE[:BURST]"),
            (["--api-rate", "Nope=3"], "--api-rate: unknown Connect API 'Nope'"),
            (
                ["--api-rate", "ListUsers=3", "--api-rate", "ListUsers=4"],
                "--api-rate: ListUsers is given twice",
            ),
            (["--headroom", "0"], "--headroom: headroom must be a percent from 1 to 100"),
            (["--rate", "0"], "--rate must be above 0"),
        ],
    )
    def test_bad_pacing_options_exit_2_with_one_line(
        self,
        start_emulator: EmulatorFactory,
        quotas_at: Any,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        option: list[str],
        message: str,
    ) -> None:
        running = start_emulator()
        quotas_at(running)
        status = main(["plan", str(_plan_file(tmp_path)), "--instance-id", running.instance.id, *option])
        _, err = capsys.readouterr()
        assert status == 2
        [line] = err.strip().splitlines()
        assert line.startswith(f"connect-profiles: {message}")

    def test_refused_quotas_warn_on_stderr_and_the_job_still_runs_at_the_defaults(
        self,
        start_emulator: EmulatorFactory,
        quotas_at: Any,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        connect_only = {
            f"connect:{api}" for api in quotas_module.JOB_APIS
        }  # a role without servicequotas:ListServiceQuotas
        running = start_emulator(authorizer=AllowActions(connect_only))
        quotas_at(running)
        status = main(["plan", str(_plan_file(tmp_path)), "--instance-id", running.instance.id])
        out, err = capsys.readouterr()
        assert status == 0
        assert "connect-profiles: warning: could not read the account's Connect quotas" in err
        assert "AccessDeniedException" in err
        assert f"  {LUP}: 1.8/s, burst 5 (documented default)" in out

    def test_the_warning_is_said_once_by_the_cli_not_logged_beside_it(
        self, start_emulator: EmulatorFactory, tmp_path: Path
    ) -> None:
        # Given no Service Quotas to read, and the CLI run as people run it (no test logging set up)
        running = start_emulator()
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL_CONNECT": running.endpoint_url,
            "AWS_ENDPOINT_URL_SERVICE_QUOTAS": "http://127.0.0.1:9",  # discard: nothing listens
            "PYTHONPATH": os.pathsep.join(sys.path),
        }
        command = [
            sys.executable,
            "-m",
            "connect_profiles.entrypoints.cli",
            "plan",
            str(_plan_file(tmp_path)),
        ]
        finished = subprocess.run(
            [*command, "--instance-id", running.instance.id],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert finished.returncode == 0, finished.stderr
        # Then stderr says it once, in the CLI's words
        assert finished.stderr.count("could not read the account's Connect quotas") == 1, finished.stderr
        assert "connect-profiles: warning: could not read the account's Connect quotas" in finished.stderr


# --- adapting to another client on the same quota -------------------------------------------------


class SharedClock:
    """One fake clock for the engine's pacer, botocore's backoff and the emulator's buckets; while it
    advances, another integration spends `other_rate` tokens a second of one API's quota."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._lock = threading.Lock()
        self._other: tuple[Any, str, float] | None = None
        self._spent = 0
        self._start = self.now

    def __call__(self) -> float:
        return self.now

    def share(self, throttle: Any, api: str, other_rate: float) -> None:
        self._other, self._start, self._spent = (throttle, api, other_rate), self.now, 0

    def sleep(self, seconds: float) -> None:
        with self._lock:
            target = self.now + max(seconds, 0.0)
            if self._other is not None:
                throttle, api, rate = self._other
                # The other client's calls, each at its own moment on the way to `target`.
                while self._start + (self._spent + 1) / rate <= target:
                    self._spent += 1
                    self.now = self._start + self._spent / rate
                    throttle.allow(api)  # takes a token if one is there
            self.now = target


@pytest.fixture
def shared_clock(monkeypatch: pytest.MonkeyPatch) -> SharedClock:
    clock = SharedClock()
    # botocore sleeps its retry backoff in botocore.endpoint: on the fake clock too.
    monkeypatch.setattr("botocore.endpoint.time", types.SimpleNamespace(sleep=clock.sleep))
    return clock


def _adds_for_users(users: int) -> tuple[Any, bytes]:
    document = generate_seed(users=users, seed=31, max_initial=0)
    rows = [(user["username"], "username", "add", "tier", "Tier1", "3") for user in document["users"]]
    body = ",".join(INPUT_COLUMNS) + "\n" + "".join(",".join(row) + "\n" for row in rows)
    return instance_from_seed(document), body.encode()


def _run_shared(
    start_emulator: EmulatorFactory, clock: SharedClock, quotas_at: Any, *, other_rate: float
) -> tuple[Any, Any, Any, Any]:
    instance, data = _adds_for_users(40)
    running = start_emulator(instance=instance, quota=UNTHROTTLED, quotas={ASSOC: Quota(2.0, 5)}, clock=clock)
    quotas_at(running)
    plan = resolve_pacing(PacingOptions())
    pacer = plan.pacer(clock=clock, sleep=clock.sleep)
    client = connect_client(pacer, region="us-east-1", pool_size=4)
    clock.share(running.service.throttle, ASSOC, other_rate)
    result = run_job(data, ConnectGateway(client, instance.id), EngineSettings(workers=1), dry_run=False)
    return running, result, pacer, plan


def test_throttles_from_another_client_slow_that_api_and_no_row_fails(
    start_emulator: EmulatorFactory, shared_clock: SharedClock, quotas_at: Any
) -> None:
    # Given Associate at 2/s, another integration using 1.5/s of it, the job paced at 90% of 2/s
    running, result, pacer, plan = _run_shared(start_emulator, shared_clock, quotas_at, other_rate=1.5)
    # Then every row succeeded
    assert result.counts()["succeeded"] == 40
    assert result.failed == 0
    # And Associate was throttled, slowed below what is left of the quota, and nothing else was
    paces = {pace.api: pace for pace in pacer.paces()}
    stats = running.service.stats()
    assert stats.throttles[ASSOC] > 0
    assert set(stats.throttles) == {ASSOC}
    assert paces[ASSOC].ceiling == pytest.approx(1.8)
    assert paces[ASSOC].lowest <= 0.5  # 2/s less the other's 1.5/s
    assert paces[ASSOC].current <= paces[ASSOC].ceiling
    assert paces[LUP].throttles == 0
    # Having adapted, most calls went through first time
    assert stats.throttles[ASSOC] <= 12
    # And the summary lines say what happened
    [line] = [line for line in pacing_lines(plan, pacer) if ASSOC in line]
    assert "quota 2/s" in line
    assert f"throttled {paces[ASSOC].throttles} times" in line
