"""A git repository at one ref (branch, tag or sha) as a read-only mount, through pygit2."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, BinaryIO

from genrostore.core.backend import Backend, Entry, Features, Writer
from genrostore.core.errors import ConfigError, DirectoryNotFound, GenrostoreError, NotADirectory, ReadOnly
from genrostore.core.registry import require
from genrostore.core.schema import BackendSpec, Option

SPEC = BackendSpec(
    type="git",
    summary="A git repository (bare or not) at a branch, tag or commit, read-only.",
    options=(
        Option("path", "The repository: its working directory or its .git/bare directory.", required=True,
               aliases=("repo", "base_path")),
        Option("ref", "Branch, tag or commit sha (anything `git rev-parse` accepts).", default="HEAD",
               aliases=("sha", "rev")),
    ),
    module=__name__,
    cls="GitBackend",
    extra="git",
    notes="Every entry's mtime is the commit time of `ref`; submodules are not shown.",
)

_SUBMODULE = 0o160000


class GitBackend(Backend):
    """The tree of one commit; the ref is resolved once, so a command sees one consistent version."""

    features = Features(read_only=True)

    def __init__(self, options: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        pygit2 = require("pygit2", "git")
        self._pygit2: Any = pygit2
        path = os.path.abspath(os.path.expanduser(options["path"]))
        ref = str(options.get("ref") or "HEAD")
        try:
            self.repo = pygit2.Repository(path)
        except (pygit2.GitError, KeyError, ValueError) as exc:
            raise ConfigError(f"mount '{self.name}': {path} is not a git repository ({exc})") from None
        try:
            commit = self.repo.revparse_single(ref).peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
            raise ConfigError(f"mount '{self.name}': ref '{ref}' not found in {path}",
                              hint="use a branch, tag or commit sha of that repository") from None
        self.commit_id = str(commit.id)
        self.tree = commit.tree
        zone = timezone(timedelta(minutes=commit.commit_time_offset))
        self.mtime = datetime.fromtimestamp(commit.commit_time, tz=zone)
        self._lock = threading.Lock()

    def _object(self, path: str) -> Any:
        if not path:
            return self.tree
        with self._lock:
            try:
                obj = self.tree[path]
            except KeyError:
                raise FileNotFoundError(path) from None
            if obj.filemode == _SUBMODULE:
                raise FileNotFoundError(path)
            return obj

    def _entry(self, path: str, obj: Any) -> Entry:
        if isinstance(obj, self._pygit2.Tree):
            return Entry(path, "dir", mtime=self.mtime)
        return Entry(path, "file", obj.size, self.mtime)

    def info(self, path: str) -> Entry:
        return self._entry(path, self._object(path))

    def iterdir(self, path: str) -> Iterator[Entry]:
        try:
            tree = self._object(path)
        except FileNotFoundError:
            raise DirectoryNotFound("no such directory", path=path) from None
        if not isinstance(tree, self._pygit2.Tree):
            raise NotADirectory("not a directory", path=path)
        with self._lock:
            entries = [self._entry(f"{path}/{obj.name}" if path else obj.name, obj)
                       for obj in tree if obj.filemode != _SUBMODULE]
        yield from sorted(entries, key=lambda e: e.name)

    def open_read(self, path: str, offset: int = 0) -> BinaryIO:
        obj = self._object(path)
        if isinstance(obj, self._pygit2.Tree):
            raise IsADirectoryError(path)
        with self._lock:
            stream = io.BytesIO(obj.data)
        stream.seek(offset)
        return stream

    def open_write(self, path: str, size_hint: int | None = None, mtime: datetime | None = None) -> Writer:
        raise self._readonly(path)

    def mkdir(self, path: str, parents: bool = False, exist_ok: bool = False) -> None:
        raise self._readonly(path)

    def remove_file(self, path: str) -> None:
        raise self._readonly(path)

    def remove_dir(self, path: str) -> None:
        raise self._readonly(path)

    def _readonly(self, path: str) -> ReadOnly:
        return ReadOnly("the git backend is read-only", path=path)

    def translate_error(self, exc: BaseException, where: str) -> GenrostoreError | None:
        if isinstance(exc, self._pygit2.GitError):
            return GenrostoreError(f"{where}: git: {exc}")
        return None
