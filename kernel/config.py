"""Loading the shipped YAML into typed Structs, with errors a person can act on.

Every file under ``config/`` is decoded into a frozen msgspec Struct with
``forbid_unknown_fields`` (a typo in a key is an error, not a silent default).
Any problem is raised as :class:`ConfigError`, whose message names the file,
the field, what was expected, what was found, and what to do.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import msgspec
import msgspec.inspect
import yaml

from bus.protocol import Mode

T = TypeVar("T")

CONFIG_DIR_ENV = "SUPERVISOR_CONFIG_DIR"
PositiveSeconds = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
Endpoint = Annotated[str, msgspec.Meta(pattern=r"^(tcp|ipc|inproc)://.+")]


class ConfigError(Exception):
    """A config file is missing, unreadable, or holds a wrong value."""


class _Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of every config Struct: unknown keys are refused."""


class BusConfig(_Config, frozen=True):
    publish_endpoint: Endpoint = "tcp://127.0.0.1:7711"
    """The intake proxy: where publishers in other processes connect."""
    subscribe_endpoint: Endpoint = "tcp://127.0.0.1:7712"
    """XPUB side: where ``kernel tap`` and remote subscribers connect."""
    curve_server_key_file: str | None = None


class GatewayConfig(_Config, frozen=True):
    endpoint: Endpoint = "tcp://127.0.0.1:7710"
    heartbeat_interval_s: PositiveSeconds = 1.0
    max_frame_bytes: Annotated[int, msgspec.Meta(ge=1024, le=16 * 1024 * 1024)] = 256 * 1024
    spin_us: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 300
    """After work, the kernel's loop polls this long before it sleeps (kernel/spin.py)."""
    curve: bool = False
    """Authenticate bots with CurveZMQ, one key per bot (``kernel keys generate --bot ID``,
    in ``control.keys_dir``); required to bind the bot link beyond loopback."""


class ControlConfig(_Config, frozen=True):
    endpoint: Endpoint = "tcp://127.0.0.1:7713"
    curve: bool = False
    """Authenticate clients with CurveZMQ; required for a non-loopback endpoint."""
    keys_dir: str = "keys"
    """Folder of the key files (see ``kernel keys generate`` and kernel/keys.py)."""


class SupervisionConfig(_Config, frozen=True):
    """OTP-style limits for restarting a crashing actor."""

    max_restarts: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 3
    window_s: PositiveSeconds = 30.0
    backoff_initial_s: Annotated[float, msgspec.Meta(ge=0, le=60)] = 0.05
    backoff_max_s: Annotated[float, msgspec.Meta(ge=0, le=600)] = 2.0
    shutdown_timeout_s: PositiveSeconds = 5.0


class JournalConfig(_Config, frozen=True):
    synchronous: Literal["normal", "full"] = "normal"
    """``normal`` survives a killed kernel; ``full`` also survives power loss."""
    batch_max_rows: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 256
    batch_max_delay_ms: Annotated[float, msgspec.Meta(ge=0, le=100)] = 2.0
    jsonl: bool = True
    integrity_check: Literal["quick", "off"] = "quick"
    """``quick``: SQLite's ``quick_check`` reads every page at start (about a second
    per gigabyte), so a damaged file stops ``kernel run`` before it trades."""


class ActorConfig(_Config, frozen=True):
    enabled: bool = True


class KernelConfig(_Config, frozen=True):
    mode: Mode = "paper"
    bus: BusConfig = BusConfig()
    gateway: GatewayConfig = GatewayConfig()
    control: ControlConfig = ControlConfig()
    supervision: SupervisionConfig = SupervisionConfig()
    journal: JournalConfig = JournalConfig()
    actors: dict[str, ActorConfig] = {}


class BotProcessConfig(_Config, frozen=True):
    command: Annotated[list[str], msgspec.Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["{python}", "scripts/run_bot.py"])
    """``{python}`` stands for the interpreter running the kernel."""
    cwd: str = "."
    env: dict[str, str] = {}


BOT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
"""A bot id is a safe name: it becomes a file name (pid file, log folder, paper account)
and a scope (``bot:ID``) on Windows too, so letters, digits, ``_ . -`` only."""
RESERVED_BOT_IDS = frozenset({"all", "portfolio", "kernel"})
"""Words that name a scope rather than a bot (``--bot all`` would be ambiguous)."""


class BotConfig(_Config, frozen=True):
    """One bot of the fleet (``paths.yaml`` ``bots:``); docs/fleet.md."""

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    command: list[str] = []
    """Empty: an *external* bot. The kernel does not start it, but gates, watches and
    journals it like the others (it may run on another host)."""
    cwd: str = "."
    env: dict[str, str] = {}
    mode: Mode | None = None
    """The mode the kernel starts this bot in; None: ``kernel.yaml`` ``mode``."""
    account: Annotated[str, msgspec.Meta(pattern=BOT_ID_PATTERN)] = "main"
    """Bots naming one account share the portfolio's per-account limits (docs/risk.md)."""

    @property
    def external(self) -> bool:
        return not self.command


class MetaAgentConfig(_Config, frozen=True):
    command: list[str] = []
    """Empty: use the built-in Meta-Agent."""
    cwd: str = "."
    inbox: str = "meta/inbox"
    outbox: str = "meta/outbox"


class PathsConfig(_Config, frozen=True):
    bot: BotProcessConfig = BotProcessConfig()
    """The one-bot shorthand: used when ``bots`` is empty (any bot id, one at a time)."""
    bots: list[BotConfig] = []
    """Several bots under one supervisor, each with its own id, ledger and limits."""
    meta_agent: MetaAgentConfig = MetaAgentConfig()
    data_dir: str = "data"
    log_dir: str = "logs"
    reports_dir: str = "reports"

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for number, bot in enumerate(self.bots, 1):
            if not re.match(BOT_ID_PATTERN, bot.id):
                raise ValueError(f"bots entry {number}: id {bot.id!r} is not a safe name; use "
                                 "letters, digits, `_`, `.` and `-` (starting with a letter "
                                 "or digit), e.g. `grid-btc`")
            key = bot.id.lower()  # file names on Windows ignore case
            if key in RESERVED_BOT_IDS:
                raise ValueError(f"bots id {bot.id!r} is a reserved word (it names a scope); "
                                 "choose another id")
            if key in seen:
                raise ValueError(f"bots ids must be unique (case aside): {seen[key]!r} and "
                                 f"{bot.id!r}; give each bot its own id")
            seen[key] = bot.id
        if self.bots and self.bot != BotProcessConfig():
            raise ValueError("bot and bots are both set: `bot:` is the one-bot shorthand; "
                             "with `bots:` move its command into a `bots:` entry and remove `bot:`")

    @property
    def fleet(self) -> bool:
        """True when ``bots:`` lists the bots (ids are then checked at hello)."""
        return bool(self.bots)

    def accounts(self) -> dict[str, str] | None:
        """A fleet's bots and their accounts, for the portfolio's scopes; None for one bot."""
        return {b.id: b.account for b in self.bots} if self.bots else None

    def bot_list(self) -> tuple[BotConfig, ...]:
        """Every bot, the shorthand as one bot with id "" (any id, one at a time)."""
        if self.bots:
            return tuple(self.bots)
        return (BotConfig(id="", command=list(self.bot.command), cwd=self.bot.cwd,
                          env=dict(self.bot.env)),)  # a Struct built here is not validated


def default_config_dir() -> Path:
    """``$SUPERVISOR_CONFIG_DIR``, else ``./config``."""
    return Path(os.environ.get(CONFIG_DIR_ENV, "config"))


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans: only true/false are booleans.

    YAML 1.1 reads ``mode: off`` as ``False`` (and ``yes``/``no``/``on`` too), which
    would turn a trading mode into a type error; here they stay words.
    """


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"))


def require_config_dir(config_dir: Path) -> None:
    """Refuse a config folder that is not there, once, naming where it was looked for.

    Without this, a wrong ``--config-dir`` (or a command run from another folder,
    where ``./config`` does not exist) gave one "file not found" line per file.
    """
    if config_dir.is_dir():
        return
    where = config_dir.resolve()
    how = ("--config-dir" if config_dir != default_config_dir()
           else f"${CONFIG_DIR_ENV}" if os.environ.get(CONFIG_DIR_ENV)
           else "the default ./config, relative to the current folder")
    kind = "is not a folder" if config_dir.exists() else "does not exist"
    raise ConfigError(f"config folder {where} {kind} (from {how}). Fix: run the command from "
                      f"the project folder (the one holding config/), or pass --config-dir "
                      f"DIR (or set ${CONFIG_DIR_ENV}) to the folder holding kernel.yaml.")


def load_yaml(path: Path, schema: type[T]) -> T:
    """Read one YAML file into ``schema``; a missing file means all defaults."""
    if not path.exists():
        raise ConfigError(f"{path}: file not found. Fix: create it, or point "
                          f"--config-dir / ${CONFIG_DIR_ENV} at the folder that holds it.")
    try:
        raw: Any = yaml.load(path.read_text(encoding="utf-8"), Loader=_Yaml12Loader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML{_yaml_where(exc)}. "
                          "Fix: correct the syntax there (quote a value holding "
                          "`:`, `#`, `[` or `{`).") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror}).") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level, "
                          f"found {type(raw).__name__}. Fix: write `key: value` lines.")
    try:
        return msgspec.convert(raw, schema, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(path, str(exc), schema, raw)) from exc


_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<where>[^`]*)`)?$")
_NOTHING: Any = object()


def _value_at(raw: Any, where: str) -> Any:
    """The value msgspec refused, from its path (``a.b[0].c``); _NOTHING when unknown."""
    if not where:
        return _NOTHING
    value = raw
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", where):
        try:
            value = value[int(part[1:-1])] if part.startswith("[") else value[part]
        except (KeyError, IndexError, TypeError, ValueError):
            return _NOTHING
    return value if isinstance(value, str | int | float | bool) or value is None else _NOTHING


def _explain(path: Path, message: str, schema: Any = None, raw: Any = None) -> str:
    """Turn msgspec's "Expected `int`, got `str` - at `$.a.b`" into a fix-it line."""
    match = _AT.match(message)
    assert match is not None  # the pattern matches any string
    what, where = match["what"], (match["where"] or "").lstrip(".")
    found = _value_at(raw, where)
    if found is not _NOTHING and not what.startswith("Object") and repr(found) not in what:
        what += f", found {found!r}"
    if what.startswith("Object contains unknown field"):
        field = what.split("`")[1]
        place = f"{where}.{field}" if where else field
        near = difflib.get_close_matches(field, _field_names(schema, where), n=1, cutoff=0.6)
        hint = f"did you mean {near[0]}? Otherwise " if near else ""
        return (f"{path}: field `{place}` is not a known setting. "
                f"Fix: {hint}check its spelling against the documented keys, or remove it.")
    first = what.split(" ", 1)[0]
    if not where and first in _field_names(schema, ""):  # a __post_init__ naming its field
        where = first
    field = where or "(top level)"
    if what.startswith("Object missing required field"):
        missing = what.split("`")[1]
        return f"{path}: field `{where + '.' if where else ''}{missing}` is required. Fix: add it."
    allowed = _allowed_words(schema, where)
    if allowed:
        return (f"{path}: field `{field}`: {what[:1].lower()}{what[1:]}. "
                f"Fix: use one of {', '.join(allowed)}.")
    return (f"{path}: field `{field}`: {what[:1].lower()}{what[1:]}. "
            "Fix: set it to a value of the expected kind.")


def _allowed_words(schema: Any, where: str) -> list[str]:
    """The allowed values of a Literal field at a dotted path, if it is one."""
    if schema is None or not where:
        return []
    info = _type_at(schema, where)
    if isinstance(info, msgspec.inspect.LiteralType):
        return [str(v) for v in info.values]
    return []


def _field_names(schema: Any, where: str) -> list[str]:
    """The keys a Struct at a dotted path accepts (for "did you mean ...?")."""
    if schema is None:
        return []
    info = _type_at(schema, where)
    while isinstance(info, msgspec.inspect.UnionType):  # `X | None`: the Struct in it
        info = next((t for t in info.types if hasattr(t, "fields")), None)
    return [f.encode_name for f in getattr(info, "fields", ())]


def _type_at(schema: Any, where: str) -> Any:
    info: Any = msgspec.inspect.type_info(schema)
    for name in filter(None, where.split(".")):
        if isinstance(info, msgspec.inspect.DictType):
            info = info.value_type
            continue
        fields = {f.encode_name: f for f in getattr(info, "fields", ())}
        if name not in fields:
            return None
        info = fields[name].type
        while isinstance(info, msgspec.inspect.UnionType) and len(info.types) == 1:
            info = info.types[0]
    return info


def _yaml_where(exc: yaml.YAMLError) -> str:
    """`` at line 8, column 3: expected ',' or ']'``: the file is named by the caller,
    so PyYAML's ``"<unicode string>"`` stand-in never reaches a person."""
    mark = getattr(exc, "problem_mark", None)
    if mark is None:
        return f" ({_one_line(exc)})"
    text = f" at line {mark.line + 1}, column {mark.column + 1}: "
    text += getattr(exc, "problem", None) or "syntax error"
    context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and start is not None:
        text += f" ({context} at line {start.line + 1})"
    return text


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()).replace('"<unicode string>", ', "")


def python_command(command: list[str]) -> list[str]:
    """Replace the ``{python}`` placeholder with the running interpreter."""
    return [sys.executable if part == "{python}" else part for part in command]
