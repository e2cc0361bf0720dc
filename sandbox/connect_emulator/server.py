"""The Connect emulator's HTTP server: real paths, rest-json, `x-amzn-ErrorType` errors.

Start it in-process with `ConnectEmulator(...).start()` (a free port on 127.0.0.1) and point boto3
at `emulator.endpoint_url` through `AWS_ENDPOINT_URL_CONNECT`. Counters are read in-process
(`service.stats()`) or over HTTP at `GET /_emulator/stats`; every request, in order and with the
emulator clock's time, at `service.request_log()` or `GET /_emulator/requests`.

A routed request goes through, in this order: the authorizer (403), outage windows (500, nothing
applied), the per-API throttle (429), faults `when="before"` (500, nothing applied), the
operation, then faults `when="after"` (500 although the operation ran: a lost response).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Self

from connect_emulator.authorization import (
    DEFAULT_CALLER_ARN,
    Authorizer,
    denial_message,
    request_resources,
)
from connect_emulator.instance import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    Instance,
    OnAssociateExisting,
    OnDisassociateMissing,
)
from connect_emulator.service_quotas import TARGET_PREFIX, ServiceQuotasStandIn
from connect_emulator.throttle import Clock, Quota, Throttle
from connect_emulator.wire import SUPPORTED_OPERATIONS, ConnectError, Request, WireModel, not_found

log = logging.getLogger(__name__)

WRITE_OPERATIONS = frozenset(
    {"AssociateUserProficiencies", "UpdateUserProficiencies", "DisassociateUserProficiencies"}
)
ADMIN_PREFIX = "/_emulator/"

FaultTiming = Literal["before", "after"]
ProficiencyEntry = tuple[str, str, float | None]


def _check_operations(names: Iterable[str]) -> None:
    """A fault or outage aimed at a misspelt operation would never fire and prove nothing."""
    unknown = sorted(set(names) - set(SUPPORTED_OPERATIONS))
    if unknown:
        raise ValueError(f"Not operations the emulator serves: {', '.join(unknown)}")


@dataclass(frozen=True, slots=True)
class Faults:
    """Injected InternalServiceException (500) on a seeded share of requests.

    `when="before"`: the operation does not run, so nothing is applied. `when="after"`: the
    operation runs (a write is applied) and only then is the answer replaced by the 500, as when a
    response is lost on its way back; only requests the operation answered 2xx are drawn for.
    The same seed and the same requests give the same faults."""

    rate: float = 0.0
    seed: int = 0
    operations: frozenset[str] | None = None  # None: every operation
    when: FaultTiming = "before"

    def __post_init__(self) -> None:
        _check_operations(self.operations or ())
        if self.when not in ("before", "after"):
            raise ValueError(f"Faults.when must be 'before' or 'after', got {self.when!r}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"Faults.rate must be from 0 to 1, got {self.rate}")

    def covers(self, operation: str) -> bool:
        return self.rate > 0 and (self.operations is None or operation in self.operations)


@dataclass(frozen=True, slots=True)
class Outage:
    """A window of one API's requests answered 500 InternalServiceException, nothing applied.

    Counted by that operation's requests (authorized ones, before the throttle), never by time:
    `first_calls=N` fails requests 1..N; `start_after=S, count=N` fails requests S+1..S+N."""

    operation: str
    first_calls: int = 0
    start_after: int = 0
    count: int = 0

    def __post_init__(self) -> None:
        _check_operations([self.operation])
        if min(self.first_calls, self.start_after, self.count) < 0:
            raise ValueError(f"Outage numbers must not be negative: {self}")
        if self.first_calls and (self.start_after or self.count):
            raise ValueError("Give an outage either first_calls, or start_after and count")

    def covers(self, number: int) -> bool:
        """Whether the operation's `number`-th request (from 1) falls in the window."""
        start = 0 if self.first_calls else self.start_after
        return start < number <= start + (self.first_calls or self.count)


@dataclass(frozen=True, slots=True)
class WriteRecord:
    """One applied write call, so tests can prove no write was sent twice."""

    operation: str
    user_id: str
    proficiencies: tuple[ProficiencyEntry, ...]


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as the emulator saw it, for tests that prove ordering (two jobs never
    interleave) or pacing (read from the emulator's clock, so a fake clock gives exact times).

    `outcome`: answered (2xx), error (4xx from the model or the operation), denied (403),
    outage, throttled (429), fault (500 before running), lost (ran, then 500), unrouted (404)."""

    sequence: int
    time: float
    operation: str | None
    instance_id: str | None
    user_id: str | None
    status: int
    error: str | None
    outcome: str
    proficiencies: tuple[ProficiencyEntry, ...] | None = None  # the entries of a write call

    @property
    def applied(self) -> bool:
        """Whether the operation ran to completion (for a write: the change holds)."""
        return self.outcome in ("answered", "lost")

    def as_dict(self) -> dict[str, Any]:
        record = dataclasses.asdict(self)
        if self.proficiencies is not None:
            record["proficiencies"] = [list(p) for p in self.proficiencies]
        record["applied"] = self.applied
        return record


@dataclass(slots=True)
class Stats:
    requests: Counter[str] = field(default_factory=Counter)  # every request that named an operation
    calls: Counter[str] = field(default_factory=Counter)  # requests the operation answered 2xx
    throttles: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)  # injected 500s: before, after, outages
    errors: Counter[str] = field(default_factory=Counter)  # 4xx answered by the operation
    writes: list[WriteRecord] = field(default_factory=list)  # applied writes, lost responses too
    denials: Counter[str] = field(default_factory=Counter)  # 403s from the authorizer
    outages: Counter[str] = field(default_factory=Counter)  # 500s from an outage window
    lost_responses: Counter[str] = field(default_factory=Counter)  # applied, then answered 500

    def copy(self) -> Stats:
        counters = {
            f.name: Counter(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name != "writes"
        }
        return Stats(**counters, writes=list(self.writes))

    def as_dict(self) -> dict[str, Any]:
        counters = {
            f.name: dict(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name != "writes"
        }
        return {
            **counters,
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
    "DescribeInstance": Instance.describe_instance,
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
    "ListRoutingProfiles": Instance.list_routing_profiles,
    "ListSecurityProfiles": Instance.list_security_profiles,
    "ListUserHierarchyGroups": Instance.list_user_hierarchy_groups,
}

Response = tuple[int, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class _Received:
    """What the log needs about a request before it is answered."""

    sequence: int
    time: float
    request: Request | None = None


def _fault_list(faults: Faults | Sequence[Faults] | None) -> tuple[Faults, ...]:
    if faults is None:
        return ()
    return (faults,) if isinstance(faults, Faults) else tuple(faults)


class ConnectService:
    """Dispatches parsed requests to instances, behind the authorizer, outages, the throttle and
    fault injection; counts and logs every request."""

    def __init__(
        self,
        *,
        quota: Quota | None = None,
        quotas: dict[str, Quota] | None = None,
        faults: Faults | Sequence[Faults] | None = None,
        outages: Sequence[Outage] = (),
        clock: Clock = time.monotonic,
        authorizer: Authorizer | None = None,
        caller_arn: str = DEFAULT_CALLER_ARN,
    ) -> None:
        self.wire = WireModel()
        self.instances: dict[str, Instance] = {}
        self.clock = clock
        self.throttle = Throttle(quota, quotas, clock=clock)
        self.authorizer = authorizer
        self.caller_arn = caller_arn
        self._lock = threading.Lock()
        self._set_faults(_fault_list(faults))
        self._set_outages(outages)
        self._stats = Stats()
        self._log: list[RequestRecord] = []
        self._sequence = 0
        # Service Quotas' ListServiceQuotas for `connect`: reports the rates this throttle enforces.
        self.service_quotas = ServiceQuotasStandIn(self)

    @property
    def faults(self) -> tuple[Faults, ...]:
        return tuple(faults for faults, _ in self._faults)

    @property
    def outages(self) -> tuple[Outage, ...]:
        return self._outages

    def add_instance(self, instance: Instance) -> Instance:
        self.instances[instance.id] = instance
        return instance

    def configure(
        self,
        *,
        quota: Quota | None = None,
        quotas: dict[str, Quota] | None = None,
        faults: Faults | Sequence[Faults] | None = None,
        outages: Sequence[Outage] | None = None,
        **behaviour: Any,
    ) -> None:
        """Change quotas, faults, outages or instances' `Behaviour` fields while running. Buckets
        start full again, fault draws from their seeds again, outage windows count from zero.
        Bad options raise before anything changes."""
        changes = behaviour_changes(behaviour)
        behaviours = {
            instance_id: dataclasses.replace(instance.behaviour, **changes)
            for instance_id, instance in self.instances.items()
        }
        if quota is not None or quotas is not None:
            self.throttle = Throttle(
                quota or self.throttle.default, quotas or self.throttle.per_operation, clock=self.clock
            )
        if faults is not None:
            self._set_faults(_fault_list(faults))
        if outages is not None:
            self._set_outages(outages)
        for instance_id, new_behaviour in behaviours.items():
            self.instances[instance_id].behaviour = new_behaviour

    def stats(self) -> Stats:
        with self._lock:
            return self._stats.copy()

    def request_log(self) -> list[RequestRecord]:
        """Every request since the last reset, in the order they arrived."""
        with self._lock:
            return sorted(self._log, key=lambda record: record.sequence)

    def reset_stats(self) -> None:
        """Clear the counters and the request log (outage windows keep counting)."""
        with self._lock:
            self._stats = Stats()
            self._log = []

    def handle(self, method: str, path: str, body: bytes) -> Response:
        """Answer one request: (HTTP status, JSON body). Errors carry `__type` for the header."""
        received = self._receive()
        try:
            request = self.wire.parse(method, path, body)
        except ConnectError as error:
            outcome = "unrouted"
            if error.operation:
                outcome = "error"
                self._count(error.operation, "requests", "errors")
            return self._answer(received, _error(error), outcome, operation=error.operation)
        received = dataclasses.replace(received, request=request)
        operation = request.operation
        self._count(operation, "requests")
        denial = self._authorize(request)
        if denial is not None:
            self._count(operation, "denials")
            return self._answer(received, _error(denial), "denied")
        if self._in_outage(operation):
            self._count(operation, "outages", "faults")
            return self._answer(received, _internal_error("Service unavailable (outage window)"), "outage")
        if not self.throttle.allow(operation):
            self._count(operation, "throttles")
            return self._answer(
                received, _error(ConnectError("ThrottlingException", "Rate exceeded", 429)), "throttled"
            )
        if self._draw_fault("before", operation):
            self._count(operation, "faults")
            return self._answer(received, _internal_error("Injected internal failure"), "fault")
        return self._run(received, request)

    def _run(self, received: _Received, request: Request) -> Response:
        operation = request.operation
        try:
            result = self._dispatch(request)
        except ConnectError as error:
            self._count(operation, "errors")
            return self._answer(received, _error(error), "error")
        with self._lock:
            if operation in WRITE_OPERATIONS:
                self._stats.writes.append(
                    WriteRecord(operation, request.params["UserId"], _write_entries(request))
                )
        if self._draw_fault("after", operation):
            self._count(operation, "faults", "lost_responses")
            return self._answer(received, _internal_error("Injected internal failure"), "lost")
        self._count(operation, "calls")
        return self._answer(received, (200, result), "answered")

    def _dispatch(self, request: Request) -> dict[str, Any]:
        instance_id = request.params["InstanceId"]
        instance = self.instances.get(instance_id)
        if instance is None:
            raise not_found(f"Instance {instance_id} not found")
        return _HANDLERS[request.operation](instance, request.params)

    # --- the gates --------------------------------------------------------------------------------

    def _authorize(self, request: Request) -> ConnectError | None:
        if self.authorizer is None:
            return None
        action = f"connect:{request.operation}"
        resources = request_resources(self._instance_arn(request.params["InstanceId"]), _user_id(request))
        reason = self.authorizer.authorize(action, resources)
        if reason is None:
            return None
        message = denial_message(self.caller_arn, action, resources, reason)
        return ConnectError("AccessDeniedException", message, 403)

    def _instance_arn(self, instance_id: str) -> str:
        """The instance's own ARN; for an unknown instance, one in the service's default account."""
        instance = self.instances.get(instance_id)
        if instance is not None:
            return instance.arn
        return f"arn:aws:connect:{DEFAULT_REGION}:{DEFAULT_ACCOUNT_ID}:instance/{instance_id}"

    def _set_outages(self, outages: Sequence[Outage]) -> None:
        with self._lock:
            self._outages = tuple(outages)
            self._outage_counts: Counter[str] = Counter()

    def _in_outage(self, operation: str) -> bool:
        windows = [outage for outage in self._outages if outage.operation == operation]
        if not windows:
            return False
        with self._lock:
            self._outage_counts[operation] += 1
            number = self._outage_counts[operation]
        return any(outage.covers(number) for outage in windows)

    def _set_faults(self, faults: tuple[Faults, ...]) -> None:
        with self._lock:
            self._faults = [(spec, random.Random(spec.seed)) for spec in faults]

    def _draw_fault(self, when: FaultTiming, operation: str) -> bool:
        """One draw from every matching fault spec's own generator, so each spec is reproducible
        from its seed whatever the others do."""
        with self._lock:
            draws = [
                rng.random() < spec.rate
                for spec, rng in self._faults
                if spec.when == when and spec.covers(operation)
            ]
        return any(draws)

    # --- bookkeeping ------------------------------------------------------------------------------

    def _receive(self) -> _Received:
        now = self.clock()
        with self._lock:
            self._sequence += 1
            return _Received(self._sequence, now)

    def _answer(
        self, received: _Received, response: Response, outcome: str, *, operation: str | None = None
    ) -> Response:
        status, payload = response
        request = received.request
        params = request.params if request else {}
        record = RequestRecord(
            sequence=received.sequence,
            time=received.time,
            operation=request.operation if request else operation,
            instance_id=params.get("InstanceId"),
            user_id=params.get("UserId"),
            status=status,
            error=payload.get("__type"),
            outcome=outcome,
            proficiencies=_write_entries(request)
            if request and request.operation in WRITE_OPERATIONS
            else None,
        )
        with self._lock:
            self._log.append(record)
        return response

    def _count(self, operation: str, *counters: str) -> None:
        with self._lock:
            for counter in counters:
                getattr(self._stats, counter)[operation] += 1


def _user_id(request: Request) -> str | None:
    user_id = request.params.get("UserId")
    return str(user_id) if user_id is not None else None


def _write_entries(request: Request) -> tuple[ProficiencyEntry, ...]:
    return tuple(
        (item["AttributeName"], item["AttributeValue"], item.get("Level"))
        for item in request.params["UserProficiencies"]
    )


def _error(error: ConnectError) -> Response:
    return error.status, {"__type": error.code, "Message": error.message}


def _internal_error(message: str) -> Response:
    return _error(ConnectError("InternalServiceException", message, 500))


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
        target = self.headers.get("X-Amz-Target", "")
        if self.command == "POST" and self.path == "/" and target.startswith(TARGET_PREFIX):
            self._send_json(*service.service_quotas.handle(target, body))
            return
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

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        """The JSON 1.1 protocol: errors carry `__type` in the body."""
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def _admin(service: ConnectService, method: str, path: str, body: bytes) -> Response:
    """Test and benchmark controls: stats, the request log, reset, and `configure`."""
    action = path[len(ADMIN_PREFIX) :].partition("?")[0]
    if method == "GET" and action == "stats":
        return 200, service.stats().as_dict()
    if method == "GET" and action == "requests":
        return 200, {"requests": [record.as_dict() for record in service.request_log()]}
    if method == "POST" and action == "reset-stats":
        service.reset_stats()
        return 200, {}
    if method == "POST" and action == "configure":
        try:
            _configure(service, json.loads(body or b"{}"))
        except (TypeError, ValueError, KeyError, AttributeError) as error:
            return 400, {
                "__type": "InvalidParameterException",
                "Message": f"Bad configure options: {error!r}",
            }
        return 200, {}
    return 404, {"__type": "UnknownOperationException", "Message": f"No admin action {method} {action}"}


def _configure(service: ConnectService, options: dict[str, Any]) -> None:
    """`POST /_emulator/configure` with any of: `quota` {rate, burst}; `quotas` {operation: quota};
    `faults` (one spec or a list) {rate, seed, operations, when}; `outages` [{operation,
    first_calls | start_after + count}]; `behaviour` {on_associate_existing,
    on_disassociate_missing, max_proficiencies_per_agent, page_cap, search_exact_case_sensitive}."""
    quota = Quota(**options["quota"]) if "quota" in options else None
    quotas = {name: Quota(**q) for name, q in options.get("quotas", {}).items()} or None
    faults = None
    if "faults" in options:
        specs = options["faults"]
        faults = [faults_from_dict(spec) for spec in (specs if isinstance(specs, list) else [specs])]
    outages = [Outage(**spec) for spec in options["outages"]] if "outages" in options else None
    service.configure(
        quota=quota, quotas=quotas, faults=faults, outages=outages, **options.get("behaviour", {})
    )


def faults_from_dict(spec: Mapping[str, Any]) -> Faults:
    """A `Faults` from its JSON form (`operations` a list)."""
    operations = frozenset(spec["operations"]) if spec.get("operations") else None
    return Faults(
        rate=float(spec.get("rate", 0.0)),
        seed=int(spec.get("seed", 0)),
        operations=operations,
        when=spec.get("when", "before"),
    )


def behaviour_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """`Behaviour` field changes with the modes as their enums (JSON and the CLI give strings)."""
    converted = dict(changes)
    if "on_associate_existing" in converted:
        converted["on_associate_existing"] = OnAssociateExisting(converted["on_associate_existing"])
    if "on_disassociate_missing" in converted:
        converted["on_disassociate_missing"] = OnDisassociateMissing(converted["on_disassociate_missing"])
    return converted


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
