"""genrostore's not-found, permission, exists and is-a/not-a-directory errors are also the builtin
exceptions Python callers catch; their exit codes and messages stay what the CLI promises."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from genrostore import Storage
from genrostore.core import errors
from genrostore.core.errors import translate

CASES = [
    (errors.FileNotFound, FileNotFoundError, 4),
    (errors.NoMatch, FileNotFoundError, 4),
    (errors.DirectoryNotFound, FileNotFoundError, 3),
    (errors.NotADirectory, NotADirectoryError, 3),
    (errors.UnknownMount, FileNotFoundError, 2),
    (errors.IsADirectory, IsADirectoryError, 2),
    (errors.NotPermitted, PermissionError, 6),
    (errors.ReadOnly, PermissionError, 6),
    (errors.Unsupported, PermissionError, 6),
    (errors.AuthenticationFailed, PermissionError, 6),
    (errors.AlreadyExists, FileExistsError, 1),
]


@pytest.mark.parametrize("cls,builtin,code", CASES, ids=[c[0].__name__ for c in CASES])
def test_each_class_is_its_builtin_with_its_exit_code_and_message(cls: type, builtin: type, code: int) -> None:
    error = cls("m:a/b.txt: what happened", hint="what to do")
    assert isinstance(error, builtin) and isinstance(error, errors.GenrostoreError)
    assert error.exit_code == code
    assert str(error) == "m:a/b.txt: what happened (what to do)"
    copy = pickle.loads(pickle.dumps(error))  # Dask sends errors back from its workers
    assert type(copy) is cls and str(copy) == str(error)


def test_errors_that_mean_nothing_builtin_are_not_os_errors() -> None:
    for cls in (errors.UsageError, errors.TemporaryError, errors.ConfigError, errors.PartialFailure):
        assert not issubclass(cls, OSError)


def test_translated_builtins_keep_their_builtin_type() -> None:
    assert isinstance(translate(IsADirectoryError(21, "x"), "m:d"), IsADirectoryError)
    assert isinstance(translate(NotADirectoryError(20, "x"), "m:f/x"), NotADirectoryError)
    assert isinstance(translate(FileExistsError(17, "x"), "m:f"), FileExistsError)
    assert str(translate(FileExistsError(17, "x"), "m:f")) == "m:f: already exists"
    assert translate(NotADirectoryError(20, "x"), "m:f/x").exit_code == 3


def test_except_file_not_found_catches_a_missing_node(tmp_path: Path) -> None:
    storage = Storage(mounts=[{"name": "w", "type": "local", "path": str(tmp_path)},
                              {"name": "ro", "type": "local", "path": str(tmp_path), "readonly": True}])
    with pytest.raises(FileNotFoundError):
        storage.node("w:missing.txt").read()
    with pytest.raises(FileNotFoundError):
        storage.node("nosuch:x").read()
    with pytest.raises(PermissionError):
        storage.node("ro:x.txt").write("refused")
    storage.node("w:f.txt").write("file")
    with pytest.raises(NotADirectoryError):
        storage.node("w:f.txt/inside").list()
