"""QuantumEdge reference bot: a paper scalper that asks the Supervisor before every order.

    python scripts/run_bot.py --mode=paper [--gateway tcp://127.0.0.1:7710] [--seed 7]

It trades a seeded random-walk market (no exchange, no keys, in both modes) with
a small momentum scalper, and shows what a QuantumEdge-compatible bot must do:
say hello, send heartbeats at the interval the kernel asks for, call
``can_execute`` before every order and respect a DENY, report what the venue did
with each allowed order (``order_update``: accepted, cancelled) and every fill, send
its bars for the kernel's planner, and obey commands (close_all, pause, resume,
set_mode, set_risk_multiplier, shutdown). It stops on its own when the kernel
has been unreachable for ``--orphan-timeout`` seconds, so that a killed
Supervisor never leaves a bot trading unsupervised.

Exit codes: 0 stopped (shutdown command, Ctrl-C, SIGTERM); 2 bad arguments;
3 the kernel was unreachable for too long.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

if str(Path(__file__).resolve().parents[1]) not in sys.path:  # run as a script: only
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # its own folder is on it

from bus.client import BotLink, CurveKeys, LinkError, new_request_id
from bus.protocol import (
    Bars,
    BotMode,
    Command,
    Fill,
    OhlcvBar,
    OrderRequest,
    OrderUpdate,
    Position,
    Welcome,
)
from scripts._paper_account import (
    Intent,
    PaperAccount,
    PaperVenue,
    RandomWalk,
    Scalper,
    account_state,
    closing_intents,
    fee_for,
    restore_account,
    restore_marks,
)
from scripts._paper_bars import BarMaker, walk_atr

VERSION = "ref-1.0"
EXIT_OK, EXIT_ORPHANED = 0, 3
DATA_DIR_ENV = "QUANTUMEDGE_DATA_DIR"
"""Where the paper account is kept when ``--data-dir`` is not given; the watchdog
sets it to ``data_dir`` of paths.yaml."""
STATUS_EVERY = 10
"""Log a status line every this many heartbeats (each heartbeat would drown the log)."""
VOLATILITY = 0.0008
"""Per-tick volatility of the simulated market (the walk's default)."""
log = logging.getLogger("quantumedge")


class Stop(Exception):
    """Raised from a signal handler so that the main loop unwinds and closes the link."""


class Bot:
    """One trading session: the loop, the orders, the commands, the heartbeats."""

    def __init__(self, args: argparse.Namespace, link: BotLink) -> None:
        self.args, self.link = args, link
        marks: dict[str, float] = {}
        self.account, placed = PaperAccount(args.start_equity), 0
        self.store = AccountFile.for_args(args)
        if self.store is not None:
            self.account, placed, marks = self.store.load(self.account)
        # a restored market goes on from its last marks, on a new path (not a replay)
        self.feed = RandomWalk(args.symbols, seed=args.seed + placed, volatility=VOLATILITY)
        self.feed.prices.update({s: p for s, p in marks.items() if s in self.feed.prices})
        self.bars = BarMaker(args.symbols, ticks_per_bar=args.bar_ticks)
        self.bars.backfill(self.feed.prices, bars=args.history_bars, now=time.time(),
                           seed=args.seed + 1, volatility=VOLATILITY)
        self.strategy = Scalper()
        self.venue = PaperVenue(miss_rate=args.miss_rate, seed=args.seed + 2)
        self.venue.placed = placed
        self.missed = False
        self.marks = dict(self.feed.prices)
        self.paused = False
        self.risk_multiplier = 1.0
        self.welcome: Welcome | None = None
        self.started = time.monotonic()
        self.last_tick_ts = time.time()
        self.beats = 0
        self.connected, self.rehellos = True, 0

    def run(self) -> int:
        try:
            self.on_welcome(self.link.hello(timeout_s=self.args.orphan_timeout))
        except LinkError as exc:
            log.error("no kernel: %s; exiting (code %d)", exc, EXIT_ORPHANED)
            return EXIT_ORPHANED
        next_tick = next_beat = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= next_tick:
                self.tick()
                next_tick = max(next_tick + self.args.tick_interval, now)
            if now >= next_beat:
                self.beat()
                next_beat = now + self.interval()
            self.notice_link()
            wait = max(0.0, min(next_tick, next_beat) - time.monotonic())
            for command in self.link.poll_commands(timeout_s=wait):
                if self.obey(command):
                    return EXIT_OK
            if self.link.welcome is not self.welcome and self.link.welcome is not None:
                self.on_welcome(self.link.welcome)  # a restarted kernel welcomed us again
            gone = self.link.kernel_seen_s_ago()
            if gone > self.args.orphan_timeout:
                log.error("kernel unreachable for %.1f s (limit %.1f s): stopping so that no "
                          "unsupervised bot keeps trading (code %d)",
                          gone, self.args.orphan_timeout, EXIT_ORPHANED)
                return EXIT_ORPHANED

    def notice_link(self) -> None:
        """Log the kernel going away and coming back (the link says hello again itself)."""
        connected, rehellos = self.link.connected, self.link.stats.rehellos
        if rehellos != self.rehellos:
            log.warning("kernel reachable again: said hello again")
        elif self.connected and not connected:
            log.warning("kernel connection lost: orders are denied; exiting after %g s "
                        "without it", self.args.orphan_timeout)
        self.connected, self.rehellos = connected, rehellos

    def interval(self) -> float:
        return self.welcome.heartbeat_interval_s if self.welcome else 1.0

    def on_welcome(self, welcome: Welcome) -> None:
        self.welcome, self.risk_multiplier = welcome, welcome.risk_multiplier
        log.info("welcome: heartbeat every %gs, trading %s, risk x%g%s",
                 welcome.heartbeat_interval_s, welcome.trading_state, welcome.risk_multiplier,
                 "" if welcome.risk_multiplier else " (no new positions until it is raised)")
        for symbol, recent in self.bars.recent.items():  # the planner's history, sent again
            self.send_bars(symbol, list(recent)[-self.args.history_bars:])  # to a new kernel

    def send_bars(self, symbol: str, bars: list[OhlcvBar]) -> None:
        """Market data for the kernel's planner (additive: a kernel may ignore it)."""
        if bars:
            atr = walk_atr(bars[-1].close, VOLATILITY, self.args.bar_ticks)
            self.link.send(Bars(symbol=symbol, bars=bars, asset_class="crypto", atr_30d=atr,
                                bot_id=self.args.bot_id))

    # --- market and orders ---------------------------------------------------------

    def tick(self) -> None:
        self.marks = self.feed.step()
        self.last_tick_ts = time.time()
        for symbol, bar in self.bars.on_tick(self.marks, self.last_tick_ts):
            self.send_bars(symbol, [bar])
        for symbol, price in self.marks.items():
            intent = self.strategy.on_tick(symbol, price, self.account.books.get(symbol),
                                           self.risk_multiplier)
            if intent is not None and not self.paused:
                self.execute(intent)
                self.strategy.acted(symbol)

    def execute(self, intent: Intent) -> bool:
        """Ask first; on ALLOW place the order on the paper venue and report what it
        did: accepted, then the fill, or cancelled when the IOC found no liquidity (the
        kernel reserves the order's exposure until one or the other arrives)."""
        price = self.marks[intent.symbol]
        order = OrderRequest(request_id=new_request_id(), bot_id=self.args.bot_id, ts=time.time(),
                             symbol=intent.symbol, side=intent.side, qty=intent.qty, price=price,
                             order_type="market", reduce_only=intent.reduce_only)
        decision = self.link.can_execute(order, timeout_s=self.args.decision_timeout)
        what = (f"{intent.symbol} {intent.side} {intent.qty:g} @ {price:.2f}"
                f"{' reduce-only' if intent.reduce_only else ''} ({intent.why})")
        if decision.verdict != "ALLOW":
            log.info("DENY  %s: %s [%s]", what, decision.reason, decision.code)
            return False
        venue_id, filled = self.venue.place()
        self.save()
        self.update(order, "accepted", venue_id)
        if not filled:
            self.update(order, "cancelled", venue_id, "IOC: no liquidity at the expected price")
            log.info("MISS  %s: cancelled by the venue, nothing filled", what)
            self.missed = True
            return False
        fee = fee_for(intent.qty, price)
        pnl = self.account.apply_fill(intent.symbol, intent.side, intent.qty, price, fee)
        self.save()  # the exchange books the fill whether or not the kernel hears of it
        self.link.report_fill(Fill(request_id=order.request_id, symbol=intent.symbol,
                                   side=intent.side, qty=intent.qty, price=price, fee=fee,
                                   ts=time.time()))
        log.info("FILL  %s fee %.4f pnl %+.2f", what, fee, pnl)
        return True

    def save(self) -> None:
        if self.store is not None:
            self.store.save(account_state(self.account, self.venue.placed, self.marks))

    def update(self, order: OrderRequest, status: str, venue_id: str, reason: str = "") -> None:
        """Tell the kernel what the venue did with an allowed order (before its fill)."""
        self.link.report_order_update(OrderUpdate(
            request_id=order.request_id, status=status, ts=time.time(),  # type: ignore[arg-type]
            venue_order_id=venue_id, remaining_qty=order.qty, reason=reason))

    def beat(self) -> None:
        marks = self.marks
        positions = [Position(symbol=symbol, qty=book.qty, avg_price=book.avg_price,
                              mark_price=marks[symbol])
                     for symbol, book in self.account.open_books().items()]
        unrealized = self.account.unrealized_pnl(marks)
        equity = self.account.equity(marks)
        first = self.args.symbols[0]
        self.link.heartbeat(uptime_s=time.monotonic() - self.started, equity=equity,
                            realized_pnl=self.account.realized_pnl, unrealized_pnl=unrealized,
                            positions=positions, last_tick_ts=self.last_tick_ts,
                            last_tick_price=marks[first], marks=marks)
        self.beats += 1
        if self.beats % STATUS_EVERY == 1:
            log.info("status equity %.2f realized %+.2f unrealized %+.2f positions %d%s",
                     equity, self.account.realized_pnl, unrealized, len(positions),
                     " (paused)" if self.paused else "")

    # --- commands -------------------------------------------------------------------

    def obey(self, command: Command) -> bool:
        """Carry out one command and acknowledge it; True means stop the bot."""
        ok, detail, stop = self.carry_out(command)
        log.info("COMMAND %s%s -> %s: %s", command.action,
                 f" {command.params}" if command.params else "", "ok" if ok else "failed", detail)
        self.link.ack(command.command_id, ok, detail)
        return stop

    def carry_out(self, command: Command) -> tuple[bool, str, bool]:
        params = command.params
        match command.action:
            case "pause":
                self.paused = True
                return True, "paused: no orders until resume", False
            case "resume":
                self.paused = False
                return True, "resumed", False
            case "close_all":
                return (*self.close_all(), False)
            case "set_risk_multiplier":
                value = params.get("risk_multiplier", params.get("value"))
                if isinstance(value, bool) or not isinstance(value, int | float) \
                        or not 0 <= value <= 10:
                    return False, f"expected params.risk_multiplier in [0, 10], not {value!r}", \
                        False
                self.risk_multiplier = float(value)
                return True, f"risk multiplier {value:g}: order size scaled", False
            case "set_mode":
                mode = params.get("mode")
                if mode not in ("paper", "demo"):
                    return False, f"expected params.mode 'paper' or 'demo', got {mode!r}", False
                self.link.mode = self.args.mode = _bot_mode(str(mode))
                return True, f"mode {mode}", False
            case "shutdown":
                return True, "shutting down", True
        return False, f"unknown action {command.action!r}", False

    def close_all(self) -> tuple[bool, str]:
        intents = closing_intents(self.account, "close_all")
        if not intents:
            return True, "no open positions"
        denied = [i.symbol for i in intents if not self.close(i)]
        if denied:
            return False, f"closed {len(intents) - len(denied)} of {len(intents)}; " \
                          f"denied: {', '.join(denied)}"
        return True, f"closed {len(intents)} positions"


    def close(self, intent: Intent, attempts: int = 3) -> bool:
        """A close the venue did not fill is asked for and sent again; a denied one is not."""
        for _ in range(attempts):
            self.missed = False
            if self.execute(intent):
                return True
            if not self.missed:
                return False
        return False


class AccountFile:
    """The paper exchange's memory: one JSON file per bot and mode, replaced whole.

    A real bot finds its positions at its exchange after a restart; the paper bot
    finds them here, so a restarted bot (or kernel) reconciles instead of
    disagreeing with the kernel's ledger.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_args(cls, args: argparse.Namespace) -> AccountFile | None:
        folder = args.data_dir if args.data_dir is not None else os.environ.get(DATA_DIR_ENV)
        if not folder:
            log.warning("no --data-dir (nor %s): the paper account is not kept, so a "
                        "restart starts flat", DATA_DIR_ENV)
            return None
        return cls(Path(folder) / f"paper-account-{args.bot_id}-{args.mode}.json")

    def load(self, fresh: PaperAccount) -> tuple[PaperAccount, int, dict[str, float]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            log.info("paper account: new, %.2f USDT (kept in %s)", fresh.start_equity,
                     self.path)
            return fresh, 0, {}
        try:
            data = json.loads(text)
            account, placed = restore_account(data)
        except ValueError as exc:  # json.JSONDecodeError is one
            raise SystemExit(f"paper account {self.path} cannot be read ({exc}). Fix: move "
                             "it away to start a new account.") from exc
        books = ", ".join(f"{s} {b.qty:g}" for s, b in account.open_books().items())
        log.info("paper account restored from %s: realized %+.2f, positions %s", self.path,
                 account.realized_pnl, books or "none")
        return account, placed, restore_marks(data)

    def save(self, state: dict[str, object]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        with partial.open("w", encoding="utf-8") as out:
            json.dump(state, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, self.path)


def _bot_mode(text: str) -> BotMode:
    return "demo" if text == "demo" else "paper"


def _symbols(text: str) -> list[str]:
    symbols = [s.strip().upper() for s in text.split(",") if s.strip()]
    if not symbols or not all(s.endswith("USDT") and len(s) > 4 for s in symbols):
        raise argparse.ArgumentTypeError(f"expected USDT symbols like BTCUSDT,ETHUSDT, "
                                         f"got {text!r}")
    return symbols


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def _count(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high}, "
                                             f"got {text!r}")
        return value
    return parse


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["paper", "demo"], default="paper")
    parser.add_argument("--gateway", default="tcp://127.0.0.1:7710", help="kernel bot link")
    parser.add_argument("--bot-id", default="quantumedge-1")
    parser.add_argument("--curve-secret", metavar="FILE",
                        help="this bot's CurveZMQ key (keys/bots/ID.key_secret), for a kernel "
                             "with gateway.curve (docs/fleet.md)")
    parser.add_argument("--curve-server", metavar="FILE", default="keys/server.key",
                        help="the kernel's public key (default keys/server.key)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic market")
    parser.add_argument("--symbols", type=_symbols, default=["BTCUSDT", "ETHUSDT"])
    parser.add_argument("--tick-interval", type=_positive, default=0.5, help="seconds")
    parser.add_argument("--bar-ticks", type=_count(1, 10_000), default=20,
                        metavar="N", help="ticks per one-minute bar of the simulated market "
                        "(20 ticks of 0.5 s: a bar every 10 s)")
    parser.add_argument("--history-bars", type=_count(0, 1000), default=300,
                        metavar="N", help="bars of history sent to the kernel's planner on "
                        "each welcome (0 to 1000)")
    parser.add_argument("--orphan-timeout", type=_positive, default=10.0,
                        help="exit (code 3) when the kernel is unreachable this long")
    parser.add_argument("--start-equity", type=_positive, default=10_000.0,
                        help="USDT of a new paper account")
    parser.add_argument("--data-dir", default=None, help="where the paper account is kept "
                        f"between runs (default: ${DATA_DIR_ENV}; neither: not kept)")
    parser.add_argument("--decision-timeout", type=_positive, default=1.0,
                        help="seconds to wait for ALLOW/DENY before treating it as DENY")
    parser.add_argument("--miss-rate", type=_fraction, default=0.0,
                        help="share of allowed orders the paper venue does not fill (0 to 1); "
                        "the bot reports each one cancelled")
    return parser.parse_args(argv)


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(stream=sys.stdout, level=logging.INFO,
                        format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    for name in ("SIGTERM", "SIGBREAK"):  # SIGBREAK: Ctrl-Break, how Windows asks politely
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _raise_stop)
    log.info("QuantumEdge %s %s mode, %s, gateway %s (fills are simulated)",
             VERSION, args.mode, ",".join(args.symbols), args.gateway)
    curve = None if args.curve_secret is None else \
        CurveKeys.from_files(args.curve_secret, args.curve_server)
    link = BotLink(args.gateway, bot_id=args.bot_id, mode=args.mode, version=VERSION,
                   curve=curve)
    try:
        code = Bot(args, link).run()
    except (KeyboardInterrupt, Stop) as exc:
        log.info("stopped by %s", str(exc) or "Ctrl-C")
        code = EXIT_OK
    finally:
        link.close(linger_s=1.0)  # let a last ack reach the kernel
    log.info("exit %d", code)
    return code


if __name__ == "__main__":
    sys.exit(main())
