"""The README starts with the two commands that work on every OS, and they are wired up.

``python scripts/run.py`` and ``python scripts/test.py`` (``py`` on Windows) come
first; the POSIX shorthands and CI call exactly them; and no page of the docs shows
a ``.venv/bin/`` path without its Windows twin beside it.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def test_the_readme_opens_with_the_two_commands_and_the_windows_note() -> None:
    text = _read("README.md")
    first_block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in first_block.splitlines()]
    assert commands == ["python scripts/run.py", "python scripts/test.py"]
    before_the_rest = text.split("\n## ", 1)[0]
    assert "`py` instead of `python` on Windows" in before_the_rest
    for script in ("run.py", "test.py", "_bootstrap.py"):
        assert (ROOT / "scripts" / script).is_file()


def test_the_shorthands_and_ci_call_the_same_python_scripts() -> None:
    assert "scripts/test.py" in _read(".ci/run")
    assert '/run.py" "$@"' in _read("scripts/run")
    assert '/test.py" "$@"' in _read("scripts/test")
    assert not (ROOT / "scripts" / "_bootstrap.sh").exists()


def test_every_venv_path_in_the_docs_shows_its_windows_twin() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        lines = page.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if ".venv/bin/" not in line:
                continue
            near = " ".join(lines[max(0, number - 1):number + 2])
            assert re.search(r"\\Scripts\\", near), (
                f"{page.name}:{number + 1} shows {line.strip()!r} without the Windows path "
                r"(.venv\Scripts\...) beside it")
