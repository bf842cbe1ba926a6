"""A seqio DataSource that reads one catalog dataset and renders it through one template.

The split is located when `get_dataset` is called (so a missing split is a clear DataNotFoundError,
not an error from inside tf.data); records are then read, rendered and yielded one by one. Sharding
(multi-host input) reads only this host's files or records; `shuffle` reads in a seeded random order
(sources.read_split), reshuffled every epoch.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence, Tuple

import seqio
import tensorflow as tf

from multilingual_t0 import job_settings
from multilingual_t0.catalog import DatasetSpec
from multilingual_t0.prompts import Renderer
from multilingual_t0.sources import open_split, resolve_seed


class PromptedDataSource(seqio.DataSource):
    """Rendered {inputs, targets[, answer_choices]} strings of (dataset, subset, template)."""

    # How many tf.data pipelines have been built in this process (progress for tools building mixtures).
    pipelines_built = 0

    def __init__(self, spec: DatasetSpec, template: str, task: str, with_choices: bool,
                 require_one_correct_choice: bool = False, strict: Optional[bool] = None,
                 template_from: Optional[Tuple[str, Optional[str]]] = None):
        sizes = {s.name: s.num_examples for s in spec.splits}
        super().__init__(
            splits=spec.split_names,
            num_input_examples=sizes if all(v is not None for v in sizes.values()) else None,
            caching_permitted=True,
        )
        self.spec = spec
        self.template = template
        self.task = task
        self.with_choices = with_choices
        self.require_one_correct_choice = require_one_correct_choice
        self.strict = strict
        # (dataset, subset) whose promptsource template renders the records; default: the data's own.
        # Multilingual eval applies English templates to other datasets (XCOPA with super_glue/copa's).
        self.template_from = template_from or (spec.dataset, spec.subset)

    @property
    def supports_arbitrary_sharding(self) -> bool:
        return True

    def list_shards(self, split: str) -> Sequence[str]:
        return [split]

    @property
    def output_signature(self) -> Mapping[str, tf.TensorSpec]:
        signature = {"inputs": tf.TensorSpec((), tf.string), "targets": tf.TensorSpec((), tf.string)}
        if self.with_choices:
            signature["answer_choices"] = tf.TensorSpec((None,), tf.string)
        return signature

    def renderer(self) -> Renderer:
        return Renderer(self.task, *self.template_from, self.template,
                        with_choices=self.with_choices,
                        require_one_correct_choice=self.require_one_correct_choice, strict=self.strict)

    def iter_examples(self, split: str, shard_index: int = 0, num_shards: int = 1, *, shuffle: bool = False,
                      seed: Optional[int] = None, epoch: int = 0):
        """Python iterator over rendered examples (no TensorFlow): used by tf.data and by tools.
        shuffle/seed/epoch: the reading order (sources.read_split); file order when shuffle is False."""
        job_settings.check()  # a worker whose MT0_* settings differ from the launcher's stops here
        stream = open_split(self.spec, split, shuffle=shuffle, seed=seed)  # raises here when missing
        return self.renderer().render_indexed(stream.records(shard_index, num_shards, epoch), split)

    def get_dataset(self, split: str = "train", shuffle: bool = True, seed: Optional[int] = None,
                    shard_info: Optional[seqio.ShardInfo] = None, *, sequence_length=None,
                    use_cached: bool = False, num_epochs: Optional[int] = 1) -> tf.data.Dataset:
        del sequence_length, use_cached, num_epochs  # the Task repeats (re-running the generator)
        if split not in self.splits:
            raise ValueError(f"{self.spec.label} (task {self.task!r}) has no split {split!r}; "
                             f"it has: {', '.join(self.splits)}.")
        index, count = (shard_info.index, shard_info.num_shards) if shard_info else (0, 1)
        seed = resolve_seed(seed) if shuffle else seed  # one seed for every epoch of this dataset
        order = dict(shuffle=shuffle, seed=seed)
        examples = self.iter_examples(split, index, count, **order)  # locate now, outside tf.data
        PromptedDataSource.pipelines_built += 1
        epoch = [0]

        def generate():
            # The first pass reuses the located stream; tf.data re-iterations (repeat) reopen it,
            # in another shuffled order per epoch.
            it = examples if epoch[0] == 0 else self.iter_examples(split, index, count, **order, epoch=epoch[0])
            epoch[0] += 1
            yield from it

        return tf.data.Dataset.from_generator(generate, output_signature=dict(self.output_signature))

    def __repr__(self) -> str:
        return (f"PromptedDataSource({self.spec.label}, template={self.template!r}, "
                f"splits={self.splits})")
