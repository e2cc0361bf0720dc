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


# --- adapting to what others use (AIMD) ---------------------------------------------------------


def test_a_throttle_halves_the_rate_and_empties_the_bucket() -> None:
    # Given an API paced at 2/s
    clock = FakeClock()
    pacer = Pacer(Rate(2.0, 5), clock=clock, sleep=clock.sleep)
    pacer.wait("AssociateUserProficiencies")
    # When a call comes back throttled
    pacer.throttled("AssociateUserProficiencies")
    # Then the next call waits a whole token at the halved rate, not the burst
    assert pacer.wait("AssociateUserProficiencies") == pytest.approx(1.0)
    [pace] = pacer.paces()
    assert (pace.ceiling, pace.current, pace.lowest, pace.throttles) == (2.0, 1.0, 1.0, 1)


def test_calls_refused_together_lower_the_rate_once() -> None:
    clock = FakeClock()
    pacer = Pacer(Rate(2.0, 5), clock=clock, sleep=clock.sleep)
    # Five calls in flight all refused at once count as five throttles but one decrease
    for _ in range(5):
        pacer.throttled("X")
    [pace] = pacer.paces()
    assert (pace.current, pace.throttles) == (1.0, 5)
    # A throttle after the bucket has had time to refill lowers it again
    clock.now += 4 / 1.0
    pacer.throttled("X")
    assert pacer.paces()[0].current == pytest.approx(0.5)


def test_successes_recover_slowly_and_never_above_the_ceiling() -> None:
    clock = FakeClock()
    pacer = Pacer(Rate(2.0, 5), clock=clock, sleep=clock.sleep)
    pacer.throttled("X")
    # Each call that goes through wins back 1/50 of the ceiling
    for _ in range(10):
        pacer.succeeded("X")
    assert pacer.paces()[0].current == pytest.approx(1.0 + 10 * 2.0 / 50)
    for _ in range(100):
        pacer.succeeded("X")
    [pace] = pacer.paces()
    assert pace.current == 2.0
    assert pace.lowest == 1.0


def test_the_rate_never_falls_below_a_twentieth_of_the_ceiling() -> None:
    clock = FakeClock()
    pacer = Pacer(Rate(2.0, 5), clock=clock, sleep=clock.sleep)
    for _ in range(20):
        clock.now += 1000
        pacer.throttled("X")
    assert pacer.paces()[0].current == pytest.approx(0.1)


def test_other_apis_keep_their_rate_when_one_is_throttled() -> None:
    clock = FakeClock()
    pacer = Pacer(Rate(2.0, 5), {"ListUserProficiencies": Rate(9.0, 10)}, clock=clock, sleep=clock.sleep)
    pacer.wait("ListUserProficiencies")
    pacer.throttled("AssociateUserProficiencies")
    paces = {pace.api: pace for pace in pacer.paces()}
    assert paces["ListUserProficiencies"].current == 9.0
    assert paces["AssociateUserProficiencies"].current == 1.0
