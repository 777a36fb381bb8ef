"""No path escapes its mount: `..`, encoded dots, absolute paths, backslashes, NUL bytes and
symlinks cannot read or write outside a mount's root, on local disk and on remote stores; archive
members named `../../x` or `/x` never land outside a recursive copy's destination (zip-slip)."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from genrostore import Storage
from genrostore.core import errors
from genrostore.core.errors import GenrostoreError, UsageError
from tests.reliability.conftest import Cli, write_profile

SECRET = b"TOP-SECRET-OUTSIDE-THE-MOUNT\n"
PAYLOAD = "data:cHduZWQ="  # "pwned"

# (address inside the jailed mount, exit code): each tries to reach ../secret.txt.
READ_ESCAPES = [
    ("../secret.txt", errors.USAGE),
    ("a/../../secret.txt", errors.USAGE),
    ("/../secret.txt", errors.USAGE),
    ("%2e%2e/secret.txt", errors.FILE_NOT_FOUND),
    ("%2E%2E%2Fsecret.txt", errors.FILE_NOT_FOUND),
    ("..%2fsecret.txt", errors.FILE_NOT_FOUND),
    ("..\\secret.txt", errors.FILE_NOT_FOUND),
    ("..\\..\\secret.txt", errors.FILE_NOT_FOUND),
]
WRITE_ESCAPES = ["../pwned.txt", "a/../../pwned.txt", "/../pwned.txt", "%2e%2e/pwned.txt", "..\\pwned.txt"]
IDS_READ = [a for a, _ in READ_ESCAPES]


# -- local ----------------------------------------------------------------------------------------
@pytest.fixture
def local_jail(tmp_path: Path) -> tuple[Path, Path]:
    """root/ is the mount; secret.txt and outside/ are beside it; root/ holds links out."""
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "victim.txt").write_bytes(SECRET)
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    (root / "dirlink").symlink_to(tmp_path / "outside")
    (root / "relative-link").symlink_to("../secret.txt")
    return root, write_profile(tmp_path, {"jail": {"type": "local", "path": str(root)}})


def _outside_files(tmp_path: Path, root: Path) -> set[str]:
    return {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")
            if not str(p).startswith(str(root)) and not str(p).startswith(str(tmp_path / "home"))}


@pytest.mark.parametrize("address,code", READ_ESCAPES, ids=IDS_READ)
def test_local_mount_cannot_read_outside_its_root(cli: Cli, local_jail: tuple[Path, Path], address: str,
                                                  code: int) -> None:
    _, profile = local_jail
    result = cli("cat", f"jail:{address}", profile=profile).expect(code)
    assert SECRET not in result.stdout


@pytest.mark.parametrize("address", ["link.txt", "dirlink/victim.txt", "relative-link", "a/../dirlink/victim.txt"])
def test_local_symlinks_out_of_the_root_are_refused_with_exit_6(cli: Cli, local_jail: tuple[Path, Path],
                                                                address: str) -> None:
    _, profile = local_jail
    result = cli("cat", f"jail:{address}", profile=profile).expect(errors.NOT_PERMITTED)
    assert SECRET not in result.stdout


@pytest.mark.parametrize("address", [*WRITE_ESCAPES, "dirlink/pwned.txt", "dirlink/victim.txt", "link.txt"])
def test_local_mount_cannot_write_outside_its_root(cli: Cli, tmp_path: Path, local_jail: tuple[Path, Path],
                                                   address: str) -> None:
    root, profile = local_jail
    before = _outside_files(tmp_path, root)
    result = cli("cp", PAYLOAD, f"jail:{address}", profile=profile)
    assert "Traceback" not in result.err
    assert _outside_files(tmp_path, root) == before
    assert (tmp_path / "secret.txt").read_bytes() == SECRET
    assert (tmp_path / "outside" / "victim.txt").read_bytes() == SECRET


def test_local_recursive_remove_through_a_link_leaves_the_outside_alone(cli: Cli, tmp_path: Path,
                                                                       local_jail: tuple[Path, Path]) -> None:
    root, profile = local_jail
    cli("rm", "-r", "jail:dirlink/", profile=profile)
    cli("rm", "-r", "-f", "jail:a/../../outside", profile=profile).expect(errors.USAGE)
    assert (tmp_path / "outside" / "victim.txt").read_bytes() == SECRET
    assert (tmp_path / "secret.txt").read_bytes() == SECRET


def test_local_recursive_copy_of_a_mount_does_not_follow_links_out(cli: Cli, tmp_path: Path,
                                                                   local_jail: tuple[Path, Path]) -> None:
    root, profile = local_jail
    (root / "a" / "inside.txt").write_text("inside")
    out = tmp_path / "home" / "copy"
    cli("cp", "-r", "jail:", f"{out}/", profile=profile)
    copied = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file()) if out.exists() else b""
    assert SECRET not in copied


def test_nul_bytes_in_a_path_are_a_usage_error(local_jail: tuple[Path, Path]) -> None:
    root, _ = local_jail
    storage = Storage(mounts=[{"name": "jail", "type": "local", "path": str(root)}])
    for text in ("jail:a\x00/../../secret.txt", "jail:secret.txt\x00.png", f"{root}/\x00"):
        with pytest.raises(UsageError):
            storage.node(text)
    with pytest.raises(UsageError):
        storage.node("jail:a").child("x\x00y")


def test_nul_bytes_and_dotdot_in_a_from_list_are_refused(cli: Cli, tmp_path: Path,
                                                        local_jail: tuple[Path, Path]) -> None:
    root, profile = local_jail
    (root / "a" / "ok.txt").write_text("ok")
    listing = tmp_path / "home" / "list.txt"
    listing.write_bytes(b"a/ok.txt\n../secret.txt\na/\x00../../secret.txt\n..\\secret.txt\n")
    out = tmp_path / "home" / "out"
    out.mkdir()
    result = cli("cp", "--from-list", str(listing), "jail:", f"{out}/", profile=profile).expect(errors.ERROR)
    assert (out / "a" / "ok.txt").read_text() == "ok"
    assert all(SECRET != p.read_bytes() for p in out.rglob("*") if p.is_file())
    assert "secret.txt" in result.err


def test_api_child_and_join_keep_the_jail(local_jail: tuple[Path, Path]) -> None:
    root, _ = local_jail
    storage = Storage(mounts=[{"name": "jail", "type": "local", "path": str(root)}])
    for parts in (("..",), ("a", "..", ".."), ("/..",), ("a/../../secret.txt",)):
        with pytest.raises(UsageError):
            storage.node("jail:").child(*parts)
    with pytest.raises(GenrostoreError) as caught:
        storage.node("jail:link.txt").read_bytes()
    assert caught.value.exit_code == errors.NOT_PERMITTED


# -- remote stores ----------------------------------------------------------------------------------
REMOTE_JAILS = ["sftp", "smb", "webdav", "s3_prefix"]


def _jailed_options(case: object, sub: str) -> dict:
    """The case's mount options with the root moved down to `sub` (a directory inside it)."""
    options = dict(case.mount_options)  # type: ignore[attr-defined]
    kind = options["type"]
    if kind == "sftp":
        options["path"] = f"{options['path'].rstrip('/')}/{sub}"
    elif kind == "s3":
        options["prefix"] = f"{options.get('prefix', '').strip('/')}/{sub}".strip("/")
    elif kind == "webdav":
        options["url"] = f"{options['url'].rstrip('/')}/{sub}"
    elif kind == "smb":
        options["path"] = sub
    else:
        pytest.fail(f"no way to jail a {kind} mount in a sub-directory")
    return options


@pytest.fixture(params=REMOTE_JAILS)
def remote_jail(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[object, str, Path]:
    """(case, address of the directory holding secret.txt, profile with `jail:` one level below)."""
    case = request.getfixturevalue(f"case_{request.param}")
    base = case.fresh()
    storage = case.storage()
    storage.node(f"{base}/secret.txt").write(SECRET)
    storage.node(f"{base}/inner/inside.txt").write(b"inside\n")
    sub = base.split(":", 1)[1] + "/inner"
    profile = write_profile(tmp_path, {"jail": _jailed_options(case, sub)})
    return case, base, profile


@pytest.mark.parametrize("address,code", READ_ESCAPES, ids=IDS_READ)
def test_remote_mount_cannot_read_outside_its_root(cli: Cli, remote_jail: tuple[object, str, Path],
                                                   address: str, code: int) -> None:
    case, _, profile = remote_jail
    cli.env.update(case.env)  # type: ignore[attr-defined]
    assert cli("cat", "jail:inside.txt", profile=profile).expect(errors.OK).stdout == b"inside\n"
    result = cli("cat", f"jail:{address}", profile=profile).expect(code)
    assert SECRET not in result.stdout


def test_remote_mount_cannot_write_outside_its_root(cli: Cli, remote_jail: tuple[object, str, Path]) -> None:
    case, base, profile = remote_jail
    cli.env.update(case.env)  # type: ignore[attr-defined]
    for address in WRITE_ESCAPES:
        result = cli("cp", PAYLOAD, f"jail:{address}", profile=profile)
        assert "Traceback" not in result.err
    names = sorted(n.path for n in case.storage().node(base).iterdir())  # type: ignore[attr-defined]
    assert [n.rsplit("/", 1)[-1] for n in names] == ["inner", "secret.txt"]
    assert case.storage().node(f"{base}/secret.txt").read_bytes() == SECRET  # type: ignore[attr-defined]


def test_sftp_server_side_symlinks_out_of_the_root_are_refused(cli: Cli, tmp_path: Path,
                                                               request: pytest.FixtureRequest) -> None:
    case = request.getfixturevalue("case_sftp")
    server_root = Path(case.mount_options["path"])
    outside = server_root.parent / f"outside-{tmp_path.name}"
    outside.mkdir(mode=0o755)
    (outside / "victim.txt").write_bytes(SECRET)
    (outside / "victim.txt").chmod(0o644)
    jail = server_root / f"jail-{tmp_path.name}"
    jail.mkdir()
    os.chown(jail, *_owner(server_root))
    (jail / "dirlink").symlink_to(outside)
    (jail / "filelink").symlink_to(outside / "victim.txt")
    options = {**case.mount_options, "path": str(jail)}
    profile = write_profile(tmp_path, {"jail": options})
    try:
        for address in ("dirlink/victim.txt", "filelink"):
            result = cli("cat", f"jail:{address}", profile=profile).expect(errors.NOT_PERMITTED)
            assert SECRET not in result.stdout
        cli("cp", PAYLOAD, "jail:dirlink/pwned.txt", profile=profile).expect(errors.NOT_PERMITTED)
        assert not (outside / "pwned.txt").exists()
    finally:
        (outside / "victim.txt").unlink()
        outside.rmdir()


def _owner(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_uid, st.st_gid


# -- archives (zip-slip) ----------------------------------------------------------------------------
EVIL_MEMBERS = {
    "../../evil-dotdot.txt": b"evil 1\n",
    "/tmp-evil-absolute.txt": b"evil 2\n",
    "ok/../../../evil-nested.txt": b"evil 3\n",
    "..\\..\\evil-backslash.txt": b"evil 4\n",
    "./../evil-dot.txt": b"evil 5\n",
    "good/fine.txt": b"fine\n",
}


def _evil_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in EVIL_MEMBERS.items():
            archive.writestr(zipfile.ZipInfo(name), data)
    return path


def _evil_tar(path: Path) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in EVIL_MEMBERS.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("escape-link")
        link.type = tarfile.SYMTYPE
        link.linkname = "../../../../../../etc/passwd"
        archive.addfile(link)
    return path


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_archive_members_never_land_outside_the_destination(cli: Cli, tmp_path: Path, kind: str) -> None:
    archive = _evil_zip(tmp_path / "evil.zip") if kind == "zip" else _evil_tar(tmp_path / "evil.tgz")
    profile = write_profile(tmp_path, {"evil": {"type": kind, "file": str(archive)}})
    destination = tmp_path / "d1" / "d2" / "out"
    destination.mkdir(parents=True)
    before = {p for p in tmp_path.rglob("*")}
    result = cli("cp", "-r", "evil:", f"{destination}/", profile=profile)
    assert "Traceback" not in result.err
    assert result.returncode in (errors.OK, errors.ERROR), result.err
    created = {p for p in tmp_path.rglob("*")} - before
    escaped = [p for p in created if not str(p).startswith(str(destination) + os.sep)
               and not str(p).startswith(str(tmp_path / "home"))]
    assert escaped == []
    assert not Path("/tmp-evil-absolute.txt").exists()
    assert (destination / "good" / "fine.txt").read_bytes() == b"fine\n"
    for path in destination.rglob("*"):
        assert not path.is_symlink(), f"{path} is a link copied out of the archive"
