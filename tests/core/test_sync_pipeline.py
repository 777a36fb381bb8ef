"""sync runs its transfers through the pipeline's executor (`execute.Executor`), as cp does:
small files travel as coroutines on an asyncio store's event loop (`batch.route`), the rest
(large files, backups, dry runs, deletes) on the `-j` threads. The store here is test_batch's
memory backend behind a real event loop, which counts which path each write took."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from genrostore import Storage
from genrostore.core.pipeline.batch import BATCH_MAX_SIZE
from genrostore.core.pipeline.options import CopyOptions
from genrostore.core.syncplan import prepare_sync
from genrostore.core.syncrun import Backup, SyncOutcome, run_sync
from tests.core.test_batch import _backend, storage  # noqa: F401 - the fixture

FILES = 40


def _source(root: Path) -> None:
    for i in range(FILES):
        (root / "sub").mkdir(parents=True, exist_ok=True)
        (root / "sub" / f"{i:02}.bin").write_bytes(os.urandom(50 + i))
    (root / "big.bin").write_bytes(os.urandom(BATCH_MAX_SIZE + 1))


def _sync(store: Storage, src: str, dst: str, backup: str | None = None, jobs: int = 4) -> SyncOutcome:
    plan, actions = prepare_sync(store, store.node(src), store.node(dst), mode="size")
    try:
        return run_sync(plan, actions, CopyOptions(jobs=jobs),
                        backup=Backup(store.node(backup), plan.dst.path) if backup else None)
    finally:
        plan.close()


def test_small_files_of_a_sync_are_written_on_the_event_loop(storage: Storage, tmp_path: Path) -> None:  # noqa: F811 - the imported fixture
    _source(tmp_path / "src")
    backend = _backend(storage)
    storage.node("a:up/gone").write("g")
    outcome = _sync(storage, "w:src", "a:up")
    assert outcome.summary() == f"copied {FILES + 1}, updated 0, deleted 1, unchanged 0, errors 0, " \
                                f"{sum(50 + i for i in range(FILES)) + BATCH_MAX_SIZE + 1} bytes"
    assert backend.calls["write_small"] == FILES  # every small file on the loop
    assert backend.calls["thread_write"] == 2  # the big one streamed on a thread (and the setup's write)
    assert backend.loop_threads == {"asyncmem-loop"}
    for i in range(FILES):
        assert storage.node(f"a:up/sub/{i:02}.bin").read_bytes() == (tmp_path / "src" / "sub" / f"{i:02}.bin").read_bytes()
    assert not storage.node("a:up/gone").exists()
    again = _sync(storage, "w:src", "a:up")
    assert again.summary() == f"copied 0, updated 0, deleted 0, unchanged {FILES + 1}, errors 0, 0 bytes"


def test_a_failed_batched_copy_still_locks_out_every_delete(storage: Storage, tmp_path: Path) -> None:  # noqa: F811 - the imported fixture
    from genrostore.core.errors import NotPermitted

    _source(tmp_path / "src")
    backend = _backend(storage)
    storage.node("a:up/gone").write("g")
    backend.failures["up/sub/07.bin"] = [NotPermitted("refused by the store")]
    outcome = _sync(storage, "w:src", "a:up")
    assert len(outcome.failures) == 1 and "07.bin" in outcome.failures[0][0]
    assert storage.node("a:up/gone").exists()  # gate (a): nothing deleted after a failed transfer
    assert backend.calls["write_small"] == FILES


@pytest.mark.parametrize("jobs", [1, 4])
def test_with_a_backup_dir_a_replaced_file_is_moved_first_on_a_thread(storage: Storage, tmp_path: Path,  # noqa: F811 - the imported fixture
                                                                      jobs: int) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "f").write_text("new!")
    storage.node("a:up/f").write("old")
    outcome = _sync(storage, "w:src", "a:up", backup="a:bak", jobs=jobs)
    assert outcome.updated == 1 and not outcome.failures
    assert storage.node("a:up/f").read() == "new!"
    assert storage.node("a:bak/f").read() == "old"
