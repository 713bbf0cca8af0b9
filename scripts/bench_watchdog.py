#!/usr/bin/env python3
"""How fast the watchdog brings a killed bot back and notices a hung one, beside supervisord.

Measures, over N trials each (medians and worst):
  * SIGKILL of the reference bot -> its replacement started, said hello, and sent
    its first heartbeat, with ``kernel run``'s watchdog (backoff 0, so the figure
    is the mechanism, not the configured delay);
  * SIGSTOP of the bot -> the watchdog's ``hung`` event (heartbeat_timeout_s 1 s);
  * the same SIGKILL restart with the bot under supervisord instead (installed by
    this script into a throwaway venv; ``autorestart=true``, ``startsecs=0``,
    group stop and kill), heartbeating to the same ``kernel run`` on loopback with
    its watchdog disabled.
Every figure is taken from the bus, as ``kernel tap`` sees it.
Usage: scripts/bench_watchdog.py [--trials N] [--no-supervisord]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import psutil
import zmq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bus.pubsub import parse_frames
from scripts._bench_support import ROOT, free_ports, wait_for_control

HEARTBEAT_TIMEOUT_S = 1.0
BOT_ID = "qe-bench"


def bot_argv(link: str) -> list[str]:
    return [sys.executable, "scripts/run_bot.py", "--bot-id", BOT_ID, "--orphan-timeout", "5",
            "--mode=paper", "--gateway", link]


@contextlib.contextmanager
def kernel(tmp: Path, *, watchdog: bool) -> Iterator[dict[str, str]]:
    """``kernel run`` on free loopback ports; with the watchdog running the bot, or not."""
    link, pub, sub, control = (f"tcp://127.0.0.1:{p}" for p in free_ports(4))
    config = tmp / "config"
    shutil.copytree(ROOT / "config", config)
    (config / "kernel.yaml").write_text(textwrap.dedent(f"""\
        mode: {'paper' if watchdog else '"off"'}
        bus: {{publish_endpoint: "{pub}", subscribe_endpoint: "{sub}"}}
        gateway: {{endpoint: "{link}", heartbeat_interval_s: 0.1}}
        control: {{endpoint: "{control}"}}
        actors: {{watchdog: {{enabled: {str(watchdog).lower()}}}}}
        """))
    command = ["{python}", "scripts/run_bot.py", "--bot-id", BOT_ID, "--orphan-timeout", "5"]
    (config / "paths.yaml").write_text(textwrap.dedent(f"""\
        bot: {{command: {msgspec.json.encode(command).decode()}, cwd: "{ROOT.as_posix()}"}}
        data_dir: "{(tmp / 'data').as_posix()}"
        log_dir: "{(tmp / 'logs').as_posix()}"
        """))
    (config / "watchdog.yaml").write_text(textwrap.dedent(f"""\
        heartbeat_timeout_s: {HEARTBEAT_TIMEOUT_S}
        heartbeat_gap_s: 0.5
        backoff_initial_s: 0
        backoff_max_s: 0
        max_restarts: 1000
        restart_window_s: 60
        """))
    proc = subprocess.Popen([sys.executable, "-m", "kernel.console.cli",
                             "--config-dir", str(config),
                             "run", "--log-level", "WARNING"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})
    try:
        wait_for_control(control, proc)
        yield {"link": link, "sub": sub}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


class Tap:
    """A SUB on the bus: hellos, heartbeats and lifecycle steps, with arrival times."""

    def __init__(self, endpoint: str) -> None:
        self.sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.SUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        for topic in (b"bot.hello", b"bot.heartbeat", b"bot.lifecycle"):
            self.sock.subscribe(topic)
        self.sock.connect(endpoint)

    def next(self, timeout_s: float = 30.0) -> tuple[float, str, dict[str, object]]:
        if not self.sock.poll(int(timeout_s * 1000)):
            raise SystemExit("nothing on the bus: is the bot running?")
        frame = parse_frames(self.sock.recv_multipart())
        return time.perf_counter(), frame.topic, msgspec.msgpack.decode(frame.payload)

    def until(self, wanted: object, timeout_s: float = 30.0) -> tuple[float, dict[str, object]]:
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            at, topic, body = self.next(max(0.01, deadline - time.perf_counter()))
            if wanted(topic, body):  # type: ignore[operator]
                return at, body
        raise SystemExit(f"the awaited bus event did not come within {timeout_s:g} s")

    def beating_pid(self, other_than: int = 0) -> tuple[float, float, int]:
        """Wait for a hello from a new pid and its first heartbeat: (hello at, beat at, pid)."""
        hello_at, hello = self.until(lambda t, b: t == "bot.hello" and b["pid"] != other_than)
        beat_at, _ = self.until(lambda t, b: t == "bot.heartbeat" and b["bot_id"] == BOT_ID)
        return hello_at, beat_at, int(hello["pid"])  # type: ignore[call-overload]

    def close(self) -> None:
        self.sock.close()


def first_pid(link: str, timeout_s: float = 30.0) -> int:
    """The bot already running (its hello went by before the tap listened)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for proc in psutil.process_iter(["cmdline"]):
            cmdline = proc.info.get("cmdline") or []
            if BOT_ID in cmdline and link in cmdline:
                return proc.pid
        time.sleep(0.05)
    raise SystemExit(f"no bot for {link} within {timeout_s:g} s")


def kill_trials(tap: Tap, link: str, trials: int, *, spawn_events: bool
                ) -> dict[str, list[float]]:
    pid = first_pid(link)
    tap.until(lambda t, b: t == "bot.heartbeat")
    out: dict[str, list[float]] = {"started": [], "hello": [], "heartbeat": []}
    for _ in range(trials):
        time.sleep(0.3)  # let it settle into its loop
        killed = time.perf_counter()
        psutil.Process(pid).kill()
        if spawn_events:
            started, _ = tap.until(lambda t, b: t == "bot.lifecycle" and b["state"] == "starting")
            out["started"].append(started - killed)
        hello, beat, pid = tap.beating_pid(other_than=pid)
        out["hello"].append(hello - killed)
        out["heartbeat"].append(beat - killed)
    return out


def hang_trials(tap: Tap, link: str, trials: int) -> list[float]:
    pid = first_pid(link)
    found = []
    for _ in range(trials):
        tap.until(lambda t, b: t == "bot.heartbeat")
        stopped = time.perf_counter()
        psutil.Process(pid).suspend()
        hung, _ = tap.until(lambda t, b: t == "bot.lifecycle" and b["state"] == "hung")
        found.append(hung - stopped)
        _, _, pid = tap.beating_pid(other_than=pid)  # killed and replaced by the watchdog
    return found


def supervisord_trials(tmp: Path, trials: int) -> dict[str, list[float]]:
    venv = tmp / "venv"
    print("installing supervisord into a throwaway venv ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = venv / ("Scripts" if sys.platform == "win32" else "bin") / "pip"
    subprocess.run([str(pip), "install", "-q", "supervisor"], check=True)
    with kernel(tmp / "k", watchdog=False) as ends:
        (port,) = free_ports(1)
        conf = tmp / "supervisord.conf"
        conf.write_text(textwrap.dedent(f"""\
            [inet_http_server]
            port=127.0.0.1:{port}
            [supervisord]
            nodaemon=true
            logfile={tmp / 'supervisord.log'}
            pidfile={tmp / 'supervisord.pid'}
            [rpcinterface:supervisor]
            supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
            [program:quantumedge]
            command={' '.join(bot_argv(ends['link']))}
            directory={ROOT}
            autostart=true
            autorestart=true
            startsecs=0
            startretries=1000
            stopasgroup=true
            killasgroup=true
            stopwaitsecs=2
            redirect_stderr=true
            stdout_logfile={tmp / 'bot.log'}
            environment=PYTHONUNBUFFERED="1"
            """))
        tap = Tap(ends["sub"])
        daemon = subprocess.Popen([str(venv / "bin" / "supervisord"), "-c", str(conf)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            return kill_trials(tap, ends["link"], trials, spawn_events=False)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(15)
            tap.close()


def line(label: str, samples: list[float]) -> str:
    if not samples:
        return f"  {label:<46} n/a"
    return (f"  {label:<46} median {statistics.median(samples) * 1000:8.1f} ms   "
            f"worst {max(samples) * 1000:8.1f} ms   (n={len(samples)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--no-supervisord", action="store_true")
    args = parser.parse_args()
    if sys.platform == "win32":
        raise SystemExit("SIGKILL/SIGSTOP trials need POSIX signals")
    with tempfile.TemporaryDirectory(prefix="bench-watchdog-") as tmp_name:
        tmp = Path(tmp_name)
        with kernel(tmp / "ours", watchdog=True) as ends:
            tap = Tap(ends["sub"])
            ours = kill_trials(tap, ends["link"], args.trials, spawn_events=True)
            hangs = hang_trials(tap, ends["link"], args.trials)
            tap.close()
        theirs = {} if args.no_supervisord else supervisord_trials(tmp, args.trials)
    print(f"\nwatchdog, {args.trials} trials each (reference bot, loopback, backoff 0):")
    print(line("SIGKILL -> replacement started", ours["started"]))
    print(line("SIGKILL -> replacement said hello", ours["hello"]))
    print(line("SIGKILL -> replacement heartbeating", ours["heartbeat"]))
    print(line(f"SIGSTOP -> hung (timeout {HEARTBEAT_TIMEOUT_S:g} s)", hangs))
    worst = max(hangs) - HEARTBEAT_TIMEOUT_S
    print(f"  {'hang detected after the timeout by at most':<46} {worst * 1000:8.1f} ms "
          f"(budget 500 ms)")
    if theirs:
        print("supervisord (same bot, same kernel, autorestart, startsecs=0):")
        print(line("SIGKILL -> replacement said hello", theirs["hello"]))
        print(line("SIGKILL -> replacement heartbeating", theirs["heartbeat"]))
        ratio = statistics.median(theirs["heartbeat"]) / statistics.median(ours["heartbeat"])
        print(f"  supervisord / watchdog, back heartbeating (medians): {ratio:.1f}x")
        print("  supervisord has no heartbeat check: a hung bot stays hung under it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
