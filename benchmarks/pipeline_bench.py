"""Prompted pipeline throughput, all measured on the same made-up records in one run.

  render       read -> render only (Python, no TensorFlow)
  bound        tokenize + pack only: the rendered strings already in memory, batched tokenize + EOS,
               seqio's EncDecFeatureConverter(pack=True) (the TensorFlow upper bound of the pipeline)
  batched      the full pipeline as T5X gets it: seqio Task (read -> render -> tokenize -> EOS) + the
               same packing converter, with the batched Python -> TF boundary (the default)
  per_example  the same with `MT0_INPUT_BOUNDARY=per_example` (one example per from_generator call and
               seqio's per-example tokenize: the previous design, but with the shared TF tokenizer)
  reference    T0's design: HF Dataset.map(apply_template) -> from_generator -> same tokenize/pack;
               one cold pass (its HF map runs inside the timed pass)

Vocabulary and records: see common.py (`$MT0_VOCAB` is honoured); lengths 256/256, where a packed row
holds ~3 examples. Each stage but the reference runs `ROUNDS` times, interleaved; the median counts
(the machine is shared). Reported as examples per CPU-second (user+sys of all threads).
Target: batched >= 0.7 x bound.
"""

from __future__ import annotations

import functools
import os
import statistics
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import cpu_timer, make_rte_mirror, rate, setup_env  # noqa: E402

TEMPLATE = "GPT-3 style"
TASK = "super_glue_rte_GPT_3_style"
LENGTHS = {"inputs": 256, "targets": 256}
BATCH = 32
ROUNDS = 3
TARGET_VS_BOUND = 0.7


def _count_packed(ds) -> dict:
    """Examples and rows in packed batches (segment ids run 1..k in a row holding k examples)."""
    examples = rows = 0
    for batch in ds.as_numpy_iterator():
        examples += int(batch["encoder_segment_ids"].max(axis=1).sum())
        rows += batch["encoder_segment_ids"].shape[0]
    return {"examples": examples, "rows": rows}


def _packed(seqio, name: str):
    return seqio.get_dataset(name, task_feature_lengths=LENGTHS, dataset_split="train", shuffle=False,
                             num_epochs=1, use_cached=False,
                             feature_converter=seqio.EncDecFeatureConverter(pack=True), batch_size=BATCH)


def _full(seqio, boundary: str) -> dict:
    os.environ["MT0_INPUT_BOUNDARY"] = boundary
    try:
        return _count_packed(_packed(seqio, TASK))
    finally:
        os.environ.pop("MT0_INPUT_BOUNDARY", None)


def _render_only() -> dict:
    import seqio

    source = seqio.get_mixture_or_task(TASK).source
    return {"examples": sum(1 for _ in source.iter_examples("train"))}


def _bound(seqio, texts) -> dict:
    """Tokenize + EOS on batches of in-memory strings, then the same packing converter."""
    import tensorflow as tf

    from multilingual_t0.pipeline import vocab

    v = vocab.get_vocabulary()

    def tokenize(batch):
        targets = v.encode_tf(batch["targets"])
        eos = tf.fill([targets.nrows(), 1], tf.cast(v.eos_id, targets.dtype))
        targets = tf.concat([targets, eos], axis=1)  # trimmed as the Task trims
        return {"inputs": v.encode_tf(batch["inputs"])[:, :LENGTHS["inputs"]],
                "targets": targets[:, :LENGTHS["targets"]]}

    ds = tf.data.Dataset.from_tensor_slices({"inputs": list(texts[0]), "targets": list(texts[1])})
    ds = ds.batch(256).map(tokenize, num_parallel_calls=tf.data.AUTOTUNE).unbatch()
    ds = seqio.EncDecFeatureConverter(pack=True)(ds, LENGTHS).batch(BATCH, drop_remainder=True)  # as seqio
    return _count_packed(ds)


def _reference_dataset_fn(split, shuffle_files, seed=None, data_file=None):
    """T0's get_tf_dataset: datasets.load_dataset -> map(apply_template) -> from_generator."""
    import datasets
    import tensorflow as tf
    from promptsource.templates import DatasetTemplates

    del split, shuffle_files, seed
    template = DatasetTemplates("super_glue", "rte")[TEMPLATE]

    def apply(ex):
        parts = template.apply(ex)
        return {"inputs": parts[0], "targets": parts[1]} if len(parts) == 2 else {"inputs": "", "targets": ""}

    hf = datasets.load_dataset("json", data_files=data_file, split="train")
    hf = hf.map(apply, remove_columns=hf.column_names)
    hf = hf.filter(lambda ex: len(ex["inputs"]) > 0 and len(ex["targets"]) > 0)

    def gen():
        for ex in hf:
            yield ex

    return tf.data.Dataset.from_generator(gen, output_signature={
        "inputs": tf.TensorSpec((), tf.string), "targets": tf.TensorSpec((), tf.string)})


def _reference(seqio, data_file) -> dict:
    from multilingual_t0.pipeline import vocab

    name = "benchmark_t0_reference_rte"
    if name not in seqio.TaskRegistry.names():
        seqio.TaskRegistry.add(
            name, seqio.FunctionDataSource(functools.partial(_reference_dataset_fn, data_file=data_file),
                                           splits=["train"]),
            output_features=vocab.output_features(),
            preprocessors=[seqio.preprocessors.tokenize, seqio.preprocessors.append_eos])
    return _count_packed(_packed(seqio, name))


def run(num_records: int = 20_000) -> dict:
    work = tempfile.mkdtemp(prefix="mt0_bench_pipeline_")
    data_file = make_rte_mirror(work, num_records, vary=True)
    setup_env(work)
    os.environ["HF_DATASETS_CACHE"] = os.path.join(work, "hf_cache")
    import seqio

    import multilingual_t0.tasks  # noqa: F401
    from multilingual_t0.pipeline import vocab

    rendered = list(seqio.get_mixture_or_task(TASK).source.iter_examples("train"))
    texts = list(zip(*((e["inputs"], e["targets"]) for e in rendered)))
    sp = vocab.get_vocabulary().tokenizer
    words = sum(len(t.split()) for t in texts[0][:2000])
    pieces = [len(sp.EncodeAsIds(t)) for t in texts[0][:2000]]
    stages = {"render": _render_only, "bound": lambda: _bound(seqio, texts),
              "batched": lambda: _full(seqio, "batched"), "per_example": lambda: _full(seqio, "per_example")}
    trials = {label: [] for label in stages}
    for _ in range(ROUNDS):
        for label, fn in stages.items():
            with cpu_timer() as t:
                counted = fn()
            trials[label].append({**rate(counted["examples"], t), **counted})
    results = {label: min(ts, key=lambda r: abs(r["per_cpu_second"] - statistics.median(
        x["per_cpu_second"] for x in ts))) for label, ts in trials.items()}
    with cpu_timer() as t:
        counted = _reference(seqio, data_file)
    results["reference"] = {**rate(counted["examples"], t), **counted}
    counts = {k: results[k]["examples"] for k in ("bound", "batched", "per_example")}
    assert len(set(counts.values())) == 1, f"the stages packed different examples: {counts}"
    speed = {k: r["per_cpu_second"] for k, r in results.items()}
    per_row = results["batched"]["examples"] / results["batched"]["rows"]
    vs_bound = speed["batched"] / speed["bound"]
    return {
        "name": "pipeline", "records": num_records, "stages": results, "trials": trials,
        "vocab": vocab.vocabulary_path(), "vocab_pieces": sp.GetPieceSize(),
        "pieces_per_word": sum(pieces) / words, "mean_input_tokens": float(np.mean(pieces)),
        "examples_per_row": per_row, "batched_vs_bound": vs_bound,
        "batched_vs_per_example": speed["batched"] / speed["per_example"],
        "meets_target": vs_bound >= TARGET_VS_BOUND,
        "summary": (f"batched {speed['batched']:,.0f} ex/cpu-s = {vs_bound:.2f}x the tokenize+pack bound "
                    f"({speed['bound']:,.0f}; target >= {TARGET_VS_BOUND}) and "
                    f"{speed['batched'] / speed['per_example']:.2f}x per_example ({speed['per_example']:,.0f}); "
                    f"render-only {speed['render']:,.0f}; T0 reference {speed['reference']:,.0f} (one cold pass). "
                    f"{sp.GetPieceSize():,}-piece vocab, {sum(pieces) / words:.2f} pieces/word, inputs "
                    f"{np.mean(pieces):.0f} tokens, {per_row:.1f} examples per packed row"),
    }


if __name__ == "__main__":
    result = run(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
    for stage, r in result["stages"].items():
        print(f"{stage:12s} {r['examples']:>7} examples  {r['per_cpu_second']:>9,.0f} /cpu-s  "
              f"{r['per_second']:>9,.0f} /s  ({r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s cpu)")
    print(result["summary"])
