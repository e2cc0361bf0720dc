"""Synthesises the app the way `cdk synth` does (cdk.json context + overrides) and reads the result."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import cx_api
from aws_cdk.assertions import Template

from infra.application import STACK_NAME, create_app

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INSTANCE_ID = "11111111-2222-4333-8444-555555555555"
EMAIL = "contact-centre-admins@example.com"
SKIP_BUNDLING: dict[str, object] = {"aws:cdk:bundling-stacks": []}
# The CLI turns this on; it puts each resource's construct path in its Metadata.
PATH_METADATA = {"aws:cdk:enable-path-metadata": True}


def cdk_json_context() -> dict[str, Any]:
    """The feature flags and defaults the CLI would pass, so tests synthesise what `cdk synth` does."""
    context: dict[str, Any] = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]
    return context


@dataclass(frozen=True)
class Synthesis:
    outdir: Path
    template_json: dict[str, Any]
    template: Template
    # (level, construct path, text) of every message the synthesis left on the stack.
    messages: list[tuple[str, str, str]]

    @property
    def template_file(self) -> Path:
        return self.outdir / f"{STACK_NAME}.template.json"

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {key: dict(value) for key, value in self.template.find_resources(resource_type).items()}

    def only(self, resource_type: str) -> tuple[str, dict[str, Any]]:
        """The single resource of a type: (logical id, resource)."""
        found = self.resources(resource_type)
        assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
        return next(iter(found.items()))

    def logical_id(self, resource_type: str, path_fragment: str) -> str:
        """The logical id of the resource of `resource_type` whose construct path contains the fragment."""
        matches = [
            logical_id
            for logical_id, resource in self.resources(resource_type).items()
            if path_fragment in resource.get("Metadata", {}).get("aws:cdk:path", "")
        ]
        assert len(matches) == 1, f"{resource_type} at *{path_fragment}*: {matches}"
        return matches[0]


def synthesize(outdir: Path, settings: Mapping[str, str], *, bundle: bool = False) -> Synthesis:
    """Synthesises into `outdir`; `settings` are context values as `-c key=value` would give them."""
    context: dict[str, object] = {**cdk_json_context(), **PATH_METADATA, **settings}
    if not bundle:
        context.update(SKIP_BUNDLING)
    app = create_app(context=context, outdir=str(outdir))
    assembly = app.synth()
    artifact = assembly.get_stack_by_name(STACK_NAME)
    template_json: dict[str, Any] = json.loads((outdir / artifact.template_file).read_text())
    messages = [(_level(message.level), message.id, str(message.entry.data)) for message in artifact.messages]
    return Synthesis(outdir, template_json, Template.from_json(template_json), messages)


def _level(level: cx_api.SynthesisMessageLevel) -> str:
    return str(level.name).lower()
