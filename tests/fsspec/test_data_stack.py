"""Smoke tests: pandas, pyarrow and Dask read and write `genrostore://` URLs as any fsspec URL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import fsspec
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.cases.cloud import s3_options
from tests.fsspec.conftest import fresh, write_profile

FRAME = pd.DataFrame({"city": ["Torino", "Milano", "Zürich"], "people": [848_000, 1_352_000, 421_000]})


@pytest.fixture(scope="module")
def profile(cloud_s3, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stack-root")
    return write_profile(tmp_path_factory.mktemp("stack") / "mounts.yaml", {
        "loc": {"type": "local", "path": str(root)},
        "bucket": s3_options(cloud_s3, prefix="fsspec-stack"),
    })


@pytest.fixture(scope="module")
def options(profile: Path) -> dict[str, str]:
    return {"profile": str(profile)}


@pytest.mark.parametrize("mount", ["loc", "bucket"])
def test_pandas_csv_round_trip(mount: str, options: dict[str, str]) -> None:
    url = f"genrostore://{fresh(mount)}/cities.csv"
    FRAME.to_csv(url, index=False, storage_options=options)
    pd.testing.assert_frame_equal(pd.read_csv(url, storage_options=options), FRAME)


@pytest.mark.parametrize("mount", ["loc", "bucket"])
def test_pandas_parquet_round_trip(mount: str, options: dict[str, str]) -> None:
    url = f"genrostore://{fresh(mount)}/cities.parquet"
    FRAME.to_parquet(url, storage_options=options)
    pd.testing.assert_frame_equal(pd.read_parquet(url, storage_options=options), FRAME)


def test_pyarrow_reads_through_the_fsspec_filesystem(options: dict[str, str]) -> None:
    url = f"genrostore://{fresh('bucket')}/cities.parquet"
    FRAME.to_parquet(url, storage_options=options)
    fs, path = fsspec.core.url_to_fs(url, **options)
    table = pq.read_table(path, filesystem=fs)
    assert table.to_pandas().equals(FRAME)


@pytest.fixture(scope="module")
def dask_client() -> Iterator[object]:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def test_dask_reads_parquet_on_worker_processes(dask_client: object, options: dict[str, str]) -> None:
    import dask.dataframe as dd

    base = f"genrostore://{fresh('bucket')}"
    FRAME.iloc[:2].to_parquet(f"{base}/part.0.parquet", storage_options=options)
    FRAME.iloc[2:].to_parquet(f"{base}/part.1.parquet", storage_options=options)
    frame = dd.read_parquet(base, storage_options=options)
    assert frame.npartitions == 2
    result = frame.compute().reset_index(drop=True)  # runs on the workers: the filesystem was pickled
    assert result.to_dict("list") == FRAME.to_dict("list")


def test_dask_reads_csv_on_worker_processes(dask_client: object, options: dict[str, str]) -> None:
    import dask.dataframe as dd

    url = f"genrostore://{fresh('loc')}/cities.csv"
    FRAME.to_csv(url, index=False, storage_options=options)
    workers = dask_client.run(lambda: __import__("os").getpid())  # type: ignore[attr-defined]
    assert __import__("os").getpid() not in workers.values()
    assert dd.read_csv(url, storage_options=options).compute().to_dict("list") == FRAME.to_dict("list")
