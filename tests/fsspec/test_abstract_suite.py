"""fsspec's own abstract test suite (copy, get, put, open, pipe) against `genrostore://` over a
local mount, a memory mount and an S3 mount on moto."""

from __future__ import annotations

import posixpath
from pathlib import Path

import pytest
from fsspec.tests.abstract import (
    AbstractCopyTests,
    AbstractFixtures,
    AbstractGetTests,
    AbstractOpenTests,
    AbstractPipeTests,
    AbstractPutTests,
)

from tests.cases.cloud import s3_options
from tests.fsspec.conftest import filesystem, fresh, write_profile


class _Fixtures(AbstractFixtures):
    mount = ""

    @pytest.fixture
    def fs_join(self):  # fsspec's fixture protocol
        return posixpath.join

    @pytest.fixture
    def fs_path(self, fs):
        return fresh(self.mount)


class _Suite(AbstractCopyTests, AbstractGetTests, AbstractPutTests, AbstractOpenTests, AbstractPipeTests):
    pass


@pytest.fixture(scope="module")
def local_fs_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fsspec-local-root")
    return write_profile(tmp_path_factory.mktemp("fsspec-local") / "mounts.yaml",
                         {"loc": {"type": "local", "path": str(root)}})


@pytest.fixture(scope="module")
def memory_fs_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_profile(tmp_path_factory.mktemp("fsspec-mem") / "mounts.yaml", {"ram": {"type": "memory"}})


@pytest.fixture(scope="module")
def s3_fs_profile(cloud_s3, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_profile(tmp_path_factory.mktemp("fsspec-s3") / "mounts.yaml",
                         {"bucket": s3_options(cloud_s3, prefix="fsspec-suite")})


class TestLocalMount(_Fixtures, _Suite):
    mount = "loc"

    @pytest.fixture
    def fs(self, local_fs_profile: Path):
        return filesystem(local_fs_profile)


class TestMemoryMount(_Fixtures, _Suite):
    mount = "ram"

    @pytest.fixture(scope="class")
    def fs(self, memory_fs_profile: Path):  # one store for the class: memory lives with it
        return filesystem(memory_fs_profile)


class TestS3Mount(_Fixtures, _Suite):
    mount = "bucket"

    @pytest.fixture(scope="class")
    def fs(self, s3_fs_profile: Path):  # one client for the class: building one costs a round trip
        return filesystem(s3_fs_profile)

    @pytest.fixture
    def supports_empty_directories(self) -> bool:
        return False
