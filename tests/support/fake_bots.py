"""Tiny bots that misbehave on purpose, for the watchdog's fault tests.

    python -m tests.support.fake_bots BEHAVIOUR --mode=paper --gateway tcp://...

Behaviours:
  steady     hello, heartbeats at the kernel's interval, obeys ``shutdown``
  crash      like steady, then exits with code 1 after ``--after`` seconds
  crash_now  prints an error and exits with code 1 at once (before connecting)
  silent     starts and sleeps: never says hello, never beats
  stubborn   beats, but refuses ``shutdown`` and ignores SIGTERM: must be killed
  stale      beats with a market tick ``--tick-age`` seconds old
  gap        beats three times, pauses ``--pause`` seconds, beats again
  family     like steady, with a child process (its pid goes to ``--child-pid-file``)
  stubborn_family  stubborn, with a child that left the bot's process group (its own
             session on POSIX): only the watchdog's tree sweep (POSIX) or the Job
             Object (Windows) can stop it
Every bot prints one line with its arguments first, so tests can see them;
``--show-env NAME,NAME`` then prints ``env NAME=<value>`` (or ``env NAME unset``)
for each name, so a test can see what the watchdog passed on.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BEHAVIOURS = ("steady", "crash", "crash_now", "silent", "stubborn", "stale", "gap", "family",
              "stubborn_family")


def command(behaviour: str, *extra: str) -> str:
    """The ``bot.command`` for paths.yaml (a JSON list is valid YAML)."""
    assert behaviour in BEHAVIOURS, behaviour
    return json.dumps(["{python}", "-m", "tests.support.fake_bots", behaviour, *extra])


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("behaviour", choices=BEHAVIOURS)
    parser.add_argument("--mode", default="paper")
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--bot-id", default="fake-1")
    parser.add_argument("--after", type=float, default=0.3)
    parser.add_argument("--pause", type=float, default=1.0)
    parser.add_argument("--tick-age", type=float, default=100.0)
    parser.add_argument("--child-pid-file", default="")
    parser.add_argument("--show-env", default="")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _args(sys.argv[1:] if argv is None else argv)
    print(f"fake bot {args.behaviour} pid={os.getpid()} mode={args.mode} "
          f"gateway={args.gateway}", flush=True)
    for name in filter(None, args.show_env.split(",")):
        value = os.environ.get(name)
        print(f"env {name} unset" if value is None else f"env {name}={value}", flush=True)
    if args.behaviour == "crash_now":
        print("fatal: cannot load the strategy (deliberate)", file=sys.stderr, flush=True)
        return 1
    if args.behaviour == "silent":
        time.sleep(3600)
        return 0
    if args.behaviour in ("stubborn", "stubborn_family"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if args.behaviour in ("family", "stubborn_family"):
        own_session = args.behaviour == "stubborn_family" and sys.platform != "win32"
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"],
                                 start_new_session=own_session)
        Path(args.child_pid_file).write_text(str(child.pid), encoding="utf-8")
    return _beat(args)


def _beat(args: argparse.Namespace) -> int:
    from bus.client import BotLink  # late: crash_now and silent need no sockets

    link = BotLink(args.gateway, bot_id=args.bot_id, mode=args.mode, version="fake")
    try:
        welcome = link.hello(timeout_s=10)
        started = time.monotonic()
        beats = 0
        while True:
            now = time.time()
            tick_age = args.tick_age if args.behaviour == "stale" else 0.1
            link.heartbeat(uptime_s=time.monotonic() - started, equity=10_000.0,
                           realized_pnl=1.5, unrealized_pnl=-0.5, last_tick_ts=now - tick_age,
                           last_tick_price=100.0)
            beats += 1
            if args.behaviour == "gap" and beats == 3:
                time.sleep(args.pause)
            if args.behaviour == "crash" and time.monotonic() - started > args.after:
                print("boom: deliberate crash", file=sys.stderr, flush=True)
                return 1
            for cmd in link.poll_commands(timeout_s=welcome.heartbeat_interval_s):
                if cmd.action == "shutdown" and "stubborn" not in args.behaviour:
                    link.ack(cmd.command_id, True, "bye")
                    print("shutting down on command", flush=True)
                    return 0
                link.ack(cmd.command_id, False, "not doing that")
    finally:
        link.close(linger_s=0.5)


if __name__ == "__main__":
    sys.exit(main())
