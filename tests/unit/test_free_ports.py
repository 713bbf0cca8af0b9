"""Ports for throwaway kernels: a port another test process drew lately is not drawn again.

Workers of one suite, or two suites at once, draw from the same range; a port is free
of sockets from its draw until its kernel binds it, and while a killed kernel is
started anew on it. The lease covers those gaps.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from scripts import _bench_support as support


@pytest.fixture
def two_ports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """A range of two ports nothing holds, and a lease folder of the test's own."""
    first, second = sorted(support.free_ports(2))
    monkeypatch.setattr(support, "LEASES", tmp_path / "leases")
    monkeypatch.setattr(support, "LISTEN_PORTS", [first, second])
    return first, second


def test_a_port_leased_by_another_process_is_not_drawn(two_ports: tuple[int, int]) -> None:
    first, second = two_ports
    support.LEASES.mkdir()
    (support.LEASES / str(first)).touch()  # drawn a moment ago elsewhere
    assert support.free_ports(1) == [second]
    assert (support.LEASES / str(second)).exists()  # and now leased by this draw


def test_a_lapsed_lease_is_taken_again(two_ports: tuple[int, int]) -> None:
    first, _ = two_ports
    support.LEASES.mkdir()
    for port in two_ports:
        (support.LEASES / str(port)).touch()
    old = time.time() - support.LEASE_S - 1
    os.utime(support.LEASES / str(first), (old, old))
    assert support.free_ports(1) == [first]
    assert time.time() - (support.LEASES / str(first)).stat().st_mtime < support.LEASE_S
    assert sorted(p.name for p in support.LEASES.iterdir()) == sorted(map(str, two_ports))
