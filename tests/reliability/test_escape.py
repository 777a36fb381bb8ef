"""Names that come from a listing, a list file or the command line never misplace data: keys and
members with `..`, `.` or empty segments are reported and skipped (never joined onto a
destination, never merged), symlink loops are not followed, two sources never overwrite each
other, a tree is never copied into itself, `ls` of a glob prints addresses, and `cp -r` keeps
empty directories (issue 12, items 1-4, 12-14, 17)."""

from __future__ import annotations

import io
import json
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from genrostore.core import errors
from tests.reliability.conftest import Cli, write_profile

EVIL = b"ESCAPED-THE-DESTINATION\n"


def _files_under(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _no_evil_outside(tmp_path: Path, destination: Path) -> None:
    for path in tmp_path.rglob("*"):
        if path.is_file() and not str(path).startswith(str(destination) + os.sep):
            assert path.read_bytes() != EVIL, f"{path} was written outside {destination}"


# -- item 1: keys with '..' from an object store ---------------------------------------------------
def _raw_put(case: object, keys: dict[str, bytes]) -> None:
    """Store keys exactly as given, with the store's own client (as any tool that can PUT would)."""
    import boto3

    options = case.mount_options  # type: ignore[attr-defined]
    client = boto3.client("s3", endpoint_url=options["endpoint_url"], region_name=options["region"],
                          aws_access_key_id=options["access_key"], aws_secret_access_key=options["secret_key"])
    for key, data in keys.items():
        client.put_object(Bucket=options["bucket"], Key=key, Body=data)


def test_s3_keys_with_dotdot_never_land_outside_the_destination(cli: Cli, tmp_path: Path,
                                                                request: pytest.FixtureRequest) -> None:
    # (fake-gcs-server and Azurite fold `..` away when a key is written: only S3 keeps it.)
    case = request.getfixturevalue("case_s3")
    cli.env.update(case.env)
    base = case.fresh().split(":", 1)[1]
    _raw_put(case, {f"{base}/p/../x": EVIL, f"{base}/p/../../../../x": EVIL, f"{base}/p/ok.txt": b"ok\n"})
    destination = tmp_path / "a" / "b" / "c" / "d" / "dest"
    destination.mkdir(parents=True)
    result = cli("cp", "-r", f"{case.mount}:{base}/p/", f"{destination}/", profile=case.profile)
    result.expect(errors.ERROR)
    _no_evil_outside(tmp_path, destination)
    assert _files_under(destination) == {"ok.txt": b"ok\n"}
    assert f"{base}/p/../x" in result.err and f"{base}/p/../../../../x" in result.err


ARCHIVE_MEMBERS = {"../evil": EVIL, "dir/../../evil2": EVIL, "dir/good.txt": b"good\n",
                   "./dotted.txt": b"dotted\n"}  # `./` as `tar -C dir .` writes it: fine


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_an_archive_member_named_dotdot_is_reported_and_skipped(cli: Cli, tmp_path: Path, kind: str) -> None:
    archive = tmp_path / f"evil.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(archive, "w") as handle:
            for name, data in ARCHIVE_MEMBERS.items():
                handle.writestr(name, data)
    else:
        with tarfile.open(archive, "w") as handle:
            root = tarfile.TarInfo("./")  # the root member `tar -C dir .` writes: not a bad name
            root.type = tarfile.DIRTYPE
            handle.addfile(root)
            for name, data in ARCHIVE_MEMBERS.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                handle.addfile(info, io.BytesIO(data))
    profile = write_profile(tmp_path, {"z": {"type": kind, "file": str(archive)}})
    destination = tmp_path / "out" / "dest"
    destination.mkdir(parents=True)
    result = cli("cp", "-r", "z:", f"{destination}/", profile=profile).expect(errors.ERROR)
    _no_evil_outside(tmp_path, destination)
    assert _files_under(destination) == {"dir/good.txt": b"good\n", "dotted.txt": b"dotted\n"}
    assert "z:../evil" in result.err and "z:dir/../../evil2" in result.err
    listing = cli("ls", "-R", "z:", profile=profile).expect(errors.ERROR)
    assert listing.stdout.decode().split() == ["dir/", "dir/good.txt", "dotted.txt"]
    assert "z:../evil" in listing.err


# -- item 2: --from-list names stay below SRC and DST -------------------------------------------------
def test_from_list_names_cannot_leave_src_or_dst(cli: Cli, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "src" / "sub").mkdir(parents=True)
    (root / "private.txt").write_bytes(EVIL)
    (root / "src" / "ok.txt").write_bytes(b"ok\n")
    (root / "src" / "sub" / "deep.txt").write_bytes(b"deep\n")
    (root / "dst").mkdir()
    profile = write_profile(tmp_path, {"m": {"type": "local", "path": str(root)}})
    listing = tmp_path / "list.txt"
    listing.write_text("ok.txt\n../private.txt\n./sub/deep.txt\nsub/../../private.txt\n")
    result = cli("cp", "--from-list", str(listing), "m:src", "m:dst/", profile=profile).expect(errors.ERROR)
    assert _files_under(root / "dst") == {"ok.txt": b"ok\n", "sub/deep.txt": b"deep\n"}
    assert not (root / "dst" / "private.txt").exists() and _files_under(root).get("private.txt") == EVIL
    assert result.err.count("private.txt") >= 2 and "stay below" in result.err


# -- item 3: '.' and empty segments are reported, never merged ---------------------------------------
def test_dot_and_empty_segments_are_reported_and_never_collapse(cli: Cli, tmp_path: Path,
                                                                request: pytest.FixtureRequest) -> None:
    case = request.getfixturevalue("case_s3")
    base = case.fresh().split(":", 1)[1]
    _raw_put(case, {f"{base}/col/a.txt": b"plain\n", f"{base}/col/./a.txt": b"dot\n",
                    f"{base}/col//a.txt": b"empty\n", f"{base}/wb/./a.txt": b"a\n", f"{base}/wb//b.txt": b"b\n"})
    destination = tmp_path / "dest"
    result = cli("cp", "-r", f"{case.mount}:{base}/col/", f"{destination}/", profile=case.profile)
    result.expect(errors.ERROR)
    assert _files_under(destination) == {"a.txt": b"plain\n"}
    assert f"{base}/col/./a.txt" in result.err and f"{base}/col//a.txt" in result.err
    listing = cli("ls", f"{case.mount}:{base}/wb", profile=case.profile).expect(errors.ERROR)
    assert listing.stdout == b""
    assert f"{base}/wb/./" in listing.err and f"{base}/wb//" in listing.err
    recursive = cli("ls", "-R", f"{case.mount}:{base}/wb", profile=case.profile).expect(errors.ERROR)
    assert f"{base}/wb/./a.txt" in recursive.err and f"{base}/wb//b.txt" in recursive.err


# -- item 4: symlink loops ----------------------------------------------------------------------------
def test_a_symlink_loop_is_reported_once_and_not_descended(cli: Cli, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_text("a")
    (tree / "sub" / "b.txt").write_text("b")
    (tree / "loop").symlink_to(".")
    (tree / "sub" / "up").symlink_to("..")
    profile = write_profile(tmp_path, {"m": {"type": "local", "path": str(tmp_path)}})
    listing = cli("ls", "-R", "m:tree", profile=profile).expect(errors.ERROR)
    assert listing.stdout.decode().split() == ["a.txt", "sub/", "sub/b.txt"]
    assert listing.err.count("symlink loop") == 2 and "m:tree/loop" in listing.err
    result = cli("cp", "-r", "m:tree/", "m:out/", profile=profile).expect(errors.ERROR)
    assert _files_under(tmp_path / "out") == {"a.txt": b"a", "sub/b.txt": b"b"}
    assert result.err.count("symlink loop") == 2


# -- item 12: two sources, one destination -------------------------------------------------------------
def test_two_sources_for_one_destination_never_overwrite_each_other(cli: Cli, tmp_path: Path) -> None:
    for name in ("a", "b", "c/one", "c/two"):
        (tmp_path / name).mkdir(parents=True)
    (tmp_path / "a" / "x.txt").write_text("from a")
    (tmp_path / "b" / "x.txt").write_text("from b")
    (tmp_path / "c" / "one" / "same.txt").write_text("one")
    (tmp_path / "c" / "two" / "same.txt").write_text("two")
    profile = write_profile(tmp_path, {"m": {"type": "local", "path": str(tmp_path)}})
    result = cli("cp", "m:a/x.txt", "m:b/x.txt", "m:dst/", profile=profile).expect(errors.ERROR)
    assert (tmp_path / "dst" / "x.txt").read_text() == "from a"
    assert "would overwrite just-copied m:dst/x.txt" in result.err and "m:b/x.txt" in result.err
    flat = cli("cp", "m:c/*/same.txt", "m:flat/", profile=profile).expect(errors.ERROR)
    assert (tmp_path / "flat" / "same.txt").read_text() == "one"
    assert "m:c/two/same.txt" in flat.err and "would overwrite just-copied" in flat.err


# -- item 13: into itself, onto itself -----------------------------------------------------------------
def test_a_tree_into_itself_and_a_file_onto_itself_are_refused(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "src" / "sub").mkdir(parents=True)
    (tmp_path / "src" / "f.txt").write_text("f")
    profile = write_profile(tmp_path, {"m": {"type": "local", "path": str(tmp_path)}})
    before = _files_under(tmp_path / "src")
    result = cli("cp", "-r", "m:src", "m:src/sub/", profile=profile).expect(errors.USAGE)
    assert "into itself" in result.err
    cli("cp", "-r", "m:src/", "m:src/", profile=profile).expect(errors.USAGE)
    assert _files_under(tmp_path / "src") == before and not (tmp_path / "src" / "sub" / "src").exists()
    inode = (tmp_path / "src" / "f.txt").stat().st_ino
    same = cli("cp", "m:src/f.txt", "m:src/f.txt", profile=profile).expect(errors.USAGE)
    assert "same file" in same.err
    cli("cp", "m:src/f.txt", str(tmp_path / "src") + "/", profile=profile).expect(errors.USAGE)
    assert (tmp_path / "src" / "f.txt").stat().st_ino == inode


def test_self_copies_through_two_mounts_of_one_bucket_are_refused(cli: Cli, tmp_path: Path,
                                                                   request: pytest.FixtureRequest) -> None:
    case = request.getfixturevalue("case_s3")
    base = case.fresh().split(":", 1)[1]
    storage = case.storage()
    storage.node(f"{case.mount}:{base}/src/f.txt").write(b"f")
    profile = write_profile(tmp_path, {"whole": case.mount_options, "under": {**case.mount_options, "prefix": base}})
    result = cli("cp", "-r", f"whole:{base}/src", "under:src/sub/", profile=profile).expect(errors.USAGE)
    assert "into itself" in result.err
    cli("cp", f"whole:{base}/src/f.txt", "under:src/f.txt", profile=profile).expect(errors.USAGE)
    assert sorted(n.path for n in storage.node(f"{case.mount}:{base}/src").iterdir()) == [f"{base}/src/f.txt"]


# -- item 14: ls of a glob prints addresses --------------------------------------------------------------
def test_ls_of_a_glob_prints_addresses_that_rm_accepts(cli: Cli, tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "tree" / "d").mkdir(parents=True)
    (work / "tree" / "top.txt").write_text("t")
    (work / "tree" / "d" / "inner.txt").write_text("i")
    (work / "tree" / "d" / "sub").mkdir()
    (work / "tree" / "d" / "sub" / "deep.txt").write_text("deep")
    # Files of the current directory named like the children: a bare name would target these.
    (cli.home / "inner.txt").write_text("keep")
    profile = write_profile(tmp_path, {"work": {"type": "local", "path": str(work)}})
    lines = cli("ls", "work:tree/*", profile=profile).expect(errors.OK).stdout.decode().splitlines()
    assert lines == ["work:tree/d/inner.txt", "work:tree/d/sub/", "work:tree/top.txt"]
    cli("rm", "-r", *lines, profile=profile).expect(errors.OK)
    assert (cli.home / "inner.txt").read_text() == "keep"
    assert sorted(p.name for p in (work / "tree").rglob("*")) == ["d"]
    (work / "tree" / "d" / "x.txt").write_text("x")
    records = json.loads(cli("ls", "--json", "-R", "work:**", profile=profile).expect(errors.OK).stdout)
    paths = [record["path"] for record in records]
    assert len(paths) == len(set(paths)) and "work:tree/d/x.txt" in paths


# -- item 17: empty directories ----------------------------------------------------------------------------
def _tree_with_empty_dirs(root: Path) -> None:
    (root / "full").mkdir(parents=True)
    (root / "full" / "f.txt").write_text("f")
    (root / "empty").mkdir()
    (root / "nested" / "deeper" / "deepest").mkdir(parents=True)


def test_a_recursive_copy_keeps_empty_directories_locally(cli: Cli, tmp_path: Path) -> None:
    _tree_with_empty_dirs(tmp_path / "src")
    cli("cp", "-r", str(tmp_path / "src"), str(tmp_path / "dst"), cwd=tmp_path).expect(errors.OK)
    assert (tmp_path / "dst" / "full" / "f.txt").read_text() == "f"
    assert (tmp_path / "dst" / "empty").is_dir() and (tmp_path / "dst" / "nested" / "deeper" / "deepest").is_dir()
    (tmp_path / "alone").mkdir()
    cli("cp", "-r", str(tmp_path / "alone"), str(tmp_path / "dst") + "/", cwd=tmp_path).expect(errors.OK)
    assert (tmp_path / "dst" / "alone").is_dir()


def test_a_recursive_copy_keeps_empty_directories_on_webdav(cli: Cli, tmp_path: Path,
                                                            request: pytest.FixtureRequest) -> None:
    case = request.getfixturevalue("case_webdav")
    cli.env.update(case.env)
    _tree_with_empty_dirs(tmp_path / "src")
    base = case.fresh()
    cli("cp", "-r", f"{tmp_path / 'src'}/", f"{base}/", profile=case.profile).expect(errors.OK)
    storage = case.storage()
    assert storage.node(f"{base}/full/f.txt").read_bytes() == b"f"
    assert storage.node(f"{base}/empty").is_dir() and storage.node(f"{base}/nested/deeper/deepest").is_dir()
    back = tmp_path / "back"
    cli("cp", "-r", f"{base}/", f"{back}/", profile=case.profile).expect(errors.OK)
    assert (back / "empty").is_dir() and (back / "nested" / "deeper" / "deepest").is_dir()


def test_encoded_dotdot_links_of_an_http_index_page_are_reported(cli: Cli, tmp_path: Path) -> None:
    """A second network backend: an index page can name `%2E%2E/%2E%2E/evil.txt`."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    page = (b'<a href="ok.txt">ok.txt</a> <a href="%2E%2E/%2E%2E/evil.txt">x</a> '
            b'<a href="..%2F..%2Fevil2.txt">y</a> <a href="%2E%2E">up</a>')

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/d":  # as real servers do: a directory's URL ends in '/'
                self.send_response(301)
                self.send_header("Location", "/d/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            index = self.path == "/d/"
            body = page if index else b"ok\n" if self.path == "/d/ok.txt" else EVIL
            self.send_response(200)
            self.send_header("Content-Type", "text/html" if index else "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(body)

        do_HEAD = do_GET

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        profile = write_profile(tmp_path, {"web": {"type": "http",
                                                   "base_url": f"http://127.0.0.1:{server.server_address[1]}/"}})
        destination = tmp_path / "a" / "b" / "dest"
        destination.mkdir(parents=True)
        result = cli("cp", "-r", "web:d/", f"{destination}/", profile=profile).expect(errors.ERROR)
        _no_evil_outside(tmp_path, destination)
        assert _files_under(destination) == {"ok.txt": b"ok\n"}
        assert "web:d/../../evil.txt" in result.err and "web:d/../../evil2.txt" in result.err
        assert "web:d/.." in result.err
        listing = cli("ls", "web:d", profile=profile).expect(errors.ERROR)
        assert listing.stdout.decode().split() == ["ok.txt"]
    finally:
        server.shutdown()
        server.server_close()
