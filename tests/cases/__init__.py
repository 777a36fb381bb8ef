"""Backend cases for the conformance suite: one module per backend, each a pytest plugin.

A module `tests/cases/<name>.py` defines `CASES = ["<case>", ...]` and, for each, a
session-scoped fixture `case_<case>` returning a `Case`. The conformance suite runs every
behaviour against every case; a case declares what its backend can do in `caps`.
"""
