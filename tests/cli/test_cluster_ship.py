"""`--ship-profile`: the workers get the client's resolved profile with the job, over TLS only.

The cluster here is a TLS LocalCluster (self-signed certificates from distributed's own
`Security.temporary()`, written to files the CLI reads through Dask's TLS configuration) whose
one worker reads an EMPTY profile: without --ship-profile it cannot build the client's mount;
with it, it can. The scheduler runs in this process, so the test reads what it knows (every
task's key, group, spec and the spec's pickled bytes, annotations, its logs and events, the
worker's logs) and looks for the credentials there: the profile travels as scattered data.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cases.cloud import s3_options
from tests.servers import s3

# `--dist loadgroup` (scripts/test.sh): the module runs whole on one xdist worker, its TLS cluster starts once
pytestmark = pytest.mark.xdist_group("tests/cli/test_cluster_ship.py")

ACCESS = f"AKIA{uuid.uuid4().hex[:12].upper()}"  # moto takes any key: these are only for finding leaks
SECRET = f"shh-{uuid.uuid4().hex}"


@dataclass
class TlsCluster:
    address: str
    env: dict[str, str]  # the CLI's Dask TLS configuration
    seen: list[str] = field(default_factory=list)  # what the scheduler was told, rendered
    scheduler: Any = None
    security: Any = None


@pytest.fixture(scope="module")
def profile_file(cloud_s3: s3.S3Server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ship") / "mounts.yaml"
    path.write_text(yaml.safe_dump({"mounts": {"s3s": s3_options(cloud_s3, access_key=ACCESS, secret_key=SECRET)}}))
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsCluster]:
    from distributed import LocalCluster, Security
    from distributed.diagnostics.plugin import SchedulerPlugin

    root = tmp_path_factory.mktemp("tls")
    security = Security.temporary()
    (root / "ca.pem").write_text(security.tls_ca_file)
    (root / "cert.pem").write_text(security.tls_client_cert)
    (root / "key.pem").write_text(security.tls_client_key)
    (root / "key.pem").chmod(0o600)
    empty = root / "empty.yaml"
    empty.write_text("mounts: {}\n")
    env = {"DASK_DISTRIBUTED__COMM__TLS__CA_FILE": str(root / "ca.pem"),
           "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT": str(root / "cert.pem"),
           "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY": str(root / "key.pem"),
           "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": "True"}
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                           protocol="tls://", security=security, silence_logs=logging.INFO,
                           env={"GENROSTORE_PROFILE": str(empty)})
    found = TlsCluster(cluster.scheduler_address, env, scheduler=cluster.scheduler, security=security)

    class Witness(SchedulerPlugin):
        """Renders every task the scheduler holds, at each of its transitions."""

        def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
            task = cluster.scheduler.tasks.get(key)
            found.seen.append(repr(key))
            if task is not None:
                found.seen += [repr(task), repr(task.run_spec), str(task.run_spec), repr(task.annotations),
                               task.prefix.name, task.group.name, repr(task.exception), repr(task.traceback),
                               # the spec's bytes, as the scheduler would send them on: no secret inside either
                               pickle.dumps(task.run_spec).decode("latin-1")]

    cluster.scheduler.add_plugin(Witness(), name="genrostore-witness")
    try:
        yield found
    finally:
        cluster.close()


def cli(profile: Path, env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    full = {**os.environ, "GENROSTORE_PROFILE": str(profile), **env}
    full.pop("GENROSTORE_CLUSTER", None)
    return subprocess.run([sys.executable, "-m", "genrostore", *args], capture_output=True, env=full,
                          cwd=cwd, timeout=240, input=b"")


def _tree(root: Path, count: int) -> dict[str, str]:
    sums = {}
    for i in range(count):
        data = f"shipped {i}\n".encode()
        (root / f"d{i % 3}").mkdir(parents=True, exist_ok=True)
        (root / f"d{i % 3}" / f"f{i:03}").write_bytes(data)
        sums[f"d{i % 3}/f{i:03}"] = hashlib.md5(data).hexdigest()
    return sums


def test_workers_get_the_profile_only_with_ship_profile_and_never_show_its_secrets(
        tls_cluster: TlsCluster, profile_file: Path, tmp_path: Path) -> None:
    sums = _tree(tmp_path / "src", 30)
    bucket = f"s3s:ship-{uuid.uuid4().hex[:10]}"
    tls = ["--cluster", tls_cluster.address]
    alone = cli(profile_file, tls_cluster.env, "cp", "-r", *tls, "src/", bucket + "/", cwd=tmp_path)
    assert alone.returncode == 2, alone.stderr  # the worker's own (empty) profile has no mount s3s
    assert b"genrostore: on a worker: unknown mount 's3s'" in alone.stderr, alone.stderr
    assert b"--ship-profile" in alone.stderr and b"Traceback" not in alone.stderr
    assert cli(profile_file, {}, "ls", bucket).stdout == b""  # nothing was copied
    shipped = cli(profile_file, tls_cluster.env, "cp", "-r", "--ship-profile", *tls, "src/", bucket + "/", cwd=tmp_path)
    assert shipped.returncode == 0, shipped.stderr
    listed = cli(profile_file, {}, "md5", "-r", bucket, cwd=tmp_path)
    assert {line.split("  ")[1][len(bucket) + 1:]: line.split("  ")[0] for line in listed.stdout.decode().splitlines()} == sums
    synced = cli(profile_file, tls_cluster.env, "sync", "--ship-profile", *tls, "src", bucket, cwd=tmp_path)
    assert synced.returncode == 0 and b"unchanged 30" in synced.stderr, synced.stderr
    # what the scheduler knows: task keys, groups, specs, annotations; its logs and events
    scheduler = tls_cluster.scheduler
    from distributed import Client

    with Client(tls_cluster.address, security=tls_cluster.security) as client:
        workers_logs = [message for logs in client.get_worker_logs().values() for _, message in logs]
    known = [*tls_cluster.seen, repr(scheduler.get_events()), repr(list(scheduler.transition_log)),
             *(message for _, message in scheduler.get_logs()), *workers_logs]
    assert any("genrostore-" in text for text in known), "the witness saw no genrostore task"
    for text in known:
        assert SECRET not in text and ACCESS not in text, text[:500]
    for output in (alone, shipped, synced):
        assert SECRET.encode() not in output.stdout + output.stderr


def test_ship_profile_is_refused_over_plain_tcp_and_accepted_with_local(profile_file: Path, tmp_path: Path) -> None:
    """Exit 2 before any connection (port 1 has no scheduler); `local:1` starts its own
    cluster, whose worker gets the profile with the job."""
    refused = cli(profile_file, {}, "cp", "-r", "--ship-profile", "--cluster", "tcp://127.0.0.1:1", "src/", "s3s:x/",
                  cwd=tmp_path)
    assert refused.returncode == 2 and b"--ship-profile sends credentials: not over tcp://" in refused.stderr
    sums = _tree(tmp_path / "src", 5)
    bucket = f"s3s:ship-{uuid.uuid4().hex[:10]}"
    done = cli(profile_file, {"GENROSTORE_PROFILE": str(tmp_path / "none.yaml")}, "--profile", str(profile_file),
               "cp", "-r", "--ship-profile", "--cluster", "local:1", "src/", bucket + "/", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    listed = cli(profile_file, {}, "md5", "-r", bucket, cwd=tmp_path)
    assert len(listed.stdout.splitlines()) == len(sums)


def test_an_adhoc_url_with_a_password_travels_in_the_shipped_profile_not_in_the_task() -> None:
    """`sftp://user:PASS@host/`: refused without --ship-profile; with it the batch's reference
    is an id, and the worker rebuilds the same mount from the (scattered) shipped profile."""
    from genrostore.cluster import worker
    from genrostore.cluster.wire import mount_ref, shipped_profile
    from genrostore.core.errors import UsageError
    from genrostore.core.storage import Storage

    storage = Storage(mounts=[])
    node = storage.node(f"sftp://someone:{SECRET}@127.0.0.1:2222/data/x")
    with pytest.raises(UsageError, match="--cluster sends no secrets"):
        mount_ref(storage, node.mount, shipping=False)
    shipped = shipped_profile(storage, [node.mount])
    ref = mount_ref(storage, node.mount, shipping=True, shipped=shipped)
    assert SECRET.encode() not in pickle.dumps(ref) and SECRET not in repr(ref) + repr(shipped)
    assert SECRET.encode() in pickle.dumps(shipped)  # the shipped profile (scattered to the workers) has it
    rebuilt = worker.mount_of(Storage(mounts=[]), ref, shipped)
    assert rebuilt.spec.type == node.mount.spec.type and rebuilt.options == node.mount.options
    with pytest.raises(UsageError):
        worker.mount_of(Storage(mounts=[]), ref, None)
