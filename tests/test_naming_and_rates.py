import re

import pytest

from multilingual_t0.registry import naming
from multilingual_t0.registry import rates
from multilingual_t0.catalog.datasets import load_catalog

SEQIO_NAME = re.compile(r"^[\w\d\.\:_]+$")


def test_task_names_follow_t0_rule():
    assert naming.task_name("super_glue", "wsc.fixed", "GPT-3 Style") == "super_glue_wsc.fixed_GPT_3_Style"
    assert naming.task_name("anli", None, "can we infer", "r2") == "anli_can_we_infer_r2"
    assert naming.task_name("imdb", None, "Sentiment with choices ") == "imdb_Sentiment_with_choices_"
    assert naming.score_eval_name("imdb_x") == "imdb_x_score_eval"
    assert SEQIO_NAME.match(naming.task_name("a", "b", "what's  (this)?"))


def test_rate_rule():
    assert rates.train_rate(3_600_000, 9) == 55_555  # amazon_polarity
    assert rates.train_rate(650_000, 7) == 71_428  # yelp_review_full
    assert rates.train_rate(500_000, 7) == 500_000  # at the cap: not capped
    assert rates.train_rate(2_490, 10) == 2_490
    with pytest.raises(ValueError):
        rates.train_rate(10, 0)


def test_eval_rate_caps_and_falls_back():
    by_label = {s.label: s for s in load_catalog()}
    assert rates.eval_rate(by_label["super_glue/rte"]) == 2_490
    assert rates.eval_rate(by_label["gigaword"]) == 500_000
    story = by_label["story_cloze/2016"]  # no train split: its first split's size
    assert rates.eval_rate(story) == story.splits[0].num_examples


def test_anli_tasks_use_t0s_names():
    """T0's registry: `anli_<template>_r<round>` (and its `_score_eval` twin), as in t-zero's tasks.py."""
    from multilingual_t0.registry.specs import build_task_specs

    anli = {s.name for s in build_task_specs() if s.dataset.dataset == "anli"}
    assert {"anli_GPT_3_style_r1", "anli_GPT_3_style_r1_score_eval", "anli_can_we_infer_r3"} <= anli
    assert not [n for n in anli if re.match(r"anli_r\d", n)]
    assert len(anli) == 3 * 2 * 15  # 15 templates per round, each with answer choices
