"""The pieces that keep a flooding link cheap and the kernel's memory in hand, on a
fake clock and a fake CPU: one link's share of a wake-up, the quota of refusals
journaled in full, and when memory is given back after a flood."""

from __future__ import annotations

import sys

import pytest

from bus.drain import _had_its_share
from kernel import _memory
from kernel._after_flood import AGAIN_AFTER_CHECKS, CHECK_S, FLOOD_CPU_S, AfterFlood, flood_over
from kernel._gateway_refusals import REFUSALS_JOURNALED_PER_S, refusal_quota

REFUSALS_JOURNALED_PER_S_INT = int(REFUSALS_JOURNALED_PER_S)


def test_a_sender_has_had_its_share_at_the_cap_and_others_are_counted_apart() -> None:
    shares: dict[bytes, tuple[int, int]] = {}
    flooder = [_had_its_share(shares, b"flood", 8, 300, 0) for _ in range(8)]
    assert flooder == [False] * 7 + [True]  # the 8th message ends the wake-up
    assert not _had_its_share(shares, b"quiet", 8, 300, 0)
    assert shares == {b"flood": (8, 2400), b"quiet": (1, 300)}


def test_a_share_of_one_ends_the_wake_up_after_each_message() -> None:
    shares: dict[bytes, tuple[int, int]] = {}
    assert _had_its_share(shares, b"a", 1, 10, 0) and _had_its_share(shares, b"b", 1, 10, 0)


def test_a_share_in_bytes_ends_the_wake_up_at_the_frame_that_reaches_it() -> None:
    shares: dict[bytes, tuple[int, int]] = {}
    small = [_had_its_share(shares, b"orders", 8, 300, 65_536) for _ in range(7)]
    assert small == [False] * 7  # orders of a few hundred bytes: the count decides
    assert _had_its_share(shares, b"garbage", 8, 200_000, 65_536)  # one big frame: enough
    assert not _had_its_share(shares, b"edge", 8, 65_535, 65_536)
    assert _had_its_share(shares, b"edge", 8, 1, 65_536)


def test_the_refusal_quota_journals_a_seconds_worth_then_counts_the_rest() -> None:
    quota = refusal_quota()
    allowed = [quota.spend(100.0) for _ in range(50)]
    assert allowed.count(True) == int(REFUSALS_JOURNALED_PER_S)
    assert allowed[-1] is False and quota.refused == 50 - int(REFUSALS_JOURNALED_PER_S)
    half = [quota.spend(100.5) for _ in range(REFUSALS_JOURNALED_PER_S_INT)]
    assert half.count(True) == REFUSALS_JOURNALED_PER_S_INT // 2  # half a second refilled


def test_the_refusal_quota_refills_to_one_second_and_survives_a_clock_step_back() -> None:
    quota = refusal_quota()
    for _ in range(100):
        quota.spend(10.0)
    assert sum(quota.spend(1000.0) for _ in range(100)) == int(REFUSALS_JOURNALED_PER_S)
    assert not quota.spend(5.0)  # the clock went back: no tokens out of thin air


def test_a_flood_is_over_after_busy_cpu_then_a_quiet_interval() -> None:
    assert flood_over(FLOOD_CPU_S, 0.0, CHECK_S)
    assert not flood_over(FLOOD_CPU_S - 0.1, 0.0, CHECK_S)  # not a flood's worth
    assert not flood_over(FLOOD_CPU_S, 0.5, CHECK_S)  # still busy


class FakeCpu:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_memory_is_given_back_once_per_flood_while_the_kernel_is_quiet() -> None:
    cpu, given = FakeCpu(), list[float]()

    def give() -> bool:
        given.append(cpu.now)
        return True

    keeper = AfterFlood(cpu=cpu, give=give)
    for _ in range(30):  # a bot ordering calmly: 5 % of a core, never a flood
        cpu.now += 0.05
        assert not keeper.check()
    for _ in range(3):  # three seconds of flood
        cpu.now += 0.95
        assert not keeper.check()
    cpu.now += 0.3  # the tail of the flood: neither busy nor quiet
    assert not keeper.check()
    cpu.now += 0.05
    assert keeper.check() and keeper.given_back == 1 and len(given) == 1
    for _ in range(AGAIN_AFTER_CHECKS - 1):
        cpu.now += 0.05
        assert not keeper.check()
    cpu.now += 0.05  # once more, what the flood's aftermath freed
    assert keeper.check() and keeper.given_again == 1 and len(given) == 2
    for _ in range(60):  # quiet again: nothing more to give back
        cpu.now += 0.05
        assert not keeper.check()
    assert keeper.given_back == 1 and len(given) == 2


def test_the_give_back_once_more_waits_for_a_quiet_second() -> None:
    cpu, given = FakeCpu(), list[float]()

    def give() -> bool:
        given.append(cpu.now)
        return True

    keeper = AfterFlood(cpu=cpu, give=give)
    for _ in range(3):
        cpu.now += 0.95
        keeper.check()
    cpu.now += 0.05
    assert keeper.check() and len(given) == 1
    for _ in range(AGAIN_AFTER_CHECKS + 4):  # the actors still catching up: busy-ish
        cpu.now += 0.4
        assert not keeper.check()
    cpu.now += 0.05
    assert keeper.check() and keeper.given_again == 1 and len(given) == 2


def test_giving_back_on_windows_is_a_collection_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    assert _memory.give_back() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_giving_back_on_linux_never_raises() -> None:
    assert _memory.give_back() in (True, False)  # False under musl, or nothing to return
