"""The architecture as a test: which folder may import which (docs/architecture.md, "Layers").

One place states the layers and checks every import of the tree against them, so
that a forbidden arrow fails here rather than in review. Imports are read from the
source (``ast``), all of them: at module level, inside functions and under
``TYPE_CHECKING``. ``from a import b`` counts as importing ``a.b`` when ``a.b`` is
one of our modules, so a private module cannot slip in through its package.

The rules, each a function below that names every import it refuses:

- ``risk/`` and ``planner/`` are pure: the standard library without I/O or clocks,
  msgspec and ``bus.protocol`` only; neither imports the other.
- The pure modules of the features (``PURE_FEATURE_MODULES``) do no I/O either.
- ``bus/`` knows no domain: it imports nothing else of ours.
- The runtime (``kernel/`` outside ``kernel/console/``) never imports the console,
  and imports features and domains only in its composition root, and never a
  feature's private module.
- Outside ``kernel/``, nothing imports a private module of the kernel; the console
  uses the runtime's public modules too.
- A feature folder never reaches into another feature's private modules, and never
  into the console.
- ``scripts/run_bot.py`` (the reference bot) uses the public client only.
- No module is over 500 lines; the pure packages stay under 300, their functions
  under 45.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bus", "kernel", "agents", "risk", "planner", "scripts")
COMPOSITION_ROOT = frozenset({"kernel.registry", "kernel.settings", "kernel.messages"})
"""The runtime modules that know the features: the actors, the config files, the union."""
PURE_PACKAGES = ("risk", "planner")
PURE_FEATURE_MODULES = frozenset({
    "agents.watchdog.policy",
    "agents.moderator.rules", "agents.moderator.parts", "agents.moderator.messages",
    "agents.moderator._book", "agents.moderator._prompt", "agents.moderator.llm_text",
    "agents.moderator.llm_config", "agents.planner.llm",
    "agents.audit.rules", "agents.audit.figures", "agents.audit.markdown",
    "agents.audit.messages", "agents.audit.config", "agents.audit.task", "agents.audit.windows",
    "agents.meta.schedule", "agents.verdicts._bars", "agents.verdicts._selection",
    "agents.feeds.config", "agents.feeds.parsing", "agents.feeds.health",
    "agents.feeds.messages",
    "agents.alerts.config", "agents.alerts.messages", "agents.alerts.mapping",
    "agents.alerts.fatigue", "agents.alerts.commands",
})
"""Decision logic that has its home in a feature folder: no I/O, no clock."""
PURE_MAY_IMPORT = frozenset({"bus.protocol", "kernel.events", "kernel.config", "kernel.bounded",
                             "kernel.supervision", "kernel.untrusted"})
"""What of the runtime a pure feature module may use: message types, config loading
(a pure function of text), the restart policy, and how outside text is shown."""
PURE_RUNTIME_MODULES = frozenset({"kernel.untrusted", "kernel.fleet_view", "kernel.bounded"})
"""Runtime modules that are pure themselves, checked like the pure feature modules."""
IO_MODULES = frozenset({
    "time", "os", "asyncio", "zmq", "rich", "socket", "subprocess", "threading", "sqlite3",
    "aiosqlite", "pathlib", "io", "shutil", "random", "logging", "yaml", "anthropic",
    "psutil", "selectors", "urllib", "http", "tempfile", "glob",
})
CLOCK_AND_IO_CALLS = frozenset({
    "now", "utcnow", "today", "open", "print", "input", "monotonic", "perf_counter",
    "getenv", "read_text", "write_text", "time_ns",
})
BOT_MAY_IMPORT = frozenset({"bus.client", "bus.protocol", "scripts._paper_account",
                            "scripts._paper_bars"})
"""The reference bot: the public client library, the contract, and its own helpers."""
MAX_LINES = 500
MAX_PURE_LINES = 300
MAX_PURE_FUNCTION_LINES = 45


@dataclass(frozen=True, slots=True)
class Arrow:
    """One import: ``importer`` (a module of ours) imports ``target`` at ``line``."""

    importer: str
    target: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.importer}:{self.line} imports {self.target}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def our_files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


MODULES = frozenset(module_name(p) for p in our_files())


def arrows_of(path: Path) -> Iterator[Arrow]:
    importer = module_name(path)
    package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Arrow(importer, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            module = (".".join([*base, node.module] if node.module else base)
                      if node.level else node.module or "")
            yield Arrow(importer, module, node.lineno)
            for alias in node.names:
                if f"{module}.{alias.name}" in MODULES:
                    yield Arrow(importer, f"{module}.{alias.name}", node.lineno)


def top(name: str) -> str:
    return name.split(".")[0]


def is_ours(name: str) -> bool:
    return top(name) in PACKAGES


def is_private(name: str) -> bool:
    return any(part.startswith("_") and part != "__init__" for part in name.split("."))


def is_console(name: str) -> bool:
    return name == "kernel.console" or name.startswith("kernel.console.")


def is_runtime(name: str) -> bool:
    return top(name) == "kernel" and not is_console(name)


def feature_of(name: str) -> str:
    """``agents.meta.jobs`` -> ``agents.meta``; a module directly in ``agents`` is its own."""
    return ".".join(name.split(".")[:2])


def is_stdlib(name: str) -> bool:
    return top(name) in sys.stdlib_module_names or top(name) == "__future__"


# --- the rules: each returns why an arrow is refused, or None -------------------------------

def pure_packages(arrow: Arrow) -> str | None:
    if top(arrow.importer) not in PURE_PACKAGES:
        return None
    target = arrow.target
    if top(target) in IO_MODULES:
        return "risk/ and planner/ do no I/O and read no clock"
    if is_stdlib(target) or top(target) == "msgspec" or target == "bus.protocol":
        return None
    if top(target) == top(arrow.importer):
        return None
    if top(target) in PURE_PACKAGES:
        return "risk/ and planner/ do not import each other"
    return "risk/ and planner/ import only the standard library, msgspec and bus.protocol"


def pure_feature_modules(arrow: Arrow) -> str | None:
    if arrow.importer not in PURE_FEATURE_MODULES | PURE_RUNTIME_MODULES:
        return None
    target = arrow.target
    if top(target) in IO_MODULES:
        return "a feature's pure module does no I/O and reads no clock"
    if is_stdlib(target) or top(target) == "msgspec" or top(target) in PURE_PACKAGES:
        return None
    if target in PURE_MAY_IMPORT or target in PURE_FEATURE_MODULES:
        return None
    if top(target) == "agents" and target.endswith((".messages", ".config", ".parts")):
        return None
    return "a feature's pure module imports only pure code, messages and config"


def bus_knows_no_domain(arrow: Arrow) -> str | None:
    if top(arrow.importer) == "bus" and is_ours(arrow.target) and top(arrow.target) != "bus":
        return "bus/ is transport and the contract: it imports nothing else of ours"
    return None


def runtime_stays_below(arrow: Arrow) -> str | None:
    if not is_runtime(arrow.importer):
        return None
    target = arrow.target
    if is_console(target):
        return "the runtime never imports kernel/console/"
    if top(target) in ("agents", "risk", "planner", "scripts"):
        if arrow.importer not in COMPOSITION_ROOT:
            return "only the composition root (kernel/registry, settings, messages) " \
                   "imports features and domains"
        if is_private(target):
            return "the composition root uses a feature's public modules only"
    return None


def kernel_privates_stay_inside(arrow: Arrow) -> str | None:
    target = arrow.target
    if top(target) != "kernel" or not is_private(target) or is_console(target):
        return None
    if is_runtime(arrow.importer):
        return None
    if top(arrow.importer) == "scripts" and arrow.importer.startswith("scripts.bench"):
        return None
    return "outside the runtime, use the kernel's public modules"


def features_keep_to_themselves(arrow: Arrow) -> str | None:
    if top(arrow.importer) != "agents":
        return None
    target = arrow.target
    if is_console(target):
        return "a feature never imports the console"
    if top(target) == "agents" and is_private(target) \
            and feature_of(target) != feature_of(arrow.importer):
        return "a feature uses another feature's public modules only"
    return None


def bot_uses_the_public_client(arrow: Arrow) -> str | None:
    if arrow.importer not in ("scripts.run_bot", "scripts._paper_account", "scripts._paper_bars"):
        return None
    target = arrow.target
    if is_ours(target):
        return None if target in BOT_MAY_IMPORT else \
            "the reference bot uses the public client (bus.client, bus.protocol) only"
    return None


RULES: tuple[Callable[[Arrow], str | None], ...] = (
    pure_packages, pure_feature_modules, bus_knows_no_domain, runtime_stays_below,
    kernel_privates_stay_inside, features_keep_to_themselves, bot_uses_the_public_client,
)


def refusals(arrow: Arrow) -> list[str]:
    return [why for rule in RULES if (why := rule(arrow)) is not None]


# --- the tree as it is ---------------------------------------------------------------------

@pytest.mark.parametrize("path", our_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_import_keeps_to_the_layers(path: Path) -> None:
    broken = [f"{arrow}: {why}" for arrow in arrows_of(path) for why in refusals(arrow)]
    assert not broken, "\n".join(broken)


def test_pure_modules_read_no_clock_and_do_no_io() -> None:
    found = []
    for path in our_files():
        name = module_name(path)
        if top(name) not in PURE_PACKAGES and name not in PURE_FEATURE_MODULES \
                and name not in PURE_RUNTIME_MODULES:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in CLOCK_AND_IO_CALLS:
                    found.append(f"{name}:{node.lineno} calls {called}()")
    assert not found, "\n".join(found)


def test_every_pure_feature_module_exists() -> None:
    pure = PURE_FEATURE_MODULES | PURE_RUNTIME_MODULES
    assert pure <= MODULES, sorted(pure - MODULES)


@pytest.mark.parametrize("path", our_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    limit = MAX_PURE_LINES if top(module_name(path)) in PURE_PACKAGES else MAX_LINES
    assert lines <= limit, f"{path.relative_to(ROOT)} has {lines} lines (at most {limit})"


def test_pure_functions_stay_short() -> None:
    """Decision logic reads as a table of small functions, each testable on its own."""
    long = []
    for path in our_files():
        if top(module_name(path)) not in PURE_PACKAGES:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno
                if length > MAX_PURE_FUNCTION_LINES:
                    long.append(f"{module_name(path)}:{node.name} is {length} lines")
    assert not long, "\n".join(long)


# --- the rules themselves: each forbidden arrow is refused -----------------------------------

FORBIDDEN = [
    Arrow("risk.rules", "planner.sizing"),
    Arrow("planner.sizing", "risk.money"),
    Arrow("planner.sizing", "time"),
    Arrow("risk.engine", "asyncio"),
    Arrow("risk.engine", "kernel.events"),
    Arrow("agents.watchdog.policy", "psutil"),
    Arrow("agents.audit.rules", "kernel.journal"),
    Arrow("bus.protocol", "kernel.events"),
    Arrow("bus.client", "risk.messages"),
    Arrow("kernel.gateway", "kernel.console.tap"),
    Arrow("kernel.gateway", "agents.risk.actor"),
    Arrow("kernel.gateway", "planner.messages"),
    Arrow("kernel.journal", "risk.days"),
    Arrow("kernel.registry", "agents.risk._store"),
    Arrow("agents.meta.jobs", "kernel.console.summaries"),
    Arrow("agents.meta.jobs", "agents.audit._private"),
    Arrow("agents.watchdog.actor", "kernel._runner"),
    Arrow("kernel.console.cli", "kernel._runner"),
    Arrow("scripts.run_bot", "kernel.journal"),
    Arrow("scripts.run_bot", "bus._client_core"),
]
ALLOWED = [
    Arrow("risk.engine", "risk.rules"),
    Arrow("risk.engine", "bus.protocol"),
    Arrow("planner.builder", "msgspec"),
    Arrow("kernel.registry", "agents.risk.actor"),
    Arrow("kernel.messages", "planner.messages"),
    Arrow("kernel.gateway", "kernel._gateway_sessions"),
    Arrow("kernel.console.cli", "kernel.microkernel"),
    Arrow("kernel.console.commands.audit", "agents.audit.journal"),
    Arrow("agents.meta.jobs", "agents.meta._task_text"),
    Arrow("agents.meta.jobs", "agents.audit.task"),
    Arrow("agents.watchdog.actor", "kernel.actor"),
    Arrow("scripts.run_bot", "bus.client"),
    Arrow("scripts.bench_journal", "kernel._journal_schema"),
]


@pytest.mark.parametrize("arrow", FORBIDDEN, ids=str)
def test_a_forbidden_import_is_refused(arrow: Arrow) -> None:
    assert refusals(arrow)


@pytest.mark.parametrize("arrow", ALLOWED, ids=str)
def test_an_allowed_import_passes(arrow: Arrow) -> None:
    assert not refusals(arrow)


def test_from_a_package_import_a_private_module_is_seen(tmp_path: Path) -> None:
    """``from agents.audit import _x`` names the module, not only the package."""
    assert "agents.watchdog._report" in MODULES
    source = ROOT / "agents" / "watchdog" / "actor.py"
    found = {arrow.target for arrow in arrows_of(source)}
    assert "agents.watchdog._report" in found
