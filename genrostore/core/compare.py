"""When is a destination file "the same" as its source: one rule, shared by sync and check.

`--compare auto` (the default) picks the cheapest comparison that is still honest for the two
mounts: size+mtime where both keep modification times (within the coarser side's precision),
size+md5 where both store an md5 and one cannot keep mtimes, else size only, said once on
stderr. `--checksum` hashes what has no stored md5 (streamed) and never falls back to size:
rclone/rclone#7881 is what a silent fallback costs. Under size+mtime a file of the same size
and another mtime is md5-checked where one side stores its md5 and the other's comes cheap
(stored, or local bytes), as rclone does: equal, only the mtime is set, so a tree uploaded by
a tool that stores no mtime converges without moving its bytes again.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, BinaryIO

from genrostore.core.backend import CHUNK_SIZE, Backend, Entry
from genrostore.core.errors import UsageError

if TYPE_CHECKING:
    from genrostore.core.march import Pair
    from genrostore.core.mount import Mount
    from genrostore.core.storage import Storage

MODES = ("auto", "size", "size,mtime", "size,checksum")
_DEFAULT_PRECISION = timedelta(seconds=1)


class Verdict(enum.Enum):
    EQUAL = "equal"
    DIFFER = "differ"
    METADATA = "metadata"  # same bytes (equal md5s), only the mtime differs


@dataclass(frozen=True)
class Capabilities:
    """What a comparison may rely on for one mount."""

    keeps_mtime: bool  # a copy stores the source's mtime, and listings read it back
    mtime_precision: timedelta
    stored_md5: bool  # listings or a metadata call give the real md5 without reading the data
    local_data: bool = False  # the bytes are on this machine: hashing them is cheaper than a transfer


def feature(backend: Backend, name: str) -> bool:
    """A capability the backend's class declares (`Backend.features`)."""
    return bool(getattr(backend.features, name, False))


def capabilities(mount: Mount) -> Capabilities:
    """What the comparison may rely on for `mount`, from its backend's declared features.

    Keeping mtimes must be declared (`features.mtime`: a copy stores the source's mtime): a
    backend that can merely set one would otherwise never converge (every copy would look
    changed again). A relative mount's backend shows its parent's features.
    """
    features = mount.backend.features
    precision = features.mtime_precision  # seconds (float), None where mtimes are not kept
    return Capabilities(bool(features.mtime),
                        timedelta(seconds=precision) if precision is not None else _DEFAULT_PRECISION,
                        bool(features.stored_md5), not features.network)


def parse_mode(compare: str | None, *, checksum: bool = False, size_only: bool = False) -> str:
    """The comparison `--compare`, `--checksum` and `--size-only` ask for (they exclude each other)."""
    given = [flag for flag, on in (("--compare", compare is not None), ("--checksum", checksum),
                                   ("--size-only", size_only)) if on]
    if len(given) > 1:
        raise UsageError(f"{' and '.join(given)} cannot be combined", hint="give one way to compare")
    if checksum:
        return "size,checksum"
    if size_only:
        return "size"
    mode = (compare or "auto").replace(" ", "").lower()
    if mode not in MODES:
        raise UsageError(f"--compare {compare}: unknown comparison", hint=f"use one of {', '.join(MODES)}")
    return mode


class Comparator:
    """Compares pairs of files between two mounts by one method, chosen once."""

    def __init__(self, storage: Storage, src: Mount, dst: Mount, mode: str = "auto", *,
                 download: bool = False, notice: Callable[[str], None] | None = None,
                 labels: tuple[str, str] | None = None) -> None:
        self.storage = storage
        self.labels = labels or (src.label(""), dst.label(""))
        self.src = src
        self.dst = dst
        self.src_caps = capabilities(src)
        self.dst_caps = capabilities(dst)
        self.window = max(self.src_caps.mtime_precision, self.dst_caps.mtime_precision)
        self.method = "download" if download else self._resolve(mode, notice)

    def _resolve(self, mode: str, notice: Callable[[str], None] | None) -> str:
        if mode != "auto":
            return mode
        if self.src_caps.keeps_mtime and self.dst_caps.keeps_mtime:
            return "size,mtime"
        if self.src_caps.stored_md5 and self.dst_caps.stored_md5:
            return "size,md5"
        if notice is not None:
            notice(f"genrostore: {self.labels[0]} and {self.labels[1]} share no kept modification "
                   "times nor stored md5: comparing sizes only (--checksum compares content)")
        return "size"

    @property
    def uses_mtime(self) -> bool:
        return self.method == "size,mtime"

    @property
    def default_jobs(self) -> int:
        """Threads for comparisons that need I/O: many for network stores, few for disks."""
        if self.method == "size" or (self.method == "size,mtime" and not self._may_hash):
            return 1
        network = feature(self.src.backend, "network") or feature(self.dst.backend, "network")
        return 16 if network else 4

    def needs_io(self, pair: Pair) -> bool:
        """Whether comparing this pair may read or ask the store (worth a worker thread)."""
        if pair.src is None or pair.dst is None or pair.error is not None or self.method == "size":
            return False
        if self.method != "size,mtime":
            return True
        src, dst = pair.src, pair.dst  # size,mtime reads only for the md5 check of an mtime that differs
        return not (src.size is not None and dst.size is not None and src.size != dst.size) and \
            not self._same_mtime(src, dst) and self._may_hash

    def compare(self, src_path: str, src: Entry, dst_path: str, dst: Entry) -> Verdict:
        """Raises the read error (GenrostoreError) when a side cannot be hashed or read."""
        if src.size is not None and dst.size is not None and src.size != dst.size:
            return Verdict.DIFFER
        if self.method == "size":
            return Verdict.EQUAL
        if self.method == "size,mtime":
            return self._by_mtime(src_path, src, dst_path, dst)
        if self.method == "download":
            return Verdict.EQUAL if self._same_bytes(src_path, dst_path) else Verdict.DIFFER
        equal = self._md5(self.src, src_path, src, hash_it=True) == self._md5(self.dst, dst_path, dst, hash_it=True)
        return Verdict.EQUAL if equal else Verdict.DIFFER

    def mtime_newer_on_dst(self, src: Entry, dst: Entry) -> bool:
        """`--update`: the destination's mtime is later than the source's beyond the window."""
        return src.mtime is not None and dst.mtime is not None and dst.mtime - src.mtime > self.window

    @property
    def _may_hash(self) -> bool:
        """Whether an mtime that differs is worth an md5 check (rclone's rule: same size and md5,
        another mtime → only the mtime is set): one side stores its md5 and the other stores one
        too or has its bytes here. Two local trees are not hashed: reading both costs about what
        the copy does."""
        caps = (self.src_caps, self.dst_caps)
        return any(side.stored_md5 for side in caps) and all(side.stored_md5 or side.local_data for side in caps)

    def _same_mtime(self, src: Entry, dst: Entry) -> bool:
        return src.mtime is not None and dst.mtime is not None and abs(src.mtime - dst.mtime) <= self.window

    def _by_mtime(self, src_path: str, src: Entry, dst_path: str, dst: Entry) -> Verdict:
        """Same size, same mtime: equal. Another mtime: the md5s decide whether bytes must move or
        only the mtime (a tree written by a tool that stores no mtime, a file touched, converge
        without a transfer). A side's md5 is its stored one, else hashed where its bytes are
        local; the side that may already know it is asked first, and a side whose md5 is unknown
        (a multipart object without `md5chksum`) means a copy: nothing is read in vain."""
        if self._same_mtime(src, dst):
            return Verdict.EQUAL
        if src.mtime is None or src.size is None or dst.size is None or not self._may_hash:
            return Verdict.DIFFER
        sides = [(self.src, src_path, src, self.src_caps), (self.dst, dst_path, dst, self.dst_caps)]
        sides.sort(key=lambda side: not (side[2].md5 or side[3].stored_md5))  # stored md5s first
        known: list[str] = []
        for mount, path, entry, caps in sides:
            md5 = self._md5(mount, path, entry, hash_it=caps.local_data)
            if md5 is None or (known and known[0] != md5):
                return Verdict.DIFFER
            known.append(md5)
        return Verdict.METADATA

    def _md5(self, mount: Mount, path: str, entry: Entry, *, hash_it: bool) -> str | None:
        """The stored md5 (listing, then the store's metadata); with `hash_it`, else the streamed hash."""
        if entry.md5:
            return entry.md5
        caps = self.src_caps if mount is self.src else self.dst_caps
        if caps.stored_md5:
            stored = mount.md5(path)
            if stored:
                return stored
        if not hash_it:
            return None
        from genrostore.core.hashing import md5_of
        from genrostore.core.node import Node

        return md5_of(Node(self.storage, mount, path))

    def _same_bytes(self, src_path: str, dst_path: str) -> bool:
        """`--download`: both files read in step, a chunk at a time; stops at the first difference."""
        with self.src.open_read(src_path) as left, self.dst.open_read(dst_path) as right:
            while True:
                a = _read_exact(self.src, src_path, left)
                if a != _read_exact(self.dst, dst_path, right):
                    return False
                if not a:
                    return True


def _read_exact(mount: Mount, path: str, stream: BinaryIO, size: int = CHUNK_SIZE) -> bytes:
    """`size` bytes, fewer only at the end (a stream may return short reads)."""
    data = b""
    while len(data) < size:
        more = stream.read(size - len(data))  # the Mount's stream: its errors arrive located
        if not more:
            break
        data += more
    return data
