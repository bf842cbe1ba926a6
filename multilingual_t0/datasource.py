"""A seqio DataSource that reads one catalog dataset and renders it through one template.

The split is located when `get_dataset` is called (so a missing split is a clear DataNotFoundError,
not an error from inside tf.data); records are then read and rendered in Python (`iter_examples`).
Sharding (multi-host input) reads only this host's files or records; `shuffle` reads in a seeded random
order (sources.read_split), reshuffled every epoch.

The Python -> TensorFlow crossing (`from_generator`) costs ~100 us per call whatever it carries, more
than rendering an example; so the generator hands over `EXAMPLES_PER_CALL` rendered examples at a time
and tf.data unbatches them (same examples, same order). Given the task's output features
(`tokenize_features`, the prompted training tasks), the source also tokenizes each whole batch before
unbatching — exactly `seqio.preprocessors.tokenize` (ids, `*_pretokenized` strings, answer choices
passed through); the task's `preprocessors.tokenize` then finds nothing left to tokenize, and the cache
placeholder and EOS come after as before. `MT0_INPUT_BOUNDARY=per_example` restores one example per
call and seqio's per-example tokenize (benchmarks compare the two in one run).
"""

from __future__ import annotations

import functools
import itertools
import os
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

import seqio
import tensorflow as tf

from multilingual_t0 import job_settings
from multilingual_t0.catalog import DatasetSpec
from multilingual_t0.prompts import Renderer
from multilingual_t0.python_calls import CALLS
from multilingual_t0.sources import open_split, resolve_seed

BOUNDARY_ENV = "MT0_INPUT_BOUNDARY"
BOUNDARIES = ("batched", "per_example")
EXAMPLES_PER_CALL = 256
FIRST_CALL = 8  # calls grow 8, 16, 32 ... to EXAMPLES_PER_CALL


def env_choice(name: str, choices: Sequence[str]) -> str:
    """`$name`, one of `choices` (the first when unset); a clear error naming the variable otherwise."""
    value = os.environ.get(name, "").strip().lower() or choices[0]
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(choices)}; unset it for the default "
                         f"({choices[0]}).")
    return value


def input_boundary() -> str:
    """`batched` (default) or `per_example`, from `$MT0_INPUT_BOUNDARY` (read when a dataset is built)."""
    return env_choice(BOUNDARY_ENV, BOUNDARIES)


def _columns(chunk: List[Dict[str, Any]], with_choices: bool) -> Dict[str, Any]:
    """A chunk of examples as columns; answer choices flattened with per-example counts (ragged)."""
    batch = {"inputs": [e["inputs"] for e in chunk], "targets": [e["targets"] for e in chunk]}
    if with_choices:
        batch["answer_choices"] = [c for e in chunk for c in e["answer_choices"]]
        batch["answer_choice_counts"] = [len(e["answer_choices"]) for e in chunk]
    return batch


def chunks(examples: Iterable[Dict[str, Any]], size: int, with_choices: bool) -> Iterator[Dict[str, Any]]:
    """Chunks of FIRST_CALL, 2x, 4x ... up to `size` examples: a task in a 464-task mixture reads
    ahead a few examples at start-up, not `size` (every task's first call happens before the first batch)."""
    it = iter(examples)
    n = min(FIRST_CALL, size)
    while True:
        chunk = list(itertools.islice(it, n))
        if not chunk:
            return
        yield _columns(chunk, with_choices)
        n = min(2 * n, size)


def unbatched(batches: Callable[[], Iterator[Dict[str, Any]]], with_choices: bool,
              tokenize_features=None) -> tf.data.Dataset:
    """Column batches from `batches()` -> [tokenized on the batch] -> one element per example, in order.

    Unbatched variable-length features (ids, answer choices) have a ragged-rank-0 RaggedTensorSpec:
    every map function sees plain Tensors, and the task's next map (EOS, rank classification)
    returns the per-example path's TensorSpecs (tests/test_input_pipeline.py compares them).
    """
    signature = {"inputs": tf.TensorSpec((None,), tf.string), "targets": tf.TensorSpec((None,), tf.string)}
    if with_choices:
        signature["answer_choices"] = tf.TensorSpec((None,), tf.string)
        signature["answer_choice_counts"] = tf.TensorSpec((None,), tf.int64)
    ds = tf.data.Dataset.from_generator(batches, output_signature=signature)
    if with_choices or tokenize_features:
        ds = ds.map(functools.partial(prepare_batch, with_choices=with_choices,
                                      tokenize_features=tokenize_features))
    return with_map_fusion(ds.unbatch())


def with_map_fusion(ds: tf.data.Dataset) -> tf.data.Dataset:
    """tf.data's map fusion for the whole pipeline (options pass on to the datasets built on this one):
    the task's per-example maps (EOS, checks, trim) and the feature converter's run as fewer maps, with
    fewer hand-overs between threads per example. Same elements; measured ~+20% examples per CPU-s on
    one task (benchmarks/pipeline_bench.py)."""
    options = tf.data.Options()
    options.experimental_optimization.map_fusion = True
    return ds.with_options(options)


def _rebuild_choices(batch: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
    out = {k: v for k, v in batch.items() if k != "answer_choice_counts"}
    out["answer_choices"] = tf.RaggedTensor.from_row_lengths(batch["answer_choices"],
                                                             batch["answer_choice_counts"])
    return out


def prepare_batch(batch: Dict[str, tf.Tensor], with_choices: bool, tokenize_features) -> Dict[str, tf.Tensor]:
    if with_choices:
        batch = _rebuild_choices(batch)
    if tokenize_features:
        batch = seqio.preprocessors.tokenize_impl(batch, tokenize_features, copy_pretokenized=True)
    return batch


class StreamedSource(seqio.DataSource):
    """A DataSource whose examples come from Python (`iter_examples`), read per host shard in file or seeded
    shuffled order, and cross into TensorFlow in batches (tokenized there given `tokenize_features`).
    Subclasses set `with_choices`, `tokenize_features` and `output_signature` and define `iter_examples`."""

    with_choices = False
    tokenize_features = None

    @property
    def supports_arbitrary_sharding(self) -> bool:
        return True

    def list_shards(self, split: str) -> Sequence[str]:
        return [split]

    def iter_examples(self, split: str, shard_index: int = 0, num_shards: int = 1, *, shuffle: bool = False,
                      seed: Optional[int] = None, epoch: int = 0) -> Iterator[Dict[str, Any]]:
        raise NotImplementedError

    def _streamed(self, split: str, shuffle: bool, seed: Optional[int],
                  shard_info: Optional[seqio.ShardInfo]) -> tf.data.Dataset:
        index, count = (shard_info.index, shard_info.num_shards) if shard_info else (0, 1)
        seed = resolve_seed(seed) if shuffle else seed  # one seed for every epoch of this dataset
        order = dict(shuffle=shuffle, seed=seed)
        examples = self.iter_examples(split, index, count, **order)  # locate now, outside tf.data
        epoch = [0]

        def generate():
            # The first pass reuses the located stream; tf.data re-iterations (repeat) reopen it,
            # in another shuffled order per epoch.
            it = examples if epoch[0] == 0 else self.iter_examples(split, index, count, **order, epoch=epoch[0])
            epoch[0] += 1
            yield from it

        # Each generator call is counted, and ends once the process exits (python_calls).
        if input_boundary() == "per_example":
            return tf.data.Dataset.from_generator(lambda: CALLS.items(generate()),
                                                  output_signature=dict(self.output_signature))
        return unbatched(lambda: CALLS.items(chunks(generate(), EXAMPLES_PER_CALL, self.with_choices)),
                         self.with_choices, self.tokenize_features)


class PromptedDataSource(StreamedSource):
    """Rendered {inputs, targets[, answer_choices]} strings of (dataset, subset, template)."""

    # How many tf.data pipelines have been built in this process (progress for tools building mixtures).
    pipelines_built = 0

    def __init__(self, spec: DatasetSpec, template: str, task: str, with_choices: bool,
                 require_one_correct_choice: bool = False, strict: Optional[bool] = None,
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
        self.require_one_correct_choice = require_one_correct_choice
        self.strict = strict
        # (dataset, subset) whose promptsource template renders the records; default: the data's own.
        # Multilingual eval applies English templates to other datasets (XCOPA with super_glue/copa's).
        self.template_from = template_from or (spec.dataset, spec.subset)
        # The task's output features, when its chain starts with preprocessors.tokenize (see above).
        self.tokenize_features = tokenize_features

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
        PromptedDataSource.pipelines_built += 1
        return self._streamed(split, shuffle, seed, shard_info)

    def __repr__(self) -> str:
        return (f"PromptedDataSource({self.spec.label}, template={self.template!r}, "
                f"splits={self.splits})")
