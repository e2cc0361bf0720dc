"""Service Quotas' `ListServiceQuotas` for ServiceCode `connect`, served by the Connect emulator.

moto 5.2.5 implements only ListAWSDefaultServiceQuotas and GetServiceQuota, for `vpc` alone, so
the emulator answers Service Quotas' JSON 1.1 protocol itself (`POST /` with
`X-Amz-Target: ServiceQuotasV20190624.ListServiceQuotas`; reach it with
AWS_ENDPOINT_URL_SERVICE_QUOTAS). The applied value of each "Rate of <API> API requests" quota is
the rate the emulator's own bucket for that API enforces, so what it reports is what it meters.

As strict as AWS: the request is validated against botocore's model (MaxResults 1-100, which
botocore does not check above), NextTokens are opaque and bound to the request that made them
(another request's token is InvalidPaginationTokenException), an unknown service is
NoSuchResourceException, and the authorizer is asked first (AccessDeniedException, HTTP 400 as
Service Quotas sends it). Quotas can be hidden, as an account may simply not list one.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING, Any

from connect_emulator.wire import SUPPORTED_OPERATIONS

if TYPE_CHECKING:
    from connect_emulator.server import ConnectService

TARGET_PREFIX = "ServiceQuotasV20190624."
ACTION = "servicequotas:ListServiceQuotas"
SERVICE_CODE = "connect"
MAX_PAGE = 100
# The codes Service Quotas gives these quotas (public snapshots of the connect service's list).
KNOWN_CODES = {
    "ListUsers": "L-CCC38177",
    "DescribeUser": "L-EE6F0D82",
    "SearchUsers": "L-E2C35CCE",
    "ListUserProficiencies": "L-A59C54EE",
    "AssociateUserProficiencies": "L-2CCBA953",
    "UpdateUserProficiencies": "L-5A3065E6",
    "DisassociateUserProficiencies": "L-53E03705",
    "ListPredefinedAttributes": "L-BE2447CC",
    "DescribePredefinedAttribute": "L-753B94AB",
}
# Other Connect quotas in the same list, so a client must pick its own out of many.
OTHER_QUOTAS = (
    ("L-9A46857E", "Users per instance", 500.0),
    ("L-22922690", "Contact flows per instance", 100.0),
    ("L-D3E7BE26", "Routing profiles per instance", 500.0),
)

Response = tuple[int, dict[str, Any]]


def quota_code(operation: str) -> str:
    """The known code, or a stable made-up one for the APIs this project does not call."""
    return KNOWN_CODES.get(operation) or "L-" + hashlib.sha256(operation.encode()).hexdigest()[:8].upper()


def rate_operations() -> list[str]:
    """Every Connect operation in botocore's model: each has a request-rate quota."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("connect")
    return sorted(model.operation_names)


class ServiceQuotasStandIn:
    """ListServiceQuotas over the emulator's throttle; one per `ConnectService`."""

    def __init__(self, service: ConnectService) -> None:
        self.service = service
        self.hidden: set[str] = set()  # quota codes left out of the list
        self.requests = 0
        self._operations = rate_operations()

    def handle(self, target: str, body: bytes) -> Response:
        self.requests += 1
        operation = target.removeprefix(TARGET_PREFIX)
        if operation != "ListServiceQuotas":
            return _error(
                "UnknownOperationException", f"The emulator serves only ListServiceQuotas, not {operation}"
            )
        try:
            params = json.loads(body or b"{}")
        except json.JSONDecodeError:
            return _error("SerializationException", "The request body is not JSON")
        problem = self._validate(params)
        if problem is not None:
            return problem
        denied = self._authorize()
        if denied is not None:
            return denied
        if params["ServiceCode"] != SERVICE_CODE:
            return _error("NoSuchResourceException", f"The service {params['ServiceCode']} does not exist")
        return self._page(params)

    def _validate(self, params: dict[str, Any]) -> Response | None:
        if not isinstance(params.get("ServiceCode"), str) or not params["ServiceCode"]:
            return _error("IllegalArgumentException", "ServiceCode is required")
        size = params.get("MaxResults", MAX_PAGE)
        if not isinstance(size, int) or not 1 <= size <= MAX_PAGE:
            return _error(
                "IllegalArgumentException", f"MaxResults must be from 1 to {MAX_PAGE}, got {size!r}"
            )
        level = params.get("QuotaAppliedAtLevel", "ACCOUNT")
        if level not in ("ACCOUNT", "RESOURCE", "ALL"):
            return _error(
                "IllegalArgumentException", f"QuotaAppliedAtLevel {level!r} is not ACCOUNT, RESOURCE or ALL"
            )
        unknown = set(params) - {"ServiceCode", "NextToken", "MaxResults", "QuotaCode", "QuotaAppliedAtLevel"}
        if unknown:
            return _error("SerializationException", f"Unknown members {sorted(unknown)}")
        return None

    def _authorize(self) -> Response | None:
        authorizer = self.service.authorizer
        if authorizer is None:
            return None
        reason = authorizer.authorize(ACTION, {"*": "*"})
        if reason is None:
            return None
        because = reason.removeprefix("because ").strip()
        return _error(
            "AccessDeniedException",
            f"User: {self.service.caller_arn} is not authorized to perform: {ACTION} because {because}",
        )

    def _page(self, params: dict[str, Any]) -> Response:
        quotas = [q for q in self._quotas() if q["QuotaCode"] not in self.hidden]
        if params.get("QuotaCode"):
            quotas = [q for q in quotas if q["QuotaCode"] == params["QuotaCode"]]
        binding = _binding(params)
        start = 0
        if params.get("NextToken"):
            decoded = _decode(params["NextToken"])
            if decoded is None or decoded[0] != binding or not 0 < decoded[1] < len(quotas):
                return _error("InvalidPaginationTokenException", "Invalid pagination token")
            start = decoded[1]
        size = int(params.get("MaxResults", MAX_PAGE))
        page: dict[str, Any] = {"Quotas": quotas[start : start + size]}
        if start + size < len(quotas):
            page["NextToken"] = _encode(binding, start + size)
        return 200, page

    def _quotas(self) -> list[dict[str, Any]]:
        region = "us-east-1"
        account = "123456789012"
        instances = list(self.service.instances.values())
        if instances:
            region, account = instances[0].region, instances[0].account_id
        throttle = self.service.throttle
        served = set(SUPPORTED_OPERATIONS)
        quotas = []
        for operation in self._operations:
            rate = (
                throttle.per_operation.get(operation, throttle.default).rate if operation in served else 2.0
            )
            quotas.append(
                _quota(
                    region,
                    account,
                    quota_code(operation),
                    f"Rate of {operation} API requests",
                    rate,
                    rate=True,
                )
            )
        quotas += [
            _quota(region, account, code, name, value, rate=False) for code, name, value in OTHER_QUOTAS
        ]
        return sorted(quotas, key=lambda quota: quota["QuotaCode"])


def _quota(region: str, account: str, code: str, name: str, value: float, *, rate: bool) -> dict[str, Any]:
    quota: dict[str, Any] = {
        "ServiceCode": SERVICE_CODE,
        "ServiceName": "Amazon Connect",
        "QuotaArn": f"arn:aws:servicequotas:{region}:{account}:{SERVICE_CODE}/{code}",
        "QuotaCode": code,
        "QuotaName": name,
        "Value": float(value),
        "Unit": "None",
        "Adjustable": True,
        "GlobalQuota": False,
        "QuotaAppliedAtLevel": "ACCOUNT",
    }
    if rate:
        quota["Period"] = {"PeriodValue": 1, "PeriodUnit": "SECOND"}
    return quota


def _binding(params: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(
            [params["ServiceCode"], params.get("QuotaCode"), params.get("QuotaAppliedAtLevel")]
        ).encode()
    ).hexdigest()[:16]


def _encode(binding: str, offset: int) -> str:
    return base64.b64encode(f"{binding}:{offset}".encode()).decode()


def _decode(token: object) -> tuple[str, int] | None:
    if not isinstance(token, str):
        return None
    try:
        binding, _, offset = base64.b64decode(token, validate=True).decode().partition(":")
        return binding, int(offset)
    except ValueError:
        return None


def _error(code: str, message: str) -> Response:
    # Service Quotas answers its client errors with HTTP 400, AccessDeniedException included.
    return 400, {"__type": code, "message": message}
