"""The domain is pure (DESIGN.md 4): it imports without boto3 or botocore, and never reaches for the
adapters or the entrypoints."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import connect_profiles
from connect_profiles import domain

PACKAGE = Path(connect_profiles.__file__).parent
DOMAIN = Path(domain.__file__).parent
FORBIDDEN_IN_DOMAIN = ("connect_profiles.adapters", "connect_profiles.entrypoints", "boto3", "botocore")

# Runs in a fresh interpreter: any import of boto3 or botocore, however indirect, raises.
_BLOCKED_IMPORT = """
import importlib, pkgutil, sys

class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("boto3", "botocore"):
            raise ImportError(f"the domain imported {name}")
        return None

sys.meta_path.insert(0, Blocked())
import connect_profiles.ports
import connect_profiles.domain
names = ["connect_profiles.ports"] + [
    "connect_profiles.domain." + info.name for info in pkgutil.iter_modules(connect_profiles.domain.__path__)
]
for name in names:
    importlib.import_module(name)
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore"))
assert not leaked, leaked
print("\\n".join(names))
"""


def domain_modules() -> list[str]:
    return sorted(f"connect_profiles.domain.{info.name}" for info in pkgutil.iter_modules([str(DOMAIN)]))


def test_every_domain_module_and_the_ports_import_with_boto3_and_botocore_blocked() -> None:
    env_path = ":".join(p for p in sys.path if p)
    completed = subprocess.run(
        [sys.executable, "-c", _BLOCKED_IMPORT],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": env_path},
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    imported = completed.stdout.split()
    assert imported == ["connect_profiles.ports", *domain_modules()]
    assert len(imported) >= 10  # model, csv_input, csv_output, planning, resolution, engine, outputs, job...


def test_the_blocker_itself_blocks_boto3() -> None:
    # The check above would be worthless if the blocker let boto3 through
    script = _BLOCKED_IMPORT.replace("import connect_profiles.ports\n", "import boto3\n", 1)
    completed = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": ":".join(p for p in sys.path if p)},
        timeout=60,
    )
    assert completed.returncode != 0
    assert "the domain imported boto3" in completed.stderr


def imports_of(path: Path) -> set[str]:
    package = "connect_profiles." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts[:-1])
    return imports_in(path.read_text(encoding="utf-8"), package.rstrip("."))


def imports_in(source: str, package: str) -> set[str]:
    """Every module a source imports, relative imports resolved, wherever the import statement is."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_no_domain_module_imports_the_adapters_the_entrypoints_or_aws_sdks() -> None:
    files = sorted(DOMAIN.glob("*.py"))
    assert {f.stem for f in files} >= {"model", "engine", "job", "planning", "resolution", "outputs"}
    offences = {
        f"{path.name}: {name}"
        for path in files
        for name in imports_of(path)
        if name.startswith(FORBIDDEN_IN_DOMAIN)
    }
    assert offences == set()


def test_the_ports_import_nothing_but_the_domain_model() -> None:
    first_party = {n for n in imports_of(PACKAGE / "ports.py") if n.startswith("connect_profiles")}
    assert {n for n in first_party if not n.startswith("connect_profiles.domain.model")} == set()


def test_the_import_check_sees_every_way_of_writing_a_forbidden_import() -> None:
    source = (
        "from connect_profiles.adapters.s3 import S3Store\n"
        "from ..entrypoints import cli\n"
        "def later():\n    import botocore.config\n"
    )
    found = imports_in(source, "connect_profiles.domain")
    assert {"connect_profiles.adapters.s3", "connect_profiles.entrypoints.cli", "botocore.config"} <= found
    assert all(any(name.startswith(f) for f in FORBIDDEN_IN_DOMAIN) for name in found)
