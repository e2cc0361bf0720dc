"""`connect-emulator` started from the command line with a seed file."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from connect_emulator import generate_seed


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serves_the_seeded_instance_until_stopped(tmp_path: Path) -> None:
    # Given a seed file of 12 users
    seed = generate_seed(users=12, seed=5, instance_id="cli-instance")
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(seed))
    port = _free_port()
    # When the emulator is started from the command line
    process = subprocess.Popen(
        [sys.executable, "-m", "connect_emulator", "--seed", str(seed_file), "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        # Then it says where it listens, and boto3 finds the seeded users there
        assert f"http://127.0.0.1:{port}" in banner
        client = boto3.client("connect", endpoint_url=f"http://127.0.0.1:{port}")
        users = client.list_users(InstanceId="cli-instance")["UserSummaryList"]
        assert sorted(user["Username"] for user in users) == sorted(
            user["username"] for user in seed["users"]
        )
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_port_in_use_is_one_line_and_exit_2() -> None:
    # Given another program listening on the port
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        # When the emulator is asked for it
        result = subprocess.run(
            [sys.executable, "-m", "connect_emulator", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    # Then it says so in one line, with no traceback, and exits 2
    assert result.returncode == 2
    assert result.stderr == (
        f"connect-emulator: port {port} is in use on 127.0.0.1; stop what holds it or pass --port N\n"
    )
    assert result.stdout == ""


def test_flags_set_strictness_outages_lost_responses_and_the_page_cap(tmp_path: Path) -> None:
    # Given a seed of 12 users, one holding tier=Tier1
    seed = generate_seed(users=12, seed=5, instance_id="cli-instance", max_initial=0)
    seed["users"][0]["proficiencies"] = [{"attribute": "tier", "value": "Tier1", "level": 2}]
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(seed))
    port = _free_port()
    # When the emulator starts with an outage of ListUsers' first request, every Update's response
    # lost, and pages of at most 5
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "connect_emulator",
            "--seed",
            str(seed_file),
            "--port",
            str(port),
            "--rate",
            "1000",
            "--burst",
            "1000",
            "--outage",
            "ListUsers:1",
            "--fault-rate",
            "1",
            "--fault-when",
            "after",
            "--fault-operations",
            "UpdateUserProficiencies",
            "--page-cap",
            "5",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        process.stdout.readline()
        client = boto3.client(
            "connect",
            endpoint_url=f"http://127.0.0.1:{port}",
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
        )
        user_id = seed["users"][0]["id"]
        held = [{"AttributeName": "tier", "AttributeValue": "Tier1", "Level": 2.0}]
        # Then the outage fails the first ListUsers, the next one answers 5 of 12
        with pytest.raises(client.exceptions.InternalServiceException):
            client.list_users(InstanceId="cli-instance", MaxResults=100)
        assert len(client.list_users(InstanceId="cli-instance", MaxResults=100)["UserSummaryList"]) == 5
        # and strict mode refuses a second Associate of a held pair
        with pytest.raises(client.exceptions.InvalidRequestException):
            client.associate_user_proficiencies(
                InstanceId="cli-instance", UserId=user_id, UserProficiencies=held
            )
        # and an Update answers 500 yet holds
        with pytest.raises(client.exceptions.InternalServiceException):
            client.update_user_proficiencies(
                InstanceId="cli-instance", UserId=user_id, UserProficiencies=[{**held[0], "Level": 4.0}]
            )
        listed = client.list_user_proficiencies(InstanceId="cli-instance", UserId=user_id)
        assert listed["UserProficiencyList"][0]["Level"] == 4.0
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_permissive_modes_are_flags(tmp_path: Path) -> None:
    seed = generate_seed(users=1, seed=5, instance_id="cli-instance", max_initial=0)
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(seed))
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "connect_emulator",
            "--seed",
            str(seed_file),
            "--port",
            str(port),
            "--on-associate-existing",
            "overwrite",
            "--on-disassociate-missing",
            "ignore",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        process.stdout.readline()
        client = boto3.client("connect", endpoint_url=f"http://127.0.0.1:{port}")
        user_id = seed["users"][0]["id"]
        entry = {"AttributeName": "tier", "AttributeValue": "Tier1"}
        for level in (2.0, 3.0):
            client.associate_user_proficiencies(
                InstanceId="cli-instance", UserId=user_id, UserProficiencies=[{**entry, "Level": level}]
            )
        client.disassociate_user_proficiencies(
            InstanceId="cli-instance",
            UserId=user_id,
            UserProficiencies=[entry, {"AttributeName": "tier", "AttributeValue": "Tier2"}],
        )
        assert (
            client.list_user_proficiencies(InstanceId="cli-instance", UserId=user_id)["UserProficiencyList"]
            == []
        )
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_bad_outage_is_refused_by_the_parser() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "connect_emulator", "--outage", "ListUserz:3"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "ListUserz" in result.stderr


def test_a_bad_seed_file_is_refused_with_exit_status_2(tmp_path: Path) -> None:
    seed_file = tmp_path / "seed.json"
    seed_file.write_text('{"users": []}')
    result = subprocess.run(
        [sys.executable, "-m", "connect_emulator", "--seed", str(seed_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "missing 'instance_id'" in result.stderr
