"""Reading the examples of any task (the CLI, export, checks): text, and token ids through seqio."""

from __future__ import annotations

from typing import Dict, Iterator, Optional

from multilingual_t0.pipeline.prompted_source import PromptedDataSource
from multilingual_t0.pipeline.vocab import check_vocabulary


def default_split(task, wanted: Optional[str]) -> str:
    if wanted:
        if wanted not in task.splits:
            raise ValueError(f"task {task.name!r} has no split {wanted!r}; it has: {', '.join(task.splits)}")
        return wanted
    return "train" if "train" in task.splits else task.splits[0]


def iter_tokenized(task, split: str) -> Iterator[Dict]:
    """Examples after the task's preprocessors, untruncated: text fields decoded, token ids as lists."""
    check_vocabulary()
    ds = task.get_dataset(sequence_length=None, split=split, shuffle=False, use_cached=False)
    for ex in ds.as_numpy_iterator():
        out = {}
        for key, value in ex.items():
            if isinstance(value, bytes):
                out[key] = value.decode("utf-8")
            elif hasattr(value, "tolist"):
                value = value.tolist()
                out[key] = [v.decode("utf-8") if isinstance(v, bytes) else v for v in value] \
                    if isinstance(value, list) else value
            else:
                out[key] = value
        yield out


def iter_text(task, split: str) -> Iterator[Dict]:
    """Rendered text examples: straight from the prompt renderer when the task has one (no TF)."""
    if isinstance(task.source, PromptedDataSource):
        yield from task.source.iter_examples(split)
        return
    for ex in iter_tokenized(task, split):
        text = {k.removesuffix("_pretokenized"): v for k, v in ex.items()
                if k.endswith("_pretokenized") or isinstance(v, str)}
        if not text:  # token ids only (LM adaptation's prefix-LM examples): decoded, up to EOS
            text = {k: feature.vocabulary.decode(ex[k]) for k, feature in task.output_features.items()
                    if isinstance(ex.get(k), list)}
        yield text
