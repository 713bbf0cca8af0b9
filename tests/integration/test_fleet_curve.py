"""Bots on other hosts: the bot link beyond loopback under CurveZMQ, one key per bot.

Two loopback addresses stand for two hosts: the kernel binds the bot link on every
interface (``0.0.0.0``, refused without CurveZMQ), and the "remote" bot connects to
127.0.0.2 with the reference client library and its own key. A link's key must
match its hello's bot id; a link without a key, or with a key of no bot, never
gets a word in.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from bus.client import BotLink, CurveKeys, LinkError
from bus.codec import encode, kernel_frame_decoder
from bus.protocol import Error, Hello
from kernel.keys import generate, generate_bot
from tests.support.processes import KernelProcess

pytestmark = [pytest.mark.skipif(sys.platform != "linux",
                                 reason="127.0.0.2 is a loopback address on Linux only"),
              pytest.mark.timeout(60)]

FLEET = "- {id: near-1}\n- {id: far-2}\n"


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[KernelProcess]:
    process = KernelProcess(tmp_path, bots=FLEET)
    kernel_yaml = process.config_dir / "kernel.yaml"
    text = kernel_yaml.read_text(encoding="utf-8")
    text = text.replace("gateway:\n  endpoint: tcp://127.0.0.1:",
                        "gateway:\n  curve: true\n  endpoint: tcp://0.0.0.0:")
    kernel_yaml.write_text(text, encoding="utf-8")
    keys = tmp_path / "keys"
    generate(keys)
    for bot in ("near-1", "far-2"):
        generate_bot(keys, bot)
    yield process.start()
    process.kill()


def remote(kernel: KernelProcess) -> str:
    return f"tcp://127.0.0.2:{kernel.ports['link']}"


def keys_of(kernel: KernelProcess, bot: str) -> CurveKeys:
    folder = kernel.root / "keys"
    return CurveKeys.from_files(str(folder / "bots" / f"{bot}.key_secret"),
                                str(folder / "server.key"))


def test_a_remote_bot_with_its_own_key_is_welcomed(kernel: KernelProcess) -> None:
    with BotLink(remote(kernel), bot_id="far-2", curve=keys_of(kernel, "far-2")) as link:
        welcome = link.hello(timeout_s=10)
    assert welcome.heartbeat_interval_s > 0


def test_a_key_may_say_hello_only_as_its_own_bot(kernel: KernelProcess) -> None:
    with BotLink(remote(kernel), bot_id="near-1", curve=keys_of(kernel, "far-2")) as link, \
            pytest.raises(LinkError, match="key is far-2's, not near-1's"):
        link.hello(timeout_s=5)
    assert link.last_error is not None and link.last_error.code == "identity_mismatch"


def raw_hello(endpoint: str, setup: object = None, *, timeout_ms: int = 1500) -> object:
    sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.DEALER)
    sock.linger = 0
    if isinstance(setup, CurveKeys):
        sock.curve_secretkey, sock.curve_publickey = setup.secret, setup.public
        sock.curve_serverkey = setup.server_public
    try:
        sock.connect(endpoint)
        # A refused handshake can leave the socket no peer to queue to, and a blocking
        # send would then wait forever: not being able to send is no word in either.
        if not sock.poll(1500, zmq.POLLOUT):
            return None
        try:
            sock.send(encode(Hello(bot_id="far-2", mode="paper", pid=1)), zmq.NOBLOCK)
        except zmq.Again:
            return None
        if not sock.poll(timeout_ms):
            return None
        return kernel_frame_decoder.decode(sock.recv())
    finally:
        sock.close(linger=0)


def test_a_link_without_a_bots_key_gets_no_word_in(kernel: KernelProcess) -> None:
    assert raw_hello(remote(kernel)) is None  # no CurveZMQ: the handshake fails
    folder = kernel.root / "keys"
    operator = CurveKeys.from_files(str(folder / "client.key_secret"), str(folder / "server.key"))
    assert raw_hello(remote(kernel), operator) is None  # a key, but no bot's
    answer = raw_hello(remote(kernel), keys_of(kernel, "far-2"), timeout_ms=10_000)
    assert answer is not None and not isinstance(answer, Error)
