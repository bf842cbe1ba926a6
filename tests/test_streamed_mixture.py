"""StreamedMixture feeds T5X what seqio's own Mixture feeds it: the same elements in the same order
(shuffle=False), the same task draws (any seed), the same end of a finite mixture; and falls back to
seqio's per-task pipelines where one pipeline cannot serve every task."""

import logging

import numpy as np
import pytest
import seqio
import tensorflow as tf

from conftest import TEST_LENGTHS, assert_same_examples
from multilingual_t0.pipeline import streamed_mixture
from multilingual_t0.pipeline import task_draws
from multilingual_t0.errors import DataNotFoundError

# Prompted tasks with and without answer choices, and xP3 records: one fused pipeline serves them all.
TASKS = [
    ("super_glue_rte_GPT_3_style", 3.0),
    ("common_gen_Given_concepts_type_1", 1.0),
    ("cos_e_v1.11_description_question_option_id", 0.0),  # rate 0: never drawn, as in seqio
    ("cos_e_v1.11_question_option_description_id", 2.5),
    ("xp3.zh", 1.5),
]


@pytest.fixture
def mixture(registered):
    name = "test_streamed_mixture_small"
    if name not in seqio.MixtureRegistry.names():
        streamed_mixture.add_mixture(name, TASKS)
    return seqio.get_mixture_or_task(name)


def _elements(mixture, feed, monkeypatch, take=None, **kwargs):
    monkeypatch.setenv("MT0_MIXTURE_FEED", feed)
    kwargs = {"split": "train", "shuffle": False, **kwargs}
    ds = mixture.get_dataset(TEST_LENGTHS, **kwargs)
    if take is not None:
        ds = ds.take(take)
    return ds.element_spec, list(ds.as_numpy_iterator())


@pytest.fixture
def small_batches(monkeypatch):
    """Crossings smaller than the splits: batches end mid-task and mid-epoch."""
    monkeypatch.setattr(streamed_mixture, "EXAMPLES_PER_CALL", 5)


@pytest.mark.parametrize("kwargs", [
    {},
    {"copy_pretokenized": True},
    {"seed": 7},
    {"shard_info": seqio.ShardInfo(1, 2)},
], ids=["repeat", "pretokenized", "seed", "shard"])
def test_fused_feed_equals_seqio_mixture(mixture, monkeypatch, small_batches, kwargs):
    spec_fused, fused = _elements(mixture, "fused", monkeypatch, take=400, **kwargs)
    spec_seqio, per_task = _elements(mixture, "per_task", monkeypatch, take=400, **kwargs)
    assert spec_fused == spec_seqio
    assert len(fused) == 400  # the sample splits are far smaller: every task repeats many times
    assert_same_examples(fused, per_task)


def test_finite_mixture_ends_where_seqio_ends(mixture, monkeypatch, small_batches):
    # num_epochs=1: sample_from_datasets(stop_on_empty_dataset=True) ends at the first drawn task that
    # has nothing left; the fused feed ends at the same element.
    _, fused = _elements(mixture, "fused", monkeypatch, take=1000, num_epochs=1)  # take: never endless
    _, per_task = _elements(mixture, "per_task", monkeypatch, take=1000, num_epochs=1)
    assert 0 < len(fused) < 200
    assert_same_examples(fused, per_task)


def test_every_new_iterator_starts_over(mixture, monkeypatch):
    monkeypatch.setenv("MT0_MIXTURE_FEED", "fused")
    ds = mixture.get_dataset(TEST_LENGTHS, split="train", shuffle=False).take(60)
    assert_same_examples(list(ds.as_numpy_iterator()), list(ds.as_numpy_iterator()))


@pytest.mark.parametrize("rates,seed", [
    ([1.0, 2.0, 3.0], 0), ([1.0, 2.0, 3.0], 123), ([5.0, 0.0, 1.0, 0.5], 42), ([0.0, 4.0, 0.0], 9),
    (np.array([0.2, 0.3, 0.5]).tolist(), 2), ([1.0] * 464, 42), ((np.arange(464) % 37 + 1.0).tolist(), 5),
    (list(np.linspace(1e-3, 5e5, 50)), 3),  # rates as far apart as T0's (500,000 cap)
])
def test_task_draws_equal_what_sample_from_datasets_draws(rates, seed):
    constants = [tf.data.Dataset.from_tensors(tf.constant(i, tf.int64)).repeat() for i in range(len(rates))]
    expected = tf.data.Dataset.sample_from_datasets(constants, rates, seed=seed, stop_on_empty_dataset=True)
    pairs = np.stack(list(task_draws.seed_pairs(seed).take(3000).as_numpy_iterator()))
    np.testing.assert_array_equal(task_draws.TaskDraws(rates).draw(pairs),
                                  np.fromiter(expected.take(3000).as_numpy_iterator(), np.int64))


def test_task_draws_of_zero_rates_are_empty():
    assert task_draws.TaskDraws([0.0, 0.0]).empty


def test_shuffled_feed_is_seeded_and_draws_as_seqio(mixture, monkeypatch):
    _, first = _elements(mixture, "fused", monkeypatch, take=150, shuffle=True, seed=11)
    _, again = _elements(mixture, "fused", monkeypatch, take=150, shuffle=True, seed=11)
    _, other = _elements(mixture, "fused", monkeypatch, take=150, shuffle=True, seed=12)
    assert_same_examples(first, again)
    assert any(not np.array_equal(a["inputs"], b["inputs"]) for a, b in zip(first, other))


def test_every_package_mixture_is_streamed_and_the_training_ones_fuse(registered, monkeypatch):
    monkeypatch.delenv("MT0_MIXTURE_FEED", raising=False)
    monkeypatch.delenv("MT0_INPUT_BOUNDARY", raising=False)
    ours = [seqio.get_mixture_or_task(n) for n in seqio.MixtureRegistry.names() if n.startswith("mt5_")]
    assert ours and all(isinstance(m, streamed_mixture.StreamedMixture) for m in ours)
    for name in ("mt5_d4_gpt_sglue_train", "mt5_d4_train", "mt5_xp3_train"):
        tasks = seqio.get_mixture_or_task(name).tasks
        assert streamed_mixture.why_not_fused(tasks, use_cached=False, passthrough_features=None) is None, name


@pytest.mark.parametrize("setting,kwargs,reason", [
    ({"MT0_MIXTURE_FEED": "per_task"}, {}, "MT0_MIXTURE_FEED=per_task"),
    ({"MT0_INPUT_BOUNDARY": "per_example"}, {}, "MT0_INPUT_BOUNDARY=per_example"),
    ({}, {"passthrough_features": ["inputs_pretokenized"]}, "passthrough_features"),
])
def test_falls_back_to_seqio_and_says_why(mixture, monkeypatch, caplog, setting, kwargs, reason):
    for key, value in setting.items():
        monkeypatch.setenv(key, value)
    calls = []
    original = seqio.Mixture.get_dataset
    monkeypatch.setattr(seqio.Mixture, "get_dataset", lambda self, *a, **k: calls.append(k) or original(self, *a, **k))
    with caplog.at_level(logging.INFO, logger=streamed_mixture.__name__):
        mixture.get_dataset(TEST_LENGTHS, split="train", shuffle=False, **kwargs)
    assert len(calls) == 1
    assert reason in caplog.text


def test_tasks_that_cannot_share_one_pipeline_fall_back(registered):
    lm = seqio.get_mixture_or_task("mt5_lm_adapt")
    assert isinstance(lm, streamed_mixture.StreamedMixture)
    # the 107 LM-adaptation tasks (token ids from their source) share one pipeline...
    assert streamed_mixture.why_not_fused(lm.tasks, use_cached=False, passthrough_features=None) is None
    # ...but not with prompted tasks (text, another chain), nor from a cache
    mixed = [lm.tasks[0], seqio.get_mixture_or_task(TASKS[0][0])]
    why = streamed_mixture.why_not_fused(mixed, use_cached=False, passthrough_features=None)
    assert why is not None and "other example columns" in why
    assert "use_cached" in streamed_mixture.why_not_fused(lm.tasks[:1], use_cached=True,
                                                           passthrough_features=None)


def test_bad_feed_setting_names_the_variable(mixture, monkeypatch):
    monkeypatch.setenv("MT0_MIXTURE_FEED", "fast")
    with pytest.raises(ValueError, match="MT0_MIXTURE_FEED='fast'.*fused, per_task"):
        mixture.get_dataset(TEST_LENGTHS, split="train")


def test_missing_split_fails_in_get_dataset_naming_it(registered, monkeypatch, tmp_path):
    # A mirror without the rte files: located when the dataset is built, not inside tf.data.
    monkeypatch.setenv("MT0_DATA_SOURCE", "mirror")
    monkeypatch.setenv("MT0_DATA_DIR", str(tmp_path))
    name = "test_streamed_mixture_missing"
    if name not in seqio.MixtureRegistry.names():
        streamed_mixture.add_mixture(name, TASKS[:2])
    with pytest.raises(DataNotFoundError, match="common_gen|super_glue"):
        seqio.get_mixture_or_task(name).get_dataset(TEST_LENGTHS, split="train", shuffle=False)
