"""seqio preprocessor chains of the prompted tasks and their rank-classification twins.

Module-level functions (not lambdas) so the chains pickle for Beam caching.
"""

from __future__ import annotations

import functools
from typing import Callable, List

import seqio
import tensorflow as tf
from t5.data import preprocessors as t5_preprocessors


def _choice_inputs(ex):
    return tf.fill(tf.shape(ex["answer_choices"]), ex["inputs"])


def _choice_targets(ex):
    return ex["answer_choices"]


def _choice_is_correct(ex):
    return tf.equal(ex["answer_choices"], tf.strings.strip(ex["targets"]))


def _unit_weight(ex):
    del ex
    return 1.0


# One example per answer choice; the source guarantees exactly one equals the target.
rank_classification = functools.partial(
    t5_preprocessors.rank_classification,
    inputs_fn=_choice_inputs,
    targets_fn=_choice_targets,
    is_correct_fn=_choice_is_correct,
    weight_fn=_unit_weight,
    mode="eval",
)


def prompted_chain() -> List[Callable]:
    """Render (in the source) -> tokenize -> [cache] -> EOS."""
    return [seqio.preprocessors.tokenize, seqio.CacheDatasetPlaceholder(), seqio.preprocessors.append_eos]


def score_eval_chain() -> List[Callable]:
    return [rank_classification] + prompted_chain()
