"""``kernel tap --json`` and ``--stream`` against a running kernel with the reference bot.

One kernel serves the module (starting it with a bot takes seconds); each test
runs its own tap process and checks what it saw: the current state first, then
the live bus, a DENY with its reason, topic filters, and clean exits.
"""

from __future__ import annotations

import shlex
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from bus.codec import encode
from tests.support.link import order
from tests.support.platforms import BASH_PIPE, SIGNALS_THE_TAP
from tests.support.processes import ROOT, KernelProcess, kernel_command
from tests.support.tap_process import (
    ANSI,
    BOT_ID,
    TapProcess,
    kernel_with_bot,
    wait_bot_running,
)

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelProcess]:
    process = kernel_with_bot(tmp_path_factory.mktemp("tap-kernel")).start()
    try:
        wait_bot_running(process)
        yield process
    finally:
        process.kill()


def send_denied_order(kernel: KernelProcess) -> str:
    """An order for a symbol outside the allow-list: the gate must DENY it."""
    request_id = f"tap-{uuid.uuid4().hex[:8]}"
    sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.DEALER)
    sock.linger = 0
    try:
        sock.connect(kernel.endpoint("link"))
        sock.send(encode(order(request_id, symbol="NOPEUSDT", bot_id="qe-probe")))
        assert sock.poll(5000), "no decision from the gateway"
        sock.recv()
    finally:
        sock.close()
    return request_id


@SIGNALS_THE_TAP
def test_json_starts_with_the_current_state_then_follows_the_bus(kernel: KernelProcess) -> None:
    tap = TapProcess(kernel.config_dir, "--json")
    try:
        state = tap.wait_json(lambda r: r["topic"] == "bot.state", what="bot.state")
        assert state.get("snapshot") is True and state["source"] == "snapshot"
        assert state["body"]["bot_id"] == BOT_ID and state["body"]["state"] == "running"
        risk = tap.wait_json(lambda r: r["topic"] == "risk.state", what="risk.state")
        assert risk["body"]["trading_state"] in {"ACTIVE", "REDUCING", "HALTED"}
        assert isinstance(risk["body"]["max_daily_loss"], str)  # Decimals stay exact
        live = tap.wait_json(lambda r: "snapshot" not in r, what="a live record")
        assert live["source"] and live["ts"] > 0
        request_id = send_denied_order(kernel)
        denied = tap.wait_json(lambda r: r["topic"] == "order.decision"
                               and r["body"]["request_id"] == request_id, what="the DENY")
        assert denied["body"]["verdict"] == "DENY" and denied["body"]["reason"]
        assert denied["source"] == "gateway" and denied["ts"] > 0
    finally:
        code = tap.stop(signal.SIGINT)
    assert code == 0, tap.stderr
    assert "Traceback" not in tap.stderr
    assert all(line.startswith("{") for line in tap.lines)


@SIGNALS_THE_TAP
def test_topic_filters_apply_to_the_snapshot_and_the_bus(kernel: KernelProcess) -> None:
    tap = TapProcess(kernel.config_dir, "--json", "--topic", "order.decision", "--topic",
                     "risk.st")
    try:
        tap.wait_json(lambda r: r["topic"] == "risk.state", what="risk.state")
        request_id = send_denied_order(kernel)
        tap.wait_json(lambda r: r["body"].get("request_id") == request_id, what="the DENY")
    finally:
        assert tap.stop() == 0
    topics = {line.split('"topic":"')[1].split('"')[0] for line in tap.lines}
    assert topics <= {"order.decision", "risk.state"}, topics


@SIGNALS_THE_TAP
def test_stream_prints_plain_lines_state_first(kernel: KernelProcess) -> None:
    tap = TapProcess(kernel.config_dir, "--stream")
    try:
        tap.wait_for(lambda s: s.startswith("tapping tcp://127.0.0.1:"), what="the banner")
        header = tap.wait_for(lambda s: s.startswith("current state: kernel"), what="the state")
        assert "mode paper" in header and "trading" in header
        tap.wait_for(lambda s: " bot.state " in s and f"{BOT_ID} running paper" in s,
                     what="the bot's state line")
        time.sleep(0.2)
        request_id = send_denied_order(kernel)
        line = tap.wait_for(lambda s: " order.decision " in s and request_id in s,
                            what="the DENY line")
        assert "DENY" in line and "[" in line  # the code, then the reason
    finally:
        assert tap.stop(signal.SIGTERM) == 0
    assert not any(ANSI.search(line) for line in tap.lines), "colours in a pipe"
    assert "Traceback" not in tap.stderr


@SIGNALS_THE_TAP
def test_no_tty_means_stream_and_no_colour_even_without_the_flag(kernel: KernelProcess) -> None:
    tap = TapProcess(kernel.config_dir, env={"FORCE_COLOR": ""})
    try:
        tap.wait_for(lambda s: " bot.state " in s, what="a stream line")
    finally:
        assert tap.stop() == 0
    assert not any(ANSI.search(line) for line in tap.lines)


@BASH_PIPE
def test_a_reader_that_goes_away_ends_the_tap_quietly(
    kernel: KernelProcess, tmp_path: Path,
) -> None:
    err = tmp_path / "tap.stderr"
    command = shlex.join(kernel_command("--config-dir", str(kernel.config_dir), "tap",
                                        "--stream"))
    result = subprocess.run(
        ["bash", "-c", f"{command} 2>{shlex.quote(str(err))} | head -n 3; "
                       "echo tap-exit=${PIPESTATUS[0]}"],
        cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.stdout.splitlines()[-1] == "tap-exit=0", result.stdout
    assert "Traceback" not in err.read_text() and "BrokenPipe" not in err.read_text()


@SIGNALS_THE_TAP
def test_unreachable_then_back_when_the_kernel_starts(tmp_path: Path) -> None:
    kernel = KernelProcess(tmp_path)  # configured, not started yet
    tap = TapProcess(kernel.config_dir, "--stream")
    try:
        line = tap.wait_for(lambda s: "kernel unreachable" in s, timeout_s=15,
                            what="the unreachable note")
        assert kernel.endpoint("sub") in line and kernel.endpoint("control") in line
        kernel.start()
        tap.wait_for(lambda s: "kernel reachable again" in s, timeout_s=20, what="the recovery")
        tap.wait_for(lambda s: s.startswith("current state: kernel"), what="the fresh state")
    finally:
        code = tap.stop()
        kernel.kill()
    assert code == 0 and "Traceback" not in tap.stderr


@SIGNALS_THE_TAP
def test_a_remote_bus_without_control_does_not_borrow_the_local_control(
    kernel: KernelProcess,
) -> None:
    # Same bus, but named explicitly and differently: the tap cannot know it is ours.
    bus = kernel.endpoint("sub").replace("127.0.0.1", "localhost")
    tap = TapProcess(kernel.config_dir, "--stream", "--bus", bus)
    try:
        tap.wait_for(lambda s: "no control endpoint" in s, what="the note")
        tap.wait_for(lambda s: " bot.state " in s, what="live traffic")
    finally:
        assert tap.stop() == 0
    assert not any(s.startswith("current state:") for s in tap.lines)
