"""The bot's stdout and stderr on disk: one file per UTC day, written from reader threads.

A bot's own log may be missing or go elsewhere; what it printed just before it
died is often the only clue, so every line is kept with a timestamp and the pid
that printed it (restarts share a file). A failure to write never stops the
watchdog: the in-memory tail still reaches the exit event.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import IO

log = logging.getLogger("agents.watchdog.actor")


class BotOutput:
    """The bot's output, one file per UTC day (``bot-YYYY-MM-DD.log``), shared by runs."""

    def __init__(self, log_dir: Path) -> None:
        self._dir = log_dir
        self._lock = threading.Lock()
        self._date = ""
        self._file: IO[str] | None = None

    def write(self, pid: int, line: str) -> None:
        now = time.time()
        date = time.strftime("%Y-%m-%d", time.gmtime(now))
        stamp = f"{time.strftime('%H:%M:%S', time.gmtime(now))}.{int(now % 1 * 1000):03d}Z"
        with self._lock:
            if date != self._date:
                self._open(date)
            if self._file is not None:
                try:
                    self._file.write(f"{date}T{stamp} [{pid}] {line}\n")
                    self._file.flush()
                except OSError as exc:
                    log.error("bot output not logged: %s", exc)
                    self._file = None

    def path_for(self, date: str) -> Path:
        return self._dir / f"bot-{date}.log"

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def _open(self, date: str) -> None:
        if self._file is not None:
            self._file.close()
        self._date, self._file = date, None
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path_for(date), "a", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:  # keep the tail and the exit notice working regardless
            log.error("cannot open the bot log %s: %s", self.path_for(date), exc)
