"""`--cluster ADDRESS`: run cp -r, sync, check and md5 -r on a Dask cluster (issue 17).

    address.py   ADDRESS (`tcp://`, `tls://`, `local`, `local:N`) → a dask.distributed Client
    wire.py      what a task carries: mount references (names, never secrets), errors as text
    worker.py    the task functions: a batch of files through the same pipeline executor
    driver.py    the client side: batches balanced by count and bytes, bounded in flight,
                 results in submission order, Ctrl-C cancels the job

The client lists and compares, as a local run does; only the per-file work (copy, delete, set
mtime, hash, compare) travels, one Dask task per batch. dask is imported only here, and only
when `--cluster` is given (`genrostore --help` never imports it).
"""
