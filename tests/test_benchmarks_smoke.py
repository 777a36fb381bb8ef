"""The benchmark command works from a fresh clone: `python -m benchmarks --quick` (no timings asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_quick_benchmark_run_writes_a_table_per_local_case(tmp_path: Path) -> None:
    output = tmp_path / "benchmarks.md"
    output.write_text("# Benchmarks\n\nHand-written analysis.\n")
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--workdir", str(tmp_path), "--output", str(output)],
        check=False, cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    text = output.read_text()
    assert text.startswith("# Benchmarks\n\nHand-written analysis.\n")
    for title in ("### 1. Start-up", "### 2. Local copy", "### 3. md5"):
        assert title in text
    assert text.count("| genrostore |") == 3
    assert "| minimal Typer |" in text and "| md5sum |" in text


def test_rounds_rotate_which_tool_runs_first_and_results_stay_with_their_tool(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO))
    from benchmarks.measure import Tool, measure

    order: list[tuple[int, str]] = []
    tools = [Tool(name, [sys.executable, "-c", f"print({name!r})"]) for name in ("a", "b", "c")]
    for tool in tools:
        tool.prepare = lambda run, name=tool.name: order.append((run, name))
    results = measure(tools, 3, cwd=str(tmp_path))
    assert order == [(0, "a"), (0, "b"), (0, "c"), (1, "b"), (1, "c"), (1, "a"), (2, "c"), (2, "a"), (2, "b")]
    for result in results:
        assert [sample.stdout.strip() for sample in result.samples] == [result.name.encode()] * 3


def test_every_sync_contender_is_filled_before_the_first_is_timed() -> None:
    sys.path.insert(0, str(REPO))
    from benchmarks import cases  # noqa: F401 - cases imports synccases: the cycle resolves from this end
    from benchmarks import synccases

    filled: list[str] = []
    fill = synccases._fill_all([lambda run, name=name: filled.append(name) for name in ("gs", "rc", "s5")])
    fill(0)
    assert filled == ["gs", "rc", "s5"]
    fill(0)  # the next tool's prepare of run 0
    fill(1)
    assert filled == ["gs", "rc", "s5"]
