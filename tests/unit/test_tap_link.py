"""The tap's rule for "the kernel is unreachable", and for "it is back", on a fake clock."""

from __future__ import annotations

from kernel.console._tap_link import CONNECTED, CONNECTING, UNREACHABLE, LinkMonitor

T0 = 1000.0


def test_the_first_answer_or_message_connects() -> None:
    link = LinkMonitor(now=T0)
    assert link.state == CONNECTING
    link.probe_started(T0)
    assert link.probe_answered(T0 + 0.01) == CONNECTED
    assert LinkMonitor(now=T0).message(T0 + 1) == CONNECTED


def test_a_busy_bus_is_never_probed() -> None:
    link = LinkMonitor(now=T0, quiet_s=3)
    for i in range(100):
        link.message(T0 + i)
        assert not link.want_probe(T0 + i + 2.9)


def test_a_quiet_bus_is_probed_once_at_a_time() -> None:
    link = LinkMonitor(now=T0, quiet_s=3)
    link.message(T0)
    assert not link.want_probe(T0 + 2.9)
    assert link.want_probe(T0 + 3)
    link.probe_started(T0 + 3)
    assert not link.want_probe(T0 + 10) and link.probing
    assert link.probe_answered(T0 + 3.1) is None  # still connected: nothing to say
    assert not link.want_probe(T0 + 6) and link.want_probe(T0 + 6.1)


def test_no_message_and_no_answer_is_unreachable_then_retried_until_back() -> None:
    link = LinkMonitor(now=T0, quiet_s=3, retry_s=2)
    link.message(T0)
    link.probe_started(T0 + 3)
    assert link.probe_failed(T0 + 5) == UNREACHABLE
    assert link.probe_failed(T0 + 5) is None  # said once
    assert not link.want_probe(T0 + 6.9) and link.want_probe(T0 + 7)
    link.probe_started(T0 + 7)
    assert link.probe_failed(T0 + 9) is None and link.state == UNREACHABLE
    assert link.message(T0 + 9.5) == CONNECTED


def test_an_unanswered_probe_is_forgiven_when_the_bus_spoke_meanwhile() -> None:
    link = LinkMonitor(now=T0, quiet_s=3)
    link.message(T0)
    link.probe_started(T0 + 3)
    link.message(T0 + 4)
    assert link.probe_failed(T0 + 5) is None and link.state == CONNECTED


def test_a_kernel_that_is_down_at_start_is_unreachable_after_the_first_probe() -> None:
    link = LinkMonitor(now=T0)
    link.probe_started(T0)
    assert link.probe_failed(T0 + 2) == UNREACHABLE


def test_without_a_control_socket_only_a_long_silence_counts() -> None:
    link = LinkMonitor(now=T0, quiet_s=3, retry_s=2, can_probe=False)
    assert not link.want_probe(T0 + 100)
    link.message(T0)
    assert link.quiet_without_probe(T0 + 4.9) is None
    assert link.quiet_without_probe(T0 + 5) == UNREACHABLE
    assert link.quiet_without_probe(T0 + 6) is None
    assert link.message(T0 + 7) == CONNECTED
