"""docs/windows.md lists every Windows-specific path in the code, and the tests it cites exist.

"Windows-specific" is read from the source: a module that branches on
``sys.platform`` or ``os.name``, or names a Windows-only API, must be named on
the page, so a new Windows path cannot arrive without saying how it is tested.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "windows.md"
MARKERS = re.compile(r"sys\.platform|os\.name\b|msvcrt|SIGBREAK|CTRL_BREAK_EVENT|"
                     r"CREATE_NEW_PROCESS_GROUP|WindowsSelector|SelectorEventLoop")


def windows_specific_modules() -> list[str]:
    found = []
    for folder in ("kernel", "agents", "bus", "scripts", "risk", "planner"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if MARKERS.search(path.read_text(encoding="utf-8")):
                found.append(path.relative_to(ROOT).as_posix())
    return found


def test_every_windows_specific_module_is_on_the_page() -> None:
    text = DOC.read_text(encoding="utf-8")
    modules = windows_specific_modules()
    assert "scripts/_bootstrap.py" in modules and "kernel/lockfile.py" in modules
    missing = [module for module in modules if f"`{module}`" not in text]
    assert not missing, f"docs/windows.md does not say how these are tested: {missing}"


def test_every_test_the_page_cites_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    cited = set(re.findall(r"`(tests/[\w/]+\.py)", text))
    assert cited, "the page cites no tests"
    assert [path for path in sorted(cited) if not (ROOT / path).is_file()] == []
