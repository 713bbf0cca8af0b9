"""The reference bot as a real child process against a ROUTER that plays the kernel.

What it must prove is what the Supervisor relies on: the bot asks before every
order, trades only what was allowed, obeys commands, and stops by itself when
the kernel is gone.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import zmq

from bus.codec import bot_frame_decoder, encode
from bus.protocol import (
    BotToKernel,
    Command,
    CommandAck,
    Fill,
    Heartbeat,
    Hello,
    KernelToBot,
    OrderDecision,
    OrderRequest,
    OrderUpdate,
    Welcome,
)
from tests.support.platforms import SIGNALS_THE_BOT

ROOT = Path(__file__).resolve().parents[2]
M = TypeVar("M")


class Kernel:
    """A ROUTER in a thread: welcomes, decides with ``verdict``, sends queued commands."""

    def __init__(self, endpoint: str = "tcp://127.0.0.1:*") -> None:
        self.verdict: Callable[[OrderRequest, int], str] = lambda order, n: "ALLOW"
        self.received: list[BotToKernel] = []
        self.decided: dict[str, str] = {}
        self._lock = threading.Condition()
        self._outbox: list[KernelToBot] = []
        self._stop = threading.Event()
        context: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
        self._socket = context.socket(zmq.ROUTER)
        self._socket.linger = 0
        deadline = time.monotonic() + 5
        while True:  # a restarted kernel may have to wait for its old port to be free
            try:
                self._socket.bind(endpoint)
                break
            except zmq.ZMQError:
                assert time.monotonic() < deadline, f"cannot bind {endpoint}"
                time.sleep(0.02)
        self.endpoint = self._socket.LAST_ENDPOINT.decode()
        self._peer = b""
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def command(self, command_id: str, action: Any, **params: Any) -> CommandAck:
        """Send a command and wait for its ack."""
        with self._lock:
            self._outbox.append(Command(command_id=command_id, action=action, params=params))
        self.wait(lambda: [a for a in self.all(CommandAck) if a.command_id == command_id])
        return next(a for a in self.all(CommandAck) if a.command_id == command_id)

    def all(self, kind: type[M]) -> list[M]:
        with self._lock:
            return [m for m in self.received if isinstance(m, kind)]

    def wait(self, predicate: Callable[[], object], timeout_s: float = 15.0) -> None:
        with self._lock:
            if not self._lock.wait_for(predicate, timeout_s):
                raise AssertionError(f"not seen in time; bot sent {len(self.received)} messages")

    def next_heartbeat(self) -> Heartbeat:
        """The first heartbeat sent after this call."""
        seen = len(self.all(Heartbeat))
        self.wait(lambda: len(self.all(Heartbeat)) > seen)
        return self.all(Heartbeat)[seen]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _serve(self) -> None:
        try:
            while not self._stop.is_set():
                if self._socket.poll(10):
                    self._peer, frame = self._socket.recv_multipart()
                    self._answer(bot_frame_decoder.decode(frame))
                with self._lock:
                    outbox, self._outbox = self._outbox, []
                for message in outbox:
                    self._socket.send_multipart([self._peer, encode(message)])
        finally:
            self._socket.close(linger=0)

    def _answer(self, message: BotToKernel) -> None:
        reply: KernelToBot | None = None
        if isinstance(message, Hello):
            reply = Welcome(heartbeat_interval_s=0.1, trading_state="ACTIVE")
        elif isinstance(message, OrderRequest):
            verdict = self.verdict(message, len(self.decided))
            self.decided[message.request_id] = verdict
            reply = OrderDecision(request_id=message.request_id, verdict=verdict,  # type: ignore[arg-type]
                                  reason="test policy", code="ok" if verdict == "ALLOW"
                                  else "daily_loss_limit", trading_state="ACTIVE")
        with self._lock:
            self.received.append(message)
            self._lock.notify_all()
        if reply is not None:
            self._socket.send_multipart([self._peer, encode(reply)])


class BotProcess:
    def __init__(self, endpoint: str, log: Path, *extra: str) -> None:
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "run_bot.py"), "--mode=paper",
             "--gateway", endpoint, "--bot-id", "qe-ref", "--seed", "3",
             "--tick-interval", "0.02", *extra],
            cwd=ROOT, stdout=self._out, stderr=subprocess.STDOUT)

    def exit_code(self, timeout_s: float = 15.0) -> int:
        return self.proc.wait(timeout_s)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self._out.close()


@pytest.fixture
def kernel() -> Iterator[Kernel]:
    server = Kernel()
    yield server
    server.stop()


@pytest.fixture
def start_bot(tmp_path: Path) -> Iterator[Callable[..., BotProcess]]:
    bots: list[BotProcess] = []

    def start(endpoint: str, *extra: str) -> BotProcess:
        bots.append(BotProcess(endpoint, tmp_path / f"bot{len(bots)}.log", *extra))
        return bots[-1]

    yield start
    for bot in bots:
        bot.close()


def test_asks_before_every_order_and_fills_only_what_was_allowed(
        kernel: Kernel, start_bot: Callable[..., BotProcess]) -> None:
    kernel.verdict = lambda order, n: "DENY" if n % 3 == 2 else "ALLOW"
    bot = start_bot(kernel.endpoint)
    kernel.wait(lambda: len(kernel.all(Fill)) >= 4 and "DENY" in kernel.decided.values())
    hello = kernel.all(Hello)[0]
    assert (hello.bot_id, hello.mode, hello.pid) == ("qe-ref", "paper", bot.proc.pid)
    assert isinstance(kernel.received[0], Hello)
    requests = {o.request_id: o for o in kernel.all(OrderRequest)}
    for fill in kernel.all(Fill):
        assert kernel.decided[fill.request_id] == "ALLOW"
        asked = requests[fill.request_id]
        assert (fill.symbol, fill.side, fill.qty, fill.price) == (asked.symbol, asked.side,
                                                                  asked.qty, asked.price)
        assert fill.fee > 0
    beats = kernel.all(Heartbeat)
    assert [b.seq for b in beats] == list(range(1, len(beats) + 1))
    assert beats[-1].last_tick_price is not None and beats[-1].uptime_s > 0
    assert kernel.command("bye", "shutdown").ok
    assert bot.exit_code() == 0
    assert "DENY" in bot.output() and "Traceback" not in bot.output()


def test_obeys_pause_close_all_risk_multiplier_and_shutdown(
        kernel: Kernel, start_bot: Callable[..., BotProcess]) -> None:
    bot = start_bot(kernel.endpoint)
    positions = []
    for attempt in range(20):  # pause while holding something, so close_all has work
        kernel.wait(lambda: any(b.positions for b in kernel.all(Heartbeat)))
        assert kernel.command(f"pause-{attempt}", "pause").ok
        positions = kernel.next_heartbeat().positions  # sent after the pause
        if positions:
            break
        assert kernel.command(f"resume-{attempt}", "resume").ok
    assert positions, "the bot never held a position while paused"
    asked_before = len(kernel.all(OrderRequest))
    ack = kernel.command("close", "close_all")
    assert ack.ok, ack.detail
    closes = kernel.all(OrderRequest)[asked_before:]
    assert all(o.reduce_only for o in closes)
    assert sorted((o.symbol, o.side, o.qty) for o in closes) == sorted(
        (p.symbol, "sell" if p.qty > 0 else "buy", abs(p.qty)) for p in positions)
    assert kernel.next_heartbeat().positions == []
    assert len(kernel.all(OrderRequest)) == asked_before + len(closes)  # still paused

    assert kernel.command("half", "set_risk_multiplier", risk_multiplier=0.5).ok
    assert not kernel.command("bad", "set_risk_multiplier", risk_multiplier="lots").ok
    assert kernel.command("demo", "set_mode", mode="demo").ok
    asked_before = len(kernel.all(OrderRequest))
    assert kernel.command("go", "resume").ok
    kernel.wait(lambda: any(not o.reduce_only for o in kernel.all(OrderRequest)[asked_before:]))
    entry = next(o for o in kernel.all(OrderRequest)[asked_before:] if not o.reduce_only)
    assert 480 < entry.qty * entry.price <= 500  # 1,000 USDT per entry, scaled by 0.5

    assert kernel.command("stop", "shutdown").ok
    assert bot.exit_code() == 0


def test_denied_orders_are_never_filled(kernel: Kernel,
                                        start_bot: Callable[..., BotProcess]) -> None:
    kernel.verdict = lambda order, n: "DENY"
    bot = start_bot(kernel.endpoint)
    kernel.wait(lambda: len(kernel.all(OrderRequest)) >= 3)
    assert kernel.command("stop", "shutdown").ok
    assert bot.exit_code() == 0
    assert kernel.all(Fill) == []
    assert kernel.all(Heartbeat)[-1].positions == []


def test_exits_with_code_3_when_the_kernel_goes_away(
        kernel: Kernel, start_bot: Callable[..., BotProcess]) -> None:
    bot = start_bot(kernel.endpoint, "--orphan-timeout", "1")
    kernel.wait(lambda: kernel.all(Heartbeat))
    kernel.stop()
    started = time.monotonic()
    assert bot.exit_code() == 3
    assert 0.9 < time.monotonic() - started < 10
    assert "kernel unreachable" in bot.output()


def test_a_restarted_kernel_is_greeted_again_and_trading_goes_on(
        kernel: Kernel, start_bot: Callable[..., BotProcess]) -> None:
    bot = start_bot(kernel.endpoint, "--orphan-timeout", "5")
    kernel.wait(lambda: kernel.all(OrderRequest))
    kernel.stop()
    restarted = Kernel(kernel.endpoint)
    try:
        restarted.wait(lambda: restarted.all(Hello) and restarted.all(OrderRequest))
        assert isinstance(restarted.received[0], Hello)
        assert restarted.command("stop", "shutdown").ok
        assert bot.exit_code() == 0
        assert "reachable again" in bot.output()
    finally:
        restarted.stop()


def test_a_bot_killed_with_9_restarts_with_its_paper_account(
        kernel: Kernel, start_bot: Callable[..., BotProcess], tmp_path: Path) -> None:
    """The paper exchange remembers positions and realised PnL, as a real one does."""
    data = str(tmp_path / "data")
    bot = start_bot(kernel.endpoint, "--data-dir", data)
    for attempt in range(40):  # pause while holding something
        kernel.wait(lambda: any(b.positions for b in kernel.all(Heartbeat)))
        assert kernel.command(f"pause-{attempt}", "pause").ok
        before = kernel.next_heartbeat()
        if before.positions:
            break
        assert kernel.command(f"resume-{attempt}", "resume").ok
    assert before.positions, "the bot never held a position while paused"
    bot.proc.kill()
    bot.proc.wait(5)
    seen = len(kernel.all(Heartbeat))
    again = start_bot(kernel.endpoint, "--data-dir", data, "--start-equity", "5")
    kernel.wait(lambda: len(kernel.all(Heartbeat)) > seen)
    after = kernel.all(Heartbeat)[seen]
    assert [(p.symbol, p.qty, p.avg_price) for p in after.positions] == [
        (p.symbol, p.qty, p.avg_price) for p in before.positions]
    assert after.realized_pnl == before.realized_pnl
    assert after.marks.keys() == before.marks.keys()
    for symbol, price in before.marks.items():  # the market goes on from where it was
        assert abs(after.marks[symbol] / price - 1) < 0.05
    assert "paper account restored" in again.output()
    assert kernel.command("stop", "shutdown").ok
    assert again.exit_code() == 0


def test_exits_with_code_3_when_no_kernel_answers(start_bot: Callable[..., BotProcess]) -> None:
    probe: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.ROUTER)
    probe.bind("tcp://127.0.0.1:*")
    endpoint = probe.LAST_ENDPOINT.decode()
    probe.close(linger=0)
    bot = start_bot(endpoint, "--orphan-timeout", "0.5")
    assert bot.exit_code() == 3
    assert "no kernel" in bot.output()


@SIGNALS_THE_BOT
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_it_cleanly(kernel: Kernel, start_bot: Callable[..., BotProcess],
                                   signum: signal.Signals) -> None:
    bot = start_bot(kernel.endpoint)
    kernel.wait(lambda: kernel.all(Heartbeat))
    bot.proc.send_signal(signum)
    assert bot.exit_code() == 0
    assert "Traceback" not in bot.output() and "stopped by" in bot.output()


def test_reports_what_the_venue_did_with_each_allowed_order(
        kernel: Kernel, start_bot: Callable[..., BotProcess]) -> None:
    kernel.verdict = lambda order, n: "DENY" if n % 3 == 2 else "ALLOW"
    bot = start_bot(kernel.endpoint)
    kernel.wait(lambda: len(kernel.all(Fill)) >= 4)
    assert kernel.command("stop", "shutdown").ok
    assert bot.exit_code() == 0
    updates = kernel.all(OrderUpdate)
    fills = {f.request_id for f in kernel.all(Fill)}
    accepted = [u for u in updates if u.status == "accepted"]
    assert {u.request_id for u in accepted} == fills  # every fill was accepted first
    assert all(kernel.decided[u.request_id] == "ALLOW" for u in updates)
    assert len({u.venue_order_id for u in accepted}) == len(accepted)
    order = [(type(m).__name__, getattr(m, "request_id", "")) for m in kernel.received
             if isinstance(m, OrderUpdate | Fill)]
    for request_id in fills:
        assert order.index(("OrderUpdate", request_id)) < order.index(("Fill", request_id))


def test_an_order_the_venue_does_not_fill_is_reported_cancelled(
        kernel: Kernel, start_bot: Callable[..., BotProcess]) -> None:
    bot = start_bot(kernel.endpoint, "--miss-rate", "1")
    kernel.wait(lambda: len([u for u in kernel.all(OrderUpdate) if u.status == "cancelled"]) >= 2)
    assert kernel.command("stop", "shutdown").ok
    assert bot.exit_code() == 0
    assert kernel.all(Fill) == []
    cancelled = [u for u in kernel.all(OrderUpdate) if u.status == "cancelled"]
    asked = {o.request_id: o for o in kernel.all(OrderRequest)}
    for update in cancelled:
        assert update.remaining_qty == asked[update.request_id].qty
        assert "no liquidity" in update.reason
    assert "MISS" in bot.output()
