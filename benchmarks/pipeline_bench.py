"""Prompted pipeline throughput, all measured on the same made-up records in one run.

  full       read -> render -> tokenize -> pack (seqio Task + EncDecFeatureConverter, as T5X feeds it)
  render     read -> render only (the Python upper bound of the full pipeline)
  tokenize   tokenize pre-rendered strings only (the TensorFlow upper bound)
  reference  T0's design: HF Dataset.map(apply_template) -> tf.data from_generator -> same tokenize/pack

Reported as examples per CPU-second (per core; tf.data runs on several threads) and per wall second.
Targets: full >= 0.5 x render-only, and >= 2 x the reference design.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import cpu_timer, make_rte_mirror, rate, setup_env  # noqa: E402

TEMPLATE = "GPT-3 style"
TASK = "super_glue_rte_GPT_3_style"
LENGTHS = {"inputs": 256, "targets": 256}


def _count_packed(ds) -> int:
    examples = 0
    for batch in ds.as_numpy_iterator():
        for row in batch["encoder_segment_ids"]:
            examples += len(set(row[row > 0].tolist()))
    return examples


def _full(seqio) -> int:
    ds = seqio.get_dataset(TASK, task_feature_lengths=LENGTHS, dataset_split="train", shuffle=False,
                           num_epochs=1, use_cached=False, feature_converter=seqio.EncDecFeatureConverter(pack=True),
                           batch_size=32)
    return _count_packed(ds)


def _render_only() -> int:
    import seqio

    source = seqio.get_mixture_or_task(TASK).source
    return sum(1 for _ in source.iter_examples("train"))


def _tokenize_only(seqio, texts) -> int:
    import tensorflow as tf

    from multilingual_t0 import vocab

    ds = tf.data.Dataset.from_tensor_slices({"inputs": list(texts[0]), "targets": list(texts[1])})
    ds = seqio.preprocessors.tokenize(ds, vocab.output_features())  # the stage the full pipeline uses
    # Consumed in batches, as the full pipeline is: per-element Python iteration would dominate.
    ds = ds.padded_batch(32)
    return sum(int(b["inputs"].shape[0]) for b in ds.as_numpy_iterator())


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


def _reference(seqio, data_file) -> int:
    from multilingual_t0 import vocab

    name = "benchmark_t0_reference_rte"
    if name not in seqio.TaskRegistry.names():
        seqio.TaskRegistry.add(
            name, seqio.FunctionDataSource(functools.partial(_reference_dataset_fn, data_file=data_file),
                                           splits=["train"]),
            output_features=vocab.output_features(),
            preprocessors=[seqio.preprocessors.tokenize, seqio.preprocessors.append_eos])
    ds = seqio.get_dataset(name, task_feature_lengths=LENGTHS, dataset_split="train", shuffle=False,
                           num_epochs=1, use_cached=False, feature_converter=seqio.EncDecFeatureConverter(pack=True),
                           batch_size=32)
    return _count_packed(ds)


def run(num_records: int = 20_000) -> dict:
    work = tempfile.mkdtemp(prefix="mt0_bench_pipeline_")
    data_file = make_rte_mirror(work, num_records)
    setup_env(work)
    os.environ["HF_DATASETS_CACHE"] = os.path.join(work, "hf_cache")
    import seqio

    import multilingual_t0.tasks  # noqa: F401

    texts = list(zip(*((e["inputs"], e["targets"]) for e in
                       seqio.get_mixture_or_task(TASK).source.iter_examples("train"))))
    results = {}
    for label, fn in (("render", _render_only), ("tokenize", lambda: _tokenize_only(seqio, texts)),
                      ("full", lambda: _full(seqio)), ("reference", lambda: _reference(seqio, data_file))):
        with cpu_timer() as t:
            count = fn()
        results[label] = rate(count, t)
    full, render, ref = (results[k]["per_cpu_second"] for k in ("full", "render", "reference"))
    return {
        "name": "pipeline", "records": num_records, "stages": results,
        "full_vs_render": full / render, "full_vs_reference": full / ref,
        "meets_target": full >= 0.5 * render and full >= 2 * ref,
        "summary": (f"full {full:,.0f} ex/cpu-s; render-only {render:,.0f}; tokenize-only "
                    f"{results['tokenize']['per_cpu_second']:,.0f}; T0 reference {ref:,.0f}. "
                    f"full/render = {full / render:.2f} (target >= 0.5), full/reference = {full / ref:.2f} "
                    "(target >= 2)"),
    }


if __name__ == "__main__":
    result = run(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
    for stage, r in result["stages"].items():
        print(f"{stage:10s} {r['examples']:>7} examples  {r['per_cpu_second']:>9,.0f} /cpu-s  "
              f"{r['per_second']:>9,.0f} /s  ({r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s cpu)")
    print(result["summary"])
