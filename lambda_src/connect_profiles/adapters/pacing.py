"""Client-side pacing: one token bucket per Connect API, as the service meters them.

Connect's quotas are per API, per account and Region, so each API gets its own bucket and calls to
different APIs never wait for each other. A caller reserves the next token and sleeps until it is
due, which keeps waiting threads in arrival order and every bucket busy without a thundering herd.

Other integrations share the account's quotas, so a bucket adapts (AIMD): a throttle that reached
the client halves that API's rate (once per bucket refill, however many calls in flight were
refused) and empties its bucket; each call that goes through wins back a fiftieth of its ceiling.
The ceiling is the rate the bucket started at (the quota less headroom, or an override): recovery
never goes above it. Counted in calls, not seconds, so the adaptation is the same at any rate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from connect_profiles.ports import CallCancelled


@dataclass(frozen=True, slots=True)
class Rate:
    per_second: float = 2.0
    burst: int = 5

    def __post_init__(self) -> None:
        if self.per_second <= 0:
            raise ValueError(f"rate must be above 0 requests per second, got {self.per_second}")
        if self.burst < 1:
            raise ValueError(f"burst must be at least 1, got {self.burst}")


DECREASE = 0.5  # a throttle multiplies the API's rate by this
RECOVERY_CALLS = 50  # calls that go through, each adding 1/50 of the ceiling back
FLOOR = 0.05  # never below this share of the ceiling


@dataclass(frozen=True, slots=True)
class ApiPace:
    """What one API's bucket did: its ceiling, where it is, the lowest it went, throttles seen."""

    api: str
    ceiling: float
    burst: int
    current: float
    lowest: float
    throttles: int
    sent: int = 0  # attempts let out (retries included), for the CLI's progress


class _Bucket:
    def __init__(self, rate: Rate, clock: Callable[[], float]) -> None:
        # One token short of the service's burst: a request that arrives a little early (network
        # jitter) still finds a token there, at the cost of half a second once per job.
        self.burst = rate.burst
        self.capacity = max(1, rate.burst - 1)
        self.ceiling = rate.per_second
        self.rate = rate.per_second
        self.lowest = rate.per_second
        self.tokens = float(self.capacity)
        self.stamp = clock()
        self.throttles = 0
        self.sent = 0
        self.last_decrease: float | None = None

    def reserve(self, now: float) -> float:
        """Take a token, possibly one not yet earned; return how long to wait for it."""
        self._refill(now)
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def throttled(self, now: float) -> None:
        """The service refused a call: its bucket is empty, and someone else is spending it."""
        self.throttles += 1
        # Calls in flight together are refused together: one decrease per refill of the bucket.
        if self.last_decrease is not None and now - self.last_decrease < self.capacity / self.rate:
            return
        self._refill(now)
        self.rate = max(self.ceiling * FLOOR, self.rate * DECREASE)
        self.lowest = min(self.lowest, self.rate)
        self.tokens = min(self.tokens, 0.0)
        self.last_decrease = now

    def succeeded(self, now: float) -> None:
        if self.rate < self.ceiling:
            self._refill(now)  # tokens earned so far count at the old rate
            self.rate = min(self.ceiling, self.rate + self.ceiling / RECOVERY_CALLS)

    def pace(self, api: str) -> ApiPace:
        return ApiPace(api, self.ceiling, self.burst, self.rate, self.lowest, self.throttles, self.sent)


_exempt = threading.local()


@contextmanager
def uncancellable() -> Iterator[None]:
    """Calls made inside go out even while the job is stopping: the read that settles what an
    interrupted write did is what keeps the report true."""
    _exempt.active = True
    try:
        yield
    finally:
        _exempt.active = False


class Pacer:
    def __init__(
        self,
        default: Rate | None = None,
        per_api: Mapping[str, Rate] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        cancel: threading.Event | None = None,
    ) -> None:
        self.default = default or Rate()
        self.per_api = dict(per_api or {})
        self._clock = clock
        self._sleep = sleep
        self._cancel = cancel
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def wait(self, api: str) -> float:
        """Block until `api` may be called; return the seconds waited. Once `cancel` is set, raise
        CallCancelled instead of letting a call out (a caller waiting for its token included)."""
        self._check_cancel()
        with self._lock:
            delay = self._bucket(api).reserve(self._clock())
        if delay > 0:
            if self._cancel is None:
                self._sleep(delay)
            elif self._cancel.wait(delay) and not getattr(_exempt, "active", False):
                raise CallCancelled(api)
        with self._lock:
            self._bucket(api).sent += 1
        return delay

    def throttled(self, api: str) -> None:
        """A call to `api` came back throttled (HTTP 429) although it was paced: slow that API."""
        with self._lock:
            self._bucket(api).throttled(self._clock())

    def succeeded(self, api: str) -> None:
        """A call to `api` went through: recover a little of its rate, never above its ceiling."""
        with self._lock:
            self._bucket(api).succeeded(self._clock())

    def paces(self) -> list[ApiPace]:
        """Every API called so far, by name."""
        with self._lock:
            return [bucket.pace(api) for api, bucket in sorted(self._buckets.items())]

    def rate_for(self, api: str) -> Rate:
        return self.per_api.get(api, self.default)

    def _bucket(self, api: str) -> _Bucket:
        bucket = self._buckets.get(api)
        if bucket is None:
            bucket = self._buckets[api] = _Bucket(self.rate_for(api), self._clock)
        return bucket

    def _check_cancel(self) -> None:
        if self._cancel is not None and self._cancel.is_set() and not getattr(_exempt, "active", False):
            raise CallCancelled
