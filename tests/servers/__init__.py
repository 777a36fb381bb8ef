"""Real storage servers on 127.0.0.1 for the test suite: one module per protocol.

Each module's ``start(workdir)`` launches its server(s) with data under ``workdir`` and returns a
dataclass with the address, credentials and endpoint, plus ``stop()``, ``restart()`` and ``kill()``.
A missing binary raises ``MissingServerBinary``: run ``bash scripts/install-test-deps.sh``.
"""
