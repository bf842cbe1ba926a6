"""Cloud storage: reading a 50,000-record mirror from a bucket (through gcp-storage-emulator's GCS JSON
API on 127.0.0.1) vs the same files on local disk, in one run.

The mirror is what `mt0 download` writes (super_glue/rte train: 5 gzipped shards of permuted records
and the counts file). Each trial runs in a fresh interpreter that imports only the reader (no
TensorFlow), so its peak RSS shows what reading adds: records/s, and peak RSS before and after
reading the whole split, in file order and shuffled. The emulator is a single-threaded Python server on
the same 2 cores, so the ratio is a floor for real GCS, not an estimate of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
from common import make_rte_mirror  # noqa: E402
from gcs_emulator import make_bucket, running_emulator, upload_tree  # noqa: E402

_TRIAL = r"""
import json, resource, sys, time
from multilingual_t0 import settings
from multilingual_t0.catalog.datasets import find_dataset
from multilingual_t0.sources.layouts import catalog_split
from multilingual_t0.sources.located import locate
spec = find_dataset("super_glue", "rte")[0]
shuffle = sys.argv[2] == "shuffled"
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
start = time.perf_counter()
located = locate(catalog_split(spec, spec.split("train")),
                 settings.current().replace(source="mirror", data_dir=sys.argv[1]))
count = sum(1 for _ in located.records(shuffle=shuffle, seed=0))
seconds = time.perf_counter() - start
print(json.dumps({"records": count, "seconds": seconds, "records_per_s": count / seconds,
                  "rss_before_mb": before, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _trial(data_dir: str, order: str, env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", _TRIAL, data_dir, order], env=env, capture_output=True,
                         text=True, check=True, timeout=1800)
    return json.loads(out.stdout.strip().splitlines()[-1])


def build_mirror(root: str, num_records: int) -> str:
    """`mt0 download`'s layout for a made-up RTE train split of num_records."""
    from multilingual_t0.sources import download

    flat = make_rte_mirror(os.path.join(root, "flat"), num_records)
    base = os.path.join(root, "mirror", "super_glue", "rte", "train")
    with open(flat, encoding="utf-8") as f:
        download.write_shuffled_shards((json.loads(line) for line in f), base, download.shard_count(num_records))
    return os.path.join(root, "mirror")


def run(num_records: int = 50_000) -> dict:
    with tempfile.TemporaryDirectory(prefix="mt0_gcs_bench_") as work:
        local = build_mirror(work, num_records)
        size_mb = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(local) for f in fs) / 2 ** 20
        with running_emulator() as url:
            os.environ["STORAGE_EMULATOR_HOST"] = url
            bucket = make_bucket("mt0-bench")
            upload_tree(local, bucket + "/mirror")
            env = dict(os.environ, STORAGE_EMULATOR_HOST=url,
                       PYTHONPATH=os.pathsep.join(filter(None, [os.path.dirname(HERE), os.environ.get("PYTHONPATH")])))
            results = {f"{where}_{order}": _trial(path, order, env)
                       for order in ("in_order", "shuffled")
                       for where, path in (("local", local), ("gcs", bucket + "/mirror"))}
            del os.environ["STORAGE_EMULATOR_HOST"]
    for r in results.values():
        assert r["records"] == num_records, r
    ratio = results["gcs_in_order"]["records_per_s"] / results["local_in_order"]["records_per_s"]
    growth = {k: r["peak_rss_mb"] - r["rss_before_mb"] for k, r in results.items()}
    summary = (f"{num_records:,} records ({size_mb:.1f} MB gzipped, 5 shards): local "
               f"{results['local_in_order']['records_per_s']:,.0f}/s, emulator "
               f"{results['gcs_in_order']['records_per_s']:,.0f}/s (x{ratio:.2f}); shuffled local "
               f"{results['local_shuffled']['records_per_s']:,.0f}/s, emulator "
               f"{results['gcs_shuffled']['records_per_s']:,.0f}/s; peak RSS growth while reading: "
               + ", ".join(f"{k} +{v:.0f} MB" for k, v in growth.items()))
    return {"name": "cloud storage (gs:// via emulator vs local)", "summary": summary, "ratio": ratio,
            "rss_growth_mb": growth, "results": results}


if __name__ == "__main__":
    result = run(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
    print(result["summary"])
    print(json.dumps(result["results"], indent=2))
