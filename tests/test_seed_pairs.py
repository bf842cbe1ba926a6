"""`task_draws.seed_pairs_at` gives the rows of `Dataset.random(seed).batch(2)` at any position, in numpy,
equal to TF's own stream."""

import functools
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from multilingual_t0.pipeline import task_draws

SEEDS = [0, 1, 42, 2**31 - 1, 2**40 + 7]
WINDOWS = [(0, 1), (0, 37), (1, 5), (3, 8), (17, 64), (100_000, 9), (100_001, 6)]


def _tf_rows(seed, start, count):
    rows = list(task_draws.seed_pairs(seed).skip(start).take(count).as_numpy_iterator())
    return np.stack(rows).astype(np.int64)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("start,count", WINDOWS)
def test_rows_equal_tf_stream(seed, start, count):
    got = task_draws.seed_pairs_at(seed, start, count)
    assert got.dtype == np.int64 and got.shape == (count, 2)
    np.testing.assert_array_equal(got, _tf_rows(seed, start, count))


def test_seed_is_taken_modulo_maxint32():
    # get_seed truncates the op seed modulo 2**31 - 1: 0 and 2**31 - 1 are one stream, in TF and here.
    np.testing.assert_array_equal(_tf_rows(0, 3, 10), _tf_rows(2**31 - 1, 3, 10))
    np.testing.assert_array_equal(task_draws.seed_pairs_at(0, 5, 10), task_draws.seed_pairs_at(2**31 - 1, 5, 10))


def test_elements_are_uint32_values():
    rows = task_draws.seed_pairs_at(42, 0, 10_000)
    assert rows.min() >= 0 and rows.max() < 2**32 and rows.max() >= 2**31


GLOBAL_CASES = [(0, 3, 20), (5, 3, 20), (2**33 + 1, 3, 20), (0, 0, 6)]  # (global seed, op seed, rows)


@functools.lru_cache(maxsize=None)
def _tf_rows_under_global_seeds():
    """TF's streams after tf.random.set_seed(g), for every GLOBAL_CASES row, computed in one child process:
    set_seed clears TF's eager kernel cache, which deletes kernel-owned resources such as this process's
    shared SentencePiece tokenizer (pipeline/vocab.py), and every tf.data pipeline of later tests would fail."""
    code = ("import json, sys, numpy as np, tensorflow as tf\n"
            "from multilingual_t0.pipeline import task_draws\n"
            "out = []\n"
            "for g, seed, count in json.loads(sys.argv[1]):\n"
            "    tf.random.set_seed(g)\n"
            "    rows = list(task_draws.seed_pairs(seed).take(count).as_numpy_iterator())\n"
            "    out.append(np.stack(rows).astype(np.int64).tolist())\n"
            "print(json.dumps(out))\n")
    result = subprocess.run([sys.executable, "-c", code, json.dumps(GLOBAL_CASES)], capture_output=True, text=True,
                            timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads(result.stdout.strip().splitlines()[-1])
    return {case: np.array(r, dtype=np.int64) for case, r in zip(GLOBAL_CASES, rows)}


def test_global_seed():
    for global_seed in (0, 5, 2**33 + 1):
        expected = _tf_rows_under_global_seeds()[(global_seed, 3, 20)]
        np.testing.assert_array_equal(task_draws.seed_pairs_at(3, 0, 20, global_seed=global_seed), expected)
        assert not np.array_equal(task_draws.seed_pairs_at(3, 0, 20), expected)


def test_global_seed_zero_with_op_seed_zero():
    # get_seed turns (0, 0) into (0, 2**31 - 1).
    assert task_draws.random_dataset_seeds(0, global_seed=0) == (0, 2**31 - 1)
    np.testing.assert_array_equal(task_draws.seed_pairs_at(0, 0, 6, global_seed=0),
                                  _tf_rows_under_global_seeds()[(0, 0, 6)])


def test_far_start_does_not_iterate():
    # A loop over 10**12 positions would never return; the counter is computed directly.
    rows = task_draws.seed_pairs_at(42, 10**12, 4)
    assert rows.shape == (4, 2)
    # Consecutive windows join up there too (odd start: the window begins mid Philox block).
    np.testing.assert_array_equal(task_draws.seed_pairs_at(42, 10**12 + 1, 3), rows[1:])


def test_empty_window():
    assert task_draws.seed_pairs_at(7, 3, 0).shape == (0, 2)


def test_seed_none_is_refused():
    with pytest.raises(ValueError, match="fixed seed"):
        task_draws.seed_pairs_at(None, 0, 4)


def test_negative_window_is_refused():
    with pytest.raises(ValueError):
        task_draws.seed_pairs_at(1, -1, 4)


def test_draws_on_computed_pairs_equal_draws_on_tf_pairs():
    rates = [5.0, 0.0, 1.0, 0.5, 2.5]
    draws = task_draws.TaskDraws(rates)
    np.testing.assert_array_equal(draws.draw(task_draws.seed_pairs_at(42, 99_000, 1000)),
                                  draws.draw(_tf_rows(42, 99_000, 1000)))
    # And equal sample_from_datasets' own choices from the start.
    constants = [tf.data.Dataset.from_tensors(tf.constant(i, tf.int64)).repeat() for i in range(len(rates))]
    expected = tf.data.Dataset.sample_from_datasets(constants, rates, seed=42, stop_on_empty_dataset=True)
    np.testing.assert_array_equal(draws.draw(task_draws.seed_pairs_at(42, 0, 2000)),
                                  np.fromiter(expected.take(2000).as_numpy_iterator(), np.int64))
