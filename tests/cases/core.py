"""Cases for the backends that need no server: local and memory."""

from __future__ import annotations

import pytest

from tests.cases._base import BIG, PERSIST, Case

CASES = ["local", "memory"]


@pytest.fixture(scope="session")
def case_local(tmp_path_factory: pytest.TempPathFactory) -> Case:
    root = tmp_path_factory.mktemp("local-root")
    work = tmp_path_factory.mktemp("local-case")
    return Case("local", "loc", {"type": "local", "path": str(root)}, work, frozenset({BIG, PERSIST}))


@pytest.fixture(scope="session")
def case_memory(tmp_path_factory: pytest.TempPathFactory) -> Case:
    work = tmp_path_factory.mktemp("memory-case")
    return Case("memory", "m", {"type": "memory"}, work, frozenset())
