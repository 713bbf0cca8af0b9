"""``kernel run`` with config/alerts.yaml turned on: alerts reach a local webhook,
``/health`` answers, and the kernel's stop is still announced."""

from __future__ import annotations

import json
import signal
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.support.processes import KernelProcess, free_ports
from tests.support.webhook import webhook

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process handling")

SECRET = "e2e-secret-path-42"


def test_kernel_run_sends_alerts_and_serves_health(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPRISE_E2E_PATH", SECRET)
    (port,) = free_ports(1)
    with webhook() as hook:
        kernel = KernelProcess(tmp_path)
        (kernel.config_dir / "alerts.yaml").write_text(
            "targets:\n"
            f"  - name: hook\n    urls: ['json://127.0.0.1:{hook.port}/${{APPRISE_E2E_PATH}}']\n"
            "    min_severity: info\n"
            f"health:\n  enabled: true\n  port: {port}\n", encoding="utf-8")
        kernel.start()
        try:
            assert hook.wait_for("Supervisor started").path == f"/{SECRET}"
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as r:
                body = json.loads(r.read())
            assert body["status"] == "ok"
            assert kernel.cli("halt", "--reason", "e2e <b>check</b>").returncode == 0
            assert "e2e <b>check</b>" in hook.wait_for("Trading HALTED").body["message"]
            assert kernel.stop(signal.SIGINT) == 0
            hook.wait_for("Supervisor stopping")
        finally:
            kernel.kill()
        assert SECRET not in kernel.stderr()
