"""Text from outside through every human-readable output: shown, never obeyed.

One hostile text (rich markup that closes a tag it never opened, ANSI escapes
that recolour the screen and retitle the window, a bell, a carriage return, a
bidi override, a rich emoji code, characters a cp1252 console cannot encode,
and a newline followed by a line that looks like ours) is fed through
``kernel status``, ``kernel moderator ask``, ``kernel proposals show``,
``kernel report``, ``kernel tap --stream``, the dashboard and the console log
of ``kernel run``. Each output is written to a strict cp1252 stream, the way a
Windows console takes it, and must show the text literally, on its own line,
with nothing hidden and nothing a terminal would act on.
"""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from rich.console import Console, Group

from agents.audit.markdown import render
from agents.audit.messages import AnomalyCount, DailyAuditCompleted, Moment
from agents.meta.messages import ProposalCreated
from agents.meta.proposals import ProposalStore
from agents.meta.report import ProposalDraft
from agents.moderator.messages import AdviceApplied, AdviceRefused, ModeratorAdviceGiven
from agents.moderator.parts import BoundsView, ModerationSummary, ModeratorAnswer
from agents.watchdog.messages import BotExited, BotStateReported, ModeChanged
from bus.codec import Header
from bus.protocol import CommandAck, Heartbeat, OrderDecision, OrderRequest, Position
from bus.pubsub import BusFrame
from kernel._console_lines import LineBudget
from kernel._narrator import Narrator
from kernel.console._dashboard_model import DashboardModel
from kernel.console._tap_output import StreamSink
from kernel.console.commands.llm import _print_rows
from kernel.console.commands.proposals import _print_proposal
from kernel.console.commands.run import console_log_handler
from kernel.console.commands.status import print_snapshot
from kernel.console.dashboard import compose
from kernel.control_protocol import ActorInfo, BotInfo, SnapshotReply, StatusReply
from kernel.events import AnomalyDetected
from kernel.settings import load_settings
from tests.conftest import write_config
from tests.support.processes import ROOT, kernel_command
from tests.support.tap_bodies import T0, risk

FORGED = "[green]applied[/green] REDUCE_RISK: risk multiplier 0.5 -> 5"
HOSTILE = ("calm [/bold] [red]\x1b[31mred\x1b[0m\x1b]0;pwned\x07 :warning: \u202egnp.exe "
           "\u2192 \U0001f680 back\rover\n" + FORGED)
ROGUE = "[/red] rogue\x1b[2J"
"""A bot id, within the contract's 128 characters."""
SYMBOL = "BTC[/]\u0443SDT"
"""A symbol with markup and a Cyrillic letter that looks like a Latin one."""
SEEN = "\\n[green]applied[/green] REDUCE_RISK: risk multiplier 0.5 -> 5"
"""How the forged line must show: after an escaped newline, its markup as text."""


def cp1252_console(width: int = 400, encoding: str = "cp1252") -> tuple[Console, io.BytesIO]:
    """A console writing to a strict cp1252 stream: a character it cannot encode fails."""
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="\n",
                              write_through=True)
    return Console(file=stream, width=width, color_system=None, highlight=False,
                   force_terminal=False, soft_wrap=True), raw


def text_of(raw: io.BytesIO, encoding: str = "cp1252") -> str:
    return raw.getvalue().decode(encoding)


def assert_shown_safely(output: str, *, whole: bool = True) -> None:
    """Nothing a terminal acts on, nothing hidden, no line that is not ours."""
    for char in ("\x1b", "\x07", "\r", "\u202e", "\u26a0", "\u2192", "\U0001f680", "\u0443"):
        assert char not in output, (char, output)
    for line in output.splitlines():
        assert not re.match(r"^\W*(\[green\])?applied(\[/green\])? REDUCE_RISK: risk "
                            r"multiplier 0\.5 -> 5", line), line
    if whole:
        assert SEEN in output, output
        assert "\\x1b[31mred" in output and "\\u202egnp.exe" in output


def body(message: msgspec.Struct) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.to_builtins(message)
    return result


def advice(reason: str = HOSTILE) -> ModeratorAdviceGiven:
    return ModeratorAdviceGiven(
        request_id="ask-1", trigger=f"asked by operator: {HOSTILE}", source="llm",
        answer=ModeratorAnswer(action="REDUCE_RISK", reason=reason, risk_multiplier=0.5),
        summary=ModerationSummary(ts=T0, trigger="asked", mode="paper", bounds=BoundsView(
            allowed_actions=["OK"], current_multiplier=1.0, min_multiplier=0.25,
            max_pause_minutes=60)), ts=T0)


def hostile_messages() -> list[tuple[str, dict[str, Any]]]:
    """Messages a bot, the LLM or the Meta-Agent could make the kernel publish."""
    request = OrderRequest(request_id="r-1", bot_id=ROGUE, ts=T0, symbol=SYMBOL, side="buy",
                           qty=1.0, price=100.0)
    return [
        ("bot.state", body(BotStateReported(state="hung", mode="paper", ts=T0, pid=7,
                                            bot_id=ROGUE, detail=HOSTILE, last_exit=HOSTILE))),
        ("bot.heartbeat", body(Heartbeat(
            bot_id=ROGUE, seq=1, ts=T0, uptime_s=1.0, equity=1.0, realized_pnl=0.0,
            unrealized_pnl=0.0, positions=[Position(symbol=SYMBOL, qty=1.0, avg_price=1.0,
                                                    mark_price=1.0)]))),
        ("order.request", body(request)),
        ("order.decision", body(OrderDecision(request_id="r-1", verdict="DENY",
                                              code="symbol_not_allowed", reason=HOSTILE,
                                              trading_state="ACTIVE"))),
        ("bot.exit", body(BotExited(pid=7, exit_code=1, description="exit 1", expected=False,
                                    mode="paper", uptime_s=1.0, ts=T0, last_lines=[HOSTILE]))),
        ("anomaly", body(AnomalyDetected(kind="bad_frame", severity="warning", ts=T0,
                                         source=ROGUE, detail=HOSTILE))),
        ("bot.ack", body(CommandAck(command_id="c-1", ok=True, detail=HOSTILE))),
        ("kernel.mode", body(ModeChanged(previous="demo", mode="paper", requested_by=ROGUE,
                                         reason=HOSTILE, ts=T0))),
        ("moderator.advice", body(advice())),
        ("meta.proposal", body(ProposalCreated(proposal_id=1, kind="risk_rule", title=HOSTILE,
                                               job="risk-report", task_id="t", source="x",
                                               ts=T0))),
        ("risk.state", body_of_risk()),
    ]


def body_of_risk() -> dict[str, Any]:
    return risk(trading_state="HALTED", notional={SYMBOL: Decimal("10")},
                reasons=[{"level": "HALTED", "code": "manual_halt", "text": HOSTILE}])


# --- kernel status ----------------------------------------------------------------------

def test_status_shows_outside_text_as_text() -> None:
    latest = {topic: msgspec.msgpack.encode(b) for topic, b in hostile_messages()
              if topic in ("bot.state", "risk.state", "moderator.advice")}
    status = StatusReply(
        version="0.1.0", pid=1, uptime_s=5.0, mode="paper", trading_state="HALTED",
        gate="risk", endpoints={"bot_link": "tcp://127.0.0.1:7710"},
        actors=[ActorInfo(name="watchdog", state="RUNNING", restarts=1, last_error=HOSTILE)],
        bots=[BotInfo(bot_id=ROGUE, pid=7, mode="paper", version=HOSTILE, connected_s=1.0,
                      last_seen_s_ago=0.1)],
        journal_path="/data/journal.sqlite3", journal_last_seq=9, decisions=1, anomalies={})
    out, raw = cp1252_console()
    print_snapshot(SnapshotReply(status=status, latest=latest), out)
    printed = text_of(raw)
    assert_shown_safely(printed)
    assert 'bot "[/red] rogue\\x1b[2J": hung' in printed
    assert 'moderator: last advice REDUCE_RISK from llm' in printed


# --- kernel moderator ask ---------------------------------------------------------------

def test_moderator_ask_prints_the_answer_quoted_on_one_line() -> None:
    rows = [body(advice()),
            body(AdviceApplied(request_id="ask-1", action="REDUCE_RISK", effect="risk_multiplier",
                               detail="risk multiplier 1 -> 0.5: asked the risk engine",
                               ts=T0)),
            body(AdviceRefused(request_id="ask-1", action=HOSTILE, reason=HOSTILE, ts=T0))]
    out, raw = cp1252_console()
    _print_rows(rows, out)
    printed = text_of(raw)
    assert_shown_safely(printed)
    answer = next(line for line in printed.splitlines() if line.startswith("answer"))
    assert answer.startswith('answer from LLM: REDUCE_RISK risk_multiplier 0.5: "calm [/bold]')
    assert answer.endswith(f'{SEEN}"')
    assert [line.split()[0] for line in printed.splitlines()] == [
        "summary", "answer", "applied", "refused"]


# --- kernel proposals show ----------------------------------------------------------------

def test_proposals_show_quotes_what_the_meta_agent_wrote(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path))
    store = ProposalStore(tmp_path / "proposals.sqlite3")
    draft = ProposalDraft(kind="risk_rule", title=HOSTILE, rationale=HOSTILE, details=HOSTILE,
                          changes={"max_leverage": HOSTILE})
    proposal = store.add(draft, job="risk-report", task_id="t\x1b[1m", source=ROGUE, now=T0)
    out, raw = cp1252_console()
    _print_proposal(proposal, store.history(proposal.id), settings, out)
    printed = text_of(raw)
    assert_shown_safely(printed)
    assert printed.splitlines()[0].startswith('proposal 1 (risk_rule): "calm [/bold]')
    assert any(line.startswith('rationale: "calm') and line.endswith(f'{SEEN}"')
               for line in printed.splitlines())


# --- kernel report --------------------------------------------------------------------------

def test_the_report_keeps_outside_text_inside_its_cells() -> None:
    moment = Moment(ts=T0, what=HOSTILE, detail=HOSTILE)
    audit = DailyAuditCompleted(
        day="2027-01-15", timezone="UTC", ts=T0, complete=True, traded=True, rows=1,
        notes=(HOSTILE,),
        limits_fired=(moment,), halts=(moment,), operator_commands=(moment,),
        anomalies=(AnomalyCount(kind=HOSTILE, count=1, worst="warning", sources=(ROGUE,)),))
    report = render(audit)
    report.encode("cp1252")  # survives a cp1252 console
    assert_shown_safely(report)
    for line in report.splitlines():
        assert not line.startswith(("#", "|")) or "calm" not in line or SEEN in line, line


# --- kernel tap --stream and the dashboard ---------------------------------------------------

def test_the_tap_stream_prints_one_safe_line_per_message() -> None:
    out, raw = cp1252_console()
    sink = StreamSink(out, topics=(), bus="tcp://127.0.0.1:7712")
    messages = hostile_messages()
    for topic, message in messages:
        sink.message(topic, "kernel", message, T0)
    sink.note(HOSTILE, "warning", T0)
    printed = text_of(raw)
    assert_shown_safely(printed)
    assert len(printed.splitlines()) == len(messages) + 1


@pytest.mark.parametrize("size", [(120, 40), (80, 24), (60, 30)])
def test_the_dashboard_draws_outside_text_in_its_place(size: tuple[int, int]) -> None:
    width, height = size
    model = DashboardModel(started=T0)
    model.load_status({"version": HOSTILE, "mode": "paper", "trading_state": ROGUE,
                       "actors": [{"name": ROGUE, "state": "FAULTED"}]}, T0)
    for topic, message in hostile_messages():
        model.apply(topic, message, T0)
    model.note(HOSTILE, "warning", T0)
    model.set_link("unreachable", T0, HOSTILE)
    # the dashboard runs on a terminal only, which takes Unicode (its own marks are
    # outside cp1252); the outside text in it is still shown within cp1252
    out, raw = cp1252_console(width, "utf-8")
    out.print(Group(*compose(model.view(T0 + 1), width=width, height=height, now=T0 + 1,
                             bus="tcp://127.0.0.1:7712")))
    printed = text_of(raw, "utf-8")
    assert_shown_safely(printed, whole=False)
    assert len(printed.splitlines()) == height
    assert '"[/red] rogue' in printed


# --- the console log of kernel run ------------------------------------------------------------

@pytest.fixture
def console_log() -> Iterator[io.BytesIO]:
    out, raw = cp1252_console()
    handler = console_log_handler(out)
    loggers = [logging.getLogger("kernel.events"), logging.getLogger("agents.moderator.actor")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield raw
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def test_the_console_log_tells_each_event_on_one_line(console_log: io.BytesIO) -> None:
    narrator = Narrator.__new__(Narrator)  # its bus subscription is not needed to tell
    narrator.lines = LineBudget(every_s=0.0)  # every line told: hostile kinds may repeat
    told = 0
    for topic, message in hostile_messages():
        if topic in ("bot.exit", "anomaly", "kernel.mode"):
            narrator._tell(BusFrame(topic, msgspec.msgpack.encode(message), Header("x")))
            told += 1
    # what an actor logs itself, e.g. the moderator's pause with the LLM's reason
    logging.getLogger("agents.moderator.actor").warning(
        "moderator sent %s to %d bot(s): %s", "pause", 1, HOSTILE)
    printed = text_of(console_log)
    assert_shown_safely(printed)
    assert len([line for line in printed.splitlines() if line.strip()]) == told + 1


# --- a real command on a cp1252 console --------------------------------------------------------

def test_kernel_check_names_a_hostile_config_on_a_cp1252_console(tmp_path: Path) -> None:
    """A config folder and a key with markup and characters outside cp1252: ``kernel
    check`` says what is wrong instead of dying of MarkupError or UnicodeEncodeError."""
    config = write_config(tmp_path / "cfg [/red] \u2192")
    env = {**os.environ, "PYTHONIOENCODING": "cp1252", "NO_COLOR": "1", "COLUMNS": "300"}
    valid = subprocess.run(kernel_command("--config-dir", str(config), "check"), cwd=ROOT,
                           capture_output=True, timeout=60, env=env)
    assert valid.returncode == 0, valid.stderr.decode("cp1252")
    assert b'cfg [/red] \\u2192/config" is valid' in valid.stdout
    with (config / "kernel.yaml").open("a", encoding="utf-8") as yaml_file:
        yaml_file.write('"[/red] \u2192\\e[31m": 1\n')
    broken = subprocess.run(kernel_command("--config-dir", str(config), "check"), cwd=ROOT,
                            capture_output=True, timeout=60, env=env)
    said = broken.stderr.decode("cp1252")
    assert broken.returncode == 2, said
    assert "error: " in said and "[/red] \\u2192\\x1b[31m" in said and "\x1b" not in said
