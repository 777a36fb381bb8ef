"""CLI tests share the `run` and `profile` fixtures of tests/clirun.py (loaded by tests/conftest.py)."""

from tests.clirun import Run

__all__ = ["Run"]
