"""A mixture of many prompted tasks: start-up, throughput and peak memory for 1, 50 and 464 tasks.

The 464 tasks are copies of super_glue/rte "GPT-3 style" (the size of `mt5_d4_gpt_sglue_train`) over
one mirror file, at equal rates: every copy is a full task (its own source, renderer and stream), so the
growth from 1 to 464 tasks is the per-task cost alone, not a difference of data.
Each (tasks, design) runs in a fresh interpreter, as T5X would: seqio.get_dataset(mixture, shuffle=False,
repeat, EncDecFeatureConverter(pack=True), batch 32) at 256/256.

  start-up    CPU-s from get_dataset to the first packed batch
  throughput  examples per CPU-s over NUM_BATCHES batches after WARMUP_BATCHES
  memory      peak RSS minus the RSS after importing TensorFlow/seqio and registering the tasks

Designs, in the same run:
  fused        the default: StreamedMixture draws tasks in Python (seqio's order) into one pipeline
  per_task     MT0_MIXTURE_FEED=per_task: seqio's per-task pipelines over the batched boundary
  per_example  MT0_INPUT_BOUNDARY=per_example and seqio's own vocabulary class (a tokenizer, and the
               model, in every task's graph): the design before issue 13
The baseline is one task fed by its own pipeline (per_task, 1 task: sample_from_datasets returns it).
Shuffling is off: with it, seqio's per-task path first fills a 1,000-example buffer in every task.
Targets: 464 tasks (fused) >= 0.8 x one task's throughput; <= 5 MB per added task.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import make_rte_mirror  # noqa: E402

SIZES = (1, 50, 464)
DESIGNS = ("fused", "per_task", "per_example")
NUM_BATCHES = 400
WARMUP_BATCHES = 100
MIRROR_RECORDS = 50_000
TARGET_THROUGHPUT = 0.8
TARGET_MB_PER_TASK = 5.0

_TRIAL = r"""
import json, os, resource, sys
sys.path.insert(0, sys.argv[1])
from common import cpu_timer, setup_env
setup_env(sys.argv[2])
num_tasks, design, num_batches, warmup = int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
if design == "per_task":  # seqio's per-task pipelines over the batched boundary
    os.environ["MT0_MIXTURE_FEED"] = "per_task"
if design.startswith("per_example"):  # per_example_boundary: the old boundary, the shared tokenizer
    os.environ["MT0_INPUT_BOUNDARY"] = "per_example"
if design == "per_example":
    import seqio
    from multilingual_t0.pipeline import vocab
    vocab._vocabulary = lambda path: seqio.SentencePieceVocabulary(path, extra_ids=vocab.EXTRA_IDS)
import seqio
import multilingual_t0.tasks
from multilingual_t0.registry import prompted as registration
from multilingual_t0.pipeline import vocab
from multilingual_t0.catalog.datasets import find_dataset
from multilingual_t0.catalog.templates import list_templates

def rss_mb():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024

rte = find_dataset("super_glue", "rte")[0]
template = next(t for t in list_templates("super_glue", "rte") if t.name == "GPT-3 style")
features = vocab.output_features()
names = [f"bench_rte_copy_{i:03d}" for i in range(num_tasks)]
for name in names:
    registration.add_prompted_task(name, rte, template, features)
from multilingual_t0.pipeline.streamed_mixture import add_mixture
add_mixture("bench_mixture", [(n, 1.0) for n in names])
vocab.get_vocabulary().tokenizer  # the Python model, as any run loads it
base = rss_mb()
with cpu_timer() as start:
    ds = seqio.get_dataset("bench_mixture", task_feature_lengths={"inputs": 256, "targets": 256},
                           dataset_split="train", shuffle=False, num_epochs=None, use_cached=False,
                           feature_converter=seqio.EncDecFeatureConverter(pack=True), batch_size=32)
    it = ds.as_numpy_iterator()
    next(it)
with cpu_timer() as warm:
    for _ in range(warmup):
        next(it)
examples = 0
with cpu_timer() as run:
    for _ in range(num_batches):
        examples += int(next(it)["encoder_segment_ids"].max(axis=1).sum())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"tasks": num_tasks, "design": design, "startup_cpu_s": start["cpu"],
                  "startup_wall_s": start["wall"], "warmup_cpu_s": warm["cpu"], "examples": examples, "run_cpu_s": run["cpu"],
                  "per_cpu_second": examples / run["cpu"], "base_rss_mb": base, "peak_rss_mb": peak,
                  "added_mb": peak - base}), flush=True)
"""


def _trial(work: str, num_tasks: int, design: str, timeout_s: float) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("MT0_INPUT_BOUNDARY", None)
    env.pop("MT0_MIXTURE_FEED", None)
    try:
        out = subprocess.run([sys.executable, "-c", _TRIAL, os.path.dirname(os.path.abspath(__file__)), work,
                              str(num_tasks), design, str(NUM_BATCHES), str(WARMUP_BATCHES)],
                             env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as timeout:
        printed = (timeout.stdout or b"").decode() if isinstance(timeout.stdout, bytes) else (timeout.stdout or "")
        if printed.strip():  # measured, then did not exit: reported, not lost (python_calls.py)
            return dict(json.loads(printed.strip().splitlines()[-1]), exit_hang=True)
        # Seen with the per-example design at 50 tasks: the process stops using CPU (a tf.data stall).
        return {"tasks": num_tasks, "design": design, "error": f"not done after {timeout_s:.0f} s wall"}
    if out.returncode:
        raise RuntimeError(f"mixture trial ({num_tasks} tasks, {design}) failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fmt(t: dict) -> str:
    if "error" in t:
        return f"{t['tasks']} tasks: {t['error']}"
    return (f"{t['tasks']} tasks {t['per_cpu_second']:,.0f} ex/cpu-s, start-up {t['startup_cpu_s']:.1f} cpu-s, "
            f"+{t['added_mb']:,.0f} MB")


def _ok(t: dict) -> bool:
    return "error" not in t


def run(sizes=SIZES, designs=DESIGNS, timeout_s: float = 900) -> dict:
    work = tempfile.mkdtemp(prefix="mt0_bench_mixture_")
    # More records than the timed window reads (~38,000), so no task repeats its split: seqio keeps a
    # task under 10,000 catalog examples in memory after its first pass, and replaying that cache would
    # make the one-task baseline skip reading, rendering and tokenizing.
    make_rte_mirror(work, MIRROR_RECORDS, vary=True)
    trials = {}
    for d in designs:
        trials[d] = {}
        for n in sizes:
            stalled = [t for t in trials[d].values() if not _ok(t)]
            trials[d][n] = ({"tasks": n, "design": d, "error": f"not run ({stalled[0]['tasks']} tasks did not finish)"}
                            if stalled else _trial(work, n, d, timeout_s))
            print(json.dumps(trials[d][n]), file=sys.stderr, flush=True)  # progress: a trial takes minutes
    lo, hi = min(sizes), max(sizes)
    baseline = trials.get("per_task", trials["fused"])[lo]  # one task through its own pipeline
    fused = trials["fused"]
    ok = _ok(fused[hi]) and _ok(baseline)
    ratio = fused[hi]["per_cpu_second"] / baseline["per_cpu_second"] if ok else float("nan")
    ratios = {d: {n: t[n]["per_cpu_second"] / baseline["per_cpu_second"] for n in sizes if _ok(t[n])}
              for d, t in trials.items()} if _ok(baseline) else {}
    mb_per_task = {d: (t[hi]["added_mb"] - t[lo]["added_mb"]) / (hi - lo) for d, t in trials.items()
                   if _ok(t[hi]) and _ok(t[lo])}

    def line(d):
        per_task = f" ({mb_per_task[d]:.1f} MB per added task)" if d in mb_per_task else ""
        return f"{d}: " + "; ".join(_fmt(trials[d][n]) for n in sizes) + per_task

    per_task = mb_per_task.get("fused", float("nan"))
    summary = (f"{hi} tasks (fused) at {ratio:.2f}x one task's throughput (target >= {TARGET_THROUGHPUT}), "
               f"{per_task:.1f} MB per added task (target <= {TARGET_MB_PER_TASK}). "
               + " | ".join(line(d) for d in designs))
    return {"name": "mixture", "trials": trials, "throughput_ratio": ratio, "ratios_to_one_task": ratios,
            "mb_per_task": mb_per_task,
            "meets_target": ok and ratio >= TARGET_THROUGHPUT and per_task <= TARGET_MB_PER_TASK,
            "summary": summary}


if __name__ == "__main__":
    sizes = tuple(int(s) for s in sys.argv[1].split(",")) if len(sys.argv) > 1 else SIZES
    designs = tuple(sys.argv[2].split(",")) if len(sys.argv) > 2 else DESIGNS
    result = run(sizes=sizes, designs=designs)
    for design, by_size in result["trials"].items():
        for n, t in by_size.items():
            print(json.dumps(t))
    print(json.dumps(result["ratios_to_one_task"]))
    print(result["summary"])
