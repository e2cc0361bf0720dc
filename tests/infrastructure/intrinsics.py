"""Reads CloudFormation values the way a reviewer does: intrinsics rendered as `${Name}` text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def render(value: Any) -> Any:
    """`{"Ref": "X"}` -> `${X}`, GetAtt -> `${X.Attr}`, Join -> the joined text; lists element-wise."""
    if isinstance(value, list):
        return [render(item) for item in value]
    if not isinstance(value, dict) or len(value) != 1:
        return value
    (function, argument), *_ = value.items()
    if function == "Ref":
        return f"${{{argument}}}"
    if function == "Fn::GetAtt":
        return f"${{{argument[0]}.{argument[1]}}}"
    if function == "Fn::Join":
        separator, parts = argument
        return separator.join(str(render(part)) for part in parts)
    return value


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(policy_document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Each statement with Action and Resource as rendered lists."""
    for statement in policy_document["Statement"]:
        rendered = dict(statement)
        for key in ("Action", "Resource"):
            if key in statement:
                rendered[key] = [render(item) for item in as_list(statement[key])]
        yield rendered
