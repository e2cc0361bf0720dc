"""The Connect rest-json wire format, read from botocore's own service model.

Routing and validation both come from the model botocore ships, so the emulator accepts exactly
the requests a stock boto3 client sends and refuses what the service would refuse.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape, StructureShape
from botocore.validate import ParamValidator, ValidationErrors

# Operations the emulator serves; everything else answers 404 UnknownOperationException.
SUPPORTED_OPERATIONS = (
    "DescribeInstance",
    "ListUsers",
    "DescribeUser",
    "SearchUsers",
    "CreateUser",
    "ListUserProficiencies",
    "AssociateUserProficiencies",
    "UpdateUserProficiencies",
    "DisassociateUserProficiencies",
    "ListPredefinedAttributes",
    "DescribePredefinedAttribute",
    "CreatePredefinedAttribute",
    "UpdatePredefinedAttribute",
    "ListRoutingProfiles",
    "ListSecurityProfiles",
    "ListUserHierarchyGroups",
)


class ConnectError(Exception):
    """An error the service answers with: modelled code, HTTP status, message."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.operation: str | None = None  # set once the request is routed, for the counters


def invalid_parameter(message: str) -> ConnectError:
    return ConnectError("InvalidParameterException", message, 400)


def invalid_request(message: str) -> ConnectError:
    return ConnectError("InvalidRequestException", message, 400)


def not_found(message: str) -> ConnectError:
    return ConnectError("ResourceNotFoundException", message, 404)


@dataclass(frozen=True, slots=True)
class Route:
    operation: OperationModel
    method: str
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Request:
    operation: str
    params: dict[str, Any]


def _route_for(operation: OperationModel) -> Route:
    uri = operation.http["requestUri"].split("?", 1)[0]
    # `{Name}` matches one path segment; `{Name+}` (greedy) is not used by these operations.
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(uri))
    return Route(operation, operation.http["method"], re.compile(f"^{regex}$"))


class WireModel:
    """Turns HTTP requests into validated operation parameters, per botocore's Connect model."""

    def __init__(self, service_model: ServiceModel | None = None) -> None:
        self.service = service_model or botocore.session.get_session().get_service_model("connect")
        self.routes = [_route_for(self.service.operation_model(name)) for name in SUPPORTED_OPERATIONS]

    def parse(self, method: str, raw_path: str, body: bytes) -> Request:
        path, _, query = raw_path.partition("?")
        for route in self.routes:
            match = route.pattern.match(path)
            if match and route.method == method:
                try:
                    params = self._params(route.operation, match.groupdict(), parse_qs(query), body)
                    validate(params, route.operation.input_shape)
                except ConnectError as error:
                    error.operation = route.operation.name
                    raise
                return Request(route.operation.name, params)
        raise ConnectError("UnknownOperationException", f"No operation for {method} {path}", 404)

    @staticmethod
    def _params(
        operation: OperationModel, labels: dict[str, str], query: dict[str, list[str]], body: bytes
    ) -> dict[str, Any]:
        shape = operation.input_shape
        assert isinstance(shape, StructureShape)
        try:
            params: dict[str, Any] = json.loads(body) if body else {}
        except json.JSONDecodeError as error:
            raise ConnectError("SerializationException", f"Request body is not JSON: {error}") from error
        if not isinstance(params, dict):
            raise ConnectError("SerializationException", "Request body must be a JSON object")
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            wire_name = member.serialization.get("name", name)
            if location == "uri" and wire_name in labels:
                params[name] = unquote(labels[wire_name])
            elif location == "querystring" and wire_name in query:
                raw = query[wire_name][0]
                params[name] = _coerce(raw, member, wire_name)
        return params

    def error_shape_names(self) -> set[str]:
        return {error.name for error in self.service.error_shapes}


def _coerce(raw: str, shape: Shape, wire_name: str) -> Any:
    if shape.type_name in ("integer", "long"):
        try:
            return int(raw)
        except ValueError as error:
            raise invalid_parameter(f"{wire_name} must be an integer, got {raw!r}") from error
    return raw


class _StrictValidator(ParamValidator):  # type: ignore[misc]  # botocore is untyped
    """botocore's validator checks types, required and unknown members and minimums; the service
    also enforces maximums and enums, so add those."""

    def __init__(self) -> None:
        super().__init__()
        self.extra: list[str] = []

    def _validate_string(self, param: Any, shape: Shape, errors: ValidationErrors, name: str) -> None:
        super()._validate_string(param, shape, errors, name)
        if isinstance(param, str):
            self._check_max(len(param), shape, name, "length")
            enum = shape.metadata.get("enum")
            if enum and param not in enum:
                self.extra.append(f"{name or 'input'} must be one of {', '.join(enum)}, got {param!r}")

    def _validate_list(self, param: Any, shape: Shape, errors: ValidationErrors, name: str) -> None:
        super()._validate_list(param, shape, errors, name)
        if isinstance(param, list | tuple):
            self._check_max(len(param), shape, name, "length")

    def _validate_integer(self, param: Any, shape: Shape, errors: ValidationErrors, name: str) -> None:
        super()._validate_integer(param, shape, errors, name)
        if isinstance(param, int):
            self._check_max(param, shape, name, "value")

    def _validate_float(self, param: Any, shape: Shape, errors: ValidationErrors, name: str) -> None:
        super()._validate_float(param, shape, errors, name)
        if isinstance(param, int | float) and not isinstance(param, bool):
            if not math.isfinite(param):
                self.extra.append(f"{name} must be a finite number")
            else:
                self._check_max(param, shape, name, "value")

    def _check_max(self, value: float, shape: Shape, name: str, what: str) -> None:
        maximum = shape.metadata.get("max")
        if maximum is not None and value > maximum:
            self.extra.append(
                f"Invalid {what} for parameter {name}, value: {value}, valid max {what}: {maximum}"
            )


def validate(params: Mapping[str, Any], shape: Shape | None) -> None:
    """Raise InvalidParameterException listing every way `params` breaks the model's constraints."""
    if shape is None:
        return
    validator = _StrictValidator()
    report = validator.validate(params, shape)
    problems = ([report.generate_report()] if report.has_errors() else []) + validator.extra
    if problems:
        raise invalid_parameter("\n".join(problems))
