"""The bot's stdout and stderr on disk, bounded: written from reader threads.

A bot's own log may be missing or go elsewhere; what it printed just before it
died is often the only clue, so every line is kept with a timestamp and the pid
that printed it (restarts share a file). A failure to write never stops the
watchdog: the in-memory tail still reaches the exit event.

The log dir is often on the journal's disk, and a chatty or looping bot can print
tens of megabytes a second. So the output is bounded three ways
(``watchdog.yaml`` ``output_log``): at most ``max_kb_per_s`` are written (a
bucket one second deep; lines beyond it are counted, not written); a file that
reaches ``max_file_mb`` is closed and a new one begun; only the newest
``files_kept`` files stay (older ones are deleted). Whatever is not kept is
said: a ``[supervisor]`` line in the file where writing resumes, and
:meth:`BotOutput.take_dropped` for the watchdog's ``bot_output_dropped`` anomaly.
The disk used is at most ``max_file_mb`` times ``files_kept``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, NamedTuple

from agents.watchdog.config import OutputLogConfig

log = logging.getLogger("agents.watchdog.actor")

_STAMP_BYTES = 40
"""About what the time stamp and pid add to a line (the rate counts them too)."""
_NOTE_EVERY_S = 1.0
"""A flood is noted in the file at most this often, with the count held back meanwhile."""


class Dropped(NamedTuple):
    """Output not kept since the last look: over the rate, and old files deleted."""

    lines: int
    bytes: int
    deleted_files: int
    deleted_bytes: int


class BotOutput:
    """The bot's output, in ``bot-YYYY-MM-DD.log`` files (UTC days), shared by runs."""

    def __init__(self, log_dir: Path, config: OutputLogConfig | None = None, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._dir = log_dir
        self._cfg = config or OutputLogConfig()
        self._clock = clock
        self._lock = threading.Lock()
        self._date = ""
        self._file: IO[bytes] | None = None
        self._path: Path | None = None
        self._size = 0
        self._max_file = int(self._cfg.max_file_mb * 2**20)
        rate = self._cfg.max_kb_per_s * 1024
        self._rate = rate
        self._tokens = rate
        self._refilled = clock()
        self._held = [0, 0]  # lines, bytes not written and not yet noted in the file
        self._noted = 0.0
        self._dropped = [0, 0, 0, 0]  # as Dropped, since take_dropped()

    def write(self, pid: int, line: str) -> None:
        now = self._clock()
        with self._lock:  # admitted before it is formatted: a flood costs little CPU
            if not self._admit(len(line) + _STAMP_BYTES, now):
                return
            date = time.strftime("%Y-%m-%d", time.gmtime(now))
            stamp = f"{time.strftime('%H:%M:%S', time.gmtime(now))}.{int(now % 1 * 1000):03d}Z"
            data = f"{date}T{stamp} [{pid}] {line}\n".encode("utf-8", "replace")
            if self._held[0] and now - self._noted >= _NOTE_EVERY_S:
                lines, size = self._held
                self._held, self._noted = [0, 0], now
                note = (f"{date}T{stamp} [supervisor] {lines:,} lines ({_mb(size)}) of the "
                        f"bot's output were not logged: it printed more than output_log."
                        f"max_kb_per_s ({self._cfg.max_kb_per_s:g} KB/s, watchdog.yaml)\n"
                        ).encode()
                self._tokens -= len(note)  # the note counts against the rate too
                data = note + data
            if date != self._date:
                self._open(date)
            elif self._size and self._size + len(data) > self._max_file:
                self._open(date, full=True)
            self._put(data)

    def take_dropped(self) -> Dropped:
        """What was not kept since the last call (for an anomaly), and reset."""
        with self._lock:
            dropped, self._dropped = Dropped(*self._dropped), [0, 0, 0, 0]
        return dropped

    def path_for(self, date: str) -> Path:
        return self._dir / f"bot-{date}.log"

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                if self._held[0]:  # what was held back since the last note
                    lines, size = self._held
                    self._held = [0, 0]
                    self._put(f"[supervisor] {lines:,} lines ({_mb(size)}) of the bot's output "
                              "were not logged: over output_log.max_kb_per_s\n".encode())
                self._file.close()
                self._file = None

    def _admit(self, size: int, now: float) -> bool:
        """Take ``size`` bytes from the rate bucket, or count the line as dropped."""
        if self._rate <= 0:
            return True
        self._tokens = min(self._rate, self._tokens + (now - self._refilled) * self._rate)
        self._refilled = now
        if size <= self._tokens:
            self._tokens -= size
            return True
        self._held[0] += 1
        self._held[1] += size
        self._dropped[0] += 1
        self._dropped[1] += size
        return False

    def _put(self, data: bytes) -> None:
        if self._file is None:
            return
        try:
            self._file.write(data)
            self._file.flush()
            self._size += len(data)
        except OSError as exc:
            log.error("bot output not logged to %s: %s", self._path, exc)
            self._file = None

    def _open(self, date: str, *, full: bool = False) -> None:
        """Begin a file: the day's newest part, or the next part once that one is full
        (``bot-DATE.log``, ``bot-DATE.1.log``, ``bot-DATE.2.log``, ...); then prune."""
        if self._file is not None:
            self._file.close()
        self._date, self._file, self._size = date, None, 0
        part = max((_part(p.name, date) for p in self._dir.glob(f"bot-{date}*.log")),
                   default=0)
        path = self._part_path(date, part)
        with contextlib.suppress(OSError):
            if full or path.stat().st_size >= self._max_file:
                path = self._part_path(date, part + 1)
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            self._file = open(path, "ab")  # noqa: SIM115  (closed by close() or the next _open)
            self._path, self._size = path, path.stat().st_size
        except OSError as exc:  # keep the tail and the exit notice working regardless
            log.error("cannot open the bot log %s: %s", path, exc)
        self._prune()

    def _part_path(self, date: str, part: int) -> Path:
        return self.path_for(date) if part == 0 else self._dir / f"bot-{date}.{part}.log"

    def _prune(self) -> None:
        """Keep the newest ``files_kept`` files; count what goes."""
        files = []
        for path in self._dir.glob("bot-*.log"):
            with contextlib.suppress(OSError):
                files.append((path.stat().st_mtime, path.name, path))
        files.sort(reverse=True)
        for _, _, path in files[self._cfg.files_kept:]:
            if path == self._path:
                continue
            try:
                size = path.stat().st_size
                path.unlink()
            except OSError as exc:
                log.error("cannot remove the old bot log %s: %s", path, exc)
                continue
            self._dropped[2] += 1
            self._dropped[3] += size


def _part(name: str, date: str) -> int:
    """0 for ``bot-DATE.log``, n for ``bot-DATE.n.log``; -1 for anything else."""
    middle = name.removeprefix(f"bot-{date}").removesuffix(".log")
    if not middle:
        return 0
    return int(middle[1:]) if middle.startswith(".") and middle[1:].isdigit() else -1


def _mb(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{size / 1024:.1f} KB"
