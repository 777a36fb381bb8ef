"""Session set-up: backend cases are plugins in tests/cases; servers start once per session.

Hygiene: a server a test started in its body must be gone when the test ends (else that test
errors at teardown), and when the session ends no process the suite started may be left alive
(else the run fails, naming them; they are killed either way).
"""

from __future__ import annotations

import importlib
import os
import pkgutil

import pytest

pytest.register_assert_rewrite("tests.cases")

import tests.cases  # noqa: E402 - after register_assert_rewrite, which must come first
from tests.servers._proc import describe, kill_pids, live_descendants, running_servers  # noqa: E402 - as above

_CASE_MODULES = [m.name for m in pkgutil.iter_modules(tests.cases.__path__) if not m.name.startswith("_")]
pytest_plugins = ["tests.clirun", *(f"tests.cases.{name}" for name in _CASE_MODULES)]
CASE_NAMES = [case for name in _CASE_MODULES for case in importlib.import_module(f"tests.cases.{name}").CASES]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", CASE_NAMES, indirect=True, ids=CASE_NAMES)


@pytest.fixture
def case(request: pytest.FixtureRequest):  # a tests.cases._base.Case
    return request.getfixturevalue(f"case_{request.param}")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's own profile."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "xdg"))
    monkeypatch.delenv("GENROSTORE_PROFILE", raising=False)
    for key in list(os.environ):
        if key.startswith("GENROSTORE_MOUNT_"):
            monkeypatch.delenv(key)


# Modules whose fixtures are costly to make twice (a Dask cluster; the wheel and sdist of
# test_packaging, a 25 s build): under pytest-xdist (`--dist loadgroup`, scripts/test.sh) each
# runs whole on one worker, so they are made once, not once per worker.
_ONE_WORKER_MODULES = ("tests/cli/test_cluster.py", "tests/fsspec/test_data_stack.py", "tests/test_packaging.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under CI=true a skipped backend test is a failure, never a silent pass."""
    config._genrostore_ci = os.environ.get("CI", "").lower() == "true"  # type: ignore[attr-defined]
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        if module in _ONE_WORKER_MODULES:
            item.add_marker(pytest.mark.xdist_group(module))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and getattr(item.config, "_genrostore_ci", False) and "case" in getattr(item, "fixturenames", ()):
        if "[capability]" not in str(report.longrepr):
            report.outcome = "failed"
            report.longrepr = f"skipped under CI=true (a backend test may not skip): {report.longrepr}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    """A server started by the test itself (not by a fixture) must not outlive the test."""
    result = yield
    left = running_servers(test_body=f"{item.nodeid} (call)")
    for server in left:
        server.kill()
    if left:
        raise AssertionError("the test left servers running (killed now): " + "; ".join(map(describe, left)))
    return result


@pytest.hookimpl(trylast=True)  # after the runner has torn down the session fixtures
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any process the suite started is still alive; kill them all."""
    servers = running_servers()
    lines = [describe(server) for server in servers]
    for server in servers:
        server.kill()
    others = live_descendants()
    lines += [f"pid {pid} `{cmdline}`" for pid, cmdline in others.items()]
    kill_pids(list(others))
    if not lines:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_sep("=", "processes left running by the suite (killed now)", red=True)
        for line in lines:
            reporter.write_line(line)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
