"""Clean exits: processes that build the 464-task T0 mixture's feed, read a few batches and exit with the
iterator still live. A process still running 60 s after it printed its batches is counted as a hang
(killed). On a pod, a host that hangs at exit holds the whole slice.

Two feeds, measured side by side in the same run:
* resumable: what T5X trains on (`resumable.get_dataset`, the run gins' get_dataset_fn). No Python runs on
  tf.data's threads: groups of examples are drawn in Python and packed by one TensorFlow call.
* tf.data: the same mixture through `seqio.get_dataset` (StreamedMixture's fused tf.data pipeline, whose
  Python calls are drained at exit by pipeline/python_calls.py): the baseline.

    python benchmarks/exit_bench.py [--processes 100] [--parallel 2] [--feeds resumable,tfdata]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIXTURE = "mt5_d4_gpt_sglue_train"
LENGTHS = {"inputs": 256, "targets": 64}
BATCHES = 3
AFTER_PRINT_S = 60.0

CHILD = r"""
import json, sys
import multilingual_t0.tasks  # noqa: F401
import seqio
feed_kind, mixture, batches = sys.argv[1], sys.argv[2], int(sys.argv[3])
lengths = json.loads(sys.argv[4])
if feed_kind == "resumable":
    from multilingual_t0 import resumable
    from types import SimpleNamespace
    cfg = SimpleNamespace(mixture_or_task_name=mixture, task_feature_lengths=lengths, split="train", batch_size=8,
                          shuffle=True, seed=1, use_cached=False, pack=True, use_custom_packing_ops=False,
                          module=None, trim_output_features=True)
    it = resumable.get_dataset(cfg, 0, 1, seqio.EncDecFeatureConverter)
else:
    ds = seqio.get_dataset(mixture, lengths, seqio.EncDecFeatureConverter(pack=True), "train", shuffle=True,
                           seed=1, num_epochs=None, batch_size=8)
    it = ds.as_numpy_iterator()
for _ in range(batches):
    next(it)
print("read", flush=True)
# exit with `it` live
"""


def _one(feed: str, vocab: str, work: str) -> str:
    """'clean', 'hang' (killed AFTER_PRINT_S after printing) or 'error: ...'."""
    env = {**os.environ, "MT0_DATA_SOURCE": "samples", "MT0_VOCAB": vocab, "TF_CPP_MIN_LOG_LEVEL": "2",
           "PYTHONPATH": REPO}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, feed, MIXTURE, str(BATCHES), json.dumps(LENGTHS)],
                            env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # blocks until the batches were read (or the process died)
    if line.strip() != "read":
        proc.wait()
        return "error: " + proc.stderr.read()[-500:]
    try:
        proc.wait(timeout=AFTER_PRINT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return "hang"
    return "clean" if proc.returncode == 0 else f"error: exit {proc.returncode}: {proc.stderr.read()[-300:]}"


def run(processes: int = 100, parallel: int = 2, feeds=("resumable", "tfdata")) -> dict:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from common import bench_vocab

    vocab = bench_vocab()
    work = tempfile.mkdtemp(prefix="mt0_bench_exit_")
    jobs = [feed for _ in range(processes) for feed in feeds]  # interleaved: both see the same machine load
    start = time.time()
    with ThreadPoolExecutor(parallel) as pool:
        outcomes = list(pool.map(lambda feed: (feed, _one(feed, vocab, work)), jobs))
    counts = {feed: {"clean": 0, "hang": 0, "error": 0} for feed in feeds}
    errors = []
    for feed, outcome in outcomes:
        kind = outcome.split(":")[0]
        counts[feed][kind] += 1
        if kind == "error":
            errors.append(f"{feed}: {outcome}")
    summary = "; ".join(f"{feed}: {c['hang']} hangs in {sum(c.values())} exits" +
                        (f" ({c['error']} errors)" if c["error"] else "") for feed, c in counts.items())
    return {"name": "exit", "summary": summary, "counts": counts, "errors": errors[:5],
            "meets_target": counts.get("resumable", {}).get("hang", 1) == 0 and not counts["resumable"]["error"]
            if "resumable" in counts else None,
            "wall_s": time.time() - start}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=100, help="processes per feed")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--feeds", default="resumable,tfdata")
    args = parser.parse_args(argv)
    result = run(args.processes, args.parallel, tuple(args.feeds.split(",")))
    print(json.dumps(result, indent=2))
    return 0 if result["meets_target"] is not False else 1


if __name__ == "__main__":
    sys.exit(main())
