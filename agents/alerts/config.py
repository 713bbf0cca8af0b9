"""``config/alerts.yaml``: where alerts go, the Telegram bot, the health endpoint.

Same rules as every config Struct (``kernel/config.py``): unknown keys are errors,
numbers are bounded. Everything is off in the shipped file: no target, no bot, no
endpoint; a person turns on what they set up (docs/alerts.md).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, TypeAlias

import msgspec

AlertSeverity: TypeAlias = Literal["info", "warning", "error", "critical"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "error": 2, "critical": 3}
ALERT_KINDS: frozenset[str] = frozenset({
    "halt", "resume", "reducing", "limit_near", "manual_close_needed", "bot_gave_up",
    "bot_hung", "crash_loop", "journal_unavailable", "moderator_applied",
    "llm_budget_exhausted", "kernel_started", "kernel_stopping", "kernel_halted",
    "daily_summary", "test",
})
"""Every kind of alert this version sends; a target may ask for some of them only."""

Seconds = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
EnvRef = Annotated[str, msgspec.Meta(max_length=256)]
"""A secret named, never written: ``${VAR}``, read from the environment when used."""
_ENV_REF = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")


def _named_only(field: str, value: str) -> None:
    """Refuse a secret written into the file; the error never repeats the value."""
    if value and not _ENV_REF.match(value):
        raise ValueError(f"{field} must name an environment variable as ${{VAR}} (e.g. "
                         "${TELEGRAM_TOKEN}), not hold the secret itself; put the value in "
                         "that variable")
Url = Annotated[str, msgspec.Meta(min_length=3, max_length=2048)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class _Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base: a misspelt key is an error, not a silent default."""


class Target(_Config, frozen=True):
    """One place alerts go: Apprise URLs (``tgram://``, ``discord://``, ``json://`` ...)."""

    name: Name
    urls: Annotated[list[Url], msgspec.Meta(min_length=1, max_length=20)]
    """Secrets as ``${VAR}``: read from the environment when sending, never shown."""
    min_severity: AlertSeverity = "warning"
    kinds: list[str] = msgspec.field(default_factory=list)
    """Only these kinds (``ALERT_KINDS``); empty: every kind at ``min_severity`` or above."""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.kinds) - ALERT_KINDS)
        if unknown:
            raise ValueError(f"unknown alert kind {unknown[0]!r}; expected one of "
                             f"{', '.join(sorted(ALERT_KINDS))}")


class Retry(_Config, frozen=True):
    attempts: Annotated[int, msgspec.Meta(ge=1, le=20)] = 4
    backoff_initial_s: Annotated[float, msgspec.Meta(ge=0, le=600)] = 2.0
    backoff_max_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 60.0


class TelegramConfig(_Config, frozen=True):
    """The command bot: long polling, answering the allowed chats only."""

    enabled: bool = False
    token: EnvRef = "${TELEGRAM_TOKEN}"
    """The bot's token, as ``${VAR}`` (never the token itself in a file)."""
    allowed_chats: Annotated[list[int], msgspec.Meta(max_length=100)] = msgspec.field(
        default_factory=list)
    confirm_timeout_s: Annotated[float, msgspec.Meta(ge=5, le=600)] = 60.0
    base_url: Annotated[str, msgspec.Meta(max_length=512)] = ""
    """Bot API address; empty: Telegram's own. Tests point it at a local server."""
    poll_timeout_s: Annotated[float, msgspec.Meta(ge=0, le=60)] = 10.0

    def __post_init__(self) -> None:
        _named_only("token", self.token)


class HealthConfig(_Config, frozen=True):
    """``/health`` and Prometheus ``/metrics`` over HTTP."""

    enabled: bool = False
    bind: Annotated[str, msgspec.Meta(min_length=1, max_length=255)] = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65_535)] = 9108
    """0: any free port (tests)."""
    auth_token: EnvRef = ""
    """Bearer token (``${VAR}``); required to bind beyond loopback."""

    def __post_init__(self) -> None:
        _named_only("auth_token", self.auth_token)


class AlertsConfig(_Config, frozen=True):
    targets: Annotated[list[Target], msgspec.Meta(max_length=50)] = msgspec.field(
        default_factory=list)
    repeat_window_s: Seconds = 900.0
    """The same alert is not sent again within this window; repeats are counted and
    summarised when it ends."""
    limit_warning_fraction: Annotated[float, msgspec.Meta(gt=0, lt=1)] = 0.8
    """A loss or drawdown at this share of its limit is a ``limit_near`` alert."""
    queue_size: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 200
    """Alerts waiting to be sent; beyond it the newest are dropped and counted."""
    retry: Retry = Retry()
    telegram: TelegramConfig = TelegramConfig()
    health: HealthConfig = HealthConfig()


def wants(target: Target, kind: str, severity: str) -> bool:
    """Whether ``target`` takes an alert of this kind and severity (``test`` goes everywhere)."""
    if kind == "test":
        return True
    if target.kinds and kind not in target.kinds:
        return False
    return SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK[target.min_severity]
