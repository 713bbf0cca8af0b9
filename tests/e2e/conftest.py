"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.processes import KernelProcess


@pytest.fixture
def kernels() -> Iterator[list[KernelProcess]]:
    """Kernels a test started; each is killed at the end, whatever the test left running."""
    started: list[KernelProcess] = []
    yield started
    for process in started:
        process.kill()
