"""A bounded look at the bot's repository, for a code-audit task.

The task must be self-contained yet fit one prompt, so the snapshot is three
layers of decreasing breadth: every file with its size (up to a count), what
changed recently (git log and status when it is a git work tree, else file
times), and excerpts of the files most worth reading (recently changed first,
then the entry points) within a byte budget. It only reads: symbolic links are
listed but never followed, nothing outside the root is opened, and git runs
with a timeout and without prompts.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
from pathlib import Path
from typing import Final, NamedTuple

from agents.meta.config import CodeAuditConfig
from kernel.child_env import child_environment

GIT_OUTPUT_MAX: Final = 16_000
"""Characters kept of one git command's output."""
_BINARY_PROBE: Final = 1024


class RepoFile(NamedTuple):
    path: str
    """Relative to the root, with forward slashes."""
    size: int
    mtime: float
    link: bool = False


class Excerpt(NamedTuple):
    path: str
    text: str
    truncated: bool


class CodeSnapshot(NamedTuple):
    root: str
    files: list[RepoFile]
    """Listed files, at most ``max_files_listed`` (largest totals are in the counts)."""
    total_files: int
    total_bytes: int
    git: bool
    git_log: str
    git_status: str
    recent: list[str]
    """Recently changed files, newest first."""
    excerpts: list[Excerpt]
    notes: list[str]


def snapshot(root: Path, config: CodeAuditConfig, now: float) -> CodeSnapshot:
    """Look at ``root`` within the limits of ``config``; never raises for a missing root."""
    notes: list[str] = []
    if not root.is_dir():
        return CodeSnapshot(str(root), [], 0, 0, False, "", "", [], [],
                            [f"the bot's folder {root} does not exist or is not a folder"])
    files = _walk(root, config.exclude_dirs)
    total = sum(f.size for f in files)
    git, log, status, changed = _git(root, config, notes)
    since = now - config.recent_days * 86_400
    recent = changed or [f.path for f in sorted(files, key=lambda f: -f.mtime)
                         if f.mtime >= since and not f.link]
    listed = sorted(files, key=lambda f: f.path)[:config.max_files_listed]
    if len(files) > len(listed):
        notes.append(f"{len(files) - len(listed)} more files are not listed "
                     f"(max_files_listed {config.max_files_listed})")
    excerpts = _excerpts(root, files, recent, config, notes)
    return CodeSnapshot(str(root), listed, len(files), total, git, log, status, recent[:50],
                        excerpts, notes)


def _walk(root: Path, exclude: list[str]) -> list[RepoFile]:
    found: list[RepoFile] = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not _skipped(d, exclude))
        for name in names:
            path = Path(folder) / name
            try:
                info = path.lstat()
            except OSError:
                continue
            link = path.is_symlink()
            found.append(RepoFile(path.relative_to(root).as_posix(),
                                  0 if link else info.st_size, info.st_mtime, link))
    return found


def _skipped(folder: str, exclude: list[str]) -> bool:
    """Hidden folders (but .github) and the excluded ones are not walked."""
    if folder.startswith(".") and folder != ".github":
        return True
    return any(fnmatch.fnmatch(folder, pattern) for pattern in exclude)


def _git(root: Path, config: CodeAuditConfig,
         notes: list[str]) -> tuple[bool, str, str, list[str]]:
    inside = _run_git(root, config, notes, "rev-parse", "--is-inside-work-tree")
    if inside is None or inside.strip() != "true":
        return False, "", "", []
    log = _run_git(root, config, notes, "log", f"--since={config.recent_days}.days",
                   "-n", "40", "--date=short", "--format=%h %ad %an: %s", "--name-only") or ""
    status = _run_git(root, config, notes, "status", "--porcelain") or ""
    changed: list[str] = []
    for line in [*status.splitlines(), *log.splitlines()]:
        name = line[3:] if line[:2].strip() and line[2:3] == " " else line
        if name and " " not in name and (root / name).is_file() and name not in changed:
            changed.append(name)
    return True, log, status, changed


def _run_git(root: Path, config: CodeAuditConfig, notes: list[str], *args: str) -> str | None:
    env = child_environment({"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"})
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                              timeout=config.git_timeout_s, env=env, check=False,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        notes.append("git is not installed: recent changes are taken from file times")
        return None
    except subprocess.TimeoutExpired:
        notes.append(f"git {args[0]} took longer than {config.git_timeout_s:g} s: left out")
        return None
    if done.returncode != 0:
        if args[0] != "rev-parse":
            error = done.stderr.decode("utf-8", "replace").strip()[:200]
            notes.append(f"git {args[0]} failed: {error}")
        return None
    text = done.stdout.decode("utf-8", "replace")
    if len(text) > GIT_OUTPUT_MAX:
        notes.append(f"git {args[0]} output cut at {GIT_OUTPUT_MAX} characters")
        text = text[:GIT_OUTPUT_MAX]
    return text


def _excerpts(root: Path, files: list[RepoFile], recent: list[str], config: CodeAuditConfig,
              notes: list[str]) -> list[Excerpt]:
    """Recently changed files first, then top-level entry points, then the rest by path."""
    by_path = {f.path: f for f in files if not f.link}
    quotable = [p for p in by_path if any(fnmatch.fnmatch(Path(p).name, pattern)
                                          for pattern in config.include)]
    entry = sorted(p for p in quotable if "/" not in p)
    order = list(dict.fromkeys([*(p for p in recent if p in quotable), *entry,
                                *sorted(quotable)]))
    budget, out = config.excerpt_bytes, list[Excerpt]()
    for path in order:
        if budget < 200:
            left = len(order) - len(out)
            notes.append(f"excerpt budget ({config.excerpt_bytes} bytes) spent: "
                         f"{left} quotable files not quoted")
            break
        excerpt = _read_excerpt(root, path, min(budget, config.excerpt_file_bytes))
        if excerpt is not None:
            out.append(excerpt)
            budget -= len(excerpt.text.encode())
    return out


def _read_excerpt(root: Path, path: str, limit: int) -> Excerpt | None:
    try:
        with open(root / path, "rb") as file:
            raw = file.read(limit + 1)
    except OSError:
        return None
    if b"\0" in raw[:_BINARY_PROBE] or not raw.strip():
        return None
    truncated = len(raw) > limit
    if truncated:
        raw = raw[:limit]
        cut = raw.rfind(b"\n")
        raw = raw[:cut + 1] if cut > 0 else raw
    return Excerpt(path, raw.decode("utf-8", "replace"), truncated)
