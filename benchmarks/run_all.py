"""Runs every benchmark and prints one table (`make bench`). Each figure is measured beside its
baseline in the same run; see each module's docstring for what is compared.

    python benchmarks/run_all.py [NAME ...] [--markdown docs/benchmark_results.md]

`--markdown` writes the table with its date and machine (docs/benchmarks.md links to that file), so the
figures the docs show are the ones a run printed, never copied by hand."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gcs_bench  # noqa: E402
import lm_adapt_bench  # noqa: E402
import memory_bench  # noqa: E402
import mixture_bench  # noqa: E402
import pipeline_bench  # noqa: E402
import registration_bench  # noqa: E402
import virtual_shard_bench  # noqa: E402

BENCHMARKS = (registration_bench, pipeline_bench, mixture_bench, memory_bench, lm_adapt_bench, gcs_bench,
              virtual_shard_bench)


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (module names without _bench; default all)")
    parser.add_argument("--markdown", metavar="PATH", help="also write the table, dated, to this file")
    args = parser.parse_args(argv)
    chosen = [m for m in BENCHMARKS if not args.names or m.__name__.removesuffix("_bench") in args.names]
    header = f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}; {time.strftime('%Y-%m-%d')}"
    print(header)
    results, rows = [], []
    for module in chosen:
        start = time.time()
        result = module.run()
        result["seconds"] = time.time() - start
        results.append(result)
        target = {True: "met", False: "NOT met"}.get(result.get("meets_target"), "-")
        rows.append(f"| {result.get('name', module.__name__)} | {result['summary']} | {target} |")
        print(rows[-1], flush=True)
    out_dir = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".cache", "benchmarks")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "latest.json"), "w") as f:  # full numbers, beside the printed table
        json.dump({"machine": machine(), "results": results}, f, indent=2, default=str)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(f"# Benchmark results\n\nWritten by `python benchmarks/run_all.py {' '.join(args.names)} "
                    f"--markdown ...`; {header}.\n\n| benchmark | result | target |\n|---|---|---|\n")
            f.write("\n".join(rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
