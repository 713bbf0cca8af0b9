"""The bot link: a ROUTER socket that speaks the contract in ``bus/protocol.py``.

Bots connect DEALER sockets. Every frame is answered or dropped with a reason;
nothing a bot sends can crash or stall the gateway: an undecodable frame gets an
``error`` (within a budget: :mod:`kernel._gateway_bad_input`), an invalid ``order_request``
a DENY ``invalid_request``, a link's bus frames beyond its budget ``link_flooded``; each
fault is journaled as an anomaly.

A link's identity is bound at ``hello``: an ``order_request`` from a link that has
not said hello, or that names another ``bot_id`` than its hello, is denied with
``identity_mismatch`` (journaled and answered like any decision) and never reaches
the gate, so every limit the gate keeps per bot (the order-rate bucket) is kept per
link. Any other ``order_request`` is decided by the registered
:class:`~kernel.gate.OrderGate` synchronously. The request and the decision are
journaled, and the reply is sent only once the decision's journal row is
committed, so the bot never acts on a decision the journal could lose.
Decisions are committed per burst: every order read in one wake-up is decided,
one journal commit covers them all (inline when the journal allows it), then the
replies go out, and only then the bus copies of the burst's requests and decisions
(:mod:`kernel._gateway_replies`). One order alone is one burst, so nothing waits.
A heartbeat, fill or order update is journaled, offered to the gate when it has taken
every earlier one (:mod:`kernel._gateway_facts`), and put on the bus.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import msgspec
import zmq

from bus.codec import encode, encode_json, is_json
from bus.drain import SocketDrain
from bus.frames import NOBLOCK, recv_frames_as, recv_routed, send_frames
from bus.protocol import (
    Bars,
    Command,
    CommandAck,
    Error,
    Fill,
    Heartbeat,
    Hello,
    Message,
    OrderDecision,
    OrderRequest,
    OrderUpdate,
    PlanRequest,
    Welcome,
    make_decision,
)
from bus.security import bind_checked
from kernel._gateway_backpressure import Backpressure
from kernel._gateway_bad_input import BadInput
from kernel._gateway_facts import FactsBehind
from kernel._gateway_faults import FaultReporter, salvage_request_id
from kernel._gateway_refusals import refusal_quota
from kernel._gateway_replies import Reply, all_committed, deliver
from kernel._gateway_sessions import (
    ONE_BOT_SESSIONS,
    BotSession,
    LinkBudget,
    SessionTable,
    claim_refusal,
    flood_refusal,
    hello_refusal,
    identity_refusal,
    key_refusal,
    second_bot_refusal,
    what,
)
from kernel._link_frames import LinkFrames, frame_tag
from kernel.emitter import Emitter, Staged
from kernel.events import BotLifecycleChanged
from kernel.gate import (
    ClosedGate,
    MarkTaker,
    MultiplierNote,
    OrderGate,
    PerBotGate,
    deny,
)
from kernel.keys import BOT_DOMAIN, ServerKeys, make_curve_server
from kernel.plan_service import PlanService, plan_answer

log = logging.getLogger("kernel.gateway")

_HARD_FRAME_CAP = 16 * 1024 * 1024  # the largest max_frame_bytes may be set to
_BURST, _PER_LINK = 64, 8  # frames per wake-up, and of one link in it (docs/architecture.md)
_PER_LINK_BYTES = 64 * 1024  # or of its bytes: an order is a few hundred bytes
_FRAMES_IN, _FRAMES_OUT = 100, 10_000
"""ROUTER high-water marks per link (ZeroMQ's are per peer). In: a flooding link fills it,
then its own queue and TCP's, then its sends block. Out: small replies of many bursts."""


class Gateway:
    """Serves every bot on one ROUTER socket from the kernel's event loop."""

    def __init__(
        self,
        *,
        context: zmq.Context[Any],
        endpoint: str,
        emitter: Emitter,
        clock: Callable[[], float],
        heartbeat_interval_s: float = 1.0,
        max_frame_bytes: int = 256 * 1024,
        extra_frames: LinkFrames | None = None,
        fleet: frozenset[str] | None = None,
        backlog: Callable[[], int] = lambda: 0,
    ) -> None:
        """``fleet``: the bot ids of ``paths.yaml`` ``bots:``, the only ones admitted at
        hello (several at once); None: the one-bot shorthand (any id, one at a time).
        ``backlog``: rows queued for the journal (reading pauses while it is high)."""
        self._context = context
        self._fleet = fleet
        self.curve: ServerKeys | None = None
        """Set before :meth:`start` to authenticate bots with CurveZMQ (``gateway.curve``)."""
        self._user = ""
        """Under CurveZMQ: who the ZAP handler said sent the last message read."""
        self._extra = extra_frames or LinkFrames()
        self._decoder = self._extra.decoder()
        self._endpoint = endpoint
        self._emitter = emitter
        self._clock = clock
        self._heartbeat_interval_s = heartbeat_interval_s
        self._max_frame_bytes = max_frame_bytes
        self._gate: OrderGate = ClosedGate()
        self._facts = FactsBehind()
        self._planner: PlanService | None = None
        self._sock: zmq.Socket[bytes] | None = None
        self._drain: SocketDrain | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._replies: list[Reply] = []
        """Decisions of the burst being read, committed and sent at its end."""
        self._stray_budget = LinkBudget()  # shared by every link that has not said hello
        self.sessions = SessionTable(len(fleet) if fleet is not None else ONE_BOT_SESSIONS)
        self.faults = FaultReporter(emitter, clock)
        self.bad = BadInput(self.sessions.bad_budget, clock, self._reply_error, lambda: self._drain)
        self.backpressure = Backpressure(backlog, self.faults)
        self.refusals = refusal_quota()
        self.bound_endpoint = ""
        self.decisions = 0

    def start(self) -> str:
        """Bind and start serving; a bind failure is raised to the caller."""
        sock = self._context.socket(zmq.ROUTER)
        sock.linger = 0
        sock.router_mandatory = True  # a vanished bot raises instead of silently dropping
        # Beyond maxmsgsize libzmq drops the peer; up to it a frame over max_frame_bytes
        # is answered frame_too_large (docs/architecture.md, "Bounded memory").
        sock.maxmsgsize = min(_HARD_FRAME_CAP, max(1024 * 1024, 4 * self._max_frame_bytes))
        sock.rcvhwm, sock.sndhwm = _FRAMES_IN, _FRAMES_OUT
        if self.curve is not None:
            make_curve_server(sock, self.curve)
            sock.zap_domain = BOT_DOMAIN.encode()
        try:
            self.bound_endpoint = bind_checked(sock, self._endpoint)
        except BaseException:
            sock.close(linger=0)
            raise
        self._sock = sock
        self._drain = SocketDrain(sock, self._on_frames, on_batch_end=self._end_of_burst,
                                  batch=_BURST, per_sender=_PER_LINK,
                                  per_sender_bytes=_PER_LINK_BYTES,
                                  receive=recv_routed if self.curve is None else self._recv_as)
        self._drain.start()
        return self.bound_endpoint

    async def stop(self, timeout_s: float = 2.0) -> None:
        """Read what is queued, stop reading, finish the decisions in flight (bounded)."""
        if self._drain is not None:
            self._drain.stop(read_queued=True)
            self._drain = None
        self.backpressure.cancel()
        self._emitter.publisher.release()
        if self._pending:
            await asyncio.wait(self._pending, timeout=timeout_s)
        if self._sock is not None:
            self._sock.close(linger=0)
            self._sock = None

    @property
    def gate(self) -> OrderGate:
        return self._gate

    @property
    def facts(self) -> FactsBehind:
        """The facts sent to the bus against those the gate took (on the path too)."""
        return self._facts

    def set_gate(self, gate: OrderGate | None) -> None:
        """Install the deciding gate, or ``None`` to fall back to closed."""
        self._gate = gate if gate is not None else ClosedGate()
        self._facts.installed(gate)

    def set_planner(self, planner: PlanService | None) -> None:
        """Install the service that answers ``plan_request``, or ``None`` to withdraw it."""
        self._planner = planner

    # --- outbound ---------------------------------------------------------------

    def send_command(self, command: Command, *, bot_id: str = "") -> int:
        """Send to one bot by id, or to every connected bot; return how many got it."""
        targets = self.sessions.by_bot_id(bot_id) if bot_id else self.sessions.all()
        sent = sum(self._send(session.identity, command, session.json) for session in targets)
        if not sent:
            self.faults.report("command_undelivered", "warning",
                               f"{command.action} for {bot_id or 'all bots'}: no bot connected")
        return sent

    def _send(self, identity: bytes, message: Message, as_json: bool) -> bool:
        sent = self._send_quietly(identity, message, as_json)
        if self._drain is not None:
            self._drain.after_send()
        return sent

    def _send_quietly(self, identity: bytes, message: Message, as_json: bool,
                      payload: bytes = b"") -> bool:
        """Send without re-checking for input; the caller does that once per burst."""
        sock = self._sock
        if sock is None:
            return False
        body = encode_json(message) if as_json else (payload or encode(message))
        try:
            send_frames(sock, (identity, body), NOBLOCK)
        except zmq.ZMQError as exc:  # EHOSTUNREACH: the bot left; EAGAIN: it stopped reading
            self.faults.report("reply_undelivered", "warning",
                               f"{what(message)} for {self.sessions.whom(identity)} not "
                               f"delivered: {exc.strerror}")
            return False
        return True

    # --- inbound ----------------------------------------------------------------

    def _on_frames(self, frames: list[bytes]) -> None:
        if len(frames) != 2:
            if frames:
                self.bad.refuse(frames[0], False, "expected exactly one frame per message, "
                                f"got {len(frames) - 1}", "bad_frame", sum(map(len, frames)))
            return
        identity, frame = frames
        as_json = is_json(frame)
        if len(frame) > self._max_frame_bytes:
            self.bad.refuse(identity, as_json, f"frame of {len(frame)} bytes exceeds the limit "
                            f"of {self._max_frame_bytes} bytes", "frame_too_large", len(frame))
            return
        try:
            message = self._decoder.decode(frame)
        except msgspec.DecodeError as exc:
            self._on_undecodable(identity, frame, as_json, exc)
            return
        self._dispatch(identity, message, as_json)

    def _dispatch(self, identity: bytes, message: Message, as_json: bool) -> None:
        match message:
            case OrderRequest():
                self._on_order(identity, message, as_json)
            case Heartbeat():
                session = self.sessions.seen(identity, now := self._clock())
                if self._refused_claim(identity, session, message, as_json) \
                        or self._over_budget(identity, session, message, as_json, now):
                    return
                if session is not None and not session.marks_taken:
                    session.marks_taken = True
                    self._take_marks(message)
                self._emitter.emit(message, ts=now)  # the gate takes it at its row's time
                self._facts.count(message, now=now)
            case Hello():
                self._on_hello(identity, message, as_json)
            case Fill() | OrderUpdate() | CommandAck() | Bars():
                session = self.sessions.seen(identity, now := self._clock())
                if self._refused_claim(identity, session, message, as_json) or (
                        isinstance(message, Bars)  # fills, updates, acks: never refused
                        and self._over_budget(identity, session, message, as_json, now)):
                    return
                if session is not None and not message.bot_id:
                    message = msgspec.structs.replace(message, bot_id=session.bot_id)
                if isinstance(message, OrderUpdate):  # held, its copy can be spared the
                    self._emitter.publisher.hold()    # engine that takes it (Publisher.spare_last)
                self._emitter.emit(message, ts=now)
                self._facts.count(message, now=now)
            case PlanRequest():
                self._on_plan_request(identity, message, as_json)
            case _:  # a frame type beyond the core contract (a verdict): to the bus as it is
                session = self.sessions.seen(identity, now := self._clock())
                if not self._over_budget(identity, session, message, as_json, now):
                    self._emitter.emit(message)

    def _refused_claim(self, identity: bytes, session: BotSession | None,
                       message: Heartbeat | Fill | OrderUpdate | CommandAck | Bars,
                       as_json: bool) -> bool:
        """Refuse (an ``error`` reply and an anomaly) a frame that speaks for another bot."""
        refusal = claim_refusal(session, message.topic, message.bot_id,
                                fleet=self._fleet is not None)
        if refusal is not None:
            self._reply_error(identity, as_json, refusal, "identity_mismatch")
        return refusal is not None

    def _take_marks(self, heartbeat: Heartbeat) -> None:
        """A session's first heartbeat reaches the gate before the link's next order,
        which is read after it from the same socket (later beats go by the bus only)."""
        gate = self._gate
        if not isinstance(gate, MarkTaker):
            return
        try:
            gate.take_marks(heartbeat, self._clock())
        except Exception:  # the full heartbeat still reaches the engine over the bus
            log.exception("order gate failed to take the first heartbeat's marks")

    def _on_hello(self, identity: bytes, hello: Hello, as_json: bool) -> None:
        now = self._clock()
        unknown = hello_refusal(self._fleet, hello)
        if unknown is not None:
            self._reply_error(identity, as_json, unknown, "unknown_bot")  # journaled
            return
        wrong_key = None if self.curve is None else key_refusal(self._user, hello)
        if wrong_key is not None:
            self._reply_error(identity, as_json, wrong_key, "identity_mismatch")
            return
        other = None if self._fleet is not None else self.sessions.other_live_bot(
            hello.bot_id, identity, now, within_s=5 * self._heartbeat_interval_s)
        if other is not None:
            self._reply_error(identity, as_json, second_bot_refusal(hello, other),
                              "second_bot")
            return
        replaced = self.sessions.register(
            BotSession(identity=identity, bot_id=hello.bot_id, mode=hello.mode, pid=hello.pid,
                       version=hello.version, json=as_json, connected_at=now, last_seen=now)
        )
        gate = self._gate
        if isinstance(gate, PerBotGate):
            gate = gate.for_bot(hello.bot_id)
        try:
            note = gate.risk_multiplier_note
        except Exception:  # the welcome goes out without the words rather than not at all
            log.exception("order gate failed to say who set the risk multiplier")
            note = MultiplierNote()
        self._send(identity, Welcome(heartbeat_interval_s=self._heartbeat_interval_s,
                                     trading_state=gate.trading_state,
                                     risk_multiplier=gate.risk_multiplier,
                                     risk_multiplier_by=note.by[:1000],
                                     risk_multiplier_reason=note.reason[:1000],
                                     risk_multiplier_until=note.until[:1000]), as_json)
        self._emitter.emit(hello)
        detail = f"mode={hello.mode} pid={hello.pid} version={hello.version or '?'}"
        if replaced:
            detail += " (replaces an earlier connection with the same bot_id)"
        self._emitter.emit(BotLifecycleChanged(bot_id=hello.bot_id, state="connected", ts=now,
                                               detail=detail, pid=hello.pid))

    def _recv_as(self, sock: zmq.Socket[bytes], flags: int) -> list[bytes]:
        """Read one message and who sent it (the ZAP handler's ``User-Id``)."""
        frames, self._user = recv_frames_as(sock, flags)
        return frames

    def _over_budget(self, identity: bytes, session: BotSession | None, message: Message,
                     as_json: bool, now: float) -> bool:
        """Refuse a bus frame beyond the link's budget: a heartbeat quietly (the next one
        says the same), any other with an ``error`` the bot can act on; counted either way."""
        budget = session.budget if session is not None else self._stray_budget
        if budget.spend(now):
            return False
        if isinstance(message, Heartbeat):
            self.faults.report("link_flooded", "warning", flood_refusal(message.topic))
        else:
            self._reply_error(identity, as_json, flood_refusal(message.topic), "link_flooded")
        return True

    def _on_order(self, identity: bytes, order: OrderRequest, as_json: bool) -> None:
        now = self._clock()
        self._emitter.publisher.hold()  # the burst's replies go first (kernel/_gateway_replies.py)
        self._emitter.hush()  # its end commits inline: no writer task to wake meanwhile
        mismatch = identity_refusal(self.sessions.seen(identity, now), order)
        rows = mismatch is None or self.refusals.spend(now)  # a refusal flood: counted only
        try:
            if rows:
                self._emitter.emit(order, ts=now)  # the decision time: a replay decides at it
        except Exception as exc:  # no request row, no decision: deny without deciding
            self._keep_aside(order)
            self._queue_reply(identity, self._unjournaled(order.request_id, order.bot_id, exc),
                              as_json, journal=False)
            return
        if mismatch is not None:  # answered like any decision (journaled within the quota)
            self.faults.report("identity_mismatch", "warning", f"{order.request_id}: {mismatch}")
            self._queue_reply(identity, deny(order, code="identity_mismatch", reason=mismatch,
                              trading_state=self._gate.trading_state, now=now), as_json,
                              journal=rows)
            return
        ahead = self._facts.ahead(order, now)
        if ahead is not None:  # the engine has not taken the newest facts: journal it
            self._emitter.emit(ahead)
        try:
            decision = self._gate.decide(order, now)
        except Exception as exc:  # the gate must never take the gateway down: fail closed
            log.exception("order gate raised on %s", order.request_id)
            self.faults.report("gate_error", "critical", f"{type(exc).__name__}: {exc}")
            decision = deny(order, code="internal_error", trading_state="HALTED", now=now,
                            reason=f"the risk check failed ({type(exc).__name__}); "
                            "denied to stay safe")
        self._queue_reply(identity, decision, as_json)

    def _on_plan_request(self, identity: bytes, request: PlanRequest, as_json: bool) -> None:
        """Ask the planner service; any failure is an ``error`` reply that says why."""
        session = self.sessions.seen(identity, self._clock())
        if session is not None and not request.bot_id:
            request = msgspec.structs.replace(request, bot_id=session.bot_id)
        self._emitter.emit(request)
        answer = plan_answer(self._planner, request, self._clock(), self.faults.report)
        if not isinstance(answer, Error):
            self._emitter.emit(answer)
        self._send(identity, answer, as_json)

    def _queue_reply(self, identity: bytes, decision: OrderDecision, as_json: bool, *,
                     journal: bool = True) -> None:
        """Journal ``decision`` (queued); it is sent at the end of the burst, once committed."""
        staged: Staged | None = None
        if journal:
            try:
                staged = self._emitter.stage(decision)
            except Exception as exc:  # the journal refuses appends: closed or failed
                decision = self._unjournaled(decision.request_id, decision.bot_id, exc)
        self._replies.append(Reply(identity, decision, as_json, staged))

    def _end_of_burst(self) -> None:
        """Commit the burst's decisions, answer, then release the bus held since the
        burst's first order; wait for the writer if it must (the bus goes on meanwhile)."""
        replies, self._replies = self._replies, []
        try:
            if self._drain is not None:
                self.backpressure.check(self._drain)
            if not replies:
                return
            self._emitter.commit_now()
            if all_committed(replies):
                self._deliver(replies)
                return
            task = asyncio.get_running_loop().create_task(self._deliver_when_committed(replies))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
        finally:
            self._emitter.hush(False)  # done by the commit; else the writer takes the rows
            self._emitter.publisher.release()

    async def _deliver_when_committed(self, replies: list[Reply]) -> None:
        await asyncio.wait([r.staged.committed for r in replies if r.staged is not None])
        self._deliver(replies)

    def _deliver(self, replies: list[Reply]) -> None:
        """Send every reply, then publish the committed decisions (see ``deliver``)."""
        self.decisions += len(replies)
        deliver(replies, send=self._send_quietly, publish=self._emitter.publish,
                unjournaled=self._unjournaled)
        if self._drain is not None:
            self._drain.after_send()

    def _unjournaled(self, request_id: str, bot_id: str, exc: BaseException) -> OrderDecision:
        """The DENY for an order whose rows the journal could not keep (the decision
        made stays unsent). The DENY is sent, so it is kept aside: in the journal's
        fallback file at once, journaled as soon as the journal commits again."""
        log.error("journal failed for order %s: %s", request_id, exc)
        self.faults.report("journal_error", "critical", f"{type(exc).__name__}: {exc}")
        denial = make_decision(
            request_id=request_id, verdict="DENY", code="journal_unavailable",
            reason="the decision could not be journaled, so it is denied",
            trading_state=self._gate.trading_state, bot_id=bot_id, ts=self._clock())
        self._keep_aside(denial)
        return denial

    def _keep_aside(self, message: Message) -> None:
        """Keep what was acted on though the journal refused it; never in the way of a reply."""
        try:
            self._emitter.set_aside(message)
        except Exception:
            log.exception("%s could not be kept aside either", type(message).__name__)

    def _on_undecodable(self, identity: bytes, frame: bytes, as_json: bool,
                        exc: msgspec.DecodeError) -> None:
        tag = frame_tag(frame)
        if tag in self._extra.refusals:
            noun, code = self._extra.refusals[tag]
            self.bad.refuse(identity, as_json, f"invalid {noun}: {exc}", code, len(frame))
            return
        request_id, bot_id = salvage_request_id(frame)
        if request_id is not None:  # an order we cannot accept: DENY it explicitly
            decision = make_decision(request_id=request_id, verdict="DENY", code="invalid_request",
                                     reason=f"invalid order_request: {exc}", bot_id=bot_id,
                                     trading_state=self._gate.trading_state, ts=self._clock())
            self.faults.report("invalid_request", "warning", f"{request_id}: {exc}")
            self._queue_reply(identity, decision, as_json,
                              journal=self.refusals.spend(self._clock()))
            return
        self.bad.refuse(identity, as_json, f"could not decode the frame: {exc}", "bad_frame",
                        len(frame))

    def _reply_error(self, identity: bytes, as_json: bool, reason: str, code: str) -> None:
        self.faults.report(code, "warning", reason)
        self._send(identity, Error(reason=reason[:4096], code=code), as_json)
