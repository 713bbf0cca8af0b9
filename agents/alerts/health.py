"""``/health`` and Prometheus ``/metrics`` over plain HTTP, served from the kernel's loop.

``/health`` answers 200 when the order gate is open (a risk engine decides orders)
and the journal writes, 503 otherwise, with a JSON body that says why: a monitor
pages on the code, a person reads the body. A trading halt is not ill health (the
supervisor is doing its job): the body names the trading state, and
``qe_trading_state`` in ``/metrics`` carries it for alert rules.

The bind follows the control socket's rule: loopback unless an ``auth_token`` is
set, and then every request needs ``Authorization: Bearer <token>``. A wrong bind
is a start failure that names the file, the field and the fix. The server is a
small asyncio one (GET only, one request per connection), so nothing here needs a
thread and the loop is never held.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from agents.alerts.envvars import MissingSecret, expand
from agents.alerts.slice import AlertsSlice
from bus.protocol import Message
from kernel.actor import Actor, ActorContext
from kernel.control_protocol import StatusReply, StatusRequest

if TYPE_CHECKING:
    from agents.alerts.metrics import Metrics

log = logging.getLogger("agents.alerts.health")
_READ_TIMEOUT_S = 5.0
_MAX_HEAD = 8192
_REASONS = {200: "OK", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
            503: "Service Unavailable"}


class HealthRefused(Exception):
    """The configured bind would expose the endpoint without authentication."""


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class HealthServer(Actor):
    name: ClassVar[str] = "health"
    subscriptions: ClassVar[tuple[str, ...]] = (
        "order", "risk.state", "bot.state", "bot.heartbeat", "anomaly", "llm.call",
        "llm.budget", "alerts")

    def __init__(self, *, config: AlertsSlice) -> None:
        super().__init__()
        self._config = config
        from agents.alerts.metrics import Metrics  # here: prometheus_client only when served

        self.metrics: Metrics = Metrics(fleet=config.bots)
        self._server: asyncio.Server | None = None
        self._token = ""
        self.port = 0

    async def start(self, ctx: ActorContext) -> None:
        await super().start(ctx)
        cfg, where = self._config.alerts.health, self._config.config_path
        try:
            self._token = expand(cfg.auth_token) if cfg.auth_token else ""
        except MissingSecret as exc:
            raise HealthRefused(f"{where}: health.auth_token: {exc}. Fix: set it, or bind "
                                "127.0.0.1 without a token") from None
        if not is_loopback(cfg.bind) and not self._token:
            raise HealthRefused(
                f"{where}: health.bind is {cfg.bind!r}, which is not loopback, and "
                "health.auth_token is empty, so anyone who reaches it could read the "
                'metrics. Fix: bind 127.0.0.1, or set auth_token: "${APPRISE_HEALTH_TOKEN}" '
                "and that variable")
        try:
            self._server = await asyncio.start_server(self._serve, cfg.bind, cfg.port)
        except OSError as exc:
            raise HealthRefused(
                f"{where}: health.bind {cfg.bind} port {cfg.port}: cannot listen "
                f"({exc.strerror or exc}). Fix: another program (another kernel?) holds it; "
                "choose another health.port, or stop that program") from None
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("health and metrics on http://%s:%d/", cfg.bind, self.port)

    async def handle(self, message: Message) -> Sequence[Message]:
        self.metrics.observe(message, self.ctx.clock())
        return ()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)

    async def health(self) -> tuple[int, dict[str, object]]:
        """The code and the body of ``/health``."""
        problems: list[str] = []
        body: dict[str, object] = {}
        journal = self.ctx.journal.problem
        if journal:
            problems.append(f"journal: {journal}")
        status = await self._status()
        if status is not None:
            self.metrics.kernel_state(status.trading_state)
            body |= {"gate": status.gate, "trading_state": status.trading_state,
                     "mode": status.mode, "journal_last_seq": status.journal_last_seq,
                     "bots": [b.bot_id for b in status.bots],
                     "scopes": dict(sorted(self.metrics.scopes.items())),
                     "per_bot": self.metrics.per_bot(self.ctx.clock())}
            if status.gate == "ClosedGate":
                problems.append("gate: closed, every order is denied (no risk engine, "
                                "or the kernel is halting)")
        else:
            problems.append("gate: the kernel's status could not be read")
        code = 503 if problems else 200
        return code, {"status": "ok" if code == 200 else "failing", "problems": problems,
                      **body}

    async def _status(self) -> StatusReply | None:
        ask = self.ctx.services.ask_control
        status = await ask(StatusRequest()) if ask is not None else None
        return status if isinstance(status, StatusReply) else None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_READ_TIMEOUT_S):
                head = await reader.readuntil(b"\r\n\r\n")
            code, kind, payload = await self._respond(head[:_MAX_HEAD])
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                ConnectionError):
            writer.close()
            return
        except Exception as exc:  # a bug answers 500, never ends the actor
            log.exception("health request failed")
            code, kind, payload = 500, "text/plain", f"{type(exc).__name__}\n".encode()
        body = b"" if head.startswith(b"HEAD ") else payload
        writer.write(f"HTTP/1.1 {code} {_REASONS.get(code, 'Error')}\r\n"
                     f"Content-Type: {kind}\r\nContent-Length: {len(payload)}\r\n"
                     "Connection: close\r\n\r\n".encode() + body)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    async def _respond(self, head: bytes) -> tuple[int, str, bytes]:
        lines = head.decode("latin-1").split("\r\n")
        method, _, rest = lines[0].partition(" ")
        path = rest.partition(" ")[0].partition("?")[0]
        if method not in ("GET", "HEAD"):
            return 405, "text/plain", b"GET or HEAD only\n"
        if self._token and not self._authorized(lines[1:]):
            return 401, "text/plain", b"Authorization: Bearer <token> needed\n"
        if path == "/health":
            code, body = await self.health()
            return code, "application/json", json.dumps(body).encode()
        if path == "/metrics":
            status = await self._status()
            text = self.metrics.scrape(self.ctx.journal, self.ctx.clock(),
                                       status.trading_state if status is not None else "")
            return 200, "text/plain; version=0.0.4; charset=utf-8", text
        return 404, "text/plain", b"/health or /metrics\n"

    def _authorized(self, headers: Sequence[str]) -> bool:
        for line in headers:
            name, _, value = line.partition(":")
            if name.strip().lower() == "authorization":
                given = value.strip().removeprefix("Bearer ").strip()
                return hmac.compare_digest(given.encode(), self._token.encode())
        return False
