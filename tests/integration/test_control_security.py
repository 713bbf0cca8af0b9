"""The control socket: loopback by default; beyond loopback only with CurveZMQ,
and then only for authorised client keys."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
import zmq

from kernel.console import control_client
from kernel.console.control_client import ControlRefused, KernelUnreachable, ask, controller_for
from kernel.control_protocol import StatusReply, StatusRequest
from kernel.exit_codes import EXIT_START_FAILED
from kernel.keys import ClientKeys, generate, load_client
from kernel.microkernel import Kernel
from kernel.settings import load_settings
from tests.conftest import KernelHarness, write_config


def curve_block(keys_dir: Path, endpoint: str = "tcp://127.0.0.1:*") -> str:
    return f"""
control:
  endpoint: {endpoint}
  curve: true
  keys_dir: {keys_dir.as_posix()}
"""


async def test_a_non_loopback_control_endpoint_without_keys_refuses_to_start(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, kernel_extra="control:\n  endpoint: tcp://0.0.0.0:*\n")
    kernel = Kernel(load_settings(config))
    assert await asyncio.wait_for(kernel.run(), 10) == EXIT_START_FAILED
    assert "refusing to bind tcp://0.0.0.0:*" in kernel.start_error
    assert "CurveZMQ" in kernel.start_error


async def test_curve_on_without_key_files_is_a_clear_start_failure(tmp_path: Path) -> None:
    config = write_config(tmp_path, kernel_extra=curve_block(tmp_path / "nokeys"))
    kernel = Kernel(load_settings(config))
    assert await asyncio.wait_for(kernel.run(), 10) == EXIT_START_FAILED
    assert "kernel keys generate" in kernel.start_error


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "keys"
    generate(folder)
    return folder


async def test_an_authorised_client_gets_answers(start_kernel: Any, keys_dir: Path) -> None:
    harness: KernelHarness = await start_kernel(kernel_extra=curve_block(keys_dir))
    keys = load_client(keys_dir)
    reply = await asyncio.to_thread(ask, harness.endpoints["control"], StatusRequest(),
                                    keys=keys)
    assert isinstance(reply, StatusReply)


async def test_the_configured_controller_uses_the_keys(start_kernel: Any, keys_dir: Path) -> None:
    harness: KernelHarness = await start_kernel(kernel_extra=curve_block(keys_dir))
    controller = controller_for(harness.kernel.settings)
    controller.endpoint = harness.endpoints["control"]  # the test bound port 0
    assert isinstance(await asyncio.to_thread(controller.ask, StatusRequest()), StatusReply)


async def test_an_unknown_key_is_refused(start_kernel: Any, keys_dir: Path) -> None:
    harness: KernelHarness = await start_kernel(kernel_extra=curve_block(keys_dir))
    server_public = load_client(keys_dir).server_public
    public, secret = zmq.curve_keypair()
    stranger = ClientKeys(public=public, secret=secret, server_public=server_public)
    with pytest.raises(ControlRefused, match="refused this client's key"):
        await asyncio.to_thread(ask, harness.endpoints["control"], StatusRequest(),
                                keys=stranger, timeout_s=1.0)


class _SlowEncoder:
    """Encodes after a pause: the kernel refuses the handshake before the request is sent."""

    def encode(self, message: object) -> bytes:
        time.sleep(0.5)
        return msgspec.msgpack.encode(message)


@pytest.mark.parametrize("stranger", [True, False], ids=["unknown key", "no key"])
async def test_a_handshake_refused_before_the_request_is_sent_ends_within_the_timeout(
    start_kernel: Any, keys_dir: Path, monkeypatch: pytest.MonkeyPatch, stranger: bool,
) -> None:
    """A refused handshake can leave the client's socket nothing to send to; a blocking
    send then waited forever (seen: a test thread stuck there)."""
    harness: KernelHarness = await start_kernel(kernel_extra=curve_block(keys_dir))
    public, secret = zmq.curve_keypair()
    keys = ClientKeys(public=public, secret=secret,
                      server_public=load_client(keys_dir).server_public) if stranger else None
    monkeypatch.setattr(control_client, "_encoder", _SlowEncoder())
    outcome: list[BaseException] = []

    def asking() -> None:
        try:
            ask(harness.endpoints["control"], StatusRequest(), keys=keys, timeout_s=2.0)
        except (ControlRefused, KernelUnreachable) as exc:
            outcome.append(exc)

    thread = threading.Thread(target=asking, daemon=True)  # left behind if it never ends
    thread.start()
    await asyncio.to_thread(thread.join, 15)
    assert not thread.is_alive(), "the request is still waiting past its timeout"
    assert outcome, "no error raised"
    if stranger:
        assert isinstance(outcome[0], ControlRefused)
        assert "refused this client's key" in str(outcome[0])


async def test_a_plain_client_gets_nothing(start_kernel: Any, keys_dir: Path) -> None:
    harness: KernelHarness = await start_kernel(kernel_extra=curve_block(keys_dir))
    with pytest.raises(KernelUnreachable):
        await asyncio.to_thread(ask, harness.endpoints["control"], StatusRequest(),
                                timeout_s=0.5)


async def test_with_keys_a_non_loopback_bind_is_allowed(
    start_kernel: Any, keys_dir: Path
) -> None:
    harness: KernelHarness = await start_kernel(
        kernel_extra=curve_block(keys_dir, "tcp://0.0.0.0:*"))
    port = harness.endpoints["control"].rsplit(":", 1)[1]
    reply = await asyncio.to_thread(ask, f"tcp://127.0.0.1:{port}", StatusRequest(),
                                    keys=load_client(keys_dir))
    assert isinstance(reply, StatusReply)


def test_generate_never_overwrites(keys_dir: Path) -> None:
    with pytest.raises(FileExistsError, match="already exists"):
        generate(keys_dir)
