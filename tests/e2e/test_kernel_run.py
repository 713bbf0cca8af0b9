"""``kernel run`` and its companions as real processes, as a user runs them."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
import zmq

from bus.codec import encode, kernel_frame_decoder
from bus.protocol import Heartbeat, Hello, OrderDecision, Welcome
from kernel.journal import read_journal
from tests.support.link import order
from tests.support.platforms import CTRL_C_WHILE_IMPORTING, SENDS_SIGTERM, SIGNALS_THE_TAP
from tests.support.processes import KILLED, ROOT, KernelProcess, free_ports, kernel_command


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[KernelProcess]:
    process = KernelProcess(tmp_path).start()
    yield process
    process.kill()


def dealer(endpoint: str) -> zmq.Socket[bytes]:
    sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(endpoint)
    return sock


def test_version() -> None:
    result = subprocess.run(kernel_command("--version"), capture_output=True, cwd=ROOT)
    assert result.returncode == 0 and result.stdout.startswith(b"kernel ")


def test_status_reports_a_running_kernel_and_ctrl_c_stops_it_cleanly(
    kernel: KernelProcess,
) -> None:
    status = kernel.status()
    assert status is not None
    assert status["status"]["endpoints"]["bot_link"] == kernel.endpoint("link")  # type: ignore[index]
    plain = kernel.cli("status")
    assert plain.returncode == 0 and b"bot_link" in plain.stdout
    assert kernel.stop() == 0
    assert "Traceback" not in kernel.stderr()
    states = [msgspec.msgpack.decode(r.payload)["state"]
              for r in read_journal(kernel.journal_path, topic_prefix="kernel.state")]
    assert states == ["starting", "running", "stopping", "stopped"]


@SENDS_SIGTERM
def test_sigterm_stops_cleanly(kernel: KernelProcess) -> None:
    assert kernel.stop(signal.SIGTERM) == 0


@SIGNALS_THE_TAP
def test_tap_shows_a_bots_heartbeats(kernel: KernelProcess) -> None:
    tap = subprocess.Popen(
        kernel_command("--config-dir", str(kernel.config_dir), "tap", "--json",
                       "--topic", "bot.heartbeat"),
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    bot = dealer(kernel.endpoint("link"))
    try:
        assert tap.stdout is not None
        line = b""
        for seq in range(300):  # beat until the tap's subscription is live
            bot.send(encode(Heartbeat(bot_id="qe-e2e", seq=seq, ts=time.time(), uptime_s=seq,
                                      equity=10_000.0, realized_pnl=0.0, unrealized_pnl=0.0)))
            time.sleep(0.02)
            if zmq.select([tap.stdout], [], [], 0)[0]:
                line = tap.stdout.readline()
                break
        record = msgspec.json.decode(line)
        assert record["topic"] == "bot.heartbeat"
        assert record["body"]["bot_id"] == "qe-e2e"
        assert record["source"] == "gateway"
    finally:
        bot.close()
        tap.send_signal(signal.SIGINT)
        _, err = tap.communicate(timeout=10)
    assert tap.returncode == 0
    assert b"Traceback" not in err


def test_every_acknowledged_decision_survives_kill_9(kernel: KernelProcess) -> None:
    bot = dealer(kernel.endpoint("link"))
    acknowledged: list[str] = []
    try:
        # Said hello, so every order is decided and journaled (a flood of refusals
        # beyond 20 a second is answered without rows: kernel/_gateway_refusals.py).
        bot.send(encode(Hello(bot_id="qe-1", mode="paper", pid=1)))
        assert bot.poll(15_000)
        assert isinstance(kernel_frame_decoder.decode(bot.recv()), Welcome)
        for i in range(200):
            bot.send(encode(order(f"k-{i}")))
            if not bot.poll(5000):
                break
            decision = kernel_frame_decoder.decode(bot.recv())
            assert isinstance(decision, OrderDecision)
            acknowledged.append(decision.request_id)
            if i == 150:
                assert kernel.proc is not None
                kernel.proc.kill()  # mid-stream, no warning
    finally:
        bot.close()
    assert kernel.proc is not None and kernel.proc.wait(10) == KILLED
    journaled = {msgspec.msgpack.decode(r.payload)["request_id"]
                 for r in read_journal(kernel.journal_path, topic_prefix="order.decision",
                                       limit=10_000)}
    assert len(acknowledged) >= 151
    assert set(acknowledged) <= journaled


def test_a_second_kernel_on_the_same_ports_refuses_to_start(
    kernel: KernelProcess, tmp_path: Path
) -> None:
    second = KernelProcess(tmp_path / "second", ports=kernel.ports).start(wait_ready=False)
    assert second.proc is not None
    assert second.proc.wait(15) == 3
    assert "cannot bind" in second.stderr()


def test_status_without_a_kernel_exits_3_with_a_clear_message(tmp_path: Path) -> None:
    process = KernelProcess(tmp_path)
    result = process.cli("status", "--timeout", "0.3")
    assert result.returncode == 3
    assert b"kernel not running" in result.stderr


def test_check_names_the_file_and_the_field(tmp_path: Path) -> None:
    process = KernelProcess(tmp_path)
    (process.config_dir / "kernel.yaml").write_text("gateway:\n  max_frame_bytes: lots\n")
    result = process.cli("check")
    assert result.returncode == 2
    text = " ".join(result.stderr.decode().split())
    assert "kernel.yaml" in text and "gateway.max_frame_bytes" in text
    assert "expected `int`, got `str`" in text
    ok = KernelProcess(tmp_path / "fine").cli("check")
    assert ok.returncode == 0, ok.stderr


def test_run_with_broken_config_exits_2_without_a_traceback(tmp_path: Path) -> None:
    process = KernelProcess(tmp_path)
    (process.config_dir / "paths.yaml").write_text("data_dir: [oops\n")
    result = process.cli("run", timeout_s=30)
    assert result.returncode == 2
    assert b"not valid YAML" in result.stderr and b"Traceback" not in result.stderr


def test_free_ports_are_distinct() -> None:
    assert len(set(free_ports(4))) == 4


def test_an_anomaly_is_told_once_in_the_console_log(kernel: KernelProcess) -> None:
    bot = dealer(kernel.endpoint("link"))
    try:
        bot.send(b'{"type": "no such message"')
        assert bot.poll(5000)  # the gateway answered with an error: the anomaly is journaled
    finally:
        bot.close()
    time.sleep(0.3)  # the narrator is a subscriber: give it the event
    assert kernel.stop() == 0
    kinds = [msgspec.msgpack.decode(r.payload)["kind"]
             for r in read_journal(kernel.journal_path, topic_prefix="anomaly")]
    assert len(kinds) == 1
    told = [line for line in kernel.stderr().splitlines() if kinds[0] in line]
    assert len(told) == 1, told


def test_a_second_kernel_on_the_same_data_dir_says_so_once(kernel: KernelProcess) -> None:
    second = kernel.cli("run", timeout_s=30)
    text = second.stderr.decode()
    assert second.returncode == 3
    assert text.count("already running on the data directory") == 1, text


@CTRL_C_WHILE_IMPORTING
@pytest.mark.parametrize("delay_s", [0.0, 0.1, 0.3])
def test_ctrl_c_while_the_command_still_imports_exits_130_quietly(
    tmp_path: Path, delay_s: float,
) -> None:
    """The console script's entry (kernel/console/_entry.py), as ``scripts/run.py`` starts it.

    The Ctrl-C comes ``delay_s`` after the entry module is loaded (it says so on stdout),
    so it lands in the command's own imports whatever the machine's load; a Ctrl-C while
    the interpreter itself starts, before any of our code, is out of our hands."""
    config_dir = KernelProcess(tmp_path).config_dir
    entry = ("import sys, kernel.console._entry as entry; print('entry', flush=True); "
             "sys.exit(entry.main())")
    proc = subprocess.Popen(
        [sys.executable, "-c", entry, "--config-dir", str(config_dir), "run"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"entry\n"
    time.sleep(delay_s)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert b"Traceback" not in err, err.decode()
    assert proc.returncode in (130, 0)  # 0: it was already running and stopped in order
