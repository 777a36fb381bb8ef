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
