"""Where the time of `cp -r --cluster` goes: `python -m benchmarks.cluster_profile` (issue 17).

The cluster cases (7a, 7b) time one process against `--cluster local:2`; this explains the
difference. For each source it runs, against the same `rclone serve s3`:

- one process, under cProfile: wall time, the client's CPU, the server's CPU;
- the same on a LocalCluster of 2 workers started here (so its start-up is timed apart, and
  the workers' CPU can be read): wall time, the client's CPU (cProfile: what it did), each
  worker's CPU, the server's CPU, and the scheduler's task stream (batches, their run time).

It prints Markdown; docs/benchmarks.md quotes it. CPU seconds are user + system.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from benchmarks import cases, s3server, tools
from benchmarks.__main__ import size


def cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


# genrostore leaves through os._exit (no interpreter teardown): the profile is written there too
PROFILED = """
import cProfile, os, runpy, sys
path, sys.argv = sys.argv[1], ["genrostore", *sys.argv[2:]]
profile, leave = cProfile.Profile(), os._exit
def dump():
    profile.disable()
    profile.dump_stats(path)
os._exit = lambda code: (dump(), leave(code))
profile.enable()
try:
    runpy.run_module("genrostore", run_name="__main__")
finally:
    dump()
"""


def run_client(argv: list[str], prof: Path, cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall s, CPU s of the client and its children) of one genrostore run under cProfile."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", PROFILED, str(prof), *argv],
                             cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{argv} failed: {child.stderr.read().decode()[-2000:] if child.stderr else ''}")
    return wall, usage.ru_utime + usage.ru_stime


def top(prof: Path, count: int = 8) -> str:
    out = io.StringIO()
    stats = pstats.Stats(str(prof), stream=out)
    stats.sort_stats("tottime").print_stats(count)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
    return "\n".join(lines[start:start + count + 1])


def waited(prof: Path) -> float:
    """Seconds the client spent waiting for batch results (Future.result) in the driver."""
    stats = pstats.Stats(str(prof)).stats  # type: ignore[attr-defined]  # typeshed omits Stats.stats
    return sum(value[3] for (file, _, name), value in stats.items() if name == "_result" and file.endswith("driver.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cluster_profile", description=__doc__)
    parser.add_argument("--small-count", type=int, default=10_000)
    parser.add_argument("--big-size", type=size, default=64 * 2**20)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    anchors = tools.locate(tools.default_venv() if tools.default_venv().exists() else None)
    assert anchors.rclone, "rclone is needed (python -m benchmarks installs it)"
    with tempfile.TemporaryDirectory(prefix="genrostore-cprof-", dir=args.workdir) as scratch:
        root = Path(scratch)
        space = cases.Workspace(root=root, sizes=cases.Sizes(0, 0, 0, 0, cluster_small_count=args.small_count,
                                                             cluster_big_size=args.big_size),
                                genrostore=[], anchors=anchors)
        cases.make_cluster_data(space)
        server = s3server.start(anchors.rclone, root / "s3")
        try:
            space.profile.write_text(server.profile_yaml("s3"))
            space.profile.chmod(0o600)
            print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} cores\n")
            env = cases.bytecode_env(space)
            for extra in ([], ["--cluster", "local:2"]):  # untimed: fills the bytecode cache (see bytecode_env)
                subprocess.run([sys.executable, "-m", "genrostore", "--profile", str(space.profile), "-q", "cp", "-r",
                                *extra, "./cwarm/", "s3:warm/"], env={**os.environ, **env}, cwd=root, check=True)
            print(startup_cost(env))
            for source in ("csmall", "cbig"):
                print(profile_source(space, server, source))
        finally:
            server.stop()
    return 0


def startup_cost(env: dict[str, str]) -> str:
    """A LocalCluster of 2 worker processes started and stopped, with nothing to do."""
    probe = ("import logging, time; t = time.perf_counter()\n"
             "from distributed import Client, LocalCluster\n"
             "c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,"
             " silence_logs=logging.ERROR)\n"
             "cl = Client(c); cl.wait_for_workers(2); up = time.perf_counter() - t\n"
             "cl.close(); c.close(); print(up, time.perf_counter() - t)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, **env}).stdout.split()
    return (f"LocalCluster(2 processes) with no work: ready after {float(out[0]):.1f} s, "
            f"started and stopped in {float(out[1]):.1f} s.\n")


def profile_source(space: cases.Workspace, server: s3server.S3Server, source: str) -> str:
    from distributed import Client, LocalCluster, get_task_stream

    profile, env = str(space.profile), cases.bytecode_env(space)
    serving = psutil.Process(server.process.pid)
    lines = [f"### {source}/ → S3", ""]
    before = cpu(serving)
    wall, client_cpu = run_client(["--profile", profile, "-q", "cp", "-r", f"./{source}/", f"s3:pf-{source}-one/"],
                                  space.root / "one.prof", space.root, env)
    lines += [f"- one process: {wall:.1f} s wall; client CPU {client_cpu:.1f} s; server CPU {cpu(serving) - before:.1f} s",
              "", "  client, top functions by own time:", "", "```", top(space.root / "one.prof"), "```", ""]
    start = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR, env={"GENROSTORE_PROFILE": profile, **env})
    try:
        with Client(cluster) as client:
            client.wait_for_workers(2)
            up = time.perf_counter() - start
            pids = client.run(os.getpid)
            workers = {address: psutil.Process(pid) for address, pid in pids.items()}
            worker_before = {address: cpu(p) for address, p in workers.items()}
            before = cpu(serving)
            with get_task_stream(client) as stream:
                wall, client_cpu = run_client(["--profile", profile, "-q", "cp", "-r", "--cluster",
                                               cluster.scheduler_address, f"./{source}/", f"s3:pf-{source}-cl/"],
                                              space.root / "cl.prof", space.root, env)
            server_cpu = cpu(serving) - before
            worker_cpu = [cpu(p) - worker_before[a] for a, p in workers.items()]
            batches = [t for t in stream.data if str(t.get("key", "")).startswith("genrostore-")]
            spans = [sum(s["stop"] - s["start"] for s in t["startstops"] if s["action"] == "compute") for t in batches]
            ends = [max(s["stop"] for s in t["startstops"]) for t in batches]
            starts = [min(s["start"] for s in t["startstops"]) for t in batches]
    finally:
        cluster.close()
    busy = f"{max(ends) - min(starts):.1f}" if batches else "—"
    lines += [f"- LocalCluster of 2 started here in {up:.1f} s (not in the wall time below)",
              f"- on the cluster: {wall:.1f} s wall; client CPU {client_cpu:.1f} s "
              f"(of which {waited(space.root / 'cl.prof'):.1f} s wall waiting for batch results); "
              f"workers CPU {' + '.join(f'{c:.1f}' for c in worker_cpu)} s; server CPU {server_cpu:.1f} s",
              f"- {len(batches)} batches; run time per batch {min(spans, default=0):.1f}–{max(spans, default=0):.1f} s, "
              f"sum {sum(spans):.1f} s; first batch start to last batch end {busy} s",
              "", "  client, top functions by own time:", "", "```", top(space.root / "cl.prof"), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
