"""The transfer pipeline: plan → decide → execute → outcome (see docs/architecture.md).

    plan.py      pairs (source, destination) from sources, directory walks and --from-list
    decide.py    one action per pair (core/actions.py: Copy, Skip, Move, Delete, SetMetadata)
    execute.py   runs the actions: on worker threads, or on a store's event loop (batch.py),
                 chosen by one predicate (`batch.route`); both apply the rules in rules.py
    copying.py   the bytes of one copy (server-side, kernel copy, ranges, stream)
    ranges.py    the one parallel-range download, and the memory budgets it spends
    read.py      a node's bytes into a sink (cat, fsspec)
    outcome.py   what was done, skipped and failed
    api.py       the library's entry points (Node.copy_to)

Imports go one way: this package depends on node/mount/backend, never the reverse; the
modules above only import those listed before them (tests/core/test_import_graph.py).
"""
