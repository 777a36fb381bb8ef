"""The suite cleans up after itself: the leak checks of tests/conftest.py see a server a test body
left running, leave fixtures' servers to their fixtures, and see any live child process; passing
runs keep no temporary trees."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers._proc import ServerProcess, free_port, kill_pids, live_descendants, running_servers


def _http_server(tmp_path: Path) -> ServerProcess:
    port = free_port()
    return ServerProcess(argv=[sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
                         port=port, logfile=tmp_path / "http.log", cwd=tmp_path)


@pytest.fixture
def fixture_server(tmp_path: Path) -> Iterator[ServerProcess]:
    server = _http_server(tmp_path)
    server.start()
    yield server
    server.stop()


def test_a_server_the_test_body_leaves_running_is_found_as_this_tests(tmp_path: Path) -> None:
    server = _http_server(tmp_path)
    server.start()
    try:
        assert running_servers(test_body=os.environ["PYTEST_CURRENT_TEST"]) == [server]
        server.kill()
        server.start()  # a restart keeps the owner
        assert running_servers(test_body=os.environ["PYTEST_CURRENT_TEST"]) == [server]
    finally:
        server.stop()
    assert running_servers(test_body=os.environ["PYTEST_CURRENT_TEST"]) == []


def test_a_fixtures_server_is_left_to_the_fixture(fixture_server: ServerProcess) -> None:
    assert fixture_server.running and fixture_server.started_by_fixture
    assert running_servers(test_body=os.environ["PYTEST_CURRENT_TEST"]) == []
    assert fixture_server in running_servers()


def test_a_server_a_test_asks_for_by_name_is_the_fixtures(request: pytest.FixtureRequest) -> None:
    server: ServerProcess = request.getfixturevalue("fixture_server")
    assert server.started_by_fixture
    assert running_servers(test_body=os.environ["PYTEST_CURRENT_TEST"]) == []


def test_a_live_child_process_is_seen_until_it_is_killed() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert child.pid in live_descendants()
    finally:
        kill_pids([child.pid])
        child.wait()
    assert child.pid not in live_descendants()


def test_the_killed_webdav_fault_test_stops_both_its_servers(tmp_path: Path) -> None:
    """test_killing_the_server_mid_transfer…[webdav] once left the authenticated wsgidav running."""
    from tests.reliability.test_faults import _start

    before = set(live_descendants())
    server = _start("webdav", tmp_path)
    server.stop()
    left = {pid: cmd for pid, cmd in live_descendants().items() if pid not in before}
    assert left == {}, f"left running: {left}"


def test_a_passing_runs_temporary_trees_are_not_kept(pytestconfig: pytest.Config) -> None:
    """7.6 GB of old runs' trees (servers' data, GiB streams) were once left in the temp dir."""
    assert pytestconfig.getini("tmp_path_retention_policy") == "failed"
    assert int(pytestconfig.getini("tmp_path_retention_count")) <= 1
