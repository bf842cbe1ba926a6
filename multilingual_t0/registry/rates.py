"""Mixing rates as T0 set them."""

from __future__ import annotations

from typing import Optional

from multilingual_t0.catalog.datasets import DatasetSpec

# T0: a dataset with more than this many training examples is capped and the cap shared by its
# templates; eval mixtures cap a task's example count at the same number.
MAX_EXAMPLES_PER_DATASET = 500_000


def train_rate(train_size: int, num_templates: int) -> int:
    """Rate of one template-task: the dataset's train size, or 500,000 // templates above the cap."""
    if num_templates < 1:
        raise ValueError(f"num_templates must be at least 1, got {num_templates}")
    if train_size > MAX_EXAMPLES_PER_DATASET:
        return MAX_EXAMPLES_PER_DATASET // num_templates
    return train_size


def eval_rate(spec: DatasetSpec) -> int:
    """Example count capped at 500,000: the train size (as seqio's mixing_rate_num_examples), else the
    size of the split an eval-only dataset has, else 1 when the catalog does not know its size."""
    size: Optional[int] = spec.train_size
    if not size:
        size = next((s.num_examples for s in spec.splits if s.num_examples), None)
    return min(size or 1, MAX_EXAMPLES_PER_DATASET)
