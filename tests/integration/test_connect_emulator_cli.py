"""`connect-emulator` started from the command line with a seed file."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import boto3

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
