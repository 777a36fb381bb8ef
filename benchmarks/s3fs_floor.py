"""The floor of any tool built on s3fs: the bare requests of cases 4 and 6, nothing else.

A reference contender, not a product: no profile, no error mapping, no atomic local writes,
no fsync (botocore's own retries only). It imports s3fs, builds one client and sends one
request per object, 16 in flight on s3fs's event loop — what genrostore's batch path does,
minus genrostore. The gap between genrostore and this script is genrostore's own cost; the
gap between this script and s5cmd is the cost of Python, botocore and aiohttp.

    python benchmarks/s3fs_floor.py up|down|copy SOURCE DESTINATION
        up:   SOURCE a local directory, DESTINATION bucket/prefix
        down: SOURCE bucket/prefix, DESTINATION a local directory
        copy: SOURCE bucket/prefix, DESTINATION bucket/prefix
Endpoint and keys come from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION.
"""

from __future__ import annotations

import asyncio
import os
import sys

IN_FLIGHT = 16


def main(argv: list[str]) -> int:
    mode, source, destination = argv
    import s3fs
    from fsspec.asyn import sync

    fs = s3fs.S3FileSystem(
        key=os.environ["AWS_ACCESS_KEY_ID"], secret=os.environ["AWS_SECRET_ACCESS_KEY"],
        endpoint_url=os.environ["AWS_ENDPOINT_URL"], client_kwargs={"region_name": os.environ["AWS_REGION"]},
        # botocore's own retries (the server may answer a transient InternalError under load).
        config_kwargs={"max_pool_connections": 64, "retries": {"max_attempts": 3, "mode": "standard"}},
        skip_instance_cache=True,
    )

    async def run() -> None:
        slots = asyncio.Semaphore(IN_FLIGHT)
        if mode == "up":
            names = os.listdir(source)
        else:
            bucket, _, prefix = source.partition("/")
            names, token = [], {}
            while True:
                listing = await fs._call_s3("list_objects_v2", Bucket=bucket, Prefix=prefix + "/", **token)
                names += [item["Key"][len(prefix) + 1:] for item in listing.get("Contents", [])]
                if not listing.get("IsTruncated"):
                    break
                token = {"ContinuationToken": listing["NextContinuationToken"]}
        if mode == "down":
            os.makedirs(destination, exist_ok=True)

        async def one(name: str) -> None:
            async with slots:
                if mode == "up":
                    bucket, _, prefix = destination.partition("/")
                    with open(os.path.join(source, name), "rb") as handle:
                        data = handle.read()
                    await fs._call_s3("put_object", Bucket=bucket, Key=f"{prefix}/{name}", Body=data)
                elif mode == "down":
                    bucket, _, prefix = source.partition("/")
                    response = await fs._call_s3("get_object", Bucket=bucket, Key=f"{prefix}/{name}")
                    data = await response["Body"].read()
                    response["Body"].close()
                    with open(os.path.join(destination, name), "wb") as handle:
                        handle.write(data)
                else:
                    src_bucket, _, src_prefix = source.partition("/")
                    bucket, _, prefix = destination.partition("/")
                    await fs._call_s3("copy_object", Bucket=bucket, Key=f"{prefix}/{name}",
                                      CopySource={"Bucket": src_bucket, "Key": f"{src_prefix}/{name}"})

        await asyncio.gather(*(one(name) for name in names))

    sync(fs.loop, run)
    sys.stdout.flush()
    os._exit(0)  # as genrostore does: no interpreter teardown


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
