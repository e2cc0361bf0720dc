"""Client-side pacing: one token bucket per Connect API, as the service meters them.

Connect's quotas are per API, per account and Region, so each API gets its own bucket and calls to
different APIs never wait for each other. A caller reserves the next token and sleeps until it is
due, which keeps waiting threads in arrival order and every bucket busy without a thundering herd.
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


class _Bucket:
    def __init__(self, rate: Rate, clock: Callable[[], float]) -> None:
        # One token short of the service's burst: a request that arrives a little early (network
        # jitter) still finds a token there, at the cost of half a second once per job.
        self.capacity = max(1, rate.burst - 1)
        self.rate = rate.per_second
        self.tokens = float(self.capacity)
        self.stamp = clock()

    def reserve(self, now: float) -> float:
        """Take a token, possibly one not yet earned; return how long to wait for it."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


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
            bucket = self._buckets.get(api)
            if bucket is None:
                bucket = self._buckets[api] = _Bucket(self.per_api.get(api, self.default), self._clock)
            delay = bucket.reserve(self._clock())
        if delay > 0:
            if self._cancel is None:
                self._sleep(delay)
            elif self._cancel.wait(delay) and not getattr(_exempt, "active", False):
                raise CallCancelled(api)
        return delay

    def _check_cancel(self) -> None:
        if self._cancel is not None and self._cancel.is_set() and not getattr(_exempt, "active", False):
            raise CallCancelled
