"""Per-API token buckets on a fake clock: no sleeping, no timing assertions."""

from __future__ import annotations

import pytest

from connect_profiles.adapters.pacing import Pacer, Rate


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_one_token_short_of_the_burst_then_the_rate() -> None:
    # Given Connect's 2/s burst 5
    clock = FakeClock()
    pacer = Pacer(Rate(2.0, 5), clock=clock, sleep=clock.sleep)
    # When eight calls to one API come at once
    waits = [pacer.wait("AssociateUserProficiencies") for _ in range(8)]
    # Then four go at once (one token kept back for jitter), then one every half second
    assert waits[:4] == [0.0] * 4
    assert waits[4:] == pytest.approx([0.5] * 4)


def test_apis_do_not_wait_for_each_other() -> None:
    clock = FakeClock()
    pacer = Pacer(Rate(1.0, 1), clock=clock, sleep=clock.sleep)
    assert pacer.wait("ListUsers") == 0.0
    assert pacer.wait("ListUserProficiencies") == 0.0
    assert pacer.wait("ListUsers") == pytest.approx(1.0)


def test_waiting_callers_reserve_tokens_in_order() -> None:
    # Reservations are taken under a lock before sleeping, so the n-th caller waits n intervals.
    clock = FakeClock()
    slept: list[float] = []
    pacer = Pacer(Rate(4.0, 2), clock=clock, sleep=slept.append)  # clock does not advance
    assert [pacer.wait("X") for _ in range(4)] == pytest.approx([0.0, 0.25, 0.5, 0.75])


def test_per_api_rates_override_the_default() -> None:
    clock = FakeClock()
    pacer = Pacer(Rate(1.0, 1), {"ListUserProficiencies": Rate(10.0, 1)}, clock=clock, sleep=clock.sleep)
    pacer.wait("ListUserProficiencies")
    assert pacer.wait("ListUserProficiencies") == pytest.approx(0.1)


def test_idle_time_refills_up_to_capacity_only() -> None:
    clock = FakeClock()
    pacer = Pacer(Rate(2.0, 3), clock=clock, sleep=clock.sleep)
    clock.now += 60
    assert [pacer.wait("X") for _ in range(3)] == pytest.approx([0.0, 0.0, 0.5])


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 5), (-1.0, 5), (2.0, 0)])
def test_nonsense_rates_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match=r"rate must be above 0|burst must be at least 1"):
        Rate(rate, burst)
