"""The floor of any tool built on obstore: the bare requests of cases 4 and 6, nothing else.

The twin of `s3fs_floor.py` for genrostore's Rust data path (backends/_obstore.py): no
profile, no error mapping, no atomic local writes, no fsync. One S3Store, one request per
object, 16 in flight on one asyncio loop — what genrostore's batch path does through obstore,
minus genrostore. The gap between genrostore (client: obstore) and this script is
genrostore's own cost; the gap between this script and s5cmd is the cost of Python and obstore.

    python benchmarks/obstore_floor.py [--blocking] up|down|copy SOURCE DESTINATION
        --blocking: the same requests as blocking calls on IN_FLIGHT threads, as genrostore's
        blocking lane makes them (core/pipeline/batch.py), instead of awaited on one loop
        up:   SOURCE a local directory, DESTINATION bucket/prefix
        down: SOURCE bucket/prefix, DESTINATION a local directory
        copy: SOURCE bucket/prefix, DESTINATION bucket/prefix (the same bucket: obstore copies inside one store)
Endpoint and keys come from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

IN_FLIGHT = 16


def main(argv: list[str]) -> int:
    blocking = argv[:1] == ["--blocking"]
    mode, source, destination = argv[1:] if blocking else argv
    import obstore
    from obstore.store import S3Store

    bucket = (destination if mode == "up" else source).partition("/")[0]
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    store = S3Store(bucket, endpoint=endpoint, region=os.environ["AWS_REGION"],
                    access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                    secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"], virtual_hosted_style_request=False,
                    client_options={"allow_http": endpoint.startswith("http://")})

    if blocking:
        _blocking(obstore, store, mode, source, destination)
        sys.stdout.flush()
        os._exit(0)

    async def run() -> None:
        slots = asyncio.Semaphore(IN_FLIGHT)
        if mode == "up":
            names = os.listdir(source)
        else:
            prefix = source.partition("/")[2]
            names = [meta["path"][len(prefix) + 1:]
                     async for chunk in obstore.list(store, prefix, chunk_size=1000) for meta in chunk]
            if mode == "down":
                os.makedirs(destination, exist_ok=True)

        async def one(name: str) -> None:
            async with slots:
                if mode == "up":
                    prefix = destination.partition("/")[2]
                    with open(os.path.join(source, name), "rb") as handle:
                        data = handle.read()
                    await obstore.put_async(store, f"{prefix}/{name}", data, use_multipart=False)
                elif mode == "down":
                    prefix = source.partition("/")[2]
                    result = await obstore.get_async(store, f"{prefix}/{name}")
                    data = await result.bytes_async()
                    with open(os.path.join(destination, name), "wb") as handle:
                        handle.write(data)
                else:
                    src_prefix, prefix = source.partition("/")[2], destination.partition("/")[2]
                    await obstore.copy_async(store, f"{src_prefix}/{name}", f"{prefix}/{name}")

        await asyncio.gather(*(one(name) for name in names))

    asyncio.run(run())
    sys.stdout.flush()
    os._exit(0)  # as genrostore does: no interpreter teardown


def _blocking(obstore: Any, store: Any, mode: str, source: str, destination: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    src_prefix, dst_prefix = source.partition("/")[2], destination.partition("/")[2]
    if mode == "up":
        names = os.listdir(source)
    else:
        names = [meta["path"][len(src_prefix) + 1:]
                 for chunk in obstore.list(store, src_prefix, chunk_size=1000) for meta in chunk]
        if mode == "down":
            os.makedirs(destination, exist_ok=True)

    def one(name: str) -> None:
        if mode == "up":
            with open(os.path.join(source, name), "rb") as handle:
                data = handle.read()
            obstore.put(store, f"{dst_prefix}/{name}", data, use_multipart=False)
        elif mode == "down":
            data = obstore.get(store, f"{src_prefix}/{name}").bytes()
            with open(os.path.join(destination, name), "wb") as handle:
                handle.write(data)
        else:
            obstore.copy(store, f"{src_prefix}/{name}", f"{dst_prefix}/{name}")

    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        list(pool.map(one, names))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
