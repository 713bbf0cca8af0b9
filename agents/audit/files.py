"""Files the auditor writes for people: daily reports and Meta-Agent tasks.

Written whole or not at all (a temporary file, then a rename), so a reader never
sees half a report, and any failure is raised as :class:`OutputUnwritable`
naming the file and the reason, which the auditor journals as an anomaly and
the CLI prints: nothing fails quietly.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from agents.audit.markdown import render
from agents.audit.messages import DailyAuditCompleted


class OutputUnwritable(Exception):
    """A report or task file could not be written; the message says which and why."""


def report_path(reports_dir: Path, day: str) -> Path:
    return reports_dir / f"audit-{day}.md"


def write_report(reports_dir: Path, audit: DailyAuditCompleted) -> Path:
    """The audit as Markdown in ``reports_dir``; returns the file written."""
    return write_text(report_path(reports_dir, audit.day), render(audit), what="daily report")


def write_text(path: Path, text: str, *, what: str) -> Path:
    """Write ``text`` to ``path`` atomically, creating the folder."""
    temp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temp, "w", encoding="utf-8", newline="\n") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
        reason = exc.strerror or str(exc)
        raise OutputUnwritable(
            f"cannot write the {what} {path}: {reason}"
            + (f" ({exc.filename})" if exc.filename and str(exc.filename) != str(temp) else "")
            + ". Fix: make the folder writable (or point it elsewhere in config/paths.yaml) "
            "and free some disk space.") from exc
    return path
