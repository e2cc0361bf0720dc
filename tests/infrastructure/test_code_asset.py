"""The function's code asset alone holds everything the handler imports, built for the function's runtime."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.bundling import RUNTIME, RUNTIME_PYTHON_VERSION
from tests.infrastructure.synthesis import PROJECT_ROOT, Synthesis

# Run in a clean interpreter: no site-packages (-S), no PYTHON* variables or script dir (-I), no .pyc
# written into the asset (-B). The asset is the only thing on sys.path besides the standard library.
# Lambda-like variables make module-level Powertools objects (Tracer, Logger, Metrics) initialise
# as they would when deployed.
IMPORT_PROBE = """
import importlib, json, sys, sysconfig
asset = sys.argv[1]
sys.path.insert(0, asset)
handler = importlib.import_module(sys.argv[2])
assert callable(getattr(handler, sys.argv[3])), "handler function missing"
stdlib = {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib")}
files = {name: getattr(module, "__file__", None) for name, module in list(sys.modules.items())}
version = list(sys.version_info[:2])
print(json.dumps({"version": version, "sys_path": sys.path, "stdlib": sorted(stdlib), "files": files}))
"""
VERSION_PROBE = "import sys; print('%d.%d' % sys.version_info[:2])"


def _minor_version_of(interpreter: str) -> str | None:
    try:
        result = subprocess.run(
            [interpreter, "-I", "-c", VERSION_PROBE], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def runtime_interpreter(version: str = RUNTIME_PYTHON_VERSION) -> str:
    """A CPython of the function runtime's own minor version: pyenv's builds first, then PATH.

    The asset must be imported by the interpreter it will run on: a module that only imports on
    another version would otherwise pass here and fail in Lambda. CI runs on this machine kind, so a
    missing interpreter is a failure, not a skip.
    """
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    builds = sorted(
        pyenv_root.glob(f"versions/{version}.*/bin/python{version}"),
        key=lambda path: [int(part) if part.isdigit() else -1 for part in path.parts[-3].split(".")],
        reverse=True,
    )
    on_path = shutil.which(f"python{version}")
    for candidate in [*map(str, builds), *([on_path] if on_path else [])]:
        if _minor_version_of(candidate) == version:
            return candidate
    pytest.fail(
        f"the function runs on {RUNTIME.name}, so its code asset is import-tested with CPython {version}, "
        f"and none was found (looked in {pyenv_root}/versions/{version}.*/bin and for python{version} on "
        f"PATH). Install it, e.g. `pyenv install {version}`."
    )


@pytest.fixture(scope="module")
def function_properties(bundled: Synthesis) -> dict[str, Any]:
    (function,) = [
        resource["Properties"]
        for resource in bundled.resources("AWS::Lambda::Function").values()
        if "Job/Function" in resource["Metadata"]["aws:cdk:path"]
    ]
    return function  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def asset_dir(bundled: Synthesis, function_properties: dict[str, Any]) -> Path:
    """The staged directory CDK zips and uploads as the function's code."""
    key = function_properties["Code"]["S3Key"]
    manifest = json.loads((bundled.outdir / "ConnectProfiles.assets.json").read_text())
    (source,) = [asset["source"] for asset in manifest["files"].values() if asset["destinations"]
                 and next(iter(asset["destinations"].values()))["objectKey"] == key]  # fmt: skip
    assert source["packaging"] == "zip"
    return bundled.outdir / str(source["path"])


def lambda_environment(asset: Path, function_properties: dict[str, Any]) -> dict[str, str]:
    variables = {
        name: value if isinstance(value, str) else f"placeholder-{name.lower()}"
        for name, value in function_properties["Environment"]["Variables"].items()
    }
    variables["SUMMARY_TOPIC_ARN"] = "arn:aws:sns:eu-west-1:123456789012:placeholder"
    return {
        **variables,
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_LAMBDA_FUNCTION_NAME": "connect-profiles-job",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function_properties["MemorySize"]),
        "LAMBDA_TASK_ROOT": str(asset),
        "_HANDLER": function_properties["Handler"],
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def test_the_asset_is_tested_on_the_runtime_it_is_built_for(function_properties: dict[str, Any]) -> None:
    interpreter = runtime_interpreter()

    assert function_properties["Runtime"] == RUNTIME.name == f"python{RUNTIME_PYTHON_VERSION}"
    assert _minor_version_of(interpreter) == RUNTIME_PYTHON_VERSION


def test_handler_imports_from_the_asset_alone(asset_dir: Path, function_properties: dict[str, Any]) -> None:
    module, function = function_properties["Handler"].rsplit(".", 1)

    result = subprocess.run(
        [runtime_interpreter(), "-I", "-S", "-B", "-c", IMPORT_PROBE, str(asset_dir), module, function],
        env=lambda_environment(asset_dir, function_properties),
        cwd=asset_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["version"] == [int(part) for part in RUNTIME_PYTHON_VERSION.split(".")]
    allowed_roots = [str(asset_dir), *probe["stdlib"]]
    outside = {
        name: file
        for name, file in probe["files"].items()
        if file is not None and not any(file.startswith(root) for root in allowed_roots)
    }
    assert outside == {}
    assert not [
        entry for entry in probe["sys_path"] if "site-packages" in entry or str(PROJECT_ROOT) in entry
    ]
    for package in ("aws_durable_execution_sdk_python", "aws_lambda_powertools", "boto3", "botocore"):
        assert probe["files"].get(package, "").startswith(str(asset_dir)), package


def test_asset_ships_every_pinned_runtime_requirement_at_its_pin(asset_dir: Path) -> None:
    pins = re.findall(
        r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)", (PROJECT_ROOT / "requirements.txt").read_text(), re.M
    )

    assert pins
    for name, version in pins:
        normalised = re.sub(r"[-_.]+", "_", name).lower()
        assert (asset_dir / f"{normalised}-{version}.dist-info").is_dir(), f"{name}=={version} not bundled"


def test_compiled_extensions_target_the_function_runtime_and_architecture(
    asset_dir: Path, function_properties: dict[str, Any]
) -> None:
    version = function_properties["Runtime"].removeprefix("python").replace(".", "")
    machine = {"arm64": "aarch64", "x86_64": "x86_64"}[function_properties["Architectures"][0]]

    for extension in asset_dir.rglob("*.so"):
        assert f"cpython-{version}-{machine}-linux-gnu" in extension.name or ".abi3." in extension.name, (
            extension
        )


def test_asset_holds_the_package_without_bytecode_scripts_or_local_tools(asset_dir: Path) -> None:
    assert (asset_dir / "connect_profiles" / "entrypoints" / "handler.py").is_file()
    assert not list(asset_dir.rglob("__pycache__"))
    assert not (asset_dir / "bin").exists()
    for local_only in (
        "connect_emulator",
        "tests",
        "infra",
        "moto",
        "aws_durable_execution_sdk_python_testing",
    ):
        assert not (asset_dir / local_only).exists(), local_only


def test_asset_fits_lambdas_unzipped_size_limit(asset_dir: Path) -> None:
    size = sum(path.stat().st_size for path in asset_dir.rglob("*") if path.is_file())

    assert size < 250 * 1024 * 1024
