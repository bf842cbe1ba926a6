"""Memory: what the reader adds while streaming a split stays flat when the split is 10x larger.

Peak RSS is dominated by importing TensorFlow and seqio (~1.1 GB), so comparing whole-process peaks cannot
see a reader that holds the split. This measures only what streaming adds, from a baseline taken after the
imports and a warm-up pass over another split (templates compiled, tf.data functions traced):

* reader: tracemalloc peak of Python allocations while `PromptedDataSource.iter_examples` reads and renders
  the whole train split of super_glue/rte from a mirror file;
* pipeline: resident memory growth (sampled at every batch) while the same split goes through
  `seqio.get_dataset` -> tokenize -> pack into batches, as T5X consumes it.

Each run is a fresh interpreter. The figure is the share of the extra data kept: (growth for the large split
- growth for the small one) / (large file - small file), both measured in the same run. A streaming reader
keeps none of it; a reader that buffers the split keeps all of it or more. The same trials run once more
with such a reader (iter_examples patched to list the split on first use) as a control, which must fail,
so a benchmark that cannot see buffering says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import make_rte_mirror  # noqa: E402

TARGETS = {"reader": 0.05, "pipeline": 0.25}  # at most this share of the extra data may stay in memory

_TRIAL = r"""
import json, os, sys, tracemalloc
sys.path.insert(0, sys.argv[1])
from common import setup_env
setup_env(sys.argv[2])
measure, buffering = sys.argv[3], sys.argv[4] == "buffering"
import seqio, multilingual_t0.tasks
from multilingual_t0.pipeline.prompted_source import PromptedDataSource

if buffering:  # the control: a reader that holds the whole split once it starts reading
    original = PromptedDataSource.iter_examples

    def buffered(self, *args, **kwargs):
        stream = original(self, *args, **kwargs)  # locates the split now, as the real one does

        def held():
            yield from list(stream)
        return held()
    PromptedDataSource.iter_examples = buffered

TASK = "super_glue_rte_GPT_3_style"


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def pipeline(split):
    return seqio.get_dataset(TASK, task_feature_lengths={"inputs": 256, "targets": 256}, dataset_split=split,
                             shuffle=False, num_epochs=1, use_cached=False,
                             feature_converter=seqio.EncDecFeatureConverter(pack=True), batch_size=32)


source = seqio.get_mixture_or_task(TASK).source
if measure == "reader":
    tracemalloc.start()
    warm = sum(1 for _ in source.iter_examples("validation"))
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    rows = sum(1 for _ in source.iter_examples("train"))
    growth = (tracemalloc.get_traced_memory()[1] - base) / 2**20
else:
    warm = sum(1 for _ in pipeline("validation").as_numpy_iterator())
    base = peak = rss_mb()
    rows, curve = 0, []  # growth every 100 batches: a plateau is allocator warm-up, a slope is retention
    for i, batch in enumerate(pipeline("train").as_numpy_iterator()):
        rows += int(batch["encoder_input_tokens"].shape[0])
        peak = max(peak, rss_mb())
        if i % 100 == 0:
            curve.append(round(peak - base, 1))
    growth = peak - base
print(json.dumps({"rows": rows, "warm_up_rows": warm, "growth_mb": growth,
                  "curve_mb": curve if measure == "pipeline" else None}))
"""


def _trial(work: str, measure: str, reader: str) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", _TRIAL, os.path.dirname(os.path.abspath(__file__)), work,
                          measure, reader], env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"memory trial failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _mirror(label: str, n: int, words: int) -> tuple:
    work = tempfile.mkdtemp(prefix=f"mt0_bench_memory_{label}_")
    path = make_rte_mirror(work, n, words_per_premise=words)
    make_rte_mirror(work, 200, words_per_premise=words, split="validation", seed=1)  # the warm-up split
    return work, os.path.getsize(path) / 2**20


def run(small: int = 2_000, factor: int = 10, words: int = 300, with_control: bool = True) -> dict:
    mirrors = {"small": _mirror("small", small, words), "large": _mirror("large", small * factor, words)}
    extra_mb = mirrors["large"][1] - mirrors["small"][1]
    results = {}
    for reader in ("streaming", "buffering") if with_control else ("streaming",):
        for measure in TARGETS:
            runs = {size: _trial(work, measure, reader) for size, (work, _) in mirrors.items()}
            kept = (runs["large"]["growth_mb"] - runs["small"]["growth_mb"]) / extra_mb
            results[f"{reader}/{measure}"] = {"runs": runs, "kept_share": kept, "target": TARGETS[measure],
                                              "meets_target": kept < TARGETS[measure]}
    streaming_ok = all(r["meets_target"] for k, r in results.items() if k.startswith("streaming/"))
    control_fails = all(not r["meets_target"] for k, r in results.items() if k.startswith("buffering/"))

    def figure(key):
        r = results[key]
        return (f"{r['runs']['small']['growth_mb']:.1f} -> {r['runs']['large']['growth_mb']:.1f} MB, "
                f"kept {100 * r['kept_share']:.0f}% (target < {100 * r['target']:.0f}%)")

    summary = (f"{small:,} vs {small * factor:,} records (+{extra_mb:.0f} MB of file): reader (tracemalloc) "
               f"{figure('streaming/reader')}; pipeline (RSS growth) {figure('streaming/pipeline')}")
    if with_control:
        summary += (f"; control, a reader that buffers the split: reader {figure('buffering/reader')}, "
                    f"pipeline {figure('buffering/pipeline')} -> {'fails' if control_fails else 'PASSES (benchmark blind)'}")
    return {"name": "memory", "file_mb": {k: v[1] for k, v in mirrors.items()}, "results": results,
            "control_fails": control_fails if with_control else None,
            "meets_target": streaming_ok and (control_fails or not with_control), "summary": summary}


if __name__ == "__main__":
    print(run()["summary"])
