"""seqio preprocessor chains of the prompted tasks and their rank-classification twins.

Module-level functions (not lambdas; per-task arguments through functools.partial) so the chains pickle
for Beam caching.
"""

from __future__ import annotations

import functools
from typing import Callable, List

import seqio
import tensorflow as tf
from t5.data import preprocessors as t5_preprocessors

from multilingual_t0.pipeline.streamed_source import input_boundary


def _choice_inputs(ex):
    return tf.fill(tf.shape(ex["answer_choices"]), ex["inputs"])


def _choice_targets(ex):
    return ex["answer_choices"]


def _choice_is_correct(ex):
    return tf.equal(ex["answer_choices"], tf.strings.strip(ex["targets"]))


def _unit_weight(ex):
    del ex
    return 1.0


# One example per answer choice; the source guarantees at least one equals the target (when the answer
# appears twice among the choices, every copy is correct: the answer's text wins whichever copy scores best).
rank_classification = functools.partial(
    t5_preprocessors.rank_classification,
    inputs_fn=_choice_inputs,
    targets_fn=_choice_targets,
    is_correct_fn=_choice_is_correct,
    weight_fn=_unit_weight,
    mode="eval",
)


# Examples per SentencePiece call: one op call per batch instead of one per example (~5x cheaper per
# example); the token ids are the same (tests/test_pipeline.py compares them with seqio's own tokenize).
TOKENIZE_BATCH = 256


def _tokenize_batch(batch, output_features):
    # seqio's own per-example function, applied to a batch: encode_tf maps a [n] string tensor to
    # [n, (tokens)] ragged ids, and `*_pretokenized` keeps the strings.
    return seqio.preprocessors.tokenize_impl(batch, output_features, copy_pretokenized=True)


def tokenize(dataset: tf.data.Dataset, output_features) -> tf.data.Dataset:
    """`seqio.preprocessors.tokenize` of the output features still text, on batches of examples.

    Same features (`inputs`, `targets` as int32 ids, `*_pretokenized` strings, others passed through),
    same order. Features the source already tokenized (a StreamedSource with `tokenize_features`)
    pass through untouched. `MT0_INPUT_BOUNDARY=per_example` uses seqio's per-example map instead.
    """
    spec = dataset.element_spec
    if all(k in spec and spec[k].dtype != tf.string for k in output_features):
        return dataset  # tokenized by the source, on whole batches
    if input_boundary() == "per_example":
        return seqio.preprocessors.tokenize(dataset, output_features)
    batched = dataset.ragged_batch(TOKENIZE_BATCH)  # ragged: answer choices differ in number
    tokenized = batched.map(functools.partial(_tokenize_batch, output_features=output_features),
                            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return tokenized.unbatch()


def prompted_chain() -> List[Callable]:
    """Render (in the source) -> tokenize -> [cache] -> EOS (EOS after the cache, as seqio's tasks)."""
    return [tokenize, seqio.CacheDatasetPlaceholder(), seqio.preprocessors.append_eos]


def _fits(ex, feature: str, limit: int, task: str):
    """An op that fails, naming the task, example, choice and length, when `ex[feature]` is over `limit`."""
    length = tf.size(ex[feature])
    if feature == "targets":
        what = (f"example {{}}, answer choice {{}}: {{}} tokens with EOS, longer than the targets length {limit}: "
                f"the choice would be scored on its first {limit} tokens, without its EOS")
        values = (ex["idx"][0], ex["idx"][1], length)
    else:
        what = (f"example {{}}: an input of {{}} tokens, longer than the inputs length {limit}: every choice "
                f"would be scored against its first {limit} tokens")
        values = (ex["idx"][0], length)
    message = tf.strings.format(
        f"Rank classification would score a cut example. Task {task}, {what} (examples count from 0 in the "
        f"order `mt0 show {task} --split SPLIT` prints them). Set TASK_FEATURE_LENGTHS = None so that T5X "
        f"measures the longest input and choice of the eval set (configs/runs/eval_score.gin does), or give "
        f"{feature} a length of at least {{}}.", values + (length,))
    return tf.debugging.Assert(length <= limit, [message], summarize=1)


def refuse_truncation(dataset: tf.data.Dataset, sequence_length=None, *, task: str) -> tf.data.Dataset:
    """Fails, instead of letting seqio cut them, on examples longer than the given feature lengths.

    seqio trims every feature to its length after the chain: a choice longer than the targets length would
    be scored on its first tokens without EOS while the short choices are scored whole, and a cut input
    changes the question. Nothing to check without lengths (None: T5X's evaluator measures the data).
    """
    limits = {k: v for k, v in (sequence_length or {}).items() if k in ("inputs", "targets") and isinstance(v, int)}
    if not limits:
        return dataset

    def check(ex):
        with tf.control_dependencies([_fits(ex, k, limit, task) for k, limit in limits.items()]):
            return {k: tf.identity(v) for k, v in ex.items()}

    return dataset.map(check, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def score_eval_chain(task: str) -> List[Callable]:
    """The prompted chain after one example per answer choice; then the refusal to cut an example."""
    return [rank_classification] + prompted_chain() + [functools.partial(refuse_truncation, task=task)]
