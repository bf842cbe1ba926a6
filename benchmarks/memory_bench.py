"""Memory: peak RSS while streaming a split 10x larger than a small one stays flat.

Each size runs in a fresh interpreter: read -> render -> tokenize -> pack for super_glue/rte from a
mirror file, consumed in batches as T5X does. The large file is 10x the small one (far more than the
few-MB budget the small run settles at), so a reader that buffered the split would show it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import make_rte_mirror  # noqa: E402

_TRIAL = r"""
import json, os, resource, sys
sys.path.insert(0, sys.argv[1])
from common import setup_env
setup_env(sys.argv[2])
import seqio, multilingual_t0.tasks
ds = seqio.get_dataset("super_glue_rte_GPT_3_style", task_feature_lengths={"inputs": 256, "targets": 256},
                       dataset_split="train", shuffle=False, num_epochs=1, use_cached=False,
                       feature_converter=seqio.EncDecFeatureConverter(pack=True), batch_size=32)
rows = sum(int(b["encoder_input_tokens"].shape[0]) for b in ds.as_numpy_iterator())
print(json.dumps({"rows": rows, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _peak(work: str) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", _TRIAL, os.path.dirname(os.path.abspath(__file__)), work],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(small: int = 5_000, factor: int = 10) -> dict:
    results = {}
    for label, n in (("small", small), ("large", small * factor)):
        work = tempfile.mkdtemp(prefix=f"mt0_bench_memory_{label}_")
        path = make_rte_mirror(work, n, words_per_premise=120)
        results[label] = {"records": n, "file_mb": os.path.getsize(path) / 2**20, **_peak(work)}
    ratio = results["large"]["peak_rss_mb"] / results["small"]["peak_rss_mb"]
    return {
        "name": "memory", "runs": results, "peak_ratio": ratio, "meets_target": ratio < 1.15,
        "summary": (f"peak RSS {results['small']['peak_rss_mb']:.0f} MB for {small:,} records "
                    f"({results['small']['file_mb']:.0f} MB file) vs {results['large']['peak_rss_mb']:.0f} MB "
                    f"for {small * factor:,} ({results['large']['file_mb']:.0f} MB): x{ratio:.2f} (target < 1.15)"),
    }


if __name__ == "__main__":
    print(run()["summary"])
