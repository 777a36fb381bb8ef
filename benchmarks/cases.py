"""The six cases of issue 7: their data, their contenders (genrostore and the anchors) and targets."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.measure import Tool
from benchmarks.s3server import BUCKET, S3Server
from benchmarks.tools import Anchors

GENROSTORE = "genrostore"
RSS_LIMIT_MIB = 200.0
MINIMAL_TYPER = str(Path(__file__).with_name("minimal_typer.py"))


@dataclass(frozen=True)
class Target:
    """`limits`: (anchor, highest allowed genrostore/anchor ratio); "best anchor" is the fastest one."""

    text: str
    limits: tuple[tuple[str, float], ...]


@dataclass
class Case:
    key: str
    title: str
    tools: list[Tool]
    target: Target | None
    runs: int
    verify: Callable[[], None] | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Sizes:
    big: int
    s3_big: int
    small_count: int
    small_size: int
    many_count: int = 100_000
    sync_count: int = 100_000  # files of the sync cases (issue 15)
    # issue 17's cluster cases: many small files and a few large ones, local → S3
    cluster_small_count: int = 10_000
    cluster_small_size: int = 4096
    cluster_big_count: int = 64
    cluster_big_size: int = 64 * 2**20


@dataclass
class Workspace:
    """Where the data lives: sources, a local destination area and the S3 server's directory."""

    root: Path
    sizes: Sizes
    genrostore: list[str]
    anchors: Anchors
    server: S3Server | None = None

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def profile(self) -> Path:
        return self.root / "profile.yaml"

    def clear_out(self, prefix: str) -> Callable[[int], None]:
        """Before each run, remove this tool's earlier local copies (disk space; destinations are per run)."""
        return lambda _run: _remove(self.out.glob(f"{prefix}*"))

    def clear_bucket(self, prefix: str) -> Callable[[int], None]:
        """Before each run, remove this tool's earlier uploads straight from the server's disk."""
        def clear(_run: int) -> None:
            assert self.server is not None
            _remove(self.server.bucket_dir.glob(f"{prefix}*"))
        return clear


def _remove(paths: Iterable[Path]) -> None:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def genrostore_argv() -> list[str]:
    """The installed console script beside this interpreter (a pyenv shim would add a bash start-up)."""
    script = os.path.join(os.path.dirname(sys.executable), GENROSTORE)
    return [script] if os.access(script, os.X_OK) else [sys.executable, "-m", GENROSTORE]


# -- data ------------------------------------------------------------------------------------
def write_random(path: Path, size: int) -> None:
    chunk = os.urandom(1 << 20)
    with open(path, "wb") as handle:
        left = size
        while left > 0:
            handle.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)
            chunk = chunk[1:] + chunk[:1]  # not one repeated MiB: no tool may dedupe or compress it away


def make_local_data(space: Workspace) -> None:
    (space.root / "tiny.txt").write_bytes(b"hello, benchmark\n")
    write_random(space.root / "big.bin", space.sizes.big)
    space.out.mkdir(exist_ok=True)


def make_s3_data(space: Workspace, bucket_dir: Path) -> None:
    """Case 4–6 sources, written before the server starts (its directory cache never sees them change)."""
    small = space.root / "small"
    small.mkdir(exist_ok=True)
    remote_small = bucket_dir / "src-small"
    remote_small.mkdir(parents=True, exist_ok=True)
    for index in range(space.sizes.small_count):
        data = os.urandom(space.sizes.small_size)
        (small / f"f{index:05d}.bin").write_bytes(data)
        (remote_small / f"f{index:05d}.bin").write_bytes(data)
    # `ls -R` case: 1-byte objects (zero-byte ones look like `dir/` markers) in 100 directories.
    many = bucket_dir / "many"
    for index in range(space.sizes.many_count):
        directory = many / f"d{index % 100:03d}"
        if index < 100:
            directory.mkdir(parents=True, exist_ok=True)
        (directory / f"o{index:06d}").write_bytes(b"x")
    write_random(space.root / "s3big.bin", space.sizes.s3_big)
    (bucket_dir / "src-big").mkdir(exist_ok=True)
    os.link(space.root / "s3big.bin", bucket_dir / "src-big" / "big.bin")


def make_cluster_data(space: Workspace) -> None:
    """The cluster cases' sources: `csmall/` (10,000 × 4 KiB, 20 directories) and `cbig/` (64 × 64 MiB)."""
    sizes = space.sizes
    for index in range(sizes.cluster_small_count):
        path = space.root / "csmall" / f"d{index % 20:02d}" / f"f{index:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(sizes.cluster_small_size))
    (space.root / "cwarm").mkdir(exist_ok=True)
    for index in range(3):
        (space.root / "cwarm" / f"w{index}").write_bytes(os.urandom(64))
    (space.root / "cbig").mkdir(exist_ok=True)
    first = space.root / "cbig" / "b00.bin"
    write_random(first, sizes.cluster_big_size)
    data = first.read_bytes()
    for index in range(1, sizes.cluster_big_count):  # distinct bytes each: a rotation of the first
        cut = index * 4099 % len(data)
        with open(space.root / "cbig" / f"b{index:02d}.bin", "wb") as handle:
            handle.write(data[cut:])
            handle.write(data[:cut])


def expect_files(directory: Callable[[], Path], count: int, size: int | None = None) -> Callable[[], None]:
    """A check run after a case: genrostore's last destination holds what it should."""
    def check() -> None:
        found = [p for p in directory().rglob("*") if p.is_file()]
        if len(found) != count or (size is not None and any(p.stat().st_size != size for p in found)):
            raise RuntimeError(f"{directory()}: expected {count} file(s) of {size} bytes, found {len(found)}")
    return check


# -- local cases -----------------------------------------------------------------------------
def startup(space: Workspace, runs: int) -> Case:
    tools = [
        Tool(GENROSTORE, [*space.genrostore, "cat", "./tiny.txt"]),
        Tool("python -c pass", [sys.executable, "-c", "pass"], reference=True),
        Tool("cat", ["cat", "tiny.txt"]),
        Tool("minimal Typer", [sys.executable, MINIMAL_TYPER, "tiny.txt"]),
    ]
    if space.anchors.rclone:
        tools.append(Tool("rclone cat", [space.anchors.rclone, "cat", "tiny.txt"], env=RCLONE_ENV))
    return Case("startup", "1. Start-up: print a tiny local file", tools,
                Target("≤ 1.15× minimal Typer", (("minimal Typer", 1.15),)), runs)


RCLONE_ENV = {"RCLONE_CONFIG": "/dev/null"}


def local_copy(space: Workspace, runs: int) -> Case:
    size = space.sizes.big
    tools = [
        Tool(GENROSTORE, [*space.genrostore, "cp", "./big.bin", "./out/gs-{run}.bin"],
             prepare=space.clear_out("gs-")),
        Tool("cp", ["cp", "big.bin", "out/cp-{run}.bin"], prepare=space.clear_out("cp-")),
        Tool("cp + sync", ["sh", "-c", "cp big.bin out/cps-{run}.bin && sync out/cps-{run}.bin"],
             prepare=space.clear_out("cps-"), reference=True),
    ]
    if space.anchors.rclone:
        tools.append(Tool("rclone copyto", [space.anchors.rclone, "copyto", "big.bin", "out/rc-{run}.bin"],
                          env=RCLONE_ENV, prepare=space.clear_out("rc-")))
    return Case("local-copy", f"2. Local copy of {_size(size)}", tools,
                Target("≤ 1.1× cp", (("cp", 1.1),)), runs,
                notes=[("genrostore fsyncs before its atomic rename; `cp + sync` (not a target) shows what "
                        "that durability costs a plain cp.")])


def md5(space: Workspace, runs: int) -> Case:
    tools = [
        Tool(GENROSTORE, [*space.genrostore, "md5", "./big.bin"]),
        Tool("md5sum", ["md5sum", "big.bin"]),
    ]
    if space.anchors.rclone:
        tools.append(Tool("rclone md5sum", [space.anchors.rclone, "md5sum", "big.bin"], env=RCLONE_ENV))
    return Case("md5", f"3. md5 of {_size(space.sizes.big)}", tools,
                Target("≤ 1.05× md5sum", (("md5sum", 1.05),)), runs)


# -- S3 cases --------------------------------------------------------------------------------
# Issue 16's targets (the obstore data path): at s5cmd's level and ahead of rclone.
SMALL_TARGET = Target("≤ 1.0× s5cmd and faster than rclone", (("s5cmd", 1.0), ("rclone", 1.0)))
BIG_TARGET = Target("≤ 1.0× s5cmd", (("s5cmd", 1.0),))
LS_TARGET = Target("≤ 1.0× s5cmd ls", (("s5cmd", 1.0),))


@dataclass
class S3Commands:
    """How each S3 contender names a local path and an object key (`key` is below the bucket)."""

    space: Workspace

    @property
    def server(self) -> S3Server:
        assert self.space.server is not None
        return self.space.server

    def genrostore(self, *args: str, prepare: Callable[[int], None] | None = None) -> Tool:
        """genrostore with the default data path (`client: auto`: obstore for this mount)."""
        return Tool(GENROSTORE, [*self.space.genrostore, "--profile", str(self.space.profile), "-q", *args],
                    prepare=prepare)

    def genrostore_fsspec(self, *args: str, prepare: Callable[[int], None] | None = None) -> Tool:
        """The same command on the `s3fsspec` mount (`client: fsspec`: s3fs), for reference."""
        args = tuple(f"s3fsspec:{a[3:]}" if a.startswith("s3:") else a for a in args)
        return Tool(f"{GENROSTORE} (fsspec)", [*self.space.genrostore, "--profile", str(self.space.profile), "-q",
                                              *args], prepare=prepare, reference=True)

    def rclone(self, *args: str, prepare: Callable[[int], None] | None = None) -> Tool:
        assert self.space.anchors.rclone
        return Tool("rclone", [self.space.anchors.rclone, *args], env=self.server.rclone_env("bench"),
                    prepare=prepare)

    def s5cmd(self, *args: str, prepare: Callable[[int], None] | None = None) -> Tool:
        assert self.space.anchors.s5cmd
        return Tool("s5cmd", [self.space.anchors.s5cmd, "--endpoint-url", self.server.endpoint_url, *args],
                    env=self.server.client_env(), prepare=prepare)

    def floor(self, mode: str, source: str, destination: str, prepare: Callable[[int], None]) -> Tool:
        """The bare s3fs requests of a small-file case (benchmarks/s3fs_floor.py), for reference."""
        script = str(Path(__file__).with_name("s3fs_floor.py"))
        return Tool("s3fs floor", [sys.executable, script, mode, source, destination],
                    env={**self.server.client_env(), "AWS_ENDPOINT_URL": self.server.endpoint_url},
                    prepare=prepare, reference=True)

    def obstore_floor(self, mode: str, source: str, destination: str, prepare: Callable[[int], None],
                      *, blocking: bool = False) -> Tool:
        """The bare obstore requests of a small-file case (benchmarks/obstore_floor.py), for
        reference: awaited on one loop, or (`blocking`) on threads as genrostore's lane makes them."""
        script = str(Path(__file__).with_name("obstore_floor.py"))
        return Tool("obstore floor (blocking)" if blocking else "obstore floor",
                    [sys.executable, script, *(["--blocking"] if blocking else []), mode, source, destination],
                    env={**self.server.client_env(), "AWS_ENDPOINT_URL": self.server.endpoint_url},
                    prepare=prepare, reference=True)

    def aws(self, *args: str, prepare: Callable[[int], None] | None = None) -> Tool:
        assert self.space.anchors.aws
        return Tool("aws", [self.space.anchors.aws, "--endpoint-url", self.server.endpoint_url, "s3", *args,
                            "--only-show-errors"], env=self.server.client_env(), prepare=prepare)


def small_upload(space: Workspace, runs: int) -> Case:
    s3, n = S3Commands(space), space.sizes.small_count
    clear = space.clear_bucket
    tools = [
        s3.genrostore("cp", "-r", "./small/", "s3:up-gs-{run}/", prepare=clear("up-gs-")),
        s3.genrostore_fsspec("cp", "-r", "./small/", "s3:up-gf-{run}/", prepare=clear("up-gf-")),
        s3.rclone("copy", "--transfers", "16", "small", f"bench:{BUCKET}/up-rc-{{run}}", prepare=clear("up-rc-")),
        s3.s5cmd("cp", "small/*", f"s3://{BUCKET}/up-s5-{{run}}/", prepare=clear("up-s5-")),
        s3.aws("cp", "--recursive", "small", f"s3://{BUCKET}/up-aws-{{run}}/", prepare=clear("up-aws-")),
        s3.floor("up", "small", f"{BUCKET}/up-fl-{{run}}", prepare=clear("up-fl-")),
        s3.obstore_floor("up", "small", f"{BUCKET}/up-ob-{{run}}", prepare=clear("up-ob-")),
        s3.obstore_floor("up", "small", f"{BUCKET}/up-obb-{{run}}", prepare=clear("up-obb-"), blocking=True),
    ]
    last = str(runs - 1)
    return Case("small-upload", f"4. {n:,} × {_size(space.sizes.small_size)} files, local → S3", tools,
                SMALL_TARGET, runs, verify=expect_files(lambda: s3.server.bucket_dir / f"up-gs-{last}", n,
                                                        space.sizes.small_size))


def big_upload(space: Workspace, runs: int) -> Case:
    s3, size = S3Commands(space), space.sizes.s3_big
    clear = space.clear_bucket
    tools = [
        s3.genrostore("cp", "./s3big.bin", "s3:bigup-gs-{run}/big.bin", prepare=clear("bigup-gs-")),
        s3.genrostore_fsspec("cp", "./s3big.bin", "s3:bigup-gf-{run}/big.bin", prepare=clear("bigup-gf-")),
        # Reference: the same upload without storing the md5 (no whole-object md5, no self-copy).
        Tool("genrostore, disable_checksum", [*space.genrostore, "--profile", str(space.profile), "-q", "cp",
                                              "./s3big.bin", "s3nosum:bigup-ns-{run}/big.bin"],
             prepare=clear("bigup-ns-"), reference=True),
        s3.rclone("copyto", "s3big.bin", f"bench:{BUCKET}/bigup-rc-{{run}}/big.bin", prepare=clear("bigup-rc-")),
        s3.s5cmd("cp", "s3big.bin", f"s3://{BUCKET}/bigup-s5-{{run}}/big.bin", prepare=clear("bigup-s5-")),
        s3.aws("cp", "s3big.bin", f"s3://{BUCKET}/bigup-aws-{{run}}/big.bin", prepare=clear("bigup-aws-")),
    ]
    last = str(runs - 1)
    return Case("big-upload", f"5a. {_size(size)} local → S3", tools, BIG_TARGET, runs,
                verify=expect_files(lambda: s3.server.bucket_dir / f"bigup-gs-{last}", 1, size))


def big_download(space: Workspace, runs: int) -> Case:
    s3, size = S3Commands(space), space.sizes.s3_big
    out = space.clear_out
    tools = [
        s3.genrostore("cp", "s3:src-big/big.bin", "./out/gs-{run}.bin", prepare=out("gs-")),
        s3.genrostore_fsspec("cp", "s3:src-big/big.bin", "./out/gf-{run}.bin", prepare=out("gf-")),
        s3.rclone("copyto", f"bench:{BUCKET}/src-big/big.bin", "out/rc-{run}.bin", prepare=out("rc-")),
        s3.s5cmd("cp", f"s3://{BUCKET}/src-big/big.bin", "out/s5-{run}.bin", prepare=out("s5-")),
        s3.aws("cp", f"s3://{BUCKET}/src-big/big.bin", "out/aws-{run}.bin", prepare=out("aws-")),
    ]
    return Case("big-download", f"5b. {_size(size)} S3 → local", tools, BIG_TARGET, runs)


def small_download(space: Workspace, runs: int) -> Case:
    s3, n = S3Commands(space), space.sizes.small_count
    out = space.clear_out
    tools = [
        s3.genrostore("cp", "-r", "s3:src-small/", "./out/gs-{run}/", prepare=out("gs-")),
        s3.genrostore_fsspec("cp", "-r", "s3:src-small/", "./out/gf-{run}/", prepare=out("gf-")),
        s3.rclone("copy", "--transfers", "16", f"bench:{BUCKET}/src-small", "out/rc-{run}", prepare=out("rc-")),
        s3.s5cmd("cp", f"s3://{BUCKET}/src-small/*", "out/s5-{run}/", prepare=out("s5-")),
        s3.aws("cp", "--recursive", f"s3://{BUCKET}/src-small", "out/aws-{run}", prepare=out("aws-")),
        s3.floor("down", f"{BUCKET}/src-small", "out/fl-{run}", prepare=out("fl-")),
        s3.obstore_floor("down", f"{BUCKET}/src-small", "out/ob-{run}", prepare=out("ob-")),
        s3.obstore_floor("down", f"{BUCKET}/src-small", "out/obb-{run}", prepare=out("obb-"), blocking=True),
    ]
    last = str(runs - 1)
    return Case("small-download", f"6a. {n:,} small files, S3 → local", tools, SMALL_TARGET, runs,
                verify=expect_files(lambda: space.out / f"gs-{last}", n, space.sizes.small_size))


def server_copy(space: Workspace, runs: int) -> Case:
    s3, n = S3Commands(space), space.sizes.small_count
    clear = space.clear_bucket
    tools = [
        s3.genrostore("cp", "-r", "s3:src-small/", "s3:cp-gs-{run}/", prepare=clear("cp-gs-")),
        s3.genrostore_fsspec("cp", "-r", "s3:src-small/", "s3:cp-gf-{run}/", prepare=clear("cp-gf-")),
        s3.rclone("copy", "--transfers", "16", f"bench:{BUCKET}/src-small", f"bench:{BUCKET}/cp-rc-{{run}}",
                  prepare=clear("cp-rc-")),
        s3.s5cmd("cp", f"s3://{BUCKET}/src-small/*", f"s3://{BUCKET}/cp-s5-{{run}}/", prepare=clear("cp-s5-")),
        s3.aws("cp", "--recursive", f"s3://{BUCKET}/src-small", f"s3://{BUCKET}/cp-aws-{{run}}/",
               prepare=clear("cp-aws-")),
        s3.floor("copy", f"{BUCKET}/src-small", f"{BUCKET}/cp-fl-{{run}}", prepare=clear("cp-fl-")),
        s3.obstore_floor("copy", f"{BUCKET}/src-small", f"{BUCKET}/cp-ob-{{run}}", prepare=clear("cp-ob-")),
        s3.obstore_floor("copy", f"{BUCKET}/src-small", f"{BUCKET}/cp-obb-{{run}}", prepare=clear("cp-obb-"),
                         blocking=True),
    ]
    last = str(runs - 1)
    return Case("server-copy", f"6b. {n:,} objects, S3 → S3 server-side copy", tools, SMALL_TARGET, runs,
                verify=expect_files(lambda: s3.server.bucket_dir / f"cp-gs-{last}", n, space.sizes.small_size))


def list_many(space: Workspace, runs: int) -> Case:
    """`ls -R` of a large tree: listing pages and per-entry output, nothing else."""
    s3, n = S3Commands(space), space.sizes.many_count
    tools = [
        s3.genrostore("ls", "-R", "s3:many/"),
        s3.genrostore_fsspec("ls", "-R", "s3:many/"),
        s3.rclone("lsf", "-R", "--files-only", f"bench:{BUCKET}/many"),
        s3.s5cmd("ls", f"s3://{BUCKET}/many/*"),
    ]
    return Case("ls-many", f"7. ls -R of {n:,} objects", tools, LS_TARGET, runs)
# -- issue 17: one process vs a LocalCluster of 2 worker processes ----------------------------
CLUSTER = "local:2"


def bytecode_env(space: Workspace) -> dict[str, str]:
    """Compiled modules, as an installed copy has them. Where PYTHONDONTWRITEBYTECODE is set
    and site-packages holds no .pyc (this machine: dask and distributed had none), every
    process would compile its imports from source on the clock — ~2–4 s of CPU for dask in
    each of the client, the nanny and 2 workers. A cache of our own (PYTHONPYCACHEPREFIX),
    filled by an untimed warm-up, gives both tools what `pip install` gives; nothing is
    written to site-packages."""
    return {"PYTHONPYCACHEPREFIX": str(space.root / "pycache"), "PYTHONDONTWRITEBYTECODE": ""}


def cluster_pair(space: Workspace, source: str, prefix: str) -> list[Tool]:
    """The same `cp -r` in one process and with `--cluster local:2` (its workers read the
    profile by path, as documented; the LocalCluster's start and stop are on the clock)."""
    clear, env = space.clear_bucket, bytecode_env(space)
    one = [*space.genrostore, "--profile", str(space.profile), "-q", "cp", "-r"]
    clustered = [*one, "--cluster", CLUSTER]

    def prepare(kind: str, argv: list[str]) -> Callable[[int], None]:
        def before(run: int) -> None:
            clear(f"{prefix}-{kind}-")(run)
            if run == 0:  # untimed: the same command on 3 files fills the bytecode cache
                subprocess.run([*argv, "./cwarm/", f"s3:warm-{prefix}-{kind}/"], env={**os.environ, **env},
                               cwd=space.root, check=True, capture_output=True)
        return before

    return [Tool(GENROSTORE, [*one, source, f"s3:{prefix}-gs-{{run}}/"], env=env, prepare=prepare("gs", one)),
            Tool(f"{GENROSTORE} --cluster {CLUSTER}", [*clustered, source, f"s3:{prefix}-cl-{{run}}/"], env=env,
                 prepare=prepare("cl", clustered))]


def cluster_small(space: Workspace, runs: int) -> Case:
    n, size = space.sizes.cluster_small_count, space.sizes.cluster_small_size
    server = S3Commands(space).server
    return Case("cluster-small", f"9a. {n:,} × {_size(size)} files, local → S3, one process vs --cluster {CLUSTER}",
                cluster_pair(space, "./csmall/", "cs"), None, runs,
                verify=expect_files(lambda: server.bucket_dir / f"cs-cl-{runs - 1}", n, size))


def cluster_big(space: Workspace, runs: int) -> Case:
    n, size = space.sizes.cluster_big_count, space.sizes.cluster_big_size
    server = S3Commands(space).server
    return Case("cluster-big", f"9b. {n} × {_size(size)} files, local → S3, one process vs --cluster {CLUSTER}",
                cluster_pair(space, "./cbig/", "cb"), None, runs,
                verify=expect_files(lambda: server.bucket_dir / f"cb-cl-{runs - 1}", n, size))


LOCAL_CASES = {"startup": startup, "local-copy": local_copy, "md5": md5}
S3_CASES = {"small-upload": small_upload, "big-upload": big_upload, "big-download": big_download,
            "small-download": small_download, "server-copy": server_copy, "ls-many": list_many}


def _sync_cases() -> None:
    """Issue 15's sync cases (benchmarks/synccases.py, which builds on this module)."""
    from benchmarks import synccases

    LOCAL_CASES.update(synccases.LOCAL_SYNC_CASES)
    S3_CASES.update(synccases.S3_SYNC_CASES)


CLUSTER_CASES = {"cluster-small": cluster_small, "cluster-big": cluster_big}  # S3 cases too (the same server)
S3_CASES.update(CLUSTER_CASES)


def _size(size: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} B"


_sync_cases()
