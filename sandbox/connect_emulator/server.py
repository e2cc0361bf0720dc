"""The Connect emulator's HTTP server: real paths, rest-json, `x-amzn-ErrorType` errors.

Start it in-process with `ConnectEmulator(...).start()` (a free port on 127.0.0.1) and point boto3
at `emulator.endpoint_url` through `AWS_ENDPOINT_URL_CONNECT`. Counters are read in-process
(`emulator.stats()`) or over HTTP at `GET /_emulator/stats`.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from connect_emulator.instance import Instance
from connect_emulator.throttle import Quota, Throttle
from connect_emulator.wire import ConnectError, Request, WireModel, not_found

log = logging.getLogger(__name__)

WRITE_OPERATIONS = frozenset(
    {"AssociateUserProficiencies", "UpdateUserProficiencies", "DisassociateUserProficiencies"}
)
ADMIN_PREFIX = "/_emulator/"


@dataclass(frozen=True, slots=True)
class Faults:
    """Injected InternalServiceException (500) before the operation runs, so nothing is applied."""

    rate: float = 0.0
    seed: int = 0
    operations: frozenset[str] | None = None  # None: every operation


@dataclass(frozen=True, slots=True)
class WriteRecord:
    """One applied write call, so tests can prove no write was sent twice."""

    operation: str
    user_id: str
    proficiencies: tuple[tuple[str, str, float | None], ...]


@dataclass(slots=True)
class Stats:
    requests: Counter[str] = field(default_factory=Counter)  # every request that named an operation
    calls: Counter[str] = field(default_factory=Counter)  # requests the operation answered 2xx
    throttles: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # 4xx answered by the operation
    writes: list[WriteRecord] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "calls": dict(self.calls),
            "throttles": dict(self.throttles),
            "faults": dict(self.faults),
            "errors": dict(self.errors),
            "writes": [
                {
                    "operation": w.operation,
                    "user_id": w.user_id,
                    "proficiencies": [list(p) for p in w.proficiencies],
                }
                for w in self.writes
            ],
        }


_HANDLERS = {
    "ListUsers": Instance.list_users,
    "DescribeUser": Instance.describe_user,
    "SearchUsers": Instance.search_users,
    "CreateUser": Instance.create_user,
    "ListUserProficiencies": Instance.list_user_proficiencies,
    "AssociateUserProficiencies": Instance.associate_user_proficiencies,
    "UpdateUserProficiencies": Instance.update_user_proficiencies,
    "DisassociateUserProficiencies": Instance.disassociate_user_proficiencies,
    "ListPredefinedAttributes": Instance.list_predefined_attributes,
    "DescribePredefinedAttribute": Instance.describe_predefined_attribute,
    "CreatePredefinedAttribute": Instance.create_predefined_attribute,
    "UpdatePredefinedAttribute": Instance.update_predefined_attribute,
}


class ConnectService:
    """Dispatches parsed requests to instances, behind the throttle and fault injection."""

    def __init__(
        self,
        *,
        quota: Quota | None = None,
        quotas: dict[str, Quota] | None = None,
        faults: Faults | None = None,
    ) -> None:
        self.wire = WireModel()
        self.instances: dict[str, Instance] = {}
        self.throttle = Throttle(quota, quotas)
        self.faults = faults or Faults()
        self._random = random.Random(self.faults.seed)
        self._stats = Stats()
        self._lock = threading.Lock()

    def add_instance(self, instance: Instance) -> Instance:
        self.instances[instance.id] = instance
        return instance

    def configure(
        self,
        *,
        quota: Quota | None = None,
        quotas: dict[str, Quota] | None = None,
        faults: Faults | None = None,
    ) -> None:
        """Change quotas or faults while running; buckets start full again."""
        if quota is not None or quotas is not None:
            self.throttle = Throttle(quota or self.throttle.default, quotas or self.throttle.per_operation)
        if faults is not None:
            self.faults = faults
            self._random = random.Random(faults.seed)

    def stats(self) -> Stats:
        with self._lock:
            return Stats(
                Counter(self._stats.requests),
                Counter(self._stats.calls),
                Counter(self._stats.throttles),
                Counter(self._stats.faults),
                Counter(self._stats.errors),
                list(self._stats.writes),
            )

    def reset_stats(self) -> None:
        with self._lock:
            self._stats = Stats()

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """Answer one request: (HTTP status, JSON body). Errors carry `__type` for the header."""
        try:
            request = self.wire.parse(method, path, body)
        except ConnectError as error:
            if error.operation:
                self._count(error.operation, "requests")
                self._count(error.operation, "errors")
            return _error(error)
        operation = request.operation
        self._count(operation, "requests")
        if not self.throttle.allow(operation):
            self._count(operation, "throttles")
            return _error(ConnectError("ThrottlingException", "Rate exceeded", 429))
        if self._inject_fault(operation):
            self._count(operation, "faults")
            return _error(ConnectError("InternalServiceException", "Injected internal failure", 500))
        try:
            result = self._dispatch(request)
        except ConnectError as error:
            self._count(operation, "errors")
            return _error(error)
        with self._lock:
            self._stats.calls[operation] += 1
            if operation in WRITE_OPERATIONS:
                self._stats.writes.append(_write_record(request))
        return 200, result

    def _dispatch(self, request: Request) -> dict[str, Any]:
        instance_id = request.params["InstanceId"]
        instance = self.instances.get(instance_id)
        if instance is None:
            raise not_found(f"Instance {instance_id} not found")
        return _HANDLERS[request.operation](instance, request.params)

    def _inject_fault(self, operation: str) -> bool:
        faults = self.faults
        if faults.rate <= 0 or (faults.operations is not None and operation not in faults.operations):
            return False
        with self._lock:
            return self._random.random() < faults.rate

    def _count(self, operation: str, counter: str) -> None:
        with self._lock:
            getattr(self._stats, counter)[operation] += 1


def _write_record(request: Request) -> WriteRecord:
    entries = tuple(
        (item["AttributeName"], item["AttributeValue"], item.get("Level"))
        for item in request.params["UserProficiencies"]
    )
    return WriteRecord(request.operation, request.params["UserId"], entries)


def _error(error: ConnectError) -> tuple[int, dict[str, Any]]:
    return error.status, {"__type": error.code, "Message": error.message}


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as boto3's connection pool expects
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        service = self.server.service
        if self.path.startswith(ADMIN_PREFIX):
            status, payload = _admin(service, self.command, self.path, body)
        else:
            status, payload = service.handle(self.command, self.path, body)
        self._send(status, payload)

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        error_type = payload.pop("__type", None)
        data = json.dumps(payload).encode() if payload or error_type else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000")
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def _admin(service: ConnectService, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """Test and benchmark controls: stats, reset, quotas and faults."""
    action = path[len(ADMIN_PREFIX) :].partition("?")[0]
    if method == "GET" and action == "stats":
        return 200, service.stats().as_dict()
    if method == "POST" and action == "reset-stats":
        service.reset_stats()
        return 200, {}
    if method == "POST" and action == "configure":
        options = json.loads(body or b"{}")
        quota = Quota(**options["quota"]) if "quota" in options else None
        quotas = {name: Quota(**q) for name, q in options.get("quotas", {}).items()} or None
        faults = None
        if "faults" in options:
            spec = options["faults"]
            operations = frozenset(spec["operations"]) if spec.get("operations") else None
            faults = Faults(rate=spec.get("rate", 0.0), seed=spec.get("seed", 0), operations=operations)
        service.configure(quota=quota, quotas=quotas, faults=faults)
        return 200, {}
    return 404, {"__type": "UnknownOperationException", "Message": f"No admin action {method} {action}"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], service: ConnectService) -> None:
        super().__init__(address, _RequestHandler)
        self.service = service


class ConnectEmulator:
    """Runs a `ConnectService` over HTTP on a background thread."""

    def __init__(self, service: ConnectService, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.service = service
        self._server = _Server((host, port), service)
        self._thread = threading.Thread(target=self.serve_forever, name="connect-emulator", daemon=True)

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def serve_forever(self) -> None:
        # A short poll keeps stop() quick; the server is idle between tests anyway.
        self._server.serve_forever(poll_interval=0.05)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
