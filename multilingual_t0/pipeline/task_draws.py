"""The task draws of `tf.data.Dataset.sample_from_datasets`, computed in numpy for a batch at a time.

sample_from_datasets picks each element's input with one `stateless_multinomial` op call over the
log-rates, seeded by a pair of int64 from `Dataset.random(seed)`. One op call per element costs ~45 µs
at 464 rates (measured; it rebuilds the CDF over every rate per call): a tenth of a mixture's whole
per-example budget. Here the seed pairs still come from TensorFlow (`seed_pairs`, one int64 pair per
draw, as there) and the draw is TF's CPU kernel redone for a whole batch in numpy:
  * the op's Philox4x32-10 generator, keyed from the seed pair as `GenerateKey` keys it
    (tensorflow/core/kernels/stateless_random_ops.cc),
  * its first two 32-bit outputs made a double in [0, 1) (`Uint64ToDouble`, random_distributions.h),
  * times the unnormalised CDF of exp(logit - max logit) in float64, then `upper_bound`
    (tensorflow/core/kernels/multinomial_op.cc).
tests/test_streamed_mixture.py checks the draws equal TF's for several rate vectors and seeds. (numpy's
and Eigen's float64 exp may differ in the last bit for unequal rates; a draw then differs only if it
lands within that bit of a CDF boundary, about n * 2^-52 per draw.)

`seed_pairs_at(seed, start, count)` gives rows start .. start+count-1 of `seed_pairs(seed)` without
TensorFlow and without iterating (time independent of `start`), as `Dataset.random(seed)` makes them:
  * the Python seed becomes the op's (seed, seed2) in `random_seed.get_seed`
    (tensorflow/python/framework/random_seed.py, via tensorflow/python/data/util/random_seed.py): with no
    global seed, (DEFAULT_GRAPH_SEED = 87654321, seed % (2**31 - 1)); with `tf.random.set_seed(g)`,
    (g % (2**31 - 1), seed % (2**31 - 1)); (0, 0) becomes (0, 2**31 - 1). So the op seed lands in seed2,
    and seeds equal modulo 2**31 - 1 (0 and 2**31 - 1, say) give the same stream;
  * `Dataset.random(seed)` (rerandomize_each_iteration=None, as sample_from_datasets passes by default)
    is the RandomDataset op (tensorflow/python/data/ops/random_op.py); its FixedSeedGenerator hands each
    iterator those two seeds unchanged (tensorflow/core/kernels/data/random_seed_ops.{h,cc}). Not
    covered: rerandomize_each_iteration=True (RandomDatasetV2 with a RandomSeedGenerator, new seeds
    per iteration);
  * the iterator's `random::PhiloxRandom(seed, seed2)` (RandomDatasetOp's ResetRngs,
    tensorflow/core/kernels/data/experimental/random_dataset_op.cc) has key (low, high 32 bits of seed)
    and counter (0, 0, low, high 32 bits of seed2) (tensorflow/core/lib/random/philox_random.h, which is
    xla/tsl/lib/random/philox_random.h); each call returns Philox4x32-10 of the counter and then adds one
    to it as a 128-bit number (`SkipOne`);
  * each element is one draw of a `SingleSampleAdapter` over that generator
    (xla/tsl/lib/random/random_distributions.h): the four 32-bit outputs of a call in order, then the next
    call's. Its result type is the generator's uint32, stored in the int64 element as it is, so every
    element lies in [0, 2**32). Element k is therefore output word k % 4 of Philox at counter
    (0, 0, seed2) + k // 4 (the same place `Skip(k)` reaches, which a restored iterator uses).
tests/test_seed_pairs.py checks the rows equal TF's for several seeds and windows.
"""

from __future__ import annotations

import operator
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

_MASK = np.uint64(0xFFFFFFFF)
_PHILOX_M = (np.uint64(0xD2511F53), np.uint64(0xCD9E8D57))
_PHILOX_W = (np.uint64(0x9E3779B9), np.uint64(0xBB67AE85))
_KEY_SALT = (np.uint64(0x3EC8F720), np.uint64(0x02461E29))  # GenerateKey's fixed key
_ONE_EXPONENT = np.uint64(1023 << 52)
DEFAULT_GRAPH_SEED = 87654321  # tensorflow/python/framework/random_seed.py
_MAXINT32 = 2**31 - 1  # random_seed._MAXINT32: seeds are taken modulo this
_U64 = 2**64


def _philox(counter, key):
    """Philox4x32-10 (tensorflow/core/lib/random/philox_random.h) on arrays of 32-bit words held in uint64."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for round_ in range(10):
        p0 = c0 * _PHILOX_M[0]  # 32 x 32 bits: fits in 64
        p1 = c2 * _PHILOX_M[1]
        c0, c1, c2, c3 = (p1 >> np.uint64(32)) ^ c1 ^ k0, p1 & _MASK, (p0 >> np.uint64(32)) ^ c3 ^ k1, p0 & _MASK
        if round_ < 9:
            k0 = (k0 + _PHILOX_W[0]) & _MASK
            k1 = (k1 + _PHILOX_W[1]) & _MASK
    return c0, c1, c2, c3


def uniform_doubles(seed_pairs: np.ndarray) -> np.ndarray:
    """The first `SimplePhilox::RandDouble()` of stateless_multinomial seeded by each (int64, int64) row."""
    seeds = np.ascontiguousarray(seed_pairs, dtype=np.int64).view(np.uint64)
    s0, s1 = seeds[:, 0], seeds[:, 1]
    counter = (s0 & _MASK, s0 >> np.uint64(32), s1 & _MASK, s1 >> np.uint64(32))
    salt = tuple(np.full_like(s0, k) for k in _KEY_SALT)
    mix = _philox(counter, salt)
    zero = np.zeros_like(s0)
    x0, x1, _, _ = _philox((zero, zero, mix[2], mix[3]), (mix[0], mix[1]))
    mantissa = ((x0 & np.uint64(0xFFFFF)) << np.uint64(32)) | x1
    return (_ONE_EXPONENT | mantissa).view(np.float64) - 1.0


class TaskDraws:
    """`sample_from_datasets(datasets, rates, seed)`'s choice of input per element, from its seed pairs.

    Zero rates are skipped, as there; with one positive rate every draw is that input (there, the one
    dataset itself is returned and no seed is used)."""

    def __init__(self, rates: Sequence[float]):
        self.kept = np.array([i for i, rate in enumerate(rates) if rate > 0], dtype=np.int64)
        self.empty = self.kept.size == 0
        self.single = self.kept.size == 1
        if self.empty or self.single:
            return
        # As TF converts them: a tuple of the kept rates to a tensor (float32 for Python floats), then log.
        logits = tf.math.log(tf.convert_to_tensor(tuple(rates[i] for i in self.kept))).numpy()
        finite = np.isfinite(logits)
        exp = np.exp(logits.astype(np.float64) - float(logits[finite].max()))
        self.cdf = np.cumsum(np.where(finite, exp, 0.0))
        self.total = self.cdf[-1]

    def draw(self, seed_pairs: np.ndarray) -> np.ndarray:
        """Input indices (into `rates`) for a [n, 2] int64 array of seed pairs."""
        if self.single:
            return np.full(len(seed_pairs), self.kept[0], dtype=np.int64)
        found = uniform_doubles(seed_pairs) * self.total
        return self.kept[np.searchsorted(self.cdf, found, side="right")]


def seed_pairs(seed: Optional[int]) -> tf.data.Dataset:
    """The seed pairs sample_from_datasets feeds its draws: `Dataset.random(seed)` in pairs. Built where
    seqio builds its mixture (in get_dataset), so a global TF seed enters it the same way."""
    return tf.data.Dataset.random(seed=seed).batch(2)


def random_dataset_seeds(seed: int, global_seed: Optional[int] = None) -> tuple[int, int]:
    """The (seed, seed2) the RandomDataset op of `Dataset.random(seed)` gets, as `random_seed.get_seed`
    makes them from an op seed and the global seed (`tf.random.set_seed`; None: none set)."""
    graph_seed = DEFAULT_GRAPH_SEED if global_seed is None else operator.index(global_seed) % _MAXINT32
    seeds = graph_seed, operator.index(seed) % _MAXINT32
    return (0, _MAXINT32) if seeds == (0, 0) else seeds


def seed_pairs_at(seed: int, start: int, count: int, global_seed: Optional[int] = None) -> np.ndarray:
    """Rows start .. start+count-1 of `seed_pairs(seed)` (elements 2*start .. 2*(start+count)-1 of
    `Dataset.random(seed)`), as a [count, 2] int64 array, computed in numpy in time independent of
    `start`. Matches TF when no global seed is set; pass `global_seed=g` to match a stream built after
    `tf.random.set_seed(g)`."""
    if seed is None:
        raise ValueError("seed_pairs_at needs a fixed seed: with seed=None, Dataset.random draws its seeds "
                         "at random (or from the global seed's op counter), so its stream has no fixed "
                         "position to start from")
    start, count = operator.index(start), operator.index(count)
    if start < 0 or count < 0:
        raise ValueError(f"start and count must be >= 0, got start={start}, count={count}")
    seed1, seed2 = random_dataset_seeds(seed, global_seed)
    first = 2 * start  # the first element wanted
    first_block, skip = divmod(first, 4)  # Philox call, and output word within it
    blocks = (skip + 2 * count + 3) // 4
    # The counter of each call: (0, 0, seed2) + block, as a 128-bit number in two uint64 halves.
    base = ((seed2 % _U64) * _U64 + first_block) % (_U64 * _U64)
    base_lo, base_hi = np.uint64(base % _U64), np.uint64(base // _U64)
    lo = np.full(blocks, base_lo, dtype=np.uint64) + np.arange(blocks, dtype=np.uint64)  # wraps mod 2^64
    hi = np.full(blocks, base_hi, dtype=np.uint64) + (lo < base_lo).astype(np.uint64)  # the carry
    key = tuple(np.full(blocks, np.uint64(word), dtype=np.uint64)
                for word in ((seed1 % _U64) & 0xFFFFFFFF, (seed1 % _U64) >> 32))
    words = _philox((lo & _MASK, lo >> np.uint64(32), hi & _MASK, hi >> np.uint64(32)), key)
    elements = np.stack(words, axis=1).reshape(-1)[skip:skip + 2 * count]
    return elements.astype(np.int64).reshape(count, 2)
