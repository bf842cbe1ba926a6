"""`make demo`: the main job on the embedded sample data, as T5X would feed it.

Trains (or reuses) a small local SentencePiece model, points the tasks at the sample records, and runs
`mt5_d4_gpt_sglue_train` through seqio.get_dataset and T5X's encoder-decoder feature converter with
packing at inputs 256 / targets 256 (the original run's lengths).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import textwrap
import threading
import time

from multilingual_t0 import settings
from multilingual_t0.pipeline.sample_vocab import ensure_vocab


def _say(text: str = "") -> None:
    print(text, flush=True)


def _progress(total: int, done: threading.Event) -> None:
    from multilingual_t0.pipeline.prompted_source import PromptedDataSource  # TensorFlow: after the timing

    start = time.time()
    while not done.wait(1.0):
        sys.stderr.write(f"\r  building task pipelines: {PromptedDataSource.pipelines_built}/{total} "
                         f"({time.time() - start:.0f} s)")
        sys.stderr.flush()
    sys.stderr.write("\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixture", default="mt5_d4_gpt_sglue_train")
    parser.add_argument("--work-dir", default=os.path.join(".cache", "demo"))
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--inputs-length", type=int, default=256)
    parser.add_argument("--targets-length", type=int, default=256)
    args = parser.parse_args(argv)

    vocab_path = os.path.abspath(os.path.join(args.work_dir, "sample_spm.model"))
    _say(f"1. Vocabulary: a small SentencePiece model trained on the sample text\n   ({vocab_path};"
         " real runs use mT5's 250k vocabulary).")
    ensure_vocab(vocab_path)
    settings.current().replace(vocab=vocab_path, source="samples").export()  # before registration binds it

    t0 = time.time()
    import seqio  # noqa: F401  (heavy imports, timed separately from registration)
    import t5  # noqa: F401
    t1 = time.time()
    # Imported here, after the settings are exported, so the timings below separate the heavy imports
    # (TensorFlow, seqio, t5) from registration.
    from multilingual_t0.registry.all_tasks import register_all
    from multilingual_t0.registry.specs import build_mixture_specs

    register_all()
    t2 = time.time()
    num_tasks = len(seqio.TaskRegistry.names())
    _say(f"2. Registered {num_tasks} tasks and {len(seqio.MixtureRegistry.names())} mixtures in "
         f"{t2 - t1:.2f} s (seqio + t5 imports took {t1 - t0:.1f} s).")

    mixture = seqio.get_mixture_or_task(args.mixture)
    spec = {m.name: m for m in build_mixture_specs()}[args.mixture]
    top = sorted(spec.tasks, key=lambda kv: -kv[1])[:5]
    total_rate = sum(r for _, r in spec.tasks)
    _say(f"3. {args.mixture}: {len(mixture.tasks)} prompted tasks (dataset x promptsource template). "
         "Largest rates (T0's rule):")
    for name, rate in top:
        _say(f"     {rate:>9,}  {100 * rate / total_rate:5.2f}%  {name}")

    _say("4. A few rendered examples (record -> template -> inputs / targets):")
    for name in (spec.tasks[0][0], spec.tasks[len(spec.tasks) // 2][0], spec.tasks[-1][0]):
        example = next(iter(seqio.get_mixture_or_task(name).source.iter_examples("train")))
        _say(f"   [{name}]")
        _say(textwrap.indent(textwrap.shorten("inputs:  " + example["inputs"], 300), "     "))
        _say(textwrap.indent(textwrap.shorten("targets: " + example["targets"], 200), "     "))

    lengths = {"inputs": args.inputs_length, "targets": args.targets_length}
    _say(f"5. seqio.get_dataset + EncDecFeatureConverter(pack=True) at {lengths}, as T5X's train.py:")
    done = threading.Event()
    watcher = threading.Thread(target=_progress, args=(len(mixture.tasks), done), daemon=True)
    watcher.start()
    # T5X shuffles (a 1,000-example buffer per task). On 3-5 sample records per task that buffer would
    # re-render every record hundreds of times before the first batch, so the demo reads in order;
    # the mixture still samples tasks at random by their rates.
    ds = seqio.get_dataset(args.mixture, task_feature_lengths=lengths, dataset_split="train",
                           shuffle=False, num_epochs=None, seed=0, use_cached=False,
                           feature_converter=seqio.EncDecFeatureConverter(pack=True))
    ds = ds.batch(args.batch_size, drop_remainder=True)
    done.set()
    watcher.join()
    _say(f"   pipeline built in {time.time() - t2:.1f} s")

    import numpy as np

    start, examples, first, steady_start = time.time(), 0, None, None
    iterator = ds.take(args.batches + 1).as_numpy_iterator()
    for i, batch in enumerate(iterator):
        if first is None:  # the first batch opens every task's reader: reported apart
            first, steady_start = batch, time.time()
            _say(f"   first batch after {steady_start - start:.1f} s (opens all {len(mixture.tasks)} task readers)")
            continue
        segments = batch["encoder_segment_ids"]
        examples += int(sum(len(set(row[row > 0].tolist())) for row in segments))
        sys.stderr.write(f"\r  batch {i}/{args.batches}")
    sys.stderr.write("\n")
    elapsed = time.time() - steady_start
    del iterator, ds  # release tf.data's generator state before interpreter shutdown
    gc.collect()
    _say("   packed batch features:")
    for key, value in first.items():
        _say(f"     {key:32s} {str(value.shape):12s} {value.dtype}")
    fill = float(np.mean(first["encoder_input_tokens"] > 0))
    _say(f"   then {examples} prompted examples packed into {args.batches * args.batch_size} rows "
         f"in {elapsed:.1f} s: {examples / elapsed:.0f} examples/s; first batch's encoder rows "
         f"{100 * fill:.0f}% filled.")
    _say("Done. A TPU run feeds exactly these batches to mT5; see README for `scripts/first_run.sh`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
