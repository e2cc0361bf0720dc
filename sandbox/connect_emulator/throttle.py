"""Per-API token buckets, as Connect applies its request quotas (rate per second, burst).

Every bucket reads time from a clock callable (default `time.monotonic`), so a test can pass a
fake clock and advance it: what is throttled then depends on the test, not on the machine's speed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Quota:
    rate: float = 2.0  # tokens added per second
    burst: int = 5  # bucket size

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError(
                f"A quota needs rate > 0 and burst >= 1, got rate={self.rate} burst={self.burst}"
            )


class TokenBucket:
    """Full at start; a request takes one token or is refused."""

    def __init__(self, quota: Quota, clock: Clock = time.monotonic) -> None:
        self.quota = quota
        self._clock = clock
        self._tokens = float(quota.burst)
        self._stamp = clock()
        self._lock = threading.Lock()

    def try_take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.quota.burst, self._tokens + (now - self._stamp) * self.quota.rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


class Throttle:
    """One bucket per operation, created on first use from a default or per-operation quota."""

    def __init__(
        self,
        default: Quota | None = None,
        per_operation: dict[str, Quota] | None = None,
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        self.default = default or Quota()
        self.per_operation = dict(per_operation or {})
        self.clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def allow(self, operation: str) -> bool:
        with self._lock:
            bucket = self._buckets.get(operation)
            if bucket is None:
                bucket = self._buckets[operation] = TokenBucket(
                    self.per_operation.get(operation, self.default), self.clock
                )
        return bucket.try_take()
