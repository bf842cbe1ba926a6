"""Virtual shards: a large sorted JSONL file read shuffled in byte ranges, against reading it straight through.

The file: 200,000 made-up xP3 records sorted by 50 sources (~40 MB; xP3's merged_<lang>.jsonl is the per-prompt
files concatenated). In the same run, on a local disk:
* straight: `read_split` in file order on one host (the file read front to back, 16 KB blocks);
* shuffled: `read_split(shuffle=True)` on one host: every shard interleaved, a record at a time, 16 KB blocks;
* host 0 of 4, shuffled: what one host of a 4-host job reads.
Reported: records per CPU-second of each and their ratio to straight reading, bytes fetched per record
read, and how mixed the first 2,048 records are (sources seen; chi-square p of uniformity).
No target: the cost of mixing a sorted file from its first batch is what is measured.
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from multilingual_t0.sources import fileio, reading  # noqa: E402

SOURCES = 50


def make_file(path: str, records: int) -> str:
    rng = random.Random(0)
    words = "habari ya leo swali jibu kweli the museum river council library".split()
    with open(path, "w", encoding="utf-8") as f:
        for s in range(SOURCES):
            for _ in range(records // SOURCES):
                text = " ".join(rng.choice(words) for _ in range(rng.randrange(10, 60)))
                f.write(json.dumps({"inputs": f"Source {s}: {text}", "targets": f"source-{s}"}) + "\n")
    return path


def _timed(records_iter):
    fetched = collections.Counter()
    real = fileio.read_range

    def counting(path, start, end):
        data = real(path, start, end)
        fetched["bytes"] += len(data)
        return data

    fileio.read_range = counting
    try:
        start = time.process_time()
        n = sum(1 for _ in records_iter)
        cpu = time.process_time() - start
    finally:
        fileio.read_range = real
    return n, cpu, fetched["bytes"]


def run(records: int = 200_000) -> dict:
    from scipy.stats import chisquare

    with tempfile.TemporaryDirectory(prefix="mt0_vshard_") as tmp:
        path = make_file(os.path.join(tmp, "merged_sw.jsonl"), records)
        size = os.path.getsize(path)
        results = {}
        for name, kwargs in (("straight", {}), ("shuffled", {"shuffle": True, "seed": 0}),
                             ("host0of4", {"shuffle": True, "seed": 0, "shard_index": 0, "num_shards": 4})):
            n, cpu, fetched = _timed(reading.read_split([path], **kwargs))
            results[name] = {"records": n, "cpu_s": cpu, "records_per_cpu_s": n / cpu,
                             "bytes_fetched_share": fetched / size}
        first = collections.Counter(r["targets"] for _, r in itertools.islice(
            reading.read_split([path], shuffle=True, seed=0), 2048))
        p = chisquare([first.get(f"source-{s}", 0) for s in range(SOURCES)]).pvalue
    ratio = results["shuffled"]["records_per_cpu_s"] / results["straight"]["records_per_cpu_s"]
    return {
        "name": "virtual_shards", "file_mb": size / 1e6, "records": records, **results,
        "shuffled_to_straight": ratio, "first_2048_sources": len(first), "first_2048_chi2_p": p,
        "meets_target": None,
        "summary": (f"{size / 1e6:.0f} MB sorted JSONL: straight {results['straight']['records_per_cpu_s']:,.0f} "
                    f"records/CPU-s; shuffled in virtual shards {results['shuffled']['records_per_cpu_s']:,.0f} "
                    f"(x{ratio:.2f}), fetching {results['shuffled']['bytes_fetched_share']:.2f}x the file; host 0 "
                    f"of 4 fetches {results['host0of4']['bytes_fetched_share']:.0%} of it; first 2,048 shuffled "
                    f"records: {len(first)}/{SOURCES} sources, chi-square p {p:.2f}"),
    }


if __name__ == "__main__":
    print(run()["summary"])
