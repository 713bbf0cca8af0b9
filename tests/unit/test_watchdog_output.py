"""The bot's output on disk stays within its bounds, and says what it did not keep.

A fake clock drives the rate bucket; the files are real, in ``tmp_path``.
"""

from __future__ import annotations

from pathlib import Path

from agents.watchdog._bot_output import BotOutput
from agents.watchdog.config import OutputLogConfig

DAY = 1_767_225_600.0  # 2026-01-01 00:00 UTC


class Clock:
    def __init__(self, now: float = DAY + 3600) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def sizes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in sorted(folder.glob("bot-*.log"))}


def test_a_flood_is_cut_to_the_rate_and_the_cut_is_said(tmp_path: Path) -> None:
    clock = Clock()
    output = BotOutput(tmp_path, OutputLogConfig(max_kb_per_s=10), clock=clock)
    line = "x" * 100
    for _ in range(10):  # ten seconds of a bot printing 1,000 lines a second
        for _ in range(1000):
            output.write(7, line)
            clock.now += 0.001
    output.close()
    written = sum(sizes(tmp_path).values())
    assert written <= 11 * 10 * 1024 + 200  # the burst, ten seconds at 10 KB/s, a last note
    text = (tmp_path / "bot-2026-01-01.log").read_text()
    assert "[supervisor]" in text and "were not logged: it printed more than output_log." \
        "max_kb_per_s (10 KB/s, watchdog.yaml)" in text
    dropped = output.take_dropped()
    assert dropped.lines > 8000 and dropped.bytes > 8000 * 100
    assert output.take_dropped().lines == 0  # told once


def test_files_rotate_at_their_size_and_only_the_newest_are_kept(tmp_path: Path) -> None:
    clock = Clock()
    old = tmp_path / "bot-2025-12-01.log"
    old.write_text("from an earlier month\n")
    output = BotOutput(tmp_path, OutputLogConfig(max_file_mb=0.01, files_kept=3,
                                                 max_kb_per_s=0), clock=clock)
    for n in range(2000):
        output.write(7, f"line {n} " + "y" * 40)
        clock.now += 0.01
    output.close()
    found = sizes(tmp_path)
    assert len(found) == 3 and not old.exists()
    assert all(size <= 0.01 * 2**20 + 100 for size in found.values())
    assert sum(found.values()) <= 3 * 0.01 * 2**20 + 300
    newest = max(found, key=lambda name: int(name.split(".")[-2]) if name.count(".") > 1 else 0)
    assert "line 1999" in (tmp_path / newest).read_text()
    dropped = output.take_dropped()
    assert dropped.deleted_files >= 1 and dropped.deleted_bytes > 0 and dropped.lines == 0


def test_each_utc_day_starts_its_own_file(tmp_path: Path) -> None:
    clock = Clock(DAY - 1)
    output = BotOutput(tmp_path, clock=clock)
    output.write(1, "before midnight")
    clock.now = DAY + 1
    output.write(1, "after midnight")
    output.close()
    assert sorted(sizes(tmp_path)) == ["bot-2025-12-31.log", "bot-2026-01-01.log"]
