"""Evidence for a REDUCE_RISK: today so far, replayed with the reduced multiplier.

The cut is applied first (a reduction must not wait); then ``kernel replay --day
TODAY --multiplier X --json`` runs as a child process over the journal,
read-only, and its summary rides on the ``AdviceApplied`` record: which of
today's orders the reduced size limits would have denied, which limits would
have tripped, the PnL had they tripped (docs/replay.md).

A child process, not a thread: a day's replay is seconds of pure Python, and in
this process it would hold the interpreter lock against the order gate. The
child gets the kernel's environment without its secrets (``kernel.child_env``),
and a time limit; a replay that fails or runs late is reported as such, never
blocking the moderator for longer than ``timeout_s``.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import msgspec

from kernel.child_env import child_environment
from risk.rerun_report import Report

TIMEOUT_S = 60.0


async def replay_today(config_dir: Path, *, day: str, multiplier: float,
                       timeout_s: float = TIMEOUT_S) -> str:
    """One line of evidence, or why there is none."""
    argv = [sys.executable, "-m", "kernel.console.cli", "--config-dir", str(config_dir),
            "replay", "--day", day, "--risk", str(config_dir / "risk.yaml"),
            "--multiplier", repr(multiplier), "--json"]
    try:  # a thread waiting on a pipe holds no lock; asyncio's subprocesses need the
        # proactor loop on Windows, which the kernel's selector loop is not
        done = await asyncio.to_thread(
            subprocess.run, argv, capture_output=True, timeout=timeout_s,
            stdin=subprocess.DEVNULL, env=child_environment(), check=False)
    except subprocess.TimeoutExpired:
        return f"replay of today not made: it took over {timeout_s:g} s"
    except OSError as exc:
        return f"replay of today not made: {exc}"
    if done.returncode != 0:
        why = " ".join(done.stderr.decode(errors="replace").split())[:500]
        return f"replay of today not made (exit {done.returncode}): {why}"
    out = done.stdout
    try:
        found = msgspec.json.decode(out, type=Report)
    except msgspec.DecodeError as exc:
        return f"replay of today unreadable: {exc}"
    return summary(found, day=day, multiplier=multiplier)


def summary(found: Report, *, day: str, multiplier: float) -> str:
    """The replay in one line: what the cut would have changed today."""
    c = found.counts
    to_deny = ", ".join(f"{code} {n}" for code, n in sorted(c.allow_to_deny.items()))
    parts = [f"replay of {day} so far at risk multiplier x{multiplier:g}: {c.orders} orders, "
             f"ALLOW->DENY {sum(c.allow_to_deny.values())}" + (f" ({to_deny})" if to_deny
                                                                 else "")]
    if found.flips:
        parts.append(f"exact through journal row #{found.exact_through_seq}")
    new = [t for t in found.trips if not t.live]
    if new:
        parts.append("would trip " + ", ".join(t.code for t in new))
    o = found.outcome
    if o.pnl is not None:
        parts.append(f"PnL {o.pnl:+.2f} USDT" + (
            f", {o.pnl_with_halts:+.2f} had the new halts happened" if o.halted_at else ""))
    return "; ".join(parts)
