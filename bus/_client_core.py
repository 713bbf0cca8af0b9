"""What the blocking and the asyncio bot link share: the socket, matching, reconnects.

The two clients differ only in how they wait. Everything that does not wait lives
here, so that both fail closed in exactly the same way: a decision is matched to
its request by ``request_id`` and by nothing else, a request that timed out can
never be answered later, and an order that cannot reach the kernel is denied at
once instead of being queued for a kernel that may come back minutes later.

A socket monitor tells when a (new) kernel is connected after a disconnect: the
moment to say hello again, before anything else, so that the new kernel knows the
bot. Fills, order updates and acks that could not be sent meanwhile are kept and
sent after that hello; heartbeats are not kept (a stale heartbeat is worse than none).
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

import msgspec
import zmq
from zmq.utils.monitor import parse_monitor_message

from bus import codec
from bus._client_state import MONITORED, Reachability, dealer
from bus.drain import readable
from bus.protocol import (
    BotMode,
    BotToKernel,
    Command,
    CommandAck,
    Error,
    Fill,
    Heartbeat,
    Hello,
    KernelToBot,
    LinkCode,
    OrderDecision,
    OrderRequest,
    OrderUpdate,
    Position,
    TradingState,
    Welcome,
    make_decision,
)

Encoding: TypeAlias = Literal["msgpack", "json"]
Resolver: TypeAlias = Callable[[OrderDecision], None]

DEFAULT_ENDPOINT: Final = "tcp://127.0.0.1:7710"
_EXPIRED_KEPT: Final = 4096
"""Request ids that timed out, remembered so that a reused id cannot pick up a late answer."""
_OUTBOX_MAX: Final = 10_000
_order_msgpack: Final = msgspec.msgpack.Decoder(OrderRequest)
_order_json: Final = msgspec.json.Decoder(OrderRequest)


def check_timeout(timeout_s: object) -> None:
    """Raise ``TypeError`` unless ``timeout_s`` is a number of seconds: checked before an
    order is sent, since a wait that fails after it leaves the order decided by the
    kernel with nobody to take the decision."""
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float):
        raise TypeError(f"timeout_s must be a number of seconds, not {timeout_s!r}")


class LinkError(Exception):
    """The link could not do what was asked: the kernel is unreachable, or refused."""


class LinkTimeout(LinkError, TimeoutError):
    """The kernel did not answer in time."""


@dataclass
class LinkStats:
    """Counters a bot can log or test against; they never decide anything."""

    sent: int = 0
    received: int = 0
    late_decisions: int = 0
    """Decisions that arrived after their request had timed out (discarded)."""
    bad_frames: int = 0
    """Frames from the kernel that did not decode (a newer kernel, or garbage)."""
    rehellos: int = 0
    """Hellos sent again by the link itself after the kernel came back."""
    dropped: int = 0
    """Fills or acks dropped because too many piled up while the kernel was away."""


@dataclass(frozen=True, slots=True)
class CurveKeys:
    """A bot's CurveZMQ keys, for a kernel whose bot link requires them (``gateway.curve``):
    its own key pair and the kernel's public key."""

    public: bytes
    secret: bytes
    server_public: bytes

    @classmethod
    def from_files(cls, key_secret: str, server_key: str) -> CurveKeys:
        """Read ``bots/<id>.key_secret`` and ``server.key`` as ``kernel keys generate
        --bot ID`` wrote them."""
        import zmq.auth  # late: only bots on other hosts need it

        public, secret = zmq.auth.load_certificate(key_secret)
        server, _ = zmq.auth.load_certificate(server_key)
        if not secret:
            raise ValueError(f"{key_secret} holds no secret key")
        return cls(public, secret, server)


class LinkCore:
    """Socket, encoding and bookkeeping; subclasses add waiting (blocking or asyncio).

    Not thread-safe: like the ZeroMQ socket under it, use one link from one thread.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        bot_id: str,
        mode: BotMode,
        version: str,
        encoding: Encoding,
        context: zmq.Context[zmq.Socket[bytes]] | None,
        zmtp_heartbeat_s: float,
        clock: Callable[[], float],
        curve: CurveKeys | None = None,
    ) -> None:
        if encoding not in ("msgpack", "json"):
            raise ValueError(f"encoding must be 'msgpack' or 'json', not {encoding!r}")
        if not 0 < len(bot_id) <= 128:
            raise ValueError(f"bot_id must be 1 to 128 characters, got {bot_id!r}")
        self.endpoint = endpoint
        self.bot_id = bot_id
        self.mode: BotMode = mode
        """Reported in every hello, including the automatic one after a reconnect."""
        self.version = version
        self.encoding: Encoding = encoding
        self.stats = LinkStats()
        self.welcome: Welcome | None = None
        """The latest welcome; it changes when a restarted kernel welcomes the bot again."""
        self.last_error: Error | None = None
        self._trading_state: TradingState | None = None
        self._clock = clock
        self._socket = dealer(context or zmq.Context.instance(), zmtp_heartbeat_s)
        self._monitor = self._socket.get_monitor_socket(MONITORED)
        if curve is not None:
            self._socket.curve_secretkey = curve.secret
            self._socket.curve_publickey = curve.public
            self._socket.curve_serverkey = curve.server_public
        self._socket.connect(endpoint)
        self._reach = Reachability(clock())
        self._hello: Hello | None = None
        self._pending: dict[str, Resolver] = {}
        self._expired: OrderedDict[str, None] = OrderedDict()
        self._commands: deque[Command] = deque()
        self._outbox: deque[bytes] = deque(maxlen=_OUTBOX_MAX)
        self._welcomes = 0
        self._errors = 0
        self._seq = 0
        self.closed = False

    # --- state a bot reads -----------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the connection to the kernel was up when the link last looked."""
        return self._reach.connected

    @property
    def trading_state(self) -> TradingState | None:
        """The kernel's trading state from its latest welcome or decision."""
        return self._trading_state

    def kernel_seen_s_ago(self) -> float:
        """Seconds since the kernel was last reachable; 0 while connected.

        A bot uses this to stop on its own when the kernel is gone (no orphan
        keeps trading unsupervised). Before the first connection it counts from
        the creation of the link.
        """
        self._before_io()
        return self._reach.seen_s_ago(self._clock())

    # --- sending ---------------------------------------------------------------

    def send(self, message: BotToKernel) -> bool:
        """Send without waiting; True when handed to ZeroMQ now.

        When the kernel is unreachable, a fill, an order update or an ack is kept
        and sent after the next hello (False is returned); anything else is dropped. Orders go
        through ``can_execute``, which waits for the decision.
        """
        if isinstance(message, OrderRequest):
            raise TypeError("an order_request must go through can_execute(), which waits "
                            "for its decision; send() would leave it unanswered")
        self._before_io()
        frame = self._encode(message)
        keep = isinstance(message, Fill | OrderUpdate | CommandAck)
        if keep and (self._outbox or self._reach.hello_due):
            self._keep(frame)
            self._flush_outbox()
            return False
        sent = self._try_send(frame)
        if isinstance(message, Hello):
            self._hello = message
            if sent:
                self._reach.hello_sent()
        elif not sent and keep:
            self._keep(frame)
        return sent

    def heartbeat(
        self,
        *,
        uptime_s: float,
        equity: float,
        realized_pnl: float,
        unrealized_pnl: float,
        positions: Iterable[Position] = (),
        last_tick_ts: float | None = None,
        last_tick_price: float | None = None,
        ts: float | None = None,
        marks: Mapping[str, float] | None = None,
    ) -> bool:
        """Send a heartbeat with the next sequence number and this bot's id.

        ``marks``: the price of every symbol the bot trades, flat ones included;
        the kernel denies a first order in a symbol it has no mark for.
        """
        self._seq += 1
        return self.send(Heartbeat(
            bot_id=self.bot_id, seq=self._seq, ts=time.time() if ts is None else ts,
            uptime_s=uptime_s, equity=equity, realized_pnl=realized_pnl,
            unrealized_pnl=unrealized_pnl, positions=list(positions),
            last_tick_ts=last_tick_ts, last_tick_price=last_tick_price,
            marks=dict(marks or {})))

    def report_fill(self, fill: Fill) -> bool:
        """Report an execution; kept across a kernel restart (see ``send``)."""
        if not fill.bot_id:
            fill = msgspec.structs.replace(fill, bot_id=self.bot_id)
        return self.send(fill)

    def report_order_update(self, update: OrderUpdate) -> bool:
        """Report what the venue did with an allowed order (accepted, partially
        filled, cancelled, rejected, expired); kept across a kernel restart. The
        kernel keeps an allowed order's exposure reserved until its fills or an
        ending update arrive, so report every cancel, reject and expiry."""
        if not update.bot_id:
            update = msgspec.structs.replace(update, bot_id=self.bot_id)
        return self.send(update)

    def ack(self, command_id: str, ok: bool, detail: str = "") -> bool:
        """Answer a command; kept across a kernel restart (see ``send``)."""
        return self.send(CommandAck(command_id=command_id, ok=ok, detail=detail,
                                    bot_id=self.bot_id))

    def poll_commands(self) -> list[Command]:
        """Every command received so far, oldest first, without waiting."""
        self._before_io()
        return self._take_commands()

    # --- hooks for the waiting flavours ------------------------------------------

    def _before_io(self) -> None:
        """Blocking: read what arrived. Asyncio: make sure the loop reads it."""

    def _after_send(self) -> None:
        """Asyncio: a send may swallow the socket's wake-up, so read soon."""

    def _changed(self) -> None:
        """Something arrived: a waiting flavour wakes its waiters."""

    # --- internals shared by both flavours -------------------------------------

    def _make_hello(self) -> Hello:
        return Hello(bot_id=self.bot_id, mode=self.mode, pid=os.getpid(), version=self.version)

    def _take_commands(self) -> list[Command]:
        commands = list(self._commands)
        self._commands.clear()
        return commands

    def _encode(self, message: BotToKernel) -> bytes:
        return codec.encode_json(message) if self.encoding == "json" else codec.encode(message)

    def _try_send(self, frame: bytes) -> bool:
        try:
            self._socket.send(frame, zmq.NOBLOCK)
        except zmq.Again:
            return False
        self.stats.sent += 1
        self._after_send()
        return True

    def _keep(self, frame: bytes) -> None:
        if len(self._outbox) == self._outbox.maxlen:
            self.stats.dropped += 1
        self._outbox.append(frame)

    def _flush_outbox(self) -> None:
        while self._outbox and not self._reach.hello_due and self._try_send(self._outbox[0]):
            self._outbox.popleft()

    def _pump(self) -> None:
        """Read every monitor event and frame waiting, then send what is due."""
        if self.closed:
            return
        events = self._read_monitor()
        frames = self._read_frames()
        hello = self._hello
        if self._reach.hello_due and hello is not None and self._try_send(self._encode(hello)):
            self._reach.hello_sent()
            self.stats.rehellos += 1
        self._flush_outbox()
        if events or frames:
            self._changed()

    def _read_monitor(self) -> int:
        count = 0
        while readable(self._monitor):
            event = parse_monitor_message(self._monitor.recv_multipart(zmq.NOBLOCK))["event"]
            count += 1
            self._reach.on_event(event, self._clock())
        return count

    def _read_frames(self) -> int:
        count = 0
        while readable(self._socket):
            frame = self._socket.recv(zmq.NOBLOCK)
            count += 1
            self._dispatch(frame)
        return count

    def _dispatch(self, frame: bytes) -> None:
        try:
            message: KernelToBot = codec.kernel_frame_decoder.decode(frame)
        except msgspec.DecodeError:
            self.stats.bad_frames += 1
            return
        self.stats.received += 1
        match message:
            case OrderDecision(request_id=request_id, trading_state=state):
                self._trading_state = state
                resolve = self._pending.pop(request_id, None)
                if resolve is None:
                    self.stats.late_decisions += 1
                else:
                    resolve(message)
            case Command():
                self._commands.append(message)
            case Welcome(trading_state=state):
                self.welcome, self._trading_state = message, state
                self._welcomes += 1
            case Error(request_id=""):
                self.last_error = message
                self._errors += 1
            case Error(request_id=request_id, reason=reason, code=code):
                resolve = self._pending.pop(request_id, None)
                if resolve is None:
                    self.stats.late_decisions += 1
                else:
                    resolve(self._deny(request_id, "link_error",
                                       f"the kernel rejected the request: {reason} ({code})"))

    def _begin(self, order: OrderRequest, resolve: Resolver) -> OrderDecision | None:
        """Send ``order`` and register ``resolve`` for its decision; a DENY if it cannot."""
        self._before_io()
        request_id = order.request_id
        if self.closed:
            return self._deny(request_id, "link_error", "the link is closed")
        if request_id in self._pending or request_id in self._expired:
            return self._deny(request_id, "link_error", f"request_id {request_id!r} was already "
                              "used by this link; give every order a fresh id")
        frame = self._encode(order)
        try:
            (_order_json if self.encoding == "json" else _order_msgpack).decode(frame)
        except msgspec.DecodeError as exc:
            return self._deny(request_id, "invalid_request", f"the order is not valid: {exc}")
        self._pending[request_id] = resolve
        if self._try_send(frame):
            return None
        del self._pending[request_id]
        return self._deny(request_id, "link_error",
                          f"the kernel at {self.endpoint} is not reachable: order not sent")

    def _expire(self, request_id: str, timeout_s: float) -> OrderDecision:
        """Give up on a request: any decision for it that comes later is discarded."""
        self._forget(request_id)
        return self._deny(request_id, "timeout",
                          f"no decision from the kernel within {timeout_s:g} s")

    def _forget(self, request_id: str) -> None:
        if self._pending.pop(request_id, None) is not None:
            self._expired[request_id] = None
            if len(self._expired) > _EXPIRED_KEPT:
                self._expired.popitem(last=False)

    def _deny(self, request_id: str, code: LinkCode, reason: str) -> OrderDecision:
        """A DENY made by the link itself (fail closed), in the kernel's own shape.

        ``trading_state`` is the last one the kernel reported, HALTED if it never did.
        """
        return make_decision(request_id=request_id, verdict="DENY", reason=reason + ": denied",
                             code=code, trading_state=self._trading_state or "HALTED",
                             bot_id=self.bot_id, ts=time.time())

    def _close(self, linger_s: float) -> None:
        if self.closed:
            return
        self.closed = True
        pending, self._pending = self._pending, {}
        for request_id, resolve in pending.items():
            resolve(self._deny(request_id, "link_error", "the link was closed"))
        self._socket.disable_monitor()
        self._monitor.close(linger=0)
        self._socket.close(linger=max(0, round(linger_s * 1000)))
        self._changed()

