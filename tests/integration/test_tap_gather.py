"""``kernel tap`` reads its messages in batches (``kernel.console.tap.GATHER_S``) and
loses none of a burst larger than ZeroMQ's default queue while it gathers.

The bus here is the test's own XPUB on a free loopback port, publishing frames as the
kernel's bus does (topic, msgpack payload, header), so the burst is exactly known.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
import zmq

from bus.codec import encode_header
from tests.support.platforms import SIGNALS_THE_TAP
from tests.support.processes import KernelProcess
from tests.support.tap_process import TapProcess

pytestmark = pytest.mark.timeout(90)

BURST = 5_000
"""More than ZeroMQ's default queue of 1,000 messages, sent back to back."""


@pytest.fixture
def bus() -> Iterator[tuple[zmq.Socket[bytes], str]]:
    sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.XPUB)
    sock.linger = 0
    sock.sndhwm = 0  # this side never drops: a loss can only be the tap's
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    try:
        yield sock, f"tcp://127.0.0.1:{port}"
    finally:
        sock.close(linger=0)


def publish(sock: zmq.Socket[bytes], seq: int) -> None:
    sock.send_multipart([b"test.burst", msgspec.msgpack.encode({"type": "probe", "seq": seq}),
                         encode_header("test")])


def seqs(lines: list[str]) -> list[int]:
    return [json.loads(s)["body"]["seq"] for s in lines if s.startswith("{")
            and json.loads(s).get("topic") == "test.burst"]


@SIGNALS_THE_TAP
def test_a_burst_beyond_the_default_queue_reaches_the_tap_whole_and_in_order(
    tmp_path: Path, bus: tuple[zmq.Socket[bytes], str],
) -> None:
    sock, endpoint = bus
    tap = TapProcess(KernelProcess(tmp_path).config_dir, "--json", "--bus", endpoint)
    try:
        assert sock.poll(30_000), "the tap never subscribed"
        assert sock.recv() == b"\x01"  # subscribed to everything
        publish(sock, 0)
        tap.wait_json(lambda r: r.get("topic") == "test.burst", what="the first message")
        for seq in range(1, BURST + 1):
            publish(sock, seq)
        tap.wait_json(lambda r: r.get("body", {}).get("seq") == BURST, timeout_s=60,
                      what="the burst's last message")
    finally:
        code = tap.stop()
    assert code == 0 and "Traceback" not in tap.stderr
    assert seqs(tap.lines) == list(range(BURST + 1))
