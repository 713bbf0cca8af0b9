"""Shared pieces of the benchmarks: a throwaway kernel, free ports, percentiles.

Benchmarks measure; tests never assert on speed. Each benchmark measures the
raw pyzmq baseline in the same run and prints the ratio, so figures from
different machines stay comparable.
"""

from __future__ import annotations

import getpass
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import zmq

ROOT = Path(__file__).resolve().parents[1]


def _user() -> str:
    """Who runs this, for a folder of their own in a temporary folder others share."""
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):  # no name to be had: one folder for all
        return "anyone"


LISTEN_PORTS: Final = range(20_000, 32_768)
"""Where throwaway kernels listen: below the ranges a connecting socket draws its own
port from (Linux 32768-60999, Windows 49152-65535). A kernel killed and started again
on its ports (the kill -9 tests) once found its link port taken in the gap, with two
suites running at once: a port from the ephemeral range can go to any process's
outgoing connection, or to a DEALER still reconnecting to it, which on loopback may
connect to itself."""


LEASES: Final = Path(tempfile.gettempdir()) / f"supervisor-test-ports-{_user()}"
"""One empty file per port drawn lately, by any process of this machine. A port is
free of sockets only until its kernel binds it, a second or two later, and again
while a killed kernel is started anew on it: a draw by another test process (a second
worker, a second suite) in such a gap would take it. A lease closes both gaps."""
LEASE_S: Final = 300.0
"""How long a drawn port stays someone's: longer than a test restarts its kernel in."""


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports that nothing holds now and no other process drew
    in the last :data:`LEASE_S`, from :data:`LISTEN_PORTS` (any free port once 500
    draws there failed)."""
    draw = random.Random()  # seeded from the system: two suites draw differently
    sockets: list[socket.socket] = []
    ports: list[int] = []
    try:
        for attempt in range(100_000):
            if len(ports) == count:
                break
            sock = socket.socket()
            sockets.append(sock)
            in_range = attempt < 500
            try:
                sock.bind(("127.0.0.1", draw.choice(LISTEN_PORTS) if in_range else 0))
            except OSError:
                continue
            port = sock.getsockname()[1]
            if port not in ports and (not in_range or _lease(port)):
                ports.append(port)
        return ports
    finally:
        for sock in sockets:
            sock.close()


def _lease(port: int) -> bool:
    """Take ``port`` for :data:`LEASE_S`; False while another process holds it.

    Called while the draw's socket still holds the port, so no other process is
    leasing the same port at the same moment: the stat, the removal of a lapsed lease
    and the exclusive create are never raced. Any failure (a folder that is not ours
    to write) refuses the port, and the draw falls back to a port the system picks."""
    lease = LEASES / str(port)
    try:
        LEASES.mkdir(exist_ok=True)
        if time.time() - lease.stat().st_mtime < LEASE_S:
            return False
        lease.unlink()  # lapsed
    except FileNotFoundError:
        pass  # never leased
    except OSError:
        return False
    try:
        os.close(os.open(lease, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except OSError:
        return False
    return True


class BenchKernel:
    def __init__(self, root: Path, ports: list[int]) -> None:
        self.root = root
        self.link, self.pub, self.sub, self.control = (f"tcp://127.0.0.1:{p}" for p in ports)
        self.config_dir = root / "config"
        self.pid = 0
        """The kernel process's pid, once started."""


@contextmanager
def running_kernel(*, kernel_extra: str = "", risk_yaml: str | None = None,
                   files: dict[str, str] | None = None,
                   spin_us: int | None = None) -> Iterator[BenchKernel]:
    """``kernel run`` in a child process on free loopback ports; stopped on exit.

    ``risk_yaml`` replaces the shipped ``config/risk.yaml`` for this run; ``files``
    (name -> text) replace any other shipped config file, e.g. ``llm.yaml``;
    ``spin_us`` sets ``gateway.spin_us`` (the shipped default when None).
    """
    with tempfile.TemporaryDirectory(prefix="bench-kernel-") as tmp:
        kernel = BenchKernel(Path(tmp), free_ports(4))
        spin = "" if spin_us is None else f", spin_us: {spin_us}"
        kernel.config_dir.mkdir()
        (kernel.config_dir / "kernel.yaml").write_text(textwrap.dedent(f"""\
            mode: "off"
            bus: {{publish_endpoint: "{kernel.pub}", subscribe_endpoint: "{kernel.sub}"}}
            gateway: {{endpoint: "{kernel.link}"{spin}}}
            control: {{endpoint: "{kernel.control}"}}
            """) + textwrap.dedent(kernel_extra))
        (kernel.config_dir / "paths.yaml").write_text("data_dir: data\nlog_dir: logs\n")
        for shipped in sorted((ROOT / "config").glob("*.yaml")):  # risk, watchdog, planner...
            if not (kernel.config_dir / shipped.name).exists():
                (kernel.config_dir / shipped.name).write_text(shipped.read_text(encoding="utf-8"))
        if risk_yaml is not None:
            (kernel.config_dir / "risk.yaml").write_text(risk_yaml)
        for name, text in (files or {}).items():
            (kernel.config_dir / name).write_text(text)
        proc = subprocess.Popen(
            [sys.executable, "-m", "kernel.console.cli", "--config-dir", str(kernel.config_dir),
             "run",
             "--log-level", "WARNING"], cwd=ROOT, stdout=subprocess.DEVNULL,
            env={**os.environ, "NO_COLOR": "1"})
        kernel.pid = proc.pid
        try:
            wait_for_control(kernel.control, proc)
            yield kernel
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_for_control(endpoint: str, proc: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    """Wait until the kernel answers and has finished starting: every actor RUNNING,
    the same actors on two looks in a row, then a short settle. Measuring while
    actors still start (they start one after the other) measures the start."""
    from kernel.console.control_client import KernelUnreachable, ask
    from kernel.control_protocol import StatusReply, StatusRequest

    deadline = time.monotonic() + timeout_s
    previous: list[tuple[str, str]] | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"kernel exited with {proc.returncode}")
        try:
            reply = ask(endpoint, StatusRequest(), timeout_s=0.5)
        except KernelUnreachable:  # said at once while nothing listens yet
            time.sleep(0.05)
            continue
        actors = ([(a.name, a.state) for a in reply.actors]
                  if isinstance(reply, StatusReply) else None)
        if actors is not None and actors == previous and all(
                state == "RUNNING" for _, state in actors):
            time.sleep(0.5)
            return
        previous = actors
        time.sleep(0.3)
    raise SystemExit("kernel did not become ready")


def start_script(code: str, *args: str) -> subprocess.Popen[bytes]:
    """Run a small Python program in a child process (the other end of a baseline)."""
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT)


def percentiles(samples_s: Sequence[float]) -> dict[str, float]:
    """p50 / p99 / p99.9 in microseconds."""
    ordered = sorted(samples_s)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e6

    return {"p50": at(0.50), "p99": at(0.99), "p99.9": at(0.999),
            "mean": statistics.fmean(ordered) * 1e6}


def row(label: str, figures: dict[str, float], unit: str = "µs") -> str:
    cells = "  ".join(f"{k} {v:9.1f} {unit}" for k, v in figures.items())
    return f"{label:<38} {cells}"


def dealer(endpoint: str, *, hello_as: str = "") -> zmq.Socket[bytes]:
    """A bare DEALER; with ``hello_as`` it first says hello as that bot and takes the
    welcome, since the gateway decides orders only under the ``bot_id`` of the
    connection's hello (any other is denied ``identity_mismatch`` without the gate)."""
    sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(endpoint)
    if hello_as:
        from bus.codec import encode
        from bus.protocol import Hello

        sock.send(encode(Hello(bot_id=hello_as, mode="paper", pid=os.getpid(),
                               version="bench")))
        if not sock.poll(10_000):
            sock.close()
            raise RuntimeError(f"no welcome from {endpoint} within 10 s")
        sock.recv()
    return sock
