"""The function's code asset, built without Docker.

The asset is everything the handler imports: `pip install --target` of requirements.txt resolved for
the Lambda runtime's interpreter and architecture (wheels only, so nothing compiles on this
machine), plus a copy of the `connect_profiles` package. boto3 is bundled too: the durable execution
SDK needs a newer boto3 than the managed runtime promises, and AWS recommends bundling the SDK.

The asset hash is computed from the inputs (requirements, package sources, target platform), so an
unchanged asset is neither rebuilt into an existing cdk.out nor re-uploaded.
"""

from __future__ import annotations

import fnmatch
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import cast

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAMBDA_SOURCE_ROOT = PROJECT_ROOT / "lambda_src"
PACKAGE_NAME = "connect_profiles"
REQUIREMENTS_FILE = PROJECT_ROOT / "requirements.txt"

# python3.13, not 3.14: both are durable runtimes, but the asset's import test must run on an
# interpreter of the runtime's own minor version, and no CPython 3.14 can be installed on the machines
# the project is built and tested on (Debian 12 ships 3.11; pyenv there has 3.13). cdk-nag's L1 rule
# flags 3.13 and is acknowledged with that reason (infra/job_function.py).
RUNTIME = lambda_.Runtime.PYTHON_3_13
# "3.13": what pip targets, and the interpreter the asset is import-tested with.
RUNTIME_PYTHON_VERSION = RUNTIME.name.removeprefix("python")
ARCHITECTURE = lambda_.Architecture.ARM_64
HANDLER_MODULE = Path("entrypoints") / "handler.py"
HANDLER = f"{PACKAGE_NAME}.entrypoints.handler.lambda_handler"

# pip's view of the Lambda environment: CPython of the runtime's version on Amazon Linux 2023
# (glibc 2.34), arm64. No .pyc: the runtime ignores bytecode compiled by another interpreter anyway.
_PIP_TARGET_OPTIONS = (
    "--no-compile",
    "--only-binary=:all:",
    "--implementation=cp",
    f"--python-version={RUNTIME_PYTHON_VERSION}",
    "--platform=manylinux2014_aarch64",
    "--platform=manylinux_2_34_aarch64",
)
_IGNORED_NAMES = ("__pycache__", "*.pyc", "*.pyo", ".mypy_cache", ".pytest_cache")
_IGNORED = shutil.ignore_patterns(*_IGNORED_NAMES)


def pip_install_command(target: Path) -> list[str]:
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    return [*command, *_PIP_TARGET_OPTIONS, "--target", str(target), "-r", str(REQUIREMENTS_FILE)]


@jsii.implements(cdk.ILocalBundling)
class PipLocalBundling:
    """Bundles on the host. jsii calls `try_bundle(output_dir, options)` with the options positionally."""

    def try_bundle(self, output_dir: str, options: cdk.BundlingOptions) -> bool:
        package = LAMBDA_SOURCE_ROOT / PACKAGE_NAME
        if not (package / HANDLER_MODULE).is_file():
            raise FileNotFoundError(f"the function's handler module is missing: {package / HANDLER_MODULE}")
        target = Path(output_dir)
        subprocess.run(pip_install_command(target), check=True)  # noqa: S603 - fixed argv, no shell
        # Console scripts carry this machine's interpreter in their shebang; the function never runs them.
        shutil.rmtree(target / "bin", ignore_errors=True)
        shutil.copytree(package, target / PACKAGE_NAME, ignore=_IGNORED)
        return True


def source_fingerprint() -> str:
    """A hash of everything that goes into the asset: pins, package sources and the target platform."""
    digest = hashlib.sha256()
    digest.update("\0".join(_PIP_TARGET_OPTIONS).encode() + b"\0")
    digest.update(REQUIREMENTS_FILE.read_bytes() + b"\0")
    package = LAMBDA_SOURCE_ROOT / PACKAGE_NAME
    for path in sorted(package.rglob("*")):
        relative = path.relative_to(package)
        ignored = any(fnmatch.fnmatch(part, pattern) for part in relative.parts for pattern in _IGNORED_NAMES)
        if path.is_file() and not ignored:
            digest.update(relative.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def job_code() -> lambda_.Code:
    """The function's code. Under `aws:cdk:bundling-stacks=[]` (unit tests) CDK skips the bundling."""
    return lambda_.Code.from_asset(
        str(LAMBDA_SOURCE_ROOT),
        asset_hash=source_fingerprint(),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        bundling=cdk.BundlingOptions(
            # Never pulled: local bundling always succeeds or raises, so Docker is never reached.
            image=cdk.DockerImage.from_registry("local-bundling-only"),
            local=cast(cdk.ILocalBundling, PipLocalBundling()),
        ),
    )
