"""Restore cost of the resumable training input against the position it restores at.

A custom task over one 60 MB JSONL file (read in virtual shards, shuffled, as xP3's large files are) is fed
by `resumable.get_dataset` (256/64, packed, batch 16); the feed is saved after 10 and after 1,000 batches,
and a new feed (as a restarted job builds it) restores each and returns its next batch. Measured: CPU
seconds of restore + that batch, and records decoded while doing it. The baseline is the restore at batch
10, in the same run; replaying the stream instead would grow a hundredfold.

    python benchmarks/resume_bench.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import setup_env  # noqa: E402

POSITIONS = (10, 1000)
LENGTHS = {"inputs": 256, "targets": 64}


def make_file(path: str, records: int = 200_000) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for i in range(records):
            words = " ".join(f"w{(i * 7 + k) % 997}" for k in range(40))
            f.write(json.dumps({"inputs": f"Record {i}: {words}", "targets": f"answer {i % 50}"}) + "\n")


def run() -> dict:
    work = tempfile.mkdtemp(prefix="mt0_bench_resume_")
    setup_env(work)
    data = os.path.join(work, "train.jsonl")
    make_file(data)
    import seqio
    from types import SimpleNamespace

    import multilingual_t0.tasks  # noqa: F401
    from multilingual_t0 import custom, resumable
    from multilingual_t0.sources import files

    name = custom.add_task("resume_bench_big", {"train": data})
    cfg = SimpleNamespace(mixture_or_task_name=name, task_feature_lengths=LENGTHS, split="train", batch_size=16,
                          shuffle=True, seed=1, use_cached=False, pack=True, use_custom_packing_ops=False,
                          module=None, trim_output_features=True)
    decoded = [0]
    real = files.json.loads

    def counting(text, *args, **kwargs):
        decoded[0] += 1
        return real(text, *args, **kwargs)

    trials = {}
    for position in POSITIONS:
        feed = resumable.get_dataset(cfg, 0, 1, seqio.EncDecFeatureConverter)
        for _ in range(position):
            next(feed)
        path = os.path.join(work, f"ds-{position}")
        feed.save(path)
        expected = next(feed)
        restarted = resumable.get_dataset(cfg, 0, 1, seqio.EncDecFeatureConverter)
        files.json.loads = counting
        decoded[0] = 0
        start = time.process_time()
        restarted.restore(path)
        got = next(restarted)
        cpu = time.process_time() - start
        files.json.loads = real
        assert all((got[k] == expected[k]).all() for k in got), f"restore at {position} is not the continuation"
        trials[position] = {"cpu_s": cpu, "records_decoded": decoded[0]}
    low, high = (trials[p] for p in POSITIONS)
    ratio = high["cpu_s"] / low["cpu_s"]
    summary = (f"restore + next batch at batch {POSITIONS[1]:,}: {high['cpu_s']:.2f} CPU-s, {high['records_decoded']:,} "
               f"records decoded; at batch {POSITIONS[0]}: {low['cpu_s']:.2f} CPU-s, {low['records_decoded']:,} "
               f"(x{ratio:.2f} for 100x the position; target <= 2; what is read again is bounded by the shuffle window, "
               f"MT0_SHUFFLE_BUFFER records, and one group, which the reader reaches early on); 60 MB sorted JSONL, "
               f"virtual shards, 256/64 packed")
    return {"name": "resume", "summary": summary, "trials": trials, "ratio": ratio, "meets_target": ratio <= 2.0}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
