"""The risk state survives ``kill -9`` of ``kernel run``: halts, the day's start
equity, and the ledger's positions come back, and the gate waits for the bot's
first heartbeat to check the positions before it trusts them again."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import psutil
import pytest
import zmq

from bus.codec import encode, kernel_frame_decoder
from bus.protocol import (
    Command,
    Fill,
    Heartbeat,
    Hello,
    KernelToBot,
    OrderDecision,
    OrderUpdate,
    Side,
    Welcome,
)
from kernel.journal import read_journal
from tests.integration._risk_link import RISK_YAML, heartbeat
from tests.support.link import order
from tests.support.processes import KILLED, KernelProcess

pytestmark = pytest.mark.timeout(60)

HELD = ("BTCUSDT", 0.1, 50_000.0)


class Bot:
    """A blocking DEALER speaking the bot link to a kernel in another process."""

    def __init__(self, endpoint: str) -> None:
        self.sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)
        self.commands: list[Command] = []

    def send(self, message: Hello | Heartbeat) -> None:
        self.sock.send(encode(message))

    def recv(self, timeout_s: float = 5.0) -> KernelToBot:
        assert self.sock.poll(int(timeout_s * 1000)), "no reply from the kernel"
        return kernel_frame_decoder.decode(self.sock.recv())

    def hello(self) -> Welcome:
        self.send(Hello(bot_id="qe-1", mode="paper", pid=7))
        welcome = self.recv()
        assert isinstance(welcome, Welcome)
        return welcome

    def ask(self, request_id: str, **fields: Any) -> OrderDecision:
        self.sock.send(encode(order(request_id, **fields)))
        while True:
            reply = self.recv()
            if isinstance(reply, OrderDecision):
                return reply
            if isinstance(reply, Command):
                self.commands.append(reply)

    def close(self) -> None:
        self.sock.close(linger=0)


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[KernelProcess]:
    process = KernelProcess(tmp_path)
    (process.config_dir / "risk.yaml").write_text(textwrap.dedent(RISK_YAML), encoding="utf-8")
    yield process.start()
    process.kill()


def bodies(kernel: KernelProcess, topic: str) -> list[dict[str, Any]]:
    rows = read_journal(kernel.journal_path, topic_prefix=topic, limit=100_000)
    return [msgspec.msgpack.decode(r.payload) for r in rows]


def journaled(kernel: KernelProcess, topic: str, match: Callable[[dict[str, Any]], bool],
              timeout_s: float = 5.0) -> dict[str, Any]:
    """Wait for a journal row on ``topic`` that ``match`` accepts."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [b for b in bodies(kernel, topic) if match(b)]
        if found:
            return found[-1]
        time.sleep(0.02)
    raise AssertionError(f"no matching {topic} row in the journal within {timeout_s} s")


def journaled_after(kernel: KernelProcess, topic: str, seq: int,
                    match: Callable[[dict[str, Any]], bool],
                    timeout_s: float = 5.0) -> list[dict[str, Any]]:
    """Wait for a row on ``topic`` written after ``seq`` that ``match`` accepts; the
    bodies of every row on ``topic`` after ``seq``, up to the newest. A row from before
    a restart never answers a wait for one written after it, however alike."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [msgspec.msgpack.decode(r.payload) for r in read_journal(
            kernel.journal_path, after_seq=seq, topic_prefix=topic, limit=100_000)]
        if any(match(b) for b in found):
            return found
        time.sleep(0.02)
    raise AssertionError(f"no matching {topic} row after seq {seq} within {timeout_s} s")


def kill_9(kernel: KernelProcess, bot: Bot) -> int:
    """``kill -9`` of the kernel; the journal's last seq, after which a restart writes."""
    assert kernel.proc is not None
    bot.close()
    kernel.proc.kill()
    assert kernel.proc.wait(10) == KILLED
    return max((r.seq for r in read_journal(kernel.journal_path, limit=1_000_000)), default=0)


def kill_9_and_restart(kernel: KernelProcess, bot: Bot) -> Bot:
    kill_9(kernel, bot)
    kernel.start()
    return Bot(kernel.endpoint("link"))


def active(body: dict[str, Any]) -> bool:
    return bool(body["type"] == "trading_state_changed" and body["current"] == "ACTIVE")


def test_a_halted_day_stays_halted_after_kill_9(kernel: KernelProcess) -> None:
    bot = Bot(kernel.endpoint("link"))
    bot.hello()
    bot.send(heartbeat(1, positions=[(*HELD, 50_000.0)]))
    journaled(kernel, "risk.halt", active)
    bot.send(heartbeat(2, equity=9_650.0, positions=[(*HELD, 46_500.0)],
                       marks={"BTCUSDT": 46_500.0}))
    journaled(kernel, "risk.limit", lambda b: b["code"] == "daily_loss_limit")

    killed_at = kill_9(kernel, bot)
    kernel.start()
    bot = Bot(kernel.endpoint("link"))
    try:
        assert bot.hello().trading_state == "HALTED"
        denied = bot.ask("after-restart", qty=0.001, price=46_500.0)
        assert (denied.verdict, denied.code) == ("DENY", "halted")
        assert "daily loss 350 USDT has reached max_daily_loss 300 USDT" in denied.reason
        # the bot's first beat agrees with the ledger; the close asked for before the
        # kill is asked again, and the day stays halted
        bot.send(heartbeat(3, equity=9_650.0, positions=[(*HELD, 46_500.0)],
                           marks={"BTCUSDT": 46_500.0}))
        command = bot.recv()
        assert isinstance(command, Command) and command.action == "close_all"
        again = bot.ask("after-beat", qty=0.001, price=46_500.0)
        assert again.code == "halted" and "awaiting" not in again.reason
        closing = bot.ask("close", side="sell", qty=0.1, price=46_500.0, reduce_only=True)
        assert closing.verdict == "ALLOW"
    finally:
        bot.close()
    def codes(body: dict[str, Any]) -> list[str]:
        return [r["code"] for r in body["reasons"]]

    # the same row was written before the kill: wait for one written after the restart
    after = [codes(b) for b in journaled_after(
        kernel, "risk.state", killed_at, lambda b: codes(b) == ["daily_loss_limit"])]
    reconciled = after.index(["daily_loss_limit"])
    assert reconciled > 0  # at the restart awaiting the bot's beat, then reconciled
    assert all(r == ["daily_loss_limit", "awaiting_reconciliation"] for r in after[:reconciled])
    assert all(r == ["daily_loss_limit"] for r in after[reconciled:])
    assert Decimal(bodies(kernel, "risk.saved")[-1]["state"]["start_equity"]) == 10_000


def test_the_days_start_equity_is_not_reset_by_kill_9(kernel: KernelProcess) -> None:
    bot = Bot(kernel.endpoint("link"))
    bot.hello()
    bot.send(heartbeat(1, positions=[(*HELD, 50_000.0)]))
    journaled(kernel, "risk.halt", active)

    bot = kill_9_and_restart(kernel, bot)
    try:
        bot.hello()
        # 350 USDT below the start of the day: over the limit only if the 10,000 USDT
        # start equity survived (a fresh start would measure from 9,650)
        bot.send(heartbeat(2, equity=9_650.0, positions=[(*HELD, 46_500.0)],
                           marks={"BTCUSDT": 46_500.0}))
        tripped = journaled(kernel, "risk.limit", lambda b: b["code"] == "daily_loss_limit")
    finally:
        bot.close()
    assert Decimal(tripped["value"]) == 350 and Decimal(tripped["limit"]) == 300


def test_positions_that_disagree_after_kill_9_hold_trading_in_reducing(
    kernel: KernelProcess,
) -> None:
    bot = Bot(kernel.endpoint("link"))
    bot.hello()
    bot.send(heartbeat(1, positions=[(*HELD, 50_000.0)]))
    journaled(kernel, "risk.halt", active)

    bot = kill_9_and_restart(kernel, bot)
    try:
        assert bot.hello().trading_state == "REDUCING"  # until a heartbeat reconciles
        bot.send(heartbeat(2))  # the bot says it is flat; the ledger holds 0.1 BTC
        anomaly = journaled(kernel, "anomaly.risk", lambda b: b["kind"] == "position_mismatch")
        denied = bot.ask("mismatch", qty=0.001)
    finally:
        bot.close()
    assert "BTCUSDT ledger 0.1 vs bot 0" in anomaly["detail"]
    assert (denied.code, "positions disagree" in denied.reason) == ("reducing_only", True)


def test_every_decision_a_bot_received_is_in_the_journal_after_kill_9(
    kernel: KernelProcess,
) -> None:
    bot = Bot(kernel.endpoint("link"))
    bot.hello()
    bot.send(heartbeat(1, positions=[(*HELD, 50_000.0)]))
    journaled(kernel, "risk.halt", active)
    received: dict[str, str] = {}
    for i in range(10_000):  # a stream of orders, many in flight, killed in the middle
        bot.sock.send(encode(order(f"k-{i}", side="sell", qty=0.0001, price=50_000.0)))
    while len(received) < 500:
        reply = bot.recv()
        if isinstance(reply, OrderDecision):
            received[reply.request_id] = reply.verdict
    assert kernel.proc is not None
    kernel.proc.kill()
    assert kernel.proc.wait(10) == KILLED
    while bot.sock.poll(200):  # what was already on its way counts as received
        reply = kernel_frame_decoder.decode(bot.sock.recv())
        if isinstance(reply, OrderDecision):
            received[reply.request_id] = reply.verdict
    bot.close()
    decided = {b["request_id"]: b["verdict"] for b in bodies(kernel, "order.decision")}
    assert "ALLOW" in received.values()
    missing = [rid for rid in received if rid not in decided]
    assert not missing, f"{len(missing)} decisions the bot received are not in the journal"
    assert all(decided[rid] == verdict for rid, verdict in received.items())
    kernel.start()  # and the journal reopens after the kill


def test_orders_allowed_just_before_kill_9_still_reserve_until_filled_or_cancelled(
    kernel: KernelProcess,
) -> None:
    """Killed between two ALLOWs and their fill or cancel: the reservations come back
    from the journal (they were made after the last save), and the fill and the
    cancel sent after the restart release them."""
    bot = Bot(kernel.endpoint("link"))
    bot.hello()
    bot.send(heartbeat(1))
    journaled(kernel, "risk.halt", active)
    for request_id in ("k1", "k2"):  # 2 x 2,500 USDT: the whole 5,000 cap of BTCUSDT
        assert bot.ask(request_id, qty=0.05, price=50_000.0).verdict == "ALLOW"

    bot = kill_9_and_restart(kernel, bot)
    try:
        bot.hello()
        seen = len([b for b in bodies(kernel, "risk.halt") if active(b)])
        bot.send(heartbeat(2))  # flat, as the ledger is: nothing has filled yet
        deadline = time.monotonic() + 5
        while len([b for b in bodies(kernel, "risk.halt") if active(b)]) == seen:
            assert time.monotonic() < deadline, "not ACTIVE again after the restart"
            time.sleep(0.02)
        denied = bot.ask("after-kill", qty=0.001, price=50_000.0)
        assert (denied.verdict, denied.code) == ("DENY", "notional_limit"), denied.reason
        assert "open orders" in denied.reason
        bot.sock.send(encode(Fill(request_id="k1", symbol="BTCUSDT", side="buy", qty=0.05,
                                  price=50_000.0, ts=time.time())))
        bot.sock.send(encode(OrderUpdate(request_id="k2", status="cancelled", ts=time.time(),
                                         remaining_qty=0.05)))
        journaled(kernel, "risk.state", lambda b: b["open_orders"] == 0
                  and "BTCUSDT" in b["notional"])
        again = bot.ask("after-fill", qty=0.04, price=50_000.0)  # 2,500 held + 2,000
        assert again.verdict == "ALLOW", again.reason
    finally:
        bot.close()


def bought_and_filled(kernel: KernelProcess, request_id: str) -> Bot:
    """A bot that said hello, beat, was allowed 0.05 BTCUSDT at 50,000 as
    ``request_id`` and sent its fill (not waited for)."""
    bot = Bot(kernel.endpoint("link"))
    bot.hello()
    bot.send(heartbeat(1))
    journaled(kernel, "risk.halt", active)
    assert bot.ask(request_id, qty=0.05, price=50_000.0).verdict == "ALLOW"
    bot.sock.send(encode(Fill(request_id=request_id, symbol="BTCUSDT", side="buy", qty=0.05,
                              price=50_000.0, ts=time.time())))
    return bot


def test_a_fill_taken_on_the_gateways_path_survives_kill_9_before_its_save(
    kernel: KernelProcess,
) -> None:
    """The engine takes a fill where the gateway reads it (kernel.gate.FactTaker) and
    saves on its next turn; killed right after the next order's reply, the fill is in
    the journal before that order, so restore (last save + the fills after it) has it."""
    bot = bought_and_filled(kernel, "f1")
    assert bot.ask("after-fill", qty=0.001, price=50_000.0).verdict == "ALLOW"

    bot = kill_9_and_restart(kernel, bot)  # at once: the save may or may not have run
    try:
        assert bot.hello().trading_state == "REDUCING"
        bot.send(heartbeat(2))  # flat: the ledger must hold the fill, so they disagree
        anomaly = journaled(kernel, "anomaly.risk", lambda b: b["kind"] == "position_mismatch")
    finally:
        bot.close()
    assert "BTCUSDT ledger 0.05 vs bot 0" in anomaly["detail"]


def test_fills_not_saved_yet_come_back_after_kill_9(kernel: KernelProcess) -> None:
    """Fills wait for the 5-s save (a save per fill is a megabyte on the loop with
    thousands of open orders); killed before it, the restarted engine books them
    again from the journal: the same position, realised PnL and loss streak."""
    bot = Bot(kernel.endpoint("link"))
    bot.hello()
    bot.send(heartbeat(1))
    journaled(kernel, "risk.halt", active)
    buy: tuple[Side, float] = ("buy", 50_000.0)
    trades: list[tuple[Side, float]] = [buy, buy, buy, ("sell", 49_500.0)]
    for i, (side, price) in enumerate(trades):
        assert bot.ask(f"f{i}", side=side, qty=0.01, price=price).verdict == "ALLOW"
        bot.sock.send(encode(Fill(request_id=f"f{i}", symbol="BTCUSDT", side=side, qty=0.01,
                                  price=price, fee=0.5, ts=time.time())))
    # every fill taken: a snapshot after f2 alone (no order open, fees realised) came
    # before f3 was read, and a kill then lost f3 (a race of the test, seen under load)
    journaled(kernel, "risk.state", lambda b: b["open_orders"] == 0
              and b.get("realized_pnl") is not None and Decimal(b["realized_pnl"]) == -7)
    # the newest save is the one at the beat that made trading ACTIVE (unless the
    # machine took over 5 s since): the fills are in the journal only
    bot = kill_9_and_restart(kernel, bot)
    seen = len([b for b in bodies(kernel, "risk.halt") if active(b)])
    try:
        assert bot.hello().trading_state == "REDUCING"  # until a heartbeat reconciles
        restored = bodies(kernel, "risk.saved")[-1]["state"]  # saved at start, after replay
        assert Decimal(restored["positions"]["BTCUSDT"]["qty"]) == Decimal("0.02")
        assert Decimal(restored["realized_pnl"]) == -7  # -5 on the sell, 4 fees of 0.50
        assert restored["open_orders"] == {}
        bot.send(heartbeat(2, equity=9_993.0, positions=[("BTCUSDT", 0.02, 50_000.0,
                                                          49_500.0)],
                           marks={"BTCUSDT": 49_500.0}))
        deadline = time.monotonic() + 10
        while len([b for b in bodies(kernel, "risk.halt") if active(b)]) == seen:
            assert time.monotonic() < deadline, "not ACTIVE again after the restart"
            time.sleep(0.02)
    finally:
        bot.close()
    assert not [b for b in bodies(kernel, "anomaly.risk") if b["kind"] == "position_mismatch"]


def test_facts_still_on_their_way_when_the_engine_saved_come_back_after_kill_9(
    kernel: KernelProcess,
) -> None:
    """The engine is behind when it saves: a loss fill trips the day's limit (it goes
    the bus way, as every fact with events does, and saves at once), and the update
    and fill read in the same burst are journaled before that save's row but still
    in the engine's inbox. Killed before the next save, the restart replays them from
    the newest fact the save names: the same position, realised PnL and reservations,
    and no ``position_mismatch``. The kernel is suspended while the three are sent, so
    the gateway reads them in one burst."""
    bot = bought_and_filled(kernel, "a")
    try:
        assert bot.ask("b", qty=0.01, price=50_000.0).verdict == "ALLOW"
        assert bot.ask("c", qty=0.01, price=50_000.0).verdict == "ALLOW"
        assert kernel.proc is not None
        process = psutil.Process(kernel.proc.pid)
        process.suspend()
        try:
            for fact in (Fill(request_id="loss", symbol="BTCUSDT", side="sell", qty=0.05,
                              price=43_000.0, ts=time.time()),  # -350: the daily loss trips
                         OrderUpdate(request_id="b", status="cancelled", ts=time.time()),
                         Fill(request_id="c", symbol="BTCUSDT", side="buy", qty=0.01,
                              price=50_000.0, ts=time.time())):
                bot.sock.send(encode(fact))
            time.sleep(0.2)  # on their way over loopback into the suspended kernel's socket
        finally:
            process.resume()
        journaled(kernel, "risk.state", lambda b: b["trading_state"] == "HALTED"
                  and b["open_orders"] == 0)  # the engine took all three
        rows = read_journal(kernel.journal_path, limit=100_000)
        fills = {msgspec.msgpack.decode(r.payload)["request_id"]: r.seq
                 for r in rows if r.topic == "order.fill"}
        # the save the loss made at once, not one the timer made later (within 5 s)
        save = min((r for r in rows if r.topic == "risk.saved" and r.seq > fills["loss"]),
                   key=lambda r: r.seq)
        saved = msgspec.msgpack.decode(save.payload)["state"]
        assert save.seq > fills["c"] and set(saved["open_orders"]) == {"b", "c"}, \
            "the engine was not behind when it saved: its save holds the update and fill"
    except BaseException:
        bot.close()  # a socket left open fails a later test when it is collected
        raise

    bot = kill_9_and_restart(kernel, bot)
    try:
        assert bot.hello().trading_state == "HALTED"  # the day's loss stays tripped
        restored = bodies(kernel, "risk.saved")[-1]["state"]  # saved at start, after replay
        assert Decimal(restored["positions"]["BTCUSDT"]["qty"]) == Decimal("0.01")
        assert Decimal(restored["realized_pnl"]) == -350
        assert restored["open_orders"] == {}
        sent = time.time()
        bot.send(heartbeat(2, equity=9_650.0, positions=[("BTCUSDT", 0.01, 50_000.0,
                                                          50_000.0)]))
        checked = journaled(kernel, "risk.state", lambda b: b["ts"] >= sent and not any(
            r["code"] == "awaiting_heartbeat" for r in b["reasons"]), timeout_s=10)
        assert checked["trading_state"] == "HALTED"
    finally:
        bot.close()
    assert not [b for b in bodies(kernel, "anomaly.risk") if b["kind"] == "position_mismatch"]
