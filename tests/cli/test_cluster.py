"""`--cluster`: cp -r, sync, check and md5 -r on a Dask LocalCluster of 2 worker processes.

One cluster for the module (starting one is slow): the CLI reaches it by its tcp:// address,
and its workers build their mounts from the profile named by their own GENROSTORE_PROFILE
(a worker reads its own profile: the client sends mount names and paths, never secrets).
The 5,000-file tree is uploaded once (`many_on_s3`) and is also the S3 → GCS test's source.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.cases.cloud import gcs_options, s3_options
from tests.servers import gcs, s3


MANY = 5000


@pytest.fixture(scope="module")
def profile_file(cloud_s3: s3.S3Server, cloud_gcs: gcs.GCSServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cluster") / "mounts.yaml"
    path.write_text(yaml.safe_dump({"mounts": {"s3c": s3_options(cloud_s3), "gcsc": gcs_options(cloud_gcs)}}))
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def scheduler(profile_file: Path) -> Iterator[str]:
    """A LocalCluster of 2 worker processes that read `profile_file`; its tcp:// address."""
    import logging

    from distributed import Client, LocalCluster

    # `env`: what each worker process starts with, a restarted one too (after the kill below)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR, env={"GENROSTORE_PROFILE": str(profile_file)})
    try:
        with Client(cluster) as client:
            client.wait_for_workers(2)
        yield cluster.scheduler_address
    finally:
        cluster.close()


def cli(profile: Path, *args: str, cwd: Path | None = None, timeout: float = 240) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "GENROSTORE_PROFILE": str(profile)}
    env.pop("GENROSTORE_CLUSTER", None)
    return subprocess.run([sys.executable, "-m", "genrostore", *args], capture_output=True, env=env,
                          cwd=cwd, timeout=timeout, input=b"")


def _tree(root: Path, count: int, tag: str = "") -> dict[str, str]:
    """`count` small files of distinct content in 20 directories; {relative path: md5}."""
    sums = {}
    for i in range(count):
        relative = f"d{i % 20:02}/f{i:05}.txt"
        data = f"{tag}file {i} {'x' * (i % 97)}\n".encode()
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
        sums[relative] = hashlib.md5(data).hexdigest()
    return sums


def _sums(output: bytes, base: str) -> dict[str, str]:
    """md5sum lines of a tree at `base` → {relative path: md5}."""
    found = {}
    for line in output.decode().splitlines():
        digest, name = line.split("  ", 1)
        assert name.startswith(base + "/"), name
        found[name[len(base) + 1:]] = digest
    return found


def _fresh() -> str:
    import uuid

    return f"s3c:cl-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("many") / "src"
    return root, _tree(root, MANY)


@pytest.fixture(scope="module")
def many_on_s3(scheduler: str, profile_file: Path,
               many: tuple[Path, dict[str, str]]) -> tuple[str, subprocess.CompletedProcess[bytes]]:
    """The 5,000 files copied local → S3 on the cluster, once: (bucket, the cp's result)."""
    bucket = _fresh()
    return bucket, cli(profile_file, "cp", "-r", "--cluster", scheduler, str(many[0]) + "/", bucket + "/")


def test_5000_files_local_to_s3_every_md5_verified(profile_file: Path, many: tuple[Path, dict[str, str]],
                                                   many_on_s3: tuple[str, subprocess.CompletedProcess[bytes]]) -> None:
    bucket, done = many_on_s3
    assert done.returncode == 0, done.stderr
    listed = cli(profile_file, "md5", "-r", bucket)  # S3's single-part ETags: the md5 of what moto received
    assert listed.returncode == 0, listed.stderr
    assert _sums(listed.stdout, bucket) == many[1]


def test_5000_files_s3_to_gcs_every_md5_verified(scheduler: str, profile_file: Path,
                                                 many: tuple[Path, dict[str, str]],
                                                 many_on_s3: tuple[str, subprocess.CompletedProcess[bytes]]) -> None:
    """Store to store: every worker streams from moto to fake-gcs-server; GCS's md5Hash of each
    object (computed by the server from the bytes it received) is the source file's md5."""
    bucket, uploaded = many_on_s3
    assert uploaded.returncode == 0, uploaded.stderr
    target = "gcsc:cl-" + bucket.rpartition("cl-")[2]
    done = cli(profile_file, "cp", "-r", "--cluster", scheduler, bucket + "/", target + "/")
    assert done.returncode == 0, done.stderr
    listed = cli(profile_file, "md5", "-r", target)
    assert listed.returncode == 0, listed.stderr
    assert _sums(listed.stdout, target) == many[1]


def test_a_worker_killed_mid_job_has_its_batch_rerun_and_the_result_is_exact(
        scheduler: str, profile_file: Path, many: tuple[Path, dict[str, str]]) -> None:
    from distributed import Client

    root, sums = many
    bucket = _fresh()
    env = {**os.environ, "GENROSTORE_PROFILE": str(profile_file)}
    job = subprocess.Popen([sys.executable, "-m", "genrostore", "cp", "-r", "--cluster", scheduler,
                            str(root) + "/", bucket + "/"], env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    killed = False
    with Client(scheduler) as client:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and job.poll() is None:
            states = client.run_on_scheduler(_batch_states)
            if states.get("memory", 0) >= 1 and states.get("processing", 0) >= 1:
                pids = client.run(os.getpid)
                os.kill(next(iter(pids.values())), signal.SIGKILL)  # a batch in flight dies with it
                killed = True
                break
            time.sleep(0.05)
    out, err = job.communicate(timeout=240)
    assert killed, "the job ended before a worker could be killed: make it bigger"
    assert job.returncode == 0, err
    listed = cli(profile_file, "md5", "-r", bucket)
    assert _sums(listed.stdout, bucket) == sums


def _batch_states(dask_scheduler: object) -> dict[str, int]:
    counts: dict[str, int] = {}
    for key, task in dask_scheduler.tasks.items():  # type: ignore[attr-defined]
        if str(key).startswith("genrostore-"):
            counts[task.state] = counts.get(task.state, 0) + 1
    return counts


def test_md5_r_on_the_cluster_prints_what_a_local_run_prints(scheduler: str, profile_file: Path,
                                                              tmp_path: Path) -> None:
    _tree(tmp_path / "t", 1100, tag="m")  # two batches
    local = cli(profile_file, "md5", "-r", "t", cwd=tmp_path)
    clustered = cli(profile_file, "md5", "-r", "--cluster", scheduler, "t", cwd=tmp_path)
    assert clustered.returncode == local.returncode == 0, clustered.stderr
    assert clustered.stdout == local.stdout and len(local.stdout.splitlines()) == 1100


def test_check_on_the_cluster_reports_what_a_local_check_reports(scheduler: str, profile_file: Path,
                                                                 tmp_path: Path) -> None:
    _tree(tmp_path / "src", 300, tag="c")
    bucket = _fresh()
    assert cli(profile_file, "cp", "-r", str(tmp_path / "src") + "/", bucket + "/").returncode == 0
    (tmp_path / "src" / "d03" / "f00003.txt").write_text("changed, same size?\n")
    (tmp_path / "src" / "d04" / "new.txt").write_text("new\n")
    (tmp_path / "src" / "d05" / "f00005.txt").unlink()
    for flags in (["--checksum"], ["--download"]):
        local = cli(profile_file, "check", *flags, "src", bucket, cwd=tmp_path)
        clustered = cli(profile_file, "check", *flags, "--cluster", scheduler, "src", bucket, cwd=tmp_path)
        assert clustered.returncode == local.returncode == 1
        assert clustered.stdout == local.stdout
        assert clustered.stderr == local.stderr
        assert b"* d03/f00003.txt\n" in local.stdout and b"+ d04/new.txt\n" in local.stdout
        assert b"- d05/f00005.txt\n" in local.stdout


def test_sync_on_the_cluster_gives_the_result_and_summary_of_a_local_sync(scheduler: str, profile_file: Path,
                                                                          tmp_path: Path) -> None:
    _tree(tmp_path / "seed", 120, tag="old")
    sums = _tree(tmp_path / "src", 300, tag="new")
    (tmp_path / "seed" / "extra").mkdir()
    (tmp_path / "seed" / "extra" / "gone.txt").write_text("gone")
    local_dst, cluster_dst = _fresh(), _fresh()
    for bucket in (local_dst, cluster_dst):
        assert cli(profile_file, "cp", "-r", str(tmp_path / "seed") + "/", bucket + "/").returncode == 0
    local = cli(profile_file, "sync", "--checksum", "src", local_dst, cwd=tmp_path)
    clustered = cli(profile_file, "sync", "--checksum", "--cluster", scheduler, "src", cluster_dst, cwd=tmp_path)
    assert clustered.returncode == local.returncode == 0, clustered.stderr
    summary = re.compile(rb"copied \d+, updated \d+, deleted \d+, unchanged \d+, errors \d+, \d+ bytes")
    assert summary.findall(clustered.stderr) == summary.findall(local.stderr) != []
    assert b"copied 180, updated 120, deleted 1, unchanged 0, errors 0" in local.stderr
    for bucket in (local_dst, cluster_dst):
        assert _sums(cli(profile_file, "md5", "-r", bucket).stdout, bucket) == sums


def test_ship_profile_only_over_tls_or_local_and_a_bad_address_is_a_usage_error(profile_file: Path) -> None:
    refused = cli(profile_file, "sync", "--ship-profile", "--cluster", "tcp://127.0.0.1:1", "a", "b")
    assert refused.returncode == 2 and b"--ship-profile sends credentials" in refused.stderr
    bad = cli(profile_file, "md5", "-r", "--cluster", "udp://x", "a")
    assert bad.returncode == 2 and b"not a cluster address" in bad.stderr


def test_help_imports_no_dask() -> None:
    for args in (["--help"], ["cp", "--help"], ["sync", "--help"]):
        probe = ("import sys, runpy, os; sys.argv = ['genrostore', *%r]\n"
                 "os._exit = lambda code: (_ for _ in ()).throw(SystemExit(code))\n"
                 "try:\n    runpy.run_module('genrostore', run_name='__main__')\n"
                 "except SystemExit: pass\n"
                 "sys.stderr.write('HEAVY:' + ','.join(m for m in ('dask', 'distributed') if m in sys.modules))\n"
                 % (args,))
        result = subprocess.run([sys.executable, "-c", probe], capture_output=True)
        assert result.stderr.decode().rsplit("HEAVY:", 1)[1] == "", args


def test_ctrl_c_cancels_the_job_exit_130_and_leaves_no_partial_destination(scheduler: str, profile_file: Path,
                                                                           tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    block = os.urandom(1 << 20)
    for i in range(1500):
        (source / f"f{i:04}").write_bytes(block[i:] + block[:i])
    env = {**os.environ, "GENROSTORE_PROFILE": str(profile_file)}
    job = subprocess.Popen([sys.executable, "-m", "genrostore", "cp", "-r", "--cluster", scheduler,
                            str(source) + "/", str(tmp_path / "dst") + "/"], env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and job.poll() is None:
        if (tmp_path / "dst").is_dir() and len(list((tmp_path / "dst").iterdir())) >= 20:
            break
        time.sleep(0.02)
    assert job.poll() is None, "the copy ended before it could be interrupted"
    job.send_signal(signal.SIGINT)
    _, err = job.communicate(timeout=120)
    assert job.returncode == 130, err
    from distributed import Client

    with Client(scheduler) as client:  # the job's tasks are gone from the scheduler, then nothing writes
        deadline = time.monotonic() + 30
        while client.run_on_scheduler(_batch_states).get("processing") and time.monotonic() < deadline:
            time.sleep(0.2)
    # A worker aborts the writer it has open when it sees the cancel (at its next chunk); on a
    # loaded machine that can come after the client's 10 s wait, so the temp files must be gone
    # within a deadline rather than at one instant.
    deadline = time.monotonic() + 60
    while any(p.name.startswith(".") for p in (tmp_path / "dst").iterdir()) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)
    copied = sorted((tmp_path / "dst").iterdir())
    assert 20 <= len(copied) < 1500
    for path in copied:  # every published name holds the whole file; no temp file is left
        assert not path.name.startswith("."), path
        assert path.read_bytes() == (source / path.name).read_bytes(), path


def test_rm_r_on_the_cluster_removes_the_tree_and_with_a_filter_only_what_is_in_scope(
        scheduler: str, profile_file: Path, tmp_path: Path) -> None:
    _tree(tmp_path / "seed", 200, tag="r")
    (tmp_path / "seed" / "keep.log").write_text("kept")
    whole, filtered = _fresh(), _fresh()
    for bucket in (whole, filtered):
        assert cli(profile_file, "cp", "-r", str(tmp_path / "seed") + "/", bucket + "/").returncode == 0
    done = cli(profile_file, "rm", "-r", "--cluster", scheduler, whole)
    assert done.returncode == 0, done.stderr
    assert cli(profile_file, "ls", "-R", whole).stdout.strip() == b""
    done = cli(profile_file, "rm", "-r", "--cluster", scheduler, "--exclude", "*.log", filtered)
    assert done.returncode == 0, done.stderr
    assert _sums(cli(profile_file, "md5", "-r", filtered).stdout, filtered) == {
        "keep.log": hashlib.md5(b"kept").hexdigest()}


def _seed_for_backup(tmp_path: Path) -> None:
    """seed (DST before) and src: 40 files changed, 30 deleted (in two directories, one emptied),
    40 unchanged, 20 new."""
    seed = {**{f"ch/c{i:03}": f"old {i}" for i in range(40)}, **{f"gone/g{i:03}": f"gone {i}" for i in range(20)},
            **{f"mix/x{i:03}": f"gone {i}" for i in range(10)}, **{f"same/s{i:03}": f"same {i}" for i in range(40)}}
    src = {**{f"ch/c{i:03}": f"new!! {i}" for i in range(40)}, **{f"same/s{i:03}": f"same {i}" for i in range(40)},
           **{f"mix/n{i:03}": f"new {i}" for i in range(20)}}
    for root, files in (("seed", seed), ("src", src)):
        for relative, text in files.items():
            (tmp_path / root / relative).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / root / relative).write_text(text)


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_sync_backup_dir_and_delete_during_on_the_cluster_give_a_local_runs_result(
        scheduler: str, profile_file: Path, tmp_path: Path) -> None:
    """--backup-dir (overwritten files moved there by the client before their batch, deleted
    ones by the workers) and --delete-during: DST (its emptied directory removed too), the
    backup and the summary are a local run's. (Local disks: the workers share this machine's.)"""
    import shutil

    _seed_for_backup(tmp_path)
    summary = re.compile(rb"copied \d+, updated \d+, deleted \d+, unchanged \d+, errors \d+, \d+ bytes")
    for n, flags in enumerate((["--backup-dir", "old", "--suffix", ".bak"], ["--delete-during"],
                               ["--delete-during", "--backup-dir", "old"])):
        results = []
        for cluster in ([], ["--cluster", scheduler]):
            run = tmp_path / f"run{n}{len(cluster)}"
            shutil.copytree(tmp_path / "seed", run / "live")
            (run / "src").symlink_to(tmp_path / "src")
            done = cli(profile_file, "sync", "--checksum", *flags, *cluster, "src", "live", cwd=run)
            assert done.returncode == 0, (flags, cluster, done.stderr)
            assert b"copied 20, updated 40, deleted 30, unchanged 40, errors 0" in done.stderr, done.stderr
            results.append((summary.findall(done.stderr), _files(run / "live"), _files(run / "old"),
                            sorted(p.name for p in (run / "live").iterdir())))
        assert results[0] == results[1], flags
        assert results[1][1] == _files(tmp_path / "src") and "gone" not in results[1][3]
        suffix = ".bak" if ".bak" in flags else ""
        assert results[1][2] == ({relative + suffix: text for relative, text in _files(tmp_path / "seed").items()
                                  if not relative.startswith("same/")} if "--backup-dir" in flags else {})
    (tmp_path / "empty").mkdir()  # an empty SRC is still refused before any delete (exit 7)
    refused = cli(profile_file, "sync", "--delete-during", "--cluster", scheduler, "empty", "seed", cwd=tmp_path)
    assert refused.returncode == 7, refused.stderr
    assert len(_files(tmp_path / "seed")) == 110


def test_a_backup_batch_run_twice_keeps_the_old_files_and_reports_done(tmp_path: Path) -> None:
    """What the scheduler does when a worker dies mid-batch: the batch runs again. The deletes
    under --backup-dir that the first run already moved are done, not errors, and the backup
    still holds the old files (an overwrite's backup is taken by the client, once, so no
    re-run can move a new file over it)."""
    from genrostore.cluster import worker
    from genrostore.cluster.driver import new_token
    from genrostore.cluster.wire import Job, mount_ref
    from genrostore.core.storage import Storage

    for i in range(3):
        (tmp_path / "dst" / "d").mkdir(parents=True, exist_ok=True)
        (tmp_path / "dst" / "d" / f"g{i}").write_text(f"old {i}")
    storage = Storage()
    items: list[worker.SyncItem] = []
    for i in range(3):
        node, kept = storage.node(str(tmp_path / "dst" / "d" / f"g{i}")), storage.node(str(tmp_path / "bk" / "d" / f"g{i}"))
        items.append(("backup", mount_ref(storage, node.mount, shipping=False), node.path,
                      mount_ref(storage, kept.mount, shipping=False), kept.path, node.info(), "", None))
    job = Job(token=new_token(), jobs=2)
    first = worker.sync_batch(job, items[:2])  # the worker dies after these two
    again = worker.sync_batch(job, items)  # the whole batch, elsewhere
    assert first == [(True, None)] * 2 and again == [(True, None)] * 3
    assert {p.name: p.read_text() for p in (tmp_path / "bk" / "d").iterdir()} == {f"g{i}": f"old {i}" for i in range(3)}
    assert not list((tmp_path / "dst" / "d").iterdir())
    nowhere = storage.node(str(tmp_path / "x"))
    missing = worker.sync_batch(job, [("backup", items[0][1], items[0][2], mount_ref(storage, nowhere.mount, shipping=False),
                                       nowhere.path, None, "", None)])
    assert missing[0][0] is None and missing[0][1] is not None  # never there, nothing kept: an error
    storage.close()
