"""The Telegram command bot: the operator's commands from a phone, with the terminal's rules.

python-telegram-bot's ``Application`` runs in the kernel's own loop with long polling
(no webhook server, nothing listening). Only chats on ``allowed_chats`` are answered;
any other chat gets no answer at all (not even "not allowed", which would confirm the
bot exists) and is journaled as ``chat_refused``. Every command goes through the
control socket's own handlers (``KernelServices.ask_control``), so it is journaled
the same way as ``kernel halt`` at the terminal, with ``telegram:<chat>:<user>`` as the
user, and meets the same rules: the risk engine answers it, and a resume after a
limit halt is refused without its confirmation. Answers are plain text (no
``parse_mode``): markup or HTML in a reason arrives as the characters typed.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from agents.alerts.commands import (
    CONFIRMED,
    HELP,
    Command,
    Confirmations,
    Pending,
    Refused,
    describe,
    parse,
)
from agents.alerts.envvars import MASK, MissingSecret, expand
from agents.alerts.messages import ChatRefused
from agents.alerts.slice import AlertsSlice
from agents.alerts.telegram_text import (
    bots_text,
    limit_halts,
    report_text,
    said,
    status_text,
)
from agents.watchdog.messages import BotStateReported
from bus.protocol import Message
from kernel.actor import Actor, ActorContext
from kernel.control_protocol import (
    CloseAllRequest,
    ControlMessage,
    HaltRequest,
    ModeRequest,
    ResumeRequest,
    SnapshotReply,
    SnapshotRequest,
)
from kernel.untrusted import ident, one_line

if TYPE_CHECKING:  # imported where used: python-telegram-bot only loads when the bot starts
    from telegram import InlineKeyboardMarkup, Update
    from telegram.ext import ContextTypes

log = logging.getLogger("agents.alerts.telegram_bot")
CONNECT_RETRY_S = 5.0
CONNECT_RETRY_MAX_S = 300.0
ANSWER_LIMIT = 3500
"""Characters of one answer (Telegram takes 4,096)."""


class TelegramStartError(Exception):
    """The bot cannot start as configured (no token, say)."""


class Redact(logging.Filter):
    """Masks the token in every record of the Telegram and HTTP libraries' loggers: the
    Bot API puts it in each URL, and httpx logs URLs (``HTTP Request: POST .../bot<token>/``)."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if self._secret in text:
            record.msg, record.args = text.replace(self._secret, MASK), None
        if record.exc_info and record.exc_info[1] is not None \
                and self._secret in str(record.exc_info[1]):
            record.exc_info, record.exc_text = None, None  # its text would show the token
        return True


LOGGED_BY = ("telegram", "httpx", "httpcore", "agents.alerts")
"""Loggers (and every logger below them) whose records pass :class:`Redact`."""


def _loggers() -> list[logging.Logger]:
    """Each existing logger under :data:`LOGGED_BY` (a logger's filter does not apply to
    its children's records, so each gets its own; the libraries made theirs at import)."""
    names = [n for n in list(logging.root.manager.loggerDict)
             if any(n == p or n.startswith(p + ".") for p in LOGGED_BY)]
    return [logging.getLogger(n) for n in {*names, *LOGGED_BY}]


def telegram_user(chat_id: int, name: str) -> str:
    """Who asked, as the journal records it (the control protocol's ``user``)."""
    return one_line(f"telegram:{chat_id}:{name or '?'}", 128)[:128]


def operator_request(command: Command, user: str, *, confirmed: bool,
                     fleet: bool = False) -> ControlMessage:
    """The control request the terminal would send for ``command``.

    ``command.bot`` is checked against the bots the kernel knows before this. In a fleet
    (``fleet``) it becomes the request's ``bot_id``, as ``--bot ID`` does, so a named bot's
    command acts on that bot alone and an unnamed one is the portfolio's; with the
    one-bot shorthand the kernel takes no ``--bot``, and the command acts on its bot."""
    bot_id = command.bot if fleet else ""
    match command.verb:
        case "halt":
            return HaltRequest(reason=command.reason, user=user, bot_id=bot_id)
        case "resume":
            return ResumeRequest(reason=command.reason, user=user, confirmed=confirmed,
                                 bot_id=bot_id)
        case "closeall":
            return CloseAllRequest(reason=command.reason, user=user, bot_id=bot_id)
    return ModeRequest(mode=command.mode, reason=command.reason, user=user,  # type: ignore[arg-type]
                       bot_id=bot_id)


class TelegramBot(Actor):
    name: ClassVar[str] = "telegram"
    subscriptions: ClassVar[tuple[str, ...]] = ("bot.state",)

    def __init__(self, *, config: AlertsSlice, clock: Callable[[], float] | None = None,
                 retry_s: float = CONNECT_RETRY_S) -> None:
        """``clock``: for the confirmation window only (a test's); the kernel's by default.
        ``retry_s``: the first pause before trying to reach Telegram again."""
        super().__init__()
        self._retry_s = retry_s
        self._clock = clock
        self._config = config.alerts.telegram
        self._where = config.config_path
        self._allowed = frozenset(self._config.allowed_chats)
        self._confirmations = Confirmations(timeout_s=self._config.confirm_timeout_s)
        self._bots: set[str] = set()
        """Bots the watchdog reported (the one-bot shorthand's bot may have any id)."""
        self._fleet = tuple(config.bots)
        """``paths.yaml`` ``bots:``; empty: the one-bot shorthand."""
        self._app: Any = None
        self._connected = False
        self._redact = Redact("\x00")

    async def start(self, ctx: ActorContext) -> None:
        await super().start(ctx)
        cfg = self._config
        try:
            token = expand(cfg.token)
        except MissingSecret as exc:
            raise TelegramStartError(f"{self._where}: telegram.token: {exc}. Fix: set it to "
                                     "the token @BotFather gave, or telegram.enabled: "
                                     "false") from None
        self._redact = Redact(token)
        for logger in _loggers():
            logger.addFilter(self._redact)
        logging.getLogger("httpx").setLevel(max(logging.WARNING,
                                                logging.getLogger("httpx").level))
        from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

        builder = Application.builder().token(token)
        if cfg.base_url:
            builder = builder.base_url(f"{cfg.base_url.rstrip('/')}/bot")
        app = builder.get_updates_read_timeout(cfg.poll_timeout_s + 10).build()
        app.add_handler(MessageHandler(filters.ALL, self._on_message))
        app.add_handler(CallbackQueryHandler(self._on_button))
        app.add_error_handler(self._on_error)
        self._app = app

    async def run(self) -> None:
        """Reach Telegram, retrying with a growing pause: an unreachable Telegram (or a
        token it refuses) must not keep the supervisor from starting; then serve."""
        pause = self._retry_s
        while not await self._connect():
            await asyncio.sleep(pause)
            pause = min(pause * 2, CONNECT_RETRY_MAX_S)
        await asyncio.Event().wait()  # the Application's own tasks answer from here on

    async def _connect(self) -> bool:
        app = self._app
        try:
            await app.initialize()
            await app.start()
            await app.updater.start_polling(timeout=int(self._config.poll_timeout_s),
                                            allowed_updates=["message", "callback_query"])
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("telegram: cannot reach the Bot API (%s); trying again",
                        one_line(exc, 300))
            await self._stop_app(app)
            return False
        self._connected = True
        log.info("telegram: polling as @%s", app.bot.username)
        return True

    async def stop(self) -> None:
        try:
            if self._app is not None:
                await self._stop_app(self._app)
        finally:
            for logger in _loggers():
                logger.removeFilter(self._redact)

    async def _stop_app(self, app: Any) -> None:
        try:
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            await app.shutdown()
        except Exception as exc:  # a failing stop must not hide why we stop
            log.warning("telegram bot did not stop cleanly: %s", exc)

    async def handle(self, message: Message) -> Sequence[Message]:
        if isinstance(message, BotStateReported) and message.bot_id:
            self._bots.add(message.bot_id)
        return ()

    # --- updates ----------------------------------------------------------------------

    async def _on_message(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None:
            return
        user = update.effective_user
        name = (user.username or user.full_name) if user is not None else ""
        if not self._admitted(chat.id, name, message.text or ""):
            return
        answer = await self._answer(message.text or "", chat.id, telegram_user(chat.id, name))
        await self._say(chat.id, *answer)

    async def _on_button(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        query, chat = update.callback_query, update.effective_chat
        if query is None or chat is None:
            return
        name = query.from_user.username or query.from_user.full_name
        if not self._admitted(chat.id, name, f"button {query.data}"):
            return
        await query.answer()
        verb, _, code = str(query.data or "").partition(":")
        text = f"/{verb} {code}" if verb in ("confirm", "cancel") else "/help"
        answer = await self._answer(text, chat.id, telegram_user(chat.id, name))
        await self._say(chat.id, *answer)

    async def _on_error(self, _update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.warning("telegram: %s", one_line(context.error))

    def _admitted(self, chat_id: int, name: str, text: str) -> bool:
        if chat_id in self._allowed:
            return True
        log.warning("telegram: chat %d (%s) is not on the allow-list; ignored", chat_id,
                    ident(name))
        try:
            self.ctx.publish(ChatRefused(chat_id=chat_id, user=name[:128], text=text[:500],
                                         ts=self.ctx.clock()))
        except Exception:
            log.exception("could not journal chat_refused")
        return False

    async def _say(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
                   ) -> None:
        """Plain text, never ``parse_mode``: outside text cannot format our answer."""
        await self._app.bot.send_message(chat_id=chat_id, text=text[:ANSWER_LIMIT],
                                         reply_markup=markup)

    # --- answers ----------------------------------------------------------------------

    async def _answer(self, text: str, chat_id: int, user: str
                      ) -> tuple[str, InlineKeyboardMarkup | None]:
        snapshot = await self._snapshot()
        known = self._known(snapshot)
        parsed = parse(text, known)
        if isinstance(parsed, Refused):
            return parsed.answer, None
        now = (self._clock or self.ctx.clock)()
        match parsed.verb:
            case "help":
                return HELP, None
            case "status" | "bots" | "report":
                return self._query(parsed, snapshot), None
            case "confirm":
                taken = self._confirmations.take(parsed.code, chat_id, now)
                if isinstance(taken, Refused):
                    return taken.answer, None
                return await self._carry_out(taken), None
            case "cancel":
                gone = self._confirmations.cancel(parsed.code, chat_id)
                return ("cancelled; nothing was done" if gone else
                        f"no command waits for code {ident(parsed.code)}"), None
        if parsed.verb in CONFIRMED:
            return self._ask_confirmation(parsed, chat_id, user, now, snapshot)
        return await self._carry_out(Pending(parsed, chat_id, user, now)), None

    def _known(self, snapshot: SnapshotReply | None) -> frozenset[str]:
        """The ids a command may name: a fleet's configured bots (a hello from any other
        is refused), else the bot connected or reported now."""
        if self._fleet:
            return frozenset(self._fleet)
        connected = {b.bot_id for b in snapshot.status.bots} if snapshot is not None else set()
        return frozenset(self._bots | connected)

    def _ask_confirmation(self, command: Command, chat_id: int, user: str, now: float,
                          snapshot: SnapshotReply | None
                          ) -> tuple[str, InlineKeyboardMarkup]:
        code = f"{secrets.randbelow(1_000_000):06d}"
        self._confirmations.ask(code, command, chat_id, user, now)
        limits = limit_halts(snapshot, self._fleet, command.bot if self._fleet else "") \
            if command.verb == "resume" else ""
        text = one_line(f"{limits}To {describe(command)}, send /confirm {code} within "
                        f"{self._config.confirm_timeout_s:g} s, or press Confirm.")
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup

        buttons = InlineKeyboardMarkup([[
            InlineKeyboardButton("Confirm", callback_data=f"confirm:{code}"),
            InlineKeyboardButton("Cancel", callback_data=f"cancel:{code}")]])
        return text, buttons

    async def _carry_out(self, pending: Pending) -> str:
        ask = self.ctx.services.ask_control
        if ask is None:
            return "not done: this kernel has no control path"
        request = operator_request(pending.command, pending.user, confirmed=True,
                                   fleet=bool(self._fleet))
        try:
            reply = await ask(request)
        except Exception as exc:
            return one_line(f"not done: {type(exc).__name__}: {exc}")
        return said(reply, pending.command)

    async def _snapshot(self) -> SnapshotReply | None:
        ask = self.ctx.services.ask_control
        if ask is None:
            return None
        reply = await ask(SnapshotRequest())
        return reply if isinstance(reply, SnapshotReply) else None

    def _query(self, command: Command, snapshot: SnapshotReply | None) -> str:
        if snapshot is None:
            return "the kernel's status could not be read"
        if command.verb == "bots":
            return bots_text(snapshot, self._fleet, self.ctx.clock())
        if command.verb == "status":
            return status_text(snapshot, self._fleet)
        return report_text(snapshot, self._fleet, command.bot if self._fleet else "")
