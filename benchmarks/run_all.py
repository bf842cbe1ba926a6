"""Runs every benchmark and prints one table (`make bench`). Each figure is measured beside its
baseline in the same run; see each module's docstring for what is compared."""

from __future__ import annotations

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

BENCHMARKS = (registration_bench, pipeline_bench, mixture_bench, memory_bench, lm_adapt_bench, gcs_bench)


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"


def main() -> int:
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}; {time.strftime('%Y-%m-%d')}")
    results = []
    for module in BENCHMARKS:
        start = time.time()
        result = module.run()
        result["seconds"] = time.time() - start
        results.append(result)
        target = {True: "met", False: "NOT met"}.get(result.get("meets_target"), "-")
        print(f"| {result.get('name', module.__name__)} | {result['summary']} | {target} |", flush=True)
    out_dir = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".cache", "benchmarks")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "latest.json"), "w") as f:  # full numbers, beside the printed table
        json.dump({"machine": machine(), "results": results}, f, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
