"""Runs every benchmark and prints one table (`make bench`). Each figure is measured beside its
baseline in the same run; see each module's docstring for what is compared.

    python benchmarks/run_all.py [NAME ...] [--markdown docs/benchmark_results.md]

`--markdown` writes the table with each row's date and the machine (docs/benchmarks.md links to that file),
so the figures the docs show are the ones a run printed, never copied by hand. Rows of benchmarks not run
this time are kept from the file as they were, with their own dates (`exit` takes ~45 minutes: run it alone)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import exit_bench  # noqa: E402
import gcs_bench  # noqa: E402
import lm_adapt_bench  # noqa: E402
import memory_bench  # noqa: E402
import mixture_bench  # noqa: E402
import pipeline_bench  # noqa: E402
import registration_bench  # noqa: E402
import resume_bench  # noqa: E402
import virtual_shard_bench  # noqa: E402

BENCHMARKS = (registration_bench, pipeline_bench, mixture_bench, memory_bench, lm_adapt_bench, gcs_bench,
              virtual_shard_bench, resume_bench, exit_bench)
TABLE_HEAD = "| benchmark | result | target | date |\n|---|---|---|---|\n"


def kept_rows(path: str, measured: set) -> list:
    """Rows of `path`'s table for benchmarks not measured now (first cell = the benchmark's name)."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        rows = [line.rstrip("\n") for line in f if line.startswith("| ") and not line.startswith("| benchmark |")]
    return [row for row in rows if row.split("|")[1].strip() not in measured]


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (module names without _bench; default all)")
    parser.add_argument("--markdown", metavar="PATH", help="also write the table, dated, to this file")
    parser.add_argument("--add-result", metavar="JSON", action="append", default=[],
                        help="a result a benchmark's own command printed (e.g. `exit_bench.py > exit.json`), "
                             "added as a row dated by the file")
    args = parser.parse_args(argv)
    chosen = [m for m in BENCHMARKS if not args.names or m.__name__.removesuffix("_bench") in args.names]
    if args.add_result and not args.names:
        chosen = []  # only the given results
    header = f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}; {time.strftime('%Y-%m-%d')}"
    print(header)
    results, rows = [], []
    for module in chosen:
        start = time.time()
        result = module.run()
        result["seconds"] = time.time() - start
        results.append(result)
        target = {True: "met", False: "NOT met"}.get(result.get("meets_target"), "-")
        rows.append(f"| {result.get('name', module.__name__)} | {result['summary']} | {target} | "
                    f"{time.strftime('%Y-%m-%d')} |")
        print(rows[-1], flush=True)
    for path in args.add_result:
        with open(path, encoding="utf-8") as f:
            result = json.load(f)
        results.append(result)
        chosen.append(None)
        target = {True: "met", False: "NOT met"}.get(result.get("meets_target"), "-")
        rows.append(f"| {result['name']} | {result['summary']} | {target} | "
                    f"{time.strftime('%Y-%m-%d', time.localtime(os.path.getmtime(path)))} |")
        print(rows[-1], flush=True)
    out_dir = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".cache", "benchmarks")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "latest.json"), "w") as f:  # full numbers, beside the printed table
        json.dump({"machine": machine(), "results": results}, f, indent=2, default=str)
    if args.markdown:
        measured = {r.get("name") or m.__name__ for r, m in zip(results, chosen)}
        rows = kept_rows(args.markdown, measured) + rows
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(f"# Benchmark results\n\nWritten by `python benchmarks/run_all.py [NAME ...] --markdown ...`; "
                    f"the latest run: {' '.join(args.names) or 'all'}; {header}. Each row has the date it was "
                    f"measured.\n\n{TABLE_HEAD}")
            f.write("\n".join(rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
