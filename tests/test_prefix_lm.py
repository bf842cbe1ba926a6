"""The prefix-LM objective (pipeline/prefix_lm.py): equal to t5's `prefix_lm` on the same split points, split
points uniform and drawn from the record's identity (per document, per epoch, per seed; the same on every host).

Statistical tests use fixed seeds (deterministic) and check against stated bounds."""

import collections

import numpy as np
import pytest
import seqio
import tensorflow as tf
from scipy import stats
from t5.data import preprocessors as t5_preprocessors

from multilingual_t0.pipeline import mc4_source
from multilingual_t0.pipeline.prefix_lm import (CHUNK_MAX_LENGTH, SplitDraws, document_examples,
                                                prefix_lm_segments, segment_length)

CHI2_MIN_P = 1e-3  # a fixed-seed draw; a wrong rule gives p far below this
EOS = 1


class ReplayDraws:
    """Draws that give the chunk and split points t5 chose (read off its output)."""

    def __init__(self, chunk, splits):
        self._chunk, self._splits = chunk, splits

    def chunk(self, num_chunks):
        assert 0 <= self._chunk < num_chunks
        return self._chunk

    def split(self, segment, length):
        k = self._splits[segment]
        assert 1 <= k <= length - 1
        return k


def _t5_prefix_lm(documents, inputs_length, seed):
    """t5's own prefix_lm on token-id documents (as the old registered chain ran it), before EOS."""
    features = mc4_source.output_features()
    ds = tf.data.Dataset.from_generator(lambda: ({"targets": d} for d in documents),
                                        output_signature={"targets": tf.TensorSpec([None], tf.int32)})
    with seqio.utils.map_seed_manager(seed):
        ds = t5_preprocessors.prefix_lm(ds, {"inputs": inputs_length, "targets": 64}, features)
    return [(list(ex["inputs"]), list(ex["targets"])) for ex in ds.as_numpy_iterator()]


def test_segments_equal_t5_prefix_lm_on_the_same_split_points():
    """Documents of distinct consecutive ids (one longer than a 65,536-token chunk): for each, the chunk and
    split points t5 chose are read off its output, and our objective given them returns the same segments,
    in the same order, with t5's one-token segments (empty inputs) dropped."""
    inputs_length = 33
    lengths = [300, 32, 33, 1, 64, 65, 150_000, 2]
    documents, start = [], 10_000
    for n in lengths:
        documents.append(np.arange(start, start + n, dtype=np.int32))
        start += n + 1_000
    theirs = _t5_prefix_lm(documents, inputs_length, seed=5)
    by_doc = collections.defaultdict(list)
    for inputs, targets in theirs:
        first = (inputs or targets)[0]
        doc = next(i for i, d in enumerate(documents) if d[0] <= first <= d[-1])
        by_doc[doc].append((inputs, targets))
    length = segment_length(inputs_length)
    compared = 0
    for doc, tokens in enumerate(documents):
        segments = by_doc[doc]
        if not segments:
            continue
        offset = (segments[0][0] or segments[0][1])[0] - tokens[0]
        assert offset % CHUNK_MAX_LENGTH == 0
        draws = ReplayDraws(offset // CHUNK_MAX_LENGTH, [len(i) for i, _ in segments])
        ours = [(list(i), list(t)) for i, t in prefix_lm_segments(tokens.tolist(), length, draws)]
        assert ours == [s for s in segments if s[0]], doc
        compared += len(ours)
    assert compared > 500 and by_doc[6][0][0][0] - documents[6][0] in (0, 65536, 131072)
    # the long document was cut to one chunk: its segments cover at most 65,536 tokens
    assert sum(len(i) + len(t) for i, t in by_doc[6]) <= CHUNK_MAX_LENGTH


def test_split_point_is_uniform_over_1_to_L_minus_1():
    counts = np.zeros(32, dtype=int)
    for index in range(9000):
        counts[SplitDraws(7, "sw", 0, index).split(0, 32)] += 1
    assert counts[0] == 0 and counts[1] > 0 and counts[31] > 0
    assert stats.chisquare(counts[1:]).pvalue > CHI2_MIN_P
    short = {SplitDraws(7, "sw", 0, i).split(3, 12) for i in range(2000)}
    assert short == set(range(1, 12))


def test_chunk_is_uniform():
    counts = np.bincount([SplitDraws(3, "en", 1, i).chunk(5) for i in range(5000)], minlength=5)
    assert stats.chisquare(counts).pvalue > CHI2_MIN_P


def test_split_points_vary_per_document_epoch_seed_and_language_and_nowhere_else():
    def points(seed=1, stream="sw", epoch=0, index=0):
        draws = SplitDraws(seed, stream, epoch, index)
        return [draws.split(s, 1023) for s in range(8)]

    base = points()
    assert points() == base  # drawn again, the same (a restore, another host)
    for other in (points(index=1), points(epoch=1), points(seed=2), points(stream="yo")):
        assert other != base
    # segments of one document are drawn independently
    assert len(set(base)) > 4


def test_one_token_segments_are_dropped_not_emptied():
    draws = SplitDraws(0, "en", 0, 0)
    examples = list(prefix_lm_segments(list(range(100, 133)), 32, draws))  # 32 + a one-token tail
    assert len(examples) == 1 and all(len(i) >= 1 and len(t) >= 1 for i, t in examples)
    assert list(prefix_lm_segments([5], 32, draws)) == [] and list(prefix_lm_segments([], 32, draws)) == []


def test_document_examples_trim_and_end_with_eos():
    tokens = list(range(100, 100 + 128 * 10))
    lengths = {"inputs": 129, "targets": 16}
    seen = 0
    for inputs, targets in document_examples(tokens, lengths, SplitDraws(0, "en", 0, 3), eos_id=EOS):
        assert inputs[-1] == EOS and targets[-1] == EOS
        assert len(inputs) <= 129 and len(targets) <= 16
        span = inputs[:-1] + targets[:-1]
        assert span == list(range(span[0], span[0] + len(span)))  # contiguous (targets cut at the end)
        seen += 1
    assert seen == 10


def test_inputs_length_must_leave_room():
    with pytest.raises(ValueError, match="inputs length >= 3"):
        segment_length(2)
