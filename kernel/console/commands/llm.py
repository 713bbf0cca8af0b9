"""``kernel moderator ask``, ``kernel llm check`` and ``kernel risk-multiplier``.

* ``moderator ask`` asks the running kernel for one moderation now and prints
  what was sent, what came back, and what was applied or refused. It reads the
  answer from the journal (read-only), where every step is anyway, so it cannot
  miss it the way a late bus subscription could.
* ``llm check`` calls the configured endpoint directly from this process with a
  tiny forced tool call, and reports the model and the latency. It is a probe:
  it is not journaled and does not count against the kernel's daily budget.
* ``risk-multiplier`` is how a person raises the multiplier back after the
  moderator lowered it (the moderator itself may only lower it). Like ``halt``
  it waits for the risk engine's answer: exit 0 when set, 6 when refused (the
  engine's reason is printed, e.g. a value outside risk.yaml's bounds), 7 when
  the engine did not answer in time.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.text import Text

from bus import loops
from kernel.console._args import operator_name
from kernel.console.commands.operator import add_timeout, print_answer
from kernel.console.control_client import (
    Controller,
    ControlRefused,
    KernelUnreachable,
    controller_for,
)
from kernel.control_protocol import (
    ActionAccepted,
    ActionAnswered,
    ModeratorAskRequest,
    RiskMultiplierRequest,
)
from kernel.journal import read_journal
from kernel.settings import Settings, load_settings
from kernel.untrusted import ident, one_line, quoted

EXIT_CONFIG, EXIT_UNREACHABLE, EXIT_NO_ANSWER = 2, 3, 5
ANSWER_LIMIT = 5000
"""The whole of an answer's reason (2,000 characters at most), escapes included."""


def add_llm_commands(sub: Any, config_dir: Callable[[argparse.Namespace], Path]) -> None:
    """Register the sub-commands; ``config_dir`` resolves ``--config-dir``."""
    moderator = sub.add_parser("moderator", help="the LLM risk moderator")
    moderator_sub = moderator.add_subparsers(dest="moderator_command", required=True)
    ask = moderator_sub.add_parser("ask", help="run one moderation now and show the result")
    ask.add_argument("--reason", default="asked from the command line", help="why (journaled)")
    ask.add_argument("--timeout", type=float, default=None,
                     help="seconds to wait for the answer (default: llm deadline_s + 10)")
    ask.add_argument("--json", action="store_true", help="print the journal rows as JSON")
    ask.set_defaults(handler=lambda a: _moderator_ask(a, config_dir(a)))

    llm = sub.add_parser("llm", help="the LLM endpoint")
    llm_sub = llm.add_subparsers(dest="llm_command", required=True)
    check = llm_sub.add_parser("check", help="reach the endpoint; report model and latency")
    check.set_defaults(handler=lambda a: llm_check(load_settings(config_dir(a)), _out()))

    mult = sub.add_parser("risk-multiplier", help="set the risk multiplier (within risk.yaml)")
    mult.add_argument("value", type=float, help="new multiplier, e.g. 1.0")
    mult.add_argument("--reason", required=True, help="why (journaled)")
    mult.add_argument("--bot", default="", metavar="ID",
                      help="one bot of the fleet (paths.yaml bots:); without it, every bot")
    add_timeout(mult)
    mult.set_defaults(handler=lambda a: _risk_multiplier(a, config_dir(a)))


def _out() -> Console:
    return Console(highlight=False)



def _moderator_ask(args: argparse.Namespace, config_dir: Path) -> int:
    settings = load_settings(config_dir)
    timeout = args.timeout if args.timeout is not None else settings.llm.deadline_s + 10
    return moderator_ask(settings, controller_for(settings), _out(), reason=args.reason,
                         timeout_s=timeout, as_json=args.json)


def _risk_multiplier(args: argparse.Namespace, config_dir: Path) -> int:
    settings, out, user = load_settings(config_dir), _out(), operator_name()
    try:
        reply: ActionAnswered = controller_for(settings).ask(RiskMultiplierRequest(
            value=args.value, reason=args.reason, user=user, wait_s=args.timeout,
            bot_id=args.bot),
            timeout_s=args.timeout + 2.0)
    except (KernelUnreachable, ControlRefused) as exc:
        out.print(Text.assemble(("not sent:", "red"), " ", one_line(exc)))
        return EXIT_UNREACHABLE if isinstance(exc, KernelUnreachable) else 1
    return print_answer(reply, out, user)


def moderator_ask(settings: Settings, kernel: Controller, out: Console, *, reason: str,
                  timeout_s: float, as_json: bool = False) -> int:
    """Ask, wait for the journaled result, print it; 0 when an answer came back."""
    request_id = f"ask-{uuid.uuid4().hex[:12]}"
    try:
        accepted: ActionAccepted = kernel.ask(ModeratorAskRequest(
            request_id=request_id, reason=reason, user=operator_name()))
    except KernelUnreachable as exc:
        out.print(Text.assemble(("kernel not running:", "red"), " ", one_line(exc)))
        return EXIT_UNREACHABLE
    except ControlRefused as exc:
        out.print(Text.assemble(("refused:", "red"), " ", one_line(exc)))
        return 1
    rows = _wait_rows(settings.journal_path, accepted.seq, request_id, timeout_s)
    if as_json:
        sys.stdout.write(msgspec.json.encode(rows).decode() + "\n")
    else:
        _print_rows(rows, out)
    if not rows or not _finished(rows):
        out.print(f"[red]no answer within {timeout_s:g} s[/red] for {request_id}: is the "
                  "moderator actor enabled (kernel.yaml actors)?")
        return EXIT_NO_ANSWER
    return 0


def _wait_rows(journal: Path, after_seq: int, request_id: str,
               timeout_s: float) -> list[dict[str, Any]]:
    deadline, found = time.monotonic() + timeout_s, []
    seq = after_seq
    while time.monotonic() < deadline:
        for row in read_journal(journal, after_seq=seq, topic_prefix="moderator.", limit=1000):
            seq = row.seq
            body = msgspec.msgpack.decode(row.payload)
            if isinstance(body, dict) and body.get("request_id") == request_id:
                found.append(body)
        if found and _finished(found):
            return found
        time.sleep(0.05)
    return found


def _finished(rows: list[dict[str, Any]]) -> bool:
    last = rows[-1].get("type")
    return last == "moderator_advice_applied" or (
        last == "moderator_advice_refused" and rows[-1].get("source") == "offline")


def _print_rows(rows: list[dict[str, Any]], out: Console) -> None:
    """Each row as one line of rich ``Text``: the answer's words are the LLM's, quoted,
    so a reason can neither break the output nor print a line that looks like ours."""
    for body in rows:
        kind = body.get("type")
        if kind == "moderator_advice":
            if body.get("source") == "llm" or not any(
                    r.get("type") == "moderator_advice" for r in rows[:rows.index(body)]):
                out.print(_styled("summary sent", "bold", f"({ident(body.get('request_id'))}): "
                                  f"{_summary_line(body.get('summary') or {})}"))
            answer = body.get("answer") or {}
            who = "LLM" if body.get("source") == "llm" else \
                f"offline rules ({body.get('fallback_reason')})"
            extra = "".join(f" {k} {answer[k]}" for k in ("risk_multiplier", "pause_minutes")
                            if answer.get(k) is not None)
            out.print(_styled("answer", "bold", f"from {who}: {ident(answer.get('action'))}"
                              f"{extra}: {quoted(answer.get('reason'), ANSWER_LIMIT)}"))
        elif kind == "moderator_advice_applied":
            how = "would apply (apply: false)" if body.get("dry_run") else "applied"
            out.print(_styled(how, "green", f"{ident(body.get('action'))}: "
                                            f"{body.get('detail')}"))
        elif kind == "moderator_advice_refused":
            out.print(_styled("refused", "yellow", f"{ident(body.get('action'))} "
                                                   f"({body.get('source')}): {body.get('reason')}"))


def _styled(head: str, style: str, rest: str) -> Text:
    """``head`` in ``style``, then the rest as plain text on the same line."""
    return Text.assemble((head, style), " ", one_line(rest, ANSWER_LIMIT + 2000))


def _summary_line(summary: dict[str, Any]) -> str:
    risk, stats = summary.get("risk") or {}, summary.get("stats") or {}
    bounds, anomalies = summary.get("bounds") or {}, summary.get("anomalies") or {}
    regime = summary.get("regime") or {}
    parts = [f"trigger {summary.get('trigger')}", f"mode {summary.get('mode')}"]
    if risk:
        parts.append(f"{risk.get('trading_state')}, daily loss {risk.get('daily_loss')} of "
                     f"{risk.get('max_daily_loss')}, drawdown {risk.get('drawdown')} of "
                     f"{risk.get('max_drawdown')}")
    parts.append(f"multiplier {bounds.get('current_multiplier')} (min "
                 f"{bounds.get('min_multiplier')})")
    parts.append(f"{stats.get('count', 0)} trades, net {stats.get('net_pnl', 0)}, "
                 f"{stats.get('loss_streak', 0)} losses in a row")
    if regime:
        parts.append(f"regime {regime.get('regime')}")
    parts.append(f"{anomalies.get('count', 0)} anomalies")
    return "; ".join(parts)


def llm_check(settings: Settings, out: Console) -> int:
    """Reach the endpoint once; 0 when a valid structured answer came back."""
    from kernel.console._llm_probe import probe  # late: pulls in the SDK (about a second)

    result = loops.run(probe(settings.llm))
    endpoint = settings.llm.base_url or "the SDK default (or $ANTHROPIC_BASE_URL)"
    if result.error:
        out.print(Text.assemble(("not reached:", "red"), " ",
                                one_line(f"{endpoint}: {result.error}")))
        return EXIT_CONFIG if result.outcome in ("unavailable", "auth_failed") else \
            EXIT_UNREACHABLE
    note = "" if settings.llm.enabled else " (llm.yaml: enabled: false, the kernel stays offline)"
    out.print(Text(one_line(
        f"reached {endpoint}: model {ident(result.model)}, {result.latency_ms:.0f} ms, "
        f"{result.tokens} tokens (not journaled, not counted in the daily budget){note}")))
    return 0
