"""A seqio DataSource that reads one catalog dataset (or eval benchmark language) and renders it through
one promptsource template; see streamed_source.py for how examples cross into TensorFlow.

Given the task's output features (`tokenize_features`, the prompted training tasks), the source also
tokenizes each whole batch before unbatching — exactly `seqio.preprocessors.tokenize` (ids,
`*_pretokenized` strings, answer choices passed through); the task's `preprocessors.tokenize` then finds
nothing left to tokenize, and the cache placeholder and EOS come after as before.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional, Tuple

import seqio
import tensorflow as tf

from multilingual_t0 import settings
from multilingual_t0.catalog.datasets import DatasetSpec
from multilingual_t0.prompting.renderer import Renderer
from multilingual_t0.sources.layouts import catalog_split
from multilingual_t0.sources.located import LocatedSplit, locate
from multilingual_t0.pipeline.streamed_source import ExampleContext, StreamedSource


class PromptedDataSource(StreamedSource):
    """Rendered {inputs, targets[, answer_choices]} strings of (dataset, subset, template)."""

    # How many tf.data pipelines have been built in this process (progress for tools building mixtures).
    pipelines_built = 0

    def __init__(self, spec: DatasetSpec, template: str, task: str, with_choices: bool,
                 require_answer_among_choices: bool = False, strict: Optional[bool] = None,
                 template_from: Optional[Tuple[str, Optional[str]]] = None, tokenize_features=None):
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
        self.require_answer_among_choices = require_answer_among_choices
        self.strict = strict
        # (dataset, subset) whose promptsource template renders the records; default: the data's own.
        # Multilingual eval applies English templates to other datasets (XCOPA with super_glue/copa's).
        self.template_from = template_from or (spec.dataset, spec.subset)
        # The task's output features, when its chain starts with preprocessors.tokenize (see above).
        self.tokenize_features = tokenize_features
        self._renderer: Optional[Renderer] = None

    @property
    def output_signature(self) -> Mapping[str, tf.TensorSpec]:
        signature = {"inputs": tf.TensorSpec((), tf.string), "targets": tf.TensorSpec((), tf.string)}
        if self.with_choices:
            signature["answer_choices"] = tf.TensorSpec((None,), tf.string)
        return signature

    def renderer(self) -> Renderer:
        """The task's renderer, made once per strictness: a stream reopens its split every epoch (often, on
        small splits), and compiling the template costs more than rendering a record."""
        strict = settings.current().strict if self.strict is None else self.strict
        if self._renderer is None or self._renderer.strict != strict:
            self._renderer = Renderer(self.task, *self.template_from, self.template,
                                      with_choices=self.with_choices,
                                      require_answer_among_choices=self.require_answer_among_choices, strict=strict)
        return self._renderer

    def locate(self, split: str) -> LocatedSplit:
        """The split in the configured source (DataNotFoundError naming every place tried)."""
        return locate(catalog_split(self.spec, self.spec.split(split)))

    def examples(self, located: LocatedSplit, split: str, records: Iterable[Tuple[int, Any]],
                 context: ExampleContext = ExampleContext()):
        """The records rendered through the template (bad records counted in RENDER_STATS)."""
        return self.renderer().render_indexed(records, split)

    def get_dataset(self, split: str = "train", shuffle: bool = True, seed: Optional[int] = None,
                    shard_info: Optional[seqio.ShardInfo] = None, *, sequence_length=None,
                    use_cached: bool = False, num_epochs: Optional[int] = 1) -> tf.data.Dataset:
        del sequence_length, use_cached, num_epochs  # the Task repeats (re-running the generator)
        if split not in self.splits:
            raise ValueError(f"{self.spec.label} (task {self.task!r}) has no split {split!r}; "
                             f"it has: {', '.join(self.splits)}.")
        PromptedDataSource.pipelines_built += 1
        return self._streamed(split, shuffle, seed, shard_info)

    def __repr__(self) -> str:
        return (f"PromptedDataSource({self.spec.label}, template={self.template!r}, "
                f"splits={self.splits})")
