"""The README's test command lints and type-checks before the tests, and every suppression says why.

ruff and mypy themselves run in scripts/test.sh (mypy over the package takes ~15 s, so it is not
run again here); these tests keep that wiring and the suppressions' reasons from drifting.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("genrostore", "tests", "benchmarks", "scripts")
# `# type: ignore[code]  # why` and `# noqa: CODE - why`: a code, then a reason on the same line.
TYPE_IGNORE = re.compile(r"#\s*type:\s*ignore(?P<rest>.*)$")
JUSTIFIED_IGNORE = re.compile(r"^\[[a-z-]+(, [a-z-]+)*\]\s+#\s*\S")
NOQA = re.compile(r"#\s*noqa\b(?P<rest>.*)$")
JUSTIFIED_NOQA = re.compile(r"^: [A-Z]+[0-9]+(, [A-Z]+[0-9]+)* - \S")


def _python_lines(*folders: str) -> list[tuple[str, int, str]]:
    found = []
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                found.append((f"{path.relative_to(ROOT)}:{number}", number, line))
    return found


def test_the_test_command_runs_ruff_and_mypy_before_pytest_and_fails_on_a_warning() -> None:
    script = (ROOT / "scripts" / "test.sh").read_text()
    ruff = script.index('"$PYTHON" -m ruff check --quiet ' + " ".join(CHECKED) + " || {")
    mypy = script.index('"$PYTHON" -m mypy genrostore || {')
    pytest = script.index('exec "$PYTHON" -m pytest')
    assert ruff < mypy < pytest
    for start in (ruff, mypy):
        assert "exit 1; }" in script[start:script.index("\n", start)]


def test_ruff_passes_over_the_code_and_the_tests() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--quiet", *CHECKED],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_suppression_in_the_package_names_its_code_and_says_why() -> None:
    bare = []
    for where, _, line in _python_lines("genrostore", "benchmarks", "scripts"):
        ignore, noqa = TYPE_IGNORE.search(line), NOQA.search(line)
        if ignore and not JUSTIFIED_IGNORE.match(ignore["rest"]):
            bare.append(f"{where}: {line.strip()}")
        if noqa and not JUSTIFIED_NOQA.match(noqa["rest"]):
            bare.append(f"{where}: {line.strip()}")
    assert not bare, "suppressions without a code or a reason:\n" + "\n".join(bare)


def test_every_noqa_in_the_tests_names_its_code_and_says_why() -> None:
    bare = [f"{where}: {line.strip()}" for where, _, line in _python_lines("tests")
            if (noqa := NOQA.search(line)) and not JUSTIFIED_NOQA.match(noqa["rest"])
            and not where.startswith("tests/test_lint.py:")]
    assert not bare, "noqa without a code or a reason:\n" + "\n".join(bare)
